"""Device streams end to end: the real CLI reads a pseudo-terminal or a TCP
socket written by another process (tests/streams/device_writer.py), and
pyserial's loop:// through the API. Faults: the device goes away and comes
back, goes away for good, stays silent through Ctrl-C; kill -9 and resume."""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import numpy as np
import pytest
import serial
from timelocal import Network, NetworkSpec
from timelocal.runtime.session import RunOptions, Session
from timelocal.streams.protocol import encode_frame
from timelocal.streams.serial import open_serial, split_url
from timelocal.streams.sources import _open_problem

from tests.helpers import sample_data

CLI = [sys.executable, "-m", "timelocal.cli"]
WRITER = str(Path(__file__).with_name("device_writer.py"))
NET = ["--rule", "anp", "--hidden", "12", "--inputs", "2", "--outputs", "1"]


def text_lines(inputs, targets, bad_every=0):
    lines = ["a,b|y"]
    for t, (u, y) in enumerate(zip(inputs, targets, strict=True)):
        if bad_every and t % bad_every == 5:
            lines.append(["1,2,3,4", "x,1|2", "nan,1|2"][t % 3])
        target = "" if np.isnan(y).all() else repr(float(y[0]))
        lines.append(f"{u[0]!r},{u[1]!r}|{target}")
    return ("\n".join(lines) + "\n").encode()


def make_pty():
    """A pseudo-terminal in raw mode: (master fd, slave path)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    os.close(slave)
    return master, path


class Device:
    """The writer process: holds the pty master (or serves TCP) and writes
    ``data`` after ``go()``; ``unplug()`` closes it."""

    def __init__(self, data_path, *, master=None, listen=None, pause=0.0):
        args = [sys.executable, WRITER, "--data", str(data_path), "--pause", str(pause)]
        args += ["--fd", str(master)] if master is not None else ["--listen", str(listen)]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, pass_fds=(master,) if master is not None else ())  # fmt: skip
        if master is not None:
            os.close(master)  # the writer holds the only master: its exit unplugs the device
        assert self.proc.stdout.readline().strip() in ("ready", "listening")

    def go(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def written(self):
        assert self.proc.stdout.readline().strip() == "written"

    def unplug(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


class Cli:
    """The CLI in a subprocess; its stderr is read line by line as it comes."""

    def __init__(self, *args, stdin=None):
        self.proc = subprocess.Popen([*CLI, "run", *args], stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)  # fmt: skip
        self.lines: queue.Queue = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, text, timeout=90):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.stderr.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} on stderr; got:\n{''.join(self.stderr)}")

    def finish_with(self, text, timeout=90):
        """Write ``text`` to standard input, close it, and finish."""
        self.proc.stdin.write(text)
        self.proc.stdin.close()
        return self.finish(timeout)

    def finish(self, timeout=90):
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        out = self.proc.stdout.read()
        self.proc.wait(timeout=timeout)
        while not self.lines.empty():
            self.stderr.append(self.lines.get())
        return self.proc.returncode, out, "".join(self.stderr)


def summary(out):
    return json.loads(out.strip().splitlines()[-1])


def params(path):
    return Network.load(path).state["params"]


def wait_rows(path, rows, timeout=60):
    """Wait until a predictions file has ``rows`` rows (the header aside)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and len(path.read_text().splitlines()) - 1 >= rows:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not reach {rows} rows")


