"""The diagnostics' claims that their numbers rest on: the batched GLE
diagnostic's fast engine computes what the kernel does, and the window
diagnostic's gradient is the exact gradient of the step's loss through the
window (the scripts themselves are not tests)."""

from pathlib import Path

import numpy as np
import pytest
from timelocal import NetworkSpec

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def diagnostics(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "diagnostics"))
    import copy_window_bptt
    import gle_mnist1d_batched

    return gle_mnist1d_batched, copy_window_bptt


@pytest.mark.parametrize("linear", [0, 1])
def test_fast_batched_gle_matches_the_kernel_engine(diagnostics, linear):
    batched, _ = diagnostics
    spec = NetworkSpec("gle", 1, batched.CLASSES, n_hidden=6, loss="xent", seed=3,
                       params={"layers": 2, "dt": 0.2, "tau_m": 1.2, "tau_r": 1.2,
                               "tau_min": 0.4, "learning_rate": 1.0, "tau_learning_rate": 0.0,
                               "linear": linear})  # fmt: skip
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 25))
    y = rng.integers(0, batched.CLASSES, 8)
    models = []
    for engine in (batched.Batched, batched.FastBatched):
        model = engine(spec, 4, (1e-2, 0.9, 0.999, 1e-8))
        # Lagged units as the diagnostic sets them: tau_r = dt, some tau_m halved.
        for layer in range(2):
            model.net.state["tau_r"][6 * layer : 6 * layer + 4] = 0.2
            model.net.state["tau_m"][6 * layer : 6 * layer + 2] = 0.6
        models.append(model)
    for model in models:
        model.accuracy(x, y, learn=True, reset_each=False)  # two batches, 50 Adam steps
    kernel, fast = (model.net.state["params"] for model in models)
    start = NetworkSpec(spec.rule, 1, batched.CLASSES, n_hidden=6, loss="xent", seed=3,
                        params=spec.params)  # fmt: skip
    assert not np.allclose(kernel, batched.Network(start).state["params"])  # it learned
    np.testing.assert_allclose(fast, kernel, rtol=0, atol=1e-12)
    accuracies = [model.accuracy(x, y, learn=False, reset_each=True) for model in models]
    assert accuracies[0] == accuracies[1]


def test_window_gradient_is_the_exact_gradient_through_the_window(diagnostics):
    _, window = diagnostics
    rng = np.random.default_rng(1)
    n, n_in, n_out, steps, label = 5, 3, 4, 9, 2
    W_xh, W_h = rng.standard_normal((n, n_in)), 0.5 * rng.standard_normal((n, n))
    b, W_hy = 0.1 * rng.standard_normal(n), rng.standard_normal((n_out, n))
    xs = rng.standard_normal((steps, n_in))
    starts = np.zeros(steps, bool)
    starts[[0, 3]] = True
    held = (W_xh.copy(), W_h.copy(), b.copy())  # the weights before the window

    def loss(W_xh, W_h, b, W_hy, K, t):
        h = np.zeros(n)
        for s in range(t + 1):
            h = np.zeros(n) if starts[s] else h
            A, R, c = (W_xh, W_h, b) if s > t - K else held
            h = np.tanh(A @ xs[s] + R @ h + c)
        o = W_hy @ h
        return np.log(np.exp(o).sum()) - o[label]

    for K, t in ((3, 8), (8, 8), (4, 5)):  # inside a sequence; reaching back to its start
        hist = [np.zeros((K, n)), np.zeros((K, n)), np.zeros((K, n_in)), np.zeros(K, bool)]
        h = np.zeros(n)
        for s in range(t + 1):
            prev = np.zeros(n) if starts[s] else h
            h = np.tanh(W_xh @ xs[s] + W_h @ prev + b)
            for buffer, value in zip(hist, (h, prev, xs[s], starts[s]), strict=True):
                buffer[s % K] = value
        p = np.exp(W_hy @ h)
        d_o = p / p.sum()
        d_o[label] -= 1.0
        grads = [np.zeros_like(a) for a in (W_xh, W_h, b, W_hy)]
        window.window_gradient(d_o, h, *hist, t, W_h, W_hy, *grads)
        for array, grad in zip((W_xh, W_h, b, W_hy), grads, strict=True):
            numeric = np.zeros_like(array)
            for i in np.ndindex(array.shape):
                old = array[i]
                array[i] = old + 1e-6
                up = loss(W_xh, W_h, b, W_hy, K, t)
                array[i] = old - 1e-6
                down = loss(W_xh, W_h, b, W_hy, K, t)
                array[i] = old
                numeric[i] = (up - down) / 2e-6
            np.testing.assert_allclose(grad, numeric, rtol=0, atol=1e-7)
            assert np.abs(grad).max() > 1e-3


