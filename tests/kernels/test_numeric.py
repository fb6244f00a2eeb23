"""Fixed-point primitives against exact integer arithmetic (hypothesis), the
stated tanh and noise accuracy, the accumulator bound, and bit-exact runs."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from timelocal import Network, NetworkSpec
from timelocal.kernels import codes, numeric
from timelocal.kernels.rng import counter_hash
from timelocal.runtime.errors import SpecError
from timelocal.runtime.precision import PRESETS, Format, noise_std, parse_precision

from tests.helpers import sample_data

RECORD = PRESETS["fixed16"].kernel_record(1e-3)
NEAREST = parse_precision("fixed:rounding=nearest").kernel_record(1e-3)
INT32 = st.integers(-(2**31), 2**31 - 1)


@njit
def _mul(num, x, y, shift):
    return numeric.mul(num, x, y, shift)


@njit
def _store_state(num, value, counters):
    return numeric.store_state(num, value, counters)


@njit
def _divide(num, a, b, shift):
    return numeric.divide(num, a, b, shift)


@njit
def _add_change(num, weight, change, shift, key, index, counters):
    return numeric.add_change(num, weight, change, shift, key, index, counters)


@njit
def _square_root(num, x, frac):
    return numeric.square_root(num, x, frac)


def nearest(value: int, shift: int) -> int:
    """Exact round-to-nearest, ties toward +infinity, of value / 2^shift."""
    return (value + (1 << (shift - 1))) >> shift if shift > 0 else value << -shift


@settings(max_examples=300, deadline=None)
@given(INT32, INT32, st.integers(0, 30))
def test_mul_is_the_rounded_exact_product(x, y, shift):
    assert _mul(RECORD, x, y, shift) == nearest(x * y, shift)


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**40), 2**40))
def test_store_saturates_at_both_ends_and_counts(value):
    counters = np.zeros(codes.N_COUNTERS, np.int64)
    stored = _store_state(RECORD, value, counters)
    fmt = PRESETS["fixed16"].states
    assert stored == min(max(value, fmt.lo), fmt.hi)
    assert counters[codes.C_SAT_STATES] == (1 if stored != value else 0)


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**31), 2**31), st.integers(1, 2**40), st.integers(0, 24))
def test_divide_rounds_the_exact_quotient_to_nearest(a, b, shift):
    got = _divide(RECORD, a, b, shift)
    exact = (a << shift) / b
    assert abs(got - exact) <= 0.5 + 1e-9


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**62 - 1), st.integers(0, 30))
def test_square_root_is_the_exact_integer_floor_root(x, frac):
    # sqrt of a value with frac fraction bits, in the same format: the floor of
    # sqrt(x 2^(frac mod 2)) times 2^(frac div 2), formed without overflow.
    root = _square_root(RECORD, x, frac)
    assert root == math.isqrt(x << (frac % 2)) << (frac // 2)
    if frac % 2 == 0:
        assert root**2 <= x << frac < (root + (1 << (frac // 2))) ** 2


@njit
def _rounded_over_steps(num, change, shift, row, index, steps):
    """One weight's stochastically rounded change at each of ``steps`` steps,
    with the keys the kernels use (one counter hash per row and step)."""
    counters = np.zeros(codes.N_COUNTERS, np.int64)
    out = np.empty(steps, np.int64)
    for t in range(steps):
        key = numeric.rounding_key(num, 7, t, row)
        out[t] = numeric.add_change(num, 0, change, shift, key, index, counters)
    return out


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**15), 2**15 - 1), st.integers(-(2**40), 2**40), st.integers(-8, 40))
def test_nearest_weight_change_is_exact_and_saturates(weight, change, shift):
    counters = np.zeros(codes.N_COUNTERS, np.int64)
    got = _add_change(NEAREST, weight, change, shift, np.uint64(1), 0, counters)
    fmt = PRESETS["fixed16"].weights
    exact = weight + nearest(change, shift)
    assert got == min(max(exact, fmt.lo), fmt.hi)
    assert counters[codes.C_SAT_WEIGHTS] == (1 if got != exact else 0)


def test_stochastic_rounding_is_unbiased_for_changes_below_one_unit():
    counters = np.zeros(codes.N_COUNTERS, np.int64)
    shift = 20
    for change in (1, 3 << 16, -(5 << 15), 123456):
        # 40 rows' keys (counter hashes, as the kernels draw them), 100 weights each.
        draws = [_add_change(RECORD, 0, change, shift, np.uint64(counter_hash(3, 4, 5, k)), j,
                             counters)
                 for k in range(40) for j in range(100)]  # fmt: skip
        mean = np.mean(draws)
        expected = change / 2**shift
        # 4000 draws of a value in {floor, floor + 1}: std of the mean <= 0.5 / sqrt(4000).
        assert abs(mean - expected) < 0.03, (change, mean, expected)
        assert set(draws) <= {np.floor(expected), np.floor(expected) + 1}


@pytest.mark.parametrize(("change", "shift"), [(3 << 16, 20), (-123456, 24), (5 << 34, 36)])
def test_each_weights_stochastic_rounding_is_unbiased_over_steps(change, shift):
    """The kernels' uniforms: per weight, a fresh one every step. Each of a few
    weights of two rows, over 4000 steps, rounds to its exact change on
    average (also beyond 32 extra bits, where the uniform has 32)."""
    expected = change / 2**shift
    for row in (0, 911):
        for index in (0, 1, 255, 70000):
            draws = _rounded_over_steps(RECORD, change, shift, row, index, 4000)
            assert set(draws) <= {np.floor(expected), np.floor(expected) + 1}
            # A value in {floor, floor + 1}: the mean's std is <= 0.5 / sqrt(4000) = 0.008.
            assert abs(draws.mean() - expected) < 0.035, (row, index, draws.mean(), expected)


@pytest.mark.parametrize("a_frac", [8, 12, 16])
def test_tanh_table_error_is_the_interpolation_error_plus_two_units(a_frac):
    precision = parse_precision(f"fixed:a={a_frac + 4}.{a_frac}")
    error = precision.tanh_max_error()
    # Interpolation over segments of 2^-5 (h^2 / 8 max|tanh''| = 9.4e-5) plus rounding.
    assert error <= 1.1e-4 + 2.0 * 2.0**-a_frac
    values = np.arange(0, (9 << a_frac), 7, dtype=np.int64)
    table = numeric.tanh_table(a_frac)
    got = numeric.tanh_fixed_array(table, a_frac - 5, values)
    np.testing.assert_array_equal(numeric.tanh_fixed_array(table, a_frac - 5, -values), -got)
    assert np.all(np.diff(got) >= 0)  # monotonic


def test_integer_noise_has_the_stated_variance():
    sigma, a_frac = 1e-3, 12
    gain = PRESETS["fixed16"].kernel_record(sigma).noise_gain
    draws = np.array([numeric.gaussian_fixed(7, 1, step, i, gain)
                      for step in range(40) for i in range(500)])  # fmt: skip
    stated = noise_std(sigma, a_frac) * 2.0**a_frac
    assert abs(noise_std(sigma, a_frac) - sigma) / sigma < 0.02  # the quantised gain
    assert abs(draws.std() - stated) / stated < 0.03
    assert abs(draws.mean()) < 0.05 * stated


@settings(max_examples=100, deadline=None)
@given(st.integers(4, 16), st.integers(4, 24), st.integers(24, 40), st.integers(0, 15))
def test_fan_in_bound_keeps_the_accumulator_from_overflowing(w_bits, a_bits, acc, frac):
    precision = parse_precision(f"fixed:w={w_bits}.{min(frac, w_bits + 8)},a={a_bits}.4,"
                                f"acc={acc}")  # fmt: skip
    frac = precision.weights.frac
    limit = precision.max_fan_in(frac)
    cap = 2 ** (acc - 1) - 1
    term = max(nearest((-precision.weights.lo) * (-precision.states.lo), frac), 1)
    # A bias and `limit` products, each at its worst, fit in acc bits; one more
    # product might not (the bound is tight).
    assert (limit + 1) * term <= cap
    assert (limit + 2) * term > cap


def test_spec_refuses_what_fixed_point_does_not_do():
    with pytest.raises(SpecError, match="BPTT is the float reference"):
        NetworkSpec("bptt", 1, 1, precision="fixed16")
    with pytest.raises(SpecError, match="mse loss only"):
        NetworkSpec("anp", 1, 3, loss="xent", precision="fixed16")
    with pytest.raises(SpecError, match="plain SGD"):
        NetworkSpec("anp", 1, 1, precision="fixed16", params={"optimizer": "adam"})
    with pytest.raises(SpecError, match="accumulator"):
        NetworkSpec("anp", 1, 1, n_hidden=9000, precision="fixed16")
    with pytest.raises(SpecError, match="unknown precision"):
        NetworkSpec("anp", 1, 1, precision="fixed8")
    assert NetworkSpec("anp", 1, 1, precision="fixed16").hyper("optimizer") == "sgd"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_precision_parser_accepts_or_explains(text):
    try:
        precision = parse_precision("fixed:" + text)
    except SpecError as exc:
        assert str(exc)
    else:
        for fmt in (precision.weights, precision.states, precision.errors, precision.signals):
            assert isinstance(fmt, Format) and 2 <= fmt.bits <= 32


@pytest.mark.parametrize("precision", ["fixed16", "loihi8"])
def test_fixed_runs_are_bit_exact_repeated_and_resumed(precision, tmp_path):
    spec = NetworkSpec("anp", 2, 2, n_hidden=12, decorrelate=True, precision=precision, seed=5)
    inputs, targets = sample_data(600, 2, 2)
    one, two = Network(spec), Network(spec)
    assert one.state["params"].dtype == np.dtype(spec.numeric.weight_dtype)
    first = one.learn(inputs, targets)
    two.learn(inputs, targets)
    for name in one.state:
        np.testing.assert_array_equal(one.state[name], two.state[name])
    before = one.state["params"].copy()
    resumed = Network(spec)
    resumed.learn(inputs[:250], targets[:250])
    resumed.save(tmp_path / "half.npz")
    resumed = Network.load(tmp_path / "half.npz")
    rest = resumed.learn(inputs[250:], targets[250:])
    for name in one.state:
        np.testing.assert_array_equal(one.state[name], resumed.state[name])
    np.testing.assert_array_equal(first.loss[250:], rest.loss)
    assert not np.array_equal(before, Network(spec).state["params"])  # it learned


def test_fixed16_tracks_float_and_learns():
    inputs, targets = sample_data(6000, 2, 2)
    params = {"optimizer": "sgd", "learning_rate": 3e-3}
    results = {}
    for precision in ("float64", "fixed16"):
        spec = NetworkSpec("anp", 2, 2, n_hidden=16, precision=precision, seed=2, params=params)
        frozen = Network(NetworkSpec("anp", 2, 2, n_hidden=16, precision=precision, seed=2,
                                     params={**params, "learning_rate": 0.0}))  # fmt: skip
        results[precision] = Network(spec).learn(inputs, targets).loss[-1000:].mean()
        assert results[precision] < 0.8 * frozen.learn(inputs, targets).loss[-1000:].mean()
    assert results["fixed16"] < 1.5 * results["float64"]