def test_a_serial_device_learns_the_same_as_the_file_of_its_data(tmp_path):
    inputs, targets = sample_data(1200, 2, 1, missing_every=9)
    (tmp_path / "d.csv").write_bytes(text_lines(inputs, targets, bad_every=100))
    code, out, err = Cli(*NET, "--stream", f"file:{tmp_path / 'd.csv'}", "--checkpoint",
                         str(tmp_path / "file.npz"), "--json", "-q").finish()  # fmt: skip
    assert code == 0, err
    from_file = summary(out)
    master, path = make_pty()
    device = Device(tmp_path / "d.csv", master=master)
    cli = Cli(*NET, "--stream", f"serial://{path}?baud=115200", "--steps", "1200",
              "--checkpoint", str(tmp_path / "serial.npz"), "--json")  # fmt: skip
    cli.wait_for("reading serial://")
    device.go()
    code, out, err = cli.finish()
    device.unplug()
    assert code == 0, err
    from_serial = summary(out)
    assert from_serial["steps"] == from_file["steps"] == 1200
    assert from_serial["bad_samples_by_kind"] == from_file["bad_samples_by_kind"]
    assert from_serial["bad_samples"] == 12
    np.testing.assert_array_equal(params(tmp_path / "serial.npz"), params(tmp_path / "file.npz"))


