"""Stream URLs: ``synth:NAME?option=value&...``, ``file:PATH``, ``-`` (stdin),
``serial:///dev/...`` and every other URL pyserial understands."""

from __future__ import annotations

import inspect
from pathlib import Path
from urllib.parse import parse_qsl

from timelocal.runtime.errors import StreamError
from timelocal.streams import synthetic
from timelocal.streams.base import POLICIES, Stream
from timelocal.streams.files import open_csv, open_frames, open_npy, open_stdin
from timelocal.streams.parse import TEXT_OPTIONS, text_options
from timelocal.streams.serial import open_serial

SYNTHETIC = {
    "mackey-glass": synthetic.mackey_glass,
    "copy-memory": synthetic.copy_memory,
    "teacher": synthetic.teacher,
    "mnist1d": synthetic.mnist1d,
    "sequence-expansion": synthetic.sequence_expansion,
    "temporal-order": synthetic.temporal_order,
    "random-permutation": synthetic.random_permutation,
}

# What `timelocal streams` prints.
STREAM_KINDS = {
    "synth:mackey-glass": "Mackey-Glass series (tau 17), input x_t, target x_{t+horizon}; "
    "train and test parts from different seeds; test MSE and NRMSE",
    "synth:copy-memory": "copy memory, 10 one-hot symbols, one sequence of 2 length + delay "
    "steps after another; marker=all (markers through the recall phase) or one (seed 004: "
    "one marker on the last delay step); cross-entropy, recall accuracy per step and per "
    "sequence, and the memoryless baseline",
    "synth:teacher": "seed 003's teacher/student task: a fixed random GLE network driven by "
    "sums of sines; the target is its output (options inputs, hidden, layers, outputs, dt; "
    "run the student with the same dt)",
    "synth:mnist1d": "MNIST-1D (built offline by the mnist1d package): one input, each of a "
    "sample's points= points (40) held for hold= steps, the one-hot label as target during "
    "the last label= share; reset=0 carries the neurons over from one sample to the next; "
    "options samples, train, test, loss=xent|mse, seed (42: the standard set); test accuracy",
    "synth:sequence-expansion": "seed 004's sequence expansion: T steps, the first T/2 random "
    "symbols out of 8, then blanks; the target at step t is the input of step t/2 (options T, "
    "train, test sequences); per-step and per-sequence accuracy",
    "synth:temporal-order": "Hochreiter & Schmidhuber's temporal order: T symbols (B, E and "
    "distractors), X or Y at bits= places (2 or 3); the order is the class, scored at the last "
    "step (options T, bits, train, test)",
    "synth:random-permutation": "the random permutation task: T symbols out of 100, the "
    "first 0 or 1 and the class at the last step (options T, train, test)",
    "file:PATH.csv": "text lines: inputs, then targets (or inputs | targets; no targets: "
    "predict only); optional header line; needs --inputs N unless the header has a '|' "
    "(and --outputs M when the width is unclear); the field separator (, ; tab or blanks) is "
    "read off the first line; options sep=,|;|tab|space, timestamp=1 (the first column is a "
    "time in seconds, not an input), period=S",
    "file:PATH.npy": "a 2-D array, one row per step, inputs then targets (NaN targets: "
    "predict only); needs --inputs N",
    "file:PATH.bin": "binary frames (a device's output, recorded); needs --inputs N and "
    "--outputs M",
    "-": "text lines on standard input, handed on as they arrive; needs --inputs N and "
    "--outputs M; options as -?sep=;&timestamp=1 (the separator is , unless sep= names another)",
    "serial:///dev/ttyUSB0": "a serial port, read as it arrives; options baud=115200, "
    "protocol=text|frames, timeout=S (silence = lost), timestamp=1, period=S, "
    "sep=,|;|tab|space (text lines' separator, default ,), bytesize, parity, stopbits, "
    "rtscts, xonxoff; needs --inputs N and --outputs M",
    "loop:// socket://HOST:PORT rfc2217://HOST:PORT ...": "any URL pyserial understands, "
    "with the same options as serial://",
}


def synthetic_options(name: str) -> dict:
    """The options of a synthetic stream and their defaults."""
    return {p.name: p.default for p in inspect.signature(SYNTHETIC[name]).parameters.values()}


