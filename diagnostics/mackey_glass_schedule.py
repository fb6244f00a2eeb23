"""Diagnostic for the Mackey-Glass benchmark (issue 3: DANP's test MSE
against BPTT truncated at T = 50): is DANP's gap its gradient estimate's
variance? If it were, a learning rate that steps down over the run would
narrow it, as a smaller step averages more noisy estimates.

Each rule learns as in benchmarks/mackey_glass.py (100 hidden units, float32,
20 epochs of 5000 steps, the rule's default hyper-parameters, test on the
series of another seed), with its learning rate multiplied, epoch by epoch,
by a schedule: none, halving every 4 epochs (step), from epoch 10 on (late),
or a cosine from 1 to 0.01 (cosine). ``--with-decorrelation`` scales DANP's
decorrelation rate by the same factor (otherwise it keeps its rate). The
schedule is set between epochs on the host target's kernel record (the rules
have no schedule of their own; TPTT's and LRA's decay_every is in steps).

Measured on seeds 10, 11, 12 (not the benchmark's 0-2), 2026-12-04 (2.5 min
on 2 cores), test MSE mean over the seeds [min, max]:

    BPTT (T = 50)   none 3.35e-4 [2.2e-4, 5.2e-4]   step 4.51e-5 [2.9e-5, 6.2e-5]
                    late 7.33e-5 [6.5e-5, 8.5e-5]   cosine 4.11e-5 [3.3e-5, 4.9e-5]
    DANP            none 1.74e-3 [5.5e-4, 3.7e-3]   step 6.17e-3 [3.4e-3, 7.7e-3]
                    late 2.77e-2 [2.7e-2, 2.8e-2]   cosine 9.49e-3 [7.5e-3, 1.1e-2]
      and D's rate  step 2.72e-3 [6.6e-4, 3.8e-3]   late 2.13e-3 [4.1e-4, 4.3e-3]
      scaled too

BPTT gains up to 8x; DANP loses with any schedule, badly when only its
weights slow down (while D, which their inputs pass through, keeps its
rate), a little when both rates do. Its gap to BPTT is not its estimate's variance: it stays
near "BPTT (T=1)" of the benchmark, the gradient it estimates.

    python diagnostics/mackey_glass_schedule.py                 # seeds 10 11 12
    python diagnostics/mackey_glass_schedule.py --with-decorrelation --schedules none late step
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from timelocal import Network, NetworkSpec  # noqa: E402
from timelocal.streams.synthetic import mackey_glass  # noqa: E402

SCHEDULES = {
    "none": lambda epoch, epochs: 1.0,
    "step": lambda epoch, epochs: 0.5 ** (epoch // 4),
    "late": lambda epoch, epochs: 0.5 ** max(0, epoch - 9),
    "cosine": lambda epoch, epochs: 0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * epoch / epochs)),
}
RULES = {"DANP": ("anp", True, {}), "BPTT (T=50)": ("bptt", False, {})}


def test_mse(rule: str, schedule: str, seed: int, *, epochs: int = 20, train: int = 5000,
             hidden: int = 100, with_decorrelation: bool = False) -> float:  # fmt: skip
    """One run: the test MSE after ``epochs`` passes over the training
    series, each pass with the learning rate times the schedule's factor."""
    name, decorrelate, params = RULES[rule]
    stream = mackey_glass(train=train, test=train, seed=seed)
    inputs, targets = stream.train[0], stream.train[1]
    spec = NetworkSpec(name, 1, 1, n_hidden=hidden, decorrelate=decorrelate, seed=seed,
                       params=params, precision="float32")  # fmt: skip
    net = Network(spec)
    base = net.target.hyper
    reset = np.zeros(len(inputs), bool)
    reset[0] = True  # the neurons start from rest at every epoch, as in the benchmark
    for epoch in range(epochs):
        factor = SCHEDULES[schedule](epoch, epochs)
        decorrelation = base.decorrelation_rate * (factor if with_decorrelation else 1.0)
        net.target.hyper = base._replace(learning_rate=base.learning_rate * factor,
                                         decorrelation_rate=decorrelation)  # fmt: skip
        net.learn(inputs, targets, reset=reset)
    net.reset_state()
    outputs = net.predict(stream.test[0]).outputs
    return float(np.mean((outputs - stream.test[1]) ** 2))


def _job(job: tuple) -> tuple:
    rule, schedule, seed, options = job
    return rule, schedule, seed, test_mse(rule, schedule, seed, **options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[10, 11, 12])
    parser.add_argument("--schedules", nargs="+", choices=list(SCHEDULES), default=list(SCHEDULES))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--with-decorrelation", action="store_true",
                        help="scale DANP's decorrelation rate with its learning rate")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.epochs < 1 or args.workers < 1:
        parser.error("--epochs and --workers must be at least 1")
    options = {"epochs": args.epochs, "with_decorrelation": args.with_decorrelation}
    jobs = [(rule, schedule, seed, options) for rule in RULES for schedule in args.schedules
            for seed in args.seeds]  # fmt: skip
    results = {}
    with multiprocessing.Pool(args.workers) as pool:
        for k, (rule, schedule, seed, mse) in enumerate(pool.imap_unordered(_job, jobs), 1):
            results.setdefault((rule, schedule), []).append(mse)
            print(f"[{k}/{len(jobs)}] {rule}, {schedule}, seed {seed}: test MSE {mse:.3e}",
                  flush=True)  # fmt: skip
    print("\n| rule | schedule | test MSE, mean [min, max] |\n|---|---|---|")
    for rule in RULES:
        for schedule in args.schedules:
            values = results[(rule, schedule)]
            print(f"| {rule} | {schedule} | {np.mean(values):.2e} "
                  f"[{min(values):.2e}, {max(values):.2e}] |")  # fmt: skip


if __name__ == "__main__":
    main()
