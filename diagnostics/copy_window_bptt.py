"""Diagnostic for issue 7's window goal: what the exact gradient can learn of
copy memory when its credit, like TPTT's targets, reaches back only K steps.

The reference here is a tanh RNN of TPTT's shape (128 hidden units, softmax
readout, cross-entropy at every step) trained online, one update per step,
with the exact gradient of that step's loss through the last K steps
(sliding-window truncated BPTT; the state before the window is held fixed,
and no window crosses a sequence start). It is not time-local and not a
product rule: it is what the true gradient learns when its credit is cut
where TPTT's targets are, the baseline to read TPTT's window against. (It is
not a bound: at delay 10, K = 16, TPTT gets further than it, README.)

The task is the benchmark's: ``synth:copy-memory?length=10&delay=D&marker=one``
(seed 004's layout). A data symbol is recalled ``length + delay`` steps after
it was shown: 20 steps at delay 10, so a window of K <= 20 never holds a
symbol and its recall together. Score: the share of test sequences whose 10
recall steps are all right (seed 004's measure), and the share of recall
steps right (chance 12.5 %).

    python diagnostics/copy_window_bptt.py --delay 10 --window 16 21 30 --sequences 40000
                                        # the README's numbers; about 10 min a row
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from timelocal.kernels.codes import OPT_ADAM  # noqa: E402
from timelocal.kernels.numeric import FloatNumeric  # noqa: E402
from timelocal.kernels.optim import apply_update  # noqa: E402
from timelocal.streams.synthetic import copy_memory  # noqa: E402


@njit(cache=True)
def window_gradient(d_o, h, hist_h, hist_prev, hist_x, hist_start, t, W_h, W_hy, g_xh, g_h,
                    g_b, g_hy):  # fmt: skip
    """The gradient of step t's loss, whose output gradient is ``d_o``, with
    respect to the weights through the window's steps (the ring buffers,
    step t in slot t % K), stopping at a sequence start; written into the
    g_ arrays (b_y's is d_o itself)."""
    window = hist_h.shape[0]
    g_hy[:] = np.outer(d_o, h)
    g_xh[:] = 0.0
    g_h[:] = 0.0
    g_b[:] = 0.0
    d_h = W_hy.T @ d_o
    for k in range(min(window, t + 1)):
        s = (t - k) % window
        d_a = d_h * (1.0 - hist_h[s] ** 2)
        g_xh += np.outer(d_a, hist_x[s])
        g_h += np.outer(d_a, hist_prev[s])
        g_b += d_a
        if hist_start[s]:
            break
        d_h = W_h.T @ d_a


@njit(cache=True)
def train(num, xs, labels, starts, W_xh, W_h, b, W_hy, b_y, window, rate, beta1, beta2):
    """Online sliding-window BPTT with the kernels' Adam (``num``: a float64
    numeric record): ``xs`` (steps, n_in), ``labels``
    (steps,) the target symbol, ``starts`` (steps,) sequence starts. Updates
    the weights in place; returns the per-step loss."""
    steps, n_in = xs.shape
    n = W_h.shape[0]
    n_out = W_hy.shape[0]
    g_xh = np.zeros((n, n_in))
    g_h = np.zeros((n, n))
    g_b = np.zeros(n)
    g_hy = np.zeros((n_out, n))
    moments = np.zeros((2, n * n_in + n * n + n + n_out * n + n_out))
    hist_h = np.zeros((window, n))  # h_t of the last K steps (ring)
    hist_prev = np.zeros((window, n))  # h_{t-1} of the same steps
    hist_x = np.zeros((window, n_in))
    hist_start = np.zeros(window, np.bool_)
    h = np.zeros(n)
    losses = np.empty(steps)
    for t in range(steps):
        if starts[t]:
            h[:] = 0.0
        prev = h.copy()
        h = np.tanh(W_xh @ xs[t] + W_h @ prev + b)
        slot = t % window
        hist_h[slot] = h
        hist_prev[slot] = prev
        hist_x[slot] = xs[t]
        hist_start[slot] = starts[t]
        o = W_hy @ h + b_y
        p = np.exp(o - o.max())
        p /= p.sum()
        losses[t] = -np.log(p[labels[t]] + 1e-300)
        d_o = p.copy()
        d_o[labels[t]] -= 1.0
        window_gradient(d_o, h, hist_h, hist_prev, hist_x, hist_start, t, W_h, W_hy, g_xh,
                        g_h, g_b, g_hy)  # fmt: skip
        at = 0
        for param, grad in (
            (W_xh.reshape(-1), g_xh.reshape(-1)),
            (W_h.reshape(-1), g_h.reshape(-1)),
            (b, g_b),
            (W_hy.reshape(-1), g_hy.reshape(-1)),
            (b_y, d_o),
        ):
            size = param.shape[0]
            apply_update(num, param, grad, moments[0, at : at + size],
                         moments[1, at : at + size], t + 1, OPT_ADAM, rate, beta1, beta2,
                         1e-8)  # fmt: skip
            at += size
    return losses


@njit(cache=True)
def predict(xs, starts, W_xh, W_h, b, W_hy, b_y):
    """The network's most likely symbol at every step, without learning."""
    h = np.zeros(W_h.shape[0])
    out = np.empty(xs.shape[0], np.int64)
    for t in range(xs.shape[0]):
        if starts[t]:
            h[:] = 0.0
        h = np.tanh(W_xh @ xs[t] + W_h @ h + b)
        out[t] = np.argmax(W_hy @ h + b_y)
    return out


def run(delay: int, window: int, sequences: int, test: int, hidden: int, rate: float,
        seed: int) -> dict:  # fmt: skip
    stream = copy_memory(length=10, delay=delay, train=sequences, test=test, marker="one",
                         seed=100 + seed)  # fmt: skip
    rng = np.random.default_rng(seed)
    # TPTT's initialisation: W_h a random orthogonal matrix, W_xh ~ N(0, 1/n_in).
    q, _ = np.linalg.qr(rng.standard_normal((hidden, hidden)))
    n_in, n_out = stream.n_inputs, stream.n_outputs
    W_xh = rng.standard_normal((hidden, n_in)) / np.sqrt(n_in)
    W_h = np.ascontiguousarray(q)
    b = np.zeros(hidden)
    W_hy = rng.standard_normal((n_out, hidden)) / np.sqrt(hidden)
    b_y = np.zeros(n_out)
    tr_inputs, tr_targets, _, tr_reset, _ = stream.train
    te_inputs, te_targets, _, te_reset, te_scored = stream.test
    started = time.perf_counter()
    losses = train(FloatNumeric(bits=64), tr_inputs, tr_targets.argmax(1), tr_reset, W_xh, W_h,
                   b, W_hy, b_y,
                   window, rate, 0.9, 0.999)  # fmt: skip
    seconds = time.perf_counter() - started
    guess = predict(te_inputs, te_reset, W_xh, W_h, b, W_hy, b_y)
    right = (guess == te_targets.argmax(1))[te_scored].reshape(test, 10)
    # The training loss on the recall steps over the first and last tenth of
    # the sequences (chance: ln 8 = 2.08, the memoryless baseline).
    recall = losses.reshape(sequences, -1)[:, -10:].mean(1)
    tenth = max(1, sequences // 10)
    return {"sequences": float(right.all(1).mean()), "steps": float(right.mean()),
            "first_loss": float(recall[:tenth].mean()), "last_loss": float(recall[-tenth:].mean()),
            "seconds": seconds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=int, nargs="+", default=[10])
    parser.add_argument("--window", type=int, nargs="+", default=[16, 21, 30])
    parser.add_argument("--sequences", type=int, default=20000, help="training sequences")
    parser.add_argument("--test", type=int, default=500, help="test sequences")
    parser.add_argument("--hidden", type=int, default=128)
    # 1e-3 (Adam's usual) is too large at one update per step: the loss stays
    # above the memoryless baseline; 3e-4 swings.
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="Adam's step size")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    print(
        "recall loss: the training cross-entropy on the recall steps, first and last tenth "
        "of the sequences (chance: ln 8 = 2.08)"
    )
    print(
        "delay   K  seed  sequences right  recall steps right  recall loss first -> last  seconds"
    )
    for delay in args.delay:
        for window in args.window:
            for seed in args.seeds:
                r = run(delay, window, args.sequences, args.test, args.hidden,
                        args.learning_rate, seed)  # fmt: skip
                print(f"{delay:5d} {window:3d} {seed:5d}  {100 * r['sequences']:14.1f} %"
                      f"  {100 * r['steps']:17.1f} %  {r['first_loss']:11.3f} -> "
                      f"{r['last_loss']:.3f}  {r['seconds']:7.0f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
