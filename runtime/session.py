"""The session loop: pull chunks from a stream, hand them to the network's
target, keep the metrics, write checkpoints, evaluate the test part.

Python runs once per chunk, never per time step. Chunks are cut at metric and
checkpoint boundaries, and results do not depend on where chunks are cut
(every kernel step is keyed by the step count), so a resumed run continues
exactly where the checkpoint left it."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from timelocal.runtime.errors import TimelocalError
from timelocal.runtime.metrics import MetricsWriter, decorrelation_loss
from timelocal.runtime.network import Network
from timelocal.streams.base import BAD_KINDS, Chunk, Stream

RECENT_STEPS = 1000  # train_loss window for streams without epochs


@dataclass
class RunOptions:
    steps: int | None = None  # total training steps, counting those before a resume
    chunk_size: int = 1000
    metrics_path: str | None = None
    metrics_every: int = 1000
    checkpoint_path: str | None = None
    checkpoint_every: int | None = None  # steps between periodic checkpoints
    checkpoint_every_s: float | None = None  # seconds between periodic checkpoints
    evaluate: bool = True  # run the stream's test part after training
    predictions: object = None  # a PredictionWriter: per-step outputs, flushed per chunk


@dataclass
class Progress:
    done: int  # training steps so far
    total: int | None
    loss: float  # mean loss of the current epoch so far (or of recent steps)
    phase: str


class _SequenceScore:
    """Share of sequences (runs of steps from one reset to the next) whose
    every scored step is right: seed 004's accuracy of a sequence task."""

    def __init__(self) -> None:
        self.count = 0  # finished sequences with a scored step
        self.right = 0
        self.open_scored = False  # the current sequence so far
        self.open_right = True

    def add(self, reset: np.ndarray, mask: np.ndarray, right: np.ndarray) -> None:
        """One chunk: its reset flags, scored steps and whether each scored step was right."""
        steps = np.flatnonzero(mask)
        wrong_at = steps[~right]
        starts = np.flatnonzero(reset)
        bounds = [0, *starts.tolist(), len(reset)]
        for k in range(len(bounds) - 1):
            lo, hi = bounds[k], bounds[k + 1]
            if k > 0:
                self._close()
            if hi <= lo:
                continue
            in_run = np.searchsorted(steps, [lo, hi])
            if in_run[1] > in_run[0]:
                self.open_scored = True
                wrong = np.searchsorted(wrong_at, [lo, hi])
                self.open_right &= bool(wrong[1] == wrong[0])

    def _close(self) -> None:
        if self.open_scored:
            self.count += 1
            self.right += int(self.open_right)
        self.open_scored, self.open_right = False, True

    def finish(self) -> None:
        """The end of the part ends the last sequence."""
        self._close()

    @property
    def accuracy(self) -> float:
        return self.right / self.count if self.count else float("nan")


class _Mean:
    """Running sum and count of finite values."""

    def __init__(self, total: float = 0.0, count: int = 0):
        self.total, self.count = total, count

    def add(self, values: np.ndarray) -> None:
        finite = values[~np.isnan(values)]
        self.total += float(finite.sum())
        self.count += int(finite.size)

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else float("nan")


def _cut(chunk: Chunk, stop: int) -> tuple[Chunk, Chunk | None]:
    """Split a chunk after ``stop`` steps."""
    if stop >= len(chunk):
        return chunk, None
    fields = ("inputs", "targets", "has_target", "reset", "scored")
    head = Chunk(*(getattr(chunk, f)[:stop] for f in fields), chunk.phase, chunk.epoch)
    tail = Chunk(*(getattr(chunk, f)[stop:] for f in fields), chunk.phase, chunk.epoch)
    return head, tail


