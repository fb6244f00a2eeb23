"""MNIST-1D with GLE, learned online (issue: GLE; seed 003, Table 1).

Each sample's 40 points arrive one per ``hold`` Euler steps; the label is the
target during the last quarter of the sample. After every epoch the test part
runs without learning; a sample counts as correct when the argmax of its
outputs, averaged over its labelled steps, is its label. Writes
docs/mnist1d.md and docs/mnist1d.png.

    python benchmarks/gle_mnist1d.py                 # float and fixed16, 30 epochs
    python benchmarks/gle_mnist1d.py --epochs 2 --quick
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from timelocal import Network, NetworkSpec  # noqa: E402
from timelocal.streams.registry import open_stream  # noqa: E402

try:
    from benchmarks.common import provenance
except ImportError:
    from common import provenance

DOCS = Path(__file__).resolve().parent.parent / "docs"


def sample_accuracy(outputs: np.ndarray, part: tuple, period: int) -> float:
    """Share of samples whose mean output over the labelled steps has its
    largest entry at the label."""
    _, targets, has_target, _, _ = part
    n = len(has_target) // period
    mask = has_target.reshape(n, period)
    out = outputs.reshape(n, period, -1)
    mean = (out * mask[..., None]).sum(axis=1) / mask.sum(axis=1)[:, None]
    labels = targets.reshape(n, period, -1)[:, -1].argmax(axis=1)
    return float((mean.argmax(axis=1) == labels).mean())


def run(config: dict, epochs: int, stream_url: str, log) -> dict:
    stream = open_stream(stream_url)
    spec = NetworkSpec("gle", 1, 10, n_hidden=config["hidden"], loss=stream.loss,
                       precision=config["precision"], seed=config.get("seed", 0),
                       params=config["params"])  # fmt: skip
    net = Network(spec)
    period = stream.info["sample_steps"]
    curve = []
    start = time.perf_counter()
    for epoch in range(epochs):
        x, y, has, reset, _ = stream.train
        net.learn(x, np.where(has[:, None], y, np.nan), reset=reset)
        x_test, y_test, has_test, reset_test, _ = stream.test
        outputs = net.predict(x_test, reset=reset_test).outputs
        accuracy = sample_accuracy(outputs, stream.test, period)
        curve.append(accuracy)
        log(f"  {config['name']}: epoch {epoch + 1}/{epochs}  test accuracy {accuracy:.3f}  "
            f"({time.perf_counter() - start:.0f} s)")  # fmt: skip
    return {"config": config, "curve": curve, "params": spec.n_params,
            "seconds": time.perf_counter() - start, "saturations": net.saturations}  # fmt: skip


CONFIGS = [
    {"name": "GLE float64, 3 x 100", "hidden": 100, "precision": "float64",
     "params": {"layers": 3, "lag_fraction": 0.5, "lag_tau": 2.0, "learning_rate": 0.02,
                "tau_learning_rate": 0.0}},
    {"name": "GLE fixed16, 3 x 100", "hidden": 100, "precision": "fixed16",
     "params": {"layers": 3, "lag_fraction": 0.5, "lag_tau": 2.0, "learning_rate": 0.02,
                "tau_learning_rate": 0.0}},
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hold", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="1000 training samples")
    args = parser.parse_args()
    train = 1000 if args.quick else 0
    results = []
    for config in CONFIGS:
        loss = "mse" if config["precision"] != "float64" else "xent"
        url = f"synth:mnist1d?hold={args.hold}&train={train}&loss={loss}"
        results.append(run(config, args.epochs, url, print))
    write_report(results, args)


def write_report(results: list, args) -> None:
    lines = [
        "# MNIST-1D, GLE online",
        "",
        provenance(),
        "",
        "Standard MNIST-1D (5000 samples, seed 42: 4000 train, 1000 test; "
        + ("the first 1000 training samples only (--quick)" if args.quick else "all of them")
        + "). One input; "
        f"each of a sample's 40 points is held for {args.hold} Euler steps (dt = 0.1), "
        "the one-hot label is the target during the last quarter of the sample, and "
        "every sample starts from rest. Learning is online, one Euler step at a time. "
        "A test sample is correct when its outputs, averaged over the labelled steps, "
        "peak at its label. Float runs use the cross-entropy nudging, fixed point the "
        "squared error (no softmax in integers).",
        "",
        "| network | parameters (W, b) | best test accuracy | last | epochs | time |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        c = r["config"]
        lines.append(f"| {c['name']} ({', '.join(f'{k}={v}' for k, v in c['params'].items())}) "
                     f"| {r['params']:,} | {max(r['curve']):.1%} | {r['curve'][-1]:.1%} | "
                     f"{len(r['curve'])} | {r['seconds']:.0f} s |")  # fmt: skip
    best = max(max(r["curve"]) for r in results)
    lines += ["", "Seed 003 (Table 1): GLE 93.9 % with 42k parameters, 91.3 % with 15k; "
              "an MLP that sees the whole sample at once 64.4 %. The issue's target is "
              f"90 %: timelocal's best here, {best:.1%}, falls short by "
              f"{0.9 - best:.1%} (seed 003 trains in batches of 100 with Adam over 150 "
              "epochs; this is one sample at a time with plain SGD).", "",
              "![learning curves](mnist1d.png)", ""]  # fmt: skip
    DOCS.mkdir(exist_ok=True)
    (DOCS / "mnist1d.md").write_text("\n".join(lines))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in results:
        ax.plot(range(1, len(r["curve"]) + 1), r["curve"], marker="o", label=r["config"]["name"])
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_title("MNIST-1D, GLE learning online")
    ax.legend()
    fig.tight_layout()
    fig.savefig(DOCS / "mnist1d.png", dpi=120)


if __name__ == "__main__":
    main()
