"""The Lava target against the host target: the same kernels as Lava
processes must give the same numbers, and the runtime must always stop.

Lava's simulator costs about a millisecond per step: these runs are short."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("lava.magma", reason="the lava extra (lava-nc 0.10.0) is not installed")

from timelocal import Network, NetworkSpec  # noqa: E402
from timelocal.runtime.errors import SpecError  # noqa: E402
from timelocal.runtime.state import initial_state  # noqa: E402
from timelocal.streams.synthetic import mackey_glass_series  # noqa: E402
from timelocal.targets.lava.target import layer_arrays, merge_layers  # noqa: E402

from tests.helpers import sample_data  # noqa: E402


def mackey_glass_steps(steps: int, horizon: int = 15):
    series = mackey_glass_series(steps + horizon, seed=0)
    return series[:steps, None], series[horizon:, None]


def run_both(spec: NetworkSpec, chunks):
    """Run ``chunks`` of (method, inputs, targets, reset) on the host and on
    Lava; returns both networks' per-chunk results and the Lava network (closed)."""
    host = Network(spec)
    host_results, lava_results = [], []
    with Network(spec, target="lava") as lava:
        for method, inputs, targets, reset in chunks:
            host_results.append(getattr(host, method)(inputs, targets, reset=reset))
            lava_results.append(getattr(lava, method)(inputs, targets, reset=reset))
        lava.sync()
    return host, lava, host_results, lava_results


def test_fixed_point_danp_is_bit_identical_to_the_host_after_500_steps():
    spec = NetworkSpec("anp", 1, 1, n_hidden=16, decorrelate=True, precision="fixed16", seed=5)
    inputs, targets = mackey_glass_steps(500)
    host, lava, (h,), (r,) = run_both(spec, [("learn", inputs, targets, None)])
    assert np.array_equal(h.outputs, r.outputs)
    np.testing.assert_array_equal(h.loss, r.loss)
    for name, array in host.state.items():
        assert np.array_equal(array, lava.state[name]), name
    assert host.steps_trained == lava.steps_trained == 500
    # It learned something (the comparison is not between two idle networks).
    assert np.abs(host.state["params"].astype(np.int64) - initial_state(spec)["params"]).sum() > 0


