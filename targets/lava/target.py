"""The Lava target: the network as Lava processes (targets/lava/process.py)
on Lava's CPU simulator, standing for a Loihi-class chip.

The host hands the graph whole chunks through the bridge's external pipes,
runs Lava for that many steps, and gets the chunk's results back in one
message. The layers' Vars are the network's state; ``sync_state`` reads them
back into timelocal's state arrays (for checkpoints and inspection), and a
network starts on Lava from any state, e.g. a checkpoint made on the host.
The Lava runtime is stopped by ``close`` (also on errors: callers use
``with`` or try/finally; an atexit hook is the last resort).
"""

from __future__ import annotations

import os
import signal
import threading
import weakref

import numpy as np
from timelocal.kernels import codes
from timelocal.kernels.gle import layer_geometry, layer_reset
from timelocal.runtime.errors import SpecError, TimelocalError
from timelocal.runtime.spec import PERTURBATION_RULES, TARGET_RULES, NetworkSpec
from timelocal.runtime.state import weights

try:
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from timelocal.targets.lava.process import (
        GLELayer,
        HiddenLayer,
        Readout,
        StreamBridge,
        TargetHidden,
        TargetReadout,
    )
except ImportError as error:  # pragma: no cover - only without the lava extra
    raise TimelocalError(
        "the lava target needs lava-nc 0.10.0 on Python 3.10: "
        "pip install 'timelocal[lava]' (make install does)"
    ) from error

BROKEN = (
    "the Lava run was interrupted inside a chunk, so its Vars stand somewhere inside it: "
    "the state is the one of the last sync (save, sync or the end of a with block)"
)

# Steps per chunk message (the bridge's pipes are sized for this many).
CHUNK_STEPS = 1000
HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)

HIDDEN_MOMENTS = ("A", "R", "b")
READOUT_MOMENTS = ("B", "c")


def check_supported(spec: NetworkSpec) -> None:
    """Raise SpecError unless ``spec`` runs on Lava."""
    if spec.rule not in PERTURBATION_RULES + ("gle",) + TARGET_RULES:
        raise SpecError(
            f"the lava target runs the time-local rules ({', '.join(PERTURBATION_RULES)}, gle, "
            f"{', '.join(TARGET_RULES)}); {spec.rule} is host only"
        )
    if spec.hyper("average") > 0:
        raise SpecError(
            "the lava target keeps no moving average of the weights; drop average, or run "
            "the averaged weights of a host network with Network.averaged(target='lava')"
        )
    if spec.rule == "gle" and spec.hyper("optimizer") == "adam":
        raise SpecError(
            "the lava target runs GLE with its own neuron-local SGD rule; use -p optimizer=sgd "
            "(Adam's moments for GLE are a host feature)"
        )
    if spec.numeric.float_dtype == "float32":
        raise SpecError(
            "the lava target runs float64 (floating_pt) or fixed point (fixed_pt); "
            "use --precision float64 or a fixed-point precision"
        )


