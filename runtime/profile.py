"""What one time step costs: bytes of state by kind, and operations by kind
and phase (DESIGN.md, Words: profile).

Memory walks the same description as allocation and checkpoints
(``state_layout``), so the bytes reported are the bytes allocated. Operations
come from a model of each kernel below, written function by function beside
the kernels it describes; ``counted_ops`` runs the real kernels compiled with
a counting record (kernels/numeric.py) and a test asserts that the two agree
exactly, for every rule and precision.

What the counts cover: every arithmetic operation of a rule goes through a
numeric primitive and is counted there. Memory traffic (``read``, ``write``)
counts elements of weights and optimiser moments (the O(n^2) state): neuron
rates (O(n)) and BPTT's window copies are not counted. Constants derived from
hyper-parameters once per step (a learning rate's mantissa, a noise gain, Adam's
bias corrections) are not counted either: a chip holds them precomputed.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from timelocal.kernels import codes, numeric
from timelocal.runtime.errors import SpecError
from timelocal.runtime.spec import NetworkSpec
from timelocal.runtime.state import KINDS, ArraySpec, initial_state, scratch_layout, state_layout

OPS = codes.OP_NAMES
PHASES = ("clean forward", "noisy forward", "errors", "loss", "weight update", "decorrelation")

KIND_HELP = {
    "weights": "A, R, B, biases; GLE: W_l, b_l; TPTT/LRA: W_xh, W_h, W_hy, biases, TPTT's "
    "inverse V_h, c_h (and the per-matrix exponents; with -p average, a second copy: their "
    "moving average)",
    "decorrelation": "the decorrelation matrix D",
    "neuron_state": "the rates x* carried to the next step; GLE: u, r, phi'; TPTT/LRA: h",
    "noisy_state": "the noisy copy's rates",
    "optimizer": "Adam's two moments per weight",
    "counters": "step counter (the random generator's key) and saturation counts",
    "window": "BPTT's stored window (grows with T: not time-local); TPTT/LRA: the ring buffer "
    "of the last K steps (fixed, whatever the stream's length)",
    "time_constants": "GLE's learned tau_m and tau_r per neuron",
    "error_neurons": "GLE's error neurons: low-pass state v and error e",
    "scratch": "per-step rows, reused every step (not checkpointed)",
}
OP_HELP = {
    "mac": "multiply-accumulate",
    "mul": "multiply (not accumulated)",
    "add": "add or subtract",
    "shift": "rounding shift of a fixed-point product or value",
    "select": "compare/select: saturating store, max, threshold",
    "lookup": "activation, exp or log (a table in fixed point)",
    "div": "division or square root",
    "random": "random numbers drawn (Gaussian or uniform)",
    "read": "weight / optimiser-moment elements read",
    "write": "weight / optimiser-moment elements written",
}


# -- the model of each kernel ------------------------------------------------
#
# ``_Model`` holds the costs of the numeric primitives for one precision, and
# one method per kernel (named after it, grouped by kernel module) that adds
# what the kernel does to a phase. Change a kernel, change its method: the
# counting test (tests/runtime/test_profile.py) fails when they drift apart.


class _Model:
    def __init__(self, spec: NetworkSpec):
        precision = spec.numeric
        self.spec = spec
        self.fixed = int(precision.fixed)
        self.stochastic = int(precision.fixed and precision.rounding == "stochastic")
        self.phases: dict[str, Counter] = {phase: Counter() for phase in PHASES}

    # primitives (kernels/numeric.py)
    def add(self, phase, times=1, **kinds):
        for kind, amount in kinds.items():
            self.phases[phase][kind] += times * amount

    def mul(self, phase, times=1):
        self.add(phase, times, mul=1, shift=self.fixed)

    def mac(self, phase, times=1):
        self.add(phase, times, mac=1, shift=self.fixed)

    def synapse(self, phase, times=1):
        self.add(phase, times, mac=1, shift=self.fixed, read=1)

    def store(self, phase, times=1):
        self.add(phase, times, select=self.fixed)

    def gaussian(self, phase, times=1):
        self.add(phase, times, random=1, mul=1, shift=self.fixed)

    def rescale(self, phase, times=1):
        self.add(phase, times, shift=self.fixed)

    def scaled(self, phase, times=1):
        self.mul(phase, times)

    def rounding_key(self, phase, times=1):
        self.add(phase, times, random=self.stochastic)

    def add_change(self, phase, times=1):
        self.add(phase, times, read=1, add=1, write=1, shift=self.fixed, select=self.fixed,
                 random=self.stochastic)  # fmt: skip

    # kernels/forward.py
    def output_from_pre(self, phase, n_out):
        if self.spec.loss == "xent":
            self.add(phase, select=n_out - 1, add=2 * n_out, lookup=n_out, div=n_out)

    def loss_value(self, phase, n_out):
        """``squared_error_exact`` or ``step_loss`` (cross-entropy: one-hot targets)."""
        if self.spec.loss == "mse":
            self.add(phase, n_out, add=1)
            self.mac(phase, n_out)
            return
        self.add(phase, select=n_out - 1, add=2 * n_out + 1, lookup=n_out + 1)
        self.add(phase, add=2)  # the one target that is not zero
        self.mul(phase)

    def decorrelate_into(self, phase, n):
        if self.spec.decorrelate:
            self.synapse(phase, n * n)
            self.store(phase, n)

    def hidden_forward(self, phase, n_in, n, noise_phase=None):
        """``hidden_twin_forward``: the clean pass, and (``noise_phase``) node
        perturbation's noisy copy, which shares the reads of A, R and D."""
        self.add(phase, n, read=1)
        self.rescale(phase, n)
        self.synapse(phase, n * (n_in + n))
        self.store(phase, n)
        self.add(phase, n, lookup=1)
        if noise_phase:
            self.mac(noise_phase, n * n)
            self.add(noise_phase, n, add=1, lookup=1)
            self.store(noise_phase, n)
        if self.spec.decorrelate:
            self.synapse(phase, n * n)
            self.store(phase, n)
            if noise_phase:
                self.mac(noise_phase, n * n)
                self.store(noise_phase, n)

    def output_forward(self, phase, n, n_out, noise_phase=None):
        """``output_twin_forward``."""
        self.add(phase, n_out, read=1)
        self.rescale(phase, n_out)
        self.synapse(phase, n_out * n)
        self.store(phase, n_out)
        self.output_from_pre(phase, n_out)
        if noise_phase:
            self.mac(noise_phase, n_out * n)
            self.add(noise_phase, n_out, add=1)
            self.store(noise_phase, n_out)
            self.output_from_pre(noise_phase, n_out)

    # kernels/perturbation.py
    def weight_noisy_layer(self, phase, rows, cols):
        """WP's noisy copy of one layer: every weight and bias read again, plus
        its noise; then the store and (hidden) activation."""
        self.add(phase, rows * (cols + 1), read=1, add=1)
        self.gaussian(phase, rows * (cols + 1))
        self.mac(phase, rows * cols)
        self.rescale(phase, rows)
        self.store(phase, rows)

    def layer_signal(self, phase, size):
        if self.spec.rule == "anp":
            self.add(phase, size, add=1)
            self.mac(phase, size)
            self.add(phase, select=1, div=1)
            self.scaled(phase)
            self.store(phase)
            self.mul(phase, size)
            self.store(phase, size)
        else:
            self.mul(phase, size)
            self.scaled(phase, size)
            self.store(phase, size)

    def matrix_update(self, phase, rows, cols, sgd):
        self.mul(phase, rows * cols)
        if sgd:
            self.rounding_key(phase, rows)
            self.add_change(phase, rows * cols)

    def bias_update(self, phase, size, sgd):
        self.rounding_key(phase)
        if sgd:
            self.add_change(phase, size)

    def wp_update(self, phase, size, sgd):
        self.gaussian(phase, size)
        self.mul(phase, size)
        self.scaled(phase, size)
        if sgd:
            self.add_change(phase, size)

    # kernels/optim.py
    def optimizer(self, phase, size, adam):
        if adam:
            self.add(phase, size, mul=7, add=4, div=2, read=3, write=3)
        else:
            self.add(phase, size, read=1, mul=1, add=1, write=1)

    # kernels/decorrelation.py
    def decorrelation_update(self, phase, n):
        self.add(phase, n * n, read=1)
        self.mac(phase, n * n)
        self.store(phase, n)
        self.scaled(phase, n)
        self.rounding_key(phase, n)
        self.mul(phase, 2 * n * n)
        self.add(phase, n * n, add=1)
        self.add_change(phase, n * n)

    # one step of a perturbation rule (perturbation_step)
    def perturbation_step(self, learn: bool, has_target: bool):
        spec = self.spec
        n_in, n, n_out = spec.n_inputs, spec.n_hidden, spec.n_outputs
        wp = spec.rule == "wp"
        twin = learn and not wp
        noisy = "noisy forward" if twin else None
        # hidden_spike
        if twin:
            self.gaussian("noisy forward", n)
        self.hidden_forward("clean forward", n_in, n, noisy)
        if learn and wp:
            self.weight_noisy_layer("noisy forward", n, n_in + n)
            self.add("noisy forward", n, lookup=1)
            self.decorrelate_into("noisy forward", n)
        # output_spike
        if twin:
            self.gaussian("noisy forward", n_out)
        self.output_forward("clean forward", n, n_out, noisy)
        if learn and wp:
            self.weight_noisy_layer("noisy forward", n_out, n)
            self.output_from_pre("noisy forward", n_out)
        if not has_target:
            if learn and spec.decorrelate:
                self.decorrelation_update("decorrelation", n)
            return
        self.loss_value("loss", n_out)
        if not learn:
            return
        self.loss_value("loss", n_out)
        self.add("loss", add=1)
        self.rescale("loss")
        self.store("loss")
        # output_learn, hidden_learn
        sgd = spec.hyper("optimizer") == "sgd"
        update = "weight update"
        if wp:
            self.rounding_key(update, 2)
            for size in (n_out * n, n_out, n * n_in, n * n, n):
                self.wp_update(update, size, sgd)
        else:
            self.layer_signal(update, n_out)
            self.matrix_update(update, n_out, n, sgd)
            self.bias_update(update, n_out, sgd)
            self.layer_signal(update, n)
            self.matrix_update(update, n, n_in, sgd)
            self.matrix_update(update, n, n, sgd)
            self.bias_update(update, n, sgd)
        if not sgd:
            self.optimizer(update, spec.n_params, adam=True)
        if spec.decorrelate:
            self.decorrelation_update("decorrelation", n)

    # BPTT (kernels/bptt.py): one window of T steps, every step with a target
    def bptt_window(self):
        spec = self.spec
        n_in, n, n_out = spec.n_inputs, spec.n_hidden, spec.n_outputs
        steps = spec.hyper("window")
        for _ in range(steps):
            self.hidden_forward("clean forward", n_in, n)
            self.output_forward("clean forward", n, n_out)
            self.loss_value("loss", n_out)
        update = "weight update"
        for _ in range(steps):
            self.add(update, n_out, add=1)  # output_gradient
            self.mul(update, n_out)
            self.add(update, n_out, div=1, add=1)
            self.mac(update, n_out * n)
            self.synapse(update, n_out * n)
            if spec.decorrelate:
                self.synapse(update, n * n)
            self.mul(update, 2 * n)
            self.add(update, n, add=2)
            self.mac(update, n * (n_in + n))
            self.synapse(update, n * n)
        self.optimizer(update, spec.n_params, adam=spec.hyper("optimizer") == "adam")
        if spec.decorrelate:
            for _ in range(steps):
                self.decorrelate_into("decorrelation", n)
                self.decorrelation_update("decorrelation", n)

    # GLE (kernels/gle.py): one Euler step of every layer
    def layer_forward(self, phase, n_pre, n_post, linear):
        self.add(phase, n_post, read=1)
        self.rescale(phase, n_post)
        self.synapse(phase, n_post * n_pre)
        if self.spec.hyper("gamma") != 0:
            self.mul(phase, n_post)
            self.add(phase, n_post, add=1)
        self.add(phase, n_post, add=3, div=2)  # drive, u_hat, u; two divisions
        self.mul(phase, 2 * n_post)
        self.store(phase, 4 * n_post)  # drive, u_hat, du, u
        if not linear:
            self.add(phase, n_post, lookup=1, add=1)
            self.mul(phase, n_post)

    def hidden_errors(self, phase, n_post, n_next, recurrent):
        self.synapse(phase, n_next * n_post)  # backproject
        if recurrent:
            self.synapse(phase, n_post * n_post)  # its own errors through its own weights
        self.mul(phase, 3 * n_post)
        self.add(phase, n_post, add=3, div=2)
        self.store(phase, 3 * n_post)

    def layer_learn(self, phase, n_pre, n_post):
        if self.spec.hyper("learning_rate") != 0:
            adam = self.spec.hyper("optimizer") == "adam"
            self.scaled(phase, n_post)
            self.store(phase, n_post)
            self.matrix_update(phase, n_post, n_pre, sgd=not adam)
            self.bias_update(phase, n_post, sgd=not adam)
            if adam:
                self.optimizer(phase, n_post * (n_pre + 1), adam=True)
        if self.spec.hyper("tau_learning_rate") != 0:
            self.mul(phase, 2 * n_post)
            self.scaled(phase, 2 * n_post)
            self.add(phase, n_post, add=2, select=4)

    def gle_step(self, learn: bool, has_target: bool):
        sizes, fan_ins = self.spec.layer_sizes, self.spec.fan_ins
        n_layers = len(sizes) - 1
        linear_first = self.spec.hyper("linear") == 1
        for k in range(n_layers):
            linear = k == n_layers - 1 or (k == 0 and linear_first)
            self.layer_forward("clean forward", fan_ins[k], sizes[k + 1], linear)
        for k in range(n_layers - 1):
            self.hidden_errors("errors", sizes[k + 1], sizes[k + 2], fan_ins[k] > sizes[k])
        n_out = sizes[-1]
        self.output_from_pre("errors", n_out)
        if has_target:
            self.add("errors", n_out, add=1)
            self.mul("errors", n_out)
            self.store("errors", n_out)
            self.loss_value("loss", n_out)
        if learn:
            for k in range(n_layers):
                self.layer_learn("weight update", fan_ins[k], sizes[k + 1])
            if self.spec.hyper("average"):  # average_weights
                self.add("weight update", self.spec.n_params, read=2, add=2, mul=1, write=1)

    # Target propagation (kernels/target_prop.py): one step with the window
    # full, after TPTT's warm-up, no sequence start inside the window.
    def recurrent_unit(self, phase, n, cols):
        self.add(phase, n, read=1)
        self.rescale(phase, n)
        self.synapse(phase, n * cols)
        self.store(phase, n)
        if not self.spec.hyper("linear"):
            self.add(phase, n, lookup=1, add=1)
            self.mul(phase, n)

    def learning_signal(self, phase, size):
        self.scaled(phase, size)
        self.store(phase, size)

    def tptt_window(self, phase, update, n_in, n, window):
        for _ in range(window - 1):  # tptt_targets: two steps of G back per entry
            self.recurrent_unit(phase, n, n_in + n)
            self.recurrent_unit(phase, n, n_in + n)
        self.add(phase, n * window + 2 * n * (window - 1), add=1)
        self.store(phase, n * window)
        learning = 1 if self.spec.hyper("update") == "oldest" else window
        for _ in range(learning):  # tptt_learn
            self.recurrent_unit(update, n, n_in + n)
            self.toward_target(update, n)
            self.matrix_update(update, n, n_in, sgd=True)
        # inverse_learn: noise, F and G, the reconstruction error, V_h and c_h
        self.gaussian(update, n)
        self.add(update, n, add=1)
        self.store(update, n)
        self.recurrent_unit(update, n, n_in + n)
        self.recurrent_unit(update, n, n_in + n)
        self.toward_target(update, n)

    def toward_target(self, update, n):
        """(f - target) * phi' as a learning signal, and an n x n matrix and a
        bias changed by it (tptt_learn's W_h, b_h; inverse_learn's V_h, c_h)."""
        self.add(update, n, add=1)
        self.mul(update, n)
        self.store(update, n)
        self.learning_signal(update, n)
        self.matrix_update(update, n, n, sgd=True)
        self.bias_update(update, n, sgd=True)

    def lra_window(self, phase, update, n_in, n, window):
        """The worst case of Normalize: every back-projection is rescaled."""
        spec = self.spec
        regularized = spec.hyper("regularize") != 0
        for _ in range(window - 1):  # lra_errors, a step back
            self.synapse(phase, n * n)
            self.mul(phase, 2 * n)
            self.add(phase, n, add=1)
            self.store(phase, n)
            self.vector_norm(phase, n)
            if regularized:
                self.vector_norm(phase, n)
                self.add(phase, select=4, div=2, add=2)
                self.add(phase, n, div=2)
                self.mul(phase, 2 * n)
            if spec.hyper("norm_clip") > 0:
                self.add(phase, select=1)
                self.mul(phase, n)
                self.add(phase, n, div=1)
            self.scaled(phase, n)
            self.add(phase, n, add=1)
        self.store(phase, n * window)
        self.add(phase, n * window, add=1)  # local_error
        if spec.hyper("local_loss") == "mse":
            self.rescale(phase, n * window)
        else:
            self.mul(phase, n * window)
            self.add(phase, n * window, add=2, div=1)
        self.store(phase, n * window)
        learning = 1 if spec.hyper("update") == "oldest" else window
        for _ in range(learning):  # lra_learn
            self.learning_signal(update, n)
            self.matrix_update(update, n, n, sgd=True)
            self.bias_update(update, n, sgd=True)
            if regularized:
                self.mul(update, n)
                self.store(update, n)
            self.matrix_update(update, n, n_in, sgd=True)
        if regularized:  # (the newest entry has no pair: zero signals, still applied)
            for _ in range(learning):
                self.learning_signal(update, n)
                self.matrix_update(update, n, n, sgd=True)

    def vector_norm(self, phase, n):
        self.mul(phase, n)
        self.add(phase, n, add=1)
        self.add(phase, div=1)

    def target_step(self, learn: bool, has_target: bool):
        spec = self.spec
        n_in, n, n_out = spec.n_inputs, spec.n_hidden, spec.n_outputs
        self.recurrent_unit("clean forward", n, n_in + n)
        self.output_forward("clean forward", n, n_out)
        if has_target:
            self.loss_value("loss", n_out)
        if not learn:
            return
        if has_target:  # output_error
            self.add("errors", n_out, add=2 if spec.loss == "mse" else 1)
            self.rescale("errors", n_out)
            self.store("errors", n_out)
        self.synapse("errors", n_out * n)  # step_offset
        if spec.rule == "lra":
            self.mul("errors", n)
        self.scaled("errors", n)
        self.store("errors", n)
        update = "weight update"
        self.learning_signal(update, n_out)  # readout_learn
        self.matrix_update(update, n_out, n, sgd=True)
        self.bias_update(update, n_out, sgd=True)
        window = spec.hyper("window")
        if spec.rule == "tptt":
            self.tptt_window("errors", update, n_in, n, window)
        else:
            self.lra_window("errors", update, n_in, n, window)
        if spec.hyper("average"):  # average_weights
            self.add(update, spec.n_params, read=2, add=2, mul=1, write=1)


