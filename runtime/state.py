"""A network's state as data: one description (``state_layout``) that
allocation, checkpoints and the profile all walk, so no array can be
forgotten by any of them (STYLE.md, State is data)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from timelocal.kernels import codes
from timelocal.runtime.errors import SpecError
from timelocal.runtime.spec import PERTURBATION_RULES, TARGET_RULES, NetworkSpec

# Kinds of persistent state (the profile groups bytes by these).
KINDS = (
    "weights",
    "decorrelation",
    "neuron_state",
    "noisy_state",
    "optimizer",
    "counters",
    "window",
    "time_constants",
    "error_neurons",
)


@dataclass(frozen=True)
class ArraySpec:
    """One array of a network: what it is, its shape, dtype and kind."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    kind: str  # one of KINDS, or "scratch" for transient per-step arrays
    doc: str

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


def state_layout(spec: NetworkSpec) -> tuple[ArraySpec, ...]:
    """The persistent arrays of ``spec``'s network (everything checkpointed)."""
    if spec.rule == "gle":
        return _gle_layout(spec)
    if spec.rule in TARGET_RULES:
        return _target_layout(spec)
    n, n_in, n_out, p = spec.n_hidden, spec.n_inputs, spec.n_outputs, spec.n_params
    numeric = spec.numeric
    real = numeric.state_dtype
    weight = numeric.weight_dtype
    d = n if spec.decorrelate else 0
    m = p if spec.hyper("optimizer") == "adam" else 0
    arrays = [
        ArraySpec("params", (p,), weight, "weights", "A, R, B, b, c, flat (see weights())"),
        ArraySpec("weight_fracs", (6,), "int64", "weights",
                  "fraction bits of A, R, B, b, c, D (fixed point; zeros in float)"),
        ArraySpec("decorrelation", (d, d), weight, "decorrelation", "D (empty: identity)"),
        ArraySpec("drates", (n,), real, "neuron_state", "decorrelated rates x*_{t-1}"),
        ArraySpec("moment1", (m,), real, "optimizer", "Adam first moments"),
        ArraySpec("moment2", (m,), real, "optimizer", "Adam second moments"),
        ArraySpec("counters", (codes.N_COUNTERS,), "int64", "counters", "step bookkeeping"),
    ]  # fmt: skip
    if spec.rule in PERTURBATION_RULES:
        arrays.append(
            ArraySpec("noisy_drates", (n,), real, "noisy_state", "noisy copy's rates x~*_{t-1}")
        )
    if spec.rule == "bptt":
        t = spec.hyper("window")
        arrays += [
            ArraySpec("window_start", (n,), real, "window", "x* before the window"),
            ArraySpec("window_inputs", (t, n_in), real, "window", "inputs of the window"),
            ArraySpec("window_targets", (t, n_out), real, "window", "targets of the window"),
            ArraySpec("window_has_target", (t,), "bool", "window", "which steps have targets"),
            ArraySpec("window_reset", (t,), "bool", "window", "steps that reset the state"),
            ArraySpec("window_rates", (t, n), real, "window", "rates x of the window"),
            ArraySpec("window_drates", (t, n), real, "window", "rates x* of the window"),
            ArraySpec("window_outputs", (t, n_out), real, "window", "outputs of the window"),
        ]
    return tuple(arrays)


def _average_array(spec: NetworkSpec) -> ArraySpec:
    """``-p average``'s copy of the weights (GLE, TPTT, LRA; empty when off)."""
    return ArraySpec("average", (spec.n_params if spec.hyper("average") else 0,),
                     spec.numeric.weight_dtype, "weights",
                     "moving average of params, which predicting uses (empty: off)")  # fmt: skip


