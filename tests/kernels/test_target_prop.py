"""Target propagation (ALGORITHMS.md §3): TPTT and LRA-diff against the NumPy
reference, the learned step inverse, TPTT's targets against the true
gradient in the linear case, the window's fixed memory, and fixed point."""

import numpy as np
import pytest
from timelocal import Network, NetworkSpec
from timelocal.runtime.errors import SpecError, TimelocalError
from timelocal.runtime.state import state_layout, weights

from tests.helpers import polyak_average, sample_data
from tests.reference import ReferenceTargetProp


def tp_network(rule, n_in=3, n_hidden=6, n_out=3, *, precision="float64", loss="mse", seed=5,
               **params) -> Network:  # fmt: skip
    spec = NetworkSpec(rule, n_in, n_out, n_hidden=n_hidden, loss=loss, precision=precision,
                       seed=seed, params=params)  # fmt: skip
    return Network(spec)


def reference_of(net: Network) -> ReferenceTargetProp:
    views = weights(net.spec, net.state["params"])
    return ReferenceTargetProp(net.spec, views, step=net.steps_trained)


CASES = [
    ("tptt", "mse", {"inverse_warmup": 20}),
    ("tptt", "xent", {"inverse_warmup": 0, "sigma": 0.3}),
    ("lra", "mse", {"update": "window"}),
    ("tptt", "mse", {"inverse_warmup": 10, "update": "oldest"}),
    ("lra", "xent", {"update": "oldest", "regularize": 0.3}),
    ("lra", "xent", {"local_loss": "log", "norm_clip": 0.05}),
    ("lra", "mse", {"regularize": 0.5, "norm_clip": 0.2}),
    # (a smaller learning rate: at 0.2 this run is chaotic, rounding grows 1e5x in 100 steps)
    ("lra", "xent", {"regularize": 0.3, "local_loss": "log", "learning_rate": 0.05}),
    # learning_rate and readout_rate step down (the warm-up counts as learning steps)
    ("tptt", "xent", {"inverse_warmup": 20, "decay_every": 40, "decay_factor": 0.3}),
    # ... and the step inverse's rate with them
    (
        "tptt",
        "mse",
        {
            "inverse_warmup": 20,
            "decay_every": 30,
            "decay_factor": 0.3,
            "decay_inverse": 1,
            "inverse_rate": 0.5,
        },
    ),
    ("lra", "mse", {"regularize": 0.5, "decay_every": 25, "decay_factor": 0.5}),
    # the first step-down after decay_after + decay_every learning steps
    ("lra", "xent", {"decay_every": 30, "decay_factor": 0.4, "decay_after": 45}),
]


@pytest.mark.parametrize("rule,loss,params", CASES)
def test_steps_match_reference(rule, loss, params):
    settings = {"learning_rate": 0.2, "readout_rate": 0.1, "target_step": 0.7} | params
    net = tp_network(rule, loss=loss, window=4, **settings)
    ref = reference_of(net)
    inputs, targets = sample_data(150, 3, 3, loss=loss, missing_every=5)
    reset = np.zeros(150, bool)
    reset[[0, 37, 38, 90]] = True  # sequences of every length, one of a single step
    result = net.learn(inputs, targets, reset=reset)
    for t in range(150):
        target = None if np.isnan(targets[t]).all() else targets[t]
        y, loss_t = ref.step(inputs[t], target, reset[t])
        np.testing.assert_allclose(result.outputs[t], y, rtol=0, atol=1e-12)
        if target is None:
            assert np.isnan(result.loss[t])
        else:
            # (1e-11: the kernel's cross-entropy is -log softmax, the reference's log_softmax)
            assert abs(result.loss[t] - loss_t) <= 1e-11 * max(1.0, abs(loss_t))
    views = weights(net.spec, net.state["params"])
    for name, value in ref.W.items():
        np.testing.assert_allclose(views[name], value, rtol=0, atol=1e-12, err_msg=name)
    # Every matrix learned (the test compares something that moved).
    start = weights(net.spec, tp_network(rule, loss=loss, window=4, **params).state["params"])
    for name in ref.W:
        assert np.abs(views[name] - start[name]).max() > 1e-6, name


