"""Fixed point against float32: DANP on Mackey-Glass (15 steps ahead) in
float32, fixed16 and loihi8, with stochastic and with round-to-nearest weight
changes; and host speed of fixed16 against float32 at n = 64 and 256.

    python benchmarks/fixed_point.py [--quick]

Every run uses the same hyper-parameters: fixed point's defaults (plain SGD,
learning rate 3e-3, decorrelation rate 3e-6; `timelocal rules`). Each
fixed-point precision also learns the first LAVA_STEPS steps on the Lava
simulator beside the host. Writes docs/fixed_point.md and docs/fixed_point.png."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from timelocal import Network, NetworkSpec  # noqa: E402
from timelocal.runtime.precision import parse_precision  # noqa: E402
from timelocal.runtime.session import RunOptions, Session  # noqa: E402
from timelocal.streams import open_stream  # noqa: E402

try:
    from benchmarks.common import add_output_options, lava_twin, load_lava, output_dir, provenance
    from benchmarks.mackey_glass import TRAIN, run_all
except ImportError:  # run as a script from the benchmarks folder
    from common import add_output_options, lava_twin, load_lava, output_dir, provenance
    from mackey_glass import TRAIN, run_all

# The fixed-point defaults, spelled out so that float32 runs the same rule.
SGD = {"optimizer": "sgd", "learning_rate": 3e-3, "decorrelation_rate": 3e-6}
PRECISIONS = [
    ("float32", "float32"),
    ("fixed16", "fixed16"),
    ("fixed16, round to nearest", "fixed:w=16.12,a=16.12,e=32.24,g=32.24,acc=32,rounding=nearest"),
    ("loihi8", "loihi8"),
    ("loihi8, round to nearest",
     "fixed:w=8.7,a=24.16,e=32.24,g=32.24,acc=40,shared=1,rounding=nearest"),
]  # fmt: skip
LAVA_STEPS = 5000


def speed(precision: str, hidden: int, steps: int, repeats: int) -> float:
    url = f"synth:mackey-glass?train={steps}&test=10&epochs=1"
    spec = NetworkSpec("anp", 1, 1, n_hidden=hidden, decorrelate=True, precision=precision,
                       params=SGD)  # fmt: skip
    best = np.inf
    for _ in range(repeats):
        network, stream = Network(spec), open_stream(url)
        tick = time.perf_counter()
        Session(network, stream, RunOptions(evaluate=False)).run()
        best = min(best, time.perf_counter() - tick)
    return steps / best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--no-lava", action="store_true", help="skip the Lava runs")
    add_output_options(parser, "3 epochs, one seed")
    args = parser.parse_args()
    args.out = output_dir(args)
    epochs, seeds = (3, 1) if args.quick else (args.epochs, args.seeds)
    jobs = [(label, "anp", True, SGD, epochs, args.hidden, seed, precision)
            for seed in range(seeds) for label, precision in PRECISIONS]  # fmt: skip
    if not args.no_lava:
        load_lava()
    results = run_all(jobs)
    twins = []
    stream = open_stream(f"synth:mackey-glass?train={LAVA_STEPS}&test=10&seed=0")
    for label, precision in [] if args.no_lava else PRECISIONS[1:]:
        spec = NetworkSpec("anp", 1, 1, n_hidden=args.hidden, decorrelate=True, seed=0,
                           precision=precision, params=SGD)  # fmt: skip
        twins.append((label, lava_twin(spec, stream.train[0], stream.train[1])))
        print(f"{label} on Lava: identical {twins[-1][1]['identical']}", flush=True)
    sizes = {64: 5000, 256: 1000} if args.quick else {64: 50000, 256: 10000}
    speed("fixed16", 8, 50, 1), speed("float32", 8, 50, 1)  # load compiled code first
    speeds = []
    for hidden, steps in sizes.items():
        f32 = speed("float32", hidden, steps, 3)
        f16 = speed("fixed16", hidden, steps, 3)
        speeds.append((hidden, steps, f32, f16))
        print(f"n={hidden}: float32 {f32:,.0f} steps/s, fixed16 {f16:,.0f} ({f16 / f32:.2f}x)")
    write_report(results, speeds, epochs, seeds, args, twins)


def write_report(results, speeds, epochs, seeds, args, twins=()):
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for label, precision in PRECISIONS:
        runs = sorted((r for r in results if r["label"] == label), key=lambda r: r["seed"])
        rows.append((label, precision, np.array([r["test_mse"] for r in runs]), runs))
    reference = rows[0][2].mean()
    fixed16 = parse_precision("fixed16")
    lines = [
        "# Fixed point: DANP on Mackey-Glass, float32 against fixed16 and loihi8",
        "",
        provenance(""),
        "",
        f"DANP, {args.hidden} hidden units, {epochs} epochs of {TRAIN} steps, seeds "
        f"0-{seeds - 1} (MSE: mean [min, max]); the same hyper-parameters for every row: "
        f"plain SGD, learning rate {SGD['learning_rate']}, decorrelation rate "
        f"{SGD['decorrelation_rate']}, sigma 1e-3 (fixed point's defaults).",
        "",
        "Runs of one precision differ by seed by up to 20x (the learning is chaotic), so "
        "the ratios to float32 are of the means and of the medians over seeds.",
        "",
        "| precision | formats | test MSE, mean [min, max] | median | / float32 (mean) "
        "| / float32 (median) | saturated stores (seed 0) | ANP layer-steps skipped (seed 0) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    median = float(np.median(rows[0][2]))
    for label, precision, mse, runs in rows:
        sat = runs[0]["saturations"]
        sat_text = ", ".join(f"{k} {v}" for k, v in sat.items() if v) or "none"
        lines.append(
            f"| {label} | {parse_precision(precision).describe()} | {mse.mean():.2e} "
            f"[{mse.min():.2e}, {mse.max():.2e}] | {np.median(mse):.2e} "
            f"| {mse.mean() / reference:.2f} | {np.median(mse) / median:.2f} | {sat_text} "
            f"| {runs[0]['anp_skipped']} |"
        )
    lines += [
        "",
        f"tanh in fixed16: piecewise-linear over 256 segments of [0, 8), maximum error "
        f"{fixed16.tanh_max_error():.2e} (one unit of the state format is "
        f"{2.0**-fixed16.states.frac:.2e}).",
        "",
        "## Host speed, DANP, same run",
        "",
        "| hidden | steps | float32 (steps/s) | fixed16 (steps/s) | ratio |",
        "|---|---|---|---|---|",
    ]
    for hidden, steps, f32, f16 in speeds:
        lines.append(f"| {hidden} | {steps} | {f32:,.0f} | {f16:,.0f} | {f16 / f32:.2f} |")
    if twins:
        lines += ["", "## Lava simulator, same formats", "",
                  f"Each fixed-point row's seed-0 network learns its first {LAVA_STEPS:,} steps "
                  "on Lava and on the host from the same start (Lava's simulator would take "
                  "hours for the whole table).", "",
                  "| precision | outputs, losses and weights | Lava (steps/s) | host (steps/s) |",
                  "|---|---|---|---|"]  # fmt: skip
        for label, twin in twins:
            same = ("identical bit for bit" if twin["identical"] else
                    f"differ (outputs by up to {twin['max_output_difference']:.3g})")  # fmt: skip
            lines.append(f"| {label} | {same} | {twin['lava_steps_per_s']:,.0f} | "
                         f"{twin['host_steps_per_s']:,.0f} |")  # fmt: skip
    lines += ["", "![learning curves](fixed_point.png)", ""]
    (args.out / "fixed_point.md").write_text("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, _, _, runs in rows:
        ax.plot(range(1, len(runs[0]["curve"]) + 1), runs[0]["curve"], label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch (5000 steps)")
    ax.set_ylabel("mean training loss (online), seed 0")
    ax.set_title(f"DANP on Mackey-Glass, {args.hidden} hidden units")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / "fixed_point.png", dpi=120)
    print(f"wrote {args.out / 'fixed_point.md'}")


if __name__ == "__main__":
    main()