def model_ops(spec: NetworkSpec, *, learn: bool = True, has_target: bool = True):
    """Operations by phase and kind: of one step (a perturbation rule, GLE),
    or of one whole window of T steps (BPTT, every step with a target)."""
    model = _Model(spec)
    if spec.rule == "gle":
        model.gle_step(learn, has_target)
    elif spec.rule in ("tptt", "lra"):
        model.target_step(learn, has_target)
    elif spec.rule == "bptt" and learn:
        model.bptt_window()
    else:
        model.perturbation_step(learn, has_target)
    return {phase: {kind: model.phases[phase][kind] for kind in OPS} for phase in PHASES}


def op_totals(by_phase: dict) -> dict[str, float]:
    return {kind: sum(phase[kind] for phase in by_phase.values()) for kind in OPS}


def counted_ops(spec: NetworkSpec, steps: int, *, learn: bool = True, has_target: bool = True,
                seed: int = 1) -> dict[str, int]:  # fmt: skip
    """Run ``steps`` steps of the real step kernels compiled for the counting
    record, on random samples (one-hot targets for cross-entropy), and return
    the operations they counted, by kind."""
    from timelocal.kernels.bptt import bptt_train_step
    from timelocal.kernels.perturbation import layer_views, perturbation_step
    from timelocal.targets.host import WINDOW_ARRAYS, host_target

    state = initial_state(spec)
    host = host_target(spec, state)  # for its scratch and absent-array conventions
    num = numeric.counting(host.numeric)
    hp, work, grads = host.hyper, host.scratch["work"], host.scratch.get("grads")
    n_in, n, n_out = spec.n_inputs, spec.n_hidden, spec.n_outputs
    rng = np.random.default_rng(seed)
    inputs = rng.uniform(-1, 1, (steps, n_in))
    if spec.loss == "xent":
        targets = np.eye(n_out)[rng.integers(0, n_out, steps)]
    else:
        targets = rng.uniform(-0.5, 0.5, (steps, n_out))
    if not has_target:
        targets[:] = np.nan
    s = state
    # The step kernels called one step at a time (not the host's chunk loop,
    # which would compile every rule for every record: slower to build).
    if spec.rule in ("tptt", "lra"):
        return _counted_target_ops(spec, host, num, inputs, targets, steps, learn, has_target)
    if spec.rule == "gle":
        from timelocal.kernels.gle import gle_step

        for t in range(steps):
            gle_step(num, hp, learn, host.sizes, host.fan_ins, s["params"], s["weight_fracs"],
                     grads, s["moment1"], s["moment2"], s["tau_m"], s["tau_r"], s["potentials"],
                     s["error_traces"], s["rates"], s["errors"], s["slopes"], s["counters"], work, inputs[t], targets[t], has_target,
                     False, s["average"])  # fmt: skip
    elif spec.rule == "bptt" and learn:
        window = [host.state_array(name) for name in WINDOW_ARRAYS]
        for t in range(steps):
            bptt_train_step(num, hp, s["params"], s["weight_fracs"], grads, s["moment1"],
                            s["moment2"], s["decorrelation"], s["drates"], s["counters"], work,
                            *window, inputs[t], targets[t], has_target, False, n_in, n,
                            n_out)  # fmt: skip
    else:
        views = layer_views(s["params"], grads, s["moment1"], s["moment2"], n_in, n, n_out)
        for t in range(steps):
            perturbation_step(num, hp, learn, views, s["weight_fracs"], s["decorrelation"],
                              s["drates"], host.state_array("noisy_drates"), s["counters"], work,
                              inputs[t], targets[t], has_target, False)  # fmt: skip
    return {kind: int(count) for kind, count in zip(OPS, num.ops, strict=True)}


