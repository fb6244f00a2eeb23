"""File and standard-input streams: ``file:PATH.csv``, ``file:PATH.npy``, ``-``.

Columns are inputs then targets; ``n_inputs`` says how many are inputs. Bad
samples never reach the network: they are counted by kind and skipped
(policy ``skip``), or stop the run with the line number (policy ``stop``)."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from timelocal.runtime.errors import BadSampleError, StreamError
from timelocal.streams.base import Chunk, Stream
from timelocal.streams.parse import (
    is_blank,
    looks_like_header,
    parse_line,
    split_fields,
    validate_row,
)

POLICIES = ("skip", "stop")


@dataclass
class _Validated(Stream):
    """Shared bookkeeping of streams that validate samples one by one."""

    on_bad_input: str = "skip"
    bad_lines: list = field(default_factory=list)  # (where, kind, message), first few

    def _reject(self, where: str, error: BadSampleError) -> None:
        if self.on_bad_input == "stop":
            raise StreamError(f"{self.url}: {where}: {error} (--on-bad-input stop)")
        self.bad_samples[error.kind] += 1
        if len(self.bad_lines) < 20:
            self.bad_lines.append((where, error.kind, str(error)))


class _ChunkBuilder:
    """Collects validated samples and emits them as chunks."""

    def __init__(self, n_inputs: int, n_outputs: int, chunk_size: int):
        self.inputs = np.zeros((chunk_size, n_inputs))
        self.targets = np.zeros((chunk_size, n_outputs))
        self.has_target = np.zeros(chunk_size, bool)
        self.count = 0

    def add(self, inputs, targets) -> bool:
        """Add a sample; True when the chunk is full."""
        self.inputs[self.count] = inputs
        if targets is None:
            self.targets[self.count] = 0.0
            self.has_target[self.count] = False
        else:
            self.targets[self.count] = targets
            self.has_target[self.count] = True
        self.count += 1
        return self.count == self.inputs.shape[0]

    def take(self) -> Chunk:
        k = self.count
        self.count = 0
        has_target = self.has_target[:k].copy()
        return Chunk(
            self.inputs[:k].copy(), self.targets[:k].copy(), has_target,
            np.zeros(k, bool), has_target.copy(),
        )  # fmt: skip


@dataclass
class TextStream(_Validated):
    """CSV lines from a file or standard input, read as they come."""

    source: object = None  # a path, or an open text file (stdin)

    def chunks(self, chunk_size: int, skip: int = 0) -> Iterator[Chunk]:
        handle = self.source if not isinstance(self.source, Path) else self._open()
        try:
            builder = _ChunkBuilder(self.n_inputs, self.n_outputs, chunk_size)
            first = True
            for lineno, line in enumerate(handle, start=1):
                if is_blank(line):
                    continue
                if first:
                    first = False
                    if looks_like_header(line):
                        continue
                try:
                    inputs, targets = parse_line(line, self.n_inputs, self.n_outputs)
                except BadSampleError as error:
                    self._reject(f"line {lineno}", error)
                    continue
                if skip:
                    skip -= 1
                    continue
                if builder.add(inputs, targets):
                    yield builder.take()
            if builder.count:
                yield builder.take()
        except UnicodeDecodeError as exc:
            raise StreamError(f"{self.url}: not a text file ({exc.reason})") from None
        finally:
            if handle is not self.source:
                handle.close()

    def _open(self):
        try:
            return open(self.source, encoding="utf-8", newline="")
        except OSError as exc:
            raise StreamError(f"cannot open {self.source}: {exc.strerror}") from None


@dataclass
class NpyStream(_Validated):
    """A 2-D ``.npy`` array, one row per step, read through a memory map."""

    data: np.ndarray | None = None

    def chunks(self, chunk_size: int, skip: int = 0) -> Iterator[Chunk]:
        builder = _ChunkBuilder(self.n_inputs, self.n_outputs, chunk_size)
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
                        self._reject(f"row {start + offset}", error)
                        continue
                if skip:
                    skip -= 1
                    continue
                if builder.add(row[: self.n_inputs], row[self.n_inputs :] if has_target else None):
                    yield builder.take()
        if builder.count:
            yield builder.take()


def _widths(url: str, columns: int | None, n_inputs: int | None, n_outputs: int | None):
    if n_inputs is None:
        raise StreamError(f"{url}: say how many leading columns are inputs with --inputs N")
    if n_outputs is None:
        if columns is None:
            raise StreamError(f"{url}: cannot tell how many columns are targets; give --outputs M")
        n_outputs = columns - n_inputs
        if n_outputs < 1:
            raise StreamError(
                f"{url}: {columns} columns but --inputs {n_inputs}: no column is left for "
                "targets (give --outputs M if the first line has no targets)"
            )
    if n_inputs < 1 or n_outputs < 1:
        raise StreamError(f"{url}: --inputs and --outputs must be >= 1")
    return n_inputs, n_outputs


def open_csv(url: str, path: Path, n_inputs, n_outputs, on_bad_input: str, loss: str) -> TextStream:
    """A CSV file: optional header (a first line of column names)."""
    if not path.exists():
        raise StreamError(f"{url}: no such file {path}")
    if path.is_dir():
        raise StreamError(f"{url}: {path} is a directory, not a file")
    header_line, columns, names = None, None, None
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            for lineno, line in enumerate(handle, start=1):
                if is_blank(line):
                    continue
                if looks_like_header(line):
                    header_line, names = lineno, split_fields(line)
                columns = len(split_fields(line))
                break
    except OSError as exc:
        raise StreamError(f"cannot open {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise StreamError(f"{url}: {path} is not a UTF-8 text file") from None
    n_inputs, n_outputs = _widths(url, columns, n_inputs, n_outputs)
    if names is not None and len(names) != n_inputs + n_outputs:
        raise StreamError(
            f"{url}: the header names {len(names)} columns, but --inputs {n_inputs} and "
            f"{n_outputs} outputs make {n_inputs + n_outputs}"
        )
    info = {"header_line": header_line, "columns": names}
    return TextStream(
        url=url, n_inputs=n_inputs, n_outputs=n_outputs, loss=loss, info=info,
        on_bad_input=on_bad_input, source=path,
    )  # fmt: skip


def open_npy(url: str, path: Path, n_inputs, n_outputs, on_bad_input: str, loss: str) -> NpyStream:
    if not path.exists():
        raise StreamError(f"{url}: no such file {path}")
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


def open_stdin(n_inputs, n_outputs, on_bad_input: str, loss: str, handle=None) -> TextStream:
    """CSV lines on standard input; no header (widths come from the options)."""
    if n_inputs is None or n_outputs is None:
        raise StreamError("-: reading standard input needs --inputs N and --outputs M")
    n_inputs, n_outputs = _widths("-", None, n_inputs, n_outputs)
    if handle is None:
        handle = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    return TextStream(
        url="-", n_inputs=n_inputs, n_outputs=n_outputs, loss=loss,
        on_bad_input=on_bad_input, source=handle,
    )  # fmt: skip