def _parse_options(url: str, name: str, query: str) -> dict:
    allowed = synthetic_options(name)
    options = {}
    for key, text in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if key not in allowed:
            raise StreamError(
                f"{url}: unknown option {key!r} for synth:{name}; "
                f"options: {', '.join(f'{k}={v}' for k, v in allowed.items())}"
            )
        kind = type(allowed[key])
        if kind is str:
            options[key] = text
            continue
        try:
            value = kind(text)
        except ValueError:
            raise StreamError(
                f"{url}: option {key} must be a {'whole number' if kind is int else 'number'}, "
                f"got {text!r}"
            ) from None
        # 0 is refused for counts and sizes, except where it means something:
        # a seed, no delay, no reset, or "all" (an option whose default is 0).
        zero_allowed = key in ("seed", "delay", "reset") or allowed[key] == 0
        if value < 0 or (kind is int and value == 0 and not zero_allowed):
            raise StreamError(f"{url}: option {key} must be positive, got {text!r}")
        options[key] = value
    return options


def _text_options(url: str, query: str, kind: str) -> dict:
    """A text file's or standard input's URL options (sep=, timestamp=, period=)."""
    options, unknown = text_options(url, parse_qsl(query, keep_blank_values=True))
    if unknown:
        raise StreamError(f"{url}: unknown option {unknown[0][0]!r} for {kind}; options: "
                          f"{', '.join(TEXT_OPTIONS)}")  # fmt: skip
    return options


def open_stream(
    url: str,
    *,
    n_inputs: int | None = None,
    n_outputs: int | None = None,
    on_bad_input: str = "skip",
    loss: str | None = None,
    reconnect: float = 0.0,
    max_latency: float = 0.02,
) -> Stream:
    """Open the stream named by ``url``; errors say what is wrong with it.

    ``reconnect``: seconds to keep reopening a lost device; ``max_latency``:
    seconds a sample of a live stream may wait for its chunk to fill."""
    if on_bad_input not in POLICIES:
        raise StreamError(f"unknown bad-input policy {on_bad_input!r}; choose skip or stop")
    if url == "-" or url.startswith("-?"):
        stream = open_stdin(n_inputs, n_outputs, on_bad_input, loss or "mse",
                            **_text_options(url, url[2:], "-"))  # fmt: skip
        stream.max_latency = max_latency
        return stream
    scheme, sep, rest = url.partition(":")
    if not sep:
        raise StreamError(
            f"{url!r} is not a stream URL; use synth:NAME, file:PATH, serial:///dev/PORT or - "
            "(`timelocal streams` lists them)"
        )
    if scheme == "synth":
        name, _, query = rest.partition("?")
        if name not in SYNTHETIC:
            raise StreamError(
                f"unknown synthetic stream {name!r}; choose one of {', '.join(SYNTHETIC)}"
            )
        stream = SYNTHETIC[name](**_parse_options(url, name, query))
        stream.url = url
        for given, have, what in ((n_inputs, stream.n_inputs, "inputs"),
                                  (n_outputs, stream.n_outputs, "outputs")):  # fmt: skip
            if given is not None and given != have:
                raise StreamError(f"{url} has {have} {what}, not {given}")
        if loss is not None and loss != stream.loss:
            if (stream.loss, loss) != ("xent", "mse"):
                raise StreamError(f"{url} is scored with the {stream.loss} loss, not {loss}")
            # A classification task learned on the squared error of its one-hot
            # targets (fixed point has no softmax); accuracy is still the argmax.
            stream.loss = "mse"
            stream.info = {key: value for key, value in stream.info.items()
                           if key != "baseline_loss"} | {"classification": True}  # fmt: skip
        return stream
    if scheme == "file":
        path, query = Path(rest.removeprefix("//")), ""
        if not path.exists() and "?" in rest:  # a file whose name has a '?' keeps it
            name, _, query = rest.partition("?")
            path = Path(name.removeprefix("//"))
        binary = path.suffix.lower() in (".npy", ".bin", ".frames")
        if binary and query:
            raise StreamError(f"{url}: a {path.suffix} file takes no options (sep=, timestamp= "
                              "and period= are for text files)")  # fmt: skip
        if path.suffix.lower() == ".npy":
            return open_npy(url, path, n_inputs, n_outputs, on_bad_input, loss or "mse")
        if binary:
            return open_frames(url, path, n_inputs, n_outputs, on_bad_input, loss or "mse")
        return open_csv(url, path, n_inputs, n_outputs, on_bad_input, loss or "mse",
                        **_text_options(url, query, "file:PATH.csv"))  # fmt: skip
    if scheme == "serial" or rest.startswith("//"):
        return open_serial(url, n_inputs, n_outputs, on_bad_input, loss or "mse",
                           reconnect=reconnect, max_latency=max_latency)  # fmt: skip
    raise StreamError(
        f"unsupported stream scheme {scheme!r} in {url!r}; use synth:NAME, file:PATH, "
        "serial:///dev/PORT, a pyserial URL such as socket://HOST:PORT, or - "
        "(`timelocal streams` lists them)"
    )
