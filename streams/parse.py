"""Parsing and validation of text samples: one line, comma-separated,
inputs first, then targets (all target fields empty, or absent: no target).

Every rejected line raises ``BadSampleError`` with its counter kind:
``malformed`` (not numbers), ``non_finite`` (NaN, inf, or out of float range),
``wrong_width`` (neither n_inputs nor n_inputs + n_outputs fields)."""

from __future__ import annotations

import math

import numpy as np
from timelocal.runtime.errors import BadSampleError


def split_fields(line: str) -> list[str]:
    return [f.strip() for f in line.strip().split(",")]


def is_blank(line: str) -> bool:
    """Blank lines and '#' comments carry no sample and are not errors."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def looks_like_header(line: str) -> bool:
    """A first line whose fields are all non-numeric names is a header."""
    fields = split_fields(line)
    if not fields or any(not f for f in fields):
        return False
    for f in fields:
        try:
            float(f)
            return False
        except ValueError:
            pass
    return True


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


def parse_line(line: str, n_inputs: int, n_outputs: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(inputs, targets or None) from one line; raises BadSampleError."""
    fields = split_fields(line)
    width = len(fields)
    if width == n_inputs + n_outputs and all(not f for f in fields[n_inputs:]):
        fields, width = fields[:n_inputs], n_inputs
    if width not in (n_inputs, n_inputs + n_outputs):
        raise BadSampleError(
            "wrong_width",
            f"{width} field{'' if width == 1 else 's'}, expected {n_inputs} (inputs only) or "
            f"{n_inputs + n_outputs} (inputs and targets)",
        )
    values = np.array([_number(f, i) for i, f in enumerate(fields)])
    if width == n_inputs:
        return values, None
    return values[:n_inputs], values[n_inputs:]


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
