"""Copy memory (seed 000, §3.2): sequences of 100 symbols out of 8, a delay of
10 steps, then the recall (Arjovsky et al.'s setup, `synth:copy-memory`).
Every rule learns online, one update per step (BPTT: one per window), for
the same number of sequences; the test set is scored at intervals.

    python benchmarks/copy_memory.py            # 3 seeds (about 12 min on 2 cores)
    python benchmarks/copy_memory.py --quick    # about a minute: short runs, one seed
    python benchmarks/copy_memory.py --report   # rebuild the report from docs/copy_memory.json

Writes docs/copy_memory.md, .png and .json."""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from timelocal import Network, NetworkSpec  # noqa: E402
from timelocal.streams.registry import open_stream  # noqa: E402

try:
    from benchmarks.common import (
        add_output_options,
        load_run,
        output_dir,
        provenance,
        save_run,
        scores,
    )
except ImportError:  # run as a script from the benchmarks folder
    from common import add_output_options, load_run, output_dir, provenance, save_run, scores

LENGTH, DELAY, HIDDEN = 100, 10, 100
SEQUENCE = 2 * LENGTH + DELAY
SEEDS = (0, 1, 2)
EVALS = 10  # test-set scores along the way (the learning curve)

# (label, rule, decorrelate, hyper-parameters, precision, loss); {}: the rule's defaults.
ROWS = [
    ("NP", "np", False, {}, "float32", "xent"),
    ("DNP", "np", True, {}, "float32", "xent"),
    ("WP", "wp", False, {}, "float32", "xent"),
    ("DWP", "wp", True, {}, "float32", "xent"),
    ("ANP", "anp", False, {}, "float32", "xent"),
    ("DANP", "anp", True, {}, "float32", "xent"),
    ("BPTT (T=50)", "bptt", False, {}, "float32", "xent"),
    ("BPTT+decorrelation (T=50)", "bptt", True, {}, "float32", "xent"),
    (f"BPTT (T={SEQUENCE}, the whole sequence)", "bptt", False, {"window": SEQUENCE}, "float32",
     "xent"),
    # Fixed point has no softmax: squared error on the one-hot targets, in both precisions.
    ("ANP", "anp", False, {}, "float32", "mse"),
    ("ANP", "anp", False, {}, "fixed16", "mse"),
    ("DANP", "anp", True, {}, "float32", "mse"),
    ("DANP", "anp", True, {}, "fixed16", "mse"),
]  # fmt: skip
# The Lava simulator (a few hundred steps/s here): one row, one seed, fewer sequences,
# beside a host run of the same sequences to compare with.
LAVA_ROW = ("DANP", "anp", True, {}, "fixed16", "mse")


def run(job: tuple) -> dict:
    """One network: (row, seed, sequences, target)."""
    (label, rule, decorrelate, params, precision, loss), seed, sequences, target = job
    url = (f"synth:copy-memory?length={LENGTH}&delay={DELAY}&train={sequences}"
           f"&test={max(sequences // 10, 20)}&seed={100 + seed}")  # fmt: skip
    stream = open_stream(url, loss=None if loss == "xent" else loss)
    spec = NetworkSpec(rule, stream.n_inputs, stream.n_outputs, n_hidden=HIDDEN,
                       decorrelate=decorrelate, loss=stream.loss, precision=precision, seed=seed,
                       params=params)  # fmt: skip
    inputs, targets, _, reset, _ = stream.train
    steps = len(inputs)
    curve = []
    started = time.perf_counter()
    with Network(spec, target=target) as net:
        for k in range(EVALS):
            part = slice(k * steps // EVALS, (k + 1) * steps // EVALS)
            net.learn(inputs[part], targets[part], reset=reset[part])
            curve.append(scores(net, stream.test))
        saturations = net.saturations
    return {"label": label, "rule": rule, "decorrelate": decorrelate, "params": params,
            "precision": precision, "loss": loss, "target": target, "seed": seed,
            "sequences": sequences, "steps": steps, "curve": curve,
            "seconds": time.perf_counter() - started, "saturations": saturations,
            "baseline_loss": stream.info.get("baseline_loss"),
            "baseline_accuracy": stream.info.get("baseline_accuracy")}  # fmt: skip


def cost(job: tuple) -> float:
    """Relative run time (WP regenerates a noise value per weight every step)."""
    (_, rule, decorrelate, *_), _, sequences, _ = job
    per_step = {"wp": 30.0, "np": 1.0, "anp": 1.5, "bptt": 1.0}[rule] * (2 if decorrelate else 1)
    return per_step * sequences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_options(parser, "short runs, one seed (a minute)")
    parser.add_argument("--sequences", type=int, default=500,
                        help="training sequences per run (each 210 steps)")  # fmt: skip
    parser.add_argument("--lava-sequences", type=int, default=100,
                        help="training sequences of the Lava run (and of its host twin)")  # fmt: skip
    parser.add_argument("--no-lava", action="store_true", help="skip the Lava row")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--report", action="store_true",
                        help="rewrite the report from the last run's docs/copy_memory.json")  # fmt: skip
    args = parser.parse_args()
    out = output_dir(args)
    if args.report:
        saved = load_run(out / "copy_memory.json")
        write_report(saved["results"], saved["seeds"], saved["seconds"], out)
        return
    seeds = SEEDS[:1] if args.quick else SEEDS
    sequences = 10 if args.quick else args.sequences
    lava_sequences = min(sequences, args.lava_sequences)
    jobs = [(row, seed, sequences, "host") for row in ROWS for seed in seeds]
    if not args.no_lava and lava_sequences != sequences:
        jobs.append((LAVA_ROW, 0, lava_sequences, "host"))  # the Lava run's twin
    jobs.sort(key=lambda job: -cost(job))  # longest first: the workers finish together
    total = len(jobs) + (0 if args.no_lava else 1)
    results = []

    def report(result: dict) -> None:
        results.append(result)
        step, _, loss = result["curve"][-1]
        print(f"[{len(results)}/{total}] {result['label']} ({result['precision']}, "
              f"{result['loss']}, {result['target']}) seed {result['seed']}: recall accuracy "
              f"{step:.3f}, test loss {loss:.4f} ({result['seconds']:.0f} s)", flush=True)  # fmt: skip

    started = time.perf_counter()
    if not args.no_lava:
        import timelocal.targets.lava.target  # noqa: F401  (Lava fixes the start method on import)
    with multiprocessing.Pool(args.workers) as pool:
        pending = pool.imap_unordered(run, jobs)  # the workers start at once
        if not args.no_lava:
            # Lava starts processes of its own, which a pool's worker may not:
            # the Lava run is this process's, beside the workers.
            report(run((LAVA_ROW, 0, lava_sequences, "lava")))
        for result in pending:
            report(result)
    seconds = time.perf_counter() - started
    save_run(out / "copy_memory.json", {"seeds": seeds, "seconds": seconds, "results": results})
    write_report(results, seeds, seconds, out)


