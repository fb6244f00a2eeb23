"""Numeric primitives: the only place where float and fixed point differ
(DESIGN.md principle 1 and 5; ALGORITHMS.md §4).

A rule kernel takes a ``num`` record and calls these primitives for every
multiply, store, activation, random draw and weight change. ``num`` is a
``FloatNumeric`` (the primitives are the plain float operations) or a
``FixedNumeric`` (integer storage, explicit fraction bits, saturation,
rounding that is stated); Numba compiles one version of the rule per record
type, so a rule is written once and the float version pays nothing.

Fixed point, as implemented here:

- Quantity classes: weights (per matrix fraction bits, so a shared exponent
  per matrix is the same code), states (inputs, pre-activations, rates,
  outputs, targets, noise), errors (the loss difference), learning signals
  (the per-neuron factor of a weight update, learning rate included).
- A product of two stored values is formed exactly (it fits the accumulator
  width: the precision checks the fan-in bound), then shifted right with
  round-to-nearest (ties toward +infinity). Sums accumulate such shifted
  products.
- Every store into a class saturates to the class's range and counts it
  (``counters[C_SAT_*]``).
- Weight changes are formed at full precision and rounded to the weight's
  unit once, stochastically (a counter-based uniform, so the run is
  reproducible) or to nearest, as the precision says. A loop over a matrix
  takes its rounding (``weight_rounding``) once and counts its saturated
  weights once (``count_weight_saturations``), so it vectorises.
- tanh is a piecewise-linear table over [0, 8) with odd symmetry.
- Gaussian noise is a scaled sum of four 16-bit uniforms from one hash.

The counting build (the profiler's check, runtime/profile.py): the records
``CountingFloatNumeric`` and ``CountingFixedNumeric`` carry an ``ops`` array,
and every primitive adds what it does to it by kind (codes.O_*). The same rule
kernels compiled for a counting record count their own operations; for the
plain records ``tally`` is empty and compiles away.

The primitives are ordinary overloads, not inlined in Numba's IR: LLVM
inlines them after linking (the same machine code), and the kernels compile
in about half the time (benchmarks/speed.py reports the start-up).
"""

import math
from collections import namedtuple

import numpy as np
from numba import njit, types
from numba.extending import overload
from timelocal.kernels.codes import (
    C_SAT_ERRORS,
    C_SAT_SIGNALS,
    C_SAT_STATES,
    C_SAT_WEIGHTS,
    N_OPS,
    O_ADD,
    O_DIV,
    O_LOOKUP,
    O_MAC,
    O_MUL,
    O_RANDOM,
    O_READ,
    O_SELECT,
    O_SHIFT,
    O_WRITE,
)
from timelocal.kernels.rng import counter_hash, gaussian

_LOW32 = np.uint64(0xFFFFFFFF)

# Random stream of the stochastic rounding of weight changes (see rng.py).
ROUNDING = 4

FloatNumeric = namedtuple("FloatNumeric", "bits")
_FIXED_FIELDS = (
    "w_lo w_hi a_frac a_lo a_hi e_frac e_lo e_hi g_frac g_lo g_hi stochastic "
    "tanh_table tanh_shift noise_gain"
)
FixedNumeric = namedtuple("FixedNumeric", _FIXED_FIELDS)
# The counting build: the same fields plus ``ops`` (int64, codes.N_OPS).
CountingFloatNumeric = namedtuple("CountingFloatNumeric", "bits ops")
CountingFixedNumeric = namedtuple("CountingFixedNumeric", _FIXED_FIELDS + " ops")

# Indices of the per-matrix weight fraction bits (state array ``weight_fracs``).
FRAC_A, FRAC_R, FRAC_B, FRAC_BIAS_H, FRAC_BIAS_O, FRAC_D = range(6)
N_WEIGHT_FRACS = 6

# Sum of four 16-bit uniforms, centred: its standard deviation.
SUM4_STD = float(np.sqrt(4 * ((2.0**16) ** 2 - 1) / 12.0))
NOISE_GAIN_BITS = 16
TANH_SEGMENTS_PER_UNIT = 32  # segment width 2^-5
TANH_RANGE = 8  # table covers |x| < 8; beyond, tanh rounds to +-1 at 16 fraction bits