@pytest.mark.parametrize("engine", ["Batched", "FastBatched"])
def test_sgd_at_batch_one_is_timelocals_own_online_gle(diagnostics, engine):
    """The diagnostic's plain SGD on one sequence is what ``timelocal run
    --rule gle`` does: the same weights as the runtime's network with the
    same learning rate, step for step (so its batch-1 runs measure the
    product's rule, not a variant of it)."""
    batched, _ = diagnostics
    params = {"layers": 2, "dt": 0.2, "tau_m": 1.2, "tau_r": 1.2, "tau_min": 0.4,
              "tau_learning_rate": 0.0, "linear": 1}  # fmt: skip
    spec = NetworkSpec("gle", 1, batched.CLASSES, n_hidden=7, loss="xent", seed=5,
                       params={**params, "learning_rate": 1.0})  # fmt: skip
    model = getattr(batched, engine)(spec, 1, (0.3, 0.9, 0.999, 1e-8),
                                     optimizer=batched.OPT_SGD)  # fmt: skip
    runtime = batched.Network(NetworkSpec("gle", 1, batched.CLASSES, n_hidden=7, loss="xent",
                                          seed=5, params={**params, "learning_rate": 0.3}))  # fmt: skip
    np.testing.assert_array_equal(model.net.state["params"], runtime.state["params"])
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 30))
    y = np.array([2, 9, 4])
    model.accuracy(x, y, learn=True, reset_each=False)  # three sequences, one after another
    runtime.learn(x.reshape(-1, 1), np.repeat(np.eye(batched.CLASSES)[y], 30, axis=0))
    moved = np.abs(runtime.state["params"] - batched.Network(spec).state["params"]).max()
    assert moved > 1e-3
    np.testing.assert_allclose(model.net.state["params"], runtime.state["params"], rtol=0,
                               atol=1e-12 * moved)  # fmt: skip


@pytest.mark.parametrize("engine", ["Batched", "FastBatched"])
def test_adam_at_batch_one_is_timelocals_own_online_gle_with_adam(diagnostics, engine):
    """The same with Adam: the diagnostic's batch-1 Adam runs measure the
    runtime's ``-p optimizer=adam``."""
    batched, _ = diagnostics
    params = {"layers": 2, "dt": 0.2, "tau_m": 1.2, "tau_r": 1.2, "tau_min": 0.4,
              "tau_learning_rate": 0.0, "linear": 1}  # fmt: skip
    spec = NetworkSpec("gle", 1, batched.CLASSES, n_hidden=7, loss="xent", seed=5,
                       params={**params, "learning_rate": 1.0})  # fmt: skip
    model = getattr(batched, engine)(spec, 1, (1e-3, 0.9, 0.9999, 1e-8))
    runtime = batched.Network(NetworkSpec("gle", 1, batched.CLASSES, n_hidden=7, loss="xent",
                                          seed=5, params={**params, "learning_rate": 1e-3,
                                                          "optimizer": "adam",
                                                          "adam_beta2": 0.9999}))  # fmt: skip
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 30))
    y = np.array([2, 9, 4])
    model.accuracy(x, y, learn=True, reset_each=False)
    runtime.learn(x.reshape(-1, 1), np.repeat(np.eye(batched.CLASSES)[y], 30, axis=0))
    moved = np.abs(runtime.state["params"] - batched.Network(spec).state["params"]).max()
    assert moved > 0.03  # 90 Adam steps of about 1e-3
    np.testing.assert_allclose(model.net.state["params"], runtime.state["params"], rtol=0,
                               atol=1e-12 * moved)  # fmt: skip
    np.testing.assert_allclose(model.moments[1], runtime.state["moment2"], rtol=1e-9, atol=0)


