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
  reproducible) or to nearest, as the precision says.
- tanh is a piecewise-linear table over [0, 8) with odd symmetry.
- Gaussian noise is a scaled sum of four 16-bit uniforms from one hash.

The counting build (the profiler's check, runtime/profile.py): the records
``CountingFloatNumeric`` and ``CountingFixedNumeric`` carry an ``ops`` array,
and every primitive adds what it does to it by kind (codes.O_*). The same rule
kernels compiled for a counting record count their own operations; for the
plain records ``tally`` is empty and compiles away.
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
from timelocal.kernels.rng import counter_hash, gaussian, mix64

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


@overload(tally, inline="always")
def _tally(num, kind, amount):
    if counting_type(num):

        def impl(num, kind, amount):
            num.ops[kind] += amount

        return impl
    return lambda num, kind, amount: None


def zero(num):
    """The accumulator's zero (no operation)."""


@overload(zero, inline="always")
def _zero(num):
    if fixed_type(num):
        return lambda num: np.int64(0)
    return lambda num: 0


@njit(cache=True)
def _shift_round(value, shift):
    """value * 2^-shift rounded to nearest (ties up); a negative shift scales up."""
    if shift <= 0:
        return value << -shift
    return (value + (np.int64(1) << (shift - 1))) >> shift


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


@overload(mul, inline="always")
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


@overload(mac, inline="always")
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


@overload(read, inline="always")
def _read(num, value):
    def impl(num, value):
        tally(num, O_READ, 1)
        return value

    return impl


def synapse(num, acc, weight, x, shift):
    """``mac`` whose first factor is read from weight memory (counted as a
    weight read too): acc + weight * x."""


@overload(synapse, inline="always")
def _synapse(num, acc, weight, x, shift):
    def impl(num, acc, weight, x, shift):
        tally(num, O_READ, 1)
        return mac(num, acc, weight, x, shift)

    return impl


def add(num, x, y):
    """x + y (same format)."""


@overload(add, inline="always")
def _add(num, x, y):
    def impl(num, x, y):
        tally(num, O_ADD, 1)
        return x + y

    return impl


def sub(num, x, y):
    """x - y (same format)."""


@overload(sub, inline="always")
def _sub(num, x, y):
    def impl(num, x, y):
        tally(num, O_ADD, 1)
        return x - y

    return impl


def above(num, x, threshold):
    """x > threshold (a compare)."""


@overload(above, inline="always")
def _above(num, x, threshold):
    def impl(num, x, threshold):
        tally(num, O_SELECT, 1)
        return x > threshold

    return impl


def maximum(num, x, y):
    """max(x, y) (a compare and select)."""


@overload(maximum, inline="always")
def _maximum(num, x, y):
    def impl(num, x, y):
        tally(num, O_SELECT, 1)
        return max(x, y)

    return impl


def minimum(num, x, y):
    """min(x, y) (a compare and select)."""


@overload(minimum, inline="always")
def _minimum(num, x, y):
    def impl(num, x, y):
        tally(num, O_SELECT, 1)
        return min(x, y)

    return impl


def exponential(num, x):
    """exp(x) (float only: softmax)."""


@overload(exponential, inline="always")
def _exponential(num, x):
    def impl(num, x):
        tally(num, O_LOOKUP, 1)
        return np.exp(x)

    return impl


def logarithm(num, x):
    """log(x) (float only: cross-entropy)."""


@overload(logarithm, inline="always")
def _logarithm(num, x):
    def impl(num, x):
        tally(num, O_LOOKUP, 1)
        return np.log(x)

    return impl


def root(num, x):
    """sqrt(x) (float only: Adam), counted with the divisions."""


@overload(root, inline="always")
def _root(num, x):
    def impl(num, x):
        tally(num, O_DIV, 1)
        return np.sqrt(x)

    return impl


def square_root(num, x, frac):
    """sqrt(x) of a non-negative value with ``frac`` fraction bits, in the
    same format (fixed point: the exact integer floor square root, no
    floating point), counted with the divisions."""


@overload(square_root, inline="always")
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


@overload(rescale, inline="always")
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


@overload(divide, inline="always")
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


@overload(constant, inline="always")
def _constant(num, value, frac):
    if fixed_type(num):
        return lambda num, value, frac: np.int64(np.round(value * 2.0**frac))
    return lambda num, value, frac: value


def store_state(num, value, counters):
    """A value stored as a state (saturating in fixed point)."""


@overload(store_state, inline="always")
def _store_state(num, value, counters):
    if fixed_type(num):

        def fixed(num, value, counters):
            tally(num, O_SELECT, 1)
            return _saturate(value, num.a_lo, num.a_hi, counters, C_SAT_STATES)

        return fixed
    return lambda num, value, counters: value


def store_error(num, value, counters):
    """A value stored as an error (saturating in fixed point)."""


@overload(store_error, inline="always")
def _store_error(num, value, counters):
    if fixed_type(num):

        def fixed(num, value, counters):
            tally(num, O_SELECT, 1)
            return _saturate(value, num.e_lo, num.e_hi, counters, C_SAT_ERRORS)

        return fixed
    return lambda num, value, counters: value


def store_signal(num, value, counters):
    """A value stored as a learning signal (saturating in fixed point)."""


@overload(store_signal, inline="always")
def _store_signal(num, value, counters):
    if fixed_type(num):

        def fixed(num, value, counters):
            tally(num, O_SELECT, 1)
            return _saturate(value, num.g_lo, num.g_hi, counters, C_SAT_SIGNALS)

        return fixed
    return lambda num, value, counters: value


def store_weight(num, value, counters):
    """A value stored as a weight (saturating in fixed point)."""


@overload(store_weight, inline="always")
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


@overload(activation, inline="always")
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


@overload(noise, inline="always")
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


@overload(_tally_gaussian, inline="always")
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


@overload(weight_noise_scale, inline="always")
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


@overload(weight_noise, inline="always")
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


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def round_change(change, shift, stochastic, key, index):
    """A weight change with ``shift`` extra fraction bits, in weight units:
    stochastic (add a uniform in [0, 2^shift) before the floor shift: unbiased,
    and keeps changes smaller than one unit alive) or to nearest. The uniform
    is mix64(key + index * golden): ``key`` is one counter hash per row."""
    if shift <= 0:
        return change << -shift
    if stochastic:
        mask = (np.uint64(1) << np.uint64(shift)) - np.uint64(1)
        bits = mix64(key + np.uint64(index) * _GOLDEN)
        return (change + np.int64(bits & mask)) >> shift
    return _shift_round(change, shift)


def rounding_key(num, seed, step, row):
    """The per-row key of stochastic rounding's uniforms (float: unused, 0)."""


@overload(rounding_key, inline="always")
def _rounding_key(num, seed, step, row):
    if fixed_type(num):

        def fixed(num, seed, step, row):
            if num.stochastic:
                tally(num, O_RANDOM, 1)
            return counter_hash(seed, ROUNDING, step, row)

        return fixed
    return lambda num, seed, step, row: np.uint64(0)


def add_change(num, weight, change, shift, key, index, counters):
    """weight + change; in fixed point ``change`` has ``shift`` more fraction
    bits than the weight and is rounded once (``key``, ``index``: the uniform
    of stochastic rounding), then the sum saturates."""


@overload(add_change, inline="always")
def _add_change(num, weight, change, shift, key, index, counters):
    if fixed_type(num):

        def impl(num, weight, change, shift, key, index, counters):
            tally(num, O_READ, 1)
            tally(num, O_ADD, 1)
            tally(num, O_SHIFT, 1)
            tally(num, O_SELECT, 1)
            tally(num, O_WRITE, 1)
            if num.stochastic:
                tally(num, O_RANDOM, 1)
            rounded = round_change(np.int64(change), shift, num.stochastic, key, index)
            return _saturate(np.int64(weight) + rounded, num.w_lo, num.w_hi, counters,
                             C_SAT_WEIGHTS)  # fmt: skip

        return impl

    def impl_float(num, weight, change, shift, key, index, counters):
        tally(num, O_READ, 1)
        tally(num, O_ADD, 1)
        tally(num, O_WRITE, 1)
        return weight + change

    return impl_float


def to_real(num, value, frac):
    """The real number a stored value stands for (float: itself)."""


@overload(to_real, inline="always")
def _to_real(num, value, frac):
    if fixed_type(num):
        return lambda num, value, frac: np.float64(value) * 2.0**-frac
    return lambda num, value, frac: np.float64(value)


def from_real(num, value, counters):
    """A real sample value (input or target) as a state, rounded and saturated."""


@overload(from_real, inline="always")
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


@overload(state_frac, inline="always")
def _state_frac(num):
    if fixed_type(num):
        return lambda num: num.a_frac
    return lambda num: 0


def error_frac(num):
    """Fraction bits of errors (0 in float)."""


@overload(error_frac, inline="always")
def _error_frac(num):
    if fixed_type(num):
        return lambda num: num.e_frac
    return lambda num: 0


def signal_frac(num):
    """Fraction bits of learning signals (0 in float)."""


@overload(signal_frac, inline="always")
def _signal_frac(num):
    if fixed_type(num):
        return lambda num: num.g_frac
    return lambda num: 0


# Extra fraction bits kept by a weight change before its one rounding.
WIDE = 16


def multiplier(num, factor):
    """A real factor (a learning rate, a gain) as what ``scaled`` multiplies
    by: float: the factor itself; fixed: a 16-bit mantissa and a shift."""


@overload(multiplier, inline="always")
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


@overload(scaled, inline="always")
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
