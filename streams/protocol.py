"""The two byte protocols of streams, decoded incrementally (bytes may
arrive in any pieces) into validated samples.

**Text lines** (``protocol=text``, the default): one sample per line as
``streams/parse.py`` describes, lines ended by LF, CRLF or CR, UTF-8.

**Binary frames** (``protocol=frames``), little-endian::

    offset  size  field
    0       2     sync marker A5 5A
    2       1     format: 1 = float32 values, 2 = int16 values
    3       1     fraction bits F (int16: value = raw / 2**F; float32: 0)
    4       2     sequence number, uint16, +1 per frame (wraps at 65536)
    6       1     n_in, number of inputs
    7       1     n_tgt, number of targets: 0 (no target) or n_out
    8       ...   (n_in + n_tgt) values
    end-4   4     CRC-32 (as zlib.crc32) of bytes 2 .. end-5

A frame whose CRC fails is skipped and the decoder searches again from the
byte after its sync marker, so a corrupted or truncated frame never costs the
good frame behind it. Bytes between two good frames that are not a frame are
one bad stretch, counted once: ``crc_error`` if a candidate frame failed its
CRC, else ``malformed``. A frame that passes its CRC but does not fit the
network is counted as ``wrong_width`` or ``non_finite``. A jump in the
sequence number is counted as a ``gap`` (one per jump).
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from timelocal.runtime.errors import BadSampleError, StreamError
from timelocal.streams.parse import (
    header_widths,
    is_blank,
    looks_like_header,
    parse_timed_line,
    separator_hint,
    validate_row,
)

PROTOCOLS = ("text", "frames")
MAX_LINE_BYTES = 65536  # a longer line is malformed (and cannot exhaust memory)

SYNC = b"\xa5\x5a"
HEADER = struct.Struct("<2sBBHBB")  # sync, format, fraction bits, sequence, n_in, n_tgt
CHECKSUM = struct.Struct("<I")
FORMATS = {1: np.dtype("<f4"), 2: np.dtype("<i2")}
FORMAT_CODES = {"float32": 1, "int16": 2}
MAX_FRAME_BYTES = HEADER.size + 2 * 255 * 4 + CHECKSUM.size

Reject = Callable[[str, BadSampleError], None]


@dataclass
class Sample:
    inputs: np.ndarray
    targets: np.ndarray | None
    where: str  # "line 12", "byte 3456": for messages


class TextDecoder:
    """Text lines to samples. ``reject(where, error)`` is called for every
    bad line and every gap; headers are checked against the widths."""

    def __init__(self, n_inputs: int, n_outputs: int, reject: Reject, *, timestamp=False,
                 period: float | None = None, separator: str | None = ",",
                 url: str = ""):  # fmt: skip
        self.n_inputs, self.n_outputs = n_inputs, n_outputs
        self.reject, self.timestamp, self.period, self.url = reject, timestamp, period, url
        self.separator = separator
        self.buffer = bytearray()
        self.lineno = 0
        self.discarding = False  # inside a line that was too long
        self.after_cr = False  # a CR ended the last line: a LF right after it is part of it
        self.last_time: float | None = None
        self.seen_sample = False

    def restart(self) -> None:
        """Forget a partial line and the last timestamp (after a reconnect)."""
        self.buffer.clear()
        self.discarding = self.after_cr = False
        self.last_time = None

    def feed(self, data: bytes, final: bool = False) -> list[Sample]:
        samples = []
        buffer = self.buffer
        buffer += data
        start = 0
        if self.after_cr and buffer[:1] == b"\n":
            start = 1
        self.after_cr = False
        while True:
            end = _line_end(buffer, start)
            if end < 0:
                break
            raw = bytes(buffer[start:end])
            if buffer[end] == 13:  # CR: swallow the LF of a CRLF
                if end + 1 < len(buffer):
                    end += buffer[end + 1] == 10
                else:
                    self.after_cr = True
            start = end + 1
            self._line(raw, samples)
        del buffer[:start]
        if final and buffer:
            self._line(bytes(buffer), samples)
            buffer.clear()
        elif len(buffer) > MAX_LINE_BYTES:
            if not self.discarding:
                self.lineno += 1
                self.reject(
                    f"line {self.lineno}",
                    BadSampleError("malformed", f"longer than {MAX_LINE_BYTES} bytes"),
                )
            self.discarding = True
            buffer.clear()
        return samples

    def _line(self, raw: bytes, samples: list) -> None:
        if self.discarding:  # the end of a line already rejected as too long
            self.discarding = False
            return
        self.lineno += 1
        where = f"line {self.lineno}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.reject(where, BadSampleError("malformed", "not UTF-8 text"))
            return
        if is_blank(line):
            return
        if looks_like_header(line, self.separator):
            # A header starts the stream; it may come again (a board that
            # resets prints it again). A later line of names that does not fit
            # is parsed as a sample, and rejected as one.
            if not self.seen_sample:
                self.check_header(line, where)
                return
            if self.header_fits(line):
                return
        try:
            time, inputs, targets = parse_timed_line(
                line, self.n_inputs, self.n_outputs, timestamp=self.timestamp,
                separator=self.separator,
            )  # fmt: skip
        except BadSampleError as error:
            self.reject(where, error)
            return
        if time is not None:
            self._check_time(time, where)
        self.seen_sample = True
        samples.append(Sample(inputs, targets, where))

    def header_fits(self, line: str) -> bool:
        n_in, n_out = header_widths(line, self.timestamp, self.separator)
        if n_in is None:
            return n_out == self.n_inputs + self.n_outputs
        return (n_in, n_out) == (self.n_inputs, self.n_outputs)

    def check_header(self, line: str, where: str) -> None:
        """A first line of names must fit the network (else nothing will)."""
        if not self.header_fits(line):
            n_in, n_out = header_widths(line, self.timestamp, self.separator)
            named = (f"{n_in} inputs and {n_out} targets" if n_in is not None
                     else f"{n_out} column{'s' * (n_out != 1)}")  # fmt: skip
            raise StreamError(
                f"{self.url}: {where}: the header names {named}, but the network has "
                f"{self.n_inputs} inputs and {self.n_outputs} outputs"
                + (" (and the first column is the timestamp)" if self.timestamp else "")
                + separator_hint(line.strip(), self.separator)
            )

    def _check_time(self, time: float, where: str) -> None:
        last, self.last_time = self.last_time, time
        if last is None:
            return
        if time <= last:
            self.reject(where, BadSampleError("gap", f"the time went from {last!r} to {time!r}"))
        elif self.period and time - last > 1.5 * self.period:
            missing = round((time - last) / self.period) - 1
            self.reject(where, BadSampleError(
                "gap", f"{time - last:.6g} s since the last sample: about {missing} missing"))  # fmt: skip


def _line_end(buffer: bytearray, start: int) -> int:
    lf, cr = buffer.find(b"\n", start), buffer.find(b"\r", start)
    if lf < 0:
        return cr
    return lf if cr < 0 else min(lf, cr)


class FrameDecoder:
    """Binary frames (module docstring) to samples."""

    def __init__(self, n_inputs: int, n_outputs: int, reject: Reject, *, url: str = ""):
        self.n_inputs, self.n_outputs, self.reject, self.url = n_inputs, n_outputs, reject, url
        self.buffer = bytearray()
        self.offset = 0  # stream offset of buffer[0]
        self.junk = 0  # bytes skipped since the last good frame
        self.crc_failed = False
        self.last_sequence: int | None = None

    def restart(self) -> None:
        self._report_junk()
        self.offset += len(self.buffer)
        self.buffer.clear()
        self.last_sequence = None

    def feed(self, data: bytes, final: bool = False) -> list[Sample]:
        samples = []
        buffer = self.buffer
        buffer += data
        while buffer:
            start = buffer.find(SYNC)
            if start < 0:
                keep = 1 if buffer[-1] == SYNC[0] and not final else 0
                self._skip(len(buffer) - keep)
                break
            self._skip(start)
            if len(buffer) < HEADER.size:
                if final:
                    self._skip(len(buffer))
                break
            _, code, fraction, sequence, n_in, n_tgt = HEADER.unpack_from(buffer)
            if code not in FORMATS:  # not a frame: a sync pattern inside other bytes
                self._skip(1)
                continue
            size = HEADER.size + (n_in + n_tgt) * FORMATS[code].itemsize + CHECKSUM.size
            if len(buffer) < size:
                if final:  # a truncated frame at the end of the stream
                    self.crc_failed = True
                    self._skip(1)
                    continue
                break
            (checksum,) = CHECKSUM.unpack_from(buffer, size - CHECKSUM.size)
            if zlib.crc32(buffer[2 : size - CHECKSUM.size]) != checksum:
                self.crc_failed = True
                self._skip(1)
                continue
            where = f"byte {self.offset}"
            payload = bytes(buffer[HEADER.size : size - CHECKSUM.size])
            self._skip(size, junk=False)
            self._report_junk()
            sample = self._frame(where, code, fraction, sequence, n_in, n_tgt, payload)
            if sample is not None:
                samples.append(sample)
        if final:
            self._report_junk()
        return samples

    def _skip(self, count: int, junk: bool = True) -> None:
        if count:
            del self.buffer[:count]
            self.offset += count
            self.junk += count if junk else 0

    def _report_junk(self) -> None:
        if self.crc_failed:
            self.reject(f"byte {self.offset}", BadSampleError(
                "crc_error", "a frame failed its CRC check (corrupted or cut short)"))  # fmt: skip
        elif self.junk:
            self.reject(f"byte {self.offset}", BadSampleError(
                "malformed", f"{self.junk} bytes that are not a frame"))  # fmt: skip
        self.junk, self.crc_failed = 0, False

    def _frame(self, where, code, fraction, sequence, n_in, n_tgt, payload) -> Sample | None:
        last, self.last_sequence = self.last_sequence, sequence
        if last is not None and sequence != (last + 1) & 0xFFFF:
            self.reject(where, BadSampleError(
                "gap", f"the sequence number jumped from {last} to {sequence}"))  # fmt: skip
        if n_in != self.n_inputs or n_tgt not in (0, self.n_outputs):
            self.reject(where, BadSampleError(
                "wrong_width", f"{n_in} inputs and {n_tgt} targets, expected {self.n_inputs} "
                f"and {self.n_outputs} (or 0)"))  # fmt: skip
            return None
        values = np.frombuffer(payload, FORMATS[code]).astype(np.float64)
        if code == FORMAT_CODES["int16"]:
            values = values * math.ldexp(1.0, -fraction)
        try:
            has_target = n_tgt > 0 and validate_row(values, n_in)
            if n_tgt == 0 and not np.isfinite(values).all():
                raise BadSampleError("non_finite", "an input is NaN or infinite")
        except BadSampleError as error:
            self.reject(where, error)
            return None
        return Sample(values[:n_in], values[n_in:] if has_target else None, where)


def encode_frame(inputs, targets=None, *, sequence: int = 0, fmt: str = "float32",
                 fraction_bits: int = 0) -> bytes:  # fmt: skip
    """One frame of the binary protocol (what a device sends): for device
    simulators, recordings and tests. int16 values are rounded and saturated."""
    code = FORMAT_CODES[fmt]
    values = np.asarray(inputs, np.float64).ravel()
    n_in = values.size
    n_tgt = 0
    if targets is not None:
        targets = np.asarray(targets, np.float64).ravel()
        n_tgt = targets.size
        values = np.concatenate([values, targets])
    if not (0 < n_in < 256 and n_tgt < 256):
        raise ValueError("a frame holds 1..255 inputs and 0..255 targets")
    if code == FORMAT_CODES["int16"]:
        raw = np.clip(np.rint(values * 2.0**fraction_bits), -32768, 32767).astype("<i2")
    else:
        with np.errstate(over="ignore"):  # too large for float32: inf, as a device would send
            raw = values.astype("<f4")
        fraction_bits = 0
    body = HEADER.pack(SYNC, code, fraction_bits, sequence & 0xFFFF, n_in, n_tgt)[2:]
    body += raw.tobytes()
    return SYNC + body + CHECKSUM.pack(zlib.crc32(body))
