import numpy as np
from timelocal.kernels.codes import N_COUNTERS
from timelocal.kernels.decorrelation import decorrelation_update, mean_squared_offdiagonal
from timelocal.kernels.numeric import FloatNumeric

from tests.helpers import make_network
from tests.reference import ReferenceNetwork

FLOAT = FloatNumeric(64)
NO_FRACS = np.zeros(6, np.int64)
COUNTERS = np.zeros(N_COUNTERS, np.int64)


def test_update_equals_the_matrix_form_of_eq6():
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 30):
        D = np.eye(n) + 0.1 * rng.standard_normal((n, n))
        x = rng.standard_normal(n)
        x[0] = 0.0  # a silent unit takes the shortcut
        expected = D - 0.05 * (np.outer(x, x) - np.diag(x**2)) @ D
        decorrelation_update(FLOAT, D, NO_FRACS, x, 0.05, np.zeros(n), 0, 0, COUNTERS)
        np.testing.assert_allclose(D, expected, rtol=0, atol=1e-12)


def test_mean_squared_offdiagonal():
    m = np.array([[1.0, 0.5, -0.2], [0.5, 1.0, 0.0], [-0.2, 0.0, 1.0]])
    assert mean_squared_offdiagonal(m) == np.mean([0.25, 0.04, 0.25, 0.04, 0.0, 0.0])
    assert mean_squared_offdiagonal(np.ones((1, 1))) == 0.0


def _offdiagonal_correlation(samples):
    c = np.corrcoef(samples.T)
    n = c.shape[0]
    return float((c[~np.eye(n, dtype=bool)] ** 2).mean())


def test_decorrelation_removes_correlation_of_correlated_input():
    rng = np.random.default_rng(1)
    n = 10
    mixing = np.eye(n) + 0.6 * rng.standard_normal((n, n)) / np.sqrt(n) + 0.4
    inputs = rng.standard_normal((40_000, n)) @ mixing.T * 0.3
    D = np.eye(n)
    scratch, drates = np.zeros(n), np.zeros(n)
    before = _offdiagonal_correlation(inputs[-5000:])
    for x in inputs:
        drates[:] = D @ x
        decorrelation_update(FLOAT, D, NO_FRACS, drates, 2e-3, scratch, 0, 0, COUNTERS)
    after = _offdiagonal_correlation(inputs[-5000:] @ D.T)
    assert before > 0.1
    assert after < before / 10
    assert np.isfinite(D).all() and np.abs(D).max() < 100


def test_reference_network_shares_the_rule():
    net = make_network("anp", decorrelate=True)
    ref = ReferenceNetwork(net.spec, net.state)
    x = np.linspace(-0.5, 0.5, 6)
    ref.decorrelation_step(x)
    expected = np.eye(6) - net.spec.hyper("decorrelation_rate") * (np.outer(x, x) - np.diag(x**2))
    np.testing.assert_allclose(ref.D, expected, atol=1e-15)
