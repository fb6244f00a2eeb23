"""Parsing and validation of text samples (the line protocol).

One sample per line, fields separated by commas (or by the separator a
stream names: ``;``, a tab, or runs of blanks), whitespace around fields
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
import re

import numpy as np
from timelocal.runtime.errors import BadSampleError, StreamError

TARGET_SEPARATOR = "|"

# Field separators by the name a stream URL gives them (sep=NAME); None
# stands for runs of blanks (spaces or tabs), as whitespace-aligned logs have.
SEPARATORS = {",": ",", ";": ";", "tab": "\t", "space": None}
SEPARATOR_NAMES = {value: name for name, value in SEPARATORS.items()}

SPACE = " \t\r\n"  # only these surround fields; any other character is part of one

DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+(?:[eE][-+]?\d+)?")


def split_fields(line: str, separator: str | None = ",") -> list[str]:
    if separator is None:
        return line.split()
    # A tab that separates fields is not whitespace around them.
    around = SPACE.replace(separator, "")
    return [f.strip(around) for f in line.strip(around).split(separator)]


def separator_option(url: str, text: str) -> str | None:
    """The separator a ``sep=`` option names (one of SEPARATORS' names, or the
    character itself)."""
    if text in SEPARATORS:
        return SEPARATORS[text]
    if text in SEPARATOR_NAMES:
        return text
    raise StreamError(f"{url}: sep={text!r} is not a field separator; use sep=, sep=; sep=tab "
                      "or sep=space")  # fmt: skip


def option_value(url: str, key: str, text: str, kind):
    """A stream URL option's value as ``kind`` (bool: 0/1, true/false,
    yes/no); numbers must be positive."""
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


TEXT_OPTIONS = ("timestamp", "period", "sep")


def text_options(url: str, pairs: list) -> tuple[dict, list]:
    """The text protocol's options among a URL's (key, value) pairs:
    ``timestamp=1`` (lines start with a time in seconds), ``period=S`` (with
    timestamps: a step over 1.5 periods is a gap) and ``sep=`` (the field
    separator; the key ``separator`` is set only when given). Returns them
    as TextDecoder's keywords, and the pairs that are not theirs."""
    options = {"timestamp": False, "period": None}
    rest = []
    for key, text in pairs:
        if key == "timestamp":
            options["timestamp"] = option_value(url, key, text, bool)
        elif key == "period":
            options["period"] = option_value(url, key, text, float)
        elif key == "sep":
            options["separator"] = separator_option(url, text)
        else:
            rest.append((key, text))
    if options["period"] and not options["timestamp"]:
        raise StreamError(f"{url}: period= needs timestamp=1 (gaps are found from the times)")
    return options, rest


def separator_hint(line: str, separator: str | None) -> str:
    """A hint for a line that the separator in use does not part but another
    would: where the fields may really be parted by ';', a tab or blanks."""
    found = detect_separator(line)
    if found == separator or len(split_fields(line, separator)) > 1:
        return ""
    return f" (its fields look parted by {SEPARATOR_NAMES[found]!r}: sep={SEPARATOR_NAMES[found]})"


def detect_separator(line: str) -> str | None:
    """The separator of a file from its first line: ';' where there is one
    (a semicolon is never part of a number, while a comma may be a decimal
    comma), else ',', else a tab where tabs alone part the fields, else runs
    of blanks if they part the line into several fields; ',' for a single
    column."""
    for separator in (";", ","):
        if separator in line:
            return separator
    sides = line.split(TARGET_SEPARATOR)
    fields = [f for side in sides for f in split_fields(side, "\t")]
    if "\t" in line and not any(len(f.split()) > 1 for f in fields):
        return "\t"  # tabs alone part the fields (an empty field between two tabs counts)
    return None if any(len(side.split()) > 1 for side in sides) else ","


def is_blank(line: str) -> bool:
    """Blank lines and '#' comments carry no sample and are not errors."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def header_names(line: str, separator: str | None = ",") -> list[str]:
    """A header line's fields, on both sides of a '|'."""
    return [f for side in line.split(TARGET_SEPARATOR) for f in split_fields(side, separator)]


def looks_like_header(line: str, separator: str | None = ",") -> bool:
    """A line whose fields are all non-numeric names is a header."""
    fields = header_names(line, separator)
    if not fields or any(not f for f in fields):
        return False
    for f in fields:
        try:
            float(f)
            return False
        except ValueError:
            pass
    return True


def header_widths(line: str, timestamp: bool = False,
                  separator: str | None = ",") -> tuple[int | None, int]:  # fmt: skip
    """(inputs, targets) a header names; inputs is None when the header has
    no '|' (then only the total is known, returned as targets)."""
    left, sep, right = line.partition(TARGET_SEPARATOR)
    names = split_fields(left, separator)
    if timestamp:
        names = names[1:]
    if not sep:
        return None, len(names)
    return len(names), len(split_fields(right, separator)) if right.strip() else 0


def _number(text: str, column: int) -> float:
    try:
        value = float(text)
    except ValueError:
        shown = text if len(text) <= 20 else text[:17] + "..."
        hint = ""
        if DECIMAL_COMMA.fullmatch(text):
            hint = f" (decimal commas are not read: write {text.replace(',', '.')})"
        raise BadSampleError(
            "malformed", f"column {column + 1}: {shown!r} is not a number{hint}"
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
    line: str, n_inputs: int, n_outputs: int, *, timestamp: bool = False,
    separator: str | None = ",",
) -> tuple[float | None, np.ndarray, np.ndarray | None]:  # fmt: skip
    """(time or None, inputs, targets or None) from one line; raises BadSampleError."""
    left, sep, right = line.partition(TARGET_SEPARATOR)
    if TARGET_SEPARATOR in right:
        raise BadSampleError("malformed", f"more than one {TARGET_SEPARATOR!r} separator")
    fields = split_fields(left, separator)
    time = None
    if timestamp:
        if len(fields) < 2:
            raise BadSampleError("wrong_width", "a timestamp and no inputs")
        time = _number(fields[0], 0)
        fields = fields[1:]
    offset = 1 if timestamp else 0
    if sep:
        target_fields = split_fields(right, separator) if right.strip() else []
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


def parse_line(line: str, n_inputs: int, n_outputs: int,
               separator: str | None = ",") -> tuple[np.ndarray, np.ndarray | None]:  # fmt: skip
    """(inputs, targets or None) from one line without a timestamp."""
    _, inputs, targets = parse_timed_line(line, n_inputs, n_outputs, separator=separator)
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
