"""Lava target speed: our learning network (DANP) as Lava processes, beside
Lava's own Dense + LIF network of the same size on the same simulator, and
beside the host target; GLE's process-per-layer graph, and TPTT's and LRA's
two processes, beside the host.

    python benchmarks/lava_speed.py [--quick]

Writes docs/lava.md (with the graph picture docs/lava_graph.png)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from timelocal import Network, NetworkSpec  # noqa: E402
from timelocal.streams.synthetic import mackey_glass_series  # noqa: E402

try:
    from benchmarks.common import add_output_options, output_dir, provenance
except ImportError:
    from common import add_output_options, output_dir, provenance

SIZES = (16, 64, 256)
REPEATS = 3  # best of: Lava's timing on 2 cores varies from run to run


def series(steps: int):
    x = mackey_glass_series(steps + 15, seed=0)
    return x[:steps, None], x[15:, None]


def steps_per_s(spec: NetworkSpec, target: str, steps: int) -> float:
    """Best of REPEATS chunks of ``steps`` learning steps after a warm-up
    chunk (start-up and compilation are not part of a time step)."""
    inputs, targets = series(steps)
    best = 0.0
    with Network(spec, target=target) as net:
        net.learn(inputs[:200], targets[:200])
        for _ in range(REPEATS):
            started = time.perf_counter()
            net.learn(inputs, targets)
            best = max(best, steps / (time.perf_counter() - started))
    return best


def timelocal_steps_per_s(target: str, precision: str, n: int, steps: int) -> float:
    """DANP on the Mackey-Glass series."""
    spec = NetworkSpec("anp", 1, 1, n_hidden=n, decorrelate=True, precision=precision)
    return steps_per_s(spec, target, steps)


GLE_LAYERS = 2


def gle_steps_per_s(target: str, precision: str, n: int, steps: int) -> float:
    """GLE (GLE_LAYERS hidden layers of ``n``, one process per layer on Lava)
    on the same series."""
    spec = NetworkSpec("gle", 1, 1, n_hidden=n, precision=precision,
                       params={"layers": GLE_LAYERS, "tau_learning_rate": 0.01})  # fmt: skip
    return steps_per_s(spec, target, steps)


TP_WINDOW = 8


def target_steps_per_s(rule: str, target: str, precision: str, n: int, steps: int) -> float:
    """TPTT or LRA (window of TP_WINDOW steps; the recurrent layer with its
    window and the readout as two processes on Lava) on the same series."""
    spec = NetworkSpec(rule, 1, 1, n_hidden=n, precision=precision,
                       params={"window": TP_WINDOW})  # fmt: skip
    return steps_per_s(spec, target, steps)


def lava_dense_lif_steps_per_s(n: int, steps: int) -> float:
    """Lava's own network of the same size: input -> Dense -> LIF (n, with a
    recurrent Dense) -> Dense -> LIF (1 output), fed by Lava's RingBuffer and
    read by Lava's RingBuffer sink, in floating_pt."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIF

    rng = np.random.default_rng(0)
    data = (rng.random((1, REPEATS * steps + 200)) < 0.3).astype(float)
    source = Source(data=data)
    dense_in = Dense(weights=rng.standard_normal((n, 1)))
    hidden = LIF(shape=(n,), du=0.1, dv=0.1, vth=1.0, bias_mant=0.0)
    recurrent = Dense(weights=rng.standard_normal((n, n)) / np.sqrt(n))
    dense_out = Dense(weights=rng.standard_normal((1, n)) / np.sqrt(n))
    readout = LIF(shape=(1,), du=0.1, dv=0.1, vth=1.0, bias_mant=0.0)
    sink = Sink(shape=(1,), buffer=REPEATS * steps + 200)
    source.s_out.connect(dense_in.s_in)
    dense_in.a_out.connect(hidden.a_in)
    hidden.s_out.connect(recurrent.s_in)
    recurrent.a_out.connect(hidden.a_in)
    hidden.s_out.connect(dense_out.s_in)
    dense_out.a_out.connect(readout.a_in)
    readout.s_out.connect(sink.a_in)
    config = Loihi2SimCfg(select_tag="floating_pt")
    try:
        source.run(condition=RunSteps(num_steps=200), run_cfg=config)
        best = 0.0
        for _ in range(REPEATS):
            started = time.perf_counter()
            source.run(condition=RunSteps(num_steps=steps), run_cfg=config)
            best = max(best, steps / (time.perf_counter() - started))
        return best
    finally:
        source.stop()