def layer_arrays(spec: NetworkSpec, state: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """The initial Vars of the hidden layer and of the readout, from the
    state arrays (copies, in the models' storage types)."""
    fixed = spec.numeric.fixed
    store = np.int64 if fixed else np.float64
    w = weights(spec, state["params"])
    moments = {}
    adam = state["moment1"].shape[0] > 0
    for k, flat in ((1, state["moment1"]), (2, state["moment2"])):
        views = weights(spec, flat) if adam else None
        for name in HIDDEN_MOMENTS + READOUT_MOMENTS:
            value = views[name] if adam else np.zeros((0,) * w[name].ndim)
            moments[f"moment{k}_{name}"] = np.array(value, dtype=store)
    counters = state["counters"].astype(np.int64)
    readout_counters = np.zeros_like(counters)
    # The readout counts its own skips and saturations; both keep the step.
    readout_counters[codes.C_STEP] = counters[codes.C_STEP]
    readout_counters[codes.C_UPDATES] = counters[codes.C_UPDATES]
    fracs = state["weight_fracs"].astype(np.int64)
    hidden = {
        "A": np.array(w["A"], dtype=store),
        "R": np.array(w["R"], dtype=store),
        "b": np.array(w["b"], dtype=store),
        "decorrelation": np.array(state["decorrelation"], dtype=store),
        "drates": np.array(state["drates"], dtype=store),
        "noisy_drates": np.array(state["noisy_drates"], dtype=store),
        "moments": _moments_of(moments, HIDDEN_MOMENTS),
        "counters": counters,
        "weight_fracs": fracs,
    }
    readout = {
        "B": np.array(w["B"], dtype=store),
        "c": np.array(w["c"], dtype=store),
        "moments": _moments_of(moments, READOUT_MOMENTS),
        "counters": readout_counters,
        "weight_fracs": fracs.copy(),
    }
    return hidden, readout


def _moment_names(arrays) -> list[str]:
    return [f"moment{k}_{name}" for k in (1, 2) for name in arrays]


def _moments_of(moments: dict, arrays) -> dict:
    return {name: moments[name] for name in _moment_names(arrays)}


def merge_layers(spec: NetworkSpec, state: dict, hidden: dict, readout: dict) -> None:
    """Write the layers' Vars back into the state arrays (inverse of
    ``layer_arrays``): the hidden layer's counters plus the readout's own
    counts (skips of the output layer, saturations)."""
    w = weights(spec, state["params"])
    for name in ("A", "R", "b"):
        w[name][:] = hidden[name]
    for name in ("B", "c"):
        w[name][:] = readout[name]
    for name in ("decorrelation", "drates", "noisy_drates"):
        state[name][:] = hidden[name]
    if state["moment1"].shape[0] > 0:
        for k in (1, 2):
            views = weights(spec, state[f"moment{k}"])
            for name in HIDDEN_MOMENTS:
                views[name][:] = hidden["moments"][f"moment{k}_{name}"]
            for name in READOUT_MOMENTS:
                views[name][:] = readout["moments"][f"moment{k}_{name}"]
    state["counters"][:] = combined_counters(hidden["counters"], readout["counters"])


def combined_counters(first: np.ndarray, *others: np.ndarray) -> np.ndarray:
    """The network's counters: the first layer's (it holds the network's
    counts from before the graph was built), plus what every other layer
    counts itself (skips of the output layer, saturations)."""
    counters = np.array(first, dtype=np.int64)
    for other in others:
        if other[codes.C_STEP] != first[codes.C_STEP]:
            raise TimelocalError(
                f"the Lava layers disagree on the step ({first[codes.C_STEP]} and "
                f"{other[codes.C_STEP]}): the runtime stopped inside a step"
            )
        for index in (codes.C_SKIP_OUTPUT, codes.C_SAT_WEIGHTS, codes.C_SAT_STATES,
                      codes.C_SAT_ERRORS, codes.C_SAT_SIGNALS):  # fmt: skip
            counters[index] += other[index]
    return counters


def own_counters(counters: np.ndarray) -> np.ndarray:
    """A further layer's initial counters: the step and the updates (which
    every layer keeps), no counts of its own yet."""
    own = np.zeros_like(counters, dtype=np.int64)
    own[codes.C_STEP] = counters[codes.C_STEP]
    own[codes.C_UPDATES] = counters[codes.C_UPDATES]
    return own


class PerturbationGraph:
    """The perturbation rules' graph: a hidden layer and a readout."""

    def __init__(self, spec: NetworkSpec, state: dict, bridge) -> None:
        self.spec = spec
        hidden, readout = layer_arrays(spec, state)
        spec_dict = spec.to_dict()
        self.hidden = HiddenLayer(spec=spec_dict, name="hidden", **hidden)
        self.readout = Readout(spec=spec_dict, name="readout", **readout)
        bridge.to_hidden.connect(self.hidden.inputs_in)
        bridge.to_readout.connect(self.readout.targets_in)
        self.hidden.rates_out.connect(self.readout.rates_in)
        self.hidden.real_rates_out.connect(bridge.from_hidden)
        self.readout.results_out.connect(bridge.from_readout)
        self.readout.loss_delta_out.connect(self.hidden.loss_delta_in)

    def counters(self) -> np.ndarray:
        return combined_counters(
            self.hidden.counters.get().astype(np.int64),
            self.readout.counters.get().astype(np.int64),
        )

    def read_state(self, state: dict) -> None:
        """Every Var back into the state arrays."""
        hidden = _read(self.hidden, ("A", "R", "b", "decorrelation", "drates", "noisy_drates",
                                     "counters"))  # fmt: skip
        hidden["moments"] = _read(self.hidden, _moment_names(HIDDEN_MOMENTS))
        readout = _read(self.readout, ("B", "c", "counters"))
        readout["moments"] = _read(self.readout, _moment_names(READOUT_MOMENTS))
        merge_layers(self.spec, state, hidden, readout)

    def reset_state(self, state: dict) -> None:
        """Zero both copies' rates in the state arrays."""
        for name in ("drates", "noisy_drates"):
            state[name][:] = 0


# GLE's per-neuron state arrays, sliced per layer into each layer's Vars.
GLE_NEURON_ARRAYS = ("tau_m", "tau_r", "potentials", "error_traces", "rates", "slopes", "errors")


class GLEGraph:
    """GLE's graph: one GLELayer process per layer (targets/lava/process.py)."""

    def __init__(self, spec: NetworkSpec, state: dict, bridge) -> None:
        self.spec = spec
        sizes = spec.layer_sizes
        _, _, self.neuron_offsets = layer_geometry(np.array(sizes, np.int64),
                                                   np.array(spec.fan_ins, np.int64))  # fmt: skip
        store = np.int64 if spec.numeric.fixed else np.float64
        w = weights(spec, state["params"])
        fracs = state["weight_fracs"].astype(np.int64)
        counters = state["counters"].astype(np.int64)
        spec_dict = spec.to_dict()
        self.layers = []
        for k in range(len(sizes) - 1):
            lo, hi = self.neuron_offsets[k], self.neuron_offsets[k + 1]
            neurons = {name: np.array(state[name][lo:hi], dtype=store)
                       for name in GLE_NEURON_ARRAYS}  # fmt: skip
            self.layers.append(GLELayer(
                spec=spec_dict, index=k, n_pre=sizes[k], name=f"layer{k}",
                W=np.array(w[f"W{k + 1}"], dtype=store), b=np.array(w[f"b{k + 1}"], dtype=store),
                counters=counters if k == 0 else own_counters(counters),
                weight_fracs=fracs[2 * k : 2 * k + 2].copy(), **neurons,
            ))  # fmt: skip
        first, output = self.layers[0], self.layers[-1]
        bridge.to_hidden.connect(first.samples_in)
        bridge.to_readout.connect(output.targets_in)
        output.results_out.connect(bridge.from_readout)
        self.layers[-2].real_rates_out.connect(bridge.from_hidden)
        for below, above in zip(self.layers[:-1], self.layers[1:], strict=True):
            below.rates_out.connect(above.rates_in)
            above.back_out.connect(below.back_in)

    def counters(self) -> np.ndarray:
        return combined_counters(*(layer.counters.get().astype(np.int64)
                                   for layer in self.layers))  # fmt: skip

    def read_state(self, state: dict) -> None:
        """Every layer's Vars back into the state arrays."""
        w = weights(self.spec, state["params"])
        counters = []
        for k, layer in enumerate(self.layers):
            values = _read(layer, ("W", "b", "counters") + GLE_NEURON_ARRAYS)
            w[f"W{k + 1}"][:] = values["W"]
            w[f"b{k + 1}"][:] = values["b"]
            lo, hi = self.neuron_offsets[k], self.neuron_offsets[k + 1]
            for name in GLE_NEURON_ARRAYS:
                state[name][lo:hi] = values[name]
            counters.append(values["counters"].astype(np.int64))
        state["counters"][:] = combined_counters(*counters)

    def reset_state(self, state: dict) -> None:
        """Zero every neuron's state in the state arrays (as the layers will)."""
        numeric = self.spec.numeric.kernel_record(self.spec.kernel_hyper().sigma)
        layer_reset(numeric, state["potentials"], state["error_traces"], state["rates"],
                    state["errors"], state["slopes"])  # fmt: skip


# TPTT's and LRA's window, in the recurrent layer's Vars.
WINDOW_ARRAYS = ("window_position", "window_start", "window_inputs", "window_hidden",
                 "window_offsets", "window_reset")  # fmt: skip
TARGET_HIDDEN = ("W_xh", "W_h", "b_h", "V_h", "c_h")


class TargetGraph:
    """TPTT's and LRA's graph: the recurrent layer (with its window) and the
    readout (targets/lava/process.py), wired as the perturbation rules'."""

    def __init__(self, spec: NetworkSpec, state: dict, bridge) -> None:
        self.spec = spec
        store = np.int64 if spec.numeric.fixed else np.float64
        w = weights(spec, state["params"])
        if spec.rule == "lra":  # no inverse: empty Vars keep one process class for both
            w["V_h"], w["c_h"] = np.zeros((0, spec.n_hidden)), np.zeros(0)
        fracs = state["weight_fracs"].astype(np.int64)
        counters = state["counters"].astype(np.int64)
        window = {name: np.array(state[name], dtype=np.int64 if name in ("window_position",
                                                                         "window_reset")
                                 else store) for name in WINDOW_ARRAYS}  # fmt: skip
        spec_dict = spec.to_dict()
        self.hidden = TargetHidden(
            spec=spec_dict, name="hidden", hidden=np.array(state["hidden"], dtype=store),
            window=window, counters=counters, weight_fracs=fracs.copy(),
            **{name: np.array(w[name], dtype=store) for name in TARGET_HIDDEN},
        )  # fmt: skip
        self.readout = TargetReadout(
            spec=spec_dict, name="readout", W_hy=np.array(w["W_hy"], dtype=store),
            b_y=np.array(w["b_y"], dtype=store), counters=own_counters(counters),
            weight_fracs=fracs.copy(),
        )  # fmt: skip
        bridge.to_hidden.connect(self.hidden.inputs_in)
        bridge.to_readout.connect(self.readout.targets_in)
        self.hidden.hidden_out.connect(self.readout.hidden_in)
        self.hidden.real_rates_out.connect(bridge.from_hidden)
        self.readout.results_out.connect(bridge.from_readout)
        self.readout.back_out.connect(self.hidden.back_in)

    def counters(self) -> np.ndarray:
        return combined_counters(self.hidden.counters.get().astype(np.int64),
                                 self.readout.counters.get().astype(np.int64))  # fmt: skip

    def read_state(self, state: dict) -> None:
        """Both processes' Vars back into the state arrays."""
        names = ("hidden", "counters") + WINDOW_ARRAYS + TARGET_HIDDEN
        hidden = _read(self.hidden, names)
        readout = _read(self.readout, ("W_hy", "b_y", "counters"))
        w = weights(self.spec, state["params"])
        for name in TARGET_HIDDEN + ("W_hy", "b_y"):
            if name in w:
                w[name][:] = (hidden if name in hidden else readout)[name]
        for name in ("hidden",) + WINDOW_ARRAYS:
            state[name][:] = hidden[name]
        state["counters"][:] = combined_counters(hidden["counters"].astype(np.int64),
                                                 readout["counters"].astype(np.int64))  # fmt: skip

    def reset_state(self, state: dict) -> None:
        """Zero the hidden state in the state arrays (as the layer will on
        the next step, which starts a sequence)."""
        state["hidden"][:] = 0


class LavaTarget:
    """Runs chunks of samples through the Lava graph built from ``state``:
    the perturbation rules' two layers, or GLE's process per layer."""

    name = "lava"

    def __init__(self, spec: NetworkSpec, state: dict[str, np.ndarray],
                 chunk_steps: int = CHUNK_STEPS):  # fmt: skip
        check_supported(spec)
        self.spec = spec
        self.state = state
        self.chunk_steps = chunk_steps
        self.tag = "fixed_pt" if spec.numeric.fixed else "floating_pt"
        self.run_config = Loihi2SimCfg(select_tag=self.tag)
        self.bridge = StreamBridge(n_inputs=spec.n_inputs, n_hidden=spec.n_hidden,
                                   n_outputs=spec.n_outputs, chunk_steps=chunk_steps,
                                   name="bridge")  # fmt: skip
        graph = {"gle": GLEGraph, "tptt": TargetGraph, "lra": TargetGraph}.get(
            spec.rule, PerturbationGraph
        )
        self.graph = graph(spec, state, self.bridge)
        self._started = False
        self._closed = False
        self._stale = False  # True when the Vars have moved past self.state
        self._broken = False  # True after a run was interrupted inside a chunk
        self._pending_reset = False  # reset_rates: the next step zeroes the rates
        # Also runs at interpreter exit (weakref.finalize's atexit): the last resort.
        self._finalizer = weakref.finalize(self, _stop_quietly, self.bridge)

    # -- running ---------------------------------------------------------------
    def _start(self) -> None:
        """Compile the graph and start Lava's processes. Each is forked with
        SIGINT and SIGTERM ignored: the host process handles those (it
        finishes the chunk and stops the runtime). A signal that reaches the
        host while Lava starts (seconds on a cold cache) is held and
        delivered once the runtime is up: the CLI then stops after the first
        chunk, the API raises KeyboardInterrupt before any step ran (the
        network intact)."""
        if self._closed:
            raise TimelocalError("this Lava network was closed")
        main = threading.current_thread() is threading.main_thread()
        held, saved = [], {}
        if main:
            for signum in HELD_SIGNALS:
                saved[signum] = signal.signal(signum, lambda signum, _frame: held.append(signum))
        _FORKING.lava = True
        try:
            self.bridge.create_runtime(run_cfg=self.run_config)
            self._started = True
        finally:
            _FORKING.lava = False
            for signum, handler in saved.items():
                signal.signal(signum, handler)
        if held:
            signal.raise_signal(held[0])  # to the handler now restored

    def run_chunk(self, inputs, targets, has_target, reset, *, learn: bool,
                  record_rates: bool = False):  # fmt: skip
        """Same contract as HostTarget.run_chunk."""
        if self._broken:
            raise TimelocalError(BROKEN)
        if not self._started:
            self._start()
        steps = inputs.shape[0]
        n_in, n_out, n = self.spec.n_inputs, self.spec.n_outputs, self.spec.n_hidden
        outputs = np.empty((steps, n_out))
        loss = np.empty(steps)
        rates = np.empty((steps, n)) if record_rates else None
        message = np.zeros((self.chunk_steps + 1, n_in + n_out + 3))
        for start in range(0, steps, self.chunk_steps):
            stop = min(steps, start + self.chunk_steps)
            rows = stop - start
            message[0, 0] = rows
            body = message[1 : rows + 1]
            body[:, :n_in] = inputs[start:stop]
            body[:, n_in : n_in + n_out] = targets[start:stop]
            body[:, n_in + n_out] = has_target[start:stop]
            body[:, n_in + n_out + 1] = reset[start:stop]
            if self._pending_reset:
                body[0, n_in + n_out + 1] = True
                self._pending_reset = False
            body[:, n_in + n_out + 2] = learn
            self._stale = True
            try:
                self.bridge.chunk_in.external_pipe_csp_send_port.send(message)
                self.bridge.run(condition=RunSteps(num_steps=rows), run_cfg=self.run_config)
                results = self.bridge.results_out.external_pipe_csp_recv_port.recv()
            except BaseException:
                # Interrupted inside a chunk (Ctrl-C in the API, an error in a
                # process): the Vars stand somewhere inside it; they cannot
                # be read back consistently any more.
                self._broken = True
                raise
            outputs[start:stop] = results[:rows, :n_out]
            loss[start:stop] = results[:rows, n_out]
            if record_rates:
                rates[start:stop] = results[:rows, n_out + 2 :]
        self._sync_counters()
        return outputs, loss, rates

    def reset_rates(self) -> None:
        """Zero the neurons' states (a new sequence): the next step is sent
        with its reset flag, which zeroes them in the layers before they
        step, as on the host. (Lava's Var.set is not used: it moves one
        value per message.)"""
        if self._broken:
            raise TimelocalError(BROKEN)
        self._pending_reset = True
        self.graph.reset_state(self.state)

    # -- state -------------------------------------------------------------------
    def _sync_counters(self) -> None:
        """Counters after each chunk (cheap: a few values per layer)."""
        self.state["counters"][:] = self.graph.counters()

    def sync_state(self) -> None:
        """Read every Var back into the state arrays (Lava sends a Var one
        value per message: this takes a while for large networks)."""
        if not self._started or not self._stale:
            return
        if self._broken:
            raise TimelocalError(BROKEN)
        self.graph.read_state(self.state)
        if self._pending_reset:  # the Vars hold the rates until the next step
            self.graph.reset_state(self.state)
        self._stale = False

    def close(self) -> None:
        """Read the state back (unless a run was interrupted inside a chunk)
        and stop the Lava runtime (idempotent)."""
        if self._closed:
            return
        try:
            if self._started and not self._broken:
                self.sync_state()
        finally:
            self._closed = True
            self._finalizer()


def _read(process, names) -> dict:
    """Vars by name as arrays (empty Vars are not asked for: Lava hangs on them)."""
    out = {}
    for name in names:
        var = getattr(process, name)
        if not np.prod(var.shape):
            out[name] = np.zeros(var.shape)
            continue
        value = var.get()
        if value is None:
            raise TimelocalError(f"Lava did not return the Var {process.name}.{name}")
        out[name] = np.asarray(value).reshape(var.shape)
    return out


class _Forking:
    """Whether Lava is forking its processes right now (see _start)."""

    lava = False


_FORKING = _Forking()


def _ignore_signals_in_lava_child() -> None:
    """Runs in every forked child, first: Lava's processes ignore SIGINT and
    SIGTERM (a Ctrl-C reaches the whole process group; the host stops them)."""
    if _FORKING.lava:
        for signum in HELD_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


os.register_at_fork(after_in_child=_ignore_signals_in_lava_child)


def _stop_quietly(bridge) -> None:
    if bridge.runtime is not None:
        try:
            bridge.stop()
        except Exception:  # noqa: BLE001 - stopping after a failure must not raise again
            pass