def tanh_table(a_frac: int) -> np.ndarray:
    """Knots of the piecewise-linear tanh: tanh(k / 32) for k = 0 .. 256, in
    the state format (``a_frac`` fraction bits), rounded to nearest."""
    knots = np.arange(TANH_RANGE * TANH_SEGMENTS_PER_UNIT + 1) / TANH_SEGMENTS_PER_UNIT
    return np.round(np.tanh(knots) * 2.0**a_frac).astype(np.int64)


def fixed_type(num):
    """At typing time: is ``num``'s Numba type a fixed-point record?"""
    return isinstance(num, types.BaseNamedTuple) and num.instance_class in (
        FixedNumeric,
        CountingFixedNumeric,
    )


def counting_type(num):
    """At typing time: is ``num`` a record of the counting build?"""
    return isinstance(num, types.BaseNamedTuple) and num.instance_class in (
        CountingFloatNumeric,
        CountingFixedNumeric,
    )


def counting(record):
    """The counting-build twin of a numeric record, with a zeroed ``ops``."""
    ops = np.zeros(N_OPS, np.int64)
    if isinstance(record, FixedNumeric):
        return CountingFixedNumeric(*record, ops)
    return CountingFloatNumeric(record.bits, ops)


def tally(num, kind, amount):
    """Count ``amount`` operations of ``kind`` (counting build only)."""


@overload(tally)
def _tally(num, kind, amount):
    if counting_type(num):

        def impl(num, kind, amount):
            num.ops[kind] += amount

        return impl
    return lambda num, kind, amount: None


def zero(num):
    """The accumulator's zero (no operation)."""


@overload(zero)
def _zero(num):
    if fixed_type(num):
        return lambda num: np.int64(0)
    return lambda num: 0


@njit(cache=True)
def _shift_round(value, shift):
    """value * 2^-shift rounded to nearest (ties up); a negative shift scales
    up. No branch on the shift: in a loop, its selects are hoisted and the
    loop vectorises."""
    down = max(shift, 0)
    return ((value << max(-shift, 0)) + ((np.int64(1) << down) >> 1)) >> down


@njit(cache=True)
def _saturate(value, lo, hi, counters, which):
    if value > hi:
        counters[which] += 1
        return hi
    if value < lo:
        counters[which] += 1
        return lo
    return value


def mul(num, x, y, shift):
    """x * y: in fixed point, the exact product shifted right by ``shift``."""


@overload(mul)
def _mul(num, x, y, shift):
    if fixed_type(num):

        def fixed(num, x, y, shift):
            tally(num, O_MUL, 1)
            tally(num, O_SHIFT, 1)
            return _shift_round(np.int64(x) * np.int64(y), shift)

        return fixed

    def impl(num, x, y, shift):
        tally(num, O_MUL, 1)
        return x * y

    return impl


def mac(num, acc, x, y, shift):
    """acc + x * y (a multiply-accumulate; in fixed point the product is
    shifted right by ``shift``, rounded, before the add)."""


@overload(mac)
def _mac(num, acc, x, y, shift):
    if fixed_type(num):

        def fixed(num, acc, x, y, shift):
            tally(num, O_MAC, 1)
            tally(num, O_SHIFT, 1)
            return acc + _shift_round(np.int64(x) * np.int64(y), shift)

        return fixed

    def impl(num, acc, x, y, shift):
        tally(num, O_MAC, 1)
        return acc + x * y

    return impl


def read(num, value):
    """A weight (or optimiser state) read from memory: counted, unchanged."""


@overload(read)
def _read(num, value):
    def impl(num, value):
        tally(num, O_READ, 1)
        return value

    return impl


def synapse(num, acc, weight, x, shift):
    """``mac`` whose first factor is read from weight memory (counted as a
    weight read too): acc + weight * x."""


@overload(synapse)
def _synapse(num, acc, weight, x, shift):
    def impl(num, acc, weight, x, shift):
        tally(num, O_READ, 1)
        return mac(num, acc, weight, x, shift)

    return impl


def add(num, x, y):
    """x + y (same format)."""


@overload(add)
def _add(num, x, y):
    def impl(num, x, y):
        tally(num, O_ADD, 1)
        return x + y

    return impl


def sub(num, x, y):
    """x - y (same format)."""


@overload(sub)
def _sub(num, x, y):
    def impl(num, x, y):
        tally(num, O_ADD, 1)
        return x - y

    return impl


def above(num, x, threshold):
    """x > threshold (a compare)."""


@overload(above)
def _above(num, x, threshold):
    def impl(num, x, threshold):
        tally(num, O_SELECT, 1)
        return x > threshold

    return impl


