"""Host speed of DANP: `timelocal` (session, chunks, the rule kernels) side by
side with a bare @njit loop that does the same arithmetic and nothing else.
Compile time is measured separately, in a fresh Numba cache.

    python benchmarks/speed.py [--quick]

Writes docs/speed.md."""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from timelocal import Network, NetworkSpec  # noqa: E402
from timelocal.kernels.rng import HIDDEN_NOISE, OUTPUT_NOISE, gaussian  # noqa: E402
from timelocal.runtime.session import RunOptions, Session  # noqa: E402
from timelocal.runtime.state import weights  # noqa: E402
from timelocal.streams import open_stream  # noqa: E402

try:
    from benchmarks.common import add_output_options, output_dir, provenance
except ImportError:
    from common import add_output_options, output_dir, provenance


@njit(cache=True)
def bare_danp(A, R, B, b, c, D, x, xn, inputs, targets, lr, sigma, eps, scale, seed):
    """DANP with one input and one output, SGD, everything inlined."""
    n = x.shape[0]
    alpha, rates, xs = np.empty(n), np.empty(n), np.empty(n)
    nalpha, nrates, nxs = np.empty(n), np.empty(n), np.empty(n)
    v = np.empty(n)
    total = 0.0
    for t in range(inputs.shape[0]):
        u = inputs[t, 0]
        for i in range(n):
            a = b[i] + A[i, 0] * u
            na = a + sigma * gaussian(seed, HIDDEN_NOISE, t, i)
            for j in range(n):
                a += R[i, j] * x[j]
                na += R[i, j] * xn[j]
            alpha[i], nalpha[i] = a, na
            rates[i], nrates[i] = np.tanh(a), np.tanh(na)
        for i in range(n):
            s, ns = 0.0, 0.0
            for j in range(n):
                s += D[i, j] * rates[j]
                ns += D[i, j] * nrates[j]
            xs[i], nxs[i] = s, ns
        beta, nbeta = c[0], c[0] + sigma * gaussian(seed, OUTPUT_NOISE, t, 0)
        for j in range(n):
            beta += B[0, j] * xs[j]
            nbeta += B[0, j] * nxs[j]
        loss = (beta - targets[t, 0]) ** 2
        dl = (nbeta - targets[t, 0]) ** 2 - loss
        total += loss
        norm = 0.0
        for i in range(n):
            norm += (nalpha[i] - alpha[i]) ** 2
        gain = scale * dl / norm
        for i in range(n):
            h = lr * gain * (nalpha[i] - alpha[i])
            A[i, 0] -= h * u
            b[i] -= h
            for j in range(n):
                R[i, j] -= h * x[j]
        o = lr * scale * dl / (nbeta - beta)  # one output: d beta / ||d beta||^2
        for j in range(n):
            B[0, j] -= o * xs[j]
        c[0] -= o
        for i in range(n):
            x[i], xn[i] = xs[i], nxs[i]
        for j in range(n):
            v[j] = 0.0
        for i in range(n):
            for j in range(n):
                v[j] += x[i] * D[i, j]
        for i in range(n):
            for j in range(n):
                D[i, j] -= eps * x[i] * (v[j] - x[i] * D[i, j])
    return total


def measure(hidden: int, steps: int, repeats: int):
    url = f"synth:mackey-glass?train={steps}&test=10&epochs=1"
    stream = open_stream(url)
    chunk = next(stream.chunks(steps))
    # Plain SGD on both sides (ANP's default optimiser is Adam; the bare loop is SGD).
    spec = NetworkSpec("anp", 1, 1, n_hidden=hidden, decorrelate=True, params={"optimizer": "sgd"})
    scale = spec.hyper("anp_scale")
    lr, sigma, eps = (spec.hyper(k) for k in ("learning_rate", "sigma", "decorrelation_rate"))
    best_bare = best_run = math.inf
    for _ in range(repeats):
        net = Network(spec)
        w = {k: v.copy() for k, v in weights(spec, net.state["params"].copy()).items()}
        D = np.eye(hidden)
        x, xn = np.zeros(hidden), np.zeros(hidden)
        tick = time.perf_counter()
        bare_danp(w["A"], w["R"], w["B"], w["b"], w["c"], D, x, xn, chunk.inputs, chunk.targets,
                  lr, sigma, eps, scale, spec.seed)  # fmt: skip
        best_bare = min(best_bare, time.perf_counter() - tick)
        # The data are made before the clock starts, as they are for the bare loop.
        network, stream = Network(spec), open_stream(url)
        tick = time.perf_counter()
        Session(network, stream, RunOptions(evaluate=False)).run()
        best_run = min(best_run, time.perf_counter() - tick)
    return steps / best_bare, steps / best_run


def compile_seconds() -> float:
    """Seconds for a fresh process to import timelocal and run a short DANP
    chunk with an empty Numba cache (so: compile included) and with a warm one."""
    code = ("import time; t = time.perf_counter(); from timelocal import Network, NetworkSpec; "
            "import numpy as np; n = Network(NetworkSpec('anp', 1, 1, n_hidden=8, decorrelate=True)); "
            "n.learn(np.zeros((10, 1)), np.zeros((10, 1))); print(time.perf_counter() - t)")  # fmt: skip
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        cold = float(subprocess.check_output([sys.executable, "-c", code], env=env))
        warm = float(subprocess.check_output([sys.executable, "-c", code], env=env))
    return cold, warm


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_options(parser, "shorter runs")
    args = parser.parse_args()
    args.out = output_dir(args)
    sizes = {64: 20000, 256: 4000} if args.quick else {64: 100000, 256: 20000}
    repeats = 2 if args.quick else 3
    measure(8, 100, 1)  # load the compiled code before timing
    rows = []
    for hidden, steps in sizes.items():
        bare, runtime = measure(hidden, steps, repeats)
        rows.append((hidden, steps, bare, runtime))
        print(f"n={hidden}: bare loop {bare:,.0f} steps/s, timelocal run {runtime:,.0f} steps/s "
              f"({runtime / bare:.2f}x)", flush=True)  # fmt: skip
    cold, warm = compile_seconds()
    print(f"start-up with compilation {cold:.1f} s, from the cache {warm:.1f} s")
    lines = [
        "# Host speed: DANP, timelocal against a bare loop",
        "",
        provenance(f"Best of {repeats} runs each."),
        "",
        "The bare loop (`bare_danp` in benchmarks/speed.py) is one @njit function doing DANP's "
        "arithmetic inline (1 input, 1 output, plain SGD; timelocal runs with `optimizer=sgd` too) with the same noise generator. The "
        "timelocal figure is a whole `Session` over the Mackey-Glass stream: stream chunks, "
        "the rule kernels, the loss bookkeeping. Both get the series ready-made (generating "
        "it is not part of a time step).",
        "",
        "| hidden | steps | bare loop (steps/s) | timelocal (steps/s) | ratio |",
        "|---|---|---|---|---|",
    ]
    for hidden, steps, bare, runtime in rows:
        lines.append(
            f"| {hidden} | {steps} | {bare:,.0f} | {runtime:,.0f} | {runtime / bare:.2f} |"
        )
    lines += [
        "",
        f"Start-up of a fresh process that runs a short DANP chunk: {cold:.1f} s with an empty "
        f"Numba cache (compilation of every kernel), {warm:.1f} s from the cache.",
        "",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "speed.md").write_text("\n".join(lines))
    print(f"wrote {args.out / 'speed.md'}")


if __name__ == "__main__":
    main()
