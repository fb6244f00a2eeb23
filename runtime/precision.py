"""Precisions: float32/float64, or a set of integer formats per class of
quantity (ALGORITHMS.md §4; DESIGN.md principle 5).

``fixed16``: 16-bit weights (12 fraction bits) and states (12), 32-bit
accumulators; errors (loss differences) and learning signals in 32-bit
registers with 24 fraction bits. ``loihi8``: 8-bit weight mantissas with a
shared exponent per matrix (chosen at initialisation from the matrix's
largest entry and then fixed, like a Loihi 2 synapse group's weight exponent),
24-bit states (16 fraction bits), 40-bit accumulators (a 24-bit state times
an 8-bit weight needs 31 bits before the sum). User formats:
``fixed:w=16.12,a=16.12,e=32.24,g=32.24,acc=32[,rounding=nearest][,shared=1]``.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import numpy as np
from timelocal.kernels import numeric
from timelocal.runtime.errors import SpecError

FLOATS = ("float64", "float32")
CLASSES = {"w": "weights", "a": "states", "e": "errors", "g": "signals"}
ROUNDINGS = ("stochastic", "nearest")


@dataclass(frozen=True)
class Format:
    """A signed integer format: ``bits`` of storage, ``frac`` fraction bits."""

    bits: int
    frac: int

    @property
    def lo(self) -> int:
        return -(2 ** (self.bits - 1))

    @property
    def hi(self) -> int:
        return 2 ** (self.bits - 1) - 1

    @property
    def dtype(self) -> str:
        """The host's storage type (24 bits are held in int32)."""
        for width in (8, 16, 32, 64):
            if self.bits <= width:
                return f"int{width}"
        raise SpecError(f"a format of {self.bits} bits is wider than 64")

    def __str__(self) -> str:
        return f"{self.bits}.{self.frac}"


@dataclass(frozen=True)
class Precision:
    """A named precision. Float precisions have no formats."""

    name: str
    float_dtype: str | None = None
    weights: Format | None = None
    states: Format | None = None
    errors: Format | None = None
    signals: Format | None = None
    acc_bits: int = 32
    shared_exponent: bool = False
    rounding: str = "stochastic"

    @property
    def fixed(self) -> bool:
        return self.float_dtype is None

    @property
    def state_dtype(self) -> str:
        return self.float_dtype or self.states.dtype

    @property
    def weight_dtype(self) -> str:
        return self.float_dtype or self.weights.dtype

    @property
    def work_dtype(self) -> str:
        """Scratch rows hold states and wider intermediates (64-bit in fixed point)."""
        return self.float_dtype or "int64"

    def describe(self) -> str:
        if not self.fixed:
            return f"IEEE {self.float_dtype}"
        weights = (f"{self.weights.bits}-bit mantissa, shared exponent per matrix"
                   if self.shared_exponent else f"{self.weights}")  # fmt: skip
        return (f"weights {weights}; states {self.states}; errors {self.errors}; "
                f"signals {self.signals}; accumulators {self.acc_bits} bits; "
                f"{self.rounding} rounding of weight changes")  # fmt: skip

    def max_fan_in(self, weight_frac: int, state_bound: int | None = None) -> int:
        """Largest number of products a pre-activation sums without leaving the
        accumulator: each product (|w| <= 2^(wbits-1), |x| <= state_bound)
        shifted right by ``weight_frac`` bits (rounded), plus the bias."""
        bound = state_bound if state_bound is not None else -self.states.lo
        term = ((-self.weights.lo) * bound + (1 << weight_frac >> 1)) >> weight_frac
        return (2 ** (self.acc_bits - 1) - 1) // max(term, 1) - 1

    def weight_fracs(self, matrices: list[np.ndarray]) -> np.ndarray:
        """Fraction bits of A, R, B, b, c, D: the format's, or (shared exponent)
        per matrix the most that hold twice its largest entry."""
        return self.layer_fracs(matrices, numeric.N_WEIGHT_FRACS)

    def layer_fracs(self, matrices: list[np.ndarray], count: int | None = None) -> np.ndarray:
        """Fraction bits of each of ``matrices`` (``count`` of them: empty
        ones padding the list): the format's, or (shared exponent) the most
        that hold twice the matrix's largest entry."""
        count = len(matrices) if count is None else count
        if not self.fixed:
            return np.zeros(count, np.int64)
        fracs = np.full(count, self.weights.frac, np.int64)
        if self.shared_exponent:
            for k, matrix in enumerate(matrices):
                largest = float(np.max(np.abs(matrix))) if matrix.size else 0.0
                if largest > 0:
                    fracs[k] = min(self.weights.frac + 8,
                                   math.floor(math.log2(self.weights.hi / (2 * largest))))  # fmt: skip
        return fracs

    def kernel_record(self, sigma: float) -> tuple:
        """The record the kernels are compiled for (kernels/numeric.py)."""
        if not self.fixed:
            return numeric.FloatNumeric(bits=64 if self.float_dtype == "float64" else 32)
        a, e, g, w = self.states, self.errors, self.signals, self.weights
        if a.frac < 5:
            raise SpecError("the state format needs at least 5 fraction bits (tanh table)")
        return numeric.FixedNumeric(
            w_lo=w.lo, w_hi=w.hi, a_frac=a.frac, a_lo=a.lo, a_hi=a.hi,
            e_frac=e.frac, e_lo=e.lo, e_hi=e.hi, g_frac=g.frac, g_lo=g.lo, g_hi=g.hi,
            stochastic=self.rounding == "stochastic",
            tanh_table=numeric.tanh_table(a.frac), tanh_shift=a.frac - 5,
            noise_gain=noise_gain(sigma, a.frac),
        )  # fmt: skip

    def tanh_max_error(self) -> float:
        """Largest |table(x) - tanh(x)| over every state value in [-8, 8], in real units."""
        a = self.states.frac
        values = np.arange(-(8 << a), (8 << a) + 1, dtype=np.int64)
        approx = numeric.tanh_fixed_array(numeric.tanh_table(a), a - 5, values)
        return float(np.max(np.abs(approx * 2.0**-a - np.tanh(values * 2.0**-a))))