def _runs(results: list, row: tuple, target: str = "host", sequences: int | None = None) -> list:
    """The runs of one row on one target; of the main runs' length unless ``sequences``."""
    label, _, _, _, precision, loss = row
    if sequences is None:
        sequences = next(r["sequences"] for r in results if r["target"] == "host")
    runs = [r for r in results if r["label"] == label and r["precision"] == precision
            and r["loss"] == loss and r["target"] == target
            and r["sequences"] == sequences]  # fmt: skip
    return sorted(runs, key=lambda r: r["seed"])


def _cell(values: np.ndarray, scale: float = 100.0, digits: int = 1) -> str:
    if not len(values):
        return "n/a"
    values = np.asarray(values) * scale
    return f"{values.mean():.{digits}f} [{values.min():.{digits}f}, {values.max():.{digits}f}]"


def write_report(results: list, seeds, seconds: float, out: Path) -> None:
    first = next(r for r in results if r["loss"] == "xent")
    baseline_loss, baseline_accuracy = first["baseline_loss"], first["baseline_accuracy"]
    sequences = first["sequences"]
    lines = [
        "# Copy memory (seed 000): every rule online",
        "",
        provenance(f"Seeds {', '.join(map(str, seeds))}; {seconds / 60:.0f} min in all."),
        "",
        f"`synth:copy-memory?length={LENGTH}&delay={DELAY}`: {LENGTH} symbols out of 8, "
        f"{DELAY} blank steps, then the recall of all {LENGTH} ({SEQUENCE} steps a sequence, "
        f"the rates reset between sequences). {HIDDEN} hidden units; each run learns online "
        f"from {sequences} training sequences ({sequences * SEQUENCE:,} steps, one update "
        "per step; BPTT one per window) and is scored on a separate test set. `recall "
        "accuracy`: the share of recall steps whose largest output is the right symbol, in % "
        "(mean [min, max] over seeds); chance is "
        f"{100 * baseline_accuracy:.1f} %. `test loss`: per step, over every step with a "
        f"target; a network that knows only the task's layout (blank until the recall, then "
        f"a uniform guess) scores {baseline_loss:.4f} in cross-entropy. Hyper-parameters are "
        "the defaults of `timelocal rules`.",
        "",
        "Seed 000 shows this task in Figure 5 as learning curves only (its text gives no "
        "number): NP and WP significantly worse than BP, ANP's convergence and final "
        "performance close to BP's, decorrelation without a pronounced difference. The "
        "paper trains for many epochs; these runs see each training sequence once.",
        "",
        "## Cross-entropy, float32",
        "",
        "| rule | recall accuracy (%) | test loss | steps/s (seed 0, with the test scoring) |",
        "|---|---|---|---|",
    ]
    for row in ROWS:
        if row[5] != "xent":
            continue
        runs = _runs(results, row)
        if not runs:
            continue
        final = np.array([r["curve"][-1] for r in runs])
        speed = runs[0]["steps"] / runs[0]["seconds"]
        lines.append(f"| {row[0]} | {_cell(final[:, 0])} | {_cell(final[:, 2], 1.0, 4)} | "
                     f"{speed:,.0f} |")  # fmt: skip
    xent = [(row[0], np.array([r["curve"][-1] for r in _runs(results, row)]))
            for row in ROWS if row[5] == "xent" and _runs(results, row)]  # fmt: skip
    best_accuracy = max(xent, key=lambda item: item[1][:, 0].mean())
    best_loss = min(xent, key=lambda item: item[1][:, 2].mean())
    lines += [
        "",
        f"Against seed 000: no rule recalls above chance here. The best recall accuracy is "
        f"{best_accuracy[0]}'s, {100 * best_accuracy[1][:, 0].mean():.1f} % (chance "
        f"{100 * baseline_accuracy:.1f} %); the best test loss is {best_loss[0]}'s, "
        f"{best_loss[1][:, 2].mean():.4f}, {best_loss[1][:, 2].mean() / baseline_loss:.3f}x "
        "the layout-only network's: the networks learn when the recall comes, not the "
        "symbols. Rows at 0 % predict the blank through the recall. Seed 000's curves "
        "show the memory learned after many epochs; these runs see each sequence once.",
    ]
    lines += [
        "",
        "## Fixed point: squared error on the one-hot targets",
        "",
        "Fixed point has no softmax, so these rows learn the squared error, in float32 "
        "and in fixed16 (`test loss` is then the squared error).",
        "",
        "| rule | precision | target | recall accuracy (%) | test loss | saturated stores (seed 0) |",
        "|---|---|---|---|---|---|",
    ]
    fixed_rows = [(row, "host") for row in ROWS if row[5] == "mse"] + [(LAVA_ROW, "lava")]
    lava = [r for r in results if r["target"] == "lava"]
    for row, target in fixed_rows:
        if target == "lava" and not lava:  # --no-lava
            continue
        runs = _runs(results, row, target, lava[0]["sequences"] if target == "lava" else None)
        if not runs:
            continue
        final = np.array([r["curve"][-1] for r in runs])
        saturated = sum(runs[0]["saturations"].values()) if runs[0]["saturations"] else 0
        where = "Lava simulator" if target == "lava" else "host"
        seeds_note = (f" (seed {runs[0]['seed']} only, {runs[0]['sequences']} sequences)"
                      if target == "lava" else "")  # fmt: skip
        lines.append(f"| {row[0]} | {row[4]} | {where}{seeds_note} | {_cell(final[:, 0])} | "
                     f"{_cell(final[:, 2], 1.0, 4)} | {saturated or 'none'} |")  # fmt: skip
    host = [r for r in _runs(results, LAVA_ROW, "host", lava[0]["sequences"])
            if r["seed"] == lava[0]["seed"]] if lava else []  # fmt: skip
    if lava and host:
        same = lava[0]["curve"] == host[0]["curve"]
        lines += ["", f"Lava against the host, DANP fixed16 seed {lava[0]['seed']}, "
                  f"{lava[0]['sequences']} training sequences: the test "
                  f"scores along the whole run are {'identical' if same else 'DIFFERENT'} "
                  f"({lava[0]['steps'] / lava[0]['seconds']:,.0f} steps/s on Lava, sharing "
                  f"the 2 cores with the host runs, {host[0]['steps'] / host[0]['seconds']:,.0f}"
                  " on the host; both with the test scoring)."]  # fmt: skip
    lines += ["", "![learning curves](copy_memory.png)", ""]
    (out / "copy_memory.md").write_text("\n".join(lines))
    plot(results, out / "copy_memory.png")
    print(f"wrote {out / 'copy_memory.md'}")


def plot(results: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for row in ROWS:
        runs = _runs(results, row)
        if not runs or row[5] != "xent":
            continue
        curves = np.array([[point[0] for point in r["curve"]] for r in runs]) * 100
        losses = np.array([[point[2] for point in r["curve"]] for r in runs])
        seen = np.arange(1, curves.shape[1] + 1) * runs[0]["sequences"] / curves.shape[1]
        axes[0].plot(seen, curves.mean(0), label=row[0])
        axes[1].plot(seen, losses.mean(0), label=row[0])
    first = next(r for r in results if r["loss"] == "xent")
    axes[0].axhline(first["baseline_accuracy"] * 100, color="grey", linestyle=":", label="chance")
    axes[1].axhline(first["baseline_loss"], color="grey", linestyle=":",
                    label="layout only")  # fmt: skip
    axes[0].set(xlabel="training sequences", ylabel="recall accuracy (%)", title="test accuracy")
    axes[1].set(xlabel="training sequences", ylabel="cross-entropy per step", title="test loss",
                yscale="log")  # fmt: skip
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
