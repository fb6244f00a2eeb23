"""The benchmark plumbing that `make bench` relies on: where reports go and
how docs/RESULTS.md is gathered (the benchmarks themselves are not tests)."""

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    import benchmarks.common as common
    import benchmarks.results as results

    return common, results


def test_quick_runs_never_write_the_published_reports(bench, tmp_path):
    common, _ = bench
    parser = argparse.ArgumentParser()
    common.add_output_options(parser, "short")
    assert common.output_dir(parser.parse_args([])) == common.DOCS
    assert common.output_dir(parser.parse_args(["--quick"])) == common.DOCS / "quick"
    mine = tmp_path / "reports"
    assert common.output_dir(parser.parse_args(["--quick", "--out", str(mine)])) == mine
    assert mine.is_dir()


def test_provenance_marks_quick_runs(bench, monkeypatch):
    common, _ = bench
    monkeypatch.setattr(sys, "argv", ["benchmarks/speed.py"])
    assert "Quick mode" not in common.provenance()
    monkeypatch.setattr(sys, "argv", ["benchmarks/speed.py", "--quick"])
    text = common.provenance()
    assert text.startswith("Produced by `python benchmarks/speed.py --quick` on ")
    assert "Quick mode" in text


def test_a_rebuilt_report_names_the_run_that_measured_it(bench, monkeypatch, tmp_path):
    common, _ = bench
    monkeypatch.setattr(common, "_rebuilt_from", None)
    monkeypatch.setattr(sys, "argv", ["benchmarks/tptt_long.py", "--seeds", "0", "1", "--out",
                                      str(tmp_path), "--sequences=9"])  # fmt: skip
    measured = "Produced by `python benchmarks/tptt_long.py --seeds 0 1 --sequences=9` on "
    assert common.provenance().startswith(measured)
    common.save_run(tmp_path / "run.json", {"results": [1, 2]})
    stored = json.loads((tmp_path / "run.json").read_text())
    stored["measurement"]["date"] = "2026-01-02"  # as if measured on another day
    (tmp_path / "run.json").write_text(json.dumps(stored))
    monkeypatch.setattr(sys, "argv", ["benchmarks/tptt_long.py", "--report", "--out=elsewhere"])
    assert common.load_run(tmp_path / "run.json")["results"] == [1, 2]
    assert common.provenance().startswith(measured.replace(" on ", " on 2026-01-02, "))


