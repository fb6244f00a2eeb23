"""Scaling with the hidden size (seed 000, §3.4): ANP, DANP and BPTT (T=50)
in float32, and DANP in fixed16, with n = 100 ... 3000 hidden units learn
Mackey-Glass (15 steps ahead) online for the same number of steps; final test
MSE and time per learning step.

Seed 000 ran this experiment on its 1-hour-ahead weather task, which is not
available offline here; Mackey-Glass stands in for it. Every rule keeps the
defaults of `timelocal rules` at every size (no per-size tuning).

    python benchmarks/scaling.py               # n = 100, 300, 1000, 3000; 3 seeds (~30 min)
    python benchmarks/scaling.py --quick       # n = 100, 300; 1 seed, 1000 steps
    python benchmarks/scaling.py --report      # rebuild the report from docs/scaling.json

Writes docs/scaling.md, .png and .json (the raw results)."""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from timelocal import Network, NetworkSpec  # noqa: E402
from timelocal.runtime.spec import FIXED_ANP_RATE_TIMES_N  # noqa: E402
from timelocal.streams import open_stream  # noqa: E402

try:
    from benchmarks.common import add_output_options, load_run, output_dir, provenance, save_run
except ImportError:  # run as a script from the benchmarks folder
    from common import add_output_options, load_run, output_dir, provenance, save_run

SIZES = (100, 300, 1000, 3000)
# (label, rule, decorrelate, precision)
ENTRIES = [
    ("ANP", "anp", False, "float32"),
    ("DANP", "anp", True, "float32"),
    ("BPTT (T=50)", "bptt", False, "float32"),
    ("DANP fixed16", "anp", True, "fixed16"),
]
CHUNK = 500  # steps per learn call: the time per step excludes compilation