def test_fast_batched_gle_can_take_the_output_error_from_the_previous_step(diagnostics):
    batched, _ = diagnostics
    spec = NetworkSpec("gle", 1, batched.CLASSES, n_hidden=5, loss="xent", seed=4,
                       params={"layers": 2, "dt": 0.2, "tau_m": 1.2, "tau_r": 1.2,
                               "tau_min": 0.4, "learning_rate": 1.0})  # fmt: skip
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3, 1))  # (steps, batch, inputs)
    targets = np.eye(batched.CLASSES)[[1, 4, 7]]
    beta = batched.Network(spec).target.hyper.beta
    now, before = (batched.FastBatched(spec, 3, (1e-3, 0.9, 0.999, 1e-8), previous_output=p)
                   for p in (False, True))  # fmt: skip
    for model in (now, before):  # output biases, so that the outputs move from the first step
        batched.weights(spec, model.net.state["params"])["b3"][:] = np.linspace(-1, 1, 10)
    seen = np.full((3, batched.CLASSES), 1.0 / batched.CLASSES)  # softmax of rates at rest
    moved = 0
    for t in range(5):  # the input reaches the output on the third step
        outputs = now.step(x[t], targets, learn=False)
        before.step(x[t], targets, learn=False)
        np.testing.assert_allclose(now.neurons["e"][-1], beta * (targets - outputs), atol=1e-15)
        np.testing.assert_allclose(before.neurons["e"][-1], beta * (targets - seen), atol=1e-15)
        moved += not np.allclose(outputs, seen)
        seen = outputs  # without learning, both networks' rates stay the same
    assert moved == 4  # all but the second step
    np.testing.assert_allclose(before.neurons["r"][-1], now.neurons["r"][-1], atol=0)


@pytest.mark.parametrize("rule", ["DANP", "BPTT (T=50)"])
def test_the_mackey_glass_schedule_reaches_the_kernels(monkeypatch, rule):
    monkeypatch.syspath_prepend(str(ROOT / "diagnostics"))
    import mackey_glass_schedule as schedule

    # A rate of zero after the first epoch: the second changes nothing that
    # the test reads (Adam's step is zero; D's rate is scaled too).
    monkeypatch.setitem(schedule.SCHEDULES, "stop", lambda epoch, epochs: float(epoch == 0))
    options = {"train": 400, "hidden": 12, "with_decorrelation": True}
    once = schedule.test_mse(rule, "none", 3, epochs=1, **options)
    stopped = schedule.test_mse(rule, "stop", 3, epochs=2, **options)
    twice = schedule.test_mse(rule, "none", 3, epochs=2, **options)
    assert stopped == once
    assert abs(twice - once) > 1e-6 * once


def test_the_readout_bound_fits_the_best_readout_and_scores_as_the_benchmarks(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "diagnostics"))
    monkeypatch.syspath_prepend(str(ROOT))
    import tptt_readout_bound as bound
    from timelocal import Network
    from timelocal.streams.registry import open_stream

    from benchmarks import common

    # The fit: labels that a linear softmax readout of the states gives.
    rng = np.random.default_rng(5)
    W_true = 3.0 * rng.standard_normal((4, 6))
    states = rng.standard_normal((3000, 6))
    labels = (states @ W_true.T).argmax(1)
    W, b = bound.fit_readout(states[:2000], labels[:2000], 4, l2=1e-6)
    assert np.mean((states[2000:] @ W.T + b).argmax(1) == labels[2000:]) > 0.97

    # The network's own readout, from the recorded states, scores as
    # benchmarks/common.scores (the benchmarks' and the CLI's measure) does.
    stream = open_stream("synth:copy-memory?length=4&delay=3&marker=one&train=30&test=20&seed=3")
    spec = NetworkSpec("tptt", stream.n_inputs, stream.n_outputs, n_hidden=16, loss="xent",
                       seed=2, params={"window": 4, "learning_rate": 0.003})  # fmt: skip
    with Network(spec) as net:
        net.learn(*stream.train[:2], reset=stream.train[3])
        steps_right, sequences_right, _ = common.scores(net, stream.test)
        states, outputs = bound.hidden_states(net, stream.test)
    steps, labels, sequence, position = bound.scored_steps(stream.test)
    assert (
        position.tolist() == [0, 1, 2, 3] * 20
        and sequence.tolist() == np.repeat(np.arange(20), 4).tolist()
    )
    own = bound.accuracy(outputs[steps].argmax(1), labels, sequence, position)
    assert (own["steps"], own["sequences"]) == (steps_right, sequences_right)
    weights = net.weights
    logits = states[steps] @ weights["W_hy"].T.astype(np.float64) + weights["b_y"]
    assert np.array_equal(logits.argmax(1), outputs[steps].argmax(1))
    assert np.mean(own["positions"]) == pytest.approx(own["steps"])


