import numpy as np
from timelocal.kernels.codes import OPT_ADAM, OPT_SGD
from timelocal.kernels.numeric import FloatNumeric
from timelocal.kernels.optim import apply_update

FLOAT = FloatNumeric(64)


def test_sgd():
    params = np.array([1.0, -2.0, 3.0])
    apply_update(FLOAT, params, np.array([0.5, 0.5, -1.0]), np.zeros(0), np.zeros(0), 1, OPT_SGD,
                 0.1, 0.9, 0.999, 1e-8)  # fmt: skip
    np.testing.assert_allclose(params, [0.95, -2.05, 3.1], atol=1e-15)


def test_adam_matches_reference_over_steps():
    rng = np.random.default_rng(0)
    params = rng.standard_normal(5)
    ref = params.copy()
    m1, m2 = np.zeros(5), np.zeros(5)
    rm1, rm2 = np.zeros(5), np.zeros(5)
    for t in range(1, 30):
        g = rng.standard_normal(5)
        apply_update(FLOAT, params, g, m1, m2, t, OPT_ADAM, 1e-2, 0.9, 0.999, 1e-8)
        rm1 = 0.9 * rm1 + 0.1 * g
        rm2 = 0.999 * rm2 + 0.001 * g * g
        ref -= 1e-2 * (rm1 / (1 - 0.9**t)) / (np.sqrt(rm2 / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(params, ref, rtol=0, atol=1e-12)
