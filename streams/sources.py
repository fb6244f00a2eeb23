"""Where the bytes of a stream come from: a serial port or any pyserial URL,
a file descriptor (standard input, a pipe), a file, or a file object.

``read(timeout)`` returns the bytes available now (waiting at most
``timeout`` seconds for the first one), ``b""`` if none came, and ``None`` at
the end of the stream. A device that goes away raises ``SourceLost``."""

from __future__ import annotations

import errno
import os
import select

from timelocal.runtime.errors import StreamError


class SourceLost(Exception):
    """The device or connection went away (it may come back)."""


class ByteSource:
    name = ""
    replayable = False  # True for files: a resumed run skips what was consumed

    def open(self) -> None:
        pass

    def read(self, timeout: float) -> bytes | None:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _open_problem(name: str, exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    if code == errno.ENOENT or isinstance(exc, FileNotFoundError):
        return f"cannot open {name}: no such device"
    if code == errno.EACCES or isinstance(exc, PermissionError):
        return (
            f"cannot open {name}: permission denied (on Linux, add yourself to the group "
            "that owns the device, often 'dialout', and log in again)"
        )
    if code == errno.EBUSY:
        return f"cannot open {name}: the device is busy (another program has it open)"
    text = str(exc)
    return f"cannot open {name}: {text}" if text else f"cannot open {name}"


class SerialSource(ByteSource):
    """A port from pyserial's ``serial_for_url`` (device path, ``loop://``,
    ``socket://``, ``rfc2217://``, ...). ``port`` may be an already open
    pyserial object (the Python API; then reconnecting reopens it)."""

    def __init__(self, name: str, port_url: str | None = None, settings: dict | None = None,
                 *, port=None, poll: float = 0.02):  # fmt: skip
        self.name, self.port_url, self.settings = name, port_url, dict(settings or {})
        self.port, self.poll = port, poll

    def open(self) -> None:
        import serial

        try:
            if self.port is None:
                self.port = serial.serial_for_url(self.port_url, do_not_open=True, **self.settings)
            if not self.port.is_open:
                self.port.open()
            self.port.timeout = self.poll
        except ValueError as exc:  # a URL or setting pyserial does not accept
            self.port = None
            raise StreamError(f"{self.name}: {exc}") from None
        except (serial.SerialException, OSError) as exc:
            self.port = None if self.port_url else self.port
            raise SourceLost(_open_problem(self.port_url or self.name, exc)) from None

    def read(self, timeout: float) -> bytes:
        import serial

        try:
            data = self.port.read(1)
            if data:
                waiting = self.port.in_waiting
                if waiting:
                    data += self.port.read(waiting)
            return data
        except (serial.SerialException, OSError) as exc:
            raise SourceLost(str(exc) or type(exc).__name__) from None

    def close(self) -> None:
        if self.port is not None:
            try:
                self.port.close()
            except Exception:  # closing a port that is already gone
                pass
            if self.port_url:
                self.port = None


class DescriptorSource(ByteSource):
    """An OS file descriptor (standard input, a pipe, a FIFO)."""

    def __init__(self, fd: int, name: str = "-"):
        self.fd, self.name = fd, name

    def read(self, timeout: float) -> bytes | None:
        try:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                return b""
            data = os.read(self.fd, 65536)
        except OSError as exc:
            raise SourceLost(f"{self.name}: {exc.strerror}") from None
        return data if data else None


class FileSource(ByteSource):
    """A file read from the start, in blocks."""

    replayable = True

    def __init__(self, path, name: str):
        self.path, self.name, self.handle = path, name, None

    def open(self) -> None:
        try:
            self.handle = open(self.path, "rb")
        except OSError as exc:
            raise StreamError(_open_problem(str(self.path), exc)) from None

    def read(self, timeout: float) -> bytes | None:
        if self.handle is None:
            self.open()
        data = self.handle.read(1 << 16)
        return data if data else None

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


class HandleSource(ByteSource):
    """A Python file object, text or binary (the API: ``io.StringIO`` etc.)."""

    def __init__(self, handle, name: str = "-"):
        self.handle, self.name = handle, name

    def read(self, timeout: float) -> bytes | None:
        data = self.handle.read(1 << 16)
        if not data:
            return None
        return data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
