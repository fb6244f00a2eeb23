"""Synthetic tasks of seed 000, defined as ALGORITHMS.md §1 states them."""

from __future__ import annotations

import numpy as np
from timelocal.runtime.errors import StreamError
from timelocal.streams.base import ArrayStream, sequence_arrays


def mackey_glass_series(
    length: int, seed: int, tau: float = 17.0, substeps: int = 10, washout: int = 100
) -> np.ndarray:
    """``length`` samples of dx/dt = 0.2 x(t-tau) / (1 + x(t-tau)^10) - 0.1 x(t),
    Euler-integrated with ``substeps`` sub-steps per sample from a history near
    1.2 with small seeded noise; the first ``washout`` samples are dropped, then
    the series is squashed with tanh(x - 1) and de-meaned."""
    rng = np.random.default_rng(seed)
    dt = 1.0 / substeps
    lag = int(round(tau * substeps))
    total = (length + washout) * substeps
    x = np.empty(lag + total + 1)
    x[: lag + 1] = 1.2 + 0.01 * rng.standard_normal(lag + 1)
    for k in range(lag, lag + total):
        delayed = x[k - lag]
        x[k + 1] = x[k] + dt * (0.2 * delayed / (1.0 + delayed**10) - 0.1 * x[k])
    samples = x[lag + substeps :: substeps][washout : washout + length]
    squashed = np.tanh(samples - 1.0)
    return squashed - squashed.mean()


def mackey_glass(
    train: int = 5000,
    test: int = 5000,
    horizon: int = 15,
    tau: float = 17.0,
    epochs: int = 20,
    seed: int = 0,
) -> ArrayStream:
    """Input x_t, target x_{t+horizon} (predict the future). The training
    series comes from seed 2s, the test series from seed 2s + 1; it is learned
    over ``epochs`` passes (seed 000's authors used 500), rates reset at each."""
    parts = []
    for length, series_seed in ((train, 2 * seed), (test, 2 * seed + 1)):
        series = mackey_glass_series(length + horizon, series_seed, tau=tau)
        parts.append(sequence_arrays(series[:length, None], series[horizon:, None]))
    test_variance = float(parts[1][1].var())
    return ArrayStream(
        url="",
        n_inputs=1,
        n_outputs=1,
        loss="mse",
        train_length=train,
        epochs=epochs,
        test_length=test,
        train=parts[0],
        test=parts[1],
        info={"test_target_variance": test_variance},
    )


COPY_SYMBOLS = 10  # 0 blank, 1..8 data, 9 marker
BLANK, MARKER = 0, 9


def copy_memory_part(sequences: int, length: int, delay: int, rng, marker: str = "all") -> tuple:
    """``sequences`` copy-memory sequences back to back, one-hot coded: input
    ``length`` data symbols, ``delay`` blanks, then the recall phase of
    ``length`` steps, whose inputs are all markers (``marker="all"``), or
    blanks after one marker on the last delay step (``"one"``: seed 004's
    layout, delay - 1 blanks and the start-recalling signal); target blank for
    ``length + delay`` steps, then the data symbols."""
    period = 2 * length + delay
    data = rng.integers(1, 9, size=(sequences, length))
    in_symbols = np.full((sequences, period), BLANK)
    in_symbols[:, :length] = data
    if marker == "all":
        in_symbols[:, length + delay :] = MARKER
    else:
        in_symbols[:, length + delay - 1] = MARKER
    out_symbols = np.full((sequences, period), BLANK)
    out_symbols[:, length + delay :] = data
    eye = np.eye(COPY_SYMBOLS)
    inputs = eye[in_symbols.reshape(-1)]
    targets = eye[out_symbols.reshape(-1)]
    reset = np.zeros(sequences * period, bool)
    reset[::period] = True
    scored = np.zeros((sequences, period), bool)
    scored[:, length + delay :] = True
    return sequence_arrays(inputs, targets, reset=reset, scored=scored.reshape(-1))


