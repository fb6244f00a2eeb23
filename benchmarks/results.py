"""Gather every benchmark's report into docs/RESULTS.md: an index of what
was measured against which paper, then each report as its benchmark wrote it
(its command, seeds, date, machine and timelocal version included). Nothing
in RESULTS.md is typed by hand: change a benchmark, run it, run this.

    python benchmarks/results.py                  # gather the reports as they are
    python benchmarks/results.py --run            # run every benchmark, then gather (make bench)
    python benchmarks/results.py --run --quick    # the same, short, into docs/quick/ (make bench-quick)
    python benchmarks/results.py --run --only scaling --only teacher   # rerun some, then gather

The long benchmarks (LONG: an hour or more) run only when ``--only`` names them; their
reports are gathered with the others.

With ``--run`` each benchmark's wall time goes into ``bench_times.json`` beside
the reports, and the index shows it with the total (with ``--only``, the times
of the others stay those of their last run, and the total is the sum). A
benchmark that fails does not stop the others; the command then exits with
status 1 naming it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

try:
    from benchmarks.common import DOCS, QUICK_DOCS, provenance
except ImportError:
    from common import DOCS, QUICK_DOCS, provenance

HERE = Path(__file__).resolve().parent

# (report, the benchmark that writes it, the paper it reproduces or what it measures)
REPORTS = [
    (
        "mackey_glass.md",
        "mackey_glass.py",
        "seed 000: NP, WP, ANP, their D variants and BPTT; decorrelation over training",
    ),
    (
        "scaling.md",
        "scaling.py",
        "seed 000: ANP, DANP (also fixed16) and BPTT from 100 to 3000 hidden units",
    ),
    (
        "fixed_point.md",
        "fixed_point.py",
        "seed 000's DANP in float32, fixed16 and loihi8, host and Lava",
    ),
    ("copy_memory.md", "copy_memory.py", "seed 000: copy memory, every rule, fixed16 and Lava"),
    ("teacher.md", "gle_teacher.py", "seed 003: GLE teacher/student (Fig. 4, 5)"),
    ("mnist1d.md", "gle_mnist1d.py", "seed 003: GLE on MNIST-1D"),
    (
        "mnist1d_adam.md",
        "gle_mnist1d.py --adam --epochs 20 --seeds 2",
        "seed 003's MNIST-1D network and data, GLE online with Adam",
    ),
    (
        "mnist1d_adam_decay.md",
        "gle_mnist1d.py --adam --epochs 20 --seeds 1 --decay-after 9 --decay-every 1 --decay-factor 0.5",
        "the same with the learning rate halved every epoch from epoch 10",
    ),
    (
        "mnist1d_adam_average.md",
        "gle_mnist1d.py --adam --epochs 40 --seeds 2 --average 1",
        "the same at a constant rate, tested on the weights averaged over the last epoch",
    ),
    (
        "mnist1d_adam_average_decay.md",
        "gle_mnist1d.py --adam --epochs 44 --seeds 2 --average 1 --decay-after 30 --decay-every 10 --decay-factor 0.3",
        "the same, the rate cut to 0.3x after epoch 40 and 0.09x after epoch 50 (goes on from the 40-epoch run's --save)",
    ),
    ("target_prop.md", "target_prop.py", "seeds 004 and 002: TPTT and LRA"),
    ("speed.md", "speed.py", "host speed against a bare compiled loop"),
    ("lava.md", "lava_speed.py", "the Lava target's speed"),
    ("profile.md", "profile.py", "memory and operations per step, memory over a stream"),
    ("latency.md", "latency.py", "a live stream's delay from sample to prediction"),
    (
        "tptt_long.md",
        "tptt_long.py",
        "issue 7's goal: TPTT at K = 16 on copy memory, delay 10, long online runs",
    ),
]
# An hour or more: run by hand or with --only, never by `make bench`. A
# script may carry its arguments ("gle_mnist1d.py --adam ...").
LONG = {
    "tptt_long.py",
    "gle_mnist1d.py --adam --epochs 20 --seeds 2",
    "gle_mnist1d.py --adam --epochs 20 --seeds 1 --decay-after 9 --decay-every 1 --decay-factor 0.5",
    "gle_mnist1d.py --adam --epochs 40 --seeds 2 --average 1",
    "gle_mnist1d.py --adam --epochs 44 --seeds 2 --average 1 --decay-after 30 --decay-every 10 --decay-factor 0.3",
}


def produced_line(text: str) -> str:
    """The report's provenance sentence ("Produced by ... on DATE, ..."), if any."""
    match = re.search(r"Produced by `([^`]*)` on (\d{4}-\d{2}-\d{2})", text)
    return f"`{match[1]}`, {match[2]}" if match else "(no provenance line)"


def demoted(text: str) -> str:
    """The report with every heading one level deeper (it becomes a section)."""
    return re.sub(r"^(#+) ", r"#\1 ", text, flags=re.MULTILINE)


