"""Latency of a live stream: the time from a sample's line being written to
the ``timelocal`` process to its prediction coming back, through the real CLI
(stdin -> network -> ``--predictions -``), one sample at a time, at several
network sizes and --max-latency-ms settings. Writes docs/latency.md.

    python benchmarks/latency.py [--samples 200] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

try:
    from benchmarks.common import add_output_options, output_dir, provenance
except ImportError:  # run as a script: python benchmarks/latency.py
    from common import add_output_options, output_dir, provenance


def measure(hidden: int, max_latency_ms: float, samples: int, gap: float) -> list[float]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "timelocal.cli", "run", "--rule", "anp", "--decorrelate",
         "--hidden", str(hidden), "--stream", "-", "--inputs", "3", "--outputs", "1",
         "--predictions", "-", "--max-latency-ms", str(max_latency_ms), "-q"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    proc.stdout.readline()  # the header
    delays = []
    for k in range(samples + 5):
        sent = time.perf_counter()
        proc.stdin.write(f"{k % 7 * 0.1},{k % 5 * 0.2},0.5|{k % 3 * 0.1}\n")
        proc.stdin.flush()
        proc.stdout.readline()
        if k >= 5:  # the first samples include loading the compiled kernels
            delays.append(time.perf_counter() - sent)
        time.sleep(gap)
    proc.stdin.close()
    proc.wait(timeout=60)
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    add_output_options(parser, "50 samples per setting")
    args = parser.parse_args()
    args.out = output_dir(args)
    samples = 50 if args.quick else args.samples
    rows = []
    for hidden in (64, 256):
        for max_latency_ms in (5.0, 20.0):
            delays = sorted(1000 * d for d in measure(hidden, max_latency_ms, samples, 0.01))
            row = (hidden, max_latency_ms, statistics.median(delays),
                   delays[int(0.99 * (len(delays) - 1))], delays[-1])  # fmt: skip
            rows.append(row)
            print(f"n={hidden} max-latency {max_latency_ms:.0f} ms: median {row[2]:.1f} ms, "
                  f"p99 {row[3]:.1f} ms, max {row[4]:.1f} ms")  # fmt: skip
    lines = [
        "# Live-stream latency",
        "",
        "From writing one sample's line to the process's standard input to reading its "
        "prediction from `--predictions -`, through the real CLI (DANP, 3 inputs, 1 output, "
        f"one sample every 10 ms, {samples} samples after 5 warm-up samples).",
        "",
        "| hidden | --max-latency-ms | median (ms) | p99 (ms) | max (ms) |",
        "|---|---|---|---|---|",
        *(f"| {h} | {m:.0f} | {a:.1f} | {b:.1f} | {c:.1f} |" for h, m, a, b, c in rows),
        "",
        "The bound the design states: --max-latency-ms + one poll of the source "
        "(at most 20 ms, shorter when --max-latency-ms is) + the compute time of the chunk.",
        "",
        provenance(),
        "",
    ]
    (args.out / "latency.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