def _gle_layout(spec: NetworkSpec) -> tuple[ArraySpec, ...]:
    numeric = spec.numeric
    n, layers = spec.n_neurons, len(spec.layer_sizes) - 1
    real = numeric.state_dtype
    error = numeric.float_dtype or numeric.errors.dtype
    time = numeric.float_dtype or numeric.signals.dtype
    m = spec.n_params if spec.hyper("optimizer") == "adam" else 0
    return (
        ArraySpec("params", (spec.n_params,), numeric.weight_dtype, "weights",
                  "W_1, b_1, W_2, b_2, ... flat (see weights())"),
        ArraySpec("weight_fracs", (2 * layers,), "int64", "weights",
                  "fraction bits of W_l, b_l (fixed point; zeros in float)"),
        ArraySpec("moment1", (m,), real, "optimizer", "Adam first moments, flat like params"),
        ArraySpec("moment2", (m,), real, "optimizer", "Adam second moments, flat like params"),
        _average_array(spec),
        ArraySpec("tau_m", (n,), time, "time_constants", "membrane time constants"),
        ArraySpec("tau_r", (n,), time, "time_constants", "prospective time constants"),
        ArraySpec("potentials", (n,), real, "neuron_state", "membrane potentials u"),
        ArraySpec("rates", (n,), real, "neuron_state", "rates r of the last step"),
        ArraySpec("slopes", (n,), real, "neuron_state", "phi'(u_hat) of the last step"),
        ArraySpec("error_traces", (n,), error, "error_neurons",
                  "error neurons' low-pass states v"),
        ArraySpec("errors", (n,), error, "error_neurons", "errors e of the last step"),
        ArraySpec("counters", (codes.N_COUNTERS,), "int64", "counters", "step bookkeeping"),
    )  # fmt: skip


def _target_layout(spec: NetworkSpec) -> tuple[ArraySpec, ...]:
    from timelocal.kernels.target_prop import N_TP_FRACS

    numeric = spec.numeric
    n, n_in, k = spec.n_hidden, spec.n_inputs, spec.hyper("window")
    real = numeric.state_dtype
    inverse = "; V_h, c_h: the step inverse G" if spec.rule == "tptt" else ""
    return (
        ArraySpec("params", (spec.n_params,), numeric.weight_dtype, "weights",
                  f"W_xh, W_h, b_h, W_hy, b_y{inverse} (see weights())"),
        ArraySpec("weight_fracs", (N_TP_FRACS,), "int64", "weights",
                  "fraction bits of each matrix (fixed point; zeros in float)"),
        _average_array(spec),
        ArraySpec("hidden", (n,), real, "neuron_state", "hidden state h_t"),
        ArraySpec("counters", (codes.N_COUNTERS,), "int64", "counters", "step bookkeeping"),
        ArraySpec("window_position", (2,), "int64", "window",
                  "ring buffer: the newest entry's slot, entries held"),
        ArraySpec("window_start", (n,), real, "window", "h before the oldest entry"),
        ArraySpec("window_inputs", (k, n_in), real, "window", "inputs x_tau of the window"),
        ArraySpec("window_hidden", (k, n), real, "window", "hidden states h_tau"),
        ArraySpec("window_offsets", (k, n), real, "window",
                  "step offsets o_tau (the target shifts of each step's own loss)"),
        ArraySpec("window_reset", (k,), "bool", "window", "entries that started a sequence"),
    )  # fmt: skip