def _counted_target_ops(spec, host, num, inputs, targets, steps, learn, has_target):
    """``counted_ops`` of TPTT and LRA in the model's case: the window is first
    filled (uncounted) and TPTT's warm-up is over."""
    from timelocal.kernels.target_prop import tp_step

    s, scratch = host.state, host.scratch
    s["counters"][codes.C_STEP] = spec.hyper("inverse_warmup") if spec.rule == "tptt" else 0
    window = spec.hyper("window")
    rng = np.random.default_rng(steps)
    fill_inputs = rng.uniform(-1, 1, (window, spec.n_inputs))
    for t in range(window + steps):
        if t == window:
            num.ops[:] = 0
        x = fill_inputs[t] if t < window else inputs[t - window]
        y = targets[0] if t < window else targets[t - window]
        tp_step(num, host.hyper, learn or t < window, s["params"], s["weight_fracs"], s["hidden"],
                s["counters"], s["window_position"], s["window_start"], s["window_inputs"],
                s["window_hidden"], s["window_offsets"], s["window_reset"], scratch["work"],
                scratch["window_rows"], scratch["boosts"], x, y, has_target, False,
                s["average"])  # fmt: skip
    return {kind: int(count) for kind, count in zip(OPS, num.ops, strict=True)}


# -- memory ------------------------------------------------------------------