def test_floating_point_danp_agrees_with_the_host_to_1e_9_after_500_steps():
    spec = NetworkSpec("anp", 1, 1, n_hidden=16, decorrelate=True, precision="float64", seed=5)
    inputs, targets = mackey_glass_steps(500)
    host, lava, (h,), (r,) = run_both(spec, [("learn", inputs, targets, None)])
    np.testing.assert_allclose(r.outputs, h.outputs, rtol=1e-9, atol=0)
    for name in ("params", "decorrelation", "drates", "noisy_drates", "moment1", "moment2"):
        np.testing.assert_allclose(lava.state[name], host.state[name], rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(lava.state["counters"], host.state["counters"])


@pytest.mark.parametrize(
    "rule,precision,optimizer",
    [("np", "fixed16", "sgd"), ("wp", "float64", "sgd"), ("np", "float64", "adam"),
     ("wp", "loihi8", "sgd")],
)  # fmt: skip
def test_every_phase_agrees_learning_predicting_resets_and_missing_targets(
    rule, precision, optimizer
):
    spec = NetworkSpec(rule, 2, 2, n_hidden=6, decorrelate=True, precision=precision, seed=2,
                       params={"optimizer": optimizer, "resync_every": 7})  # fmt: skip
    inputs, targets = sample_data(90, 2, 2, missing_every=5)
    reset = np.zeros(90, bool)
    reset[[0, 31, 60]] = True
    chunks = [("learn", inputs[:60], targets[:60], reset[:60]),
              ("predict", inputs[60:], targets[60:], reset[60:]),
              ("learn", inputs[:40], None, None)]  # fmt: skip
    host, lava, host_results, lava_results = run_both(spec, chunks)
    for h, r in zip(host_results, lava_results, strict=True):
        np.testing.assert_array_equal(h.outputs, r.outputs)
        np.testing.assert_array_equal(h.loss, r.loss)
    for name, array in host.state.items():
        assert np.array_equal(array, lava.state[name]), name


def test_reset_state_zeroes_the_rates_on_lava_as_on_the_host():
    spec = NetworkSpec("np", 1, 1, n_hidden=6, decorrelate=True, precision="fixed16", seed=7)
    inputs, targets = mackey_glass_steps(60)
    host = Network(spec)
    with Network(spec, target="lava") as lava:
        for net in (host, lava):
            net.reset_state()  # before any step
            net.learn(inputs[:30], targets[:30])
            net.reset_state()
            net.learn(inputs[30:], targets[30:])
        lava.sync()
    for name, array in host.state.items():
        assert np.array_equal(array, lava.state[name]), name
    assert np.any(host.state["drates"] != 0)


def test_chunks_longer_than_one_message_are_split():
    spec = NetworkSpec("anp", 1, 1, n_hidden=4, precision="fixed16", seed=1)
    inputs, targets = mackey_glass_steps(25)
    host = Network(spec)
    expected = host.learn(inputs, targets)
    from timelocal.targets.lava.target import LavaTarget

    state = initial_state(spec)
    target = LavaTarget(spec, state, chunk_steps=7)
    try:
        x = np.ascontiguousarray(inputs)
        outputs, loss, rates = target.run_chunk(
            x, np.ascontiguousarray(targets), np.ones(25, bool), np.zeros(25, bool), learn=True,
            record_rates=True,
        )  # fmt: skip
    finally:
        target.close()
    np.testing.assert_array_equal(outputs, expected.outputs)
    np.testing.assert_array_equal(state["params"], host.state["params"])
    assert rates.shape == (25, 4) and np.array_equal(rates[-1] * 2.0**12, state["drates"])


def deploy_and_read_back(spec, inputs, targets, split, tmp_path):
    """Learn ``split`` steps on the host, checkpoint, keep learning on Lava
    from the checkpoint and save there; the host continues alike. Returns
    the host network and the Lava checkpoint loaded on the host."""
    host = Network(spec)
    host.learn(inputs[:split], targets[:split])
    host.save(tmp_path / "host.npz")
    with Network.load(tmp_path / "host.npz", target="lava") as lava:
        lava.learn(inputs[split:], targets[split:])
        lava.save(tmp_path / "lava.npz")
    host.learn(inputs[split:], targets[split:])
    return host, Network.load(tmp_path / "lava.npz")


def test_deploy_a_host_checkpoint_keep_learning_on_lava_and_read_it_back(tmp_path):
    spec = NetworkSpec("anp", 1, 1, n_hidden=8, decorrelate=True, precision="fixed16", seed=4)
    host, back = deploy_and_read_back(spec, *mackey_glass_steps(300), 200, tmp_path)
    for name, array in host.state.items():
        assert np.array_equal(array, back.state[name]), name
    assert back.steps_trained == 300


@pytest.mark.parametrize(
    "precision,optimizer", [("float64", "sgd"), ("float64", "adam"), ("fixed16", "sgd")]
)
def test_layer_vars_hold_every_state_array(precision, optimizer):
    spec = NetworkSpec("anp", 3, 2, n_hidden=5, decorrelate=True, precision=precision,
                       params={"optimizer": optimizer})  # fmt: skip
    rng = np.random.default_rng(0)
    state = initial_state(spec)
    for array in state.values():
        array[...] = rng.integers(-50, 50, array.shape).astype(array.dtype)
    hidden, readout = layer_arrays(spec, state)
    back = {name: np.zeros_like(array) for name, array in state.items()}
    back["weight_fracs"][:] = state["weight_fracs"]
    # The readout's counts are added to the hidden layer's; the step is shared.
    readout["counters"][2:] = 0
    merge_layers(spec, back, hidden, readout)
    for name, array in state.items():
        assert np.array_equal(array, back[name]), name


# -- GLE: one process per layer --------------------------------------------------

GLE_PARAMS = {"layers": 2, "tau_learning_rate": 0.05, "gamma": 0.2, "lag_fraction": 0.5,
              "learning_rate": 0.2}  # fmt: skip


def gle_chunks(steps: int = 120):
    """Learning with resets and missing targets, predicting, and learning
    without targets: every branch of a layer's step."""
    inputs, targets = sample_data(steps, 2, 2, missing_every=4)
    reset = np.zeros(steps, bool)
    reset[[0, 50]] = True
    half = steps // 2
    return [("learn", inputs[:half], targets[:half], reset[:half]),
            ("predict", inputs[half:], targets[half:], reset[half:]),
            ("learn", inputs[half:], targets[half:], None),
            ("learn", inputs[:20], None, None)]  # fmt: skip


@pytest.mark.parametrize(
    "precision,loss,linear",
    [("fixed16", "mse", 0), ("loihi8", "mse", 0), ("float64", "mse", 0), ("float64", "xent", 0),
     ("fixed16", "mse", 1)],
)  # fmt: skip
def test_gle_on_lava_is_bit_identical_to_the_host(precision, loss, linear):
    # Float too: both targets call the same compiled layer kernels in the
    # same order, so not even rounding may differ. linear = 1: the first
    # layer's process runs phi = identity. Each process steps its learning
    # rate down from its own step count (decay_every).
    spec = NetworkSpec("gle", 2, 2, n_hidden=5, precision=precision, seed=3, loss=loss,
                       params={**GLE_PARAMS, "linear": linear, "decay_every": 30,
                               "decay_after": 20})  # fmt: skip
    host, lava, host_results, lava_results = run_both(spec, gle_chunks())
    assert_same_runs(host, lava, host_results, lava_results)
    # It learned something: weights and time constants moved.
    start = initial_state(spec)
    for name in ("params", "tau_m", "tau_r"):
        assert np.any(host.state[name] != start[name]), name
    assert host.steps_trained == lava.steps_trained == 140


def assert_same_runs(host, lava, host_results, lava_results):
    for h, r in zip(host_results, lava_results, strict=True):
        np.testing.assert_array_equal(h.outputs, r.outputs)
        np.testing.assert_array_equal(h.loss, r.loss)
    for name, array in host.state.items():
        assert np.array_equal(array, lava.state[name]), name


@pytest.mark.parametrize("precision", ["fixed16", "float64"])
def test_recurrent_gle_layers_are_bit_identical_to_the_host(precision):
    # A recurrent layer's own rates and W_rec^T e stay inside its process.
    spec = NetworkSpec("gle", 2, 2, n_hidden=5, precision=precision, seed=3,
                       params={"layers": 2, "recurrent": 1, "tau_learning_rate": 0.0,
                               "gamma": 0.2, "learning_rate": 0.2})  # fmt: skip
    host, lava, host_results, lava_results = run_both(spec, gle_chunks())
    assert_same_runs(host, lava, host_results, lava_results)
    start = initial_state(spec)
    assert np.any(host.state["params"] != start["params"])


def test_gle_recorded_rates_and_resets_match_the_host():
    spec = NetworkSpec("gle", 1, 1, n_hidden=3, precision="fixed16", seed=1, params=GLE_PARAMS)
    inputs, targets = sample_data(40, 1, 1)
    host = Network(spec)
    with Network(spec, target="lava") as lava:
        for net in (host, lava):
            net.reset_state()
            net.learn(inputs[:20], targets[:20])
            net.reset_state()
        lava.sync()
        for name, array in host.state.items():
            assert np.array_equal(array, lava.state[name]), name  # the reset is pending
        h = host.learn(inputs[20:], targets[20:], record_rates=True)
        r = lava.learn(inputs[20:], targets[20:], record_rates=True)
    np.testing.assert_array_equal(h.rates, r.rates)
    assert h.rates.shape == (20, 3) and np.any(h.rates != 0)


def test_a_trained_gle_checkpoint_deploys_on_lava_and_comes_back(tmp_path):
    # From a learned state (taus and weights moved, neurons mid-sequence), not
    # an initial one: every layer's slice of the state must land in its Vars.
    spec = NetworkSpec("gle", 2, 2, n_hidden=4, precision="fixed16", seed=6, params=GLE_PARAMS)
    host, back = deploy_and_read_back(spec, *sample_data(160, 2, 2), 100, tmp_path)
    for name, array in host.state.items():
        assert np.array_equal(array, back.state[name]), name
    assert back.steps_trained == 160


# -- TPTT and LRA: a recurrent layer holding its window, and a readout ------------

TARGET_CASES = [
    ("tptt", "fixed16", "mse", {"inverse_warmup": 30, "decay_every": 60, "decay_inverse": 1}),
    ("tptt", "float64", "xent", {"inverse_warmup": 0, "decay_every": 50}),
    (
        "lra",
        "fixed16",
        "mse",
        {"regularize": 0.5, "local_loss": "log", "decay_every": 40, "decay_factor": 0.3},
    ),
    ("lra", "float64", "mse", {"norm_clip": 0.1}),
]


@pytest.mark.parametrize("rule,precision,loss,params", TARGET_CASES)
def test_target_propagation_on_lava_is_bit_identical_to_the_host(rule, precision, loss, params):
    # Both targets run the same three phase kernels in the same order; the
    # window lives in the recurrent layer's Vars.
    spec = NetworkSpec(rule, 2, 2, n_hidden=5, precision=precision, seed=3, loss=loss,
                       params={"window": 4, "learning_rate": 0.1, "readout_rate": 0.1,
                               **params})  # fmt: skip
    host, lava, host_results, lava_results = run_both(spec, gle_chunks())
    assert_same_runs(host, lava, host_results, lava_results)
    start = initial_state(spec)
    assert np.any(host.state["params"] != start["params"])
    assert host.steps_trained == lava.steps_trained == 140


def test_target_propagation_resets_and_checkpoints_cross_between_host_and_lava(tmp_path):
    spec = NetworkSpec("tptt", 2, 2, n_hidden=4, precision="fixed16", seed=6,
                       params={"window": 3, "inverse_warmup": 20})  # fmt: skip
    inputs, targets = sample_data(80, 2, 2)
    host = Network(spec)
    with Network(spec, target="lava") as lava:
        for net in (host, lava):
            net.learn(inputs[:30], targets[:30])
            net.reset_state()
        h = host.learn(inputs[30:], targets[30:], record_rates=True)
        r = lava.learn(inputs[30:], targets[30:], record_rates=True)
    np.testing.assert_array_equal(h.rates, r.rates)
    for name, array in host.state.items():
        assert np.array_equal(array, lava.state[name]), name
    host, back = deploy_and_read_back(spec, inputs, targets, 50, tmp_path)
    for name, array in host.state.items():
        assert np.array_equal(array, back.state[name]), name


def test_rules_and_precisions_lava_does_not_run_are_refused_in_words():
    with pytest.raises(SpecError, match="bptt is host only"):
        Network(NetworkSpec("bptt", 1, 1), target="lava")
    with pytest.raises(SpecError, match="float64"):
        Network(NetworkSpec("anp", 1, 1, precision="float32"), target="lava")
    with pytest.raises(SpecError, match="keeps no moving average of the weights"):
        Network(NetworkSpec("tptt", 1, 1, params={"average": 100}), target="lava")
    with pytest.raises(SpecError, match="keeps no moving average of the weights"):
        Network(NetworkSpec("gle", 1, 1, params={"average": 100}), target="lava")
    with pytest.raises(SpecError, match="optimizer=sgd"):
        Network(NetworkSpec("gle", 1, 1, params={"optimizer": "adam"}), target="lava")


@pytest.mark.parametrize("rule", ["tptt", "gle"])
def test_the_averaged_weights_of_a_host_network_deploy_on_lava(rule):
    params = {"window": 4, "inverse_warmup": 0} if rule == "tptt" else {"learning_rate": 0.2}
    spec = NetworkSpec(rule, 3, 3, n_hidden=6, seed=5, params={**params, "average": 20})
    inputs, targets = sample_data(60, 3, 3)
    host = Network(spec)
    host.learn(inputs[:40], targets[:40])
    reset = np.zeros(20, bool)
    reset[0] = True
    expected = host.predict(inputs[40:], reset=reset).outputs
    with host.averaged(target="lava") as lava:
        outputs = lava.predict(inputs[40:], reset=reset).outputs
    np.testing.assert_array_equal(outputs, expected)


# -- the runtime always stops: through the real command ----------------------

CLI = [sys.executable, "-m", "timelocal.cli"]


def processes_in_group(group: int) -> list[int]:
    """Live processes of process group ``group`` (Lava's workers inherit it)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields: state, ppid, pgrp, ...; zombies are gone once reaped.
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(entry))
    return found


def start(args, tmp_path, **kwargs):
    """The command in its own process group, as a shell runs a job."""
    return subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, cwd=tmp_path, **kwargs)  # fmt: skip


@pytest.mark.parametrize("wait", [0.0, 1.5], ids=["while-lava-starts", "inside-a-chunk"])
def test_ctrl_c_to_the_whole_job_stops_lava_keeps_the_checkpoint_and_leaves_no_process(
    tmp_path, wait
):
    path = tmp_path / "c.npz"
    proc = start(["run", "--rule", "anp", "--decorrelate", "--target", "lava", "--precision",
                  "fixed16", "--hidden", "8", "--stream", "synth:mackey-glass?epochs=1000",
                  "--checkpoint", str(path), "--chunk-size", "200", "--json"], tmp_path)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(processes_in_group(proc.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)  # Lava has begun to fork its workers
        time.sleep(wait)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        out, err = proc.communicate(timeout=60)  # the run alone would take hours
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["target"] == "lava" and summary["interrupted"] is True
    assert Network.load(path).steps_trained == summary["steps"] > 0
    time.sleep(0.5)
    assert processes_in_group(proc.pid) == []


@pytest.fixture
def python_sigint():
    """Python's own Ctrl-C handler for the test, also when the suite was
    started with SIGINT ignored (a shell's background job), which the held
    signal would otherwise go back to."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_ctrl_c_while_lava_starts_is_held_until_the_runtime_is_up(monkeypatch, python_sigint):
    # Lava forks its processes with SIGINT ignored; before the signal was
    # held, a Ctrl-C in that window (seconds on a cold cache) was lost.
    from timelocal.targets.lava.process import StreamBridge

    create_runtime = StreamBridge.create_runtime

    def interrupted_while_starting(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        create_runtime(self, *args, **kwargs)

    monkeypatch.setattr(StreamBridge, "create_runtime", interrupted_while_starting)
    spec = NetworkSpec("anp", 1, 1, n_hidden=4, precision="fixed16")
    inputs, targets = sample_data(20, 1, 1)
    with Network(spec, target="lava") as net:
        with pytest.raises(KeyboardInterrupt):
            net.learn(inputs[:10], targets[:10])
        assert net.steps_trained == 0
        net.learn(inputs[:10], targets[:10])  # the runtime is up and intact
        assert net.steps_trained == 10
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_stream_error_during_a_lava_run_stops_the_runtime(tmp_path):
    lines = [f"{np.sin(0.1 * t):.6f},{np.sin(0.1 * t + 0.1):.6f}" for t in range(700)]
    lines[650] = "0.1,oops"
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    proc = start(["run", "--rule", "np", "--target", "lava", "--hidden", "4", "--stream",
                  "file:d.csv", "--inputs", "1", "--on-bad-input", "stop", "--chunk-size",
                  "100", "-q"], tmp_path)  # fmt: skip
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "line 651" in err and "Traceback" not in err
    time.sleep(0.5)
    assert processes_in_group(proc.pid) == []


API_RUN = """
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored
import numpy as np
from timelocal import Network, NetworkSpec
spec = NetworkSpec("anp", 1, 1, n_hidden=8, precision="fixed16")
x = np.sin(0.1 * np.arange(2001))[:, None]
try:
    with Network(spec, target="lava") as net:
        net.learn(x[:10], x[1:11])  # the Lava models compiled: Ctrl-C lands in a later chunk
        print("running", flush=True)
        while True:
            net.learn(x[:-1], x[1:])
except KeyboardInterrupt:
    print("interrupted after", net.steps_trained, "steps", flush=True)
"""


def test_ctrl_c_inside_a_chunk_through_the_api_stops_the_runtime(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", API_RUN], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "running"
        time.sleep(2.0)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # a failed run must not leave its runtime spinning
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    assert out.startswith("interrupted after") and (int(out.split()[2]) - 10) % 2000 == 0
    time.sleep(0.5)
    assert processes_in_group(proc.pid) == []
