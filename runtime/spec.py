"""The network spec: everything needed to allocate a network's state, as a
plain, validated, serialisable record (DESIGN.md, Words: network)."""

from __future__ import annotations

import dataclasses
import math
from collections import namedtuple
from dataclasses import dataclass, field
from typing import Any

from timelocal.kernels import codes
from timelocal.runtime.errors import SpecError
from timelocal.runtime.precision import PRESETS, Precision, parse_precision

RULES = {
    "np": "node perturbation through time (seed 000, Eq. 2)",
    "anp": "activity-based node perturbation through time (seed 000, Eq. 3)",
    "wp": "weight perturbation through time (seed 000, Eq. 5)",
    "bptt": "truncated backpropagation through time: offline reference, NOT time-local",
    "gle": "Generalized Latent Equilibrium: prospective neurons and error neurons, layered "
    "(seed 003)",
    "tptt": "target propagation through time with merged step targets and a learned step "
    "inverse, over a sliding window of K steps (seed 004)",
    "lra": "LRA-diff over a sliding window of K steps, optionally regularised in the "
    "direction of the update (seed 002)",
}
RULE_CODES = {
    "np": codes.RULE_NP,
    "anp": codes.RULE_ANP,
    "wp": codes.RULE_WP,
    "bptt": codes.RULE_BPTT,
    "gle": codes.RULE_GLE,
    "tptt": codes.RULE_TPTT,
    "lra": codes.RULE_LRA,
}
LOSSES = {"mse": codes.LOSS_MSE, "xent": codes.LOSS_XENT}
OPTIMIZERS = {"sgd": codes.OPT_SGD, "adam": codes.OPT_ADAM}
GLE_INITS = ("normal", "uniform")
PRECISIONS = tuple(PRESETS)
PERTURBATION_RULES = ("np", "anp", "wp")
RECURRENT_RULES = ("np", "anp", "wp", "bptt")  # one recurrent hidden layer (A, R, B)
TARGET_RULES = ("tptt", "lra")  # one recurrent layer, a readout, a window of K steps
LOCAL_LOSSES = ("mse", "log")
UPDATES = ("window", "oldest")


@dataclass(frozen=True)
class HyperParameter:
    name: str
    kind: type
    default: Any  # a value, or a dict rule -> value
    help: str
    rules: tuple[str, ...] = tuple(RULES)
    minimum: float | None = None
    fixed_default: Any = None  # in fixed point, if different: a value or rule -> value
    tunable: bool = False  # a learned network may change it (NetworkSpec.retuned)

    def default_for(self, rule: str, fixed: bool = False) -> Any:
        choices = [self.default]
        if fixed and self.fixed_default is not None:
            choices.insert(0, self.fixed_default)
        for default in choices:
            if not isinstance(default, dict):
                return default
            if rule in default:
                return default[rule]
        return None


# Fixed-point ANP's learning rate is at most this over n_hidden (NetworkSpec.hyper).
FIXED_ANP_RATE_TIMES_N = 0.3

