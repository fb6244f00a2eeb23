"""What every stream hands the session: validated chunks of samples."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

BAD_KINDS = ("malformed", "non_finite", "wrong_width")


@dataclass
class Chunk:
    """Consecutive samples of one phase, all validated and finite.

    ``targets`` rows where ``has_target`` is False are zeros; ``reset`` marks
    steps that start a new sequence (neuron state is zeroed before them);
    ``scored`` marks the steps accuracy is measured on (classification)."""

    inputs: np.ndarray  # (steps, n_inputs) float64
    targets: np.ndarray  # (steps, n_outputs) float64
    has_target: np.ndarray  # (steps,) bool
    reset: np.ndarray  # (steps,) bool
    scored: np.ndarray  # (steps,) bool
    phase: str = "train"  # "train" (learn) or "test" (evaluate only)
    epoch: int = 0

    def __len__(self) -> int:
        return self.inputs.shape[0]


@dataclass
class Stream:
    """Base of all streams. ``chunks(size, skip)`` yields the training chunks
    in order, every epoch; ``skip`` drops the first samples, for a resumed
    run. ``test_chunks(size)`` yields the test part, if there is one."""

    url: str
    n_inputs: int
    n_outputs: int
    loss: str = "mse"
    train_length: int | None = None  # samples per epoch, if known
    epochs: int = 1
    test_length: int = 0
    info: dict = field(default_factory=dict)  # extra facts for the summary
    bad_samples: Counter = field(default_factory=Counter)

    def chunks(self, chunk_size: int, skip: int = 0) -> Iterator[Chunk]:
        """The training samples (every epoch), the first ``skip`` dropped."""
        raise NotImplementedError

    def test_chunks(self, chunk_size: int) -> Iterator[Chunk]:
        """The test part, evaluated after training (none by default)."""
        return iter(())

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass
class ArrayStream(Stream):
    """A stream held in memory: a training part (repeated ``epochs`` times,
    rates reset at the start of each) and an optional test part."""

    train: tuple = ()  # (inputs, targets, has_target, reset, scored)
    test: tuple = ()

    def chunks(self, chunk_size: int, skip: int = 0) -> Iterator[Chunk]:
        parts = [("train", epoch, self.train) for epoch in range(self.epochs)]
        return self._iterate(parts, chunk_size, skip)

    def test_chunks(self, chunk_size: int) -> Iterator[Chunk]:
        return self._iterate([("test", 0, self.test)] if self.test else [], chunk_size, 0)

    def _iterate(self, parts, chunk_size: int, skip: int) -> Iterator[Chunk]:
        for phase, epoch, arrays in parts:
            length = arrays[0].shape[0]
            if skip >= length:
                skip -= length
                continue
            for start in range(skip, length, chunk_size):
                stop = min(start + chunk_size, length)
                inputs, targets, has_target, reset, scored = (a[start:stop] for a in arrays)
                reset = reset.copy()
                if start == 0:
                    reset[0] = True  # every epoch and the test part start afresh
                yield Chunk(inputs, targets, has_target, reset, scored, phase, epoch)
            skip = 0


def sequence_arrays(inputs, targets, has_target=None, reset=None, scored=None) -> tuple:
    """Fill in the defaults of an ArrayStream part: all targets, no resets."""
    steps = inputs.shape[0]
    has_target = np.ones(steps, bool) if has_target is None else has_target
    reset = np.zeros(steps, bool) if reset is None else reset
    scored = has_target.copy() if scored is None else scored
    return (
        np.ascontiguousarray(inputs, dtype=np.float64),
        np.ascontiguousarray(targets, dtype=np.float64),
        has_target,
        reset,
        scored,
    )
