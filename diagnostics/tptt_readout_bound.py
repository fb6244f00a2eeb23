"""Diagnostic for issue 7 (TPTT, copy memory): is a trained network's miss
in its hidden states or in its readout?

Loads a checkpoint of a TPTT (or LRA) network trained on a classification
stream, records its hidden states h_t over the last ``--fit`` training
sequences without learning, and fits the best softmax readout
(W_hy, b_y) on them offline (cross-entropy with a small L2 penalty,
L-BFGS), the hidden weights unchanged. Then it scores the test part with
the network's own readout and with the fitted one, overall and per recall
position. If the fitted readout gets the sequences right that the
network's misses, the online readout is what fails; if it misses the same,
the hidden states do not carry the symbols.

    timelocal run --rule tptt --window 16 --hidden 128 --precision float32 --seed 1 \\
        -p learning_rate=0.001 -p target_step=0.03 -p readout_rate=0.1 \\
        -p decay_every=600000 -p decay_factor=0.5 --checkpoint net.npz \\
        --stream "synth:copy-memory?length=10&delay=10&marker=one&train=140000&test=500&seed=100"
    python diagnostics/tptt_readout_bound.py net.npz \\
        --stream "synth:copy-memory?length=10&delay=10&marker=one&train=140000&test=500&seed=100"

Measured with these two commands on 2026-12-07 (75 min and 1 min, one
core): the network's own readout 98.10 % of test recall steps and 84.0 %
of test sequences (as docs/tptt_long.md's seed 1), the fitted readout
98.70 % and 88.0 % (training sequences: 98.34 / 85.5 % and 98.94 / 90.3 %).
The fitted readout's test accuracy by recall position: 99.8 99.2 98.8 99.0
99.2 98.8 97.6 98.4 98.8 97.4 %. So the miss is in the hidden states.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from timelocal import Network  # noqa: E402
from timelocal.streams.registry import open_stream  # noqa: E402


def hidden_states(net: Network, part: tuple) -> tuple:
    """A stream part through ``net`` without learning: the hidden states and
    the outputs at every step."""
    inputs, targets, _, reset, _ = part
    result = net.predict(inputs, targets, reset=reset, record_rates=True)
    return result.rates.astype(np.float64), result.outputs


def scored_steps(part: tuple) -> tuple:
    """The scored steps' indices, their labels, their sequence and their
    position among their sequence's scored steps."""
    _, targets, has_target, reset, scored = part
    steps = np.flatnonzero(scored & has_target)
    sequence = np.cumsum(reset)[steps] - 1
    first = np.r_[True, sequence[1:] != sequence[:-1]]
    start_of = np.maximum.accumulate(np.where(first, np.arange(len(steps)), 0))
    return steps, targets[steps].argmax(1), sequence, np.arange(len(steps)) - start_of


def fit_readout(states: np.ndarray, labels: np.ndarray, classes: int, l2: float = 1e-4,
                iterations: int = 500) -> tuple:  # fmt: skip
    """The softmax readout (W (classes x n), b) minimising the mean
    cross-entropy of ``labels`` from ``states`` plus ``l2`` |W|^2 / 2."""
    from scipy.optimize import minimize

    n = states.shape[1]
    onehot = np.eye(classes)[labels]

    def loss(flat):
        W, b = flat[: classes * n].reshape(classes, n), flat[classes * n :]
        z = states @ W.T + b
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        total = p.sum(1, keepdims=True)
        p /= total
        value = np.mean(np.log(total[:, 0]) - (z * onehot).sum(1)) + 0.5 * l2 * np.sum(W * W)
        g = (p - onehot) / len(labels)
        return value, np.concatenate([(g.T @ states + l2 * W).ravel(), g.sum(0)])

    start = np.zeros(classes * (n + 1))
    found = minimize(loss, start, jac=True, method="L-BFGS-B",
                     options={"maxiter": iterations})  # fmt: skip
    return found.x[: classes * n].reshape(classes, n), found.x[classes * n :]


def accuracy(predicted: np.ndarray, labels: np.ndarray, sequence: np.ndarray,
             position: np.ndarray) -> dict:  # fmt: skip
    """Share of steps right, of sequences with every scored step right, and
    of steps right at each recall position."""
    right = predicted == labels
    wrong_sequences = np.unique(sequence[~right])
    return {"steps": float(right.mean()),
            "sequences": 1.0 - len(wrong_sequences) / len(np.unique(sequence)),
            "positions": [float(right[position == k].mean())
                          for k in range(position.max() + 1)]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="a TPTT or LRA network's checkpoint (--checkpoint)")
    parser.add_argument("--stream", required=True, help="the classification stream it learned")
    parser.add_argument("--fit", type=int, default=20_000,
                        help="fit on the last this many training sequences")  # fmt: skip
    parser.add_argument("--l2", type=float, default=1e-4)
    args = parser.parse_args()
    if args.fit < 1:
        parser.error("--fit must be at least 1")
    net = Network.load(args.checkpoint)
    if net.spec.rule not in ("tptt", "lra"):
        parser.error(f"the checkpoint is a {net.spec.rule} network; this diagnostic reads "
                     "TPTT and LRA readouts")  # fmt: skip
    stream = open_stream(args.stream, loss=net.spec.loss)
    train, test = stream.train, stream.test
    starts = np.flatnonzero(train[3])
    begin = int(starts[max(0, len(starts) - args.fit)])
    train = tuple(None if a is None else a[begin:] for a in train)
    started = time.perf_counter()
    rows = {}
    fitted = None
    for name, part in (("train", train), ("test", test)):
        states, outputs = hidden_states(net, part)
        steps, labels, sequence, position = scored_steps(part)
        if fitted is None:
            classes = part[1].shape[1]
            fitted = fit_readout(states[steps], labels, classes, args.l2)
            print(
                f"fitted a readout on {len(np.unique(sequence)):,} training sequences "
                f"({len(steps):,} recall steps) in {time.perf_counter() - started:.0f} s"
            )
        W, b = fitted
        rows[name] = {
            "own readout": accuracy(outputs[steps].argmax(1), labels, sequence, position),
            "fitted readout": accuracy(
                (states[steps] @ W.T + b).argmax(1), labels, sequence, position
            ),  # fmt: skip
        }
    for name, row in rows.items():
        for readout, score in row.items():
            positions = " ".join(f"{100 * p:.1f}" for p in score["positions"])
            print(
                f"{name:5s} {readout:14s}: {100 * score['steps']:.2f} % of recall steps, "
                f"{100 * score['sequences']:.1f} % of sequences; by position: {positions}"
            )


if __name__ == "__main__":
    main()