def scratch_layout(spec: NetworkSpec) -> tuple[ArraySpec, ...]:
    """Transient arrays reused every step (allocated once, never checkpointed)."""
    if spec.rule in TARGET_RULES:
        from timelocal.kernels.target_prop import N_TP_ROWS, N_WINDOW_ROWS

        width = max(spec.n_hidden, spec.n_inputs, spec.n_outputs)
        k, n, work = spec.hyper("window"), spec.n_hidden, spec.numeric.work_dtype
        return (
            ArraySpec("work", (N_TP_ROWS, width), work, "scratch", "per-step rows"),
            ArraySpec("window_rows", (N_WINDOW_ROWS, k, n), work, "scratch",
                      "per entry: merged targets (TPTT) or local errors (LRA), regulariser"),
            ArraySpec("boosts", (k,), work, "scratch", "LRA: input-mapping boost per entry"),
        )  # fmt: skip
    if spec.rule == "gle":
        from timelocal.kernels.gle import N_GLE_ROWS

        width = max(spec.n_neurons, spec.n_inputs, *spec.fan_ins)
        grads = spec.n_params if spec.hyper("optimizer") == "adam" else 0
        return (
            ArraySpec("grads", (grads,), spec.numeric.weight_dtype, "scratch",
                      "this step's gradient estimate -dt e r^T (Adam)"),
            ArraySpec("work", (N_GLE_ROWS, width), spec.numeric.work_dtype, "scratch",
                      "per-step rows"),
        )  # fmt: skip
    width = max(spec.n_inputs, spec.n_hidden + spec.n_outputs)
    numeric = spec.numeric
    grads = spec.n_params if spec.hyper("optimizer") == "adam" or spec.rule == "bptt" else 0
    return (
        ArraySpec("grads", (grads,), numeric.weight_dtype, "scratch", "this step's dW (Adam)"),
        ArraySpec("work", (codes.N_WORK_ROWS, width), numeric.work_dtype, "scratch",
                  "per-step rows"),
    )  # fmt: skip


def initial_state(spec: NetworkSpec) -> dict[str, np.ndarray]:
    """Allocate every persistent array and initialise the weights from the seed."""
    state = {a.name: np.zeros(a.shape, dtype=a.dtype) for a in state_layout(spec)}
    if spec.rule == "gle":
        return _average_from_start(_gle_initial(spec, state))
    if spec.rule in TARGET_RULES:
        return _average_from_start(_target_initial(spec, state))
    rng = np.random.default_rng(spec.seed)
    n, n_in = spec.n_hidden, spec.n_inputs
    drawn = np.zeros(spec.n_params)
    views = weights(spec, drawn)
    views["A"][:] = (
        rng.standard_normal(views["A"].shape) * spec.hyper("input_scale") / np.sqrt(n_in)
    )
    views["R"][:] = (
        rng.standard_normal(views["R"].shape) * spec.hyper("recurrent_scale") / np.sqrt(n)
    )
    views["B"][:] = rng.standard_normal(views["B"].shape) * spec.hyper("output_scale") / np.sqrt(n)
    numeric = spec.numeric
    if not numeric.fixed:
        state["params"][:] = drawn
        if spec.decorrelate:
            state["decorrelation"][:] = np.eye(n)
        return state
    # Fixed point: the same draws, rounded into each matrix's format.
    real = views
    views = weights(spec, state["params"])
    eye = np.eye(n) if spec.decorrelate else np.zeros((0, 0))
    fracs = numeric.weight_fracs([real["A"], real["R"], real["B"], real["b"], real["c"], eye])
    state["weight_fracs"][:] = fracs
    if numeric.shared_exponent:
        for k, fan_in in ((0, spec.n_inputs + spec.n_hidden), (2, spec.n_hidden), (5, n)):
            limit = numeric.max_fan_in(int(fracs[k]))
            if fan_in > limit:
                raise SpecError(
                    f"{spec.precision}: {fan_in} products per sum exceed what the "
                    f"{numeric.acc_bits}-bit accumulator holds at this matrix's exponent "
                    f"({limit}); use fewer units or a wider acc="
                )
    lo, hi = numeric.weights.lo, numeric.weights.hi
    for k, name in enumerate(("A", "R", "B", "b", "c")):
        views[name][:] = np.clip(np.round(real[name] * 2.0 ** fracs[k]), lo, hi)
    if spec.decorrelate:
        state["decorrelation"][:] = np.clip(np.round(eye * 2.0 ** fracs[5]), lo, hi)
    return state


