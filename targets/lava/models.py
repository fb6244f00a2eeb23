"""Process models of the Lava graph (targets/lava/process.py), tagged
``floating_pt`` (float64) and ``fixed_pt`` (integers), in Lava's style: typed
fields, and phase methods that call timelocal's kernels (the same layer
phases the host target runs, kernels/perturbation.py); no arithmetic of a
rule is restated here.

Messages between the layers carry states as they are stored: float64 in
floating_pt, int64 in fixed_pt. The bridge's messages are real numbers: the
layers round samples into their formats themselves, as the host does.
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from timelocal.kernels.codes import C_STEP, W_DRATES, W_NOISY_DRATES, W_OUT
from timelocal.kernels.forward import count_learning_step, states_to_real
from timelocal.kernels.gle import (
    G_OUT,
    backproject,
    layer_geometry,
    layer_reset,
    layer_step,
    load_samples,
)
from timelocal.kernels.perturbation import (
    finish_step,
    hidden_learn,
    hidden_spike,
    output_learn,
    output_spike,
)
from timelocal.kernels.target_prop import (
    T_BACK,
    T_OUT,
    tp_hidden_learn,
    tp_hidden_spike,
    tp_readout_spike,
)
from timelocal.runtime.spec import NetworkSpec
from timelocal.runtime.state import scratch_layout
from timelocal.targets.lava.process import (
    GLELayer,
    HiddenLayer,
    Readout,
    StreamBridge,
    TargetHidden,
    TargetReadout,
)


class _Layer(PyLoihiProcessModel):
    """What both layers' models share: the kernels' records and scratch."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        spec = NetworkSpec.from_dict(proc_params["spec"])
        self.spec = spec
        self.hyper = spec.kernel_hyper()
        self.numeric = spec.numeric.kernel_record(self.hyper.sigma)
        work = next(a for a in scratch_layout(spec) if a.name == "work")
        self.work = np.zeros(work.shape, work.dtype)
        self.real = np.zeros(max(spec.n_hidden, spec.n_outputs))
        self.state_type = self.work.dtype.type
        # Adam's gradient buffers (float only); empty otherwise.
        self.adam = spec.hyper("optimizer") == "adam"

    def lrn_guard(self):
        return True  # every step has a learning phase (it also advances the rates)


class _HiddenLayerModel(_Layer):
    def __init__(self, proc_params):
        super().__init__(proc_params)
        n, n_in = self.spec.n_hidden, self.spec.n_inputs
        shape = (n, n_in), (n, n), (n,)
        if not self.adam:
            shape = (0, 0), (0, 0), (0,)
        self.grads = tuple(np.zeros(s, self.work.dtype) for s in shape)
        self.learn = False
        self.rates_message = np.zeros(2 * n, self.work.dtype)

    def run_spk(self):
        message = self.inputs_in.recv()
        n_in, n = self.spec.n_inputs, self.spec.n_hidden
        self.learn = bool(message[n_in + 1])
        hidden_spike(
            self.numeric, self.hyper, self.learn, self.A, self.R, self.b, self.decorrelation,
            self.weight_fracs, self.drates, self.noisy_drates, self.counters, self.work,
            message[:n_in], bool(message[n_in]), self.spec.n_outputs,
        )  # fmt: skip
        self.rates_message[:n] = self.work[W_DRATES, :n]
        self.rates_message[n:] = self.work[W_NOISY_DRATES, :n]
        self.rates_out.send(self.rates_message)
        states_to_real(self.numeric, self.work[W_DRATES, :n], self.real[:n])
        self.real_rates_out.send(self.real[:n])

    def run_lrn(self):
        loss_delta, has_target, learn = self.loss_delta_in.recv()
        has_target = bool(has_target)
        grad_A, grad_R, grad_b = self.grads
        hidden_learn(
            self.numeric, self.hyper, self.learn, has_target, self.A, self.R, self.b,
            grad_A, grad_R, grad_b, self.moment1_A, self.moment1_R, self.moment1_b,
            self.moment2_A, self.moment2_R, self.moment2_b, self.decorrelation,
            self.weight_fracs, self.drates, self.noisy_drates, self.counters, self.work,
            self.state_type(loss_delta), self.spec.n_outputs,
        )  # fmt: skip
        finish_step(self.counters, self.learn, has_target)


