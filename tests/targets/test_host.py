"""The host target: results do not depend on how the stream is chunked,
prediction does not learn, resets start sequences afresh."""

import numpy as np
import pytest

from tests.helpers import make_network, sample_data


@pytest.mark.parametrize("rule", ["np", "anp", "wp", "bptt"])
def test_chunking_does_not_change_results(rule):
    inputs, targets = sample_data(300, 2, 2, missing_every=11)
    reset = np.zeros(300, bool)
    reset[150] = True
    extra = {"window": 13} if rule == "bptt" else {}
    whole = make_network(rule, decorrelate=True, **extra)
    one = whole.learn(inputs, targets, reset=reset)
    pieces = make_network(rule, decorrelate=True, **extra)
    outputs, start = [], 0
    for size in [1, 7, 50, 1, 91, 150]:
        r = pieces.learn(inputs[start : start + size], targets[start : start + size],
                         reset=reset[start : start + size])  # fmt: skip
        outputs.append(r.outputs)
        start += size
    np.testing.assert_array_equal(np.concatenate(outputs), one.outputs)
    for name, array in whole.state.items():
        np.testing.assert_array_equal(pieces.state[name], array, err_msg=name)


def test_predict_does_not_learn():
    net = make_network("anp", decorrelate=True)
    before = {k: v.copy() for k, v in net.state.items()}
    inputs, targets = sample_data(50, 2, 2)
    result = net.predict(inputs, targets)
    assert np.isfinite(result.loss).all()
    for name in ("params", "decorrelation", "counters", "noisy_drates"):
        np.testing.assert_array_equal(net.state[name], before[name])
    assert not np.array_equal(net.state["drates"], before["drates"])


def test_reset_starts_from_zero_state():
    net = make_network("np")
    inputs, _ = sample_data(40, 2, 2)
    reset = np.zeros(40, bool)
    reset[20] = True
    with_reset = net.predict(inputs, reset=reset).outputs[20:]
    fresh = make_network("np")
    np.testing.assert_array_equal(fresh.predict(inputs[20:]).outputs, with_reset)


def test_float32_state_tracks_float64():
    inputs, targets = sample_data(200, 2, 2)
    a = make_network("anp", decorrelate=True)
    b = make_network("anp", decorrelate=True)
    b32 = type(b)(b.spec.__class__(**{**b.spec.to_dict(), "precision": "float32"}))
    ra = a.learn(inputs, targets)
    rb = b32.learn(inputs, targets)
    assert b32.state["params"].dtype == np.float32
    np.testing.assert_allclose(rb.outputs, ra.outputs, atol=1e-3)


@pytest.mark.parametrize(
    "rule,optimizer,lr",
    [("np", "sgd", 3e-4), ("anp", "sgd", 3e-3), ("anp", "adam", 1e-4), ("wp", "sgd", 3e-5)],
)
def test_learning_beats_the_same_network_frozen(rule, optimizer, lr):
    inputs, targets = sample_data(6000, 2, 2)
    frozen = make_network(rule, n_hidden=16, learning_rate=0.0).learn(inputs, targets)
    learned = make_network(rule, n_hidden=16, optimizer=optimizer, learning_rate=lr).learn(
        inputs, targets
    )
    assert learned.loss[-1000:].mean() < 0.8 * frozen.loss[-1000:].mean()