def _average_from_start(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The moving average (if kept: float only) starts at the initial weights."""
    if len(state["average"]):
        state["average"][:] = state["params"]
    return state


def _gle_initial(spec: NetworkSpec, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """GLE: W_l ~ N(0, scale^2 / fan-in) (input_scale for hidden layers,
    output_scale for the output; a recurrent layer's fan-in counts its own
    rates), zero biases; or with init=uniform W_l and b_l uniform in
    +-scale / sqrt(fan-in); time constants tau_m, tau_r, but
    a lag_fraction share of each hidden layer starts as low-pass units
    (tau_m = lag_tau, tau_r = tau_min)."""
    rng = np.random.default_rng(spec.seed)
    sizes, fan_ins = spec.layer_sizes, spec.fan_ins
    drawn = np.zeros(spec.n_params)
    views = weights(spec, drawn)
    for k in range(1, len(sizes)):
        scale = spec.hyper("output_scale" if k == len(sizes) - 1 else "input_scale")
        bound = scale / np.sqrt(fan_ins[k - 1])
        if spec.hyper("init") == "uniform":
            for name in (f"W{k}", f"b{k}"):
                views[name][:] = rng.uniform(-bound, bound, views[name].shape)
        else:
            views[f"W{k}"][:] = rng.standard_normal(views[f"W{k}"].shape) * bound
    tau_m = np.full(spec.n_neurons, spec.hyper("tau_m"))
    tau_r = np.full(spec.n_neurons, spec.hyper("tau_r"))
    lag = int(round(spec.hyper("lag_fraction") * spec.n_hidden))
    for layer in range(spec.hyper("layers")):
        start = layer * spec.n_hidden
        tau_m[start : start + lag] = spec.hyper("lag_tau")
        tau_r[start : start + lag] = spec.hyper("tau_min")
    numeric = spec.numeric
    state["slopes"][:] = 1 if not numeric.fixed else 1 << numeric.states.frac
    if not numeric.fixed:
        state["params"][:] = drawn
        state["tau_m"][:] = tau_m
        state["tau_r"][:] = tau_r
        return state
    matrices = []
    for k in range(1, len(sizes)):
        matrices += [views[f"W{k}"], views[f"b{k}"]]
    fracs = numeric.layer_fracs(matrices)
    state["weight_fracs"][:] = fracs
    if numeric.shared_exponent:
        for k in range(1, len(sizes)):
            limit = numeric.max_fan_in(int(fracs[2 * k - 2]))
            if fan_ins[k - 1] > limit:
                raise SpecError(
                    f"{spec.precision}: {fan_ins[k - 1]} products per sum exceed what the "
                    f"{numeric.acc_bits}-bit accumulator holds at this matrix's exponent "
                    f"({limit}); use fewer units or a wider acc="
                )
    fixed = weights(spec, state["params"])
    lo, hi = numeric.weights.lo, numeric.weights.hi
    for k, matrix in enumerate(matrices):
        name = f"{'W' if k % 2 == 0 else 'b'}{k // 2 + 1}"
        fixed[name][:] = np.clip(np.round(matrix * 2.0 ** fracs[k]), lo, hi)
    unit = 2.0**numeric.signals.frac
    state["tau_m"][:] = np.round(tau_m * unit)
    state["tau_r"][:] = np.round(tau_r * unit)
    return state


def _target_initial(spec: NetworkSpec, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """TPTT, LRA: W_xh ~ N(0, input_scale^2 / n_in), W_h (and TPTT's V_h)
    recurrent_scale times a random orthogonal matrix (seed 002's
    initialisation), W_hy ~ N(0, output_scale^2 / n), zero biases."""
    rng = np.random.default_rng(spec.seed)
    n, n_in = spec.n_hidden, spec.n_inputs
    drawn = np.zeros(spec.n_params)
    views = weights(spec, drawn)
    views["W_xh"][:] = rng.standard_normal((n, n_in)) * spec.hyper("input_scale") / np.sqrt(n_in)
    views["W_h"][:] = _orthogonal(rng, n) * spec.hyper("recurrent_scale")
    views["W_hy"][:] = (
        rng.standard_normal(views["W_hy"].shape) * spec.hyper("output_scale") / np.sqrt(n)
    )
    if spec.rule == "tptt":
        views["V_h"][:] = _orthogonal(rng, n) * spec.hyper("recurrent_scale")
    numeric = spec.numeric
    if not numeric.fixed:
        state["params"][:] = drawn
        return state
    names = list(views)
    fracs = numeric.layer_fracs([views[name] for name in names], len(state["weight_fracs"]))
    state["weight_fracs"][:] = fracs
    if numeric.shared_exponent:
        fan_ins = {"W_xh": n_in + n, "W_h": n_in + n, "W_hy": n, "V_h": n_in + n}
        for k, name in enumerate(names):
            limit = numeric.max_fan_in(int(fracs[k]))
            if name in fan_ins and fan_ins[name] > limit:
                raise SpecError(
                    f"{spec.precision}: {fan_ins[name]} products per sum exceed what the "
                    f"{numeric.acc_bits}-bit accumulator holds at {name}'s exponent ({limit}); "
                    "use fewer units or a wider acc="
                )
    fixed = weights(spec, state["params"])
    lo, hi = numeric.weights.lo, numeric.weights.hi
    for k, name in enumerate(names):
        fixed[name][:] = np.clip(np.round(views[name] * 2.0 ** fracs[k]), lo, hi)
    return state


def _orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random orthogonal n x n matrix (QR of a Gaussian, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def weights(spec: NetworkSpec, params: np.ndarray) -> dict[str, np.ndarray]:
    """Named views of ``params``: A (n x in), R (n x n), B (out x n), b (n),
    c (out); GLE: W1, b1, W2, b2, ... (W_l: n_l x n_{l-1}, or n_l x
    (n_{l-1} + n_l) for a recurrent layer: its own rates are the last columns)."""
    if spec.rule == "gle":
        sizes, fan_ins = spec.layer_sizes, spec.fan_ins
        shapes = {}
        for k in range(1, len(sizes)):
            shapes[f"W{k}"] = (sizes[k], fan_ins[k - 1])
            shapes[f"b{k}"] = (sizes[k],)
        return _views(params, shapes)
    n, n_in, n_out = spec.n_hidden, spec.n_inputs, spec.n_outputs
    if spec.rule in TARGET_RULES:
        shapes = {"W_xh": (n, n_in), "W_h": (n, n), "b_h": (n,), "W_hy": (n_out, n),
                  "b_y": (n_out,)}  # fmt: skip
        if spec.rule == "tptt":
            shapes.update(V_h=(n, n), c_h=(n,))
        return _views(params, shapes)
    shapes = {"A": (n, n_in), "R": (n, n), "B": (n_out, n), "b": (n,), "c": (n_out,)}
    return _views(params, shapes)


def _views(params: np.ndarray, shapes: dict) -> dict[str, np.ndarray]:
    views, offset = {}, 0
    for name, shape in shapes.items():
        size = int(np.prod(shape))
        views[name] = params[offset : offset + size].reshape(shape)
        offset += size
    return views


def check_state(spec: NetworkSpec, state: dict[str, np.ndarray]) -> None:
    """Raise ValueError unless ``state`` holds exactly the layout's arrays."""
    expected = {a.name: a for a in state_layout(spec)}
    if set(state) != set(expected):
        missing = sorted(set(expected) - set(state))
        extra = sorted(set(state) - set(expected))
        raise ValueError(f"state arrays differ from the layout: missing {missing}, extra {extra}")
    for name, a in expected.items():
        arr = state[name]
        if arr.shape != a.shape or arr.dtype != np.dtype(a.dtype):
            raise ValueError(
                f"state array {name} is {arr.dtype}{arr.shape}, expected {a.dtype}{a.shape}"
            )
