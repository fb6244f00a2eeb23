"""What every benchmark writes beside its numbers: the command, the date, the
machine and the timelocal version that produced them."""

from __future__ import annotations

import argparse
import datetime
import json
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
    """The command line of this run, as a user would type it, without the
    options that do not change the numbers (``--report``, ``--out DIR``)."""
    args, skip = [], False
    for arg in sys.argv[1:]:
        if skip or arg == "--report" or arg.startswith("--out="):
            skip = False
            continue
        skip = arg == "--out"
        if not skip:
            args.append(arg)
    return "python " + " ".join([os.path.relpath(sys.argv[0]), *args])


def measurement() -> dict:
    """What made this run's numbers: the command, the date, the versions and
    the machine. ``save_run`` keeps it beside the raw results, so that a report
    rebuilt from them (``--report``) names the run that measured them."""
    return {
        "command": measuring_command(),
        "date": datetime.date.today().isoformat(),
        "timelocal": timelocal.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}",
    }


_rebuilt_from: dict | None = None  # set by load_run: the measurement a rebuilt report names


def save_run(path: Path, results: dict) -> None:
    """The raw results of a run, with its ``measurement()``, as JSON."""
    path.write_text(json.dumps({**results, "measurement": measurement()}))


def load_run(path: Path) -> dict:
    """Raw results saved by ``save_run``; the report written next names their
    measurement, not the command that rebuilds it."""
    global _rebuilt_from
    saved = json.loads(path.read_text())
    _rebuilt_from = saved.get("measurement")
    return saved


def provenance(extra: str = "") -> str:
    measured = _rebuilt_from or measurement()
    quick = (
        "\n\n**Quick mode** (`--quick`): short runs, one seed, to check that the benchmark "
        "works; not the published numbers."
        if "--quick" in measured["command"].split()
        else ""
    )
    return (
        f"Produced by `{measured['command']}` on {measured['date']}, "
        f"timelocal {measured['timelocal']}, Python {measured['python']}, {measured['machine']}."
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


def load_lava() -> None:
    """Import the Lava target: Lava fixes multiprocessing's start method on
    import, so a benchmark that uses a Pool and Lava loads it before the Pool."""
    import timelocal.targets.lava.target  # noqa: F401


def lava_twin(spec, inputs, targets=None, reset=None) -> dict:
    """Learn the same chunk on the Lava simulator and on the host from the
    same initial state: are their outputs, losses and learned weights the
    same bit for bit, and how fast was each. Run it in the benchmark's own
    process (Lava starts processes of its own, which a pool's worker may not)
    after ``load_lava``."""
    import time

    from timelocal import Network

    def part(array, piece):
        return None if array is None else array[piece]

    # The first steps load the compiled code and start Lava's runtime: untimed.
    first, rest = slice(0, max(1, len(inputs) // 20)), slice(max(1, len(inputs) // 20), None)
    results, seconds, states = {}, {}, {}
    for target in ("host", "lava"):
        with Network(spec, target=target) as net:
            warm = net.learn(inputs[first], part(targets, first), reset=part(reset, first))
            started = time.perf_counter()
            timed = net.learn(inputs[rest], part(targets, rest), reset=part(reset, rest))
            seconds[target] = time.perf_counter() - started
            results[target] = (np.concatenate([warm.outputs, timed.outputs]),
                               np.concatenate([warm.loss, timed.loss]))  # fmt: skip
        states[target] = net.state  # read back from Lava's Vars on leaving the block
    (host_outputs, host_loss), (lava_outputs, lava_loss) = results["host"], results["lava"]
    timed_steps = len(inputs) - first.stop
    same_loss = np.array_equal(host_loss, lava_loss, equal_nan=True)
    same_weights = np.array_equal(states["host"]["params"], states["lava"]["params"])
    return {"steps": len(inputs), "precision": spec.precision, "seed": spec.seed,
            "identical": bool(np.array_equal(host_outputs, lava_outputs) and same_loss
                              and same_weights),
            "max_output_difference": float(np.max(np.abs(host_outputs - lava_outputs))),
            "host_steps_per_s": timed_steps / seconds["host"],
            "lava_steps_per_s": timed_steps / seconds["lava"], "warm": True}  # fmt: skip


def lava_sentence(twin: dict, what: str) -> str:
    """A report's paragraph on a ``lava_twin`` run of ``what``."""
    agree = ("outputs, losses and learned weights identical bit for bit"
             if twin["identical"] else
             f"NOT identical: outputs differ by up to {twin['max_output_difference']:.3g}")  # fmt: skip
    return (
        f"**Lava simulator:** {what}, {twin['precision']}, network seed {twin['seed']}, learning "
        f"{twin['steps']:,} steps on Lava and on the host from the same start: {agree} "
        f"({twin['lava_steps_per_s']:,.0f} steps/s on Lava, {twin['host_steps_per_s']:,.0f} on "
        + ("the host, after the first 5 % of the steps). " if twin.get("warm") else
           "the host, start-up and compilation included). ")
        + "Lava's simulator is too slow for the whole run"
        + ("; since the two targets agree bit for bit, the host's fixed-point rows are what "
           "Lava would produce." if twin["identical"] else ".")
    )  # fmt: skip