def maximum(num, x, y):
    """max(x, y) (a compare and select)."""


@overload(maximum)
def _maximum(num, x, y):
    def impl(num, x, y):
        tally(num, O_SELECT, 1)
        return max(x, y)

    return impl


def minimum(num, x, y):
    """min(x, y) (a compare and select)."""


@overload(minimum)
def _minimum(num, x, y):
    def impl(num, x, y):
        tally(num, O_SELECT, 1)
        return min(x, y)

    return impl


def exponential(num, x):
    """exp(x) (float only: softmax)."""


@overload(exponential)
def _exponential(num, x):
    def impl(num, x):
        tally(num, O_LOOKUP, 1)
        return np.exp(x)

    return impl


def logarithm(num, x):
    """log(x) (float only: cross-entropy)."""


@overload(logarithm)
def _logarithm(num, x):
    def impl(num, x):
        tally(num, O_LOOKUP, 1)
        return np.log(x)

    return impl


def root(num, x):
    """sqrt(x) (float only: Adam), counted with the divisions."""


@overload(root)
def _root(num, x):
    def impl(num, x):
        tally(num, O_DIV, 1)
        return np.sqrt(x)

    return impl


def square_root(num, x, frac):
    """sqrt(x) of a non-negative value with ``frac`` fraction bits, in the
    same format (fixed point: the exact integer floor square root, no
    floating point), counted with the divisions."""


@overload(square_root)
def _square_root(num, x, frac):
    if fixed_type(num):

        def fixed(num, x, frac):
            tally(num, O_DIV, 1)
            # sqrt(x 2^frac) = sqrt(x 2^(frac mod 2)) 2^(frac div 2): no overflow
            # below 2^62 whatever frac is.
            return isqrt64(np.int64(x) << (frac % 2)) << (frac >> 1)

        return fixed

    def impl(num, x, frac):
        tally(num, O_DIV, 1)
        return np.sqrt(x)

    return impl