class _ReadoutModel(_Layer):
    def __init__(self, proc_params):
        super().__init__(proc_params)
        n_out, n = self.spec.n_outputs, self.spec.n_hidden
        shape = ((n_out, n), (n_out,)) if self.adam else ((0, 0), (0,))
        self.grads = tuple(np.zeros(s, self.work.dtype) for s in shape)
        self.results = np.zeros(n_out + 2)
        self.loss_delta_message = np.zeros(3, self.work.dtype)
        self.learn = self.has_target = False

    def run_spk(self):
        rates = self.rates_in.recv()
        message = self.targets_in.recv()
        n_out, n = self.spec.n_outputs, self.spec.n_hidden
        self.has_target = bool(message[n_out])
        self.learn = bool(message[n_out + 1])
        # The readout's own copies of x*_t and x~*_t, in its work rows.
        self.work[W_DRATES, :n] = rates[:n]
        self.work[W_NOISY_DRATES, :n] = rates[n:]
        loss, noisy_loss, self.loss_delta = output_spike(
            self.numeric, self.hyper, self.learn, self.B, self.c, self.weight_fracs,
            self.counters, self.work, self.work[W_DRATES, :n], self.work[W_NOISY_DRATES, :n],
            message[:n_out], self.has_target, self.spec.n_inputs,
        )  # fmt: skip
        states_to_real(self.numeric, self.work[W_OUT, :n_out], self.results[:n_out])
        self.results[n_out] = loss
        self.results[n_out + 1] = noisy_loss
        self.results_out.send(self.results)

    def run_lrn(self):
        n = self.spec.n_hidden
        if self.learn and self.has_target:
            grad_B, grad_c = self.grads
            output_learn(
                self.numeric, self.hyper, self.B, self.c, grad_B, grad_c, self.moment1_B,
                self.moment1_c, self.moment2_B, self.moment2_c, self.weight_fracs,
                self.counters, self.work, self.work[W_DRATES, :n], self.loss_delta,
                self.spec.n_inputs,
            )  # fmt: skip
        self.loss_delta_message[:] = (self.loss_delta, self.has_target, self.learn)
        self.loss_delta_out.send(self.loss_delta_message)
        finish_step(self.counters, self.learn, self.has_target)


