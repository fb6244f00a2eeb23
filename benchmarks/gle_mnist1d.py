"""MNIST-1D with GLE, learned online (issue: GLE; seed 003, Table 1).

Each sample's 40 points arrive one per ``hold`` Euler steps; the label is the
target during the last quarter of the sample. After every epoch the test part
runs without learning; a sample counts as correct when the argmax of its
outputs, averaged over its labelled steps, is its label. Writes
docs/mnist1d.md and docs/mnist1d.png.

    python benchmarks/gle_mnist1d.py                 # float64, float32, fixed16; 3 seeds, 10 epochs
    python benchmarks/gle_mnist1d.py --quick         # 1000 samples, 3 epochs
    python benchmarks/gle_mnist1d.py --adam --epochs 20 --seeds 2   # docs/mnist1d_adam.md
    python benchmarks/gle_mnist1d.py --adam --epochs 40 --seeds 1 --decay-after 6 --decay-every 4
    python benchmarks/gle_mnist1d.py --adam --epochs 20 --seeds 1 --average 1

``--adam`` runs seed 003's network and data instead (ADAM_CONFIG: 6 x 53
with lagged units and a linear first layer, uniform initial weights, 360
points a sample, the label at every step, neurons carried over between
samples), learning with timelocal's Adam one Euler step at a time (float64,
host), and writes docs/mnist1d_adam.md; with ``--decay-every`` the learning
rate steps down on a schedule counted in epochs (the spec's decay_after and
decay_every in learning steps), and the report is docs/mnist1d_adam_decay.md;
with ``--average E`` the test part runs on the moving average of the weights
and biases over about the last E epochs (the spec's average, in learning
steps), and the report is docs/mnist1d_adam_average.md. ``--save DIR``
checkpoints every seed's network after each epoch and goes on from the
checkpoints it finds: a 40-epoch run given ``--epochs 80`` and the same
folder learns 40 more (about 140 s an epoch per seed, two seeds side by side).
A checkpoint also goes on under a schedule whose first step-down is still
ahead of it (the same arithmetic as an unbroken run of that schedule): the
40-epoch averaged runs, given ``--epochs 44 --decay-after 30 --decay-every 10
--decay-factor 0.3``, learn 4 epochs at 0.3 times the rate
(docs/mnist1d_adam_average_decay.md). ``--learning-rate`` and ``--beta1``
change Adam's step size and first-moment decay (the report's name gets
``_tuned``), ``--seed S`` runs one network seed.

The Lava simulator learns the first LAVA_SAMPLES training samples in fixed16
beside the host (an epoch would take it over five minutes).
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from timelocal import Network, NetworkSpec  # noqa: E402
from timelocal.kernels.optim import rate_decay  # noqa: E402
from timelocal.runtime.spec import HYPER_BY_NAME, TUNABLE  # noqa: E402
from timelocal.streams.registry import open_stream  # noqa: E402

try:
    from benchmarks import common
except ImportError:  # run as a script from the benchmarks folder
    import common

LAVA_SAMPLES = 100


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


def setup(config: dict, seed: int, stream_url: str):
    """The stream and the network spec. ``config["decay"]``, (after, every,
    factor) in epochs, becomes the learning steps of decay_after and
    decay_every: the rate steps down by factor after epoch after + every,
    and every ``every`` epochs from there."""
    stream = open_stream(stream_url)
    params = dict(config["params"])
    steps = len(stream.train[0])  # learning steps of one epoch
    if config.get("average"):
        params["average"] = max(1, round(config["average"] * steps))
    if config.get("decay"):
        after, every, factor = config["decay"]
        params.update(decay_after=after * steps, decay_every=every * steps, decay_factor=factor)
    spec = NetworkSpec("gle", 1, 10, n_hidden=config["hidden"], loss=stream.loss,
                       precision=config["precision"], seed=seed, params=params)  # fmt: skip
    return stream, spec


def run(job: tuple) -> dict:
    """One network: (config, seed, epochs, stream URL, checkpoint path or
    None). With a path, the network is saved after every epoch, and a run
    whose checkpoint is there goes on from it (its curve and time carry
    over: the same arithmetic as a run never stopped)."""
    config, seed, epochs, stream_url, path = job
    stream, spec = setup(config, seed, stream_url)
    net, curve, earlier = Network(spec), [], 0.0
    if path is not None and path.exists():
        net = Network.load(path)
        if not same_past(net.spec, spec, net.steps_trained):
            raise SystemExit(f"error: {path} holds another network than this run's "
                             f"({config['name']}, seed {seed}), or one that learned at other "
                             "rates so far; use another --save folder")  # fmt: skip
        curve, earlier = list(net.checkpoint_meta["curve"]), net.checkpoint_meta["seconds"]
        if bool(net.checkpoint_meta.get("shuffle")) != bool(config.get("shuffle")):
            raise SystemExit(f"error: {path} learned its samples in "
                             f"{'a new' if net.checkpoint_meta.get('shuffle') else 'the same'} "
                             "order every epoch, this run does not; use another --save folder")  # fmt: skip
        # This run's schedule from here on (the same as the checkpoint's until now).
        net = net.retuned(**{name: spec.hyper(name) for name in GLE_TUNABLE})
        if len(curve) > epochs:
            raise SystemExit(f"error: {path} is {len(curve)} epochs in, past --epochs {epochs}")
    resumed = len(curve)
    period = stream.info["sample_steps"]
    start = time.perf_counter()
    for epoch in range(resumed, epochs):
        x, y, has, reset, _ = stream.train
        rows = epoch_rows(epoch, len(x), period) if config.get("shuffle") else slice(None)
        net.learn(x[rows], np.where(has[:, None], y, np.nan)[rows], reset=reset)
        x_test, y_test, has_test, reset_test, _ = stream.test
        outputs = net.predict(x_test, reset=reset_test).outputs
        accuracy = sample_accuracy(outputs, stream.test, period)
        curve.append(accuracy)
        seconds = earlier + time.perf_counter() - start
        if path is not None:
            net.save(path, {"curve": curve, "seconds": seconds,
                            "shuffle": bool(config.get("shuffle"))})  # fmt: skip
        print(f"  {config['name']} seed {seed}: epoch {epoch + 1}/{epochs}  test accuracy "
              f"{accuracy:.3f}  ({seconds:.0f} s)", flush=True)  # fmt: skip
    return {"config": config, "seed": seed, "curve": curve, "params": spec.n_params,
            "seconds": earlier + time.perf_counter() - start, "saturations": net.saturations,
            "resumed": resumed}  # fmt: skip


def epoch_rows(epoch: int, steps: int, period: int) -> np.ndarray:
    """The training part's rows in epoch ``epoch``'s order with --shuffle:
    its samples (blocks of ``period`` steps) permuted by a generator seeded
    with the epoch, the same for every network seed. The neurons still carry
    over from one sample to the next."""
    order = np.random.default_rng(1000 + epoch).permutation(steps // period)
    return (order[:, None] * period + np.arange(period)).ravel()


GLE_TUNABLE = tuple(name for name in TUNABLE if "gle" in HYPER_BY_NAME[name].rules)


def same_past(saved: NetworkSpec, spec: NetworkSpec, steps: int) -> bool:
    """Whether a network that learned ``steps`` steps with spec ``saved``
    learned them as ``spec`` would have: the same network at the same rates
    on every step so far, so that going on with ``spec`` is the arithmetic of
    an unbroken run of it (a schedule may differ from the step on)."""

    def fixed(s: NetworkSpec) -> NetworkSpec:
        return dataclasses.replace(s, params={k: v for k, v in s.params.items()
                                              if k not in GLE_TUNABLE})  # fmt: skip

    def undecayed(s: NetworkSpec) -> bool:  # the kernels' factor is still 1 at the last step
        return rate_decay(s.kernel_hyper(), steps - 1) == 1.0

    schedule = ("decay_after", "decay_every", "decay_factor")
    rates = [name for name in GLE_TUNABLE if name not in schedule]
    return (fixed(saved) == fixed(spec)
            and all(saved.hyper(name) == spec.hyper(name) for name in rates)
            and ((undecayed(saved) and undecayed(spec))
                 or all(saved.hyper(name) == spec.hyper(name) for name in schedule)))  # fmt: skip


# Three hidden layers of 100, half of each started as low-pass (memory) units.
PARAMS = {"layers": 3, "lag_fraction": 0.5, "lag_tau": 2.0, "learning_rate": 0.02,
          "tau_learning_rate": 0.0}  # fmt: skip
CONFIGS = [{"name": f"GLE {precision}, 3 x 100", "hidden": 100, "precision": precision,
            "params": PARAMS} for precision in ("float64", "float32", "fixed16")]  # fmt: skip

# Seed 003's MNIST-1D network (as diagnostics/gle_mnist1d_batched.py reads it
# from the authors' code) within the spec's bounds: 36 of each layer's 53
# units lagged with tau_r = tau_min = 2 dt (the reference: tau_r = dt, below
# the Euler bound) and tau_m = tau (the reference: half of them tau / 2).
# Adam one step per Euler step, its decays counted in steps: beta1 = 0.999
# averages over ~3 samples, beta2 = 0.99999 over ~280. beta2 = 0.999 collapses
# to one class (the diagnostic's docstring); so does beta1 = 0.9 with beta2 =
# 0.99999 here (9.8 % after 2 epochs, seeds 0 and 1).
ADAM_CONFIG = {"name": "GLE float64, 6 x 53, Adam", "hidden": 53, "precision": "float64",
               "stream": "points=360&hold=1&label=1&reset=0",
               "params": {"layers": 6, "linear": 1, "init": "uniform", "dt": 0.2,
                          "tau_m": 1.2, "tau_r": 1.2, "tau_min": 0.4, "lag_fraction": 36 / 53,
                          "lag_tau": 1.2, "tau_learning_rate": 0.0, "optimizer": "adam",
                          "learning_rate": 1e-5, "adam_beta1": 0.999,
                          "adam_beta2": 0.99999}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--hold", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3, help="network seeds 0 .. N-1")
    parser.add_argument("--shuffle", action="store_true",
                        help="with --adam: the training samples in a new order every epoch")  # fmt: skip
    parser.add_argument("--seed", type=int, default=None, metavar="S",
                        help="network seed S only (instead of --seeds)")  # fmt: skip
    parser.add_argument("--no-lava", action="store_true", help="skip the Lava run")
    parser.add_argument(
        "--adam",
        action="store_true",
        help="seed 003's network and data with Adam (docs/mnist1d_adam.md)",
    )
    parser.add_argument("--decay-every", type=int, default=0, metavar="EPOCHS",
                        help="with --adam: multiply the learning rate by --decay-factor every "
                        "EPOCHS epochs after --decay-after (0: a constant rate)")  # fmt: skip
    parser.add_argument("--decay-after", type=int, default=0, metavar="EPOCHS",
                        help="epochs before --decay-every starts counting (the first step-down "
                        "comes after --decay-after + --decay-every epochs)")  # fmt: skip
    parser.add_argument("--decay-factor", type=float, default=0.5)
    parser.add_argument("--save", type=Path, default=None, metavar="DIR",
                        help="with --adam: checkpoint each seed's network to DIR/seedN.npz "
                        "after every epoch, and go on from the checkpoint there (same "
                        "settings; --epochs counts from the start)")  # fmt: skip
    parser.add_argument("--average", type=float, default=0.0, metavar="EPOCHS",
                        help="with --adam: test on the moving average of the weights over about "
                        "the last EPOCHS epochs (Polyak averaging; 0: off)")  # fmt: skip
    parser.add_argument("--learning-rate", type=float, default=None, metavar="RATE",
                        help="with --adam: Adam's step size (default: ADAM_CONFIG's 1e-5)")  # fmt: skip
    parser.add_argument("--beta1", type=float, default=None, metavar="B",
                        help="with --adam: Adam's first-moment decay per Euler step (default: "
                        "ADAM_CONFIG's 0.999, about 3 samples)")  # fmt: skip
    common.add_output_options(parser, "1000 training samples, 3 epochs")
    args = parser.parse_args()
    if args.decay_every < 0 or args.decay_after < 0 or not 0 < args.decay_factor <= 1:
        parser.error("--decay-every and --decay-after are >= 0 and --decay-factor is in (0, 1]")
    if args.seed is not None and args.seed < 0:
        parser.error("--seed is >= 0")
    if args.average < 0:
        parser.error("--average is >= 0 (epochs; 0: off)")
    tuning = args.learning_rate is not None or args.beta1 is not None or args.shuffle
    if (args.decay_every or args.average or args.save or tuning) and not args.adam:
        parser.error("--decay-every, --average, --save, --learning-rate, --beta1 and "
                     "--shuffle apply to the --adam runs")  # fmt: skip
    if args.learning_rate is not None and not args.learning_rate > 0:
        parser.error("--learning-rate is > 0")
    if args.beta1 is not None and not 0 <= args.beta1 < 1:
        parser.error("--beta1 is in [0, 1)")
    args.out = common.output_dir(args)
    train = 1000 if args.quick else 0
    if args.quick:
        args.epochs = min(args.epochs, 3)
    configs = [averaged(decayed(tuned(ADAM_CONFIG, args), args), args)] if args.adam else CONFIGS
    jobs = []
    seeds = [args.seed] if args.seed is not None else range(1 if args.quick else args.seeds)
    for seed in seeds:
        for config in configs:
            path = args.save / f"seed{seed}.npz" if args.save else None
            jobs.append((config, seed, args.epochs, stream_url(config, args.hold, train), path))
    if args.adam:  # float on the host only: Lava refuses GLE with Adam
        with multiprocessing.Pool(min(2, len(jobs))) as pool:
            write_adam_report(list(pool.imap(run, jobs)), args)
        return
    if not args.no_lava:
        common.load_lava()
    with multiprocessing.Pool(2) as pool:
        results = list(pool.imap(run, jobs))
    twin = None
    if not args.no_lava:
        config = next(c for c in CONFIGS if c["precision"] == "fixed16")
        stream, spec = setup(config, 0, stream_url(config, args.hold, LAVA_SAMPLES))
        x, y, has, reset, _ = stream.train
        twin = common.lava_twin(spec, x, np.where(has[:, None], y, np.nan), reset)
        twin["samples"] = LAVA_SAMPLES
    write_report(results, args, twin)


def tuned(config: dict, args) -> dict:
    """``config`` with Adam's step size and first-moment decay of
    --learning-rate and --beta1, where given, and --shuffle's sample order."""
    changes = {name: value for name, value in (("learning_rate", args.learning_rate),
                                               ("adam_beta1", args.beta1)) if value is not None}  # fmt: skip
    if not changes and not args.shuffle:
        return config
    name = (config["name"] + "".join(f", {key} {value:g}" for key, value in changes.items())
            + (", samples shuffled every epoch" if args.shuffle else ""))  # fmt: skip
    return {**config, "params": {**config["params"], **changes}, "name": name,
            "shuffle": args.shuffle}  # fmt: skip


