"""Diagnostic for issue 6: does a checkpoint of benchmarks/gle_mnist1d.py
--adam underfit or overfit? Scores it on the training samples and on the
test samples, on its averaged weights (``-p average``, what the benchmark
tests) and on its last weights, without learning.

Each part starts from rest and runs as the benchmark's test part does (a
sample is correct when its outputs, averaged over its steps, peak at its
label). The training part is scored in the order the network learned it.

    python diagnostics/gle_mnist1d_fit.py /work/runs/mnist1d_average/seed0.npz
    python diagnostics/gle_mnist1d_fit.py DIR/seed0.npz DIR/seed1.npz --train 1000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from gle_mnist1d import ADAM_CONFIG, sample_accuracy, stream_url  # noqa: E402
from timelocal import Network  # noqa: E402
from timelocal.streams.registry import open_stream  # noqa: E402


def fit(net: Network, stream, train: int) -> dict:
    """Accuracy on the first ``train`` training samples (0: all) and on the
    test samples, on the averaged weights (if any) and on the last ones."""
    period = stream.info["sample_steps"]
    x, y, has, reset, _ = stream.train
    steps = train * period if train else len(x)
    parts = {"train": (x[:steps], y[:steps], has[:steps], reset[:steps], None),
             "test": stream.test}  # fmt: skip
    nets = {"last": net.unaveraged()}
    if len(net.state["average"]):
        nets["averaged"] = net.averaged()
    return {(kind, part): sample_accuracy(model.predict(p[0], reset=p[3]).outputs, p, period)
            for kind, model in nets.items() for part, p in parts.items()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--train", type=int, default=0,
                        help="score the first N training samples (0: all 4000)")  # fmt: skip
    args = parser.parse_args()
    stream = open_stream(stream_url(ADAM_CONFIG, 1, 0))
    for path in args.checkpoints:
        net = Network.load(path)
        if net.spec.rule != "gle" or (net.spec.n_inputs, net.spec.n_outputs) != (1, 10):
            raise SystemExit(f"error: {path} is not a GLE network for MNIST-1D (1 input, 10 "
                             "outputs)")  # fmt: skip
        epochs = len(net.checkpoint_meta.get("curve", ()))
        scores = fit(net, stream, args.train)
        cells = "  ".join(f"{kind} {part} {value:.1%}" for (kind, part), value in scores.items())
        print(f"{path} (epoch {epochs}, {net.steps_trained} steps): {cells}", flush=True)


if __name__ == "__main__":
    main()
