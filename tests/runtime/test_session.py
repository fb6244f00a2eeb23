import json

import numpy as np
import pytest
from timelocal import Network, NetworkSpec
from timelocal.runtime.session import RunOptions, Session
from timelocal.streams import open_stream

from tests.helpers import make_network

URL = "synth:mackey-glass?train=1200&test=300&epochs=3"


def _network(rule="anp"):
    return Network(NetworkSpec(rule, 1, 1, n_hidden=12, decorrelate=True, seed=4))


def test_resume_continues_exactly(tmp_path):
    for rule in ("anp", "bptt"):
        full = _network(rule)
        full_summary = Session(full, open_stream(URL), RunOptions(chunk_size=500)).run()

        first = _network(rule)
        path = tmp_path / f"{rule}.npz"
        Session(first, open_stream(URL), RunOptions(steps=1700, chunk_size=300,
                                                   checkpoint_path=path)).run()  # fmt: skip
        resumed = Network.load(path)
        summary = Session(resumed, open_stream(URL), RunOptions(chunk_size=777),
                          resume_meta=resumed.checkpoint_meta).run()  # fmt: skip
        for name, array in full.state.items():
            if name != "drates":  # the test part moves the clean rates last
                np.testing.assert_array_equal(resumed.state[name], array, err_msg=name)
        assert summary["steps"] == full_summary["steps"] == 3600
        # State is bit-identical; the summary's sums are accumulated per chunk,
        # so their rounding may differ in the last bit.
        assert summary["train_loss"] == pytest.approx(full_summary["train_loss"], rel=1e-12)
        assert summary["test_loss"] == pytest.approx(full_summary["test_loss"], rel=1e-12)


def test_periodic_checkpoints_and_metrics(tmp_path):
    metrics = tmp_path / "m.jsonl"
    ckpt = tmp_path / "c.npz"
    net = _network()
    summary = Session(net, open_stream(URL), RunOptions(
        chunk_size=1000, metrics_path=metrics, metrics_every=400,
        checkpoint_path=ckpt, checkpoint_every=900)).run()  # fmt: skip
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    train = [r for r in records if r["phase"] == "train"]
    assert [r["step"] for r in train] == list(range(400, 3601, 400))
    assert records[-1]["phase"] == "test"
    assert records[-1]["loss"] == summary["test_loss"]
    assert all(0 <= r["decorrelation_loss"] <= 1 for r in train)
    assert [r["epoch"] for r in train] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert Network.load(ckpt).checkpoint_meta["position"] == 3600


def test_steps_budget_and_summary_fields():
    net = _network()
    summary = Session(net, open_stream(URL), RunOptions(steps=1000)).run()
    assert summary["steps"] == 1000 == net.steps_trained
    assert summary["test_steps"] == 300
    for key in ("rule", "target", "precision", "steps", "train_loss", "test_loss",
                "steps_per_s", "bad_samples", "test_nrmse"):  # fmt: skip
        assert key in summary
    assert np.isfinite(summary["test_loss"]) and summary["bad_samples"] == 0


def test_copy_memory_reports_accuracy_and_baseline():
    net = make_network("anp", n_in=10, n_hidden=16, n_out=10, loss="xent")
    stream = open_stream("synth:copy-memory?length=5&delay=3&train=20&test=10")
    summary = Session(net, stream).run()
    assert 0.0 <= summary["test_accuracy"] <= 1.0
    assert summary["baseline_loss"] == np.log(8) * 5 / 13
