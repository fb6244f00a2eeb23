"""What every benchmark writes beside its numbers: the command, the date, the
machine and the timelocal version that produced them."""

from __future__ import annotations

import datetime
import os
import platform
import sys

import numpy as np
import timelocal


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
    return (
        f"Produced by `{command}` on {datetime.date.today().isoformat()}, "
        f"timelocal {timelocal.__version__}, Python {platform.python_version()}, {machine}."
        + (f" {extra}" if extra else "")
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
