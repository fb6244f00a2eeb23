"""Serial ports and every other URL pyserial understands (``loop://``,
``socket://HOST:PORT``, ``rfc2217://HOST:PORT``, ...), read through
pyserial's URL handlers.

``serial:///dev/ttyUSB0?baud=115200`` names a device path (``serial://COM3``
on Windows). Options in the URL's query, all optional:

    baud=115200 bytesize=8 parity=N stopbits=1 rtscts=0 xonxoff=0
    protocol=text|frames   the byte protocol (streams/protocol.py)
    timeout=SECONDS        silence this long counts as a lost device
    timestamp=1            text lines start with a time in seconds
    period=SECONDS         with timestamp: a step over 1.5 periods is a gap

Options not listed here are left in the URL for pyserial (e.g. ``logging``)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from timelocal.runtime.errors import StreamError
from timelocal.streams.live import POLL, DecodedStream
from timelocal.streams.protocol import PROTOCOLS, FrameDecoder, TextDecoder
from timelocal.streams.sources import SerialSource, SourceLost

PORT_SETTINGS = {  # URL option -> (pyserial keyword, type)
    "baud": ("baudrate", int),
    "bytesize": ("bytesize", int),
    "parity": ("parity", str),
    "stopbits": ("stopbits", float),
    "rtscts": ("rtscts", bool),
    "xonxoff": ("xonxoff", bool),
}
STREAM_OPTIONS = ("protocol", "timeout", "timestamp", "period")
DEFAULT_BAUD = 115200


def _value(url: str, key: str, text: str, kind):
    try:
        if kind is bool:
            if text.lower() not in ("0", "1", "true", "false", "yes", "no"):
                raise ValueError
            return text.lower() in ("1", "true", "yes")
        value = kind(text)
    except ValueError:
        raise StreamError(f"{url}: option {key}={text!r} is not a valid {kind.__name__}") from None
    if kind in (int, float) and value <= 0:
        raise StreamError(f"{url}: option {key} must be positive, got {text!r}")
    return value


def split_url(url: str) -> tuple[str, dict, dict]:
    """(the URL for pyserial, pyserial settings, our stream options)."""
    parts = urlsplit(url)
    settings = {"baudrate": DEFAULT_BAUD}
    options = {"protocol": "text", "timeout": None, "timestamp": False, "period": None}
    passed = []
    for key, text in parse_qsl(parts.query, keep_blank_values=True):
        if key in PORT_SETTINGS:
            name, kind = PORT_SETTINGS[key]
            settings[name] = _value(url, key, text, kind)
            if key == "stopbits" and settings[name] == int(settings[name]):
                settings[name] = int(settings[name])
        elif key == "protocol":
            if text not in PROTOCOLS:
                raise StreamError(f"{url}: protocol={text} is unknown; use text or frames")
            options["protocol"] = text
        elif key == "timestamp":
            options["timestamp"] = _value(url, key, text, bool)
        elif key in ("timeout", "period"):
            options[key] = _value(url, key, text, float)
        else:
            passed.append((key, text))
    if options["period"] and not options["timestamp"]:
        raise StreamError(f"{url}: period= needs timestamp=1 (gaps are found from the times)")
    if parts.scheme == "serial":
        port = parts.netloc + parts.path
        if not port:
            raise StreamError(f"{url}: name the device, e.g. serial:///dev/ttyUSB0")
        if passed:
            raise StreamError(
                f"{url}: unknown option {passed[0][0]!r}; options: "
                f"{', '.join([*PORT_SETTINGS, *STREAM_OPTIONS])}"
            )
    else:
        port = parts._replace(query=urlencode(passed)).geturl()
    return port, settings, options


def open_serial(url: str, n_inputs, n_outputs, on_bad_input: str, loss: str, *,
                reconnect: float = 0.0, max_latency: float = 0.02, port=None) -> DecodedStream:  # fmt: skip
    """Open a serial port or pyserial URL now (so a missing device is an
    error before the run starts). ``port``: an open pyserial object to read
    instead of opening ``url`` (the Python API, and tests with ``loop://``)."""
    if n_inputs is None or n_outputs is None:
        raise StreamError(f"{url}: a device stream needs --inputs N and --outputs M")
    if n_inputs < 1 or n_outputs < 1:
        raise StreamError(f"{url}: --inputs and --outputs must be >= 1")
    port_url, settings, options = split_url(url)
    poll = min(POLL, max(max_latency / 2, 0.001))
    source = SerialSource(url, None if port is not None else port_url, settings, port=port,
                          poll=poll)  # fmt: skip
    try:
        source.open()
    except SourceLost as exc:
        raise StreamError(str(exc)) from None
    stream = DecodedStream(
        url=url, n_inputs=n_inputs, n_outputs=n_outputs, loss=loss, on_bad_input=on_bad_input,
        source=source, max_latency=max_latency, reconnect=reconnect, silence=options["timeout"],
    )  # fmt: skip
    if options["protocol"] == "frames":
        stream.decoder = FrameDecoder(n_inputs, n_outputs, stream.reject, url=url)
    else:
        stream.decoder = TextDecoder(n_inputs, n_outputs, stream.reject, url=url,
                                     timestamp=options["timestamp"], period=options["period"])  # fmt: skip
    return stream