def format_bits(spec: NetworkSpec, array: ArraySpec) -> int:
    """Bits per element of an array in the precision's own format (a 24-bit
    state is 24 bits, though the host stores it in an int32)."""
    precision = spec.numeric
    if not precision.fixed or array.dtype in ("int64", "bool"):
        return np.dtype(array.dtype).itemsize * 8
    if array.dtype == precision.weight_dtype and array.kind in ("weights", "decorrelation"):
        return precision.weights.bits
    if array.kind == "time_constants":
        return precision.signals.bits
    if array.kind == "error_neurons":
        return precision.errors.bits
    return precision.states.bits


@dataclass
class Profile:
    """The cost of one time step of ``spec``'s network."""

    spec: NetworkSpec
    memory: dict[str, dict] = field(default_factory=dict)  # kind -> bytes, format bytes
    scratch_bytes: int = 0
    ops: dict[str, dict[str, float]] = field(default_factory=dict)  # phase -> kind -> count
    seconds_per_step: float | None = None

    @property
    def persistent_bytes(self) -> int:
        return sum(entry["bytes"] for entry in self.memory.values())

    @property
    def format_bytes(self) -> int:
        return sum(entry["format_bytes"] for entry in self.memory.values())

    @property
    def op_totals(self) -> dict[str, float]:
        return op_totals(self.ops)

    def to_dict(self) -> dict:
        spec = self.spec
        return {
            "rule": spec.name,
            "time_local": spec.time_local,
            "precision": spec.precision,
            "n_inputs": spec.n_inputs,
            "n_hidden": spec.n_hidden,
            "n_outputs": spec.n_outputs,
            "optimizer": spec.hyper("optimizer"),
            "window": spec.hyper("window") if spec.rule == "bptt" else None,
            "memory": self.memory,
            "persistent_bytes": self.persistent_bytes,
            "format_bytes": self.format_bytes,
            "scratch_bytes": self.scratch_bytes,
            "ops_per_step": self.ops,
            "ops_total": self.op_totals,
            "seconds_per_step": self.seconds_per_step,
        }