class _GLELayerModel(_Layer):
    """A GLE layer: the host's ``gle_step`` for one layer (kernels/gle.py)."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        sizes = self.spec.layer_sizes
        k = proc_params["index"]
        self.first = k == 0
        self.output = k == len(sizes) - 2
        self.last_hidden = k == len(sizes) - 3
        self.n_pre, self.n = sizes[k], sizes[k + 1]
        self.fan_in = self.spec.fan_ins[k]  # n_pre, plus n if the layer is recurrent
        # The presynaptic rates (layer 0 turns the samples into states here,
        # as gle_step does), then a recurrent layer's own previous rates.
        self.presyn = np.zeros(self.fan_in, self.work.dtype)
        self.targets = np.zeros(self.n if self.output else 0, self.work.dtype)
        self.back = np.zeros(0 if self.output else self.n, self.work.dtype)
        self.rates_message = np.zeros(self.n + 2, self.work.dtype)
        self.back_message = np.zeros(self.n_pre, self.work.dtype)
        self.results = np.zeros(self.n + 2)
        w_offsets, _, _ = layer_geometry(np.array(sizes, np.int64),
                                         np.array(self.spec.fan_ins, np.int64))  # fmt: skip
        self.key_offset = int(w_offsets[k])  # this layer's keys of stochastic rounding
        self._no_adam = None

    def lrn_guard(self):
        return False  # GLE learns in the same phase as it steps

    def no_adam(self):
        """Empty gradient and moment arrays: GLE on Lava learns by SGD
        (check_supported refuses Adam)."""
        if self._no_adam is None:
            self._no_adam = (np.zeros(0, self.W.dtype), np.zeros(0, self.potentials.dtype),
                             np.zeros(0, self.potentials.dtype))  # fmt: skip
        return self._no_adam

    def run_spk(self):
        n_pre, n = self.n_pre, self.n
        message = (self.samples_in if self.first else self.rates_in).recv()
        reset, learn = bool(message[n_pre]), bool(message[n_pre + 1])
        w_frac, b_frac = self.weight_fracs
        if reset:
            layer_reset(self.numeric, self.potentials, self.error_traces, self.rates,
                        self.errors, self.slopes)  # fmt: skip
        # What the neighbours read this step: the previous rates and errors.
        if not self.output:
            self.rates_message[:n] = self.rates
            self.rates_message[n:] = (reset, learn)
            self.rates_out.send(self.rates_message)
        if not self.first:
            backproject(self.numeric, self.W, 0, w_frac, self.errors, self.back_message, False)
            self.back_out.send(self.back_message)
        presyn = self.presyn
        if self.first:
            load_samples(self.numeric, message[:n_pre], True, self.counters, presyn[:n_pre])
        else:
            presyn[:n_pre] = message[:n_pre]
        presyn[n_pre:] = self.rates[: self.fan_in - n_pre]  # recurrent: its own previous rates
        has_target = False
        if self.output:
            target_message = self.targets_in.recv()
            has_target = bool(target_message[n])
            load_samples(self.numeric, target_message[:n], has_target, self.counters,
                         self.targets)  # fmt: skip
        else:
            self.back[:] = self.back_in.recv()
            if self.fan_in > n_pre:  # recurrent: its own errors back through its own weights
                backproject(self.numeric, self.W, n_pre, w_frac, self.errors, self.back, True)
        loss = layer_step(
            self.numeric, self.hyper, learn, self.output, self.first, has_target, self.W, self.b,
            w_frac,
            b_frac, presyn, self.back, self.targets, self.potentials, self.error_traces,
            self.tau_m, self.tau_r, self.rates, self.errors, self.slopes, self.counters,
            self.work, self.counters[C_STEP], self.key_offset, *self.no_adam(),
        )  # fmt: skip
        if self.output:
            states_to_real(self.numeric, self.work[G_OUT, :n], self.results[:n])
            self.results[n] = self.results[n + 1] = loss
            self.results_out.send(self.results)
        if self.last_hidden:
            states_to_real(self.numeric, self.rates, self.real[:n])
            self.real_rates_out.send(self.real[:n])
        count_learning_step(self.counters, learn)


# -- typed models: what differs between floating_pt and fixed_pt is the types --

_HIDDEN_ARRAYS = ("A", "R", "b", "decorrelation", "drates", "noisy_drates")
_HIDDEN_MOMENTS = ("moment1_A", "moment1_R", "moment1_b", "moment2_A", "moment2_R", "moment2_b")


@implements(proc=HiddenLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyHiddenLayerFloat(_HiddenLayerModel):
    """The hidden layer in float64."""

    inputs_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    rates_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    real_rates_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    loss_delta_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    A: np.ndarray = LavaPyType(np.ndarray, float)
    R: np.ndarray = LavaPyType(np.ndarray, float)
    b: np.ndarray = LavaPyType(np.ndarray, float)
    decorrelation: np.ndarray = LavaPyType(np.ndarray, float)
    drates: np.ndarray = LavaPyType(np.ndarray, float)
    noisy_drates: np.ndarray = LavaPyType(np.ndarray, float)
    moment1_A: np.ndarray = LavaPyType(np.ndarray, float)
    moment1_R: np.ndarray = LavaPyType(np.ndarray, float)
    moment1_b: np.ndarray = LavaPyType(np.ndarray, float)
    moment2_A: np.ndarray = LavaPyType(np.ndarray, float)
    moment2_R: np.ndarray = LavaPyType(np.ndarray, float)
    moment2_b: np.ndarray = LavaPyType(np.ndarray, float)
    counters: np.ndarray = LavaPyType(np.ndarray, np.int64)
    weight_fracs: np.ndarray = LavaPyType(np.ndarray, np.int64)


@implements(proc=HiddenLayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyHiddenLayerFixed(_HiddenLayerModel):
    """The hidden layer in integers (each value within its precision's
    format; held in int64, as the kernels compute in int64)."""

    inputs_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    rates_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
    real_rates_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    loss_delta_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    A: np.ndarray = LavaPyType(np.ndarray, np.int64)
    R: np.ndarray = LavaPyType(np.ndarray, np.int64)
    b: np.ndarray = LavaPyType(np.ndarray, np.int64)
    decorrelation: np.ndarray = LavaPyType(np.ndarray, np.int64)
    drates: np.ndarray = LavaPyType(np.ndarray, np.int64)
    noisy_drates: np.ndarray = LavaPyType(np.ndarray, np.int64)
    moment1_A: np.ndarray = LavaPyType(np.ndarray, np.int64)
    moment1_R: np.ndarray = LavaPyType(np.ndarray, np.int64)
    moment1_b: np.ndarray = LavaPyType(np.ndarray, np.int64)
    moment2_A: np.ndarray = LavaPyType(np.ndarray, np.int64)
    moment2_R: np.ndarray = LavaPyType(np.ndarray, np.int64)
    moment2_b: np.ndarray = LavaPyType(np.ndarray, np.int64)
    counters: np.ndarray = LavaPyType(np.ndarray, np.int64)
    weight_fracs: np.ndarray = LavaPyType(np.ndarray, np.int64)


@implements(proc=Readout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyReadoutFloat(_ReadoutModel):
    """The readout in float64."""

    rates_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    targets_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    results_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    loss_delta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    B: np.ndarray = LavaPyType(np.ndarray, float)
    c: np.ndarray = LavaPyType(np.ndarray, float)
    moment1_B: np.ndarray = LavaPyType(np.ndarray, float)
    moment1_c: np.ndarray = LavaPyType(np.ndarray, float)
    moment2_B: np.ndarray = LavaPyType(np.ndarray, float)
    moment2_c: np.ndarray = LavaPyType(np.ndarray, float)
    counters: np.ndarray = LavaPyType(np.ndarray, np.int64)
    weight_fracs: np.ndarray = LavaPyType(np.ndarray, np.int64)


@implements(proc=Readout, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyReadoutFixed(_ReadoutModel):
    """The readout in integers."""

    rates_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    targets_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    results_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    loss_delta_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
    B: np.ndarray = LavaPyType(np.ndarray, np.int64)
    c: np.ndarray = LavaPyType(np.ndarray, np.int64)
    moment1_B: np.ndarray = LavaPyType(np.ndarray, np.int64)
    moment1_c: np.ndarray = LavaPyType(np.ndarray, np.int64)
    moment2_B: np.ndarray = LavaPyType(np.ndarray, np.int64)
    moment2_c: np.ndarray = LavaPyType(np.ndarray, np.int64)
    counters: np.ndarray = LavaPyType(np.ndarray, np.int64)
    weight_fracs: np.ndarray = LavaPyType(np.ndarray, np.int64)


@implements(proc=GLELayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyGLELayerFloat(_GLELayerModel):
    """A GLE layer in float64."""

    samples_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    rates_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    rates_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    back_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    back_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    targets_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    results_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    real_rates_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    W: np.ndarray = LavaPyType(np.ndarray, float)
    b: np.ndarray = LavaPyType(np.ndarray, float)
    tau_m: np.ndarray = LavaPyType(np.ndarray, float)
    tau_r: np.ndarray = LavaPyType(np.ndarray, float)
    potentials: np.ndarray = LavaPyType(np.ndarray, float)
    error_traces: np.ndarray = LavaPyType(np.ndarray, float)
    rates: np.ndarray = LavaPyType(np.ndarray, float)
    slopes: np.ndarray = LavaPyType(np.ndarray, float)
    errors: np.ndarray = LavaPyType(np.ndarray, float)
    counters: np.ndarray = LavaPyType(np.ndarray, np.int64)
    weight_fracs: np.ndarray = LavaPyType(np.ndarray, np.int64)


@implements(proc=GLELayer, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyGLELayerFixed(_GLELayerModel):
    """A GLE layer in integers (the samples and targets from the bridge are
    real numbers; the layers' messages are states and errors as stored)."""

    samples_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    rates_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    rates_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
    back_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    back_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
    targets_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    results_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    real_rates_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    W: np.ndarray = LavaPyType(np.ndarray, np.int64)
    b: np.ndarray = LavaPyType(np.ndarray, np.int64)
    tau_m: np.ndarray = LavaPyType(np.ndarray, np.int64)
    tau_r: np.ndarray = LavaPyType(np.ndarray, np.int64)
    potentials: np.ndarray = LavaPyType(np.ndarray, np.int64)
    error_traces: np.ndarray = LavaPyType(np.ndarray, np.int64)
    rates: np.ndarray = LavaPyType(np.ndarray, np.int64)
    slopes: np.ndarray = LavaPyType(np.ndarray, np.int64)
    errors: np.ndarray = LavaPyType(np.ndarray, np.int64)
    counters: np.ndarray = LavaPyType(np.ndarray, np.int64)
    weight_fracs: np.ndarray = LavaPyType(np.ndarray, np.int64)


class _TargetHiddenModel(_Layer):
    """TPTT's or LRA's recurrent layer: ``tp_hidden_spike`` in the spike
    phase, ``tp_hidden_learn`` in the learning phase (kernels/target_prop.py),
    as the host's ``tp_step`` runs them."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        scratch = {a.name: a for a in scratch_layout(self.spec)}
        rows, boosts = scratch["window_rows"], scratch["boosts"]
        self.rows = np.zeros(rows.shape, rows.dtype)
        self.boosts = np.zeros(boosts.shape, boosts.dtype)
        self.learn = self.reset = False

    def run_spk(self):
        message = self.inputs_in.recv()
        n_in, n = self.spec.n_inputs, self.spec.n_hidden
        self.reset, self.learn = bool(message[n_in]), bool(message[n_in + 1])
        tp_hidden_spike(
            self.numeric, self.hyper, self.learn, self.W_xh, self.W_h, self.b_h,
            self.weight_fracs, self.hidden, self.counters, self.window_position,
            self.window_start, self.work, message[:n_in], self.reset,
        )  # fmt: skip
        self.hidden_out.send(self.hidden)
        states_to_real(self.numeric, self.hidden, self.real[:n])
        self.real_rates_out.send(self.real[:n])

    def run_lrn(self):
        n = self.spec.n_hidden
        self.work[T_BACK, :n] = self.back_in.recv()
        tp_hidden_learn(
            self.numeric, self.hyper, self.learn, self.reset, self.W_xh, self.W_h, self.b_h,
            self.V_h, self.c_h, self.weight_fracs, self.hidden, self.counters,
            self.window_position, self.window_start, self.window_inputs, self.window_hidden,
            self.window_offsets, self.window_reset, self.work, self.rows, self.boosts,
        )  # fmt: skip
        count_learning_step(self.counters, self.learn)


class _TargetReadoutModel(_Layer):
    """TPTT's or LRA's readout: ``tp_readout_spike`` in the spike phase; the
    back-projection it formed goes to the recurrent layer in the learning
    phase (zeros when not learning: the ports stay in step)."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.hidden_state = np.zeros(self.spec.n_hidden, self.work.dtype)
        self.results = np.zeros(self.spec.n_outputs + 2)
        self.learn = False

    def run_spk(self):
        self.hidden_state[:] = self.hidden_in.recv()
        message = self.targets_in.recv()
        n_out = self.spec.n_outputs
        has_target, self.learn = bool(message[n_out]), bool(message[n_out + 1])
        loss = tp_readout_spike(
            self.numeric, self.hyper, self.learn, self.W_hy, self.b_y, self.weight_fracs,
            self.hidden_state, self.counters, self.work, message[:n_out], has_target,
        )  # fmt: skip
        states_to_real(self.numeric, self.work[T_OUT, :n_out], self.results[:n_out])
        self.results[n_out] = self.results[n_out + 1] = loss
        self.results_out.send(self.results)

    def run_lrn(self):
        n = self.spec.n_hidden
        if not self.learn:
            self.work[T_BACK, :n] = 0
        self.back_out.send(self.work[T_BACK, :n])
        count_learning_step(self.counters, self.learn)


@implements(proc=TargetHidden, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyTargetHiddenFloat(_TargetHiddenModel):
    """TPTT's or LRA's recurrent layer in float64."""

    inputs_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    hidden_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    real_rates_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    back_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    W_xh: np.ndarray = LavaPyType(np.ndarray, float)
    W_h: np.ndarray = LavaPyType(np.ndarray, float)
    b_h: np.ndarray = LavaPyType(np.ndarray, float)
    V_h: np.ndarray = LavaPyType(np.ndarray, float)
    c_h: np.ndarray = LavaPyType(np.ndarray, float)
    hidden: np.ndarray = LavaPyType(np.ndarray, float)
    window_start: np.ndarray = LavaPyType(np.ndarray, float)
    window_inputs: np.ndarray = LavaPyType(np.ndarray, float)
    window_hidden: np.ndarray = LavaPyType(np.ndarray, float)
    window_offsets: np.ndarray = LavaPyType(np.ndarray, float)
    window_position: np.ndarray = LavaPyType(np.ndarray, np.int64)
    window_reset: np.ndarray = LavaPyType(np.ndarray, np.int64)
    counters: np.ndarray = LavaPyType(np.ndarray, np.int64)
    weight_fracs: np.ndarray = LavaPyType(np.ndarray, np.int64)


@implements(proc=TargetHidden, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyTargetHiddenFixed(_TargetHiddenModel):
    """TPTT's or LRA's recurrent layer in integers (samples arrive as real
    numbers and are rounded here, as on the host)."""

    inputs_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    hidden_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
    real_rates_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    back_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    W_xh: np.ndarray = LavaPyType(np.ndarray, np.int64)
    W_h: np.ndarray = LavaPyType(np.ndarray, np.int64)
    b_h: np.ndarray = LavaPyType(np.ndarray, np.int64)
    V_h: np.ndarray = LavaPyType(np.ndarray, np.int64)
    c_h: np.ndarray = LavaPyType(np.ndarray, np.int64)
    hidden: np.ndarray = LavaPyType(np.ndarray, np.int64)
    window_start: np.ndarray = LavaPyType(np.ndarray, np.int64)
    window_inputs: np.ndarray = LavaPyType(np.ndarray, np.int64)
    window_hidden: np.ndarray = LavaPyType(np.ndarray, np.int64)
    window_offsets: np.ndarray = LavaPyType(np.ndarray, np.int64)
    window_position: np.ndarray = LavaPyType(np.ndarray, np.int64)
    window_reset: np.ndarray = LavaPyType(np.ndarray, np.int64)
    counters: np.ndarray = LavaPyType(np.ndarray, np.int64)
    weight_fracs: np.ndarray = LavaPyType(np.ndarray, np.int64)


@implements(proc=TargetReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyTargetReadoutFloat(_TargetReadoutModel):
    """TPTT's or LRA's readout in float64."""

    hidden_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    targets_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    results_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    back_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    W_hy: np.ndarray = LavaPyType(np.ndarray, float)
    b_y: np.ndarray = LavaPyType(np.ndarray, float)
    counters: np.ndarray = LavaPyType(np.ndarray, np.int64)
    weight_fracs: np.ndarray = LavaPyType(np.ndarray, np.int64)


@implements(proc=TargetReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyTargetReadoutFixed(_TargetReadoutModel):
    """TPTT's or LRA's readout in integers."""

    hidden_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64)
    targets_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    results_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    back_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
    W_hy: np.ndarray = LavaPyType(np.ndarray, np.int64)
    b_y: np.ndarray = LavaPyType(np.ndarray, np.int64)
    counters: np.ndarray = LavaPyType(np.ndarray, np.int64)
    weight_fracs: np.ndarray = LavaPyType(np.ndarray, np.int64)


@implements(proc=StreamBridge, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt", "fixed_pt")
class PyStreamBridge(PyLoihiProcessModel):
    """Unpacks chunks into per-step messages and packs the results (real
    numbers in both precisions: samples are rounded by the layers)."""

    chunk_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    results_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    to_hidden: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    to_readout: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    from_readout: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    from_hidden: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    position: np.ndarray = LavaPyType(np.ndarray, np.int64)
    rows: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        n_in, n_out = proc_params["n_inputs"], proc_params["n_outputs"]
        self.chunk = None
        self.results = np.zeros((proc_params["chunk_steps"], n_out + 2 + proc_params["n_hidden"]))
        self.hidden_message = np.zeros(n_in + 2)
        self.readout_message = np.zeros(n_out + 2)
        # Column slices of a chunk row: inputs | targets | has_target, reset, learn.
        self.n_in, self.n_out = n_in, n_out

    def run_spk(self):
        if self.chunk is None or self.position[0] >= self.rows[0]:
            # The pipe's own receive: the chunk is one message, not a sum over ports.
            self.chunk = self.chunk_in.csp_ports[-1].recv()
            self.rows[0] = int(self.chunk[0, 0])
            self.position[0] = 0
        t = int(self.position[0])
        row = self.chunk[1 + t]
        n_in, n_out = self.n_in, self.n_out
        has_target, reset, learn = row[n_in + n_out : n_in + n_out + 3]
        self.hidden_message[:n_in] = row[:n_in]
        self.hidden_message[n_in:] = (reset, learn)
        self.readout_message[:n_out] = row[n_in : n_in + n_out]
        self.readout_message[n_out:] = (has_target, learn)
        self.to_hidden.send(self.hidden_message)
        self.to_readout.send(self.readout_message)
        self.results[t, : n_out + 2] = self.from_readout.recv()
        self.results[t, n_out + 2 :] = self.from_hidden.recv()
        self.position[0] = t + 1
        if t + 1 == self.rows[0]:
            self.results_out.csp_ports[-1].send(self.results)
