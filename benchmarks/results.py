"""Gather every benchmark's report into docs/RESULTS.md (the last step of
`make bench`): an index of what was measured against which paper, then each
report as its benchmark wrote it (its command, seeds, date, machine and
timelocal version included). Nothing in RESULTS.md is typed by hand: change
a benchmark, run it, run this.

    python benchmarks/results.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

try:
    from benchmarks.common import provenance
except ImportError:
    from common import provenance

DOCS = Path(__file__).resolve().parent.parent / "docs"

# (report, the benchmark that writes it, the paper it reproduces or what it measures)
REPORTS = [
    ("mackey_glass.md", "mackey_glass.py", "seed 000: NP, WP, ANP, their D variants and BPTT"),
    ("scaling.md", "scaling.py", "seed 000: ANP, DANP and BPTT from 100 to 3000 hidden units"),
    ("fixed_point.md", "fixed_point.py", "seed 000's DANP in float32, fixed16 and loihi8"),
    ("copy_memory.md", "copy_memory.py", "seed 000: copy memory, every rule, fixed16 and Lava"),
    ("teacher.md", "gle_teacher.py", "seed 003: GLE teacher/student (Fig. 4, 5)"),
    ("mnist1d.md", "gle_mnist1d.py", "seed 003: GLE on MNIST-1D"),
    ("target_prop.md", "target_prop.py", "seeds 004 and 002: TPTT and LRA"),
    ("speed.md", "speed.py", "host speed against a bare compiled loop"),
    ("lava.md", "lava_speed.py", "the Lava target's speed"),
    ("profile.md", "profile.py", "memory and operations per step, memory over a stream"),
    ("latency.md", "latency.py", "a live stream's delay from sample to prediction"),
]


def produced_line(text: str) -> str:
    """The report's provenance sentence ("Produced by ... on DATE, ..."), if any."""
    match = re.search(r"Produced by `([^`]*)` on (\d{4}-\d{2}-\d{2})", text)
    return f"`{match[1]}`, {match[2]}" if match else "(no provenance line)"


def demoted(text: str) -> str:
    """The report with every heading one level deeper (it becomes a section)."""
    return re.sub(r"^(#+) ", r"#\1 ", text, flags=re.MULTILINE)


def main() -> None:
    found, missing = [], []
    for name, script, what in REPORTS:
        path = DOCS / name
        (found if path.exists() else missing).append((name, script, what))
    lines = ["# Results", "", provenance(), "",
             "Every report below was written by its benchmark under `benchmarks/` "
             "(`make bench` runs them all, then this page is gathered by "
             "`benchmarks/results.py`). Each keeps its own provenance line: the command, "
             "the date, the machine and the timelocal version of its numbers.", "",
             "| report | what | produced by |", "|---|---|---|"]  # fmt: skip
    for name, _, what in found:
        anchor = name.removesuffix(".md")
        text = (DOCS / name).read_text()
        lines.append(f"| [{anchor}](#{anchor}) | {what} | {produced_line(text)} |")
    for name, script, what in missing:
        lines.append(f"| {name} | {what} | not run yet: `python benchmarks/{script}` |")
    for name, _, _ in found:
        anchor = name.removesuffix(".md")
        lines += ["", f'<a id="{anchor}"></a>', "", demoted((DOCS / name).read_text()).strip()]
    (DOCS / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print(f"wrote docs/RESULTS.md ({len(found)} reports, {len(missing)} not run yet)")


if __name__ == "__main__":
    main()
