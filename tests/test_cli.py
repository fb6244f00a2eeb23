"""End-to-end tests: the real ``timelocal`` command in a subprocess."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time

import click
import numpy as np
import pytest
from timelocal import Network, NetworkSpec
from timelocal.cli import run as run_command
from timelocal.streams import open_stream

CLI = [sys.executable, "-m", "timelocal.cli"]
SMALL = ["--hidden", "12", "-q"]


def run(*args, input=None, timeout=120):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, input=input,
                          timeout=timeout)  # fmt: skip


def summary_of(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_run_synthetic_json_summary():
    result = run("run", "--rule", "anp", "--decorrelate", "--stream",
                 "synth:mackey-glass?train=2000&test=500&epochs=2", "--json", *SMALL)  # fmt: skip
    summary = summary_of(result)
    assert summary["rule"] == "anp" and summary["decorrelate"] is True
    assert summary["target"] == "host" and summary["precision"] == "float64"
    assert summary["steps"] == 4000 and summary["bad_samples"] == 0
    assert summary["train_loss"] < summary["train_loss_first"]
    assert 0 < summary["test_loss"] < 1 and summary["steps_per_s"] > 0


def test_run_fixed_point_reports_saturations_and_learns(tmp_path):
    metrics = tmp_path / "m.csv"
    result = run("run", "--rule", "anp", "--decorrelate", "--precision", "fixed16", "--stream",
                 "synth:mackey-glass?train=2000&test=500&epochs=3", "--json", "--metrics",
                 str(metrics), "--metrics-every", "1000", *SMALL)  # fmt: skip
    summary = summary_of(result)
    assert summary["precision"] == "fixed16"
    assert set(summary["saturations"]) == {"weights", "states", "errors", "signals"}
    assert summary["train_loss"] < summary["train_loss_first"]
    header = metrics.read_text().splitlines()[0].split(",")
    assert "saturated_weights" in header and "saturated_signals" in header
    bad = run("run", "--rule", "anp", "--precision", "fixed:w=16", "--stream",
              "synth:mackey-glass")  # fmt: skip
    assert bad.returncode == 2 and "expected BITS.FRAC" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_human_summary_and_progress():
    result = run("run", "--rule", "np", "--stream", "synth:mackey-glass?train=500&test=100",
                 "--hidden", "8")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "NP on synth:mackey-glass" in result.stdout and "test loss" in result.stdout
    assert "100%" in result.stderr  # the progress line reached the end


def test_stdin_and_file_streams_learn_the_same(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((300, 3))
    text = "\n".join(",".join(repr(v) for v in row) for row in data) + "\n"
    (tmp_path / "d.csv").write_text(text)
    common = ["--rule", "wp", "--inputs", "2", "--json", *SMALL]
    ckpts = [tmp_path / "a.npz", tmp_path / "b.npz"]
    a = summary_of(run("run", "--stream", f"file:{tmp_path / 'd.csv'}", "--checkpoint",
                       str(ckpts[0]), *common))  # fmt: skip
    b = summary_of(run("run", "--stream", "-", "--outputs", "1", "--checkpoint", str(ckpts[1]),
                       *common, input=text))  # fmt: skip
    assert a["steps"] == b["steps"] == 300
    np.testing.assert_array_equal(Network.load(ckpts[0]).state["params"],
                                  Network.load(ckpts[1]).state["params"])  # fmt: skip


def test_a_semicolon_log_names_its_columns_and_stdin_reads_it_with_sep(tmp_path):
    rng = np.random.default_rng(1)
    text = "ax;ay;speed\n" + "".join(";".join(repr(v) for v in row) + "\n"
                                      for row in rng.standard_normal((300, 3)))  # fmt: skip
    (tmp_path / "log.csv").write_text(text)
    common = ["--rule", "wp", "--inputs", "2", "--json", *SMALL]
    ckpts = [tmp_path / "a.npz", tmp_path / "b.npz"]
    result = run("run", "--stream", f"file:{tmp_path / 'log.csv'}", "--checkpoint", str(ckpts[0]),
                 *common[:-1])  # not quiet: the columns are named on stderr  # fmt: skip
    assert "inputs ax, ay; targets speed (parted by ';')" in result.stderr
    b = summary_of(run("run", "--stream", "-?sep=;", "--outputs", "1", "--checkpoint",
                       str(ckpts[1]), *common, input=text))  # fmt: skip
    assert summary_of(result)["steps"] == b["steps"] == 300
    np.testing.assert_array_equal(Network.load(ckpts[0]).state["params"],
                                  Network.load(ckpts[1]).state["params"])  # fmt: skip
    wrong = run("run", "--stream", "-", "--outputs", "1", *common, input=text)
    assert wrong.returncode != 0 and "its fields look parted by ';': sep=;" in wrong.stderr


def resume_matches_whole_run(base, url, steps, tmp_path, *resume_options) -> tuple:
    """Run ``base`` whole, then its first ``steps`` steps and the rest with
    ``--resume`` (plus ``resume_options``): both checkpoints hold the same
    state, array by array. Returns the whole run's summary and network, and
    the resumed run's summary."""
    whole = summary_of(run(*base, "--checkpoint", str(tmp_path / "full.npz")))
    summary_of(run(*base, "--steps", str(steps), "--checkpoint", str(tmp_path / "part.npz")))
    resumed = summary_of(run("run", "--resume", str(tmp_path / "part.npz"), "--stream", url,
                             *resume_options, "--checkpoint", str(tmp_path / "part.npz"),
                             "--json", "-q"))  # fmt: skip
    done, part = Network.load(tmp_path / "full.npz"), Network.load(tmp_path / "part.npz")
    for name, array in done.state.items():
        np.testing.assert_array_equal(part.state[name], array, err_msg=name)
    return whole, done, resumed