def profile(spec: NetworkSpec, *, measure_time: bool = False,
            time_budget: float = 0.5) -> Profile:  # fmt: skip
    """The profile of ``spec``: memory by kind and operations per learning step
    with a target (BPTT: a window's operations divided by T)."""
    result = Profile(spec)
    for kind in KINDS:
        arrays = [a for a in state_layout(spec) if a.kind == kind]
        if not any(int(np.prod(a.shape)) for a in arrays):
            continue
        elements = sum(int(np.prod(a.shape, dtype=np.int64)) for a in arrays)
        bits = sum(int(np.prod(a.shape, dtype=np.int64)) * format_bits(spec, a) for a in arrays)
        result.memory[kind] = {
            "elements": elements,
            "bytes": sum(a.nbytes for a in arrays),
            "format_bytes": (bits + 7) // 8,
        }
    result.scratch_bytes = sum(a.nbytes for a in scratch_layout(spec))
    by_phase = model_ops(spec)
    if spec.rule == "bptt":
        steps = spec.hyper("window")
        by_phase = {p: {k: v / steps for k, v in kinds.items()} for p, kinds in by_phase.items()}
    result.ops = by_phase
    if measure_time:
        result.seconds_per_step = host_seconds_per_step(spec, time_budget)
    return result


def host_seconds_per_step(spec: NetworkSpec, budget: float = 0.5) -> float:
    """Measured host time of one learning step with a target (random data):
    the best of repeated chunks within about ``budget`` seconds."""
    run, _ = steady_host_run(spec)
    # BPTT: whole windows, so that each chunk carries its backward pass.
    unit = spec.hyper("window") if spec.rule == "bptt" else 1
    steps, best, spent = max(8, unit), math.inf, 0.0
    while spent < budget:
        elapsed = run(steps)
        spent += elapsed
        best = min(best, elapsed / steps)
        if elapsed < budget / 8:
            steps *= 4
    return best


