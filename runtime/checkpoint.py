"""Checkpoints: the spec, every state array and the run's position, in one
``.npz`` file written atomically (temp file, fsync, rename, fsync of the
directory), so a crash leaves either the old checkpoint or the new one."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from timelocal.runtime.errors import CheckpointError, SpecError
from timelocal.runtime.spec import NetworkSpec
from timelocal.runtime.state import check_state, state_layout

FORMAT = "timelocal-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(path, spec: NetworkSpec, state: dict, meta: dict | None = None) -> Path:
    """Write spec, state (walked through ``state_layout``) and ``meta``."""
    path = Path(path)
    header = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "spec": spec.to_dict(),
        "meta": meta or {},
    }
    arrays = {f"state/{a.name}": state[a.name] for a in state_layout(spec)}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise CheckpointError(f"cannot write checkpoint {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(path) -> tuple[NetworkSpec, dict, dict]:
    """Read a checkpoint: (spec, state arrays, meta). Errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(bytes(data["header"]).decode())
            state = {
                key.removeprefix("state/"): data[key].copy()
                for key in data.files
                if key.startswith("state/")
            }
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is not a readable timelocal checkpoint ({exc})") from None
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a timelocal checkpoint")
    if header.get("version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {header.get('version')}, "
            f"this timelocal reads version {FORMAT_VERSION}"
        )
    try:
        spec = NetworkSpec.from_dict(header["spec"])
        # Files written before the layout gained an array lack it; if it is
        # empty here, its feature is off and the file is whole (GLE's average).
        for array in state_layout(spec):
            if array.name not in state and 0 in array.shape:
                state[array.name] = np.zeros(array.shape, array.dtype)
        check_state(spec, state)
    except (SpecError, ValueError) as exc:
        raise CheckpointError(f"{path} is inconsistent: {exc}") from None
    return spec, state, header.get("meta", {})
