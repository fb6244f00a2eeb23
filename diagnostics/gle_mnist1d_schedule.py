"""Diagnostic for issue 6: does seed 003's MNIST-1D network, learned online
with Adam (benchmarks/gle_mnist1d.py --adam), gain from a stepped-down
learning rate or from a new order of the training samples every epoch?

The network, data and Adam settings are ADAM_CONFIG's. ``--decay-after E``
keeps learning_rate for E epochs, then multiplies it by ``--decay-factor``
every ``--decay-every`` epochs (the new rate is swapped into the host
target's kernel record between epochs: Adam's moments carry over).
``--shuffle`` permutes the training samples (each a 360-step block; the
neurons still carry over between samples) with a generator seeded by the
epoch. Prints the mean training loss and the test accuracy after every epoch.

The product has the schedule now (GLE's ``-p decay_every``, ``decay_after``,
``decay_factor``, counted in learning steps): ``--decay-after D
--decay-every N`` here is ``benchmarks/gle_mnist1d.py --adam --decay-after
D-N --decay-every N`` (bit for bit: checked on 60 training samples over 3
epochs, parameters and Adam's moments equal). ``--shuffle`` is the
benchmark's ``--shuffle`` (in each epoch, the same permutation of the samples).

    python diagnostics/gle_mnist1d_schedule.py --epochs 20 --decay-after 10
    python diagnostics/gle_mnist1d_schedule.py --epochs 20 --shuffle
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from gle_mnist1d import ADAM_CONFIG, epoch_rows, sample_accuracy, setup, stream_url  # noqa: E402
from timelocal import Network  # noqa: E402


def learning_rate(epoch: int, base: float, after: int, every: int, factor: float) -> float:
    """The rate of 0-based ``epoch``: ``base`` for ``after`` epochs, then
    times ``factor`` every ``every`` epochs (the first step at ``after``)."""
    if after < 0 or epoch < after:
        return base
    return base * factor ** ((epoch - after) // every + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--decay-after", type=int, default=-1, help="-1: no decay")
    parser.add_argument("--decay-every", type=int, default=2)
    parser.add_argument("--decay-factor", type=float, default=0.5)
    parser.add_argument("--shuffle", action="store_true")
    parser.add_argument("--train", type=int, default=0, help="first N training samples (0: all)")
    args = parser.parse_args()

    config = ADAM_CONFIG
    stream, spec = setup(config, args.seed, stream_url(config, 1, args.train))
    net = Network(spec)
    period = stream.info["sample_steps"]
    x, y, has, reset, _ = stream.train
    targets = np.where(has[:, None], y, np.nan)
    base = spec.hyper("learning_rate")
    start = time.perf_counter()
    for epoch in range(args.epochs):
        rate = learning_rate(epoch, base, args.decay_after, args.decay_every, args.decay_factor)
        rated = dataclasses.replace(spec, params={**spec.params, "learning_rate": rate})
        net.target.hyper = rated.kernel_hyper()
        if args.shuffle:
            rows = epoch_rows(epoch, len(x), period)
            result = net.learn(x[rows], targets[rows], reset=reset)
        else:
            result = net.learn(x, targets, reset=reset)
        train_loss = float(np.nanmean(result.loss))
        x_test, _, _, reset_test, _ = stream.test
        outputs = net.predict(x_test, reset=reset_test).outputs
        accuracy = sample_accuracy(outputs, stream.test, period)
        print(f"epoch {epoch + 1}/{args.epochs}  learning_rate {rate:.3g}  train loss "
              f"{train_loss:.4f}  test accuracy {accuracy:.3f}  "
              f"({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