def copy_memory(
    length: int = 100, delay: int = 10, train: int = 200, test: int = 20, epochs: int = 1,
    marker: str = "all", seed: int = 0,
) -> ArrayStream:  # fmt: skip
    """Copy memory (Arjovsky et al.) with ``train`` and ``test`` sequences;
    ``marker=one`` gives seed 004's layout (length=10, delay=T: 10 symbols,
    T - 1 blanks, the recall marker, 10 blanks to recall over; T + 20 steps).

    The memoryless baseline predicts blank, then a uniform guess over the 8
    data symbols: cross-entropy length ln 8 / (2 length + delay) per step."""
    if marker not in ("all", "one"):
        raise StreamError(f"synth:copy-memory: marker must be all or one, got {marker!r}")
    if marker == "one" and delay < 1:
        raise StreamError("synth:copy-memory: marker=one puts the marker on the last delay "
                          "step; it needs delay >= 1")  # fmt: skip
    rng = np.random.default_rng(seed)
    train_part = copy_memory_part(train, length, delay, rng, marker)
    test_part = copy_memory_part(test, length, delay, rng, marker)
    period = 2 * length + delay
    return ArrayStream(
        url="",
        n_inputs=COPY_SYMBOLS,
        n_outputs=COPY_SYMBOLS,
        loss="xent",
        train_length=train * period,
        epochs=epochs,
        test_length=test * period,
        train=train_part,
        test=test_part,
        info={
            "baseline_loss": float(length * np.log(8) / period),
            "baseline_accuracy": 1.0 / 8.0,
        },
    )


def sum_of_sines(steps: int, dt: float, n_inputs: int, rng) -> np.ndarray:
    """``n_inputs`` signals, each a sum of three sines with periods of 2 to 20
    time units and random phases (amplitude about 1)."""
    t = np.arange(steps) * dt
    periods = rng.uniform(2.0, 20.0, size=(n_inputs, 3))
    phases = rng.uniform(0.0, 2 * np.pi, size=(n_inputs, 3))
    waves = np.sin(2 * np.pi * t[:, None, None] / periods[None] + phases[None])
    return waves.sum(axis=2) / np.sqrt(1.5)


def teacher(
    inputs: int = 1, hidden: int = 1, layers: int = 1, outputs: int = 1, train: int = 50000,
    test: int = 5000, epochs: int = 1, dt: float = 0.1, seed: int = 0,
) -> ArrayStream:  # fmt: skip
    """Seed 003's teacher/student task: a fixed random GLE network (the
    teacher: ``layers`` hidden layers of ``hidden`` neurons, weights of
    magnitude 0.5 to 1.5 over sqrt(fan-in) with random signs, biases a fifth of
    that, tau_m in [0.5, 3] and tau_r in [max(0.2, 2 dt), 1.5] drawn per neuron) driven by sums of sines; the target is its output. A student
    run with the same dt can match it exactly. The teacher's time constants
    are in ``info`` (``teacher_tau_m``, ``teacher_tau_r``)."""
    from timelocal.runtime.network import Network
    from timelocal.runtime.spec import NetworkSpec
    from timelocal.runtime.state import weights

    rng = np.random.default_rng(seed)
    spec = NetworkSpec("gle", inputs, outputs, n_hidden=hidden, seed=seed,
                       params={"layers": layers, "dt": dt, "tau_min": max(0.2, 2 * dt),
                               "learning_rate": 0.0, "tau_learning_rate": 0.0})  # fmt: skip
    network = Network(spec)
    # Weights of magnitude 0.5 to 1.5 (over sqrt fan-in) with random signs: no
    # teacher neuron is silent or saturated.
    params = network.state["params"]
    params[:] = rng.uniform(0.5, 1.5, params.shape) * rng.choice([-1.0, 1.0], params.shape)
    for name, view in weights(spec, params).items():
        if name.startswith("W"):
            view /= np.sqrt(view.shape[1])
        else:
            view *= 0.2
    network.state["tau_m"][:] = rng.uniform(0.5, 3.0, spec.n_neurons)
    network.state["tau_r"][:] = rng.uniform(max(0.2, 2 * dt), 1.5, spec.n_neurons)
    signal = sum_of_sines(train + test, dt, inputs, rng)
    target = network.predict(signal).outputs
    parts = [sequence_arrays(signal[:train], target[:train]),
             sequence_arrays(signal[train:], target[train:])]  # fmt: skip
    return ArrayStream(
        url="",
        n_inputs=inputs,
        n_outputs=outputs,
        loss="mse",
        train_length=train,
        epochs=epochs,
        test_length=test,
        train=parts[0],
        test=parts[1],
        info={
            "teacher_tau_m": network.state["tau_m"].tolist(),
            "teacher_tau_r": network.state["tau_r"].tolist(),
            "teacher_params": params.tolist(),
            "test_target_variance": float(target[train:].var()),
        },
    )