def test_results_index_lists_reports_times_and_what_is_missing(bench, tmp_path):
    _, results = bench
    (tmp_path / "speed.md").write_text(
        "# Speed\n\nProduced by `python benchmarks/speed.py` on 2026-01-02, timelocal 0.1.0.\n\n"
        "## Host\n\n| n | steps/s |\n|---|---|\n| 64 | 1 |\n"
    )
    (tmp_path / "bench_times.json").write_text(json.dumps(
        {"date": "2026-01-02", "quick": False, "seconds": {"speed.py": 150.0},
         "total_seconds": 5400.0, "failed": ["latency.py"]}))  # fmt: skip
    results.gather(tmp_path)
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| [speed](#speed) | host speed against a bare compiled loop | " \
           "`python benchmarks/speed.py`, 2026-01-02 | 2.5 |" in text  # fmt: skip
    assert (
        "took 90 min on this machine, every benchmark of it included; failed: latency.py." in text
    )
    assert ("not run yet: `python benchmarks/tptt_long.py` (an hour or more: not in "
            "`make bench`)") in text  # fmt: skip
    assert ("not run yet: `python benchmarks/gle_mnist1d.py --adam --epochs 20 --seeds 2` (an "
            "hour or more") in text  # fmt: skip
    assert "not run yet: `python benchmarks/mackey_glass.py`" in text
    # the report itself follows, one heading level deeper
    assert "### Host" in text and "## Speed" in text


def test_rerunning_some_benchmarks_keeps_the_others_times(bench, tmp_path, monkeypatch):
    _, results = bench
    (tmp_path / "bench_times.json").write_text(json.dumps(
        {"date": "2026-01-02", "quick": False, "seconds": {"speed.py": 150.0, "scaling.py": 600.0},
         "total_seconds": 800.0, "failed": ["speed.py"]}))  # fmt: skip
    ran = []
    monkeypatch.setattr(results.subprocess, "run",
                        lambda command: ran.append(command) or argparse.Namespace(returncode=0))  # fmt: skip
    assert results.selected(["speed", "latency.md"]) == ["speed.py", "latency.py"]
    assert results.run_benchmarks(False, tmp_path, ["speed.py"]) == []
    assert [Path(command[1]).name for command in ran] == ["speed.py"]
    record = json.loads((tmp_path / "bench_times.json").read_text())
    assert (
        record["seconds"]["scaling.py"] == 600.0 and record["dates"]["scaling.py"] == "2026-01-02"
    )
    assert record["total_seconds"] == pytest.approx(600.0 + record["seconds"]["speed.py"])
    assert not record["one_run"] and record["failed"] == []
    _, sentence = results.timing_lines(tmp_path)
    assert "adds up to 10 min, the time `make bench` needs from scratch." in sentence[0]
    # A script with arguments runs with them, named by its report.
    assert results.selected(["mnist1d_adam"]) == ["gle_mnist1d.py --adam --epochs 20 --seeds 2"]
    assert results.selected(["gle_mnist1d"]) == ["gle_mnist1d.py"]
    results.run_benchmarks(False, tmp_path, ["gle_mnist1d.py --adam --epochs 20 --seeds 2"])
    assert Path(ran[-1][1]).name == "gle_mnist1d.py"
    assert ran[-1][2:] == ["--adam", "--epochs", "20", "--seeds", "2"]
    with pytest.raises(SystemExit, match="no benchmark nope"):
        results.selected(["nope"])


def test_lava_sentence_says_when_the_targets_disagree(bench):
    common, _ = bench
    twin = {"steps": 1000, "precision": "fixed16", "seed": 0, "identical": False,
            "max_output_difference": 0.25, "host_steps_per_s": 1e4, "lava_steps_per_s": 900.0}  # fmt: skip
    text = common.lava_sentence(twin, "DANP")
    assert "NOT identical: outputs differ by up to 0.25" in text and "900 steps/s" in text
    assert "what Lava would produce" not in text
    assert "identical bit for bit" in common.lava_sentence({**twin, "identical": True}, "DANP")


def test_a_whole_run_leaves_out_the_long_benchmarks_unless_named(bench):
    _, results = bench
    assert "tptt_long.py" not in results.selected(None)
    assert "target_prop.py" in results.selected(None)
    assert results.selected(["tptt_long"]) == ["tptt_long.py"]


@pytest.mark.parametrize("loss", ["xent", "mse"])
def test_long_tptt_runs_are_the_cli_runs_their_report_names(bench, monkeypatch, loss):
    """benchmarks/tptt_long.py scores the test set along the run on a copy of
    the network: the run is the one `timelocal run` makes with the command
    its report prints, whatever the number of scorings, with either loss."""
    import shlex
    import subprocess

    monkeypatch.syspath_prepend(str(ROOT))
    import benchmarks.tptt_long as tptt_long

    config = {"sequences": 45, "decay_every": 10, "decay_factor": 0.5, "decay_inverse": True,
              "test": 6, "evals": 4, "loss": loss}  # fmt: skip
    scored = tptt_long.run((config, 1))
    once = tptt_long.run(({**config, "evals": 1}, 1))
    assert [p["sequences"] for p in scored["curve"]] == [11, 22, 33, 45]
    assert scored["curve"][-1] == {**once["curve"][-1], "seconds": scored["curve"][-1]["seconds"]}
    words = shlex.split(tptt_long.command(config, 1))
    assert words[0] == "timelocal" and "decay_every=300" in words and "decay_inverse=1" in words
    assert ("mse" in words) == (loss == "mse")
    assert ("readout_rate=0.03" in words) == (loss == "mse")
    result = subprocess.run([sys.executable, "-m", "timelocal.cli", *words[1:], "--json", "-q"],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    final = scored["curve"][-1]
    assert (summary["test_accuracy"], summary["test_sequence_accuracy"], summary["test_loss"]) == (
        final["steps"],
        final["whole"],
        final["loss"],
    )


def test_mnist1d_decay_epochs_become_the_specs_learning_steps(bench):
    """``gle_mnist1d.py --adam --decay-*``: a schedule in epochs is the
    spec's decay_after and decay_every in learning steps (one epoch: every
    training sample's 360 Euler steps)."""
    import benchmarks.gle_mnist1d as mnist

    args = SimpleNamespace(decay_after=6, decay_every=4, decay_factor=0.5)
    config = mnist.decayed(mnist.ADAM_CONFIG, args)
    stream, spec = mnist.setup(config, 0, mnist.stream_url(config, 1, 20))
    steps = len(stream.train[0])
    assert steps == 20 * 360
    assert (spec.hyper("decay_after"), spec.hyper("decay_every")) == (6 * steps, 4 * steps)
    assert spec.hyper("decay_factor") == 0.5
    assert "x 0.5 every 4 epochs from epoch 10" in config["name"]
    args.decay_every = 0
    assert mnist.decayed(mnist.ADAM_CONFIG, args) is mnist.ADAM_CONFIG


def test_mnist1d_average_epochs_become_the_specs_learning_steps(bench):
    import benchmarks.gle_mnist1d as mnist

    args = SimpleNamespace(average=0.5)
    config = mnist.averaged(mnist.ADAM_CONFIG, args)
    stream, spec = mnist.setup(config, 0, mnist.stream_url(config, 1, 20))
    assert spec.hyper("average") == 10 * 360 and "averaged over 0.5 epochs" in config["name"]
    args.average = 0
    assert mnist.averaged(mnist.ADAM_CONFIG, args) is mnist.ADAM_CONFIG


def test_mnist1d_runs_go_on_from_their_checkpoints_as_if_unbroken(bench, tmp_path):
    """``gle_mnist1d.py --adam --save DIR``: a run stopped after an epoch and
    started again with more epochs equals one that never stopped."""
    from timelocal import Network

    import benchmarks.gle_mnist1d as mnist

    config = {**mnist.ADAM_CONFIG, "average": 0.5, "name": "small"}
    url = "synth:mnist1d?points=360&hold=1&label=1&reset=0&train=3&test=2&loss=xent"
    whole = mnist.run((config, 0, 2, url, tmp_path / "whole.npz"))
    first = mnist.run((config, 0, 1, url, tmp_path / "part.npz"))
    rest = mnist.run((config, 0, 2, url, tmp_path / "part.npz"))
    assert (first["resumed"], rest["resumed"], whole["resumed"]) == (0, 1, 0)
    assert rest["curve"] == whole["curve"] and rest["curve"][0] == first["curve"][0]
    done, part = Network.load(tmp_path / "whole.npz"), Network.load(tmp_path / "part.npz")
    assert done.steps_trained == 2 * 3 * 360
    for name, array in done.state.items():
        np.testing.assert_array_equal(part.state[name], array, err_msg=name)
    with pytest.raises(SystemExit, match="holds another network"):
        mnist.run(({**config, "average": 0.25}, 0, 2, url, tmp_path / "part.npz"))
    with pytest.raises(SystemExit, match="2 epochs in, past --epochs 1"):
        mnist.run((config, 0, 1, url, tmp_path / "part.npz"))


def test_mnist1d_a_schedule_goes_on_from_a_constant_rate_until_its_first_step_down(bench,
                                                                                   tmp_path):  # fmt: skip
    """A checkpoint learned at a constant rate goes on with a schedule whose
    first step-down is still ahead (equal to an unbroken run of it); one that
    would have stepped down already is refused."""
    from timelocal import Network

    import benchmarks.gle_mnist1d as mnist

    constant = {**mnist.ADAM_CONFIG, "average": 0.5, "name": "small"}
    stepped = {**constant, "decay": (0, 1, 0.5)}  # halved after epochs 1 and 2
    url = "synth:mnist1d?points=360&hold=1&label=1&reset=0&train=3&test=2&loss=xent"
    whole = mnist.run((stepped, 0, 3, url, tmp_path / "whole.npz"))
    mnist.run((constant, 0, 1, url, tmp_path / "part.npz"))
    rest = mnist.run((stepped, 0, 3, url, tmp_path / "part.npz"))
    assert rest["resumed"] == 1 and rest["curve"] == whole["curve"]
    done, part = Network.load(tmp_path / "whole.npz"), Network.load(tmp_path / "part.npz")
    assert part.spec.hyper("decay_every") == 3 * 360
    for name, array in done.state.items():
        np.testing.assert_array_equal(part.state[name], array, err_msg=name)
    mnist.run((constant, 0, 2, url, tmp_path / "late.npz"))
    with pytest.raises(SystemExit, match="learned at other rates so far"):
        mnist.run((stepped, 0, 3, url, tmp_path / "late.npz"))


def test_mnist1d_adam_reports_are_named_by_what_the_run_changed(bench, tmp_path):
    import benchmarks.gle_mnist1d as mnist

    def report(**options) -> list:
        defaults = {"average": 0, "decay_every": 0, "learning_rate": None, "beta1": None,
                    "shuffle": False}  # fmt: skip
        args = SimpleNamespace(quick=False, out=tmp_path, **{**defaults, **options})
        if args.decay_every:
            args.decay_after, args.decay_factor = 30, 0.3
        config = mnist.averaged(mnist.decayed(mnist.tuned(mnist.ADAM_CONFIG, args), args), args)
        result = {"config": config, "seed": 0, "curve": [0.5, 0.75], "params": 14956,
                  "seconds": 10.0, "resumed": 0}  # fmt: skip
        mnist.write_adam_report([result], args)
        return sorted(path.name for path in tmp_path.iterdir())

    assert report() == ["mnist1d_adam.md"]
    assert "mnist1d_adam_average_decay.md" in report(average=1, decay_every=10)
    assert "mnist1d_adam_average_tuned.md" in report(average=1, learning_rate=3e-5)
    text = (tmp_path / "mnist1d_adam_average_decay.md").read_text()
    assert "at learning_rate 1e-05, multiplied by 0.3 after epoch 40" in text
    assert "falls short by 15.0 points" in text


def test_mnist1d_shuffle_permutes_whole_samples_and_is_part_of_a_checkpoint(bench, tmp_path):
    import benchmarks.gle_mnist1d as mnist

    rows = mnist.epoch_rows(3, 5 * 4, 4)
    assert sorted(rows) == list(range(20)) and list(rows) != list(range(20))
    assert all(rows[k * 4] % 4 == 0 and list(np.diff(rows[k * 4 : k * 4 + 4])) == [1, 1, 1]
               for k in range(5))  # fmt: skip
    np.testing.assert_array_equal(rows, mnist.epoch_rows(3, 20, 4))
    assert list(mnist.epoch_rows(4, 20, 4)) != list(rows)
    args = SimpleNamespace(learning_rate=None, beta1=None, shuffle=True)
    shuffled = mnist.tuned({**mnist.ADAM_CONFIG, "average": 0.5}, args)
    assert shuffled["shuffle"] and "shuffled" in shuffled["name"]
    url = "synth:mnist1d?points=360&hold=1&label=1&reset=0&train=3&test=2&loss=xent"
    from timelocal import Network

    mnist.run(({**mnist.ADAM_CONFIG, "average": 0.5}, 0, 1, url, tmp_path / "a.npz"))
    mnist.run((shuffled, 0, 1, url, tmp_path / "b.npz"))
    same, moved = Network.load(tmp_path / "a.npz"), Network.load(tmp_path / "b.npz")
    assert same.steps_trained == moved.steps_trained == 3 * 360
    assert np.abs(same.state["params"] - moved.state["params"]).max() > 1e-9  # another order
    with pytest.raises(SystemExit, match="learned its samples in the same order"):
        mnist.run((shuffled, 0, 2, url, tmp_path / "a.npz"))
