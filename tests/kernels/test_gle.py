"""GLE (ALGORITHMS.md §2): the kernels against the NumPy reference, the LE
limit against backpropagation, fixed point against float, and seed 003's
teacher/student task."""

import numpy as np
import pytest
from timelocal import Network, NetworkSpec
from timelocal.runtime.errors import SpecError
from timelocal.runtime.state import weights
from timelocal.streams.registry import open_stream

from tests.helpers import polyak_average, sample_data
from tests.reference import ReferenceGLE, backprop_errors


def gle_network(n_in=3, n_hidden=5, n_out=2, layers=2, *, precision="float64", loss="mse",
                seed=4, **params) -> Network:  # fmt: skip
    spec = NetworkSpec("gle", n_in, n_out, n_hidden=n_hidden, loss=loss, precision=precision,
                       seed=seed, params={"layers": layers, **params})  # fmt: skip
    return Network(spec)


def reference_of(net: Network, **overrides) -> ReferenceGLE:
    spec = net.spec
    views = weights(spec, net.state["params"])
    n_layers = len(spec.layer_sizes) - 1
    kwargs = dict(dt=spec.hyper("dt"), beta=spec.hyper("beta"), gamma=spec.hyper("gamma"),
                  eta=spec.hyper("learning_rate"), eta_tau=spec.hyper("tau_learning_rate"),
                  tau_min=spec.hyper("tau_min"), tau_max=spec.hyper("tau_max"),
                  xent=spec.loss == "xent", recurrent=spec.hyper("recurrent") == 1,
                  linear_first=spec.hyper("linear") == 1,
                  decay=(spec.hyper("decay_every"), spec.hyper("decay_factor"),
                         spec.hyper("decay_after")))  # fmt: skip
    kwargs.update(overrides)
    return ReferenceGLE(spec.layer_sizes, [views[f"W{k}"] for k in range(1, n_layers + 1)],
                        [views[f"b{k}"] for k in range(1, n_layers + 1)], net.state["tau_m"],
                        net.state["tau_r"], **kwargs)  # fmt: skip


# decay: learning_rate x 0.4 after steps 70 and 110 (decay_after 40, decay_every 30).
DECAY = {"decay_every": 30, "decay_factor": 0.4, "decay_after": 40}


@pytest.mark.parametrize("loss,gamma,linear,decay", [("mse", 0.0, 0, {}), ("mse", 0.3, 0, DECAY),
                                                     ("xent", 0.0, 0, {}), ("xent", 0.0, 1, {})])  # fmt: skip
def test_steps_match_reference(loss, gamma, linear, decay):
    net = gle_network(loss=loss, gamma=gamma, learning_rate=0.5, tau_learning_rate=0.5,
                      tau_min=0.3, tau_max=1.5, lag_fraction=0.4, lag_tau=1.4,
                      linear=linear, **decay)  # fmt: skip
    rng = np.random.default_rng(0)
    net.state["tau_m"][:] = rng.uniform(0.4, 1.4, net.spec.n_neurons)
    net.state["tau_r"][:] = rng.uniform(0.4, 1.4, net.spec.n_neurons)
    start = net.state["tau_m"].copy()
    ref = reference_of(net)
    inputs, targets = sample_data(150, 3, 2, loss=loss, missing_every=7)
    result = net.learn(inputs, targets)
    for t in range(150):
        target = None if np.isnan(targets[t]).all() else targets[t]
        y, loss_t = ref.step(inputs[t], target)
        np.testing.assert_allclose(result.outputs[t], y, rtol=0, atol=1e-12)
        if target is None:
            assert np.isnan(result.loss[t])
        else:
            assert abs(result.loss[t] - loss_t) <= 1e-12 * max(1.0, abs(loss_t))
    views = weights(net.spec, net.state["params"])
    for k in range(3):
        np.testing.assert_allclose(views[f"W{k + 1}"], ref.W[k], rtol=0, atol=1e-12)
        np.testing.assert_allclose(views[f"b{k + 1}"], ref.b[k], rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.state["tau_m"], np.concatenate(ref.tau_m), rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.state["tau_r"], np.concatenate(ref.tau_r), rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.state["errors"], np.concatenate(ref.e), rtol=0, atol=1e-12)
    # The clip held, and the time constants did move.
    assert net.state["tau_m"].min() >= 0.3 and net.state["tau_r"].max() <= 1.5
    assert np.abs(net.state["tau_m"] - start).max() > 1e-3


