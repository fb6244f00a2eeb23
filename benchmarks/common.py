"""What every benchmark writes beside its numbers: the command, the date, the
machine and the timelocal version that produced them."""

from __future__ import annotations

import datetime
import os
import platform
import sys

import timelocal


def provenance(extra: str = "") -> str:
    command = "python " + " ".join([os.path.relpath(sys.argv[0]), *sys.argv[1:]])
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"
    )
    return (
        f"Produced by `{command}` on {datetime.date.today().isoformat()}, "
        f"timelocal {timelocal.__version__}, Python {platform.python_version()}, {machine}."
        + (f" {extra}" if extra else "")
    )