def noise_gain(sigma: float, a_frac: int) -> int:
    """Multiplier that scales the centred sum of four 16-bit uniforms to sigma
    in state units (see numeric.gaussian_fixed); its variance is stated by
    ``noise_std``."""
    return int(numeric.noise_gain(sigma, a_frac))


def noise_std(sigma: float, a_frac: int) -> float:
    """The standard deviation (real units) the integer noise actually has."""
    return (
        noise_gain(sigma, a_frac) * numeric.SUM4_STD * 2.0**-numeric.NOISE_GAIN_BITS * 2.0**-a_frac
    )


PRESETS = {
    "float64": Precision("float64", float_dtype="float64"),
    "float32": Precision("float32", float_dtype="float32"),
    "fixed16": Precision("fixed16", weights=Format(16, 12), states=Format(16, 12),
                         errors=Format(32, 24), signals=Format(32, 24), acc_bits=32),
    "loihi8": Precision("loihi8", weights=Format(8, 7), states=Format(24, 16),
                        errors=Format(32, 24), signals=Format(32, 24), acc_bits=40,
                        shared_exponent=True),
}  # fmt: skip

_FIELD = re.compile(r"^(\d+)\.(\d+)$")


@functools.lru_cache(maxsize=64)
def parse_precision(text: str) -> Precision:
    """A preset name, or ``fixed:`` followed by comma-separated settings:
    w=, a=, e=, g= (BITS.FRAC), acc= (bits), rounding= (stochastic|nearest),
    shared= (0|1: shared exponent per weight matrix). Unset classes take
    fixed16's formats."""
    name = text.strip()
    if name in PRESETS:
        return PRESETS[name]
    if not name.startswith("fixed:"):
        raise SpecError(f"unknown precision {text!r}; choose one of {', '.join(PRESETS)}, "
                        "or fixed:w=16.12,a=16.12,e=32.24,g=32.24,acc=32")  # fmt: skip
    base = PRESETS["fixed16"]
    settings = {"weights": base.weights, "states": base.states, "errors": base.errors,
                "signals": base.signals, "acc_bits": base.acc_bits, "rounding": base.rounding,
                "shared_exponent": False}  # fmt: skip
    for item in filter(None, (part.strip() for part in name[len("fixed:") :].split(","))):
        key, _, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if key in CLASSES:
            match = _FIELD.match(value)
            if not match:
                raise SpecError(f"precision field {key}={value!r}: expected BITS.FRAC, e.g. 16.12")
            bits, frac = int(match[1]), int(match[2])
            if not (2 <= bits <= 32 and 0 <= frac < bits + 16):
                raise SpecError(f"precision field {key}={value}: bits must be 2..32 and "
                                "fraction bits 0..bits+15")  # fmt: skip
            settings[CLASSES[key]] = Format(bits, frac)
        elif key == "acc":
            if not value.isdigit() or not 16 <= int(value) <= 48:
                raise SpecError(f"precision field acc={value!r}: accumulator bits must be 16..48")
            settings["acc_bits"] = int(value)
        elif key == "rounding":
            if value not in ROUNDINGS:
                raise SpecError(f"precision field rounding={value!r}: choose "
                                f"{' or '.join(ROUNDINGS)}")  # fmt: skip
            settings["rounding"] = value
        elif key == "shared":
            if value not in ("0", "1"):
                raise SpecError(f"precision field shared={value!r}: 0 or 1")
            settings["shared_exponent"] = value == "1"
        else:
            raise SpecError(f"unknown precision field {key!r}; fields are w, a, e, g "
                            "(BITS.FRAC), acc, rounding, shared")  # fmt: skip
    return Precision(name, **settings)
