"""The byte protocols: text lines and binary frames decoded from any split
of the bytes, bad lines and frames counted exactly once, good ones never
lost, and a fuzz corpus of mangled data that never crashes the decoder."""

import math
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from timelocal.runtime.errors import BadSampleError, StreamError
from timelocal.streams.protocol import (
    MAX_LINE_BYTES,
    FrameDecoder,
    TextDecoder,
    encode_frame,
)

finite32 = st.floats(allow_nan=False, allow_infinity=False, width=32)


class Counts:
    def __init__(self):
        self.kinds, self.where = {}, []

    def __call__(self, where, error: BadSampleError):
        self.kinds[error.kind] = self.kinds.get(error.kind, 0) + 1
        self.where.append(where)


def decode(decoder_class, data: bytes, cuts=(), **kwargs):
    counts = Counts()
    decoder = decoder_class(kwargs.pop("n_in", 2), kwargs.pop("n_out", 1), counts, **kwargs)
    samples, start = [], 0
    for cut in sorted(set(cuts)):
        samples += decoder.feed(data[start:cut])
        start = cut
    samples += decoder.feed(data[start:], final=True)
    return samples, counts


def as_rows(samples):
    return [(s.inputs.tolist(), None if s.targets is None else s.targets.tolist()) for s in samples]


# -- text ---------------------------------------------------------------------
@given(
    st.lists(st.tuples(st.lists(finite32, min_size=2, max_size=2),
                       st.one_of(st.none(), st.lists(finite32, min_size=1, max_size=1))),
             max_size=30),
    st.sampled_from([b"\n", b"\r\n", b"\r"]),
    st.lists(st.integers(0, 2000), max_size=8),
    st.booleans(),
)  # fmt: skip
def test_text_lines_decode_the_same_from_any_split(rows, newline, cuts, separator):
    lines = []
    for inputs, targets in rows:
        text = ",".join(repr(v) for v in inputs)
        if targets is not None:
            text += ("|" if separator else ",") + ",".join(repr(v) for v in targets)
        lines.append(text.encode())
    data = newline.join(lines) + (newline if rows else b"")
    samples, counts = decode(TextDecoder, data, cuts)
    assert as_rows(samples) == [(i, t) for i, t in rows]
    assert counts.kinds == {}


def test_text_line_numbers_and_kinds():
    data = b"a,b|y\r\n1,2|3\r\n\r\n1,2,3,4\n# comment\nx,2\n1,nan,3\n1,2\n"
    samples, counts = decode(TextDecoder, data)
    assert as_rows(samples) == [([1.0, 2.0], [3.0]), ([1.0, 2.0], None)]
    assert counts.kinds == {"wrong_width": 1, "malformed": 1, "non_finite": 1}
    assert counts.where == ["line 4", "line 6", "line 7"]


def test_a_first_header_that_does_not_fit_stops_a_later_one_is_a_bad_line():
    with pytest.raises(StreamError, match="header names 3 inputs and 1 targets"):
        decode(TextDecoder, b"a,b,c|y\n1,2,3\n")
    samples, counts = decode(TextDecoder, b"a,b,y\n1,2,3\na,b,y\nname\n4,5,6\n")
    assert len(samples) == 2 and counts.kinds == {"wrong_width": 1}


def test_an_overlong_line_is_one_bad_line_and_memory_stays_bounded():
    counts = Counts()
    decoder = TextDecoder(2, 1, counts)
    assert decoder.feed(b"1,2,3\n" + b"9" * 50000) != []
    for _ in range(5):
        assert decoder.feed(b"9" * 50000) == []
        assert len(decoder.buffer) <= MAX_LINE_BYTES + 50000
    samples = decoder.feed(b"9\n4,5,6\n")
    assert as_rows(samples) == [([4.0, 5.0], [6.0])]
    assert counts.kinds == {"malformed": 1} and counts.where == ["line 2"]


def test_timestamps_find_gaps():
    data = b"0.00,1,2,3\n0.01,1,2,3\n0.05,1,2,3\n0.06,1,2,3\n0.02,1,2,3\n"
    samples, counts = decode(TextDecoder, data, timestamp=True, period=0.01)
    assert len(samples) == 5 and counts.kinds == {"gap": 2}
    assert counts.where == ["line 3", "line 5"]


