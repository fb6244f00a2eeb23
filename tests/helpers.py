"""Small builders shared by the tests."""

from __future__ import annotations

import numpy as np
from timelocal import Network, NetworkSpec


def make_network(rule="anp", n_in=2, n_hidden=6, n_out=2, *, decorrelate=False, loss="mse",
                 seed=3, **params) -> Network:  # fmt: skip
    spec = NetworkSpec(rule, n_in, n_out, n_hidden=n_hidden, decorrelate=decorrelate, loss=loss,
                       seed=seed, params=params)  # fmt: skip
    return Network(spec)


def sample_data(steps, n_in, n_out, *, loss="mse", seed=0, missing_every=0):
    """Smooth random inputs and targets; every ``missing_every``-th target is NaN."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    inputs = np.sin(0.1 * t * (1 + np.arange(n_in))) + 0.1 * rng.standard_normal((steps, n_in))
    if loss == "mse":
        targets = 0.5 * np.cos(0.07 * t * (1 + np.arange(n_out)))
    else:
        targets = np.eye(n_out)[rng.integers(0, n_out, steps)]
    if missing_every:
        targets[::missing_every] = np.nan
    return inputs, targets


def polyak_average(net: Network, inputs, targets, horizon: int) -> np.ndarray:
    """``net`` learns one step at a time; returns ``-p average=horizon``'s
    recurrence in NumPy over the parameters after every step: their mean
    until ``horizon`` steps, then a moving average."""
    expected = net.state["params"].copy()
    for t in range(len(inputs)):
        net.learn(inputs[t : t + 1], targets[t : t + 1])
        expected += (net.state["params"] - expected) / min(t + 1, horizon)
    return expected
