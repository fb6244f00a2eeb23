"""Property tests of the line parser: valid lines come back exactly, every
other line raises BadSampleError of the right kind, nothing else escapes."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from timelocal.runtime.errors import BadSampleError
from timelocal.streams.parse import looks_like_header, parse_line, validate_row

finite = st.floats(allow_nan=False, allow_infinity=False)


@given(st.lists(finite, min_size=1, max_size=6), st.lists(finite, min_size=1, max_size=4))
def test_valid_lines_round_trip(inputs, targets):
    line = ",".join(repr(v) for v in inputs + targets)
    got_in, got_out = parse_line(line, len(inputs), len(targets))
    assert got_in.tolist() == inputs and got_out.tolist() == targets
    got_in, got_out = parse_line(",".join(repr(v) for v in inputs), len(inputs), len(targets))
    assert got_in.tolist() == inputs and got_out is None


@given(st.text(max_size=60), st.integers(1, 4), st.integers(1, 3))
def test_any_text_parses_or_raises_bad_sample(text, n_in, n_out):
    try:
        inputs, targets = parse_line(text, n_in, n_out)
    except BadSampleError as error:
        assert error.kind in ("malformed", "non_finite", "wrong_width")
        return
    assert inputs.shape == (n_in,) and np.isfinite(inputs).all()
    assert targets is None or (targets.shape == (n_out,) and np.isfinite(targets).all())


@pytest.mark.parametrize(
    "line,kind",
    [
        ("1,2,3,4", "wrong_width"),
        ("1", "wrong_width"),
        ("1,abc,3", "malformed"),
        ("1,,3", "malformed"),
        ("nan,2,3", "non_finite"),
        ("1,2,inf", "non_finite"),
        ("1e999,2,3", "non_finite"),
        ("\x00\xff,2,3", "malformed"),
    ],
)
def test_bad_lines_are_classified(line, kind):
    with pytest.raises(BadSampleError) as info:
        parse_line(line, 2, 1)
    assert info.value.kind == kind


def test_empty_target_fields_mean_no_target():
    inputs, targets = parse_line(" 1.5 , -2 , ", 2, 1)
    assert inputs.tolist() == [1.5, -2.0] and targets is None


def test_header_detection():
    assert looks_like_header("time,accel_x,target")
    assert not looks_like_header("1,2,3")
    assert not looks_like_header("a,1")
    assert not looks_like_header("a,,b")


@given(st.lists(st.floats(), min_size=2, max_size=5))
def test_validate_row(values):
    row = np.array(values)
    try:
        has_target = validate_row(row, 1)
    except BadSampleError:
        assert not np.isfinite(row).all()
        return
    assert np.isfinite(row[:1]).all()
    assert has_target == (not math.isnan(values[1]) or not np.isnan(row[1:]).all())