@njit(cache=True)
def isqrt64(x):
    """floor(sqrt(x)) of a non-negative int64, by Newton's iteration on integers."""
    if x <= 0:
        return np.int64(0)
    guess = np.int64(1) << ((64 - _leading_zeros(x)) // 2 + 1)
    while True:
        better = (guess + x // guess) >> 1
        if better >= guess:
            return guess
        guess = better


@njit(cache=True)
def _leading_zeros(x):
    count = 0
    probe = np.int64(1) << 62
    while probe > 0 and x < probe:
        probe >>= 1
        count += 1
    return count + 1


def rescale(num, value, shift):
    """A value moved to ``shift`` fewer fraction bits (float: unchanged)."""


@overload(rescale)
def _rescale(num, value, shift):
    if fixed_type(num):

        def fixed(num, value, shift):
            tally(num, O_SHIFT, 1)
            return _shift_round(np.int64(value), shift)

        return fixed
    return lambda num, value, shift: value


def divide(num, numerator, denominator, shift):
    """numerator / denominator; in fixed point with ``shift`` more fraction
    bits than numerator / denominator have, rounded to nearest."""


@overload(divide)
def _divide(num, numerator, denominator, shift):
    if fixed_type(num):

        def impl(num, numerator, denominator, shift):
            tally(num, O_DIV, 1)
            scaled = np.int64(numerator) << shift
            half = denominator >> 1
            if scaled >= 0:
                return (scaled + half) // denominator
            return -((-scaled + half) // denominator)

        return impl

    def impl_float(num, numerator, denominator, shift):
        tally(num, O_DIV, 1)
        return numerator / denominator

    return impl_float


def constant(num, value, frac):
    """A real constant (a hyper-parameter) in a format with ``frac`` fraction bits."""


@overload(constant)
def _constant(num, value, frac):
    if fixed_type(num):
        return lambda num, value, frac: np.int64(np.round(value * 2.0**frac))
    return lambda num, value, frac: value


def store_state(num, value, counters):
    """A value stored as a state (saturating in fixed point)."""


@overload(store_state)
def _store_state(num, value, counters):
    if fixed_type(num):

        def fixed(num, value, counters):
            tally(num, O_SELECT, 1)
            return _saturate(value, num.a_lo, num.a_hi, counters, C_SAT_STATES)

        return fixed
    return lambda num, value, counters: value


def store_error(num, value, counters):
    """A value stored as an error (saturating in fixed point)."""


@overload(store_error)
def _store_error(num, value, counters):
    if fixed_type(num):

        def fixed(num, value, counters):
            tally(num, O_SELECT, 1)
            return _saturate(value, num.e_lo, num.e_hi, counters, C_SAT_ERRORS)

        return fixed
    return lambda num, value, counters: value


def store_signal(num, value, counters):
    """A value stored as a learning signal (saturating in fixed point)."""


@overload(store_signal)
def _store_signal(num, value, counters):
    if fixed_type(num):

        def fixed(num, value, counters):
            tally(num, O_SELECT, 1)
            return _saturate(value, num.g_lo, num.g_hi, counters, C_SAT_SIGNALS)

        return fixed
    return lambda num, value, counters: value


def store_weight(num, value, counters):
    """A value stored as a weight (saturating in fixed point)."""


@overload(store_weight)
def _store_weight(num, value, counters):
    if fixed_type(num):

        def fixed(num, value, counters):
            tally(num, O_SELECT, 1)
            return _saturate(value, num.w_lo, num.w_hi, counters, C_SAT_WEIGHTS)

        return fixed
    return lambda num, value, counters: value


@njit(cache=True)
def tanh_fixed(table, segment_shift, value):
    """Piecewise-linear tanh of a state-format value, odd-symmetric."""
    magnitude = -value if value < 0 else value
    index = magnitude >> segment_shift
    last = table.shape[0] - 1
    if index >= last:
        result = table[last]
    else:
        within = magnitude - (index << segment_shift)
        slope = table[index + 1] - table[index]
        result = table[index] + _shift_round(slope * within, segment_shift)
    return -result if value < 0 else result


@njit(cache=True)
def tanh_fixed_array(table, segment_shift, values):
    """``tanh_fixed`` of every entry (tests and the stated maximum error)."""
    out = np.empty_like(values)
    for i in range(values.shape[0]):
        out[i] = tanh_fixed(table, segment_shift, values[i])
    return out


def activation(num, value):
    """phi = tanh: float tanh, or the piecewise-linear table."""


@overload(activation)
def _activation(num, value):
    if fixed_type(num):

        def fixed(num, value):
            tally(num, O_LOOKUP, 1)
            return tanh_fixed(num.tanh_table, num.tanh_shift, value)

        return fixed

    def impl(num, value):
        tally(num, O_LOOKUP, 1)
        return np.tanh(value)

    return impl


@njit(cache=True)
def gaussian_fixed(seed, stream, step, index, gain):
    """An integer approximately N(0, s^2): four 16-bit uniforms from one hash,
    summed and centred (std SUM4_STD), times ``gain`` / 2^16 with gain =
    round(s * 2^16 / SUM4_STD), rounded to nearest."""
    bits = counter_hash(seed, stream, step, index)
    total = np.int64(0)
    for k in range(4):
        total += np.int64((bits >> np.uint64(16 * k)) & np.uint64(0xFFFF))
    centred = 2 * total - 4 * 65535  # twice (sum - mean): stays an integer
    return _shift_round(centred * gain, NOISE_GAIN_BITS + 1)


def noise(num, seed, stream, step, index, sigma):
    """sigma * N(0, 1) in the state format (fixed: sigma is fixed in num)."""


@overload(noise)
def _noise(num, seed, stream, step, index, sigma):
    if fixed_type(num):

        def fixed(num, seed, stream, step, index, sigma):
            _tally_gaussian(num)
            return gaussian_fixed(seed, stream, step, index, num.noise_gain)

        return fixed

    def impl(num, seed, stream, step, index, sigma):
        _tally_gaussian(num)
        return sigma * gaussian(seed, stream, step, index)

    return impl


def _tally_gaussian(num):
    """One scaled Gaussian draw: the draw, the scaling (and its shift)."""


@overload(_tally_gaussian)
def _tally_gaussian_impl(num):
    fixed = fixed_type(num)

    def impl(num):
        tally(num, O_RANDOM, 1)
        tally(num, O_MUL, 1)
        if fixed:
            tally(num, O_SHIFT, 1)

    return impl


def weight_noise_scale(num, sigma, frac):
    """What ``weight_noise`` multiplies by, for weights with ``frac`` fraction
    bits: sigma (float), or the integer gain of ``gaussian_fixed``. Computed
    once per matrix, not per weight."""


@overload(weight_noise_scale)
def _weight_noise_scale(num, sigma, frac):
    if fixed_type(num):
        return lambda num, sigma, frac: noise_gain(sigma, frac)
    return lambda num, sigma, frac: sigma


@njit(cache=True)
def noise_gain(sigma, frac):
    """The gain of ``gaussian_fixed`` that gives std sigma in a format with
    ``frac`` fraction bits."""
    return np.int64(np.round(sigma * 2.0**frac * 2.0**NOISE_GAIN_BITS / SUM4_STD))


def weight_noise(num, seed, stream, step, index, scale):
    """sigma * N(0, 1) in a weight format; ``scale`` from ``weight_noise_scale``."""


@overload(weight_noise)
def _weight_noise(num, seed, stream, step, index, scale):
    if fixed_type(num):

        def fixed(num, seed, stream, step, index, scale):
            _tally_gaussian(num)
            return gaussian_fixed(seed, stream, step, index, scale)

        return fixed

    def impl(num, seed, stream, step, index, scale):
        _tally_gaussian(num)
        return scale * gaussian(seed, stream, step, index)

    return impl


def weight_rounding(num, shift):
    """How a weight change with ``shift`` more fraction bits than its weight
    is rounded and stored, worked out once for a loop over a matrix: (scale
    up, scale down, nearest's half unit, the uniform's two shifts, stochastic,
    the weight's lowest and highest value).

    Kept in the loop's own variables (not read from ``num`` inside it), and
    free of branches on the shift, the loop vectorises."""


@overload(weight_rounding)
def _weight_rounding(num, shift):
    if fixed_type(num):

        def fixed(num, shift):
            down = max(shift, 0)
            return (max(-shift, 0), down, (np.int64(1) << down) >> 1,
                    np.uint64(32 - min(down, 32)), max(down - 32, 0), num.stochastic,
                    np.int64(num.w_lo), np.int64(num.w_hi))  # fmt: skip

        return fixed
    return lambda num, shift: (0, 0, 0, np.uint64(0), 0, False, 0, 0)


@njit(cache=True)
def round_change(change, rounding, key, index):
    """A weight change in weight units (``rounding`` from ``weight_rounding``):
    stochastic (add a uniform in [0, 2^shift) before the floor shift: unbiased,
    and keeps changes smaller than one unit alive) or to nearest. A negative
    shift scales the change up.

    The uniform is the top ``shift`` bits of (offset + index * stride) mod
    2^32, where ``key``, a fresh counter hash per row and step, gives the
    offset (its low word) and the odd stride (its high word). Each weight's
    uniform is exactly uniform and independent from step to step; two
    weights of a row differ by a multiple of the stride, which is new every
    step, so their roundings are not tied to each other; and the loop over a
    row needs no multiply per weight (the stride is added). Beyond 32 extra
    bits the uniform's lowest ``shift - 32`` bits are zero: the rounding is
    then biased by less than 2^-32 of a weight unit."""
    up, down, half, uniform_down, uniform_up, stochastic, _, _ = rounding
    if stochastic:
        stride = (key >> np.uint64(32)) | np.uint64(1)
        bits = ((key + np.uint64(index) * stride) & _LOW32) >> np.uint64(uniform_down)
        offset = np.int64(bits) << uniform_up
    else:
        offset = half
    return ((change << up) + offset) >> down


def rounding_key(num, seed, step, row):
    """The per-row key of stochastic rounding's uniforms (float: unused, 0)."""


@overload(rounding_key)
def _rounding_key(num, seed, step, row):
    if fixed_type(num):

        def fixed(num, seed, step, row):
            if num.stochastic:
                tally(num, O_RANDOM, 1)
            return counter_hash(seed, ROUNDING, step, row)

        return fixed
    return lambda num, seed, step, row: np.uint64(0)


def change_weight(num, weight, change, rounding, key, index):
    """weight + change, and whether the sum saturated (1 or 0). In fixed point
    ``change`` has more fraction bits than the weight and is rounded once
    (``rounding`` from ``weight_rounding``; ``key``, ``index``: the uniform of
    stochastic rounding), then the sum saturates. A loop over a matrix sums
    the flags and counts them once (``count_weight_saturations``): with no
    other store than the weight's, the loop vectorises."""


@overload(change_weight)
def _change_weight(num, weight, change, rounding, key, index):
    if fixed_type(num):

        def impl(num, weight, change, rounding, key, index):
            tally(num, O_READ, 1)
            tally(num, O_ADD, 1)
            tally(num, O_SHIFT, 1)
            tally(num, O_SELECT, 1)
            tally(num, O_WRITE, 1)
            if rounding[5]:
                tally(num, O_RANDOM, 1)
            total = np.int64(weight) + round_change(np.int64(change), rounding, key, index)
            stored = min(max(total, rounding[6]), rounding[7])
            return stored, np.int64(stored != total)

        return impl

    def impl_float(num, weight, change, rounding, key, index):
        tally(num, O_READ, 1)
        tally(num, O_ADD, 1)
        tally(num, O_WRITE, 1)
        return weight + change, np.int64(0)

    return impl_float


@njit(cache=True)
def count_weight_saturations(counters, saturated):
    """Add a loop's count of saturated weight stores to the counters."""
    counters[C_SAT_WEIGHTS] += saturated


def add_change(num, weight, change, shift, key, index, counters):
    """``change_weight`` for a single weight: the saturation is counted here."""


@overload(add_change)
def _add_change(num, weight, change, shift, key, index, counters):
    def impl(num, weight, change, shift, key, index, counters):
        stored, saturated = change_weight(num, weight, change, weight_rounding(num, shift), key,
                                          index)  # fmt: skip
        counters[C_SAT_WEIGHTS] += saturated
        return stored

    return impl


def to_real(num, value, frac):
    """The real number a stored value stands for (float: itself)."""


@overload(to_real)
def _to_real(num, value, frac):
    if fixed_type(num):
        return lambda num, value, frac: np.float64(value) * 2.0**-frac
    return lambda num, value, frac: np.float64(value)


def from_real(num, value, counters):
    """A real sample value (input or target) as a state, rounded and saturated."""


@overload(from_real)
def _from_real(num, value, counters):
    if fixed_type(num):

        def impl(num, value, counters):
            scaled = np.round(value * 2.0**num.a_frac)
            if scaled > num.a_hi:
                counters[C_SAT_STATES] += 1
                return num.a_hi
            if scaled < num.a_lo:
                counters[C_SAT_STATES] += 1
                return num.a_lo
            return np.int64(scaled)

        return impl
    return lambda num, value, counters: value


def state_frac(num):
    """Fraction bits of states (0 in float: shifts are then ignored)."""


@overload(state_frac)
def _state_frac(num):
    if fixed_type(num):
        return lambda num: num.a_frac
    return lambda num: 0


def error_frac(num):
    """Fraction bits of errors (0 in float)."""


@overload(error_frac)
def _error_frac(num):
    if fixed_type(num):
        return lambda num: num.e_frac
    return lambda num: 0


def signal_frac(num):
    """Fraction bits of learning signals (0 in float)."""


@overload(signal_frac)
def _signal_frac(num):
    if fixed_type(num):
        return lambda num: num.g_frac
    return lambda num: 0


# Extra fraction bits kept by a weight change before its one rounding.
WIDE = 16


def multiplier(num, factor):
    """A real factor (a learning rate, a gain) as what ``scaled`` multiplies
    by: float: the factor itself; fixed: a 16-bit mantissa and a shift."""


@overload(multiplier)
def _multiplier(num, factor):
    if fixed_type(num):
        return lambda num, factor: fixed_multiplier(factor)
    return lambda num, factor: (factor, 0)


@njit(cache=True)
def fixed_multiplier(factor):
    """(mantissa, shift) with factor ~ mantissa * 2^-shift, |mantissa| < 2^15."""
    if factor == 0.0:
        return np.int64(0), 0
    mantissa, exponent = math.frexp(factor)  # factor = mantissa * 2^exponent, 0.5 <= |m| < 1
    return np.int64(np.round(mantissa * 2.0**14)), 14 - exponent


def scaled(num, value, mantissa, shift_of_factor, shift):
    """value * factor * 2^-shift (float: value * factor), rounded to nearest."""


@overload(scaled)
def _scaled(num, value, mantissa, shift_of_factor, shift):
    if fixed_type(num):

        def fixed(num, value, mantissa, shift_of_factor, shift):
            tally(num, O_MUL, 1)
            tally(num, O_SHIFT, 1)
            return _shift_round(np.int64(value) * mantissa, shift_of_factor + shift)

        return fixed

    def impl(num, value, mantissa, shift_of_factor, shift):
        tally(num, O_MUL, 1)
        return value * mantissa

    return impl