# Defaults chosen by sweeps on Mackey-Glass, 100 hidden units, 20 epochs, seeds 0-2
# (learning rates 1e-6 ... 5e-3, SGD and Adam, decorrelation rates 1e-6 ... 1e-3).
# ANP: Adam at 3e-5 beat the best SGD setting by 2-4x in test MSE, with and without
# decorrelation, and decorrelation then helps (it hurt at the SGD rates tried).
# docs/mackey_glass.md has the resulting table.
HYPER_PARAMETERS = (
    HyperParameter(
        "optimizer", str,
        {"np": "sgd", "anp": "adam", "wp": "sgd", "bptt": "adam", "gle": "sgd", "tptt": "sgd",
         "lra": "sgd"},
        "per-step optimiser: sgd or adam (adam keeps two moments per weight; float only; "
        "GLE: adam steps from -dt e r^T, host only; TPTT, LRA: sgd)",
        fixed_default="sgd",
    ),
    HyperParameter(
        "learning_rate", float,
        {"np": 1e-4, "anp": 3e-5, "wp": 1e-5, "bptt": 3e-3, "gle": 0.05, "tptt": 0.01,
         "lra": 0.01},
        "step size of every weight update (GLE: per unit time, eta of dW/dt = eta e r^T; "
        "TPTT, LRA: of the recurrent layer's W_h, W_xh, b_h; fixed-point ANP: "
        f"{FIXED_ANP_RATE_TIMES_N} / n_hidden where that is smaller)",
        minimum=0.0, fixed_default={"anp": 3e-3}, tunable=True,
    ),
    HyperParameter(
        "sigma", float, {"np": 1e-3, "anp": 1e-3, "wp": 1e-3, "tptt": 0.1},
        "standard deviation of the injected noise (TPTT: of the step inverse's denoising "
        "noise on h_{t-1})",
        rules=PERTURBATION_RULES + ("tptt",), minimum=0.0,
    ),
    HyperParameter(
        "decorrelation_rate", float, {"np": 1e-4, "anp": 3e-4, "wp": 1e-4, "bptt": 1e-4},
        "learning rate eps of the decorrelation matrix D (with --decorrelate)",
        rules=RECURRENT_RULES, minimum=0.0,
        fixed_default={"anp": 3e-6}, tunable=True,
    ),
    HyperParameter(
        "anp_scale", float, None,
        "ANP gain c on the loss difference; default sqrt(n_in + n_hidden + n_out)",
        rules=("anp",), minimum=0.0,
    ),
    HyperParameter(
        "anp_floor", float, 1e-20,
        "ANP: a layer whose ||d pre-activation||^2 is at or below this skips its update",
        rules=("anp",), minimum=0.0,
    ),
    HyperParameter(
        "resync_every", int, 0,
        "copy the clean rates into the noisy copy every M steps (0: never)",
        rules=PERTURBATION_RULES, minimum=0,
    ),
    HyperParameter(
        "window", int, {"bptt": 50, "tptt": 8, "lra": 8},
        "BPTT: truncation window T (steps stored, then one update); TPTT, LRA: the sliding "
        "window K of steps that targets propagate through (1: strictly local)",
        rules=("bptt",) + TARGET_RULES, minimum=1,
    ),
    HyperParameter("adam_beta1", float, 0.9, "Adam's first-moment decay",
                   rules=RECURRENT_RULES + ("gle",), minimum=0.0),
    HyperParameter("adam_beta2", float, 0.999,
                   "Adam's second-moment decay (GLE: every Euler step is an update; at 360 steps "
                   "a sample, adam_beta1=0.999 and adam_beta2=0.99999 average over about 3 and "
                   "280 samples)",
                   rules=RECURRENT_RULES + ("gle",), minimum=0.0),
    HyperParameter("adam_eps", float, 1e-8, "Adam's denominator floor",
                   rules=RECURRENT_RULES + ("gle",), minimum=0.0),
    HyperParameter(
        "input_scale", float, 1.0, "initial A ~ N(0, input_scale^2 / n_in) (GLE: every hidden layer's W, over its fan-in)", minimum=0.0
    ),
    HyperParameter(
        "recurrent_scale", float, {"np": 0.9, "anp": 0.9, "wp": 0.9, "bptt": 0.9, "tptt": 1.0,
                                   "lra": 1.0},
        "initial R ~ N(0, recurrent_scale^2 / n_hidden) (TPTT, LRA: W_h and V_h are "
        "recurrent_scale times a random orthogonal matrix)",
        rules=RECURRENT_RULES + TARGET_RULES, minimum=0.0,
    ),
    HyperParameter(
        "output_scale", float, 1.0, "initial B ~ N(0, output_scale^2 / n_hidden) (GLE: the output layer's W)", minimum=0.0
    ),
    # GLE (ALGORITHMS.md §2). Time is in the units of the time constants; one
    # sample is one Euler step of length dt.
    HyperParameter("layers", int, 1, "GLE: hidden layers, each --hidden wide", rules=("gle",),
                   minimum=1),
    HyperParameter("dt", float, 0.1, "GLE: Euler step (one sample), in time units",
                   rules=("gle",), minimum=0.0),
    HyperParameter("tau_m", float, 1.0, "GLE: initial membrane time constant tau_m",
                   rules=("gle",), minimum=0.0),
    HyperParameter("tau_r", float, 1.0,
                   "GLE: initial prospective time constant tau_r (= tau_m: the LE limit)",
                   rules=("gle",), minimum=0.0),
    HyperParameter("recurrent", int, 0, "GLE: 1 connects each hidden layer to itself (its "
                   "previous rates join its inputs; W_l is n x (n_{l-1} + n))", rules=("gle",),
                   minimum=0),
    HyperParameter("lag_fraction", float, 0.0,
                   "GLE: share of each hidden layer's neurons started as low-pass (memory) "
                   "units, tau_r = tau_min and tau_m = lag_tau", rules=("gle",), minimum=0.0),
    HyperParameter("init", str, "normal",
                   "GLE: initial weights, normal (W_l ~ N(0, scale^2 / fan-in), zero biases) "
                   "or uniform (W_l and b_l ~ U(+-scale / sqrt(fan-in)), PyTorch's default "
                   "for a linear layer at scale 1; seed 003's MNIST-1D network)",
                   rules=("gle",)),
    HyperParameter("lag_tau", float, 1.0, "GLE: tau_m of the low-pass units (lag_fraction)",
                   rules=("gle",), minimum=0.0),
    HyperParameter("tau_min", float, 0.2, "GLE: lower clip of the learned time constants "
                   "(at least 2 dt)", rules=("gle",), minimum=0.0),
    HyperParameter("tau_max", float, 100.0, "GLE: upper clip of the learned time constants",
                   rules=("gle",), minimum=0.0),
    HyperParameter("tau_learning_rate", float, None,
                   "GLE: eta_tau of d tau_m = -eta_tau e du, d tau_r = eta_tau s du "
                   "(0: fixed time constants; default 0.005, 0 with recurrent=1)",
                   rules=("gle",), minimum=0.0, tunable=True),
    HyperParameter("beta", float, 1.0, "GLE: output nudging strength, e_L = beta (y* - y)",
                   rules=("gle",), minimum=0.0),
    HyperParameter("gamma", float, 0.0,
                   "GLE: weight of the error in the membrane (0: errors only for learning)",
                   rules=("gle",), minimum=0.0),
    # Target propagation (ALGORITHMS.md §3).
    HyperParameter("target_step", float, {"tptt": 0.5, "lra": 1.0},
                   "TPTT: alpha of the step target h - alpha dE/dh (Eq. 20); LRA: beta of "
                   "z_bar = z - beta dL/dz and of each step back", rules=TARGET_RULES,
                   minimum=0.0),
    HyperParameter("readout_rate", float, 0.01,
                   "TPTT, LRA: learning rate of the readout W_hy, b_y (on the step loss)",
                   rules=TARGET_RULES, minimum=0.0, tunable=True),
    HyperParameter("inverse_rate", float, 0.01,
                   "TPTT: learning rate of the step inverse G (V_h, c_h)", rules=("tptt",),
                   minimum=0.0, tunable=True),
    HyperParameter("decay_every", int, 0,
                   "TPTT, LRA, GLE: multiply learning_rate (TPTT, LRA: and readout_rate) by "
                   "decay_factor every this many learning steps after decay_after (0: never; "
                   "the step inverse keeps inverse_rate unless decay_inverse=1, and GLE keeps "
                   "tau_learning_rate)", rules=(*TARGET_RULES, "gle"), minimum=0, tunable=True),
    HyperParameter("decay_factor", float, 0.5,
                   "TPTT, LRA, GLE: the factor of each decay_every (in (0, 1])",
                   rules=(*TARGET_RULES, "gle"), minimum=0.0, tunable=True),
    HyperParameter("decay_after", int, 0,
                   "TPTT, LRA, GLE: learning steps before decay_every starts counting (the "
                   "first step-down comes at decay_after + decay_every)",
                   rules=(*TARGET_RULES, "gle"), minimum=0, tunable=True),
    HyperParameter("decay_inverse", int, 0,
                   "TPTT: 1 steps inverse_rate down with learning_rate and readout_rate "
                   "(decay_every, decay_factor); 0 keeps it", rules=("tptt",), minimum=0,
                   tunable=True),
    HyperParameter("average", int, 0,
                   "TPTT, LRA, GLE: keep a moving average of the weights (GLE: and biases) over "
                   "about this many learning steps (Polyak averaging), which predicting and the "
                   "test part use; 0: off (float, host target)", rules=(*TARGET_RULES, "gle"),
                   minimum=0),
    HyperParameter("inverse_warmup", int, 1000,
                   "TPTT: first learning steps that train only the inverse (seed 004: 1000)",
                   rules=("tptt",), minimum=0),
    HyperParameter("local_loss", str, "mse",
                   "LRA: local loss between z and its target: mse or log (log-penalty)",
                   rules=("lra",)),
    HyperParameter("norm_clip", float, 1.0,
                   "LRA: Normalize, d <- c d / ||d|| where ||d|| > c (0: never)",
                   rules=("lra",), minimum=0.0),
    HyperParameter("regularize", float, 0.0,
                   "LRA: lambda of the regulariser (||d|| / ||e|| - 1)^2 in the direction of "
                   "the update (0: plain LRA-diff with Normalize)", rules=("lra",), minimum=0.0),
    # LRA learns only as entries leave: with every entry learning at every
    # step, the entries before a sequence start keep their targets and repeat
    # the same update up to K times; temporal order T = 10 then fails from
    # K = 16 on (32 % against 100 %, README, Target propagation).
    HyperParameter("update", str, {"tptt": "window", "lra": "oldest"},
                   "TPTT, LRA: which entries learn each step: window (every entry, with the "
                   "target it has then, ALGORITHMS.md §3) or oldest (each entry once, as it "
                   "leaves the full window, with the errors of the K - 1 steps after it)",
                   rules=TARGET_RULES),
    HyperParameter("linear", int, 0,
                   "TPTT, LRA: 1 makes phi the identity (F and G linear: the theory's case); "
                   "GLE: 1 makes the first hidden layer's phi the identity (seed 003's "
                   "MNIST-1D network)", rules=(*TARGET_RULES, "gle"), minimum=0),
)  # fmt: skip
HYPER_BY_NAME = {h.name: h for h in HYPER_PARAMETERS}
TUNABLE = tuple(h.name for h in HYPER_PARAMETERS if h.tunable)

