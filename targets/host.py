"""The host simulator: a whole chunk of the stream runs inside one compiled
loop, calling the rule's step kernel once per time step; no Python per step
(DESIGN.md principle 3)."""

from __future__ import annotations

import numpy as np
from numba import njit
from timelocal.kernels.bptt import bptt_train_step
from timelocal.kernels.codes import RULE_BPTT, W_OUT
from timelocal.kernels.gle import G_OUT, gle_step, layer_reset
from timelocal.kernels.numeric import state_frac, to_real
from timelocal.kernels.perturbation import layer_views, perturbation_step
from timelocal.kernels.target_prop import T_OUT, tp_step
from timelocal.runtime.spec import TARGET_RULES, NetworkSpec
from timelocal.runtime.state import scratch_layout

WINDOW_ARRAYS = (
    "window_start",
    "window_inputs",
    "window_targets",
    "window_has_target",
    "window_reset",
    "window_rates",
    "window_drates",
    "window_outputs",
)


@njit(cache=True)
def run_chunk(
    num,
    hp,
    learn,
    params,
    weight_fracs,
    grads,
    moment1,
    moment2,
    decorrelation,
    drates,
    noisy_drates,
    counters,
    work,
    window_start,
    window_inputs,
    window_targets,
    window_has_target,
    window_reset,
    window_rates,
    window_drates,
    window_outputs,
    inputs,
    targets,
    has_target,
    reset,
    out_outputs,
    out_loss,
    out_drates,
):
    """Run ``inputs.shape[0]`` steps: learn (``learn``) or only predict.

    ``reset[t]`` zeroes both copies' rates before step t (a new sequence).
    Writes each step's clean outputs and loss (NaN without a target) and, if
    ``out_drates`` has rows, the rates x*_t."""
    n_in = inputs.shape[1]
    n_out = targets.shape[1]
    n_hidden = drates.shape[0]
    record = out_drates.shape[0] > 0
    a_frac = state_frac(num)
    views = layer_views(params, grads, moment1, moment2, n_in, n_hidden, n_out)
    for t in range(inputs.shape[0]):
        if learn and hp.rule == RULE_BPTT:
            if reset[t]:
                drates[:] = 0.0
            loss = bptt_train_step(
                num, hp, params, weight_fracs, grads, moment1, moment2, decorrelation, drates, counters, work,
                window_start, window_inputs, window_targets, window_has_target, window_reset,
                window_rates, window_drates, window_outputs,
                inputs[t], targets[t], has_target[t], reset[t], n_in, n_hidden, n_out,
            )  # fmt: skip
        else:
            # Learning with a perturbation rule, or any rule's clean pass.
            loss, _ = perturbation_step(
                num, hp, learn, views, weight_fracs, decorrelation, drates, noisy_drates,
                counters, work, inputs[t], targets[t], has_target[t], reset[t],
            )  # fmt: skip
        out_loss[t] = loss
        for k in range(n_out):
            out_outputs[t, k] = to_real(num, work[W_OUT, k], a_frac)
        if record:
            for i in range(n_hidden):
                out_drates[t, i] = to_real(num, drates[i], a_frac)


@njit(cache=True)
def run_gle_chunk(num, hp, learn, sizes, fan_ins, params, weight_fracs, grads, moment1, moment2,
                  tau_m, tau_r, potentials, error_traces, rates, errors, slopes, counters, work,
                  average, inputs, targets, has_target, reset, out_outputs, out_loss,
                  out_rates):  # fmt: skip
    """GLE's ``run_chunk``: one Euler step per sample. ``out_rates`` (if it
    has rows) receives the last hidden layer's rates. With an ``average`` of
    the weights (non-empty), learning keeps it and predicting runs on it."""
    if not learn and average.shape[0] > 0:
        params = average
    n_out = targets.shape[1]
    n_neurons = rates.shape[0]
    record = out_rates.shape[0] > 0
    width = out_rates.shape[1]
    last_hidden = n_neurons - n_out - width
    a_frac = state_frac(num)
    for t in range(inputs.shape[0]):
        out_loss[t] = gle_step(
            num, hp, learn, sizes, fan_ins, params, weight_fracs, grads, moment1, moment2, tau_m,
            tau_r, potentials, error_traces, rates, errors, slopes, counters, work, inputs[t],
            targets[t], has_target[t], reset[t], average,
        )  # fmt: skip
        for k in range(n_out):
            out_outputs[t, k] = to_real(num, work[G_OUT, k], a_frac)
        if record:
            for i in range(width):
                out_rates[t, i] = to_real(num, rates[last_hidden + i], a_frac)