def steady_host_run(spec: NetworkSpec):
    """A host target compiled and brought to the steps the operations model
    counts, and ``run(steps)`` -> seconds of learning on random samples: BPTT
    at the start of a window; TPTT and LRA with the window full and TPTT's
    warm-up (the inverse alone learning, far cheaper) over."""
    from timelocal.targets.host import host_target

    state = initial_state(spec)
    if spec.rule == "tptt":
        state["counters"][codes.C_STEP] = spec.hyper("inverse_warmup")
    target = host_target(spec, state)
    rng = np.random.default_rng(0)

    def run(steps):
        inputs = rng.uniform(-1, 1, (steps, spec.n_inputs))
        targets = rng.uniform(-0.5, 0.5, (steps, spec.n_outputs))
        start = time.perf_counter()
        target.run_chunk(inputs, targets, np.ones(steps, bool), np.zeros(steps, bool), learn=True)
        return time.perf_counter() - start

    run(2)  # compile (or load from the cache)
    if spec.rule == "bptt" and spec.hyper("window") > 2:
        run(spec.hyper("window") - 2)  # back to the start of a window
    if spec.rule in ("tptt", "lra"):
        run(spec.hyper("window"))
    return run, target


# -- budget --------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """What one core offers per time step, and how many cores there are."""

    name: str
    memory: int  # bytes of state per core
    neurons: int  # neurons per core
    ops: float  # operations per core per time step (all kinds)
    cores: int  # cores available

    def describe(self) -> str:
        return (f"{self.name}: {_bytes(self.memory)} of state, {self.neurons} neurons and "
                f"{self.ops:g} operations per time step per core; {self.cores} cores")  # fmt: skip


