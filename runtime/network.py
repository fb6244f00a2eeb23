"""The Python API: a learning network that takes chunks of samples, in
river's streaming style. The CLI is a thin layer over this.

    >>> net = Network(NetworkSpec("anp", n_inputs=1, n_outputs=1, decorrelate=True))
    >>> result = net.learn(inputs, targets)      # per-step outputs and losses
    >>> result = net.predict(test_inputs)        # no learning
    >>> net.save("net.npz"); net = Network.load("net.npz")
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from timelocal.kernels import codes
from timelocal.runtime.checkpoint import load_checkpoint, save_checkpoint
from timelocal.runtime.errors import TimelocalError
from timelocal.runtime.spec import NetworkSpec
from timelocal.runtime.state import check_state, initial_state, weights
from timelocal.targets.host import host_target


def _lava_target(spec, state):
    # Imported on use: the core works without Lava (and on newer Pythons).
    from timelocal.targets.lava.target import LavaTarget

    return LavaTarget(spec, state)


TARGETS = {"host": host_target, "lava": _lava_target}


@dataclass
class StepResult:
    """Per-step results of a chunk: ``outputs`` (steps x n_outputs) and
    ``loss`` (steps,), NaN on steps without a target."""

    outputs: np.ndarray
    loss: np.ndarray
    rates: np.ndarray | None = None

    @property
    def mean_loss(self) -> float:
        finite = self.loss[~np.isnan(self.loss)]
        return float(finite.mean()) if finite.size else float("nan")


class Network:
    """A recurrent network that learns online with one rule on one target."""

    def __init__(self, spec: NetworkSpec, *, target: str = "host", state: dict | None = None):
        if target not in TARGETS:
            raise TimelocalError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
        self.spec = spec
        self.state = initial_state(spec) if state is None else state
        check_state(spec, self.state)
        self.target = TARGETS[target](spec, self.state)

    # -- streaming ---------------------------------------------------------
    def learn(self, inputs, targets=None, *, reset=None, record_rates=False) -> StepResult:
        """Learn from a chunk: ``inputs`` (steps x n_inputs), ``targets``
        (steps x n_outputs; a row of NaN, or None for all, means no target at
        that step: the network runs forward and learns only D)."""
        return self._run(inputs, targets, reset, learn=True, record_rates=record_rates)

    def predict(self, inputs, targets=None, *, reset=None, record_rates=False) -> StepResult:
        """Run forward without learning (the clean pass only); with targets,
        the losses are reported too."""
        return self._run(inputs, targets, reset, learn=False, record_rates=record_rates)

    def reset_state(self) -> None:
        """Zero the neurons' rates (both copies): the start of a new sequence."""
        if hasattr(self.target, "reset_rates"):
            self.target.reset_rates()
            return
        self.state["drates"][:] = 0.0
        if "noisy_drates" in self.state:
            self.state["noisy_drates"][:] = 0.0

    def sync(self) -> None:
        """Bring ``state`` up to date with the target (Lava: read its Vars)."""
        if hasattr(self.target, "sync_state"):
            self.target.sync_state()

    def close(self) -> None:
        """Release the target (Lava: read the state back, stop the runtime)."""
        if hasattr(self.target, "close"):
            self.target.close()

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- inspection --------------------------------------------------------
    @property
    def weights(self) -> dict[str, np.ndarray]:
        """Named views A, R, B, b, c of the learned weights (writable on the
        host; a snapshot on Lava, whose Vars hold the live weights)."""
        self.sync()
        return weights(self.spec, self.state["params"])

    @property
    def real_weights(self) -> dict[str, np.ndarray]:
        """The learned weights as real numbers (copies): in fixed point each
        matrix's integers times 2^-(its fraction bits); in float, ``weights``."""
        self.sync()
        fracs = self.state["weight_fracs"]
        views = weights(self.spec, self.state["params"])
        return {name: view.astype(np.float64) * 2.0 ** -int(fracs[k])
                for k, (name, view) in enumerate(views.items())}  # fmt: skip

    @property
    def steps_trained(self) -> int:
        return int(self.state["counters"][codes.C_STEP])

    @property
    def anp_skipped(self) -> int:
        c = self.state["counters"]
        return int(c[codes.C_SKIP_HIDDEN] + c[codes.C_SKIP_OUTPUT])

    @property
    def saturations(self) -> dict[str, int]:
        """Fixed point: stores that saturated, per quantity class (zero in float)."""
        c = self.state["counters"]
        return {
            "weights": int(c[codes.C_SAT_WEIGHTS]),
            "states": int(c[codes.C_SAT_STATES]),
            "errors": int(c[codes.C_SAT_ERRORS]),
            "signals": int(c[codes.C_SAT_SIGNALS]),
        }

    def averaged(self, *, target: str = "host") -> Network:
        """A copy of this network whose weights are its moving average
        (``-p average``, TPTT, LRA and GLE), without averaging of its own: to
        deploy the averaged weights, on Lava (``target="lava"``) too, or to
        learn on from them. Neurons, window and counters are copied as they are."""
        self.sync()
        if not len(self.state.get("average", ())):
            raise TimelocalError("this network keeps no moving average of its weights "
                                 "(-p average=N, TPTT, LRA and GLE)")  # fmt: skip
        return self._without_average(target, weights="average")

    def unaveraged(self, *, target: str = "host") -> Network:
        """A copy of this network on its own last weights, the ones learning
        goes on from, without averaging: to compare them with ``averaged()``
        or to deploy them. For a network without an average, a plain copy."""
        self.sync()
        return self._without_average(target, weights="params")

    def _without_average(self, target: str, weights: str) -> Network:
        params = {name: value for name, value in self.spec.params.items() if name != "average"}
        spec = dataclasses.replace(self.spec, params=params)
        state = {name: np.copy(value) for name, value in self.state.items()}
        state["params"] = state.pop(weights)
        if "average" in self.state:  # the rules without an average keep no such array
            state["average"] = np.zeros(0, state["params"].dtype)
        return Network(spec, target=target, state=state)

    def retuned(self, *, target: str = "host", **params) -> Network:
        """A copy of this network that learns on with other learning rates
        or another rate schedule (``NetworkSpec.retuned``), e.g.
        ``net.retuned(learning_rate=1e-6)``; the weights, neurons, optimiser
        moments and counters are copied as they are."""
        self.sync()
        spec = self.spec.retuned(params)
        state = {name: np.copy(value) for name, value in self.state.items()}
        return Network(spec, target=target, state=state)

    # -- persistence -------------------------------------------------------
    def save(self, path, meta: dict | None = None):
        """Write a checkpoint atomically; ``meta`` is stored beside the state."""
        self.sync()
        return save_checkpoint(path, self.spec, self.state, meta)

    @classmethod
    def load(cls, path, *, target: str = "host", params: dict | None = None) -> Network:
        """The network of a checkpoint; ``params`` changes its learning rates
        or their schedule from here on (``NetworkSpec.retuned``: e.g.
        ``{"learning_rate": 1e-6}``). ``checkpoint_spec`` is the spec as
        saved, ``checkpoint_meta`` what was stored beside it."""
        saved, state, meta = load_checkpoint(path)
        spec = saved.retuned(params) if params else saved
        network = cls(spec, target=target, state=state)
        network.checkpoint_spec, network.checkpoint_meta = saved, meta
        return network

    # -- internals ---------------------------------------------------------
    def _run(self, inputs, targets, reset, *, learn, record_rates) -> StepResult:
        x, y, has_target, rst = self._validate(inputs, targets, reset)
        outputs, loss, rates = self.target.run_chunk(
            x, y, has_target, rst, learn=learn, record_rates=record_rates
        )
        return StepResult(outputs, loss, rates)

    def _validate(self, inputs, targets, reset):
        spec = self.spec
        x = np.ascontiguousarray(inputs, dtype=np.float64)
        if x.ndim == 1 and spec.n_inputs == 1:
            x = x.reshape(-1, 1)
        if x.ndim != 2 or x.shape[1] != spec.n_inputs:
            raise TimelocalError(
                f"inputs must have shape (steps, {spec.n_inputs}), got {np.shape(inputs)}"
            )
        steps = x.shape[0]
        if not np.isfinite(x).all():
            bad = int(np.argwhere(~np.isfinite(x))[0, 0])
            raise TimelocalError(f"inputs hold a non-finite value at step {bad}")
        if targets is None:
            y = np.zeros((steps, spec.n_outputs))
            has_target = np.zeros(steps, dtype=np.bool_)
        else:
            y = np.array(targets, dtype=np.float64, order="C")
            if y.ndim == 1 and spec.n_outputs == 1:
                y = y.reshape(-1, 1)
            if y.shape != (steps, spec.n_outputs):
                raise TimelocalError(
                    f"targets must have shape ({steps}, {spec.n_outputs}), got {np.shape(targets)}"
                )
            missing = np.isnan(y)
            has_target = ~missing.all(axis=1)
            partial = missing.any(axis=1) & has_target
            if partial.any() or np.isinf(y).any():
                bad = int(np.flatnonzero(partial | np.isinf(y).any(axis=1))[0])
                raise TimelocalError(
                    f"targets at step {bad} are partly missing or infinite "
                    "(a step has all targets or none: a row of NaN)"
                )
            y[~has_target] = 0.0
        if reset is None:
            rst = np.zeros(steps, dtype=np.bool_)
        else:
            rst = np.ascontiguousarray(reset, dtype=np.bool_)
            if rst.shape != (steps,):
                raise TimelocalError(f"reset must have shape ({steps},), got {np.shape(reset)}")
        return x, y, has_target, rst
