"""Property tests of the line parser: valid lines come back exactly, every
other line raises BadSampleError of the right kind, nothing else escapes."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from timelocal.runtime.errors import BadSampleError, StreamError
from timelocal.streams.parse import (
    SEPARATORS,
    detect_separator,
    header_widths,
    looks_like_header,
    parse_line,
    separator_option,
    text_options,
    validate_row,
)

finite = st.floats(allow_nan=False, allow_infinity=False)
# How each separator is written between fields (blanks: any run of spaces and tabs).
JOINERS = {",": st.sampled_from([",", ", ", " ,"]), ";": st.sampled_from([";", "; "]),
           "tab": st.just("\t"), "space": st.sampled_from([" ", "  ", "\t", " \t "])}  # fmt: skip


@given(st.lists(finite, min_size=1, max_size=6), st.lists(finite, min_size=1, max_size=4))
def test_valid_lines_round_trip(inputs, targets):
    line = ",".join(repr(v) for v in inputs + targets)
    got_in, got_out = parse_line(line, len(inputs), len(targets))
    assert got_in.tolist() == inputs and got_out.tolist() == targets
    got_in, got_out = parse_line(",".join(repr(v) for v in inputs), len(inputs), len(targets))
    assert got_in.tolist() == inputs and got_out is None


@given(st.sampled_from(sorted(JOINERS)), st.data(), st.lists(finite, min_size=1, max_size=6),
       st.lists(finite, min_size=1, max_size=4))  # fmt: skip
def test_every_separator_round_trips_and_is_detected(name, data, inputs, targets):
    values = inputs + targets
    joiners = data.draw(st.lists(JOINERS[name], min_size=len(values) - 1,
                                 max_size=len(values) - 1))  # fmt: skip
    line = repr(values[0]) + "".join(j + repr(v) for j, v in zip(joiners, values[1:], strict=True))
    separator = SEPARATORS[name]
    got_in, got_out = parse_line(line, len(inputs), len(targets), separator)
    assert got_in.tolist() == inputs and got_out.tolist() == targets
    # Blanks that each hold one tab are a tab-separated line (spaces around fields are ignored).
    only_tabs = name == "space" and all(j.count("\t") == 1 for j in joiners)
    assert detect_separator(line) == ("\t" if only_tabs else separator)
    header = "".join(j + f"c{k}" for k, j in enumerate(["", *joiners]))
    assert looks_like_header(header, separator)
    assert header_widths(header, separator=separator) == (None, len(values))


def test_a_tab_separator_keeps_empty_fields_and_blanks_have_none():
    inputs, targets = parse_line("1.5\t2\t", 2, 1, "\t")  # the target field empty
    assert inputs.tolist() == [1.5, 2.0] and targets is None
    with pytest.raises(BadSampleError, match="column 1: '' is not a number"):
        parse_line("\t1.5\t2", 2, 1, "\t")  # the first input empty
    inputs, targets = parse_line("  1.5   2  ", 2, 1, None)
    assert inputs.tolist() == [1.5, 2.0] and targets is None


@pytest.mark.parametrize(
    "line,separator",
    [("a;b,c", ";"), ("0,5;1,5", ";"), ("1,2", ","), ("1\t2", "\t"), ("1\t\t2", "\t"),
     ("1 \t2", "\t"), ("1  2", None), ("1 2\t3", None), ("x | y", ","), ("0.5", ","),
     ("1 2|3", None)],
)  # fmt: skip
def test_detect_separator(line, separator):
    assert detect_separator(line) == separator


def test_decimal_commas_are_named_as_such():
    with pytest.raises(BadSampleError, match=r"'0,5' is not a number \(decimal commas are not "
                                             r"read: write 0.5\)"):  # fmt: skip
        parse_line("0,5;2", 1, 1, ";")
    with pytest.raises(BadSampleError, match="'a,b' is not a number$"):
        parse_line("a,b;2", 1, 1, ";")


def test_text_options_in_a_url():
    options, rest = text_options("u", [("sep", "tab"), ("timestamp", "1"), ("baud", "9600")])
    assert options == {"timestamp": True, "period": None, "separator": "\t"} and rest == [
        ("baud", "9600")]  # fmt: skip
    assert "separator" not in text_options("u", [])[0]  # not given: the stream decides
    assert separator_option("u", ";") == ";" and separator_option("u", "space") is None
    with pytest.raises(StreamError, match="sep=':' is not a field separator"):
        separator_option("u", ":")
    with pytest.raises(StreamError, match="period= needs timestamp=1"):
        text_options("u", [("period", "0.1")])


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
