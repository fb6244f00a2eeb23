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
    sep=,|;|tab|space      text lines' field separator (default ,)

Options not listed here are left in the URL for pyserial (e.g. ``logging``)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from timelocal.runtime.errors import StreamError
from timelocal.streams.live import POLL, DecodedStream
from timelocal.streams.parse import TEXT_OPTIONS, option_value, text_options
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
STREAM_OPTIONS = ("protocol", "timeout", *TEXT_OPTIONS)
DEFAULT_BAUD = 115200


def split_url(url: str) -> tuple[str, dict, dict]:
    """(the URL for pyserial, pyserial settings, our stream options)."""
    parts = urlsplit(url)
    settings = {"baudrate": DEFAULT_BAUD}
    options = {"protocol": "text", "timeout": None}
    text, pairs = text_options(url, parse_qsl(parts.query, keep_blank_values=True))
    options["text"] = text
    passed = []
    for key, value in pairs:
        if key in PORT_SETTINGS:
            name, kind = PORT_SETTINGS[key]
            settings[name] = option_value(url, key, value, kind)
            if key == "stopbits" and settings[name] == int(settings[name]):
                settings[name] = int(settings[name])
        elif key == "protocol":
            if value not in PROTOCOLS:
                raise StreamError(f"{url}: protocol={value} is unknown; use text or frames")
            options["protocol"] = value
        elif key == "timeout":
            options[key] = option_value(url, key, value, float)
        else:
            passed.append((key, value))
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
        # Built by hand: urlunsplit drops the '//' of a URL without a host (loop://).
        query = urlencode(passed)
        port = f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{query}" if query else "")
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
                                     **options["text"])  # fmt: skip
    return stream