def test_the_schedule_diagnostic_is_the_products_decay(monkeypatch):
    """diagnostics/gle_mnist1d_schedule.py swaps the rate between epochs;
    ``--decay-after D --decay-every N`` there is GLE's decay_after = D - N
    epochs and decay_every = N epochs of learning steps (its docstring):
    the same parameters and moments, bit for bit."""
    import dataclasses

    from timelocal import Network

    monkeypatch.syspath_prepend(str(ROOT / "diagnostics"))
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import gle_mnist1d as mnist
    import gle_mnist1d_schedule as schedule

    config = mnist.ADAM_CONFIG
    after, every, factor = 2, 1, 0.5
    runs = {}
    for name, decay in (("swap", None), ("kernel", (after - every, every, factor))):
        stream, spec = mnist.setup({**config, "decay": decay}, 0, mnist.stream_url(config, 1, 4))
        net = Network(spec)
        x, y, has, reset, _ = stream.train
        base = spec.hyper("learning_rate")
        for epoch in range(4):
            if name == "swap":
                rate = schedule.learning_rate(epoch, base, after, every, factor)
                rated = dataclasses.replace(spec, params={**spec.params, "learning_rate": rate})
                net.target.hyper = rated.kernel_hyper()
            net.learn(x, np.where(has[:, None], y, np.nan), reset=reset)
        runs[name] = net.state
    for key in ("params", "moment1", "moment2"):
        np.testing.assert_array_equal(runs["kernel"][key], runs["swap"][key], err_msg=key)


def test_the_fit_diagnostic_scores_the_average_and_the_last_weights(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(ROOT / "diagnostics"))
    import gle_mnist1d_fit as fit
    from gle_mnist1d import ADAM_CONFIG, sample_accuracy
    from timelocal import Network
    from timelocal.streams.registry import open_stream

    stream = open_stream("synth:mnist1d?points=360&hold=1&label=1&reset=0&train=4&test=3")
    spec = NetworkSpec("gle", 1, 10, n_hidden=5, loss="xent", seed=0,
                       params={**ADAM_CONFIG["params"], "layers": 2, "learning_rate": 1e-3,
                               "average": 500})  # fmt: skip
    net = Network(spec)
    x, y, has, reset, _ = stream.train
    net.learn(x, np.where(has[:, None], y, np.nan), reset=reset)
    scores = fit.fit(net, stream, 2)
    period = stream.info["sample_steps"]
    x_test, _, _, reset_test, _ = stream.test
    for kind, model in (("averaged", net.averaged()), ("last", net.unaveraged())):
        outputs = model.predict(x_test, reset=reset_test).outputs
        assert scores[kind, "test"] == sample_accuracy(outputs, stream.test, period)
    # The last weights are the network's own, and differ from the average.
    np.testing.assert_array_equal(net.unaveraged().state["params"], net.state["params"])
    assert np.abs(net.state["average"] - net.state["params"]).max() > 1e-6
    assert {part for _, part in scores} == {"train", "test"}


def test_fast_batched_gle_scores_the_mean_weights_and_learns_on_unchanged(diagnostics):
    """``--average``: the mean is the plain mean of the weights after each
    Adam step since the restart, and scoring on it leaves the learning (the
    last weights and every neuron) as it was."""
    batched, _ = diagnostics
    spec = NetworkSpec("gle", 1, batched.CLASSES, n_hidden=5, loss="xent", seed=6,
                       params={"layers": 2, "dt": 0.2, "tau_m": 1.2, "tau_r": 1.2,
                               "tau_min": 0.4, "learning_rate": 1.0})  # fmt: skip
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 12))
    y = np.array([0, 3, 3, 8])
    model, twin = (batched.FastBatched(spec, 2, (1e-2, 0.9, 0.999, 1e-8)) for _ in range(2))
    model.restart_mean()
    seen = []
    for start in (0, 2):  # the steps of accuracy(), one at a time, to keep every step's weights
        for t in range(12):
            model.step(x[start : start + 2, t : t + 1], np.eye(batched.CLASSES)[y[start : start + 2]],
                       learn=True)  # fmt: skip
            seen.append(model.net.state["params"].copy())
    assert model.mean_count == 24
    np.testing.assert_allclose(model.mean, np.mean(seen, axis=0), rtol=0, atol=1e-13)
    assert np.abs(model.mean - seen[-1]).max() > 1e-3  # the mean is not the last weights
    twin.accuracy(x, y, learn=True, reset_each=False)  # no reset, as the loop above
    last = model.net.state["params"].copy()
    neurons = {name: [a.copy() for a in arrays] for name, arrays in model.neurons.items()}
    on_mean = model.on_mean(lambda: (model.net.state["params"].copy(),
                                     model.accuracy(x, y, learn=False, reset_each=False)))  # fmt: skip
    np.testing.assert_array_equal(on_mean[0], model.mean)
    np.testing.assert_array_equal(model.net.state["params"], last)
    for name, arrays in neurons.items():
        for a, b in zip(arrays, model.neurons[name], strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(twin.net.state["params"], last)  # accuracy() learns the same
