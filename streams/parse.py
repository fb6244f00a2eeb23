"""Parsing and validation of text samples (the line protocol).

One sample per line, fields separated by commas, whitespace around fields
ignored. Inputs come first, then targets, in either of two forms:

    u_1,...,u_n,y_1,...,y_m       the first n fields are inputs (n = --inputs)
    u_1,...,u_n | y_1,...,y_m     a '|' separates inputs from targets

No targets (the fields absent, or all empty) means a step to predict only.
With ``timestamp``, the first field is the sample's time in seconds. Blank
lines and lines starting with '#' are ignored; a line of names (no field is
a number) is a header.

Every rejected line raises ``BadSampleError`` with its counter kind:
``malformed`` (not numbers, or not text), ``non_finite`` (NaN, inf, or out of
float range), ``wrong_width`` (a field count that fits neither form)."""

from __future__ import annotations

import math

import numpy as np
from timelocal.runtime.errors import BadSampleError

TARGET_SEPARATOR = "|"


SPACE = " \t\r\n"  # only these surround fields; any other character is part of one


def split_fields(line: str) -> list[str]:
    return [f.strip(SPACE) for f in line.strip(SPACE).split(",")]


def is_blank(line: str) -> bool:
    """Blank lines and '#' comments carry no sample and are not errors."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def looks_like_header(line: str) -> bool:
    """A line whose fields are all non-numeric names is a header."""
    fields = split_fields(line.replace(TARGET_SEPARATOR, ","))
    if not fields or any(not f for f in fields):
        return False
    for f in fields:
        try:
            float(f)
            return False
        except ValueError:
            pass
    return True


def header_widths(line: str, timestamp: bool = False) -> tuple[int | None, int]:
    """(inputs, targets) a header names; inputs is None when the header has
    no '|' (then only the total is known, returned as targets)."""
    left, sep, right = line.partition(TARGET_SEPARATOR)
    names = split_fields(left)
    if timestamp:
        names = names[1:]
    if not sep:
        return None, len(names)
    return len(names), len(split_fields(right)) if right.strip() else 0


def _number(text: str, column: int) -> float:
    try:
        value = float(text)
    except ValueError:
        shown = text if len(text) <= 20 else text[:17] + "..."
        raise BadSampleError(
            "malformed", f"column {column + 1}: {shown!r} is not a number"
        ) from None
    if not math.isfinite(value):
        raise BadSampleError("non_finite", f"column {column + 1}: {text!r} is not finite")
    return value


def _wrong_width(width: int, n_inputs: int, n_outputs: int, extra: str = "") -> BadSampleError:
    return BadSampleError(
        "wrong_width",
        f"{width} field{'' if width == 1 else 's'}{extra}, expected {n_inputs} (inputs only) or "
        f"{n_inputs + n_outputs} (inputs and targets)",
    )


def parse_timed_line(
    line: str, n_inputs: int, n_outputs: int, *, timestamp: bool = False
) -> tuple[float | None, np.ndarray, np.ndarray | None]:
    """(time or None, inputs, targets or None) from one line; raises BadSampleError."""
    left, sep, right = line.partition(TARGET_SEPARATOR)
    if TARGET_SEPARATOR in right:
        raise BadSampleError("malformed", f"more than one {TARGET_SEPARATOR!r} separator")
    fields = split_fields(left)
    time = None
    if timestamp:
        if len(fields) < 2:
            raise BadSampleError("wrong_width", "a timestamp and no inputs")
        time = _number(fields[0], 0)
        fields = fields[1:]
    offset = 1 if timestamp else 0
    if sep:
        target_fields = split_fields(right) if right.strip() else []
        if all(not f for f in target_fields):
            target_fields = []
        if len(fields) != n_inputs or len(target_fields) not in (0, n_outputs):
            raise BadSampleError(
                "wrong_width",
                f"{len(fields)} input and {len(target_fields)} target fields around "
                f"{TARGET_SEPARATOR!r}, expected {n_inputs} and {n_outputs} (or none)",
            )
    else:
        width = len(fields)
        if width == n_inputs + n_outputs and all(not f for f in fields[n_inputs:]):
            width = n_inputs
        if width not in (n_inputs, n_inputs + n_outputs):
            raise _wrong_width(width, n_inputs, n_outputs, " after the timestamp" * timestamp)
        fields, target_fields = fields[:n_inputs], fields[n_inputs:width]
    inputs = np.array([_number(f, offset + i) for i, f in enumerate(fields)])
    if not target_fields:
        return time, inputs, None
    targets = np.array([_number(f, offset + n_inputs + i) for i, f in enumerate(target_fields)])
    return time, inputs, targets


def parse_line(line: str, n_inputs: int, n_outputs: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(inputs, targets or None) from one line without a timestamp."""
    _, inputs, targets = parse_timed_line(line, n_inputs, n_outputs)
    return inputs, targets


def validate_row(row: np.ndarray, n_inputs: int) -> bool:
    """Check one numeric row (inputs then targets); True if it has targets.
    A row whose targets are all NaN has none; any other NaN/inf is bad."""
    inputs, targets = row[:n_inputs], row[n_inputs:]
    if not np.isfinite(inputs).all():
        raise BadSampleError("non_finite", "an input is NaN or infinite")
    missing = np.isnan(targets)
    if missing.all():
        return False
    if missing.any() or not np.isfinite(targets).all():
        raise BadSampleError("non_finite", "a target is NaN or infinite (and not all are missing)")
    return True
