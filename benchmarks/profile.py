"""What one time step costs, for the default networks (the profiler's model,
which tests/runtime/test_profile.py checks against the counting build of the
kernels), how it grows with n, and the process's resident memory over a long
stream: time-local rules flat, BPTT growing with its window.

    python benchmarks/profile.py [--quick]

Writes docs/profile.md and docs/profile_growth.png."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from timelocal.runtime.network import Network  # noqa: E402
from timelocal.runtime.profile import OPS, profile, sweep_series  # noqa: E402
from timelocal.runtime.session import RunOptions, Session  # noqa: E402
from timelocal.runtime.spec import NetworkSpec  # noqa: E402
from timelocal.streams import open_stream  # noqa: E402

try:
    from benchmarks.common import add_output_options, output_dir, provenance
except ImportError:  # run as a script
    from common import add_output_options, output_dir, provenance

NETWORKS = [("np", False), ("anp", False), ("wp", False), ("np", True), ("anp", True),
            ("wp", True), ("bptt", False), ("bptt", True)]  # fmt: skip


def _spec(rule, decorrelate, precision, n, **params):
    return NetworkSpec(rule, n_inputs=1, n_outputs=1, n_hidden=n, decorrelate=decorrelate,
                       precision=precision, params=params)  # fmt: skip


def default_table(n: int, time_budget: float) -> list[str]:
    lines = [
        "| network | precision | optimizer | state (format bytes) | "
        + " | ".join(OPS)
        + " | host us/step |",
        "|" + "---|" * (len(OPS) + 5),
    ]
    for precision in ("float32", "fixed16", "loihi8"):
        for rule, decorrelate in NETWORKS:
            if rule == "bptt" and precision != "float32":
                continue
            spec = _spec(rule, decorrelate, precision, n)
            result = profile(spec, measure_time=True, time_budget=time_budget)
            totals = result.op_totals
            print(f"  {spec.name} {precision}: {result.seconds_per_step * 1e6:.2f} us/step",
                  flush=True)  # fmt: skip
            name = spec.name + (f" (T={spec.hyper('window')})" if rule == "bptt" else "")
            lines.append(
                f"| {name} | {precision} | {spec.hyper('optimizer')} | {result.format_bytes:,} | "
                + " | ".join(f"{totals[k]:,.0f}" for k in OPS)
                + f" | {result.seconds_per_step * 1e6:,.2f} |"
            )
    return lines


def window_table(windows: list[int], n: int) -> list[str]:
    danp = profile(_spec("anp", True, "float32", n)).format_bytes
    lines = ["| BPTT window T | BPTT state (bytes) | DANP state (bytes) |", "|---|---|---|"]
    for window in windows:
        bptt = profile(_spec("bptt", False, "float32", n, window=window)).format_bytes
        lines.append(f"| {window:,} | {bptt:,} | {danp:,} |")
    return lines


def growth(sizes: list[int], time_budget: float, plot_path: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = [("anp", True, "float32"), ("anp", True, "fixed16"), ("wp", True, "float32"),
             ("bptt", False, "float32")]  # fmt: skip
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    lines = ["| network | precision | n | state (format bytes) | ops/step | MACs/step | "
             "host us/step |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for rule, decorrelate, precision in cases:
        results = []
        for n in sizes:
            spec = _spec(rule, decorrelate, precision, n)
            results.append(profile(spec, measure_time=True, time_budget=time_budget))
            print(f"  {spec.name} {precision} n={n}", flush=True)
        series = sweep_series(results)
        label = f"{results[0].spec.name} {precision}"
        axes[0].loglog(sizes, series["format_bytes"], "o-", label=label)
        axes[1].loglog(sizes, series["ops_per_step"], "o-", label=label)
        axes[2].loglog(sizes, [s * 1e6 for s in series["seconds_per_step"]], "o-", label=label)
        for k, n in enumerate(sizes):
            lines.append(
                f"| {label.split()[0]} | {precision} | {n} | {series['format_bytes'][k]:,} | "
                f"{series['ops_per_step'][k]:,.0f} | {series['macs_per_step'][k]:,.0f} | "
                f"{series['seconds_per_step'][k] * 1e6:,.2f} |"
            )
    for axis, title in zip(axes, ("persistent state (format bytes)", "operations per step",
                                  "host time per step (us)"), strict=True):  # fmt: skip
        axis.set_title(title)
        axis.set_xlabel("hidden units n")
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(plot_path, dpi=110)
    plt.close(fig)
    return lines


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def resident_memory(steps: int) -> list[str]:
    """Resident memory of this process along a long run through the session
    loop: DANP (time-local) and BPTT with a window as long as the run."""
    lines = ["| network | steps | RSS after 10% (MiB) | RSS at the end (MiB) | growth (MiB) |",
             "|---|---|---|---|---|"]  # fmt: skip
    for rule, decorrelate, params in (("anp", True, {}), ("bptt", False, {"window": steps + 1})):
        spec = NetworkSpec(rule, n_inputs=1, n_outputs=1, n_hidden=16, decorrelate=decorrelate,
                           params=params)  # fmt: skip
        samples = []
        epochs = -(-steps // 5000)
        Session(Network(spec), open_stream(f"synth:mackey-glass?epochs={epochs}"),
                RunOptions(steps=steps, chunk_size=10_000, evaluate=False),
                progress=lambda p, s=samples: s.append((p.done, _rss_mib()))).run()  # fmt: skip
        warm = next(rss for done, rss in samples if done >= steps // 10)
        end = samples[-1][1]
        name = spec.name + (f" (T={params['window']:,})" if params else "")
        lines.append(f"| {name} | {steps:,} | {warm:,.1f} | {end:,.1f} | {end - warm:+,.1f} |")
        print(f"  {name}: {warm:.1f} -> {end:.1f} MiB", flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_options(parser, "smaller sizes, shorter runs")
    args = parser.parse_args()
    args.out = output_dir(args)
    n = 100
    sizes = [16, 64, 256] if args.quick else [16, 64, 256, 1024]
    time_budget = 0.2 if args.quick else 1.0
    steps = 200_000 if args.quick else 1_000_000
    print("default networks", flush=True)
    table = default_table(n, time_budget)
    print("growth", flush=True)
    plot = args.out / "profile_growth.png"
    grow = growth(sizes, time_budget, plot)
    print("resident memory", flush=True)
    rss = resident_memory(steps)
    text = [
        "# What one time step costs",
        "",
        provenance(
            "Operation counts come from the profiler's model, which "
            "`tests/runtime/test_profile.py` checks against the kernels compiled with "
            "counting primitives (exactly, for every rule and precision). Host times "
            "are measured: best chunk of learning steps with a target."
        ),  # fmt: skip
        "",
        "Reproduce one row: `timelocal profile --rule anp --decorrelate --hidden 100 "
        "--precision fixed16`.",
        "",
        f"## The default networks (1 input, {n} hidden, 1 output), per learning step",
        "",
        "Kinds: `mac` multiply-accumulate; `mul` other multiplies; `add` adds and subtracts; "
        "`shift` fixed-point rounding shifts; `select` compares and saturating stores; "
        "`lookup` activation/exp/log; `div` divisions and square roots; `random` numbers "
        "drawn; `read`/`write` elements of weights and optimiser moments. BPTT's figures "
        "are one window's operations divided by T. ANP's figures are its worst case (a "
        "layer whose perturbation falls below the floor skips its division).",
        "",
        *table,
        "",
        "## State against BPTT's window (float32, 100 hidden)",
        "",
        "A time-local rule's state does not depend on how long the stream is; BPTT stores "
        "its window.",
        "",
        *window_table([10, 100, 1000, 10_000, 100_000], n),
        "",
        "## Growth with the hidden size",
        "",
        "![growth](profile_growth.png)",
        "",
        *grow,
        "",
        "## Resident memory over a long stream (16 hidden)",
        "",
        "The whole session loop (stream, chunks, metrics) in one process. "
        "`tests/runtime/test_profile.py` asserts the flat case (within 5 MB over 10^6 steps "
        "for NP, ANP, WP with and without decorrelation).",
        "",
        *rss,
        "",
    ]
    (args.out / "profile.md").write_text("\n".join(text))
    print(f"wrote {args.out / 'profile.md'} and {plot}")


if __name__ == "__main__":
    main()
