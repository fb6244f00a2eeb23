"""Diagnostic for the MNIST-1D benchmark: the same data presented statically,
all 40 points at once as 40 inputs, held for ``hold`` Euler steps with the
label as the target during the last ``label_steps``, to a one-hidden-layer GLE
network in the LE limit (tau_m = tau_r = 2 dt: no memory needed). This is
the MLP setting of seed 003's Fig. 6 (an MLP reaches about 64 %). It separates
whether the learning rule learns the classes from whether the network
remembers the sequence. Prints the test accuracy after every epoch.

    python diagnostics/gle_mnist1d_static.py --epochs 40 --learning-rate 0.5
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from timelocal import Network, NetworkSpec
from timelocal.streams.synthetic import mnist1d_data


def part(x: np.ndarray, y: np.ndarray, hold: int, label_steps: int) -> tuple:
    """Samples held for ``hold`` steps each; targets on the last ``label_steps``."""
    n = len(x)
    inputs = np.repeat(x, hold, axis=0)
    targets = np.full((n * hold, 10), np.nan)
    labelled = np.arange(n * hold).reshape(n, hold)[:, hold - label_steps :].ravel()
    targets[labelled] = np.eye(10)[np.repeat(y, label_steps)]
    reset = np.zeros(n * hold, bool)
    reset[::hold] = True
    return inputs, targets, reset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--learning-rate", type=float, default=0.5)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--hold", type=int, default=8)
    parser.add_argument("--label-steps", type=int, default=4)
    args = parser.parse_args()
    data = mnist1d_data(5000, 42)
    spec = NetworkSpec("gle", 40, 10, n_hidden=args.hidden, loss="xent", seed=0,
                       params={"layers": 1, "learning_rate": args.learning_rate, "dt": 0.1,
                               "tau_m": 0.2, "tau_r": 0.2, "tau_min": 0.2,
                               "tau_learning_rate": 0.0})  # fmt: skip
    net = Network(spec)
    test_inputs, _, test_reset = part(data["x_test"], data["y_test"], args.hold, args.label_steps)
    started = time.perf_counter()
    for epoch in range(args.epochs):
        order = np.random.default_rng(epoch).permutation(len(data["x"]))
        inputs, targets, reset = part(data["x"][order], data["y"][order], args.hold,
                                      args.label_steps)  # fmt: skip
        net.learn(inputs, targets, reset=reset)
        outputs = net.predict(test_inputs, reset=test_reset).outputs
        last = outputs.reshape(len(data["x_test"]), args.hold, 10)[:, -1]
        accuracy = float((last.argmax(1) == data["y_test"]).mean())
        print(f"epoch {epoch + 1}: test accuracy {accuracy:.3f} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