MNIST1D_CLASSES = 10


def mnist1d_data(samples: int, seed: int, points: int = 40) -> dict:
    """The MNIST-1D data set (Greydanus), built offline by the ``mnist1d``
    package's generator: ``samples`` sequences of ``points`` points (the
    generator's final_seq_length; 40 is the standard), 80% for training.
    seed 42 with 5000 samples is the standard set."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise StreamError(
            "synth:mnist1d needs the mnist1d package: pip install 'timelocal[tasks]' "
            "(make install does)"
        ) from None
    args = get_dataset_args()
    args.num_samples = samples
    args.seed = seed
    args.final_seq_length = points
    return make_dataset(args)


def mnist1d_part(xs: np.ndarray, ys: np.ndarray, hold: int, label: float,
                 reset_each: bool = True) -> tuple:  # fmt: skip
    """Samples back to back: each point held for ``hold`` steps; the one-hot
    label is the target during the last ``label`` share of each sample (no
    target before), and those steps are scored; each sample starts with a
    reset (``reset_each``; otherwise only the first). Both losses use the
    same one-hot targets."""
    n, points = xs.shape
    period = points * hold
    inputs = np.repeat(xs, hold, axis=1).reshape(-1, 1)
    labelled = max(1, int(round(label * period)))
    targets = np.zeros((n, period, MNIST1D_CLASSES))
    targets[:, period - labelled :, :] = np.eye(MNIST1D_CLASSES)[ys][:, None, :]
    reset = np.zeros((n, period), bool)
    reset[:, 0] = reset_each
    reset[0, 0] = True
    labelled_steps = np.zeros((n, period), bool)
    labelled_steps[:, period - labelled :] = True
    return sequence_arrays(inputs, targets.reshape(-1, MNIST1D_CLASSES),
                           has_target=labelled_steps.reshape(-1), reset=reset.reshape(-1))  # fmt: skip


def mnist1d(
    hold: int = 5, label: float = 0.25, samples: int = 5000, train: int = 0, test: int = 0,
    epochs: int = 1, loss: str = "xent", seed: int = 42, points: int = 40, reset: int = 1,
) -> ArrayStream:  # fmt: skip
    """MNIST-1D as a stream of one input: each sample's ``points`` points
    (the generator's length; 40 is the standard, seed 003 uses 360) one after
    the other, each held for ``hold`` Euler steps, the label (one-hot, 10
    classes) as the target during the last ``label`` share of the sample.
    ``reset``: 1 starts every sample from rest, 0 only the first (the
    neurons carry over, as in seed 003's training). ``train``/``test``: use
    only the first so many samples of each part (0: all; the standard set has
    4000 and 1000). Accuracy is measured on the labelled steps of the test
    part."""
    if loss not in ("xent", "mse"):
        raise StreamError(f"synth:mnist1d: loss must be xent or mse, got {loss!r}")
    if not 0 < label <= 1:
        raise StreamError(f"synth:mnist1d: label is a share of each sample, in (0, 1], got {label}")
    if reset not in (0, 1):
        raise StreamError(f"synth:mnist1d: reset is 1 (every sample from rest) or 0 (only the "
                          f"first), got {reset}")  # fmt: skip
    if points < 2:
        raise StreamError(f"synth:mnist1d: points must be at least 2, got {points}")
    data = mnist1d_data(samples, seed, points)
    x_train, y_train = data["x"][: train or None], data["y"][: train or None]
    x_test, y_test = data["x_test"][: test or None], data["y_test"][: test or None]
    period = x_train.shape[1] * hold
    return ArrayStream(
        url="",
        n_inputs=1,
        n_outputs=MNIST1D_CLASSES,
        loss=loss,
        train_length=len(y_train) * period,
        epochs=epochs,
        test_length=len(y_test) * period,
        train=mnist1d_part(x_train, y_train, hold, label, bool(reset)),
        test=mnist1d_part(x_test, y_test, hold, label, bool(reset)),
        info={
            "baseline_accuracy": 1.0 / MNIST1D_CLASSES,
            "sample_steps": period,
            "classification": True,
        },  # fmt: skip
    )


# -- seeds 002 and 004: long-range classification tasks ------------------------
# Each sequence starts with a reset; inputs are one-hot symbols; the network's
# outputs are scored (argmax) where the task has a target.


def _sequences(parts: list, n_in: int, n_out: int, epochs: int, info: dict) -> ArrayStream:
    (train_part, train_steps), (test_part, test_steps) = parts
    return ArrayStream(
        url="",
        n_inputs=n_in,
        n_outputs=n_out,
        loss="xent",
        train_length=train_steps,
        epochs=epochs,
        test_length=test_steps,
        train=train_part,
        test=test_part,
        info=info,
    )


def _one_hot_part(in_symbols, out_symbols, has_target, n_in: int, n_out: int) -> tuple:
    """A part of back-to-back sequences (rows) as stream arrays; targets are
    NaN where ``has_target`` is False."""
    sequences, length = in_symbols.shape
    inputs = np.eye(n_in)[in_symbols.reshape(-1)]
    targets = np.eye(n_out)[out_symbols.reshape(-1)]
    has = has_target.reshape(-1)
    targets[~has] = np.nan
    reset = np.zeros(sequences * length, bool)
    reset[::length] = True
    return sequence_arrays(inputs, targets, has_target=has, reset=reset)


def _check_length(name: str, T: int, least: int) -> None:
    if T < least:
        raise StreamError(f"synth:{name}: T must be at least {least}, got {T}")


EXPANSION_SYMBOLS = 8  # k data symbols; input symbol k is the blank


def sequence_expansion_part(sequences: int, T: int, rng) -> tuple:
    """Seed 004's sequence expansion: the first T/2 inputs are random symbols
    out of k = 8, the rest blanks; the target at step t is input symbol
    floor(t / 2) (each symbol of the first half said twice), at every step."""
    half = T // 2
    data = rng.integers(0, EXPANSION_SYMBOLS, size=(sequences, half))
    in_symbols = np.full((sequences, T), EXPANSION_SYMBOLS)
    in_symbols[:, :half] = data
    out_symbols = data[:, np.arange(T) // 2]
    has = np.ones((sequences, T), bool)
    return _one_hot_part(in_symbols, out_symbols, has, EXPANSION_SYMBOLS + 1, EXPANSION_SYMBOLS)


def sequence_expansion(
    T: int = 10, train: int = 10000, test: int = 1000, epochs: int = 1, seed: int = 0
) -> ArrayStream:
    """Sequence expansion (seed 004): ``train`` and ``test`` sequences of T
    steps (T even), 9 inputs (8 symbols and the blank), 8 outputs, a target
    at every step. Step t needs the input of step floor(t / 2): at the end,
    a memory of T / 2 - 1 steps. Chance accuracy is 1/8 per step."""
    _check_length("sequence-expansion", T, 2)
    if T % 2:
        raise StreamError(f"synth:sequence-expansion: T must be even, got {T}")
    rng = np.random.default_rng(seed)
    parts = [(sequence_expansion_part(n, T, rng), n * T) for n in (train, test)]
    return _sequences(parts, EXPANSION_SYMBOLS + 1, EXPANSION_SYMBOLS, epochs,
                      {"baseline_accuracy": 1 / EXPANSION_SYMBOLS, "sequence_steps": T})  # fmt: skip


# Temporal order: distractors a, b, c, d (0-3), the relevant X, Y (4, 5), and
# the start and end markers B, E (6, 7).
ORDER_SYMBOLS = 8
ORDER_X, ORDER_B, ORDER_E = 4, 6, 7
# Where the relevant symbols go, as shares of T (Hochreiter & Schmidhuber's
# 1997 positions, 10-20 and 50-60 of about 100 steps, scaled with T as
# Pascanu et al. 2013 do); the 3-bit task has a third one.
ORDER_WINDOWS = {2: ((0.1, 0.2), (0.5, 0.6)), 3: ((0.1, 0.2), (0.3, 0.4), (0.6, 0.7))}


def temporal_order_part(sequences: int, T: int, bits: int, rng) -> tuple:
    """Hochreiter & Schmidhuber's temporal order (Experiment 6a; 6b for
    ``bits=3``): a sequence of T symbols, B first and E last, random
    distractors a-d in between except at ``bits`` positions, one drawn in each
    of ORDER_WINDOWS' ranges, which hold X or Y. The class (2^bits of them:
    XX, XY, YX, YY for 2 bits) is the target at the last step only."""
    in_symbols = rng.integers(0, 4, size=(sequences, T))
    in_symbols[:, 0] = ORDER_B
    in_symbols[:, -1] = ORDER_E
    label = np.zeros(sequences, np.int64)
    for low, high in ORDER_WINDOWS[bits]:
        # Positions inside [low T, high T], never on the markers.
        first = max(1, int(np.floor(low * T)))
        last = min(T - 2, max(first, int(np.floor(high * T))))
        position = rng.integers(first, last + 1, size=sequences)
        bit = rng.integers(0, 2, size=sequences)
        in_symbols[np.arange(sequences), position] = ORDER_X + bit
        label = 2 * label + bit
    out_symbols = np.zeros((sequences, T), np.int64)
    out_symbols[:, -1] = label
    has = np.zeros((sequences, T), bool)
    has[:, -1] = True
    return _one_hot_part(in_symbols, out_symbols, has, ORDER_SYMBOLS, 2**bits)


def temporal_order(
    T: int = 10, bits: int = 2, train: int = 10000, test: int = 1000, epochs: int = 1,
    seed: int = 0,
) -> ArrayStream:  # fmt: skip
    """Temporal order (seed 002's task): ``train`` and ``test`` sequences of
    T steps, 8 inputs (a, b, c, d, X, Y, B, E), 2^bits classes scored at the
    last step. Chance accuracy is 1 / 2^bits."""
    if bits not in ORDER_WINDOWS:
        raise StreamError(f"synth:temporal-order: bits must be 2 or 3, got {bits}")
    _check_length("temporal-order", T, 10)
    rng = np.random.default_rng(seed)
    parts = [(temporal_order_part(n, T, bits, rng), n * T) for n in (train, test)]
    return _sequences(parts, ORDER_SYMBOLS, 2**bits, epochs,
                      {"baseline_accuracy": 1 / 2**bits, "sequence_steps": T})  # fmt: skip


PERMUTATION_SYMBOLS = 100


def random_permutation_part(sequences: int, T: int, rng) -> tuple:
    """The random permutation task (Hochreiter & Schmidhuber; as Martens &
    Sutskever 2011 and Pascanu et al. 2013 state it): T one-hot symbols out
    of 100; the first is 0 or 1, the others are drawn from 2-99; the target,
    at the last step only, is the first symbol (2 classes)."""
    in_symbols = rng.integers(2, PERMUTATION_SYMBOLS, size=(sequences, T))
    first = rng.integers(0, 2, size=sequences)
    in_symbols[:, 0] = first
    out_symbols = np.zeros((sequences, T), np.int64)
    out_symbols[:, -1] = first
    has = np.zeros((sequences, T), bool)
    has[:, -1] = True
    return _one_hot_part(in_symbols, out_symbols, has, PERMUTATION_SYMBOLS, 2)


def random_permutation(
    T: int = 10, train: int = 10000, test: int = 1000, epochs: int = 1, seed: int = 0
) -> ArrayStream:
    """Random permutation (seed 002's task): ``train`` and ``test``
    sequences of T steps, 100 inputs, 2 classes scored at the last step (the
    first symbol of the sequence). Chance accuracy is 1/2."""
    _check_length("random-permutation", T, 2)
    rng = np.random.default_rng(seed)
    parts = [(random_permutation_part(n, T, rng), n * T) for n in (train, test)]
    return _sequences(parts, PERMUTATION_SYMBOLS, 2, epochs,
                      {"baseline_accuracy": 0.5, "sequence_steps": T})  # fmt: skip