def selected(only: list[str] | None) -> list[str]:
    """The scripts ``--only`` names (a script, its report or its stem), in
    REPORTS' order; all of them without ``--only``."""
    if not only:
        return [script for _, script, _ in REPORTS if script not in LONG]
    names = {}
    for report, script, _ in REPORTS:
        for name in (script, script.removesuffix(".py"), report, report.removesuffix(".md")):
            if " " in script:  # a script with arguments answers to its report's names only
                if name in (script, script.removesuffix(".py")):
                    continue
            names[name] = script
    unknown = [name for name in only if name not in names]
    if unknown:
        sys.exit(f"error: no benchmark {', '.join(unknown)}; choose from "
                 f"{', '.join(r.removesuffix('.md') for r, _, _ in REPORTS)}")  # fmt: skip
    wanted = {names[name] for name in only}
    return [script for _, script, _ in REPORTS if script in wanted]


def run_benchmarks(quick: bool, out: Path, scripts: list[str]) -> list[str]:
    """Runs ``scripts`` in order, each in its own process; records their wall
    times in ``out/bench_times.json`` (over those of an earlier record when
    only some ran); returns the failed scripts."""
    path = out / "bench_times.json"
    record = json.loads(path.read_text()) if path.exists() else {}
    whole = len(scripts) == len(selected(None)) and not LONG & set(scripts)
    if record.get("quick") != quick or whole:
        record = {}
    today = datetime.date.today().isoformat()
    times, dates = record.get("seconds", {}), record.get("dates", {})
    failed, started = [], time.perf_counter()
    for number, script in enumerate(scripts, start=1):
        name, *arguments = script.split()
        command = [sys.executable, str(HERE / name), *arguments] + (["--quick"] if quick else [])
        elapsed = (time.perf_counter() - started) / 60
        print(f"[{number}/{len(scripts)}, {elapsed:.0f} min] {' '.join(command[1:])}", flush=True)
        begun = time.perf_counter()
        code = subprocess.run(command).returncode
        times[script], dates[script] = round(time.perf_counter() - begun, 1), today
        if code:
            failed.append(script)
            print(f"error: {script} failed with exit status {code}", file=sys.stderr, flush=True)
    failed = failed if whole else sorted(set(record.get("failed", [])) - set(scripts) | set(failed))
    record = {"date": today, "quick": quick, "seconds": times,
              "dates": {script: dates.get(script, record.get("date")) for script in times},
              "total_seconds": round(time.perf_counter() - started if whole
                                     else sum(times.values()), 1),
              "one_run": whole, "failed": failed}  # fmt: skip
    path.write_text(json.dumps(record, indent=1) + "\n")
    return failed


def timing_lines(out: Path) -> tuple[dict, list[str]]:
    """The last ``--run``'s times per script, and a sentence with its total."""
    path = out / "bench_times.json"
    if not path.exists():
        return {}, []
    record = json.loads(path.read_text())
    command = "make bench-quick" if record["quick"] else "make bench"
    failed = f"; failed: {', '.join(record['failed'])}" if record["failed"] else ""
    minutes = record["total_seconds"] / 60
    if record.get("one_run", True):
        sentence = (f"The last `{command}` ({record['date']}) took {minutes:.0f} min on this "
                    f"machine, every benchmark of it included{failed}.")  # fmt: skip
    else:
        sentence = (f"Each benchmark's last run on this machine (the minutes column; some were "
                    f"rerun alone with `python benchmarks/results.py --run --only NAME`) adds up "
                    f"to {minutes:.0f} min, the time `{command}` needs from scratch{failed}.")  # fmt: skip
    return record["seconds"], [sentence, ""]


def gather(out: Path) -> None:
    found, missing = [], []
    for name, script, what in REPORTS:
        path = out / name
        (found if path.exists() else missing).append((name, script, what))
    seconds, timing = timing_lines(out)
    lines = ["# Results", "", provenance(), "",
             "Every report below was written by its benchmark under `benchmarks/` "
             "(`make bench` runs them all, then this page is gathered by "
             "`benchmarks/results.py`). Each keeps its own provenance line: the command, "
             "the date, the machine and the timelocal version of its numbers.", "", *timing,
             "| report | what | produced by | minutes (last run) |",
             "|---|---|---|---|"]  # fmt: skip
    for name, script, what in found:
        anchor = name.removesuffix(".md")
        text = (out / name).read_text()
        minutes = f"{seconds[script] / 60:.1f}" if script in seconds else ""
        lines.append(f"| [{anchor}](#{anchor}) | {what} | {produced_line(text)} | {minutes} |")
    for name, script, what in missing:
        by_hand = " (an hour or more: not in `make bench`)" if script in LONG else ""
        lines.append(f"| {name} | {what} | not run yet: `python benchmarks/{script}`{by_hand} | |")
    for name, _, _ in found:
        anchor = name.removesuffix(".md")
        lines += ["", f'<a id="{anchor}"></a>', "", demoted((out / name).read_text()).strip()]
    (out / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'RESULTS.md'} ({len(found)} reports, {len(missing)} not run yet)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help="run every benchmark first")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="quick runs, reports in docs/quick/ (not the published ones)",
    )
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="with --run: run this benchmark only (repeatable; e.g. scaling)")  # fmt: skip
    args = parser.parse_args()
    if args.only and not args.run:
        parser.error("--only goes with --run")
    scripts = selected(args.only)
    out = QUICK_DOCS if args.quick else DOCS
    out.mkdir(parents=True, exist_ok=True)
    failed = run_benchmarks(args.quick, out, scripts) if args.run else []
    gather(out)
    if failed:
        sys.exit(f"error: {len(failed)} benchmark(s) failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
