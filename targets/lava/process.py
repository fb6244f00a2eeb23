"""Lava processes of a learning network: Vars and Ports only (STYLE.md, Lava).

The graph, one process per layer plus the bridge to the host (docs/lava.md):

    StreamBridge --inputs, reset, learn--> HiddenLayer --x*_t, x~*_t--> Readout
         ^   \\--------------targets, has_target, learn------------------^ |
         |                                                                |
         +------------------- outputs, loss (spike phase) ---------------+
    HiddenLayer <------------ dl_t (learning phase) ---------------------- Readout

In the spike phase the messages flow bridge -> hidden -> readout -> bridge
within the same time step (the graph is acyclic in that phase, so no process
waits on one that waits on it, and no Dense-style delay is needed). The
readout's loss difference dl_t, the perturbation rules' one global signal,
goes back to the hidden layer in the learning phase of the same step. The
host target runs the same four phases in the same order, so both agree step
for step.
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class StreamBridge(AbstractProcess):
    """The host's end of the graph: takes a chunk of samples at a time from
    the host through an external pipe, sends one sample per time step into
    the network, and ships the chunk's outputs, losses and rates back in one
    message (so the host does no Python work per step).

    A chunk message has ``chunk_steps + 1`` rows of ``n_inputs + n_outputs +
    3`` columns: row 0 holds the number of steps in column 0; row 1 + t holds
    inputs, targets (NaN: none), has_target, reset, learn of step t."""

    def __init__(self, *, n_inputs: int, n_hidden: int, n_outputs: int, chunk_steps: int,
                 **kwargs) -> None:  # fmt: skip
        super().__init__(n_inputs=n_inputs, n_hidden=n_hidden, n_outputs=n_outputs,
                         chunk_steps=chunk_steps, **kwargs)  # fmt: skip
        self.chunk_in = InPort(shape=(chunk_steps + 1, n_inputs + n_outputs + 3))
        self.chunk_in.flag_external_pipe(buffer_size=1)
        # Per step: outputs, loss, noisy loss, then the rates x*_t.
        self.results_out = OutPort(shape=(chunk_steps, n_outputs + 2 + n_hidden))
        self.results_out.flag_external_pipe(buffer_size=1)
        self.to_hidden = OutPort(shape=(n_inputs + 2,))  # inputs, reset, learn
        self.to_readout = OutPort(shape=(n_outputs + 2,))  # targets, has_target, learn
        self.from_readout = InPort(shape=(n_outputs + 2,))  # outputs, loss, noisy loss
        self.from_hidden = InPort(shape=(n_hidden,))  # x*_t as real numbers
        self.position = Var(shape=(1,), init=0)  # next row of the current chunk
        self.rows = Var(shape=(1,), init=0)  # rows in the current chunk


class HiddenLayer(AbstractProcess):
    """The recurrent hidden layer of both copies (clean and noisy), with its
    weights A (from the inputs), R (recurrent), b, the decorrelation matrix D
    and, with Adam, the optimiser's moments; ``spec`` is the network spec as
    a dict (the rule, sizes, precision and hyper-parameters)."""

    def __init__(self, *, spec: dict, A: np.ndarray, R: np.ndarray, b: np.ndarray,
                 decorrelation: np.ndarray, drates: np.ndarray, noisy_drates: np.ndarray,
                 moments: dict, counters: np.ndarray, weight_fracs: np.ndarray,
                 **kwargs) -> None:  # fmt: skip
        super().__init__(spec=spec, **kwargs)
        n_hidden, n_inputs = A.shape
        self.inputs_in = InPort(shape=(n_inputs + 2,))
        self.rates_out = OutPort(shape=(2 * n_hidden,))  # x*_t, then x~*_t
        self.real_rates_out = OutPort(shape=(n_hidden,))
        self.loss_delta_in = InPort(shape=(3,))  # dl_t, has_target, learn
        self.A = Var(shape=A.shape, init=A)
        self.R = Var(shape=R.shape, init=R)
        self.b = Var(shape=b.shape, init=b)
        self.decorrelation = Var(shape=decorrelation.shape, init=decorrelation)
        self.drates = Var(shape=drates.shape, init=drates)
        self.noisy_drates = Var(shape=noisy_drates.shape, init=noisy_drates)
        for name in ("moment1_A", "moment1_R", "moment1_b", "moment2_A", "moment2_R",
                     "moment2_b"):  # fmt: skip
            setattr(self, name, Var(shape=moments[name].shape, init=moments[name]))
        self.counters = Var(shape=counters.shape, init=counters)
        self.weight_fracs = Var(shape=weight_fracs.shape, init=weight_fracs)


class Readout(AbstractProcess):
    """The readout of both copies: weights B and c, the loss, and the loss
    difference dl_t that it sends back to the hidden layer."""

    def __init__(self, *, spec: dict, B: np.ndarray, c: np.ndarray, moments: dict,
                 counters: np.ndarray, weight_fracs: np.ndarray, **kwargs) -> None:  # fmt: skip
        super().__init__(spec=spec, **kwargs)
        n_outputs, n_hidden = B.shape
        self.rates_in = InPort(shape=(2 * n_hidden,))
        self.targets_in = InPort(shape=(n_outputs + 2,))
        self.results_out = OutPort(shape=(n_outputs + 2,))
        self.loss_delta_out = OutPort(shape=(3,))
        self.B = Var(shape=B.shape, init=B)
        self.c = Var(shape=c.shape, init=c)
        for name in ("moment1_B", "moment1_c", "moment2_B", "moment2_c"):
            setattr(self, name, Var(shape=moments[name].shape, init=moments[name]))
        self.counters = Var(shape=counters.shape, init=counters)
        self.weight_fracs = Var(shape=weight_fracs.shape, init=weight_fracs)


class GLELayer(AbstractProcess):
    """One layer of a GLE network (ALGORITHMS.md §2): its neurons (membranes
    u, error traces v, rates, phi', errors, time constants tau_m and tau_r)
    and the weights W, b into it (W's last columns weigh the layer's own
    previous rates when it is recurrent: its recurrence stays inside the
    process). ``index`` is the layer's place (0: fed by the bridge), ``spec``
    the network spec as a dict.

    Each step it sends its previous rates up (with the step's reset and
    learn flags, which travel up the stack from the bridge) and its
    backprojected error W^T e down, then steps from what its neighbours sent
    (kernels/gle.py ``layer_step``). The first layer takes the samples from
    the bridge; the output layer takes the targets and sends the outputs and
    the loss to the bridge; the last hidden layer also sends its rates there
    (recorded rates, as on the host).

    Graph of three layers:

        bridge --samples--> L0 --rates--> L1 --rates--> L2 (output) <--targets-- bridge
                            L0 <--W1^T e1-- L1 <--W2^T e2-- L2 --outputs, loss--> bridge
    """

    def __init__(self, *, spec: dict, index: int, n_pre: int, W: np.ndarray, b: np.ndarray,
                 tau_m: np.ndarray, tau_r: np.ndarray, potentials: np.ndarray,
                 error_traces: np.ndarray, rates: np.ndarray, slopes: np.ndarray,
                 errors: np.ndarray, counters: np.ndarray, weight_fracs: np.ndarray,
                 **kwargs) -> None:  # fmt: skip
        super().__init__(spec=spec, index=index, **kwargs)
        n = W.shape[0]
        self.samples_in = InPort(shape=(n_pre + 2,))  # inputs, reset, learn (layer 0)
        self.rates_in = InPort(shape=(n_pre + 2,))  # r_{l-1}, reset, learn
        self.rates_out = OutPort(shape=(n + 2,))
        self.back_in = InPort(shape=(n,))  # W_{l+1}^T e_{l+1}
        self.back_out = OutPort(shape=(n_pre,))
        self.targets_in = InPort(shape=(n + 2,))  # targets, has_target, learn (output)
        self.results_out = OutPort(shape=(n + 2,))  # outputs, loss, loss (output)
        self.real_rates_out = OutPort(shape=(n,))  # rates as real numbers (last hidden)
        self.W = Var(shape=W.shape, init=W)
        self.b = Var(shape=b.shape, init=b)
        self.tau_m = Var(shape=tau_m.shape, init=tau_m)
        self.tau_r = Var(shape=tau_r.shape, init=tau_r)
        self.potentials = Var(shape=potentials.shape, init=potentials)
        self.error_traces = Var(shape=error_traces.shape, init=error_traces)
        self.rates = Var(shape=rates.shape, init=rates)
        self.slopes = Var(shape=slopes.shape, init=slopes)
        self.errors = Var(shape=errors.shape, init=errors)
        self.counters = Var(shape=counters.shape, init=counters)
        self.weight_fracs = Var(shape=weight_fracs.shape, init=weight_fracs)


class TargetHidden(AbstractProcess):
    """TPTT's or LRA's recurrent layer (ALGORITHMS.md §3): the weights W_xh,
    W_h, b_h, TPTT's step inverse V_h, c_h (empty for LRA), the hidden state,
    and the window of the last K steps, a ring buffer (the newest entry's
    slot and the number held, the hidden state before the oldest entry, and
    per entry its input, hidden state, step offset and sequence-start flag).

    Spike phase: h_t from the bridge's sample, to the readout (and to the
    bridge as real numbers). Learning phase: from the readout's
    back-projection W_hy^T g_t, the step offset, targets back through the
    window and every entry's update (kernels/target_prop.py). The graph is
    the perturbation rules' (the bridge, this layer, a readout)."""

    def __init__(self, *, spec: dict, W_xh: np.ndarray, W_h: np.ndarray, b_h: np.ndarray,
                 V_h: np.ndarray, c_h: np.ndarray, hidden: np.ndarray, window: dict,
                 counters: np.ndarray, weight_fracs: np.ndarray, **kwargs) -> None:  # fmt: skip
        super().__init__(spec=spec, **kwargs)
        n, n_in = W_xh.shape
        self.inputs_in = InPort(shape=(n_in + 2,))  # inputs, reset, learn
        self.hidden_out = OutPort(shape=(n,))
        self.real_rates_out = OutPort(shape=(n,))
        self.back_in = InPort(shape=(n,))  # W_hy^T g_t, learning phase
        self.W_xh = Var(shape=W_xh.shape, init=W_xh)
        self.W_h = Var(shape=W_h.shape, init=W_h)
        self.b_h = Var(shape=b_h.shape, init=b_h)
        self.V_h = Var(shape=V_h.shape, init=V_h)
        self.c_h = Var(shape=c_h.shape, init=c_h)
        self.hidden = Var(shape=hidden.shape, init=hidden)
        for name, value in window.items():  # window_position, window_start, ...
            setattr(self, name, Var(shape=value.shape, init=value))
        self.counters = Var(shape=counters.shape, init=counters)
        self.weight_fracs = Var(shape=weight_fracs.shape, init=weight_fracs)


class TargetReadout(AbstractProcess):
    """TPTT's or LRA's readout W_hy, b_y: the outputs, the loss, its own
    update on the step loss, and the back-projection W_hy^T g_t it sends to
    the recurrent layer in the learning phase."""

    def __init__(self, *, spec: dict, W_hy: np.ndarray, b_y: np.ndarray, counters: np.ndarray,
                 weight_fracs: np.ndarray, **kwargs) -> None:  # fmt: skip
        super().__init__(spec=spec, **kwargs)
        n_outputs, n = W_hy.shape
        self.hidden_in = InPort(shape=(n,))
        self.targets_in = InPort(shape=(n_outputs + 2,))  # targets, has_target, learn
        self.results_out = OutPort(shape=(n_outputs + 2,))  # outputs, loss, loss
        self.back_out = OutPort(shape=(n,))
        self.W_hy = Var(shape=W_hy.shape, init=W_hy)
        self.b_y = Var(shape=b_y.shape, init=b_y)
        self.counters = Var(shape=counters.shape, init=counters)
        self.weight_fracs = Var(shape=weight_fracs.shape, init=weight_fracs)
