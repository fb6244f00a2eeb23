"""File and standard-input streams: ``file:PATH.csv`` (text lines; the field
separator is read off the first line unless ``?sep=`` names it),
``file:PATH.npy`` (a 2-D array), ``file:PATH.bin`` (binary frames, e.g. a
recording of a device), and ``-`` (text lines on standard input).

Columns are inputs then targets; ``n_inputs`` says how many are inputs. Bad
samples never reach the network: they are counted by kind and skipped
(policy ``skip``), or stop the run with the line number (policy ``stop``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from timelocal.runtime.errors import BadSampleError, StreamError
from timelocal.streams.base import Chunk, ChunkBuilder, ValidatedStream
from timelocal.streams.live import DecodedStream
from timelocal.streams.parse import (
    SEPARATOR_NAMES,
    detect_separator,
    header_names,
    header_widths,
    is_blank,
    looks_like_header,
    split_fields,
    validate_row,
)
from timelocal.streams.protocol import FrameDecoder, TextDecoder
from timelocal.streams.sources import DescriptorSource, FileSource, HandleSource


@dataclass
class NpyStream(ValidatedStream):
    """A 2-D ``.npy`` array, one row per step, read through a memory map."""

    data: np.ndarray | None = None

    def chunks(self, chunk_size: int, skip: int = 0) -> Iterator[Chunk]:
        builder = ChunkBuilder(self.n_inputs, self.n_outputs, chunk_size)
        block = 65536
        for start in range(0, self.data.shape[0], block):
            rows = np.asarray(self.data[start : start + block], dtype=np.float64)
            finite = np.isfinite(rows).all(axis=1)
            for offset, row in enumerate(rows):
                has_target = True
                if not finite[offset]:
                    try:
                        has_target = validate_row(row, self.n_inputs)
                    except BadSampleError as error:
                        self.reject(f"row {start + offset}", error)
                        continue
                if skip:
                    skip -= 1
                    continue
                if builder.add(row[: self.n_inputs], row[self.n_inputs :] if has_target else None):
                    yield builder.take()
        if builder.count:
            yield builder.take()
        self.flush_warnings()


def _widths(url: str, columns: int | None, n_inputs: int | None, n_outputs: int | None,
            separator: str | None = None):  # fmt: skip
    if n_inputs is None:
        raise StreamError(f"{url}: say how many leading columns are inputs with --inputs N")
    if n_outputs is None:
        if columns is None:
            raise StreamError(f"{url}: cannot tell how many columns are targets; give --outputs M")
        n_outputs = columns - n_inputs
        if n_outputs < 1:
            parted = ""
            if separator is not None:
                parted = f" (fields parted by {SEPARATOR_NAMES[separator]!r}; sep= names another)"
            raise StreamError(
                f"{url}: {columns} column{'s' * (columns != 1)}{parted} but --inputs {n_inputs}: "
                "no column is left for targets (give --outputs M if the first line has no "
                "targets)"
            )
    if n_inputs < 1 or n_outputs < 1:
        raise StreamError(f"{url}: --inputs and --outputs must be >= 1")
    return n_inputs, n_outputs


def _first_line(url: str, path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            for line in handle:
                if not is_blank(line):
                    return line
    except OSError as exc:
        raise StreamError(f"cannot open {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise StreamError(f"{url}: {path} is not a UTF-8 text file") from None
    return None


def _check_path(url: str, path: Path) -> None:
    if not path.exists():
        raise StreamError(f"{url}: no such file {path}")
    if path.is_dir():
        raise StreamError(f"{url}: {path} is a directory, not a file")


def open_csv(url: str, path: Path, n_inputs, n_outputs, on_bad_input: str, loss: str,
             **decoding) -> DecodedStream:  # fmt: skip
    """Text lines from a file: an optional header names the columns (with a
    '|' before the targets, it also gives the widths)."""
    _check_path(url, path)
    timestamp = bool(decoding.get("timestamp"))
    line = _first_line(url, path)
    if "separator" not in decoding:
        decoding["separator"] = detect_separator(line) if line is not None else ","
    separator = decoding["separator"]
    columns, names = None, None
    if line is not None:
        if looks_like_header(line, separator):
            names = header_names(line, separator)
            header_in, header_total = header_widths(line, timestamp, separator)
            if header_in is not None:
                n_inputs = header_in if n_inputs is None else n_inputs
                n_outputs = header_total if n_outputs is None else n_outputs
            else:
                columns = header_total
        else:
            columns = len(split_fields(line, separator)) - timestamp
    n_inputs, n_outputs = _widths(url, columns, n_inputs, n_outputs, separator)
    info = {"columns": names, "separator": SEPARATOR_NAMES[separator],
            "layout": _layout(names, n_inputs, n_outputs, timestamp, separator)}  # fmt: skip
    stream = DecodedStream(
        url=url, n_inputs=n_inputs, n_outputs=n_outputs, loss=loss, info=info,
        on_bad_input=on_bad_input, source=FileSource(path, url),
    )  # fmt: skip
    stream.decoder = TextDecoder(n_inputs, n_outputs, stream.reject, url=url, **decoding)
    if names is not None:  # check the header's widths now, not after the first chunk
        stream.decoder.check_header(line, "the header line")
    return stream


def _layout(names, n_inputs: int, n_outputs: int, timestamp: bool, separator) -> str:
    """What a text file's columns are taken as, in words (the CLI shows it,
    so that a column taken for an input by mistake is seen before a run)."""
    parted = {None: "runs of blanks", "\t": "tabs"}.get(separator, repr(separator))
    if names is None:
        time = "a time, then " if timestamp else ""
        return (f"{time}{n_inputs} input{'s' * (n_inputs != 1)}, then {n_outputs} "
                f"target{'s' * (n_outputs != 1)} per line, parted by {parted}")  # fmt: skip
    time = f"time {names[0]}; " if timestamp else ""
    names = names[1:] if timestamp else names
    return (f"{time}inputs {', '.join(names[:n_inputs])}; targets "
            f"{', '.join(names[n_inputs:])} (parted by {parted})")  # fmt: skip


def open_frames(url: str, path: Path, n_inputs, n_outputs, on_bad_input: str, loss: str):
    """Binary frames from a file (a device's output, recorded)."""
    _check_path(url, path)
    if n_inputs is None or n_outputs is None:
        raise StreamError(f"{url}: a frame file needs --inputs N and --outputs M")
    n_inputs, n_outputs = _widths(url, None, n_inputs, n_outputs)
    stream = DecodedStream(
        url=url, n_inputs=n_inputs, n_outputs=n_outputs, loss=loss,
        on_bad_input=on_bad_input, source=FileSource(path, url),
    )  # fmt: skip
    stream.decoder = FrameDecoder(n_inputs, n_outputs, stream.reject, url=url)
    return stream


def open_npy(url: str, path: Path, n_inputs, n_outputs, on_bad_input: str, loss: str) -> NpyStream:
    _check_path(url, path)
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise StreamError(f"{url}: {path} is not a readable .npy array ({exc})") from None
    if data.ndim != 2 or not (
        np.issubdtype(data.dtype, np.floating) or np.issubdtype(data.dtype, np.integer)
    ):
        raise StreamError(
            f"{url}: expected a 2-D numeric array (steps x columns), got {data.dtype}{data.shape}"
        )
    n_inputs, n_outputs = _widths(url, data.shape[1], n_inputs, n_outputs)
    if n_inputs + n_outputs != data.shape[1]:
        raise StreamError(
            f"{url}: the array has {data.shape[1]} columns, but {n_inputs} inputs and "
            f"{n_outputs} outputs make {n_inputs + n_outputs}"
        )
    return NpyStream(
        url=url, n_inputs=n_inputs, n_outputs=n_outputs, loss=loss,
        train_length=data.shape[0], on_bad_input=on_bad_input, data=data,
    )  # fmt: skip


def open_stdin(n_inputs, n_outputs, on_bad_input: str, loss: str, handle=None,
               **decoding) -> DecodedStream:  # fmt: skip
    """Text lines on standard input (or ``handle``), handed on as they come."""
    if n_inputs is None or n_outputs is None:
        raise StreamError("-: reading standard input needs --inputs N and --outputs M")
    n_inputs, n_outputs = _widths("-", None, n_inputs, n_outputs)
    if handle is None:
        source = DescriptorSource(sys.stdin.fileno(), "-")
    else:
        source = HandleSource(handle, "-")
    stream = DecodedStream(
        url="-", n_inputs=n_inputs, n_outputs=n_outputs, loss=loss,
        on_bad_input=on_bad_input, source=source,
    )  # fmt: skip
    stream.decoder = TextDecoder(n_inputs, n_outputs, stream.reject, url="-", **decoding)
    return stream
