"""Metrics records, written as JSON lines (or CSV, by the file's suffix)
every N training steps and once for the test part."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
from timelocal.kernels.decorrelation import mean_squared_offdiagonal
from timelocal.runtime.errors import TimelocalError
from timelocal.streams.base import BAD_KINDS

SATURATION_CLASSES = ("weights", "states", "errors", "signals")
FIELDS = (
    "step",
    "phase",
    "epoch",
    "loss",
    "loss_running",
    "decorrelation_loss",
    "steps_per_s",
    "bad_samples",
    *(f"bad_{kind}" for kind in BAD_KINDS),
    "reconnects",
    "anp_skipped",
    *(f"saturated_{name}" for name in SATURATION_CLASSES),
    "elapsed_s",
)
MAX_DECORRELATION_UNITS = 256


def decorrelation_loss(rates: np.ndarray) -> float:
    """Mean squared off-diagonal correlation of x* over the rows of ``rates``
    (the first 256 units at most, to keep the cost per record bounded)."""
    rates = rates[:, :MAX_DECORRELATION_UNITS]
    if rates.shape[0] < 2 or rates.shape[1] < 2:
        return float("nan")
    centred = rates - rates.mean(axis=0)
    scale = np.sqrt((centred * centred).sum(axis=0))
    scale[scale == 0.0] = np.inf  # a silent unit is uncorrelated with every other
    normed = centred / scale
    return float(mean_squared_offdiagonal(np.ascontiguousarray(normed.T @ normed)))


class MetricsWriter:
    """Appends one record per call; the file is flushed every record."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.path, "a", encoding="utf-8", newline="")
        except OSError as exc:
            raise TimelocalError(f"cannot write metrics to {path}: {exc.strerror}") from None
        self.csv = None
        if self.path.suffix.lower() == ".csv":
            self.csv = csv.DictWriter(self.handle, fieldnames=FIELDS, extrasaction="ignore")
            if self.handle.tell() == 0:
                self.csv.writeheader()

    def write(self, record: dict) -> None:
        clean = {k: _plain(v) for k, v in record.items()}
        if self.csv is not None:
            self.csv.writerow(clean)
        else:
            self.handle.write(json.dumps(clean) + "\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


def _plain(value):
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


class PredictionWriter:
    """The per-step outputs as CSV lines ``step,phase,y_1,...,y_m``, written
    as they are produced and flushed after every chunk (so the network can
    drive something). ``step`` counts training steps (or test steps)."""

    def __init__(self, path, n_outputs: int):
        if str(path) == "-":
            self.handle, self.owned = sys.stdout, False
        else:
            try:
                self.handle, self.owned = open(path, "w", encoding="utf-8", newline=""), True
            except OSError as exc:
                raise TimelocalError(
                    f"cannot write predictions to {path}: {exc.strerror}"
                ) from None
        names = ",".join(f"y_{i + 1}" for i in range(n_outputs))
        self.handle.write(f"step,phase,{names}\n")

    def write(self, first_step: int, phase: str, outputs: np.ndarray) -> None:
        rows = [
            f"{first_step + k},{phase}," + ",".join(repr(float(v)) for v in row)
            for k, row in enumerate(outputs)
        ]
        if rows:
            self.handle.write("\n".join(rows) + "\n")
        self.handle.flush()

    def close(self) -> None:
        if self.owned:
            self.handle.close()
