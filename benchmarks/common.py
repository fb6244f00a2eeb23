"""What every benchmark writes beside its numbers: the command, the date, the
machine and the timelocal version that produced them."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from pathlib import Path

import numpy as np
import timelocal

DOCS = Path(__file__).resolve().parent.parent / "docs"
QUICK_DOCS = DOCS / "quick"


def add_output_options(parser: argparse.ArgumentParser, quick: str) -> None:
    """``--quick`` (its help says what it shortens) and ``--out``: where the
    report goes. A quick run never overwrites the published reports: it
    writes under docs/quick/ (not in git) unless ``--out`` says otherwise."""
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument(
        "--out", type=Path, default=None, help="report directory (default docs/, or docs/quick/)"
    )


def output_dir(args: argparse.Namespace) -> Path:
    """The directory ``add_output_options``' arguments name, created."""
    out = args.out if args.out is not None else QUICK_DOCS if args.quick else DOCS
    out.mkdir(parents=True, exist_ok=True)
    return out


def measuring_command() -> str:
    """The command line of this run, as a user would type it; a report that
    is only rebuilt (``--report``) names the run that measured its numbers."""
    args = [arg for arg in sys.argv[1:] if arg != "--report"]
    return "python " + " ".join([os.path.relpath(sys.argv[0]), *args])


def provenance(extra: str = "") -> str:
    command = measuring_command()
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"
    )
    quick = (
        "\n\n**Quick mode** (`--quick`): short runs, one seed, to check that the benchmark "
        "works; not the published numbers."
        if "--quick" in sys.argv
        else ""
    )
    return (
        f"Produced by `{command}` on {datetime.date.today().isoformat()}, "
        f"timelocal {timelocal.__version__}, Python {platform.python_version()}, {machine}."
        + (f" {extra}" if extra else "")
        + quick
    )


def scores(net, part: tuple) -> tuple[float, float, float]:
    """A classification task's test part through ``net`` without learning:
    (accuracy per scored step, share of whole sequences with every scored
    step right (seed 004's measure), mean loss per step with a target)."""
    inputs, targets, has_target, reset, scored = part
    result = net.predict(inputs, targets, reset=reset)
    mask = scored & has_target
    right = result.outputs.argmax(1) == targets.argmax(1)
    starts = list(np.flatnonzero(reset)) + [len(reset)]
    whole = [np.all(right[a:b][mask[a:b]]) for a, b in zip(starts[:-1], starts[1:], strict=True)]
    return float(right[mask].mean()), float(np.mean(whole)), result.mean_loss