def draw_graph(path: Path) -> None:
    """The process graph of the Lava target, as a picture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.2))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 5)
    ax.axis("off")
    boxes = {
        "host": (0.2, 2.0, "host (timelocal)\nstreams, session,\ncheckpoints"),
        "bridge": (2.6, 2.0, "StreamBridge\none sample per step\nin; results out"),
        "hidden": (5.2, 3.3, "HiddenLayer\nA, R, b, D\nclean + noisy x*"),
        "readout": (5.2, 0.6, "Readout\nB, c, loss,\ndl = l~ - l"),
    }
    for x, y, text in boxes.values():
        ax.add_patch(plt.Rectangle((x, y), 2.1, 1.1, fill=False, lw=1.5))
        ax.text(x + 1.05, y + 0.55, text, ha="center", va="center", fontsize=8.5)

    def arrow(x0, y0, x1, y1, text, color="black", dx=0.0, dy=0.12, ha="center"):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "->", "color": color, "lw": 1.3})  # fmt: skip
        ax.text((x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy, text, ha=ha, fontsize=7.5, color=color)

    arrow(2.3, 2.75, 2.6, 2.75, "chunk\n(pipe)", dy=0.25)
    arrow(2.6, 2.25, 2.3, 2.25, "results\n(pipe)", dy=-0.45)
    arrow(4.7, 2.95, 5.2, 3.6, "u_t, reset", dx=-0.1, ha="right")
    arrow(5.2, 3.9, 4.5, 3.1, "x*_t (metrics)", color="gray", dx=-0.05, dy=0.35, ha="right")
    arrow(4.7, 2.1, 5.2, 1.2, "y*_t", dx=0.12, dy=0.05, ha="left")
    arrow(5.2, 0.9, 4.5, 2.0, "y_t, l_t", dx=-0.12, dy=-0.25, ha="right")
    arrow(5.9, 3.3, 5.9, 1.7, "x*_t, x~*_t", dx=-0.08, dy=0.0, ha="right")
    arrow(
        6.6, 1.7, 6.6, 3.3, "dl_t\n(learning\nphase)", color="tab:red", dx=0.08, dy=-0.2, ha="left"
    )
    ax.text(7.8, 2.4, "spike phase: black\nlearning phase: red\nno Dense delay:\nthe spike phase\nis acyclic",
            fontsize=8, va="center")  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_output_options(parser, "shorter runs, n = 16 and 64, one of each (within a minute)")
    args = parser.parse_args()
    args.out = output_dir(args)
    global REPEATS
    sizes = SIZES[:2] if args.quick else SIZES
    REPEATS = 1 if args.quick else REPEATS
    lava_steps = 300 if args.quick else 2000
    host_steps = 5000 if args.quick else 10000
    rows = []
    for n in sizes:
        host = timelocal_steps_per_s("host", "float64", n, host_steps)
        ours_float = timelocal_steps_per_s("lava", "float64", n, lava_steps)
        ours_fixed = timelocal_steps_per_s("lava", "fixed16", n, lava_steps)
        theirs = lava_dense_lif_steps_per_s(n, lava_steps)
        rows.append((n, host, ours_float, ours_fixed, theirs))
        print(f"n={n}: host {host:,.0f}, lava float64 {ours_float:,.0f}, lava fixed16 "
              f"{ours_fixed:,.0f}, Lava Dense+LIF {theirs:,.0f} steps/s", flush=True)  # fmt: skip
    gle_rows = []
    for n in sizes:
        host = gle_steps_per_s("host", "float64", n, host_steps)
        ours_float = gle_steps_per_s("lava", "float64", n, lava_steps)
        ours_fixed = gle_steps_per_s("lava", "fixed16", n, lava_steps)
        gle_rows.append((n, host, ours_float, ours_fixed))
        print(f"GLE n={n}: host {host:,.0f}, lava float64 {ours_float:,.0f}, lava fixed16 "
              f"{ours_fixed:,.0f} steps/s", flush=True)  # fmt: skip
    tp_rows = []
    for rule in ("tptt", "lra"):
        for n in sizes:
            speeds = [target_steps_per_s(rule, target, precision, n, steps)
                      for target, precision, steps in (("host", "float64", host_steps),
                                                       ("lava", "float64", lava_steps),
                                                       ("lava", "fixed16", lava_steps))]  # fmt: skip
            tp_rows.append((rule, n, *speeds))
            print(f"{rule} n={n}: host {speeds[0]:,.0f}, lava float64 {speeds[1]:,.0f}, lava "
                  f"fixed16 {speeds[2]:,.0f} steps/s", flush=True)  # fmt: skip
    draw_graph(args.out / "lava_graph.png")
    lines = [
        "# The Lava target: speed, and the process graph",
        "",
        provenance(
            f"Best of {REPEATS} runs of {lava_steps} steps on Lava and {host_steps} "
            "on the host per figure, after a warm-up chunk of 200 steps (start-up and "
            "compilation excluded)."
        ),
        "",
        "![process graph](lava_graph.png)",
        "",
        "One process per layer, the mapping a chip has: the hidden layer's weights, rates and "
        "decorrelation matrix live in one process (one core's worth of neurons and synapses), "
        "the readout in another, and the loss difference dl_t, the perturbation rules' one "
        "global learning signal, is the only message that goes backwards, in Lava's learning "
        "phase of the same step. A third process, the bridge, stands for the chip's host "
        "interface: it takes a chunk of samples at a time from the host through an external "
        "pipe and returns the chunk's results in one message.",
        "",
        "DANP (ANP with decorrelation, 1 input, 1 output, Mackey-Glass). *Lava Dense+LIF* is "
        "Lava's own network of the same size on the same simulator (RingBuffer source, Dense, "
        "LIF with a recurrent Dense, Dense, LIF, RingBuffer sink; 7 processes, floating_pt, no "
        "learning). The goal: learning costs less than 2x Lava's own step (ratio >= 0.5). "
        "ANP's float default is Adam, fixed point's is SGD; the host column is float64 with "
        "Adam (docs/speed.md has the host with SGD).",
        "",
        "| hidden | host float64 (steps/s) | Lava float64 (steps/s) | Lava fixed16 (steps/s) "
        "| Lava Dense+LIF (steps/s) | float64 / Dense+LIF | fixed16 / Dense+LIF |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, host, ours_float, ours_fixed, theirs in rows:
        lines.append(f"| {n} | {host:,.0f} | {ours_float:,.0f} | {ours_fixed:,.0f} | "
                     f"{theirs:,.0f} | {ours_float / theirs:.2f} | {ours_fixed / theirs:.2f} |")  # fmt: skip
    lines += [
        "",
        "## GLE: one process per layer",
        "",
        "`--rule gle --target lava` builds one `GLELayer` process per layer (hidden layers and "
        "the output layer), each holding its neurons (u, v, r, phi', e, tau_m, tau_r) and the "
        "weights W, b into it. Every step a layer sends its previous rates up (with the step's "
        "reset and learn flags) and its backprojected error W^T e down, then steps from what "
        "its neighbours sent, with the host's per-layer kernel (kernels/gle.py `layer_step`): "
        "host and Lava agree bit for bit, in float64 and in fixed point.",
        "",
        "```",
        "bridge --samples--> layer0 --r0--> layer1 --r1--> ... --> output <--targets-- bridge",
        "                    layer0 <--W1^T e1-- layer1 <--W2^T e2-- ... output --y, loss--> bridge",
        "```",
        "",
        f"GLE, {GLE_LAYERS} hidden layers of the given width, 1 input, 1 output, learning "
        "W, b, tau_m and tau_r on the same series (SGD).",
        "",
        "| hidden | host float64 (steps/s) | Lava float64 (steps/s) | Lava fixed16 (steps/s) |",
        "|---|---|---|---|",
    ]
    for n, host, ours_float, ours_fixed in gle_rows:
        lines.append(f"| {n} | {host:,.0f} | {ours_float:,.0f} | {ours_fixed:,.0f} |")
    lines += [
        "",
        "## TPTT and LRA: the recurrent layer with its window, and the readout",
        "",
        "`--rule tptt|lra --target lava` builds the perturbation rules' graph: a "
        "`TargetHidden` process holds W_xh, W_h, b_h, TPTT's inverse V_h, c_h, the hidden "
        "state and the window of the last K steps in its Vars, a `TargetReadout` holds "
        "W_hy, b_y and sends W_hy^T dE/dy back in the learning phase (kernels/target_prop.py's "
        "three phase kernels, the host's). "
        f"Window K = {TP_WINDOW}, 1 input, 1 output, the same series, default settings "
        "(TPTT: every entry learns every step; LRA: each entry once, as it leaves).",
        "",
        "| rule | hidden | host float64 (steps/s) | Lava float64 (steps/s) | Lava fixed16 "
        "(steps/s) |",
        "|---|---|---|---|---|",
    ]
    for rule, n, host, ours_float, ours_fixed in tp_rows:
        lines.append(f"| {rule.upper()} | {n} | {host:,.0f} | {ours_float:,.0f} | "
                     f"{ours_fixed:,.0f} |")  # fmt: skip
    (args.out / "lava.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out / 'lava.md'}")


if __name__ == "__main__":
    main()