@njit(cache=True)
def run_target_chunk(num, hp, learn, params, weight_fracs, hidden, counters, position,
                     window_start, window_inputs, window_hidden, window_offsets, window_reset,
                     work, window_rows, boosts, average, inputs, targets, has_target, reset,
                     out_outputs, out_loss, out_rates):  # fmt: skip
    """TPTT's and LRA's ``run_chunk``: ``tp_step`` once per sample;
    ``out_rates`` (if it has rows) receives the hidden states h_t. With an
    ``average`` of the weights (non-empty), learning keeps it and predicting
    runs on it."""
    if not learn and average.shape[0] > 0:
        params = average
    n_out = targets.shape[1]
    record = out_rates.shape[0] > 0
    a_frac = state_frac(num)
    for t in range(inputs.shape[0]):
        out_loss[t] = tp_step(
            num, hp, learn, params, weight_fracs, hidden, counters, position, window_start,
            window_inputs, window_hidden, window_offsets, window_reset, work, window_rows, boosts,
            inputs[t], targets[t], has_target[t], reset[t], average,
        )  # fmt: skip
        for k in range(n_out):
            out_outputs[t, k] = to_real(num, work[T_OUT, k], a_frac)
        if record:
            for i in range(hidden.shape[0]):
                out_rates[t, i] = to_real(num, hidden[i], a_frac)


