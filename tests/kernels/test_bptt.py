"""BPTT (the offline reference): its window gradient against finite
differences, and whole runs against the NumPy reference."""

import numpy as np
import pytest

from tests.helpers import make_network, sample_data
from tests.reference import ReferenceNetwork, numeric_gradient


@pytest.mark.parametrize("loss", ["mse", "xent"])
@pytest.mark.parametrize("decorrelate", [False, True])
def test_reference_window_gradient_equals_finite_differences(loss, decorrelate):
    net = make_network("bptt", n_in=2, n_hidden=4, n_out=3, loss=loss, decorrelate=decorrelate)
    ref = ReferenceNetwork(net.spec, net.state)
    if decorrelate:
        ref.D = np.eye(4) + 0.1 * np.random.default_rng(2).standard_normal((4, 4))
    inputs, targets = sample_data(9, 2, 3, loss=loss, missing_every=4)
    steps = [(inputs[t], None if np.isnan(targets[t]).all() else targets[t], t == 5)
             for t in range(9)]  # fmt: skip
    start = np.tanh(np.arange(4) * 0.3 - 0.5)
    analytic, _ = ref.window_gradient(start, steps)
    numeric = numeric_gradient(lambda f: ref.window_loss(f, start, steps), ref.flat)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "decorrelate,loss,optimizer",
    [(False, "mse", "adam"), (True, "xent", "sgd"), (True, "mse", "adam")],
)
def test_bptt_run_matches_reference(decorrelate, loss, optimizer):  # fmt: skip
    net = make_network("bptt", n_in=3, n_hidden=5, n_out=3, loss=loss, decorrelate=decorrelate,
                       optimizer=optimizer, window=7, learning_rate=1e-2,
                       decorrelation_rate=1e-2)  # fmt: skip
    ref = ReferenceNetwork(net.spec, {k: v.copy() for k, v in net.state.items()})
    inputs, targets = sample_data(40, 3, 3, loss=loss, missing_every=6)
    reset = np.zeros(40, bool)
    reset[[0, 18]] = True
    result = net.learn(inputs, targets, reset=reset)
    for t in range(40):
        if reset[t]:
            ref.x = np.zeros(5)
        target = None if np.isnan(targets[t]).all() else targets[t]
        _, y = ref.bptt_step(inputs[t], target, bool(reset[t]))
        np.testing.assert_allclose(result.outputs[t], y, rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.state["params"], ref.flat, rtol=0, atol=1e-12)
    if decorrelate:
        np.testing.assert_allclose(net.state["decorrelation"], ref.D, rtol=0, atol=1e-12)
    assert net.state["counters"][1] == 5  # 40 steps, windows of 7: five updates


def test_bptt_state_grows_with_the_window_and_perturbation_state_does_not():
    short = make_network("bptt", window=10)
    long = make_network("bptt", window=1000)
    size = lambda net: sum(a.nbytes for a in net.state.values())  # noqa: E731
    assert size(long) > 20 * size(short)
    assert "window_inputs" not in make_network("anp").state