# Loihi 2-like: Intel's public figures are 128 neuron cores and up to 1M
# neurons per chip (8192 per core). The memory and the operations per core per
# step are our assumptions for a first estimate: replace them with your chip's.
BUDGETS = {
    "loihi2": Budget("loihi2", memory=128 * 1024, neurons=8192, ops=2**20, cores=128),
}

_SIZE = re.compile(r"^([0-9.]+(?:e[0-9]+)?)\s*(b|kb|kib|mb|mib)?$", re.IGNORECASE)
_UNITS = {None: 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 10**6, "mib": 2**20}


def parse_budget(text: str) -> Budget:
    """A preset (``loihi2``), or the preset's figures overridden by
    ``memory=128KiB,neurons=8192,ops=1e6,cores=128`` (each optional)."""
    text = text.strip()
    base = BUDGETS["loihi2"]
    if text in BUDGETS:
        return BUDGETS[text]
    values = {"memory": base.memory, "neurons": base.neurons, "ops": base.ops,
              "cores": base.cores}  # fmt: skip
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if key not in values:
            raise SpecError(f"unknown budget field {key!r}; use loihi2, or memory=, neurons=, "
                            "ops=, cores= (e.g. memory=128KiB,ops=1e6)")  # fmt: skip
        match = _SIZE.match(value)
        if not match or (key != "memory" and match[2]):
            raise SpecError(f"budget field {key}={value!r} is not a number"
                            + (" with an optional unit (B, KB, KiB, MB, MiB)"
                               if key == "memory" else ""))  # fmt: skip
        number = float(match[1]) * _UNITS[match[2].lower() if match[2] else None]
        if not number > 0:
            raise SpecError(f"budget field {key}={value} must be > 0")
        values[key] = number if key == "ops" else int(number)
    return Budget("custom", **values)


def cores_needed(result: Profile, budget: Budget) -> dict:
    """How many of ``budget``'s cores the network needs, by each limit (an even
    split of state, neurons and operations; messages between cores are not
    counted). Memory counts the precision's own widths."""
    spec = result.spec
    neurons = spec.n_hidden + spec.n_outputs
    if spec.rule in ("np", "anp", "wp"):
        neurons *= 2  # the noisy copy runs beside the clean one
    ops = sum(result.op_totals.values())
    need = {
        "memory": math.ceil(result.format_bytes / budget.memory),
        "neurons": math.ceil(neurons / budget.neurons),
        "ops": math.ceil(ops / budget.ops),
    }
    cores = max(need.values())
    return {"budget": budget.name, "cores": cores, "by_limit": need, "neurons": neurons,
            "ops_per_step": ops, "fits": cores <= budget.cores,
            "cores_available": budget.cores}  # fmt: skip