def decayed(config: dict, args) -> dict:
    """``config`` with the learning-rate schedule of --decay-* (epochs)."""
    if not args.decay_every:
        return config
    after, every, factor = schedule = (args.decay_after, args.decay_every, args.decay_factor)
    name = f"{config['name']}, rate x {factor:g} every {every} epochs from epoch {after + every}"
    return {**config, "decay": schedule, "name": name}


def averaged(config: dict, args) -> dict:
    """``config`` tested on the moving average of --average (epochs)."""
    if not args.average:
        return config
    name = f"{config['name']}, averaged over {args.average:g} epochs"
    return {**config, "average": args.average, "name": name}


def stream_url(config: dict, hold: int, train: int) -> str:
    """Float learns the cross-entropy; fixed point the squared error (no softmax)."""
    loss = "mse" if config["precision"].startswith("fixed") else "xent"
    options = config.get("stream", f"hold={hold}")
    return f"synth:mnist1d?{options}&train={train}&loss={loss}"


def _cell(values: list) -> str:
    return f"{np.mean(values):.1%} [{min(values):.1%}, {max(values):.1%}]"


def _table(groups: dict) -> list:
    lines = ["| network | parameters (W, b) | best test accuracy | last | epochs | time per run |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for name, runs in groups.items():
        c = runs[0]["config"]
        best = [max(r["curve"]) for r in runs]
        last = [r["curve"][-1] for r in runs]
        settings = ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                             for k, v in c["params"].items())  # fmt: skip
        lines.append(f"| {name} ({settings}) "
                     f"| {runs[0]['params']:,} | {_cell(best)} | {_cell(last)} | "
                     f"{len(runs[0]['curve'])} | {np.mean([r['seconds'] for r in runs]):.0f} s |")  # fmt: skip
    return lines


