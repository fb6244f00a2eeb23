import numpy as np
import pytest
from timelocal import Network, NetworkSpec
from timelocal.runtime import checkpoint as ckpt
from timelocal.runtime.errors import CheckpointError, SpecError
from timelocal.runtime.state import state_layout

from tests.helpers import make_network, sample_data


def test_round_trip_restores_every_array(tmp_path):
    net = make_network("bptt", decorrelate=True, window=5)
    net.learn(*sample_data(23, 2, 2))
    path = net.save(tmp_path / "net.npz", meta={"position": 23})
    loaded = Network.load(path)
    assert loaded.spec == net.spec
    assert loaded.checkpoint_meta == {"position": 23}
    assert set(loaded.state) == {a.name for a in state_layout(net.spec)}
    for name, array in net.state.items():
        np.testing.assert_array_equal(loaded.state[name], array)
    inputs, targets = sample_data(30, 2, 2, seed=5)
    np.testing.assert_array_equal(loaded.learn(inputs, targets).outputs,
                                  net.learn(inputs, targets).outputs)  # fmt: skip


def test_gle_with_adam_resumes_exactly(tmp_path):
    """The moments and the update count are state: a run stopped and loaded
    continues bit for bit as the uninterrupted one, also across the learning
    rate's step-downs (at steps 35, 55 and 75: decay counts learning steps)."""
    spec = NetworkSpec("gle", 2, 2, n_hidden=4, seed=3,
                       params={"optimizer": "adam", "learning_rate": 1e-3, "layers": 2,
                               "decay_every": 20, "decay_after": 15})  # fmt: skip
    inputs, targets = sample_data(90, 2, 2)
    whole = Network(spec)
    expected = whole.learn(inputs, targets).outputs
    first = Network(spec)
    first.learn(inputs[:50], targets[:50])
    assert np.abs(first.state["moment2"]).max() > 0
    loaded = Network.load(first.save(tmp_path / "gle.npz"))
    np.testing.assert_array_equal(loaded.learn(inputs[50:], targets[50:]).outputs,
                                  expected[50:])  # fmt: skip
    for name, array in whole.state.items():
        np.testing.assert_array_equal(loaded.state[name], array, err_msg=name)


@pytest.mark.parametrize("rule,params", [
    ("gle", {"optimizer": "adam", "learning_rate": 1e-3, "layers": 2, "average": 30}),
    ("tptt", {"learning_rate": 0.02, "readout_rate": 0.05, "inverse_warmup": 10}),
])  # fmt: skip
def test_a_lower_rate_on_resume_equals_a_schedule_stepping_down_there(tmp_path, rule, params):
    """Loading with a quarter of the rates at step 50 goes on exactly as a run
    whose schedule quarters them at step 50: moments, average, window and
    counters carry over, and only the rates change."""
    schedule = NetworkSpec(rule, 2, 2, n_hidden=4, seed=3,
                           params={**params, "decay_every": 50, "decay_factor": 0.25})  # fmt: skip
    inputs, targets = sample_data(90, 2, 2)
    whole = Network(schedule)
    expected = whole.learn(inputs, targets).outputs
    first = Network(NetworkSpec(rule, 2, 2, n_hidden=4, seed=3, params=params))
    first.learn(inputs[:50], targets[:50])
    lower = {name: params[name] / 4 for name in ("learning_rate", "readout_rate") if name in params}
    loaded = Network.load(first.save(tmp_path / "net.npz"), params=lower)
    assert loaded.checkpoint_spec == first.spec and loaded.spec.hyper("learning_rate") == (
        params["learning_rate"] / 4)  # fmt: skip
    np.testing.assert_array_equal(loaded.learn(inputs[50:], targets[50:]).outputs,
                                  expected[50:])  # fmt: skip
    for name, array in whole.state.items():
        np.testing.assert_array_equal(loaded.state[name], array, err_msg=name)
    # The same from a network in memory; the original keeps its rates and state.
    retuned = first.retuned(**lower)
    np.testing.assert_array_equal(retuned.learn(inputs[50:], targets[50:]).outputs,
                                  expected[50:])  # fmt: skip
    assert first.spec.params == params and first.steps_trained == 50


def test_only_the_rates_and_their_schedule_change_on_a_learned_network(tmp_path):
    net = Network(NetworkSpec("gle", 2, 1, n_hidden=3))
    path = net.save(tmp_path / "net.npz")
    with pytest.raises(SpecError, match="layers cannot change on a learned network"):
        Network.load(path, params={"layers": 2})
    with pytest.raises(SpecError, match="beta, dt cannot change"):
        net.retuned(dt=0.05, beta=2.0, learning_rate=0.1)
    with pytest.raises(SpecError, match="unknown hyper-parameter 'speed'"):
        net.retuned(speed=2.0)
    with pytest.raises(SpecError, match="decay_factor must be in"):
        net.retuned(decay_factor=2.0)
    assert net.retuned(tau_learning_rate=0.0).spec.hyper("tau_learning_rate") == 0.0


def test_a_checkpoint_from_before_gle_kept_an_average_still_loads(tmp_path):
    net = Network(NetworkSpec("gle", 2, 1, n_hidden=3))
    net.learn(*sample_data(20, 2, 1))
    path = net.save(tmp_path / "new.npz")
    with np.load(path) as data:  # the file as GLE wrote it without the array
        arrays = {key: data[key] for key in data.files if key != "state/average"}
    np.savez(tmp_path / "old.npz", **arrays)
    old = Network.load(tmp_path / "old.npz")
    for name, array in net.state.items():
        np.testing.assert_array_equal(old.state[name], array, err_msg=name)
    # An array that holds something is still required.
    arrays.pop("state/tau_m")
    np.savez(tmp_path / "broken.npz", **arrays)
    with pytest.raises(CheckpointError, match=r"missing \['tau_m'\]"):
        Network.load(tmp_path / "broken.npz")
    # With averaging on, the average holds the weights' history: required too.
    averaging = Network(NetworkSpec("gle", 2, 1, n_hidden=3, params={"average": 10}))
    with np.load(averaging.save(tmp_path / "avg.npz")) as data:
        arrays = {key: data[key] for key in data.files if key != "state/average"}
    np.savez(tmp_path / "avg_old.npz", **arrays)
    with pytest.raises(CheckpointError, match=r"missing \['average'\]"):
        Network.load(tmp_path / "avg_old.npz")


def test_failed_write_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    net = make_network("anp")
    path = net.save(tmp_path / "net.npz")
    original = path.read_bytes()

    def broken(handle, **arrays):
        handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.np, "savez", broken)
    net.learn(*sample_data(10, 2, 2))
    with pytest.raises(OSError, match="disk full"):
        net.save(path)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]


def test_unreadable_checkpoints_are_reported(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="not a readable timelocal checkpoint"):
        Network.load(bad)
    with pytest.raises(CheckpointError, match="does not exist"):
        Network.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(CheckpointError):
        Network.load(tmp_path / "other.npz")
