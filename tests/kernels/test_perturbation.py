"""NP, ANP, WP (with and without decorrelation) against the NumPy reference,
and their mean updates against the true gradient."""

import numpy as np
import pytest
from timelocal.kernels import codes
from timelocal.kernels.perturbation import perturbation_train_step

from tests.helpers import make_network, sample_data
from tests.reference import ReferenceNetwork, one_step_gradient

CASES = [
    (rule, decorrelate, loss, optimizer)
    for rule in ("np", "anp", "wp")
    for decorrelate in (False, True)
    for loss, optimizer in (("mse", "sgd"), ("xent", "adam"))
]


@pytest.mark.parametrize("rule,decorrelate,loss,optimizer", CASES)
def test_train_steps_match_reference(rule, decorrelate, loss, optimizer):
    lr = {"np": 1e-3, "anp": 1e-2, "wp": 1e-4}[rule]
    net = make_network(rule, n_in=3, n_hidden=5, n_out=3, decorrelate=decorrelate, loss=loss,
                       optimizer=optimizer, learning_rate=lr, sigma=1e-2,
                       decorrelation_rate=1e-2, resync_every=17)  # fmt: skip
    ref = ReferenceNetwork(net.spec, {k: v.copy() for k, v in net.state.items()})
    inputs, targets = sample_data(60, 3, 3, loss=loss, missing_every=7)
    result = net.learn(inputs, targets)
    for t in range(60):
        target = None if np.isnan(targets[t]).all() else targets[t]
        loss_t, y = ref.train_step(inputs[t], target)
        np.testing.assert_allclose(result.outputs[t], y, rtol=0, atol=1e-12)
        if target is None:
            assert np.isnan(result.loss[t])
        else:
            assert abs(result.loss[t] - loss_t) <= 1e-12 * max(1, abs(loss_t))
    np.testing.assert_allclose(net.state["params"], ref.flat, rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.state["drates"], ref.x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.state["noisy_drates"], ref.xn, rtol=0, atol=1e-12)
    if decorrelate:
        np.testing.assert_allclose(net.state["decorrelation"], ref.D, rtol=0, atol=1e-12)
    assert net.steps_trained == 60


def _mean_estimate(rule, draws, n_out=2, **params):
    """Mean gradient estimate over ``draws`` noise draws, all from one fixed
    state with the noisy copy equal to the clean one; and the true gradient.
    (Adam with learning rate 0: the estimate lands in ``grads``, the weights
    stay put; plain SGD would add it to the weights directly.)"""
    net = make_network(rule, n_in=3, n_hidden=8, n_out=n_out, learning_rate=0.0,
                       optimizer="adam", **params)  # fmt: skip
    rng = np.random.default_rng(1)
    start = np.tanh(rng.standard_normal(8))
    u = rng.standard_normal(3)
    target = rng.standard_normal(n_out)
    s = net.state
    grads, work = net.target.scratch["grads"], net.target.scratch["work"]
    total = np.zeros_like(grads)
    for draw in range(draws):
        s["drates"][:] = start
        s["noisy_drates"][:] = start
        s["counters"][codes.C_STEP] = draw
        perturbation_train_step(
            net.target.numeric, net.target.hyper, s["params"], s["weight_fracs"], grads, s["moment1"], s["moment2"],
            s["decorrelation"], s["drates"], s["noisy_drates"], s["counters"], work, u, target,
            True, 3, 8, n_out,
        )  # fmt: skip
        total += grads
    ref = ReferenceNetwork(net.spec, {k: v.copy() for k, v in s.items()})
    ref.x = start
    return total / draws, one_step_gradient(ref, u, target)


def _cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _layers(vector, n_in=3, n=8, n_out=2):
    """(hidden-layer part: A, R, b; output-layer part: B, c) of a flat vector."""
    a, r, bo = n * n_in, n * n, n_out * n
    hidden = np.concatenate([vector[: a + r], vector[a + r + bo : a + r + bo + n]])
    output = np.concatenate([vector[a + r : a + r + bo], vector[a + r + bo + n :]])
    return hidden, output


def test_np_mean_update_follows_the_true_gradient():
    mean, true = _mean_estimate("np", 10_000, sigma=1e-4)
    assert _cosine(mean, true) > 0.9
    for part_mean, part_true in zip(_layers(mean), _layers(true), strict=True):
        assert _cosine(part_mean, part_true) > 0.9
    # sigma^-2 makes the estimate unbiased: the scale matches too.
    assert 0.8 < np.linalg.norm(mean) / np.linalg.norm(true) < 1.2


def test_anp_mean_update_follows_the_true_gradient_per_layer():
    # ANP normalises per layer, so each layer's mean points along that layer's
    # gradient (the scales of the layers differ: compare layer by layer).
    mean, true = _mean_estimate("anp", 2_000, sigma=1e-4)
    for part_mean, part_true in zip(_layers(mean), _layers(true), strict=True):
        assert _cosine(part_mean, part_true) > 0.95


def test_anp_output_estimate_has_lower_variance_than_np():
    # With few draws, ANP's output-layer estimate (the measured d beta, which
    # carries the hidden noise too) is far closer to the gradient than NP's.
    np_mean, true = _mean_estimate("np", 100, sigma=1e-4)
    anp_mean, _ = _mean_estimate("anp", 100, sigma=1e-4)
    true_output = _layers(true)[1]
    anp_cos = _cosine(_layers(anp_mean)[1], true_output)
    np_cos = _cosine(_layers(np_mean)[1], true_output)
    assert anp_cos > 0.999
    assert 1 - anp_cos < 0.2 * (1 - np_cos)


def test_anp_output_update_is_the_directional_derivative():
    # One output: d beta / ||d beta||^2 * dl is the exact derivative to first order.
    mean, true = _mean_estimate("anp", 200, n_out=1, sigma=1e-5, anp_scale=1.0)
    _, out_mean = _layers(mean, n_out=1)
    _, out_true = _layers(true, n_out=1)
    np.testing.assert_allclose(out_mean, out_true, rtol=1e-3, atol=1e-8)


def test_wp_mean_update_follows_the_true_gradient():
    mean, true = _mean_estimate("wp", 10_000, sigma=1e-4)
    assert _cosine(mean, true) > 0.9
    assert 0.7 < np.linalg.norm(mean) / np.linalg.norm(true) < 1.3


def test_anp_floor_skips_and_counts():
    net = make_network("anp", n_in=2, n_hidden=4, n_out=1, anp_floor=1e300)
    before = net.state["params"].copy()
    inputs, targets = sample_data(20, 2, 1)
    net.learn(inputs, targets)
    np.testing.assert_array_equal(net.state["params"], before)
    assert net.anp_skipped == 40  # both layers, every step


def test_steps_without_target_learn_only_decorrelation():
    net = make_network("np", decorrelate=True, decorrelation_rate=1e-2)
    params = net.state["params"].copy()
    decorrelation = net.state["decorrelation"].copy()
    inputs, _ = sample_data(30, 2, 2)
    net.learn(inputs)
    np.testing.assert_array_equal(net.state["params"], params)
    assert not np.array_equal(net.state["decorrelation"], decorrelation)