def _groups(results: list) -> dict:
    groups = {}
    for r in sorted(results, key=lambda r: r["seed"]):
        groups.setdefault(r["config"]["name"], []).append(r)
    return groups


def write_adam_report(results: list, args) -> None:
    """docs/mnist1d_adam.md: seed 003's set-up learned with Adam
    (docs/mnist1d_adam_decay.md with a learning-rate schedule,
    docs/mnist1d_adam_average.md tested on the averaged weights, both:
    mnist1d_adam_average_decay.md; another --learning-rate or --beta1 adds
    _tuned)."""
    groups = _groups(results)
    decay = results[0]["config"].get("decay")
    average = results[0]["config"].get("average")
    params = results[0]["config"]["params"]
    seeds = sorted({r["seed"] for r in results})
    best = max(max(r["curve"]) for r in results)
    curves = "; ".join(f"seed {r['seed']}: " + " ".join(f"{a:.1%}" for a in r["curve"])
                       for r in sorted(results, key=lambda r: r["seed"]))  # fmt: skip
    lines = [
        "# MNIST-1D, GLE online with Adam"
        + (", a stepped-down learning rate" if decay else "")
        + (", tested on the averaged weights" if average else ""),
        "",
        common.provenance(),
        "",
        "Seed 003's set-up, one sample at a time: standard MNIST-1D (seed 42; "
        + ("the first 1000 training samples only (--quick)" if args.quick
           else "4000 train, 1000 test")
        + ") generated at 360 points a sample, one point per Euler step (dt = 0.2); the "
        "one-hot label is the target at every step; the neurons carry over from one "
        "sample to the next (one reset, at the start of each pass); the training samples "
        + ("come in a new order every epoch (--shuffle)" if results[0]["config"].get("shuffle")
           else "come in the same order every epoch")
        + ". The network: 6 hidden layers of 53, the first "
        "linear, 36 units of each lagged (tau_r = 0.4, tau_m = 1.2), the rest tau_m = tau_r = "
        "1.2, fixed time constants, weights and biases uniform in +-1/sqrt(fan-in). Every "
        "Euler step is one Adam step (`-p optimizer=adam`) of every weight and bias from "
        "g = -dt e r^T"
        + (f" at learning_rate {params['learning_rate']:g}, multiplied by {decay[2]:g} after epoch "
           f"{decay[0] + decay[1]} and again every {decay[1]} epochs from there "
           "(`-p decay_after`, `-p decay_every`: the epochs' learning steps)" if decay else "")
        + (f". The test part runs on the moving average of the weights and biases over about "
           f"the last {average:g} epochs of learning steps (`-p average`, Polyak averaging: "
           "the mean of every step's weights until then); learning itself is unchanged"
           if average else "")
        + ". A test sample is correct when its outputs, averaged over its steps, "
        "peak at its label."
        + "".join(f" Seed {r['seed']} went on from its checkpoint after epoch {r['resumed']} "
                  "(`--save`: the same arithmetic as an unbroken run)."
                  for r in sorted(results, key=lambda r: r["seed"]) if r["resumed"]),
        "",
        f"Network seeds {', '.join(str(seed) for seed in seeds)}; accuracies are the mean over "
        "seeds with [min, max].",
        "",
        *_table(groups),
        "",
        f"Test accuracy by epoch: {curves}.",
        "",
        f"The issue's target is 90 %: the best epoch here, {best:.1%}, falls short by "
        f"{(0.9 - best) * 100:.1f} points. Seed 003 (Table 1) reaches 91.3 % with this "
        "15k-parameter network in batches of 100 (Adam, up to 150 epochs); "
        "diagnostics/gle_mnist1d_batched.py measured 88.8, 84.6, 88.4, 88.1 and 88.3 % with that "
        "recipe on timelocal's kernels (network seeds 0-4; 87.6 +- 1.7 % against seed 003's "
        "91.3 +- 0.9 %), and docs/mnist1d.md has the plain-SGD runs "
        "(below 20 %).",
        "",
    ]  # fmt: skip
    tuned = results[0]["config"].get("shuffle") or any(
        params[name] != ADAM_CONFIG["params"][name] for name in ("learning_rate", "adam_beta1"))  # fmt: skip
    name = ("mnist1d_adam" + ("_average" if average else "") + ("_decay" if decay else "")
            + ("_tuned" if tuned else "") + ".md")  # fmt: skip
    (args.out / name).write_text("\n".join(lines))