# -- frames -------------------------------------------------------------------
@given(
    st.lists(st.tuples(st.lists(finite32, min_size=2, max_size=2),
                       st.one_of(st.none(), st.lists(finite32, min_size=1, max_size=1))),
             max_size=20),
    st.lists(st.integers(0, 400), max_size=8),
)  # fmt: skip
def test_float32_frames_round_trip_from_any_split(rows, cuts):
    data = b"".join(encode_frame(i, t, sequence=k) for k, (i, t) in enumerate(rows))
    samples, counts = decode(FrameDecoder, data, cuts)
    assert as_rows(samples) == rows
    assert counts.kinds == {}


@given(st.lists(st.integers(-32768, 32767), min_size=3, max_size=3), st.integers(0, 15))
def test_int16_frames_scale_by_the_fraction_bits(raw, fraction):
    values = [math.ldexp(r, -fraction) for r in raw]
    frame = encode_frame(values[:2], values[2:], fmt="int16", fraction_bits=fraction)
    samples, _ = decode(FrameDecoder, frame)
    assert as_rows(samples) == [(values[:2], values[2:])]


def _frame_with_valid_crc(body: bytes) -> bytes:
    return b"\xa5\x5a" + body + struct.pack("<I", zlib.crc32(body))


def _good(k):
    return encode_frame([0.5 * k, -1.0], [k / 7], sequence=k)