# What the kernels read: a flat, typed record (numba takes namedtuples).
KernelHyper = namedtuple(
    "KernelHyper",
    "rule loss optimizer seed learning_rate sigma decorrelation_rate anp_scale anp_floor "
    "adam_beta1 adam_beta2 adam_eps resync_every dt beta gamma tau_learning_rate tau_min "
    "tau_max target_step readout_rate inverse_rate inverse_warmup local_loss norm_clip "
    "regularize linear update_oldest decay_every decay_factor decay_after decay_inverse "
    "average",
)


@dataclass(frozen=True)
class NetworkSpec:
    """A network: rule, sizes, numeric format, seed and hyper-parameters.

    ``params`` holds only the hyper-parameters that differ from the rule's
    defaults; ``hyper(name)`` reads either."""

    rule: str
    n_inputs: int
    n_outputs: int
    n_hidden: int = 100
    decorrelate: bool = False
    loss: str = "mse"
    precision: str = "float64"
    seed: int = 0
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.rule not in RULES:
            raise SpecError(f"unknown rule {self.rule!r}; choose one of {', '.join(RULES)}")
        for name in ("n_inputs", "n_outputs", "n_hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpecError(f"{name} must be a whole number >= 1, got {value!r}")
        if self.loss not in LOSSES:
            raise SpecError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if self.loss == "xent" and self.n_outputs < 2:
            raise SpecError("the cross-entropy loss needs at least 2 outputs (one per class)")
        if not isinstance(self.precision, str):
            raise SpecError(f"precision must be a name, got {self.precision!r}")
        parse_precision(self.precision)
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or not (0 <= self.seed < 2**63)
        ):
            raise SpecError(f"seed must be a whole number in [0, 2^63), got {self.seed!r}")
        object.__setattr__(self, "params", {k: _check_param(self.rule, k, v)
                                            for k, v in dict(self.params).items()})  # fmt: skip
        if self.hyper("optimizer") not in OPTIMIZERS:
            raise SpecError(
                f"unknown optimizer {self.hyper('optimizer')!r}; choose one of "
                f"{', '.join(OPTIMIZERS)}"
            )
        if self.rule in PERTURBATION_RULES and not self.hyper("sigma") > 0:
            raise SpecError("sigma must be > 0 for a perturbation rule")
        if self.rule == "gle":
            self._check_gle()
        if self.rule in TARGET_RULES:
            self._check_target()
        if self.numeric.fixed:
            self._check_fixed()

    @property
    def numeric(self) -> Precision:
        """The precision's formats (runtime/precision.py)."""
        return parse_precision(self.precision)

    def _check_gle(self) -> None:
        self._check_decay("GLE")
        if self.decorrelate:
            raise SpecError("GLE has no decorrelation; drop --decorrelate")
        dt, low, high = self.hyper("dt"), self.hyper("tau_min"), self.hyper("tau_max")
        if not dt > 0:
            raise SpecError(f"GLE: dt must be > 0, got {dt}")
        if low < 2 * dt:
            raise SpecError(f"GLE: tau_min ({low}) must be at least 2 dt ({2 * dt}) for the "
                            "Euler step to be stable")  # fmt: skip
        if high < low:
            raise SpecError(f"GLE: tau_max ({high}) is below tau_min ({low})")
        for name in ("tau_m", "tau_r", "lag_tau"):
            if not low <= self.hyper(name) <= high:
                raise SpecError(f"GLE: {name} = {self.hyper(name)} lies outside "
                                f"[tau_min, tau_max] = [{low}, {high}]")  # fmt: skip
        if self.hyper("init") not in GLE_INITS:
            raise SpecError(f"GLE: unknown init {self.hyper('init')!r}; choose one of "
                            f"{', '.join(GLE_INITS)}")  # fmt: skip
        if self.hyper("lag_fraction") > 1:
            raise SpecError("GLE: lag_fraction is a share of the neurons, between 0 and 1")
        if self.hyper("linear") > 1:
            raise SpecError("GLE: linear is 0 (tanh everywhere) or 1 (a linear first hidden "
                            "layer)")  # fmt: skip
        if self.hyper("recurrent") > 1:
            raise SpecError("GLE: recurrent is 0 (layered) or 1 (each hidden layer recurrent)")
        if self.hyper("recurrent") and (
            self.hyper("lag_fraction") > 0 or self.hyper("tau_learning_rate") > 0
            or self.hyper("tau_m") != self.hyper("tau_r")
        ):  # fmt: skip
            # The error neurons' loop through W_rec^T has a gain of about
            # (tau_m / tau_r) |W_rec^T phi'|: it diverges for low-pass units
            # (measured; README, GLE).
            raise SpecError(
                "GLE: a recurrent layer needs tau_m = tau_r, no lag units and fixed time "
                "constants (-p lag_fraction=0 -p tau_learning_rate=0): its errors loop "
                "through W_rec^T with a gain of tau_m / tau_r, and diverge when it exceeds 1"
            )

    def _check_target(self) -> None:
        name = self.rule.upper()
        if self.decorrelate:
            raise SpecError(f"{name} has no decorrelation; drop --decorrelate")
        if self.hyper("optimizer") != "sgd":
            raise SpecError(f"{name} learns with plain per-step updates (optimizer=sgd)")
        if self.hyper("local_loss") not in LOCAL_LOSSES:
            raise SpecError(f"unknown local_loss {self.hyper('local_loss')!r}; choose one of "
                            f"{', '.join(LOCAL_LOSSES)}")  # fmt: skip
        if self.hyper("update") not in UPDATES:
            raise SpecError(f"unknown update {self.hyper('update')!r}; choose one of "
                            f"{', '.join(UPDATES)}")  # fmt: skip
        self._check_decay(name)
        if self.hyper("linear") > 1:
            raise SpecError(f"{name}: linear is 0 (tanh) or 1 (identity)")
        if self.rule == "tptt" and self.hyper("decay_inverse") > 1:
            raise SpecError(f"{name}: decay_inverse is 0 (inverse_rate stays) or 1 (it decays)")

    def _check_decay(self, name: str) -> None:
        if not 0 < self.hyper("decay_factor") <= 1:
            raise SpecError(f"{name}: decay_factor must be in (0, 1], got "
                            f"{self.hyper('decay_factor')}")  # fmt: skip

    def _check_fixed(self) -> None:
        name = self.precision
        if self.rule == "bptt":
            raise SpecError(
                f"BPTT is the float reference; run it in float32 or float64, not {name}"
            )
        if self.loss != "mse":
            raise SpecError(f"fixed point ({name}) supports the mse loss only (cross-entropy "
                            "needs exp and a division per output)")  # fmt: skip
        if self.hyper("optimizer") != "sgd":
            raise SpecError(f"fixed point ({name}) runs plain SGD (Adam needs a square root "
                            "and a division per weight and step); set optimizer=sgd")  # fmt: skip
        if self.hyper("average") > 0:
            raise SpecError(f"fixed point ({name}) keeps no moving average of the weights (a "
                            "1/average share of a weight's change rounds away); drop average "
                            "or run in float")  # fmt: skip
        numeric = self.numeric
        if self.rule == "gle":
            top = numeric.signals.hi * 2.0**-numeric.signals.frac
            if self.hyper("tau_max") > top:
                raise SpecError(f"{name}: tau_max = {self.hyper('tau_max')} does not fit the "
                                f"signals format {numeric.signals} (time constants are held "
                                f"there; at most {top:.4g})")  # fmt: skip
        if not numeric.shared_exponent:
            limit = numeric.max_fan_in(numeric.weights.frac)
            fan_in = (
                max(self.fan_ins)
                if self.rule == "gle"
                else max(self.n_inputs + self.n_hidden, self.n_hidden)
            )
            if fan_in > limit:
                raise SpecError(
                    f"{name}: a hidden neuron sums {fan_in} products, more than the "
                    f"{numeric.acc_bits}-bit accumulator holds without overflow ({limit}); "
                    "use fewer units or a wider acc="
                )

    def hyper(self, name: str) -> Any:
        if name not in HYPER_BY_NAME:
            raise SpecError(f"unknown hyper-parameter {name!r}")
        if name in self.params:
            return self.params[name]
        value = HYPER_BY_NAME[name].default_for(self.rule, self.numeric.fixed)
        if name == "anp_scale" and value is None:
            value = math.sqrt(self.n_inputs + self.n_hidden + self.n_outputs)
        if name == "learning_rate" and self.rule == "anp" and self.numeric.fixed:
            # ANP's update grows with the width (its gain is sqrt(N)); with plain SGD
            # at 0.003, DANP in fixed16 saturated its states from n = 300 on (test MSE
            # 64 on Mackey-Glass) and learned at 0.3 / n (docs/scaling.md).
            value = min(value, FIXED_ANP_RATE_TIMES_N / self.n_hidden)
        if name == "tau_learning_rate" and value is None:
            # A recurrent layer needs fixed time constants (_check_gle).
            value = 0.0 if self.hyper("recurrent") == 1 else 0.005
        return value

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """GLE: widths of the input, each hidden layer and the output."""
        if self.rule != "gle":
            return (self.n_inputs, self.n_hidden, self.n_outputs)
        return (self.n_inputs,) + (self.n_hidden,) * self.hyper("layers") + (self.n_outputs,)

    @property
    def fan_ins(self) -> tuple[int, ...]:
        """GLE: each layer's presynaptic inputs, the layer below's rates plus,
        for a recurrent hidden layer, its own."""
        sizes = self.layer_sizes
        recurrent = self.rule == "gle" and self.hyper("recurrent") == 1
        last = len(sizes) - 2
        return tuple(sizes[k] + (sizes[k + 1] if recurrent and k < last else 0)
                     for k in range(len(sizes) - 1))  # fmt: skip

    @property
    def n_neurons(self) -> int:
        """Neurons that hold state: hidden and output."""
        return sum(self.layer_sizes[1:])

    @property
    def n_params(self) -> int:
        """Weights and biases (GLE's time constants are counted apart)."""
        if self.rule == "gle":
            sizes, fan_ins = self.layer_sizes, self.fan_ins
            return sum(sizes[k + 1] * (fan_ins[k] + 1) for k in range(len(sizes) - 1))
        n, i, o = self.n_hidden, self.n_inputs, self.n_outputs
        inverse = n * n + n if self.rule == "tptt" else 0  # V_h, c_h
        return n * i + n * n + o * n + n + o + inverse

    @property
    def time_local(self) -> bool:
        return self.rule != "bptt"

    @property
    def name(self) -> str:
        """The rule's usual name: DANP for ANP with decorrelation, and so on."""
        if self.rule == "bptt":
            return "BPTT+decorrelation" if self.decorrelate else "BPTT"
        return ("D" if self.decorrelate else "") + self.rule.upper()

    def kernel_hyper(self) -> KernelHyper:
        sigma = float(self.hyper("sigma")) if self.rule in HYPER_BY_NAME["sigma"].rules else 1.0
        return KernelHyper(
            rule=RULE_CODES[self.rule],
            loss=LOSSES[self.loss],
            optimizer=OPTIMIZERS[self.hyper("optimizer")],
            seed=self.seed,
            learning_rate=float(self.hyper("learning_rate")),
            sigma=sigma,
            decorrelation_rate=self._float_or_zero("decorrelation_rate"),
            anp_scale=self._float_or_zero("anp_scale"),
            anp_floor=self._float_or_zero("anp_floor"),
            adam_beta1=self._float_or_zero("adam_beta1"),
            adam_beta2=self._float_or_zero("adam_beta2"),
            adam_eps=self._float_or_zero("adam_eps"),
            resync_every=int(self.hyper("resync_every")) if self.rule in PERTURBATION_RULES else 0,
            **self._gle_kernel_hyper(),
            **self._target_kernel_hyper(),
        )

    def _target_kernel_hyper(self) -> dict:
        names = ("target_step", "readout_rate", "inverse_rate", "norm_clip", "regularize")
        values = {name: self._float_or_zero(name) for name in names}
        values["inverse_warmup"] = int(self._float_or_zero("inverse_warmup"))
        values["decay_every"] = int(self._float_or_zero("decay_every"))
        values["decay_factor"] = self._float_or_zero("decay_factor") or 1.0
        values["decay_after"] = int(self._float_or_zero("decay_after"))
        values["linear"] = int(self._float_or_zero("linear"))
        values["decay_inverse"] = int(self._float_or_zero("decay_inverse"))
        values["average"] = int(self._float_or_zero("average"))
        values["update_oldest"] = int(
            self.rule in TARGET_RULES and self.hyper("update") == "oldest"
        )
        local = self.hyper("local_loss") if self.rule == "lra" else "mse"
        values["local_loss"] = LOCAL_LOSSES.index(local)
        return values

    def _gle_kernel_hyper(self) -> dict:
        names = ("dt", "beta", "gamma", "tau_learning_rate", "tau_min", "tau_max")
        if self.rule != "gle":
            return {name: 0.0 for name in names}
        return {name: float(self.hyper(name)) for name in names}

    def _float_or_zero(self, name: str) -> float:
        """A hyper-parameter the kernels read, or 0 where it does not apply."""
        if self.rule not in HYPER_BY_NAME[name].rules:
            return 0.0
        return float(self.hyper(name))

    def retuned(self, changes: dict) -> NetworkSpec:
        """This spec with other learning rates or another rate schedule (the
        tunable hyper-parameters, ``TUNABLE``): what a learned network may
        change and stay the same network, e.g. a lower rate when resuming.
        Every other hyper-parameter is part of what the network is."""
        fixed = sorted(name for name in changes if name in HYPER_BY_NAME and name not in TUNABLE)
        if fixed:
            raise SpecError(
                f"{', '.join(fixed)} cannot change on a learned network (it would be another "
                f"network); only the learning rates and their schedule can: {', '.join(TUNABLE)}"
            )
        return dataclasses.replace(self, params={**self.params, **changes})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> NetworkSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise SpecError(f"unknown network spec field(s): {', '.join(sorted(unknown))}")
        return cls(**data)


def _check_param(rule: str, name: str, value: Any) -> Any:
    """Validate one hyper-parameter override; strings (from the CLI) are parsed."""
    if name not in HYPER_BY_NAME:
        raise SpecError(
            f"unknown hyper-parameter {name!r}; `timelocal rules` lists them: "
            f"{', '.join(HYPER_BY_NAME)}"
        )
    hp = HYPER_BY_NAME[name]
    if rule not in hp.rules:
        raise SpecError(f"hyper-parameter {name!r} does not apply to rule {rule!r}")
    try:
        if hp.kind is int:
            if isinstance(value, str):
                value = int(value)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError
        elif hp.kind is float:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError
        else:
            value = str(value)
    except (TypeError, ValueError):
        raise SpecError(
            f"hyper-parameter {name} must be {hp.kind.__name__}, got {value!r}"
        ) from None
    if hp.minimum is not None and value < hp.minimum:
        raise SpecError(f"hyper-parameter {name} must be >= {hp.minimum}, got {value!r}")
    return value