class Session:
    """One run of a network over a stream (``run()`` returns the summary)."""

    def __init__(
        self,
        network: Network,
        stream: Stream,
        options: RunOptions | None = None,
        *,
        resume_meta: dict | None = None,
        progress: Callable[[Progress], None] | None = None,
    ):
        self.network = network
        self.stream = stream
        self.options = options or RunOptions()
        self.progress = progress
        self._stop_requested = False
        meta = resume_meta or {}
        self.position = int(meta.get("position", 0))
        self.epoch = int(meta.get("epoch", 0))
        self.epoch_loss = _Mean(*meta.get("epoch_loss", (0.0, 0)))
        self.first_loss = meta.get("first_loss")
        self.bad_before = dict(meta.get("bad_samples", {}))
        self.recent: deque = deque()
        self.learn_seconds = 0.0
        self.trained_now = 0
        self.interval_loss = _Mean()
        self.interval_rates: list[np.ndarray] = []
        self.loss_running = meta.get("loss_running")
        self.interrupted = False
        self.metrics = None
        self.last_checkpoint = time.monotonic()

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    @stop_requested.setter
    def stop_requested(self, value: bool) -> None:
        """Set from a signal handler: stop after the current chunk (a stream
        waiting for data stops waiting)."""
        self._stop_requested = value
        if value:
            self.stream.interrupt()

    # -- the loop ------------------------------------------------------------
    def run(self) -> dict:
        opts = self.options
        started = time.perf_counter()
        if opts.metrics_path:
            self.metrics = MetricsWriter(opts.metrics_path)
        try:
            try:
                self._train(started)
            except TimelocalError:
                # A stream error comes between chunks, when state and position
                # agree: keep what was learned. (Not for any exception: one
                # raised right after a chunk ran would save a half-counted state.)
                if opts.checkpoint_path and self.trained_now:
                    self._checkpoint()
                raise
            if opts.checkpoint_path:
                self._checkpoint()
            test = None
            if opts.evaluate and not self.stop_requested:
                test = self._test(started)
        finally:
            if self.metrics is not None:
                self.metrics.close()
        return self._summary(test, time.perf_counter() - started)

    def _train(self, started: float) -> None:
        opts = self.options
        budget = None if opts.steps is None else opts.steps - self.position
        if budget is not None and budget <= 0:
            return
        for chunk in self.stream.chunks(opts.chunk_size, skip=self.position):
            while chunk is not None:
                stop = len(chunk)
                if budget is not None:
                    stop = min(stop, budget - self.trained_now)
                for every in (opts.metrics_every if self.metrics else None, opts.checkpoint_every):
                    if every:
                        stop = min(stop, every - self.position % every)
                piece, chunk = _cut(chunk, stop)
                self._learn(piece, started)
                if budget is not None and self.trained_now >= budget:
                    return
            if self.stop_requested:
                break
        self.interrupted = self.stop_requested

    def _learn(self, piece: Chunk, started: float) -> None:
        opts = self.options
        if piece.epoch != self.epoch:
            self._end_epoch()
            self.epoch = piece.epoch
        record = self.metrics is not None
        tick = time.perf_counter()
        outputs, loss, rates = self.network.target.run_chunk(
            piece.inputs, piece.targets, piece.has_target, piece.reset,
            learn=True, record_rates=record,
        )  # fmt: skip
        self.learn_seconds += time.perf_counter() - tick
        if opts.predictions is not None:
            opts.predictions.write(self.position, "train", outputs)
        steps = len(piece)
        self.position += steps
        self.trained_now += steps
        self.epoch_loss.add(loss)
        self._remember_recent(loss)
        if record:
            self.interval_loss.add(loss)
            self.interval_rates.append(rates)
            if self.position % opts.metrics_every == 0:
                self._write_train_record(started)
        if opts.checkpoint_path and (
            (opts.checkpoint_every and self.position % opts.checkpoint_every == 0)
            or (opts.checkpoint_every_s
                and time.monotonic() - self.last_checkpoint >= opts.checkpoint_every_s)
        ):  # fmt: skip
            self._checkpoint()
        if self.progress is not None:
            self.progress(Progress(self.position, opts.steps or self._planned(),
                                   self._current_loss(), "train"))  # fmt: skip

    def _test(self, started: float) -> dict | None:
        loss = _Mean()
        correct = scored = 0
        sequences = _SequenceScore()
        target_sum = target_sq = None
        steps = 0
        for chunk in self.stream.test_chunks(self.options.chunk_size):
            outputs, step_loss, _ = self.network.target.run_chunk(
                chunk.inputs, chunk.targets, chunk.has_target, chunk.reset, learn=False
            )
            if self.options.predictions is not None:
                self.options.predictions.write(steps, "test", outputs)
            loss.add(step_loss)
            steps += len(chunk)
            used = chunk.targets[chunk.has_target]
            if target_sum is None:
                target_sum, target_sq = np.zeros(used.shape[1]), np.zeros(used.shape[1])
            target_sum += used.sum(axis=0)
            target_sq += (used * used).sum(axis=0)
            mask = chunk.scored & chunk.has_target
            right = outputs[mask].argmax(1) == chunk.targets[mask].argmax(1)
            correct += int(right.sum())
            scored += int(mask.sum())
            sequences.add(chunk.reset, mask, right)
            if self.stop_requested:
                self.interrupted = True
                break
        if not steps:
            return None
        sequences.finish()
        result = {"test_loss": loss.mean, "test_steps": steps}
        classification = self.network.spec.loss != "mse" or self.stream.info.get("classification")
        if classification and scored:
            result["test_accuracy"] = correct / scored
            if sequences.count > 1:
                result["test_sequence_accuracy"] = sequences.accuracy
        elif self.network.spec.loss == "mse" and loss.count:
            variance = target_sq / loss.count - (target_sum / loss.count) ** 2
            result["test_nrmse"] = math.sqrt(loss.mean / max(float(variance.sum()), 1e-300))
        if self.metrics is not None:
            self.metrics.write({"step": self.position, "phase": "test", "epoch": self.epoch,
                                "loss": loss.mean,
                                "elapsed_s": time.perf_counter() - started})  # fmt: skip
        return result

    # -- bookkeeping ---------------------------------------------------------
    def _planned(self) -> int | None:
        if self.stream.train_length is None:
            return None
        return self.stream.train_length * self.stream.epochs

    def _end_epoch(self) -> None:
        if self.first_loss is None:
            self.first_loss = self.epoch_loss.mean
        self.epoch_loss = _Mean()

    def _remember_recent(self, loss: np.ndarray) -> None:
        self.recent.append(loss)
        while sum(len(x) for x in self.recent) - len(self.recent[0]) >= RECENT_STEPS:
            self.recent.popleft()

    def _current_loss(self) -> float:
        if self.stream.train_length is not None:
            return self.epoch_loss.mean
        recent = _Mean()
        for loss in self.recent:
            recent.add(loss)
        return recent.mean

    def _bad_samples(self) -> dict:
        total = dict(self.bad_before)
        for kind, count in self.stream.bad_samples.items():
            total[kind] = total.get(kind, 0) + count
        return total

    def _write_train_record(self, started: float) -> None:
        rates = np.concatenate(self.interval_rates) if self.interval_rates else np.zeros((0, 0))
        mean = self.interval_loss.mean
        if not math.isnan(mean):
            self.loss_running = (
                mean if self.loss_running is None else 0.9 * self.loss_running + 0.1 * mean
            )
        bad = self._bad_samples()
        self.metrics.write(
            {
                **{f"bad_{kind}": bad.get(kind, 0) for kind in BAD_KINDS},
                **{f"saturated_{k}": v for k, v in self.network.saturations.items()},
                "reconnects": self.stream.reconnects,
                "step": self.position,
                "phase": "train",
                "epoch": self.epoch,
                "loss": mean,
                "loss_running": self.loss_running,
                "decorrelation_loss": decorrelation_loss(rates),
                "steps_per_s": self.trained_now / self.learn_seconds
                if self.learn_seconds
                else None,
                "bad_samples": sum(bad.values()),
                "anp_skipped": self.network.anp_skipped,
                "elapsed_s": time.perf_counter() - started,
            }
        )
        self.interval_loss = _Mean()
        self.interval_rates = []

    def _checkpoint(self) -> None:
        self.last_checkpoint = time.monotonic()
        self.network.save(
            self.options.checkpoint_path,
            meta={
                "position": self.position,
                "epoch": self.epoch,
                "epoch_loss": [self.epoch_loss.total, self.epoch_loss.count],
                "first_loss": self.first_loss,
                "loss_running": self.loss_running,
                "bad_samples": self._bad_samples(),
                "stream": self.stream.url,
            },
        )

    def _summary(self, test: dict | None, elapsed: float) -> dict:
        spec = self.network.spec
        bad = self._bad_samples()
        summary = {
            "rule": spec.rule,
            "decorrelate": spec.decorrelate,
            "name": spec.name,
            "target": self.network.target.name,
            "precision": spec.precision,
            "hidden": spec.n_hidden,
            "stream": self.stream.url,
            "steps": self.position,
            "steps_this_run": self.trained_now,
            "epoch": self.epoch,
            "train_loss": self._current_loss(),
            "train_loss_first": self.first_loss
            if self.first_loss is not None
            else self._current_loss(),  # fmt: skip
            "test_loss": None,
            "steps_per_s": self.trained_now / self.learn_seconds if self.learn_seconds else None,
            "elapsed_s": elapsed,
            "bad_samples": sum(bad.values()),
            "bad_samples_by_kind": bad,
            "anp_skipped": self.network.anp_skipped,
            "saturations": self.network.saturations,
            "interrupted": self.interrupted,
            "reconnects": self.stream.reconnects,
            "stream_end": self.stream.end_reason,
        }
        if test:
            summary.update(test)
        for key, value in self.stream.info.items():
            if key.startswith("baseline"):
                summary[key] = value
        if self.options.checkpoint_path:
            summary["checkpoint"] = str(self.options.checkpoint_path)
        return summary
