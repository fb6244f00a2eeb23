"""What every stream hands the session: validated chunks of samples."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
from timelocal.runtime.errors import BadSampleError, StreamError

# What bad_samples counts, by kind: samples rejected (the first four) and
# discontinuities of the stream (a jump in a frame's sequence number or in a
# line's timestamp).
BAD_KINDS = ("malformed", "non_finite", "wrong_width", "crc_error", "gap")
POLICIES = ("skip", "stop")
WARN_INTERVAL = 1.0  # seconds between warnings about bad input


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

    def interrupt(self) -> None:
        """Stop soon (called from a signal handler); streams that may block
        waiting for data override it."""

    live = False  # samples arrive as they happen (a device, stdin): never skipped on resume
    end_reason = None  # why the stream stopped early (a lost device), if it did
    reconnects = 0

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


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class ValidatedStream(Stream):
    """A stream that validates samples one by one: bad ones are counted and
    skipped (policy ``skip``) or stop the run (``stop``; a gap never stops
    it). Warnings go to ``warn_to`` at most once a second, not per sample."""

    on_bad_input: str = "skip"
    bad_lines: list = field(default_factory=list)  # (where, kind, message), the first few
    warn_to: Callable[[str], None] | None = _stderr

    def __post_init__(self):
        self._unreported: Counter = Counter()
        self._latest = ""
        self._last_warning = -WARN_INTERVAL

    def reject(self, where: str, error: BadSampleError) -> None:
        if self.on_bad_input == "stop" and error.kind != "gap":
            raise StreamError(f"{self.url}: {where}: {error} (--on-bad-input stop)")
        self.bad_samples[error.kind] += 1
        if len(self.bad_lines) < 20:
            self.bad_lines.append((where, error.kind, str(error)))
        self._unreported[error.kind] += 1
        self._latest = f"{where}: {error}"
        if time.monotonic() - self._last_warning >= WARN_INTERVAL:
            self.flush_warnings()

    def flush_warnings(self) -> None:
        """Report the bad samples not reported yet (one line)."""
        if not self._unreported:
            return
        total = sum(self._unreported.values())
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self._unreported.items()))
        self.warn(f"{self.url}: {total} bad sample{'s' * (total != 1)} ({kinds}); "
                  f"latest: {self._latest}")  # fmt: skip
        self._unreported.clear()
        self._last_warning = time.monotonic()

    def warn(self, message: str) -> None:
        if self.warn_to is not None:
            self.warn_to(f"warning: {message}")


class ChunkBuilder:
    """Collects validated samples and emits them as chunks."""

    def __init__(self, n_inputs: int, n_outputs: int, chunk_size: int):
        self.inputs = np.zeros((chunk_size, n_inputs))
        self.targets = np.zeros((chunk_size, n_outputs))
        self.has_target = np.zeros(chunk_size, bool)
        self.reset = np.zeros(chunk_size, bool)
        self.count = 0

    def add(self, inputs, targets, reset: bool = False) -> bool:
        """Add a sample (targets None: no target); True when the chunk is full."""
        k = self.count
        self.inputs[k] = inputs
        self.has_target[k] = targets is not None
        self.targets[k] = 0.0 if targets is None else targets
        self.reset[k] = reset
        self.count += 1
        return self.count == self.inputs.shape[0]

    def take(self) -> Chunk:
        k = self.count
        self.count = 0
        has_target = self.has_target[:k].copy()
        return Chunk(
            self.inputs[:k].copy(), self.targets[:k].copy(), has_target,
            self.reset[:k].copy(), has_target.copy(),
        )  # fmt: skip
