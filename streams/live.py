"""Streams decoded from bytes as they arrive: serial ports and other pyserial
URLs, standard input, text and frame files.

Latency: a sample is handed to the network when its chunk is full or when it
has waited ``max_latency`` seconds, whichever comes first, so the delay from
its last byte arriving to its prediction leaving is at most ``max_latency``
plus one poll of the source (``POLL`` or less) plus the compute time of the
chunk it is in. Faults: a device that goes away (or stays silent for
``silence`` seconds) is reopened with back-off for ``reconnect`` seconds; the
first sample after a reconnect starts a new sequence (neuron state reset).
If it does not come back, the stream ends and ``end_reason`` says why."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from timelocal.runtime.errors import StreamError
from timelocal.streams.base import Chunk, ChunkBuilder, ValidatedStream
from timelocal.streams.sources import ByteSource, SourceLost

POLL = 0.02  # seconds a read waits before deadlines and interrupts are checked
FIRST_RETRY, MAX_RETRY = 0.1, 2.0  # back-off between reconnection attempts, seconds


@dataclass
class DecodedStream(ValidatedStream):
    """A stream of samples decoded from a byte source (``streams/protocol.py``)."""

    source: ByteSource | None = None
    decoder: object = None  # TextDecoder or FrameDecoder
    max_latency: float = 0.02  # seconds a sample may wait for its chunk to fill
    reconnect: float = 0.0  # seconds to keep reopening a lost device
    silence: float | None = None  # seconds without a byte that count as a lost device
    reconnects: int = 0
    end_reason: str | None = None  # set when the stream stopped because it was lost

    def __post_init__(self):
        super().__post_init__()
        self._interrupted = False

    @property
    def live(self) -> bool:
        return not self.source.replayable

    def interrupt(self) -> None:
        """Stop at the next poll (from a signal handler): the samples decoded
        so far are still handed over."""
        self._interrupted = True

    def chunks(self, chunk_size: int, skip: int = 0) -> Iterator[Chunk]:
        """Decoded samples in chunks. ``skip`` drops the first valid samples
        of a replayable source (a file); a live source continues with what
        arrives next."""
        if self.source.replayable:
            self.source.close()  # read it again from the start
        else:
            skip = 0
        builder = ChunkBuilder(self.n_inputs, self.n_outputs, chunk_size)
        oldest = 0.0  # when the first sample in the builder arrived
        last_byte = time.monotonic()
        new_sequence = False
        try:
            while not self._interrupted:
                wait = POLL
                if builder.count:
                    wait = max(0.0, min(wait, oldest + self.max_latency - time.monotonic()))
                try:
                    data = self.source.read(wait)
                    if data is None:  # end of stream
                        samples = self.decoder.feed(b"", final=True)
                    elif not data and self.silence and time.monotonic() - last_byte > self.silence:
                        raise SourceLost(f"no data for {self.silence:g} s")
                    else:
                        samples = self.decoder.feed(data) if data else ()
                except SourceLost as lost:
                    if not self._recover(str(lost)):
                        break
                    new_sequence, last_byte = True, time.monotonic()
                    continue
                now = time.monotonic()
                if data:
                    last_byte = now
                for sample in samples:
                    if skip:
                        skip -= 1
                        continue
                    if not builder.count:
                        oldest = now
                    if builder.add(sample.inputs, sample.targets, reset=new_sequence):
                        yield builder.take()
                    new_sequence = False
                if data is None:
                    break
                if builder.count and now - oldest >= self.max_latency:
                    yield builder.take()
            if builder.count:
                yield builder.take()
        finally:
            self.flush_warnings()

    def _recover(self, why: str) -> bool:
        """Reopen a lost source with back-off; False if it did not come back."""
        self.source.close()
        if not self.reconnect:
            self.end_reason = f"{self.url}: {why}"
            return False
        self.warn(f"{self.url}: {why}; reconnecting for up to {self.reconnect:g} s")
        lost_at = time.monotonic()
        delay = FIRST_RETRY
        while not self._interrupted:
            try:
                self.source.open()
            except (SourceLost, StreamError) as exc:
                problem = str(exc)
            else:
                self.reconnects += 1
                self.decoder.restart()
                self.warn(f"{self.url}: reconnected after {time.monotonic() - lost_at:.1f} s")
                return True
            if time.monotonic() + delay - lost_at > self.reconnect:
                break
            _sleep_unless(delay, lambda: self._interrupted)
            delay = min(2 * delay, MAX_RETRY)
        self.end_reason = (
            f"{self.url}: {why}; not back after {self.reconnect:g} s ({problem})"
            if not self._interrupted
            else f"{self.url}: {why}; interrupted while reconnecting"
        )
        return False

    def close(self) -> None:
        self.source.close()


def _sleep_unless(seconds: float, stop) -> None:
    end = time.monotonic() + seconds
    while not stop() and time.monotonic() < end:
        time.sleep(min(0.05, max(0.0, end - time.monotonic())))