def write_report(results: list, args, twin: dict | None = None) -> None:
    groups = _groups(results)
    seeds = sorted({r["seed"] for r in results})
    lines = [
        "# MNIST-1D, GLE online",
        "",
        common.provenance(),
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
        f"Network seeds {', '.join(str(seed) for seed in seeds)} (the data are the standard "
        "set); accuracies are the mean over seeds with [min, max].",
        "",
        *_table(groups),
    ]
    best = max(max(r["curve"]) for r in results)
    lines += ["", "Seed 003 (Table 1): GLE 93.9 % with 42k parameters, 91.3 % with 15k; "
              "an MLP that sees the whole sample at once 64.4 %. The issue's target is "
              f"90 %: timelocal's best run here, {best:.1%}, falls short by "
              f"{(0.9 - best) * 100:.1f} points (seed 003 trains in batches of 100 with Adam for up to 150 "
              "epochs; this is one sample at a time with plain SGD).", ""]  # fmt: skip
    if twin is not None:
        lines += [common.lava_sentence(twin, f"the fixed16 network on its first {twin['samples']} "
                                      "training samples"), ""]  # fmt: skip
    lines += ["![learning curves](mnist1d.png)", ""]
    (args.out / "mnist1d.md").write_text("\n".join(lines))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, runs in groups.items():
        curves = np.array([r["curve"] for r in runs])
        epochs = np.arange(1, curves.shape[1] + 1)
        ax.plot(epochs, curves.mean(0), marker="o", label=f"{name} (mean of {len(runs)} seeds)")
        ax.fill_between(epochs, curves.min(0), curves.max(0), alpha=0.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_title("MNIST-1D, GLE learning online")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out / "mnist1d.png", dpi=120)


if __name__ == "__main__":
    main()