def run_entry(job: tuple) -> dict:
    """One run: (label, rule, decorrelate, precision, hidden, seed, steps)."""
    label, rule, decorrelate, precision, hidden, seed, steps = job
    stream = open_stream(f"synth:mackey-glass?train={steps}&test=5000&seed={seed}")
    x, y = stream.train[0], stream.train[1]
    net = Network(NetworkSpec(rule, 1, 1, n_hidden=hidden, decorrelate=decorrelate, seed=seed,
                              precision=precision))  # fmt: skip
    # Numba's cache loads the kernels on the first call; time from the second chunk on.
    first = min(CHUNK, steps // 2)
    losses = [net.learn(x[:first], y[:first]).loss]
    started = time.perf_counter()
    for start in range(first, steps, CHUNK):
        losses.append(net.learn(x[start : start + CHUNK], y[start : start + CHUNK]).loss)
    seconds = time.perf_counter() - started
    loss = np.concatenate(losses)
    test = net.predict(stream.test[0], stream.test[1], reset=stream.test[3]).mean_loss
    return {"label": label, "hidden": hidden, "seed": seed, "test_mse": test,
            "train_end": float(np.nanmean(loss[-min(1000, steps // 2) :])),
            "ms_per_step": 1e3 * seconds / (steps - first), "finite": bool(np.isfinite(test)),
            "saturations": net.saturations}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1 (network and data)")
    parser.add_argument("--steps", type=int, default=5000, help="learning steps per run")
    add_output_options(parser, "n = 100, 300; one seed; 1000 steps")
    parser.add_argument("--report", action="store_true",
                        help="rewrite the report from the last run's scaling.json in --out")  # fmt: skip
    args = parser.parse_args()
    args.out = output_dir(args)
    if args.report:
        saved = load_run(args.out / "scaling.json")
        args.sizes, args.seeds, args.steps = saved["sizes"], saved["seeds"], saved["steps"]
        write_report(saved["results"], saved["seconds"], args)
        return
    if args.quick:
        args.sizes, args.seeds, args.steps = [100, 300], 1, 1000
    # The largest networks first, so that the two cores finish together.
    jobs = [(label, rule, dec, precision, n, seed, args.steps)
            for n in sorted(args.sizes, reverse=True) for seed in range(args.seeds)
            for label, rule, dec, precision in ENTRIES]  # fmt: skip
    results = []
    started = time.perf_counter()
    with multiprocessing.Pool(2) as pool:
        for done, r in enumerate(pool.imap_unordered(run_entry, jobs), 1):
            print(f"[{done}/{len(jobs)}] {r['label']:12s} n = {r['hidden']:5d} seed {r['seed']} "
                  f"test MSE {r['test_mse']:.3e}  {r['ms_per_step']:.2f} ms/step "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
            results.append(r)
    seconds = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    save_run(args.out / "scaling.json", {"sizes": args.sizes, "seeds": args.seeds,
                                         "steps": args.steps, "seconds": seconds,
                                         "results": results})  # fmt: skip
    write_report(results, seconds, args)


def table(results: list, args) -> list[str]:
    lines = ["| hidden | " + " | ".join(f"{label} test MSE [min, max]" for label, *_ in ENTRIES)
             + " | DANP / BPTT | " + " | ".join(f"{label} ms/step" for label, *_ in ENTRIES) + " |",
             "|---" * (2 + 2 * len(ENTRIES)) + "|"]  # fmt: skip
    for n in sorted(args.sizes):
        mse, ms = {}, {}
        for label, *_ in ENTRIES:
            runs = [r for r in results if r["label"] == label and r["hidden"] == n]
            mse[label] = np.array([r["test_mse"] for r in runs])
            ms[label] = np.mean([r["ms_per_step"] for r in runs])
        cells = [f"{v.mean():.2e} [{v.min():.2e}, {v.max():.2e}]" for v in mse.values()]
        ratio = mse["DANP"].mean() / mse["BPTT (T=50)"].mean()
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {ratio:.2f} | "
                     + " | ".join(f"{v:.2f}" for v in ms.values()) + " |")  # fmt: skip
    return lines


def saturation_sentence(results: list) -> str:
    """Which fixed-point runs saturated a store, if any."""
    hit = [f"n = {r['hidden']} seed {r['seed']} ({sum(r['saturations'].values()):,})"
           for r in results if sum(r.get("saturations", {}).values())]  # fmt: skip
    if not hit:
        return "No fixed-point store saturated. "
    return f"Fixed-point runs with saturated stores: {', '.join(hit)}. "


def write_report(results: list, seconds: float, args) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    diverged = [r for r in results if not r["finite"]]
    lines = [
        "# Scaling with the hidden size",
        "",
        provenance(),
        "",
        f"Mackey-Glass, 15 steps ahead; every run learns online for {args.steps} steps (one "
        "update per step; BPTT one per window of 50), then is tested on a 5000-step series "
        f"from another seed. Seeds 0-{args.seeds - 1} (network and data): mean test MSE with "
        "[min, max]. Float32, and DANP once more in fixed16 (16-bit weights and states, 32-bit "
        "errors). Default hyper-parameters at every size (`timelocal rules`); fixed-point "
        f"ANP's learning rate defaults to {FIXED_ANP_RATE_TIMES_N} / n where that is below "
        "0.003 (at 0.003 the states saturated from n = 300 on: test MSE 64, the output pinned "
        "at the format's limit). The time per "
        "step is the host's, measured after the kernels are loaded, with two runs sharing the "
        "machine's two cores. The whole run took "
        f"{seconds / 60:.0f} min.",
        "",
        *table(results, args),
        "",
        "Seed 000 (§3.4, on its weather task, which is not available here): ANP and DANP are "
        "the perturbation rules that scale to 3000 units, DANP on par with BP (Fig. 7, "
        "without numbers in its text). Lava is not run here: its simulator takes about a "
        "millisecond per step at n = 100 and more with n (docs/lava.md), hours for these "
        "sizes; host and Lava agree bit for bit in fixed point (docs/mackey_glass.md). "
        + saturation_sentence(results)
        + (
            f"{len(diverged)} runs ended with a non-finite test loss."
            if diverged
            else "Every run stayed finite."
        ),  # fmt: skip
        "",
        "![scaling](scaling.png)",
        "",
    ]
    (args.out / "scaling.md").write_text("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
    sizes = sorted(args.sizes)
    for label, *_ in ENTRIES:
        runs = [[r for r in results if r["label"] == label and r["hidden"] == n] for n in sizes]
        left.plot(sizes, [np.mean([r["test_mse"] for r in rs]) for rs in runs], "o-",
                  label=label)  # fmt: skip
        right.plot(sizes, [np.mean([r["ms_per_step"] for r in rs]) for rs in runs], "o-",
                   label=label)  # fmt: skip
    for ax, name in ((left, "test MSE"), (right, "ms per learning step (host)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("hidden units")
        ax.set_ylabel(name)
        ax.legend(fontsize=8)
    fig.suptitle(f"Mackey-Glass, {args.steps} online steps")
    fig.tight_layout()
    fig.savefig(args.out / "scaling.png", dpi=120)
    print(f"wrote {args.out / 'scaling.md'}")


if __name__ == "__main__":
    main()