class HostTarget:
    """Runs chunks of samples through ``run_chunk`` on the state arrays."""

    name = "host"

    def __init__(self, spec: NetworkSpec, state: dict[str, np.ndarray]):
        self.spec = spec
        self.state = state
        self.hyper = spec.kernel_hyper()
        self.numeric = spec.numeric.kernel_record(self.hyper.sigma)
        self.scratch = {a.name: np.zeros(a.shape, a.dtype) for a in scratch_layout(spec)}
        real = np.dtype(spec.numeric.state_dtype)
        self._absent = {
            "noisy_drates": np.zeros(0, real),
            "window_start": np.zeros(0, real),
            "window_inputs": np.zeros((0, spec.n_inputs), real),
            "window_targets": np.zeros((0, spec.n_outputs), real),
            "window_has_target": np.zeros(0, np.bool_),
            "window_reset": np.zeros(0, np.bool_),
            "window_rates": np.zeros((0, spec.n_hidden), real),
            "window_drates": np.zeros((0, spec.n_hidden), real),
            "window_outputs": np.zeros((0, spec.n_outputs), real),
        }

    def _result_arrays(self, steps: int, record_rates: bool) -> tuple:
        """Per-step outputs, losses and (if recorded) rates for a chunk."""
        rates = np.empty((steps if record_rates else 0, self.spec.n_hidden))
        return np.empty((steps, self.spec.n_outputs)), np.empty(steps), rates

    def state_array(self, name: str) -> np.ndarray:
        """A state array, or the empty stand-in for one this rule does not have."""
        return self.state[name] if name in self.state else self._absent[name]

    def run_chunk(
        self,
        inputs: np.ndarray,
        targets: np.ndarray,
        has_target: np.ndarray,
        reset: np.ndarray,
        *,
        learn: bool,
        record_rates: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Validated, C-contiguous float64 arrays in; (outputs, loss, rates) out."""
        outputs, loss, rates = self._result_arrays(inputs.shape[0], record_rates)
        s = self.state
        run_chunk(
            self.numeric, self.hyper, learn, s["params"], s["weight_fracs"], self.scratch["grads"], s["moment1"], s["moment2"],
            s["decorrelation"], s["drates"], self.state_array("noisy_drates"), s["counters"],
            self.scratch["work"], *(self.state_array(name) for name in WINDOW_ARRAYS),
            inputs, targets, has_target, reset, outputs, loss, rates,
        )  # fmt: skip
        return outputs, loss, (rates if record_rates else None)


def host_target(spec: NetworkSpec, state: dict[str, np.ndarray]):
    """The host target for ``spec``'s rule."""
    if spec.rule == "gle":
        return GLEHostTarget(spec, state)
    if spec.rule in TARGET_RULES:
        return TargetPropHostTarget(spec, state)
    return HostTarget(spec, state)


class GLEHostTarget(HostTarget):
    """Runs chunks of samples through ``run_gle_chunk`` on GLE's state arrays."""

    def __init__(self, spec: NetworkSpec, state: dict[str, np.ndarray]):
        super().__init__(spec, state)
        self.sizes = np.array(spec.layer_sizes, np.int64)
        self.fan_ins = np.array(spec.fan_ins, np.int64)

    def reset_rates(self) -> None:
        """Zero every neuron's state: the start of a new sequence."""
        s = self.state
        layer_reset(self.numeric, s["potentials"], s["error_traces"], s["rates"], s["errors"],
                    s["slopes"])  # fmt: skip

    def run_chunk(self, inputs, targets, has_target, reset, *, learn: bool,
                  record_rates: bool = False):  # fmt: skip
        """Same contract as HostTarget.run_chunk (rates: the last hidden layer's)."""
        outputs, loss, rates = self._result_arrays(inputs.shape[0], record_rates)
        s = self.state
        run_gle_chunk(
            self.numeric, self.hyper, learn, self.sizes, self.fan_ins, s["params"], s["weight_fracs"],
            self.scratch["grads"], s["moment1"], s["moment2"], s["tau_m"], s["tau_r"],
            s["potentials"], s["error_traces"], s["rates"], s["errors"], s["slopes"], s["counters"],
            self.scratch["work"], s["average"], inputs, targets, has_target, reset, outputs,
            loss, rates,
        )  # fmt: skip
        return outputs, loss, (rates if record_rates else None)


class TargetPropHostTarget(HostTarget):
    """Runs chunks of samples through ``run_target_chunk`` (TPTT, LRA)."""

    def __init__(self, spec: NetworkSpec, state: dict[str, np.ndarray]):
        super().__init__(spec, state)
        self._pending_reset = False

    def reset_rates(self) -> None:
        """Zero the hidden state: the next step starts a new sequence (it is
        sent with its reset flag, so no target crosses into the window's
        older entries: the Lava target does the same)."""
        self.state["hidden"][:] = 0
        self._pending_reset = True

    def run_chunk(self, inputs, targets, has_target, reset, *, learn: bool,
                  record_rates: bool = False):  # fmt: skip
        """Same contract as HostTarget.run_chunk (rates: the hidden states h_t)."""
        if self._pending_reset and len(reset):
            reset = reset.copy()
            reset[0] = True
            self._pending_reset = False
        outputs, loss, rates = self._result_arrays(inputs.shape[0], record_rates)
        s, scratch = self.state, self.scratch
        run_target_chunk(
            self.numeric, self.hyper, learn, s["params"], s["weight_fracs"], s["hidden"],
            s["counters"], s["window_position"], s["window_start"], s["window_inputs"],
            s["window_hidden"], s["window_offsets"], s["window_reset"], scratch["work"],
            scratch["window_rows"], scratch["boosts"], s["average"], inputs, targets,
            has_target, reset, outputs, loss, rates,
        )  # fmt: skip
        return outputs, loss, (rates if record_rates else None)