def test_predict_empties_the_window_and_learning_resumes_from_the_hidden_state():
    net = tp_network("tptt", window=4, inverse_warmup=0)
    ref = reference_of(net)
    inputs, targets = sample_data(60, 3, 3)
    net.learn(inputs[:20], targets[:20])
    for t in range(20):
        ref.step(inputs[t], targets[t])
    net.predict(inputs[20:30])
    assert net.state["window_position"][1] == 0
    for t in range(20, 30):  # the reference runs forward only
        ref.h = ref.F(inputs[t], ref.h)
    ref.window.clear()
    result = net.learn(inputs[30:], targets[30:])
    outputs = [ref.step(inputs[t], targets[t])[0] for t in range(30, 60)]
    np.testing.assert_allclose(result.outputs, outputs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("rule", ["tptt", "lra"])
def test_average_is_the_mean_then_the_moving_average_of_the_weights(rule):
    horizon, steps = 25, 90
    settings = {"window": 4, "learning_rate": 0.2, "readout_rate": 0.1, "target_step": 0.7}
    if rule == "tptt":
        settings["inverse_warmup"] = 5
    net = tp_network(rule, average=horizon, **settings)
    plain = tp_network(rule, **settings)
    inputs, targets = sample_data(steps, 3, 3, missing_every=7)
    net.learn(inputs, targets)
    # The same learning, one step at a time: the weights after every step.
    expected = polyak_average(plain, inputs, targets, horizon)
    # Averaging leaves learning as it was, and keeps the NumPy recurrence.
    np.testing.assert_array_equal(net.state["params"], plain.state["params"])
    np.testing.assert_allclose(net.state["average"], expected, rtol=0, atol=1e-12)
    assert np.abs(net.state["average"] - net.state["params"]).max() > 1e-3


def test_predicting_runs_on_the_averaged_weights():
    net = tp_network("tptt", window=4, inverse_warmup=0, learning_rate=0.2, average=30)
    inputs, targets = sample_data(120, 3, 3)
    net.learn(inputs[:100], targets[:100])
    on_average = tp_network("tptt", window=4)
    on_average.state["params"][:] = net.state["average"]
    on_params = tp_network("tptt", window=4)
    on_params.state["params"][:] = net.state["params"]
    reset = np.zeros(20, bool)
    reset[0] = True
    outputs = {name: other.predict(inputs[100:], targets[100:], reset=reset).outputs
               for name, other in (("net", net), ("average", on_average),
                                   ("params", on_params))}  # fmt: skip
    np.testing.assert_array_equal(outputs["net"], outputs["average"])
    assert np.abs(outputs["net"] - outputs["params"]).max() > 1e-6
    # The averaged weights as a network of their own (to deploy them).
    deployed = net.averaged()
    assert "average" not in deployed.spec.params and deployed.state["average"].size == 0
    np.testing.assert_array_equal(deployed.state["params"], net.state["average"])
    assert deployed.steps_trained == net.steps_trained
    np.testing.assert_array_equal(
        deployed.predict(inputs[100:], reset=reset).outputs, outputs["net"]
    )
    with pytest.raises(TimelocalError, match="keeps no moving average"):
        on_params.averaged()
    # The last weights as a network of their own; a network without an
    # average (TPTT's without -p average, a perturbation rule's) copies.
    last = net.unaveraged()
    assert "average" not in last.spec.params and last.state["average"].size == 0
    np.testing.assert_array_equal(
        last.predict(inputs[100:], reset=reset).outputs, outputs["params"]
    )
    for plain in (on_params, Network(NetworkSpec("np", 3, 3, n_hidden=4))):
        copy = plain.unaveraged()
        assert sorted(copy.state) == sorted(plain.state)
        np.testing.assert_array_equal(copy.state["params"], plain.state["params"])
    # Predicting leaves both the weights and their average as they were.
    before = net.state["average"].copy(), net.state["params"].copy()
    net.predict(inputs[100:], reset=reset)
    np.testing.assert_array_equal(net.state["average"], before[0])
    np.testing.assert_array_equal(net.state["params"], before[1])


def reconstruction_error(net: Network, inputs: np.ndarray) -> float:
    """Mean ||G(x_t, h_t) - h_{t-1}||^2 / ||h_{t-1}||^2 along the network's own
    trajectory on ``inputs`` (the weights fixed)."""
    W = net.real_weights
    h = np.zeros(net.spec.n_hidden)
    errors = []
    for x in inputs:
        new = np.tanh(W["W_xh"] @ x + W["W_h"] @ h + W["b_h"])
        rebuilt = np.tanh(W["V_h"] @ new + W["W_xh"] @ x + W["c_h"])
        errors.append(np.sum((rebuilt - h) ** 2) / max(np.sum(h**2), 1e-12))
        h = new
    return float(np.mean(errors[1:]))


@pytest.mark.parametrize("precision", ["float64", "fixed16"])
def test_inverse_learns_to_invert_the_step(precision):
    # Only G learns (the forward weights are frozen by the warm-up), on a
    # random input stream; its reconstruction error on fresh data falls >= 10x.
    # (Its floor, ~0.14 of ||h||^2 here, comes from G sharing W_xh with F, as
    # Eq. 17 has it: G cannot subtract the input's drive. It rises with the
    # input's share of the drive: 0.22 at recurrent_scale 0.9.)
    net = tp_network("tptt", n_in=4, n_hidden=16, n_out=2, precision=precision, window=1,
                     inverse_warmup=10**9, inverse_rate=0.05, sigma=0.05, input_scale=0.3,
                     recurrent_scale=0.7)  # fmt: skip
    rng = np.random.default_rng(1)
    held_out = rng.uniform(-1, 1, (300, 4))
    before = reconstruction_error(net, held_out)
    frozen = weights(net.spec, net.state["params"])["W_h"].copy()
    net.learn(rng.uniform(-1, 1, (10000, 4)), np.full((10000, 2), np.nan))
    after = reconstruction_error(net, held_out)
    assert before / after >= 10, (before, after)
    np.testing.assert_array_equal(weights(net.spec, net.state["params"])["W_h"], frozen)


def test_linear_targets_follow_the_true_gradient():
    # A linear network (phi = identity) with an orthogonal W_h, whose inverse
    # has been learned: with K equal to the sequence length, the target shift
    # h_hat_tau - h_tau of every step points along -dE/dh_tau, E the summed
    # losses of the steps tau..T (BPTT's total derivative). The theory: the
    # shift is o_tau + V (h_hat_{tau+1} - h_{tau+1}), BPTT's is o_tau + W_h^T
    # (...), and V = W_h^-1 = W_h^T for an orthogonal W_h.
    n_in, n, n_out, steps = 3, 12, 2, 10
    net = tp_network("tptt", n_in, n, n_out, window=steps, linear=1, learning_rate=0.0,
                     readout_rate=0.0, inverse_rate=0.02, inverse_warmup=0, sigma=0.3,
                     target_step=0.1)  # fmt: skip
    # The inverse learns from the denoising noise alone (zero inputs, a new
    # sequence each step): with inputs, G's shared W_xh biases its fit.
    net.learn(np.zeros((3000, n_in)), np.full((3000, n_out), np.nan), reset=np.ones(3000, bool))
    W = weights(net.spec, net.state["params"])
    assert np.abs(W["V_h"] @ W["W_h"] - np.eye(n)).max() < 0.05
    rng = np.random.default_rng(2)
    inputs = 0.3 * rng.standard_normal((steps, n_in))
    targets = rng.standard_normal((steps, n_out))
    reset = np.zeros(steps, bool)
    reset[0] = True
    result = net.learn(inputs, targets, reset=reset, record_rates=True)
    W = weights(net.spec, net.state["params"])
    hidden, outputs = result.rates, result.outputs
    goals = net.target.scratch["window_rows"][0]  # merged targets, oldest first
    later = np.zeros(n)
    for tau in range(steps - 1, -1, -1):
        gradient = W["W_hy"].T @ (2 * (outputs[tau] - targets[tau])) + W["W_h"].T @ later
        later = gradient
        shift = goals[tau] - hidden[tau]
        cosine = -shift @ gradient / (np.linalg.norm(shift) * np.linalg.norm(gradient))
        assert cosine > 0.9, (tau, cosine)


@pytest.mark.parametrize("rule", ["tptt", "lra"])
def test_window_memory_does_not_grow_with_the_stream(rule):
    def state_bytes(net):
        return sum(array.nbytes for array in net.state.values())

    net = tp_network(rule, window=5)
    allocated = state_bytes(net)
    assert allocated == sum(a.nbytes for a in state_layout(net.spec))
    inputs, targets = sample_data(3000, 3, 3)
    for chunk in range(3):
        net.learn(
            inputs[chunk * 1000 : (chunk + 1) * 1000], targets[chunk * 1000 : (chunk + 1) * 1000]
        )
        assert state_bytes(net) == allocated
        assert net.state["window_position"][1] == 5
    # ... and grows linearly with K: K (n_in + 2 n) states and K flags.
    wider = tp_network(rule, window=15)
    per_entry = (3 + 2 * 6) * 8 + 1
    assert state_bytes(wider) - allocated == 10 * per_entry


@pytest.mark.parametrize("rule,params", [("tptt", {"inverse_warmup": 30, "decay_every": 50}),
                                         ("lra", {"regularize": 0.5})])  # fmt: skip
# (fixed16 only: loihi8 runs the same code on int8 weights, and each storage
# type is another compile of the kernels, ~40 s.)
@pytest.mark.parametrize("precision", ["fixed16"])
def test_fixed_point_is_deterministic_and_resumes_exactly(rule, params, precision, tmp_path):
    inputs, targets = sample_data(200, 3, 3)
    whole = tp_network(rule, precision=precision, window=4, **params)
    whole.learn(inputs, targets)
    again = tp_network(rule, precision=precision, window=4, **params)
    again.learn(inputs[:90], targets[:90])
    again.save(tmp_path / "half.npz")
    resumed = Network.load(tmp_path / "half.npz")
    resumed.learn(inputs[90:], targets[90:])
    for name, array in whole.state.items():
        np.testing.assert_array_equal(resumed.state[name], array, err_msg=name)
    assert whole.state["params"].dtype.kind == "i"


@pytest.mark.parametrize("rule", ["tptt", "lra"])
def test_fixed16_learns_like_float(rule):
    inputs, targets = sample_data(3000, 3, 3)
    losses = {}
    params = {"inverse_warmup": 200} if rule == "tptt" else {}
    for precision in ("float64", "fixed16"):
        net = tp_network(rule, precision=precision, window=4, learning_rate=0.05,
                         readout_rate=0.05, **params)  # fmt: skip
        result = net.learn(inputs, targets)
        losses[precision] = (np.nanmean(result.loss[:200]), np.nanmean(result.loss[-500:]))
    assert losses["float64"][1] < losses["float64"][0] / 3
    assert losses["fixed16"][1] < 1.25 * losses["float64"][1] + 1e-3, losses


def test_spec_refuses_what_the_rules_do_not_have():
    with pytest.raises(SpecError, match="no decorrelation"):
        NetworkSpec("tptt", 2, 2, decorrelate=True)
    with pytest.raises(SpecError, match="optimizer=sgd"):
        NetworkSpec("lra", 2, 2, params={"optimizer": "adam"})
    with pytest.raises(SpecError, match="unknown local_loss 'huber'"):
        NetworkSpec("lra", 2, 2, params={"local_loss": "huber"})
    with pytest.raises(SpecError, match="does not apply to rule 'lra'"):
        NetworkSpec("lra", 2, 2, params={"inverse_rate": 0.1})
    with pytest.raises(SpecError, match="decay_inverse is 0"):
        NetworkSpec("tptt", 2, 2, params={"decay_inverse": 2})
    with pytest.raises(SpecError, match=r"decay_factor must be in \(0, 1\], got 1.5"):
        NetworkSpec("tptt", 2, 2, params={"decay_every": 10, "decay_factor": 1.5})
    with pytest.raises(SpecError, match="does not apply to rule 'gle'"):
        NetworkSpec("gle", 2, 2, params={"decay_inverse": 1})
    with pytest.raises(SpecError, match=r"GLE: decay_factor must be in \(0, 1\], got 0.0"):
        NetworkSpec("gle", 2, 2, params={"decay_every": 10, "decay_factor": 0.0})
    with pytest.raises(SpecError, match="fixed point .fixed16. keeps no moving average"):
        NetworkSpec("tptt", 2, 2, precision="fixed16", params={"average": 100})
    with pytest.raises(SpecError, match="does not apply to rule 'anp'"):
        NetworkSpec("anp", 2, 2, params={"average": 100})
    with pytest.raises(SpecError, match="window must be >= 1"):
        NetworkSpec("tptt", 2, 2, params={"window": 0})
    assert NetworkSpec("tptt", 2, 2).n_params == NetworkSpec("lra", 2, 2).n_params + 100 * 101
