"""Mackey-Glass, 15 steps ahead (seed 000, ALGORITHMS.md §1): every rule
learns online for the same number of steps; test MSE and NRMSE on a series
from another seed, learning curves, against BPTT.

    python benchmarks/mackey_glass.py            # 50 epochs of 5000 steps
    python benchmarks/mackey_glass.py --quick    # about a minute

Writes docs/mackey_glass.md and docs/mackey_glass.png."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from timelocal import Network, NetworkSpec  # noqa: E402
from timelocal.runtime.session import RunOptions, Session  # noqa: E402
from timelocal.streams import open_stream  # noqa: E402

try:
    from benchmarks.common import provenance
except ImportError:  # run as a script from the benchmarks folder
    from common import provenance

DOCS = Path(__file__).resolve().parent.parent / "docs"
TRAIN = 5000

# (label, rule, decorrelate, extra hyper-parameters)
ENTRIES = [
    ("NP", "np", False, {}),
    ("DNP", "np", True, {}),
    ("WP", "wp", False, {}),
    ("DWP", "wp", True, {}),
    ("ANP", "anp", False, {}),
    ("DANP", "anp", True, {}),
    ("BPTT (T=50)", "bptt", False, {}),
    ("BPTT+decorrelation (T=50)", "bptt", True, {}),
    ("BPTT (T=5000: one update per epoch, as seed 000's BP)", "bptt", False, {"window": TRAIN}),
]


def run_entry(args):
    label, rule, decorrelate, params, epochs, hidden, seed = args
    url = f"synth:mackey-glass?train={TRAIN}&test={TRAIN}&epochs={epochs}&seed={seed}"
    spec = NetworkSpec(rule, 1, 1, n_hidden=hidden, decorrelate=decorrelate, seed=seed,
                       params=params)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        metrics = Path(tmp) / "m.jsonl"
        started = time.perf_counter()
        summary = Session(Network(spec), open_stream(url),
                          RunOptions(metrics_path=metrics, metrics_every=TRAIN)).run()  # fmt: skip
        seconds = time.perf_counter() - started
        records = [json.loads(line) for line in metrics.read_text().splitlines()]
    curve = [r["loss"] for r in records if r["phase"] == "train"]
    return {"label": label, "rule": rule, "decorrelate": decorrelate, "params": params,
            "test_mse": summary["test_loss"], "test_nrmse": summary.get("test_nrmse"),
            "final_train": summary["train_loss"], "steps": summary["steps"],
            "steps_per_s": summary["steps_per_s"], "seconds": seconds, "curve": curve}  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="3 epochs: a smoke run")
    parser.add_argument("--out", type=Path, default=DOCS)
    args = parser.parse_args()
    epochs = 3 if args.quick else args.epochs
    jobs = [(label, rule, dec, params, epochs, args.hidden, args.seed)
            for label, rule, dec, params in ENTRIES]  # fmt: skip
    results = []
    with multiprocessing.Pool(2) as pool:
        for result in pool.imap(run_entry, jobs):
            print(f"{result['label']:55s} test MSE {result['test_mse']:.3e} "
                  f"NRMSE {result['test_nrmse']:.3f} ({result['seconds']:.0f} s)", flush=True)  # fmt: skip
            results.append(result)
    write_report(results, epochs, args)


def write_report(results, epochs, args):
    args.out.mkdir(parents=True, exist_ok=True)
    reference = next(r for r in results if r["label"] == "BPTT (T=50)")["test_mse"]
    lines = [
        "# Mackey-Glass, 15 steps ahead",
        "",
        provenance(f"Seed {args.seed}; one run per rule."),
        "",
        f"{args.hidden} hidden units, {epochs} epochs of {TRAIN} training steps "
        f"({epochs * TRAIN} steps for every rule), learning online, one update per step "
        "(BPTT: one per window); test on a 5000-step series from another seed. "
        "Hyper-parameters are the defaults of `timelocal rules`.",
        "",
        "| rule | test MSE | test NRMSE | MSE / BPTT (T=50) | final train loss | steps/s |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['label']} | {r['test_mse']:.3e} | {r['test_nrmse']:.3f} | "
            f"{r['test_mse'] / reference:.2f} | {r['final_train']:.3e} | {r['steps_per_s']:,.0f} |"
        )
    lines += ["", "![learning curves](mackey_glass.png)", ""]
    (args.out / "mackey_glass.md").write_text("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in results:
        ax.plot(range(1, len(r["curve"]) + 1), r["curve"], label=r["label"])
    ax.set_yscale("log")
    ax.set_xlabel("epoch (5000 steps)")
    ax.set_ylabel("mean training loss (online)")
    ax.set_title(f"Mackey-Glass, {args.hidden} hidden units")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out / "mackey_glass.png", dpi=120)
    print(f"wrote {args.out / 'mackey_glass.md'}")


if __name__ == "__main__":
    main()