@pytest.mark.parametrize("loss,recurrent,decay", [("mse", 0, {}), ("xent", 0, DECAY),
                                                  ("mse", 1, {})])  # fmt: skip
def test_adam_steps_match_reference(loss, recurrent, decay):
    """optimizer=adam: every Euler step, one Adam step of size eta per
    weight and bias from g = -dt e pre^T; the time constants keep their own
    rule."""
    tau = (
        {"tau_m": 0.7, "tau_r": 0.7, "tau_learning_rate": 0.0}
        if recurrent
        else {"tau_learning_rate": 0.5, "tau_min": 0.3, "tau_max": 1.5, "lag_fraction": 0.4}
    )
    net = gle_network(loss=loss, optimizer="adam", learning_rate=3e-3, adam_beta2=0.99,
                      recurrent=recurrent, **tau, **decay)  # fmt: skip
    start = net.state["params"].copy()
    ref = reference_of(net, adam=(0.9, 0.99, 1e-8))
    inputs, targets = sample_data(200, 3, 2, loss=loss, missing_every=7)
    result = net.learn(inputs, targets)
    outputs = np.array([ref.step(x, None if np.isnan(y).all() else y)[0]
                        for x, y in zip(inputs, targets, strict=True)])  # fmt: skip
    np.testing.assert_allclose(result.outputs, outputs, rtol=0, atol=1e-12)
    views = weights(net.spec, net.state["params"])
    for k in range(3):
        np.testing.assert_allclose(views[f"W{k + 1}"], ref.W[k], rtol=0, atol=1e-12)
        np.testing.assert_allclose(views[f"b{k + 1}"], ref.b[k], rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.state["tau_m"], np.concatenate(ref.tau_m), rtol=0, atol=1e-12)
    moments = [np.concatenate([np.concatenate([ref.moments[m][k].ravel(), ref.moments[m][3 + k]])
                               for k in range(3)]) for m in (0, 1)]  # fmt: skip
    np.testing.assert_allclose(net.state["moment1"], moments[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.state["moment2"], moments[1], rtol=0, atol=1e-14)
    assert net.state["counters"][1] == ref.updates == 200
    if decay:  # (the steps shrink from step 70 on: the comparison below is without)
        return
    # Adam's steps are about eta each, whatever the error's size: far from SGD's.
    moved = np.abs(net.state["params"] - start)
    assert moved.max() > 0.1 and np.median(moved) > 1e-3
    sgd = gle_network(loss=loss, learning_rate=3e-3, recurrent=recurrent, **tau)
    sgd.learn(inputs, targets)
    assert np.abs(sgd.state["params"] - start).max() < 0.1 * moved.max()


def test_uniform_init_draws_weights_and_biases_within_the_fan_in_bound():
    net = gle_network(3, 40, 2, layers=2, init="uniform", output_scale=0.5)
    views = weights(net.spec, net.state["params"])
    for k, (fan_in, scale) in enumerate(((3, 1.0), (40, 1.0), (40, 0.5)), start=1):
        bound = scale / np.sqrt(fan_in)
        for name in (f"W{k}", f"b{k}"):
            values = views[name]
            assert np.abs(values).max() <= bound and np.abs(values).max() > 0.8 * bound, name
    normal = weights(net.spec, gle_network(3, 40, 2, layers=2).state["params"])
    assert not normal["b1"].any() and np.abs(normal["W2"]).max() > 1 / np.sqrt(40)
    with pytest.raises(SpecError, match="unknown init 'zeros'"):
        gle_network(init="zeros")


@pytest.mark.parametrize("precision", ["float64", "fixed16"])
def test_decay_steps_the_weights_rate_down_at_decay_after_plus_decay_every(precision):
    """The first decay_after + decay_every learning steps run at
    learning_rate, bit for bit as without decay (predicting counts no step);
    the next one moves W and b by decay_factor times as much, and the time
    constants as much as before (tau_learning_rate stays)."""
    settings = {"learning_rate": 0.5, "tau_learning_rate": 0.05, "precision": precision}
    decayed = gle_network(**settings, decay_every=20, decay_after=30, decay_factor=0.25)
    constant = gle_network(**settings)
    inputs, targets = sample_data(51, 3, 2)
    for net in (decayed, constant):
        net.learn(inputs[:25], targets[:25])
        net.predict(inputs[25:], reset=np.zeros(26, bool))
        net.learn(inputs[25:50], targets[25:50])
    for name, array in constant.state.items():
        np.testing.assert_array_equal(decayed.state[name], array, err_msg=name)
    before = constant.state["params"].astype(float)
    moved = {}
    for label, net in (("decayed", decayed), ("constant", constant)):
        taus = net.state["tau_m"].astype(float)
        net.learn(inputs[50:], targets[50:])
        moved[label] = net.state["params"].astype(float) - before
        moved[label + " tau"] = net.state["tau_m"].astype(float) - taus
    ratio = np.abs(moved["decayed"]).sum() / np.abs(moved["constant"]).sum()
    assert np.abs(moved["constant"]).sum() > 0
    if precision == "float64":
        np.testing.assert_allclose(moved["decayed"], 0.25 * moved["constant"], rtol=1e-9,
                                   atol=1e-15)  # fmt: skip
        np.testing.assert_array_equal(moved["decayed tau"], moved["constant tau"])
    else:  # the changes are rounded to the weights' resolution
        assert 0.15 < ratio < 0.35, ratio


def test_adam_is_float_and_host_only():
    with pytest.raises(SpecError, match="plain SGD"):
        NetworkSpec("gle", 1, 1, precision="fixed16", params={"optimizer": "adam"})
    # Its settings apply to GLE now; the moments are state, sized like params.
    spec = NetworkSpec("gle", 2, 1, n_hidden=3, params={"optimizer": "adam", "adam_beta2": 0.9})
    state = Network(spec).state
    assert state["moment1"].shape == state["moment2"].shape == (spec.n_params,)
    assert Network(NetworkSpec("gle", 2, 1, n_hidden=3)).state["moment1"].shape == (0,)


@pytest.mark.parametrize("loss,gamma", [("mse", 0.3), ("xent", 0.0)])
def test_recurrent_layers_match_reference(loss, gamma):
    # Each hidden layer also reads its own previous rates (W_l's last
    # columns), and its errors get W_rec^T e_l of the previous step.
    net = gle_network(loss=loss, gamma=gamma, learning_rate=0.5, tau_m=0.7, tau_r=0.7,
                      tau_learning_rate=0.0, recurrent=1)  # fmt: skip
    assert weights(net.spec, net.state["params"])["W2"].shape == (5, 10)
    ref = reference_of(net)
    inputs, targets = sample_data(300, 3, 2, loss=loss, missing_every=7)
    result = net.learn(inputs, targets)
    outputs = np.array([ref.step(x, None if np.isnan(y).all() else y)[0]
                        for x, y in zip(inputs, targets, strict=True)])  # fmt: skip
    np.testing.assert_allclose(result.outputs, outputs, rtol=0, atol=1e-12)
    views = weights(net.spec, net.state["params"])
    for k in range(3):
        np.testing.assert_allclose(views[f"W{k + 1}"], ref.W[k], rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.state["errors"], np.concatenate(ref.e), rtol=0, atol=1e-12)
    # The recurrent weights learned, and nothing diverged (tau_m = tau_r).
    start = weights(net.spec, Network(net.spec).state["params"])
    assert np.abs(views["W1"][:, 3:] - start["W1"][:, 3:]).max() > 1e-3
    assert np.abs(net.state["params"]).max() < 10


def test_recurrence_with_a_loop_gain_above_one_is_refused():
    fixed = {"tau_learning_rate": 0.0}
    for params in ({"lag_fraction": 0.5, **fixed}, {"tau_learning_rate": 0.01},
                   {"tau_m": 2.0, "tau_r": 0.5, **fixed}):  # fmt: skip
        with pytest.raises(SpecError, match="gain of tau_m / tau_r"):
            gle_network(recurrent=1, **params)
    assert gle_network(recurrent=1, **fixed).spec.n_params == 5 * 9 + 5 * 11 + 2 * 6
    # Fixed time constants are the recurrent default; learned ones the layered.
    assert gle_network(recurrent=1).spec.hyper("tau_learning_rate") == 0.0
    assert gle_network().spec.hyper("tau_learning_rate") == 0.005


def test_predict_changes_nothing_learned():
    net = gle_network()
    before = {k: v.copy() for k, v in net.state.items()}
    inputs, targets = sample_data(50, 3, 2)
    net.predict(inputs, targets)
    for name in ("params", "tau_m", "tau_r"):
        np.testing.assert_array_equal(net.state[name], before[name])
    assert not np.array_equal(net.state["potentials"], before["potentials"])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_average_is_the_mean_then_the_moving_average_of_weights_and_biases(optimizer):
    horizon, steps = 25, 80
    settings = {"learning_rate": 0.05 if optimizer == "sgd" else 1e-3, "optimizer": optimizer,
                "decay_every": 30, "decay_factor": 0.5}  # fmt: skip
    net = gle_network(average=horizon, **settings)
    plain = gle_network(**settings)
    np.testing.assert_array_equal(net.state["average"], plain.state["params"])
    inputs, targets = sample_data(steps, 3, 2, missing_every=5)
    net.learn(inputs, targets)
    # The same learning, one step at a time: the parameters after every step.
    expected = polyak_average(plain, inputs, targets, horizon)
    # Averaging leaves learning as it was, and keeps the NumPy recurrence.
    for name in ("params", "tau_m", "tau_r", "moment1", "moment2"):
        np.testing.assert_array_equal(net.state[name], plain.state[name])
    np.testing.assert_allclose(net.state["average"], expected, rtol=0, atol=1e-12)
    assert np.abs(net.state["average"] - net.state["params"]).max() > 1e-4
    # Predicting runs on the average (with the learned time constants) and
    # changes neither copy; Network.averaged() deploys the same weights.
    on_average = gle_network(**settings)
    for name in ("tau_m", "tau_r"):
        on_average.state[name][:] = net.state[name]
    on_average.state["params"][:] = net.state["average"]
    reset = np.zeros(30, bool)
    reset[0] = True
    before = net.state["average"].copy(), net.state["params"].copy()
    outputs = net.predict(inputs[:30], reset=reset).outputs
    np.testing.assert_array_equal(outputs, on_average.predict(inputs[:30], reset=reset).outputs)
    np.testing.assert_array_equal(outputs, net.averaged().predict(inputs[:30], reset=reset).outputs)
    assert np.abs(outputs - plain.predict(inputs[:30], reset=reset).outputs).max() > 1e-6
    np.testing.assert_array_equal(net.state["average"], before[0])
    np.testing.assert_array_equal(net.state["params"], before[1])


def test_le_limit_errors_and_update_are_backprop():
    """tau_m = tau_r, static input held until settled: each layer's error is
    the backpropagated error of the instantaneous loss, and dW is eta dt times
    minus its gradient."""
    net = gle_network(n_in=3, n_hidden=6, n_out=2, layers=3, learning_rate=0.0,
                      tau_learning_rate=0.0, tau_m=0.7, tau_r=0.7, beta=0.8)  # fmt: skip
    views = weights(net.spec, net.state["params"])
    rng = np.random.default_rng(1)
    for k in range(1, 5):  # non-zero biases, to test them too
        views[f"b{k}"][:] = 0.3 * rng.standard_normal(views[f"b{k}"].shape)
    x, target = np.array([0.5, -0.3, 0.8]), np.array([0.4, -0.2])
    net.learn(np.tile(x, (600, 1)), np.tile(target, (600, 1)))
    Ws = [views[f"W{k}"].copy() for k in range(1, 5)]
    bs = [views[f"b{k}"].copy() for k in range(1, 5)]
    bp_errors, bp_rates = backprop_errors(Ws, bs, x, target, beta=0.8)
    sizes = net.spec.layer_sizes
    splits = np.cumsum(sizes[1:])[:-1]
    for k, (e, e_bp) in enumerate(
        zip(np.split(net.state["errors"], splits), bp_errors, strict=True)
    ):
        np.testing.assert_allclose(e, e_bp, rtol=0, atol=1e-10, err_msg=f"layer {k + 1}")
        assert np.abs(e_bp).max() > 1e-3  # the check is not vacuous
    # One step with learning: dW = eta dt e r_pre^T = -eta dt dL/dW.
    eta, dt = 0.3, net.spec.hyper("dt")
    learner = Network(NetworkSpec("gle", 3, 2, n_hidden=6, seed=4, params={
        **net.spec.params, "learning_rate": eta}), state={k: v.copy() for k, v in net.state.items()})  # fmt: skip
    learner.learn(x[None], target[None])
    new = weights(learner.spec, learner.state["params"])
    for k in range(4):
        grad = -np.outer(bp_errors[k], bp_rates[k])  # dL/dW, L = beta/2 ||y* - y||^2
        np.testing.assert_allclose(new[f"W{k + 1}"] - Ws[k], -eta * dt * grad, rtol=0, atol=1e-10)


def test_fixed16_tracks_float_and_learns():
    t = np.arange(20000) * 0.1
    inputs = np.stack([np.sin(0.3 * t), np.cos(0.71 * t + 1)], axis=1)
    targets = np.tanh(2 * inputs[:, :1] * inputs[:, 1:])
    results = {}
    for precision in ("float64", "fixed16"):
        net = gle_network(2, 16, 1, precision=precision, learning_rate=0.5,
                          tau_learning_rate=0.005)  # fmt: skip
        results[precision] = net.learn(inputs, targets)
        assert sum(net.saturations.values()) == 0
    float_loss, fixed_loss = results["float64"].loss, results["fixed16"].loss
    # Both learn: far below predicting zero (mean y*^2, about 0.3).
    baseline = float((targets[-1000:] ** 2).mean())
    assert float_loss[-1000:].mean() < 0.05 * baseline
    assert fixed_loss[-1000:].mean() < 0.05 * baseline
    # Quantisation moves the trajectory a little, never far.
    assert (
        abs(fixed_loss[-1000:].mean() - float_loss[-1000:].mean()) < 0.3 * float_loss[-1000:].mean()
    )
    np.testing.assert_allclose(results["fixed16"].outputs[:2000], results["float64"].outputs[:2000],
                               atol=0.02)  # fmt: skip


def test_teacher_student_chain():
    """Seed 003's chain (1 -> 1 -> 1 neurons): the student's output error
    falls >= 10x, and its time constants as a whole move toward the
    teacher's (the weights may settle on an equivalent solution, so not every
    single one does)."""
    stream = open_stream("synth:teacher?train=300000&seed=1")
    inputs, targets = stream.train[0], stream.train[1]
    net = gle_network(1, 1, 1, layers=1, seed=11, learning_rate=1.0, tau_learning_rate=0.02)
    teacher = np.concatenate([stream.info["teacher_tau_m"], stream.info["teacher_tau_r"]])
    start = np.concatenate([net.state["tau_m"], net.state["tau_r"]])
    loss = net.learn(inputs, targets).loss
    end = np.concatenate([net.state["tau_m"], net.state["tau_r"]])
    assert loss[-10000:].mean() < 0.1 * loss[:10000].mean()
    assert np.linalg.norm(end - teacher) < 0.5 * np.linalg.norm(start - teacher)


def test_spec_refuses_what_gle_cannot_do():
    with pytest.raises(SpecError, match="decorrelation"):
        NetworkSpec("gle", 1, 1, decorrelate=True)
    with pytest.raises(SpecError, match="2 dt"):
        NetworkSpec("gle", 1, 1, params={"dt": 0.5, "tau_min": 0.6})
    with pytest.raises(SpecError, match="outside"):
        NetworkSpec("gle", 1, 1, params={"tau_m": 200.0})
    with pytest.raises(SpecError, match="signals format"):
        NetworkSpec("gle", 1, 1, precision="fixed:g=32.28", params={"tau_max": 100.0})
    with pytest.raises(SpecError, match="does not apply"):
        NetworkSpec("gle", 1, 1, params={"sigma": 0.1})
    with pytest.raises(SpecError, match="linear is 0"):
        NetworkSpec("gle", 1, 1, params={"linear": 2})
    with pytest.raises(SpecError, match="fixed point .fixed16. keeps no moving average"):
        NetworkSpec("gle", 1, 1, precision="fixed16", params={"average": 100})