def test_frames_over_a_socket_learn_the_same_as_their_recording(tmp_path):
    inputs, targets = sample_data(800, 2, 1)
    frames = bytearray()
    for k, (u, y) in enumerate(zip(inputs, targets, strict=True)):
        frame = encode_frame(u, y, sequence=k)
        frames += frame[: len(frame) // 2] if k % 97 == 50 else frame  # cut short: CRC error
    (tmp_path / "rec.bin").write_bytes(frames)
    code, out, err = Cli(*NET, "--stream", f"file:{tmp_path / 'rec.bin'}", "--checkpoint",
                         str(tmp_path / "file.npz"), "--json", "-q").finish()  # fmt: skip
    assert code == 0, err
    from_file = summary(out)
    port = 20000 + os.getpid() % 20000
    device = Device(tmp_path / "rec.bin", listen=port)
    cli = Cli(*NET, "--stream", f"socket://127.0.0.1:{port}?protocol=frames", "--steps",
              str(from_file["steps"]), "--checkpoint", str(tmp_path / "sock.npz"), "--json")  # fmt: skip
    cli.wait_for("reading socket://")
    device.go()
    code, out, err = cli.finish()
    device.unplug()
    assert code == 0, err
    assert from_file["steps"] == 800 - 8
    assert summary(out)["bad_samples_by_kind"] == from_file["bad_samples_by_kind"] == {
        "crc_error": 8, "gap": 8}  # fmt: skip
    np.testing.assert_array_equal(params(tmp_path / "sock.npz"), params(tmp_path / "file.npz"))


def test_the_device_goes_away_and_comes_back(tmp_path):
    inputs, targets = sample_data(1000, 2, 1)
    (tmp_path / "one.csv").write_bytes(text_lines(inputs[:400], targets[:400]))
    (tmp_path / "two.csv").write_bytes(text_lines(inputs[400:], targets[400:]))
    link = tmp_path / "ttySENSOR"  # like /dev/serial/by-id/...: the name survives a replug
    master, path = make_pty()
    link.symlink_to(path)
    device = Device(tmp_path / "one.csv", master=master)
    preds = tmp_path / "preds.csv"
    cli = Cli(*NET, "--stream", f"serial://{link}", "--reconnect", "30", "--steps", "1000",
              "--predictions", str(preds), "--checkpoint", str(tmp_path / "c.npz"), "--json")  # fmt: skip
    cli.wait_for("reading serial://")
    device.go()
    wait_rows(preds, 400)
    device.unplug()
    cli.wait_for("reconnecting for up to 30 s")
    master, path = make_pty()
    (tmp_path / "new").symlink_to(path)
    os.replace(tmp_path / "new", link)
    device = Device(tmp_path / "two.csv", master=master)
    cli.wait_for("reconnected after")
    device.go()
    code, out, err = cli.finish()
    device.unplug()
    assert code == 0, err
    result = summary(out)
    assert result["steps"] == 1000 and result["reconnects"] >= 1 and result["stream_end"] is None
    # The same as learning the two parts with the neuron state reset between.
    net = Network(NetworkSpec("anp", 2, 1, n_hidden=12))
    net.learn(inputs[:400], targets[:400])
    net.reset_state()
    net.learn(inputs[400:], targets[400:])
    np.testing.assert_array_equal(params(tmp_path / "c.npz"), net.state["params"])
    assert len(preds.read_text().splitlines()) == 1001


def test_a_device_that_does_not_come_back_stops_the_run_with_the_checkpoint(tmp_path):
    inputs, targets = sample_data(300, 2, 1)
    (tmp_path / "d.csv").write_bytes(text_lines(inputs, targets))
    master, path = make_pty()
    device = Device(tmp_path / "d.csv", master=master)
    preds = tmp_path / "p.csv"
    cli = Cli(*NET, "--stream", f"serial://{path}", "--reconnect", "0.5", "--predictions",
              str(preds), "--checkpoint", str(tmp_path / "c.npz"), "--json")  # fmt: skip
    cli.wait_for("reading serial://")
    device.go()
    wait_rows(preds, 300)
    device.unplug()
    code, out, err = cli.finish()
    assert code == 1, err
    result = summary(out)
    assert result["steps"] == 300 and "not back after 0.5 s" in result["stream_end"]
    assert "error: the stream stopped" in err and "Traceback" not in err
    assert Network.load(tmp_path / "c.npz").steps_trained == 300


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_a_run_waiting_on_a_silent_device(tmp_path, signum, code):
    master, path = make_pty()
    try:
        cli = Cli(*NET, "--stream", f"serial://{path}", "--checkpoint", str(tmp_path / "c.npz"),
                  "--json")  # fmt: skip
        cli.wait_for("reading serial://")
        time.sleep(0.3)
        cli.proc.send_signal(signum)
        returncode, out, err = cli.finish(timeout=20)
    finally:
        os.close(master)
    assert returncode == code, err
    assert summary(out)["interrupted"] is True
    assert Network.load(tmp_path / "c.npz").steps_trained == 0


def test_kill_9_then_resume_matches_an_uninterrupted_run_bit_for_bit(tmp_path):
    inputs, targets = sample_data(6000, 2, 1, missing_every=11)
    data = text_lines(inputs, targets).decode().splitlines(keepends=True)
    header, lines = data[0], data[1:]
    full = tmp_path / "full.npz"
    code, _, err = Cli(*NET, "--stream", "-", "--checkpoint", str(full), "-q",
                       stdin=subprocess.PIPE).finish_with("".join(data))  # fmt: skip
    assert code == 0, err
    ckpt = tmp_path / "c.npz"
    cli = Cli(*NET, "--stream", "-", "--checkpoint", str(ckpt), "--checkpoint-every", "500",
              "-q", stdin=subprocess.PIPE)  # fmt: skip
    cli.proc.stdin.write(header + "".join(lines[:3200]))
    cli.proc.stdin.flush()
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if ckpt.exists() and Network.load(ckpt).steps_trained >= 2500:
            break
        time.sleep(0.05)
    cli.proc.kill()  # SIGKILL: no chance to write anything
    cli.proc.wait(timeout=10)
    position = Network.load(ckpt).checkpoint_meta["position"]
    assert position % 500 == 0 and 2500 <= position <= 3000
    code, _, err = Cli("--resume", str(ckpt), "--stream", "-", "--inputs", "2", "--outputs", "1",
                       "--checkpoint", str(ckpt), "-q",
                       stdin=subprocess.PIPE).finish_with("".join(lines[position:]))  # fmt: skip
    assert code == 0, err
    resumed, uninterrupted = Network.load(ckpt), Network.load(full)
    assert resumed.steps_trained == 6000
    for name, array in uninterrupted.state.items():
        np.testing.assert_array_equal(resumed.state[name], array, err_msg=name)


def test_predictions_leave_while_the_stream_is_still_open(tmp_path):
    cli = Cli(*NET, "--stream", "-", "--predictions", "-", "--max-latency-ms", "20", "-q",
              stdin=subprocess.PIPE)  # fmt: skip
    assert cli.proc.stdout.readline().strip() == "step,phase,y_1"
    delays = []
    for k in range(5):
        sent = time.monotonic()
        cli.proc.stdin.write(f"{0.1 * k},0.5|0.25\n")
        cli.proc.stdin.flush()
        line = cli.proc.stdout.readline()
        delays.append(time.monotonic() - sent)
        assert line.startswith(f"{k},train,")
    code, _, err = cli.finish()
    assert code == 0, err
    assert max(delays) < 1.0, delays  # 20 ms + one poll, when the machine is not loaded


def test_loop_url_through_the_api_learns_the_same_as_the_file(tmp_path):
    inputs, targets = sample_data(500, 2, 1)
    data = text_lines(inputs, targets, bad_every=50)
    port = serial.serial_for_url("loop://", timeout=0.01)
    writer = threading.Thread(target=port.write, args=(data,), daemon=True)  # 4 KiB buffer
    writer.start()
    stream = open_serial("loop://", 2, 1, "skip", "mse", port=port)
    spec = NetworkSpec("wp", 2, 1, n_hidden=8)
    net = Network(spec)
    result = Session(net, stream, RunOptions(steps=500, chunk_size=64)).run()
    assert result["steps"] == 500 and result["bad_samples"] == 10
    reference = Network(spec)
    reference.learn(inputs, targets)
    np.testing.assert_array_equal(net.state["params"], reference.state["params"])
    writer.join(timeout=5)
    stream.close()


def test_a_device_url_names_the_text_separator():
    port, settings, options = split_url("loop://?sep=tab&timestamp=1&baud=9600")
    assert options["text"] == {"timestamp": True, "period": None, "separator": "\t"}
    assert settings["baudrate"] == 9600 and port == "loop://"
    assert "separator" not in split_url("serial:///dev/ttyUSB0")[2]["text"]  # the default: ,
    assert split_url("socket://127.0.0.1:5000?logging=debug&sep=;")[0] == (
        "socket://127.0.0.1:5000?logging=debug")  # fmt: skip


def test_a_loop_url_opens_through_the_cli():
    # A loop:// port echoes what is written to it: nothing, so the run ends on the silence.
    result = subprocess.run([*CLI, "run", *NET, "--stream", "loop://?timeout=0.5", "--json"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "cannot open" not in result.stderr, result.stderr
    assert '"steps": 0' in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize(
    "url,message",
    [
        ("serial:///dev/ttyNOPE0", "cannot open /dev/ttyNOPE0: no such device"),
        ("bogus://somewhere", "protocol 'bogus' not known"),
        ("serial:///dev/null?speed=9600", "unknown option 'speed'"),
        ("serial:///dev/null?baud=fast", "baud='fast' is not a valid int"),
        ("socket://127.0.0.1:1", "cannot open socket://127.0.0.1:1"),
        ("serial:///dev/ttyS99?protocol=morse", "protocol=morse is unknown"),
    ],
)
def test_device_url_errors_are_one_sentence_exit_2(url, message):
    result = subprocess.run([*CLI, "run", *NET, "--stream", url], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_permission_problems_say_what_to_do():
    message = _open_problem("/dev/ttyUSB0", PermissionError(13, "Permission denied"))
    assert "permission denied" in message and "dialout" in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root opens any device")
def test_a_device_without_permission_is_a_usage_error(tmp_path):
    master, path = make_pty()
    os.chmod(path, 0)
    try:
        result = subprocess.run([*CLI, "run", *NET, "--stream", f"serial://{path}"],
                                capture_output=True, text=True, timeout=60)  # fmt: skip
    finally:
        os.close(master)
    assert result.returncode == 2 and "permission denied" in result.stderr
