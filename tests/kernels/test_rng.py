import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from timelocal.kernels import rng

from tests import reference

keys = st.tuples(
    st.integers(0, 2**63 - 1), st.integers(0, 7), st.integers(0, 2**40), st.integers(0, 2**31)
)


@given(keys)
def test_counter_hash_equals_integer_reference(key):
    assert int(rng.counter_hash(*key)) == reference.counter_hash(*key)


@given(keys)
def test_gaussian_equals_reference(key):
    assert rng.gaussian(*key) == reference.gaussian(*key)


def test_gaussian_moments_and_independence():
    draws = np.array([rng.gaussian(7, rng.HIDDEN_NOISE, step, i)
                      for step in range(200) for i in range(100)])  # fmt: skip
    assert abs(draws.mean()) < 0.03
    assert abs(draws.var() - 1.0) < 0.04
    assert abs(np.mean(draws**4) - 3.0) < 0.25  # Gaussian kurtosis
    pairs = draws.reshape(200, 100)
    assert abs(np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1]) < 0.2


def test_keys_separate_the_streams():
    a = [rng.gaussian(1, rng.HIDDEN_NOISE, 5, i) for i in range(50)]
    b = [rng.gaussian(1, rng.OUTPUT_NOISE, 5, i) for i in range(50)]
    c = [rng.gaussian(2, rng.HIDDEN_NOISE, 5, i) for i in range(50)]
    d = [rng.gaussian(1, rng.HIDDEN_NOISE, 6, i) for i in range(50)]
    assert len({tuple(a), tuple(b), tuple(c), tuple(d)}) == 4
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.5


def test_uniform_is_never_zero():
    assert rng.uniform_open(np.uint64(0)) > 0.0
    assert rng.uniform_open(np.uint64(2**64 - 1)) == 1.0