def test_resume_through_the_cli_matches_an_uninterrupted_run(tmp_path):
    url = "synth:mackey-glass?train=1000&test=200&epochs=3"
    base = ["run", "--rule", "anp", "--decorrelate", "--stream", url, "--json", *SMALL]
    _, _, resumed = resume_matches_whole_run(base, url, 1300, tmp_path)
    assert resumed["steps"] == 3000 and resumed["steps_this_run"] == 1700


@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "--rule", "anp", "--stream", "synth:nope"], "unknown synthetic stream 'nope'"),
        (["run", "--rule", "anp", "--stream", "file:/no/such.csv", "--inputs", "1"],
         "no such file /no/such.csv"),
        (["run", "--rule", "anp", "--stream", "synth:mackey-glass", "-p", "sigma=-1"],
         "sigma must be >= 0.0"),
        (["run", "--rule", "anp", "--stream", "synth:mackey-glass", "-p", "sigma"],
         "--param takes NAME=VALUE"),
        (["run", "--stream", "synth:mackey-glass"], "--rule is required"),
        (["run", "--rule", "bogus", "--stream", "synth:mackey-glass"], "Invalid value for '--rule'"),
        (["run", "--resume", "/no/ckpt.npz", "--stream", "synth:mackey-glass"],
         "checkpoint /no/ckpt.npz does not exist"),
    ],
)  # fmt: skip
def test_usage_errors_are_one_sentence_with_exit_code_2(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_input_stop_is_a_runtime_error_with_the_line(tmp_path):
    (tmp_path / "d.csv").write_text("1,2\n3,4\n5,oops\n")
    result = run("run", "--rule", "anp", "--stream", f"file:{tmp_path / 'd.csv'}",
                 "--inputs", "1", "--on-bad-input", "stop", *SMALL)  # fmt: skip
    assert result.returncode == 1
    assert "line 3: column 2: 'oops' is not a number" in result.stderr
    assert "Traceback" not in result.stderr


def test_resume_refuses_a_different_network(tmp_path):
    path = tmp_path / "c.npz"
    summary_of(run("run", "--rule", "np", "--stream", "synth:mackey-glass?train=100&test=10",
                   "--checkpoint", str(path), "--json", *SMALL))  # fmt: skip
    result = run("run", "--resume", str(path), "--rule", "anp", "--stream", "synth:mackey-glass")
    assert result.returncode == 2 and "differs from the checkpoint" in result.stderr


def test_resume_with_a_lower_rate_goes_on_from_the_checkpoint_with_it(tmp_path):
    path = tmp_path / "c.npz"
    url = "synth:teacher?train=2000&test=200&seed=2"
    summary_of(run("run", "--rule", "gle", "--stream", url, "--steps", "1000", "-p",
                   "learning_rate=0.5", "--checkpoint", str(path), "--json", *SMALL))  # fmt: skip
    before = Network.load(path)
    result = run("run", "--resume", str(path), "--stream", url, "-p", "learning_rate=0.05",
                 "--checkpoint", str(path), "--json", "-q")  # fmt: skip
    assert summary_of(result)["steps"] == 2000
    assert "note: learning_rate 0.5 -> 0.05 from the checkpoint on" in result.stderr
    after = Network.load(path)
    assert after.spec.hyper("learning_rate") == 0.05
    # The second half learned at the lower rate: as the network in memory does.
    inputs, targets, has_target, reset, _ = open_stream(url).train
    expected = before.retuned(learning_rate=0.05)
    expected.learn(inputs[1000:], np.where(has_target[1000:, None], targets[1000:], np.nan),
                   reset=reset[1000:])  # fmt: skip
    np.testing.assert_array_equal(after.state["params"], expected.state["params"])
    refused = run("run", "--resume", str(path), "--stream", url, "-p", "layers=2")
    assert refused.returncode == 2 and "layers cannot change on a learned network" in (
        refused.stderr) and "Traceback" not in refused.stderr  # fmt: skip


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_finishes_the_chunk_checkpoints_and_reports(tmp_path, signum, code):
    path = tmp_path / "c.npz"
    proc = subprocess.Popen(
        [*CLI, "run", "--rule", "anp", "--stream", "synth:mackey-glass?epochs=1000",
         "--checkpoint", str(path), "--json", *SMALL],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(4)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:  # a failed run must not outlive the test
            proc.kill()
    assert proc.returncode == code, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["interrupted"] is True and summary["steps"] > 0
    assert Network.load(path).steps_trained == summary["steps"]


def test_rules_and_streams_list_what_exists():
    rules = json.loads(run("rules", "--json").stdout)
    assert set(rules["rules"]) == {"np", "anp", "wp", "bptt", "gle", "tptt", "lra"}
    assert rules["rules"]["bptt"]["time_local"] is False
    assert rules["rules"]["gle"]["time_local"] is True
    assert "tau_learning_rate" in rules["rules"]["gle"]["hyper_parameters"]
    assert "sigma" not in rules["rules"]["gle"]["hyper_parameters"]
    assert "sigma" in rules["rules"]["anp"]["hyper_parameters"]
    streams = json.loads(run("streams", "--json").stdout)
    assert "synth:mackey-glass" in streams["streams"] and "-" in streams["streams"]
    assert streams["options"]["synth:copy-memory"]["delay"] == 10
    help_text = " ".join(run("run", "--help").stdout.split())
    assert "--on-bad-input" in help_text and "skip it and count it" in help_text
    assert "--reconnect SECONDS" in help_text and "--max-latency-ms" in help_text


def test_every_example_in_run_help_is_one_command_with_options_that_exist():
    text = run("run", "--help").stdout
    block = text.split("Examples:")[1].split("\n\n")[0]
    # As printed: a long example is continued on indented lines, not run together.
    assert all(len(line) <= 100 and "   " not in line.strip() for line in block.splitlines())
    examples = [" ".join(shlex.split(line))
                for line in block.replace("\\\n", " ").splitlines() if line.strip()]  # fmt: skip
    assert len(examples) >= 5 and all(e.startswith("timelocal run --") for e in examples), examples
    for example in examples:
        args = shlex.split(example)[2:]
        options, rest, _ = run_command.make_parser(click.Context(run_command)).parse_args(args)
        assert options["stream_url"] and not rest, example
    serial = next(e for e in examples if "serial:" in e)
    assert "--predictions -" in serial and "--checkpoint-every 30s" in serial


def test_console_script_is_installed():
    script = os.path.join(os.path.dirname(sys.executable), "timelocal")
    result = subprocess.run([script, "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "timelocal" in result.stdout


def test_bad_input_warnings_are_rate_limited_and_counted_in_the_metrics(tmp_path):
    lines = ["a,b,y"]
    for t in range(6000):
        lines.append(f"{t % 7},{t % 5},0.5" if t % 3 == 0 else ["1,2,3,4", "x,1,2"][t % 2])
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    result = run("run", "--rule", "np", "--stream", f"file:{tmp_path / 'd.csv'}", "--inputs", "2",
                 "--metrics", str(tmp_path / "m.csv"), "--metrics-every", "1000", "--json",
                 *SMALL)  # fmt: skip
    summary = summary_of(result)
    assert summary["bad_samples_by_kind"] == {"wrong_width": 2000, "malformed": 2000}
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert 2 <= len(warnings) <= 5, warnings  # not one per bad line
    import csv

    records = list(csv.DictReader(open(tmp_path / "m.csv")))
    assert records[-1]["bad_wrong_width"] == "2000" and records[-1]["bad_crc_error"] == "0"


@pytest.mark.parametrize("every,message", [("1x", "is not N (steps), Ns"), ("0s", "positive")])
def test_checkpoint_every_takes_steps_or_seconds(tmp_path, every, message):
    result = run("run", "--rule", "np", "--stream", "synth:mackey-glass?train=100&test=10&epochs=1",
                 "--checkpoint", str(tmp_path / "c.npz"), "--checkpoint-every", every, *SMALL)  # fmt: skip
    assert result.returncode == 2 and message in result.stderr
    result = run("run", "--rule", "np", "--stream", "synth:mackey-glass?train=100&test=10&epochs=1",
                 "--checkpoint", str(tmp_path / "c.npz"), "--checkpoint-every", "0.5s", "--json",
                 *SMALL)  # fmt: skip
    assert summary_of(result)["steps"] == 100


def test_profile_table_json_and_what_it_reports():
    result = run("profile", "--rule", "anp", "--decorrelate", "--hidden", "32", "--precision",
                 "loihi8")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "DANP (time-local)" in result.stdout and "decorrelation" in result.stdout
    assert "host time per step" in result.stdout
    data = json.loads(run("profile", "--rule", "anp", "--decorrelate", "--hidden", "32",
                          "--precision", "loihi8", "--json", "--no-time").stdout)  # fmt: skip
    assert data["rule"] == "DANP" and data["time_local"] is True
    # 24-bit states: 3 bytes per rate in the format, 4 on the host.
    assert data["memory"]["neuron_state"] == {"elements": 32, "bytes": 128, "format_bytes": 96}
    assert data["ops_total"]["mac"] > 32 * 32 * 3 and data["ops_total"]["random"] > 0
    assert data["ops_per_step"]["noisy forward"]["lookup"] == 32
    assert data["seconds_per_step"] is None
    bptt = json.loads(run("profile", "--rule", "bptt", "--window", "500", "--hidden", "32",
                          "--json", "--no-time").stdout)  # fmt: skip
    assert bptt["time_local"] is False and bptt["memory"]["window"]["elements"] > 500 * 64
    # -p as for run: a recurrent GLE layer's weights include its own n x n.
    gle = json.loads(run("profile", "--rule", "gle", "--hidden", "16", "-p", "layers=2", "-p",
                         "recurrent=1", "-p", "tau_learning_rate=0", "--json",
                         "--no-time").stdout)  # fmt: skip
    n_params = 16 * (1 + 16 + 1) + 16 * (16 + 16 + 1) + (16 + 1)
    assert gle["memory"]["weights"]["elements"] == n_params + 6  # and 6 exponents


def test_profile_budget_sweep_and_errors(tmp_path):
    from click.testing import CliRunner
    from timelocal.cli import main

    def invoke(*args):
        return CliRunner().invoke(main, ["profile", *args, "--no-time"])

    ok = invoke("--rule", "np", "--hidden", "64", "--budget", "loihi2")
    assert ok.exit_code == 0 and "needs 1 core(s)" in ok.output
    over = invoke("--rule", "anp", "--hidden", "1000", "--budget", "memory=64KiB,cores=2")
    assert over.exit_code == 1 and "more cores than the budget's 2" in over.output
    data = json.loads(invoke("--rule", "np", "--sweep-hidden", "8,16", "--json").output)
    assert [entry["n_hidden"] for entry in data["sweep"]] == [8, 16]
    for args, words in [
        (("--rule", "np", "--window", "5"), "--window applies to bptt"),
        (("--rule", "np", "--sweep-hidden", "8,x"), "--sweep-hidden takes sizes"),
        (("--rule", "np", "--budget", "speed=1"), "unknown budget field"),
        (("--rule", "np", "--plot", "p.png"), "--plot needs --sweep-hidden"),
        (("--rule", "bptt", "--precision", "fixed16"), "BPTT is the float reference"),
    ]:
        bad = invoke(*args)
        assert bad.exit_code == 2 and words in bad.output, bad.output
    plot = tmp_path / "growth.png"
    sweep = run("profile", "--rule", "anp", "--sweep-hidden", "8,32,128", "--plot", str(plot))
    assert sweep.returncode == 0, sweep.stderr
    assert "operations ~ n^" in sweep.stdout and plot.stat().st_size > 10_000


def test_gle_learns_the_teacher_through_the_cli_and_resumes_exactly(tmp_path):
    url = "synth:teacher?train=30000&test=3000&seed=2&epochs=2"
    base = ["run", "--rule", "gle", "--stream", url, "--hidden", "3", "-q", "--json",
            "-p", "learning_rate=1", "-p", "tau_learning_rate=0.02"]  # fmt: skip
    full, _, _ = resume_matches_whole_run(base, url, 41000, tmp_path)
    assert full["rule"] == "gle" and full["steps"] == 60000
    assert full["train_loss"] < 0.5 * full["train_loss_first"]
    assert full["test_nrmse"] < 0.3


def test_gle_with_averaged_weights_resumes_exactly_and_tests_on_the_average(tmp_path):
    # Every MNIST-1D sample starts from rest: the test part's outputs depend on
    # the weights only, not on where training left the neurons.
    url = "synth:mnist1d?train=100&test=50&hold=1&epochs=2"
    base = ["run", "--rule", "gle", "--stream", url, "--hidden", "8", "-q", "--json",
            "-p", "average=1000"]  # fmt: skip
    full, done, _ = resume_matches_whole_run(base, url, 5000, tmp_path)
    assert np.abs(done.state["average"] - done.state["params"]).max() > 1e-4
    # The test part ran on the averaged weights: the same loss from a network holding them.
    inputs, targets, has_target, reset, _ = open_stream(url).test
    targets = np.where(has_target[:, None], targets, np.nan)
    loss = done.averaged().predict(inputs, targets, reset=reset).mean_loss
    assert abs(full["test_loss"] - loss) <= 1e-9 * abs(loss), (full["test_loss"], loss)
    other = done.unaveraged().predict(inputs, targets, reset=reset).mean_loss  # last weights
    assert abs(other - loss) > 1e-6 * abs(loss), (other, loss)


def test_sequence_tasks_report_per_step_and_per_sequence_accuracy():
    # Temporal order scores one step per sequence: both accuracies are one number.
    order = summary_of(run("run", "--rule", "anp", "--stream",
                           "synth:temporal-order?T=12&train=200&test=100", "--hidden", "8",
                           "--json", "-q"))  # fmt: skip
    assert order["test_sequence_accuracy"] == order["test_accuracy"]
    assert order["test_steps"] == 1200
    # Sequence expansion scores every step: a sequence is right only if all are.
    expansion = summary_of(run("run", "--rule", "anp", "--stream",
                               "synth:sequence-expansion?T=6&train=300&test=100", "--hidden",
                               "8", "--json", "-q"))  # fmt: skip
    assert expansion["test_sequence_accuracy"] < expansion["test_accuracy"]
    assert expansion["test_steps"] == 600


def test_gle_classification_reports_accuracy():
    result = run("run", "--rule", "gle", "--stream", "synth:mnist1d?train=100&test=50&hold=1",
                 "--hidden", "8", "--json", "-q")  # fmt: skip
    summary = summary_of(result)
    assert 0 <= summary["test_accuracy"] <= 1 and summary["baseline_accuracy"] == 0.1


def test_gle_on_lava_through_the_cli_matches_the_host(tmp_path):
    pytest.importorskip("lava.magma", reason="the lava extra is not installed")
    base = ["run", "--rule", "gle", "--precision", "fixed16", "--hidden", "4", "-p", "layers=2",
            "--stream", "synth:teacher?train=150&test=50", "--json", "-q"]  # fmt: skip
    summaries = {}
    for target in ("host", "lava"):
        path = tmp_path / f"{target}.npz"
        summaries[target] = summary_of(run(*base, "--target", target, "--checkpoint", str(path)))
    assert summaries["lava"]["target"] == "lava"
    for key in ("train_loss", "test_loss", "steps"):
        assert summaries["lava"][key] == summaries["host"][key], key
    host, lava = Network.load(tmp_path / "host.npz"), Network.load(tmp_path / "lava.npz")
    for name, array in host.state.items():
        np.testing.assert_array_equal(lava.state[name], array, err_msg=name)


def test_lra_learns_temporal_order_through_the_cli():
    result = run("run", "--rule", "lra", "--regularize", "0.5", "--window", "4", "--stream",
                 "synth:temporal-order?T=10&train=400&test=200", "--hidden", "32", "--json",
                 "-q")  # fmt: skip
    summary = summary_of(result)
    assert summary["rule"] == "lra" and summary["baseline_accuracy"] == 0.25
    assert summary["test_accuracy"] >= 0.9, summary
    bad = run("run", "--rule", "anp", "--window", "4", "--stream", "synth:mackey-glass", "-q")
    assert bad.returncode == 2
    assert "hyper-parameter 'window' does not apply to rule 'anp'" in bad.stderr


def test_tptt_in_fixed_point_resumes_exactly_through_the_cli(tmp_path):
    url = "synth:copy-memory?length=3&delay=2&train=120&test=20&marker=one"
    base = ["run", "--rule", "tptt", "--window", "6", "--precision", "fixed16", "--stream", url,
            "--loss", "mse", "--hidden", "16", "-p", "inverse_warmup=100", "--json", "-q"]  # fmt: skip
    full, done, _ = resume_matches_whole_run(base, url, 500, tmp_path, "--loss", "mse")
    assert full["steps"] == 120 * 8 and full["precision"] == "fixed16"
    assert 0 <= full["test_accuracy"] <= 1 and "baseline_loss" not in full
    assert done.state["window_inputs"].shape == (6, 10)


def test_tptt_with_averaged_weights_resumes_exactly_and_tests_on_the_average(tmp_path):
    url = "synth:copy-memory?length=3&delay=2&train=120&test=20&marker=one"
    base = ["run", "--rule", "tptt", "--window", "6", "--precision", "float32", "--stream", url,
            "--hidden", "16", "-p", "inverse_warmup=100", "-p", "average=200", "--json",
            "-q"]  # fmt: skip
    full, done, _ = resume_matches_whole_run(base, url, 500, tmp_path)
    assert np.abs(done.state["average"] - done.state["params"]).max() > 1e-4
    # The test part ran on the averaged weights: the same loss from a network holding them.
    plain = NetworkSpec("tptt", 10, 10, n_hidden=16, loss="xent", precision="float32",
                        params={"window": 6})  # fmt: skip
    on_average = Network(plain)
    on_average.state["params"][:] = done.state["average"]
    inputs, targets, has_target, reset, _ = open_stream(url).test
    targets = np.where(has_target[:, None], targets, np.nan)
    loss = on_average.predict(inputs, targets, reset=reset).mean_loss
    assert abs(full["test_loss"] - loss) <= 1e-9 * abs(loss), (full["test_loss"], loss)