def _bytes(count: float) -> str:
    for unit, size in (("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{int(count)} B"


# -- text --------------------------------------------------------------------


def render(result: Profile, budget_check: dict | None = None) -> str:
    """The profile as the table ``timelocal profile`` prints."""
    spec = result.spec
    lines = [
        f"{spec.name} ({'time-local' if spec.time_local else 'NOT time-local: offline reference'}),"
        f" {spec.n_inputs} in, {spec.n_hidden} hidden, {spec.n_outputs} out, {spec.precision},"
        f" {spec.hyper('optimizer')}"
        + (f", window T={spec.hyper('window')}" if spec.rule == "bptt" else ""),
        "",
        f"{'memory (persistent)':<22}{'elements':>12}{'host bytes':>14}{'format bytes':>14}",
    ]
    for kind, entry in result.memory.items():
        lines.append(f"  {kind:<20}{entry['elements']:>12,}{entry['bytes']:>14,}"
                     f"{entry['format_bytes']:>14,}  {KIND_HELP.get(kind, '')}")  # fmt: skip
    lines.append(f"  {'total':<20}{'':>12}{result.persistent_bytes:>14,}"
                 f"{result.format_bytes:>14,}")  # fmt: skip
    lines.append(f"  {'scratch (per step)':<20}{'':>12}{result.scratch_bytes:>14,}")
    per = "step (BPTT: a window's operations / T)" if spec.rule == "bptt" else "learning step"
    lines += ["", f"operations per {per}"]
    active = [p for p in PHASES if any(result.ops[p].values())]
    header = f"  {'kind':<8}" + "".join(f"{p:>16}" for p in active) + f"{'total':>14}"
    lines.append(header)
    totals = result.op_totals
    for kind in OPS:
        if not totals[kind]:
            continue
        row = f"  {kind:<8}" + "".join(f"{_count(result.ops[p][kind]):>16}" for p in active)
        lines.append(row + f"{_count(totals[kind]):>14}  {OP_HELP[kind]}")
    if result.seconds_per_step is not None:
        lines += ["", f"host time per step: {result.seconds_per_step * 1e6:,.2f} us (measured)"]
    if budget_check:
        need = budget_check["by_limit"]
        lines += ["", f"budget {budget_check['budget']}: needs {budget_check['cores']} core(s) "
                  f"(memory {need['memory']}, neurons {need['neurons']}, ops {need['ops']}) of "
                  f"{budget_check['cores_available']}"
                  + ("" if budget_check["fits"] else ": DOES NOT FIT")]  # fmt: skip
    return "\n".join(lines)


def _count(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _slope(xs, ys) -> float | None:
    """Least-squares slope of log y against log x (the growth exponent)."""
    pairs = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y]
    if len(pairs) < 2:
        return None
    lx, ly = np.array(pairs).T
    return float(np.polyfit(lx, ly, 1)[0])


def sweep_series(results: list[Profile]) -> dict[str, list]:
    """The series a sweep over hidden sizes shows."""
    return {
        "n_hidden": [r.spec.n_hidden for r in results],
        "persistent_bytes": [r.persistent_bytes for r in results],
        "format_bytes": [r.format_bytes for r in results],
        "ops_per_step": [sum(r.op_totals.values()) for r in results],
        "macs_per_step": [r.op_totals["mac"] for r in results],
        "seconds_per_step": [r.seconds_per_step for r in results],
    }


def render_sweep(results: list[Profile], checks: list | None = None) -> str:
    series = sweep_series(results)
    spec = results[0].spec
    lines = [
        f"{spec.name}, {spec.precision}, {spec.hyper('optimizer')}: growth with the hidden size",
        "",
        f"{'n':>7}{'host bytes':>14}{'format bytes':>14}{'ops/step':>14}{'MACs/step':>14}"
        f"{'us/step':>12}" + (f"{'cores':>8}" if checks and checks[0] else ""),
    ]
    for k, n in enumerate(series["n_hidden"]):
        seconds = series["seconds_per_step"][k]
        row = (f"{n:>7}{series['persistent_bytes'][k]:>14,}{series['format_bytes'][k]:>14,}"
               f"{_count(series['ops_per_step'][k]):>14}{_count(series['macs_per_step'][k]):>14}"
               f"{(f'{seconds * 1e6:,.2f}' if seconds is not None else '-'):>12}")  # fmt: skip
        if checks and checks[k]:
            row += f"{checks[k]['cores']:>8}"
        lines.append(row)
    lines.append("")
    growth = []
    for name, key in (("memory", "persistent_bytes"), ("operations", "ops_per_step"),
                      ("host time", "seconds_per_step")):  # fmt: skip
        if None in series[key]:
            continue
        slope = _slope(series["n_hidden"], series[key])
        if slope is not None:
            growth.append(f"{name} ~ n^{slope:.2f}")
    if growth:
        lines.append("growth (log-log slope): " + ", ".join(growth))
    return "\n".join(lines)


def plot_sweep(results: list[Profile], path: str) -> None:
    """Save a log-log plot of memory, operations and host time against n."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = sweep_series(results)
    n = series["n_hidden"]
    spec = results[0].spec
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    axes[0].loglog(n, series["persistent_bytes"], "o-", label="host bytes")
    axes[0].loglog(n, series["format_bytes"], "s--", label="format bytes")
    axes[0].set_title("persistent state")
    axes[0].legend()
    axes[1].loglog(n, series["ops_per_step"], "o-", label="all operations")
    axes[1].loglog(n, series["macs_per_step"], "s--", label="MACs")
    axes[1].set_title("operations per step")
    axes[1].legend()
    if None not in series["seconds_per_step"]:
        axes[2].loglog(n, [s * 1e6 for s in series["seconds_per_step"]], "o-")
    axes[2].set_title("host time per step (us)")
    for axis in axes:
        axis.set_xlabel("hidden units n")
        axis.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"{spec.name}, {spec.precision}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