MANGLES = {
    "truncated": lambda f: f[: len(f) // 2],
    "bit flip in the payload": lambda f: f[:9] + bytes([f[9] ^ 0x10]) + f[10:],
    "bit flip in the sync": lambda f: bytes([f[0] ^ 1]) + f[1:],
    "garbage": lambda f: b"\x00garbage\xa5\xff" + f[2:5],
    "wrong width": lambda f: encode_frame([1.0, 2.0, 3.0], [1.0]),
    "NaN input": lambda f: encode_frame([float("nan"), 1.0], [1.0]),
    "huge number": lambda f: encode_frame([1e39, 1.0], [1.0]),
    "bad format": lambda f: _frame_with_valid_crc(b"\x07\x00\x00\x00\x02\x01" + b"\0" * 12),
}
EXPECTED_KIND = {"truncated": "crc_error", "bit flip in the payload": "crc_error",
                 "bit flip in the sync": "malformed", "garbage": "malformed",
                 "wrong width": "wrong_width", "NaN input": "non_finite",
                 "huge number": "non_finite", "bad format": "malformed"}  # fmt: skip


@pytest.mark.parametrize("mangle", list(MANGLES))
def test_each_bad_frame_is_counted_once_and_its_neighbours_survive(mangle):
    data = _good(0) + MANGLES[mangle](_good(1)) + _good(2)
    samples, counts = decode(FrameDecoder, data)
    assert [s.inputs[0] for s in samples] == [0.0, 1.0]
    kinds = {k: v for k, v in counts.kinds.items() if k != "gap"}
    assert kinds == {EXPECTED_KIND[mangle]: 1}


def test_sequence_jumps_are_gaps():
    data = b"".join(encode_frame([1.0, 2.0], [3.0], sequence=s) for s in (65534, 65535, 0, 5))
    _, counts = decode(FrameDecoder, data)
    assert counts.kinds == {"gap": 1}


# -- fuzz corpus --------------------------------------------------------------
def _oracle_line(line: str, n_in: int, n_out: int):
    """Independent statement of the text format: None if the line is bad."""
    if "|" in line:
        left, right = line.split("|", 1)
        if "|" in right:
            return None
        parts = [left.split(","), right.split(",") if right.strip() else []]
        if len(parts[0]) != n_in or len(parts[1]) not in (0, n_out):
            return None
        fields = parts[0] + parts[1]
    else:
        fields = line.split(",")
        if len(fields) == n_in + n_out and not "".join(fields[n_in:]).strip():
            fields = fields[:n_in]
        if len(fields) not in (n_in, n_in + n_out):
            return None
    try:
        values = [float(f) for f in fields]
    except ValueError:
        return None
    return values if all(math.isfinite(v) for v in values) else None


def _mangled_lines(rng, count):
    good = [f"{rng.normal():.6f},{rng.normal():.6f},{rng.normal():.6f}" for _ in range(count)]
    out = []
    for k, line in enumerate(good):
        kind = k % 6
        if kind == 0:
            out.append(line[: rng.integers(0, len(line))])  # truncation
        elif kind == 1:
            noise = bytes(rng.integers(0, 256, rng.integers(1, 8)).tolist())
            out.append(line + noise.decode("latin-1").replace("\n", "").replace("\r", ""))
        elif kind == 2:
            out.append(line.replace(line.split(",")[rng.integers(0, 3)], "1e400", 1))
        elif kind == 3:
            out.append(line.replace(line.split(",")[rng.integers(0, 3)], "nan", 1))
        elif kind == 4:
            out.append(line + ",1.0" * int(rng.integers(1, 3)))
        else:
            out.append("")  # an empty line: not a sample, not an error
    return good, out


def test_fuzz_corpus_of_mangled_lines():
    rng = np.random.default_rng(0)
    good, mangled = _mangled_lines(rng, 12000)
    lines = []
    for g, m in zip(good, mangled, strict=True):
        lines += [g, m]
    data = "\n".join(lines).encode("utf-8", "surrogateescape") + b"\n"
    cuts = rng.integers(0, len(data), 200)
    samples, counts = decode(TextDecoder, data, cuts)
    expected = [v for v in (_oracle_line(x, 2, 1) for x in lines if x.strip()) if v is not None]
    assert [s.inputs.tolist() + (s.targets.tolist() if s.targets is not None else [])
            for s in samples] == expected  # fmt: skip
    rejected = sum(1 for x in lines if x.strip() and _oracle_line(x, 2, 1) is None)
    assert sum(counts.kinds.values()) == rejected > 5000


def test_fuzz_corpus_of_mangled_frames():
    rng = np.random.default_rng(1)
    names = list(MANGLES)
    data, expected, mangled = bytearray(), [], 0
    for k in range(20003):
        frame = _good(k)
        if k % 2 and k < 20002:
            data += MANGLES[names[(k // 2) % len(names)]](frame)
            mangled += 1
        else:
            data += frame
            expected.append(0.5 * k)
    cuts = rng.integers(0, len(data), 500)
    samples, counts = decode(FrameDecoder, bytes(data), cuts)
    assert [s.inputs[0] for s in samples] == expected
    assert sum(v for k, v in counts.kinds.items() if k != "gap") == mangled == 10001


@settings(max_examples=300)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=5))
def test_any_bytes_decode_or_count_never_crash(data, cuts):
    for decoder_class in (TextDecoder, FrameDecoder):
        try:
            samples, _ = decode(decoder_class, data, cuts)
        except StreamError as error:  # only a first header that does not fit
            assert "header" in str(error)
            continue
        for s in samples:
            assert s.inputs.shape == (2,) and np.isfinite(s.inputs).all()
            assert s.targets is None or (s.targets.shape == (1,) and np.isfinite(s.targets).all())


def _learn_file(path, n_in=2, n_out=1):
    from timelocal import Network, NetworkSpec
    from timelocal.runtime.session import RunOptions, Session
    from timelocal.streams import open_stream

    stream = open_stream(f"file:{path}", n_inputs=n_in, n_outputs=n_out)
    stream.warn_to = None
    net = Network(NetworkSpec("anp", n_in, n_out, n_hidden=8, seed=2))
    result = Session(net, stream, RunOptions(chunk_size=257)).run()
    return net.state["params"], result


def test_fuzzed_streams_learn_exactly_what_their_good_samples_teach(tmp_path):
    rng = np.random.default_rng(2)
    good, mangled = _mangled_lines(rng, 10000)
    lines = [x for pair in zip(good, mangled, strict=True) for x in pair]
    (tmp_path / "dirty.csv").write_bytes("\n".join(lines).encode("utf-8", "surrogateescape"))
    kept = [x for x in lines if x.strip() and _oracle_line(x, 2, 1) is not None]
    (tmp_path / "clean.csv").write_text("\n".join(kept) + "\n")
    dirty, result = _learn_file(tmp_path / "dirty.csv")
    clean, _ = _learn_file(tmp_path / "clean.csv")
    assert np.isfinite(dirty).all()
    np.testing.assert_array_equal(dirty, clean)
    assert result["bad_samples"] == len(lines) - len(kept) - lines.count("")

    names = list(MANGLES)
    frames, kept_frames = bytearray(), bytearray()
    for k in range(10001):
        frame = _good(k)
        if k % 2:
            frames += MANGLES[names[(k // 2) % len(names)]](frame)
        else:
            frames += frame
            kept_frames += frame
    (tmp_path / "dirty.bin").write_bytes(frames)
    (tmp_path / "clean.bin").write_bytes(kept_frames)
    dirty, result = _learn_file(tmp_path / "dirty.bin")
    clean, _ = _learn_file(tmp_path / "clean.bin")
    assert np.isfinite(dirty).all()
    np.testing.assert_array_equal(dirty, clean)
    by_kind = result["bad_samples_by_kind"]
    assert sum(v for k, v in by_kind.items() if k != "gap") == 5000
