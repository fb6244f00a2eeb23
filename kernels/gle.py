"""Generalized Latent Equilibrium (ALGORITHMS.md §2; seed 003).

A layered network whose neurons have a membrane ``u`` with time constant
``tau_m`` and a prospective output ``r = phi(u + tau_r du/dt)``, and whose
error neurons low-pass the backprojected error with ``tau_r`` and read it out
prospectively with ``tau_m`` (the inverse roles). Weights, biases and both
time constants learn from quantities local to each neuron, at every Euler step.

Schedule: synchronous, one step of delay between layers. Every layer updates
from what its neighbours held at the end of the previous Euler step: layer l
reads r_{l-1} and the backprojected error W_{l+1}^T e_{l+1} of the previous
step, and phi' of its own previous prospective potential. The output layer
(linear) compares its new rates with the target at once. This is the
message-per-step schedule of Lava and of a chip, so a process per layer runs
the same kernels.

Written with the numeric primitives so the same code is the float and the
fixed-point rule. Fixed point: rates, potentials and their Euler increments
are states; errors and learning signals have their own formats; the time
constants and ``dt`` are held in the signals format (32 bits, so a time
constant of up to 2^(31 - frac) fits). The forms are rearranged so that no
quantity larger than its inputs is ever formed (no du/dt, which grows as
1/tau): with the drive ``d = W r + b + gamma e - u``,

    u_hat  = u + (tau_r d) / tau_m          prospective potential
    u     <- u + (dt d) / tau_m             Euler increment du = dt du/dt
    e      = v + (tau_m (s - v)) / tau_r    prospective error
    v     <- v + (dt (s - v)) / tau_r

Learning per Euler step (the paper's rates are per unit time, hence dt):
``dW = eta dt e r_pre^T``, ``db = eta dt e``, ``d tau_m = -eta_tau e du``,
``d tau_r = eta_tau s du``, both time constants clipped to
[tau_min, tau_max].
"""

import numpy as np
from numba import njit
from timelocal.kernels.codes import C_STEP, C_UPDATES
from timelocal.kernels.forward import (
    count_learning_step,
    loss_value,
    output_from_pre,
    rate_and_slope,
    real_loss,
)
from timelocal.kernels.numeric import (
    add,
    constant,
    divide,
    error_frac,
    from_real,
    maximum,
    minimum,
    mul,
    multiplier,
    read,
    rescale,
    scaled,
    signal_frac,
    state_frac,
    store_error,
    store_signal,
    store_state,
    sub,
    synapse,
)
from timelocal.kernels.optim import apply_update, average_weights, rate_decay
from timelocal.kernels.perturbation import bias_update, matrix_update

# Rows of GLE's work array (scratch, width max(neurons, inputs)).
G_RATES = 0  # this step's rates r, all layers
G_PRIME = 1  # this step's phi'(u_hat)
G_ERRORS = 2  # this step's errors e
G_DU = 3  # this step's Euler increments du = dt du/dt
G_S = 4  # this step's error-neuron inputs s (output layer: its error)
G_INPUT = 5  # the sample's inputs as states
G_TARGET = 6  # the sample's targets as states
G_SIGNAL = 7  # a layer's learning signal eta dt e
G_OUT = 8  # the outputs y (r_L, or softmax(r_L) for cross-entropy)
G_BACK = 9  # every hidden layer's backprojected error W_{l+1}^T e_{l+1}
G_PRESYN = 10  # a recurrent layer's inputs: the rates below, then its own
N_GLE_ROWS = 11


@njit(cache=True)
def layer_geometry(sizes, fan_ins):
    """Per layer l = 1..L+1 (index l-1): offsets into the flat parameters
    (W_l, n_l x fan_ins[l-1], then b_l) and into the neuron arrays."""
    n_layers = sizes.shape[0] - 1
    w_offsets = np.empty(n_layers, np.int64)
    b_offsets = np.empty(n_layers, np.int64)
    neuron_offsets = np.empty(n_layers + 1, np.int64)
    offset = 0
    neuron_offsets[0] = 0
    for k in range(n_layers):
        w_offsets[k] = offset
        offset += sizes[k + 1] * fan_ins[k]
        b_offsets[k] = offset
        offset += sizes[k + 1]
        neuron_offsets[k + 1] = neuron_offsets[k] + sizes[k + 1]
    return w_offsets, b_offsets, neuron_offsets


@njit(cache=True)
def layer_forward(num, hp, linear, W, b, w_frac, b_frac, presyn, u, errors, tau_m, tau_r,
                  counters, rates, prime, du):  # fmt: skip
    """One Euler step of a layer's membranes from the presynaptic rates
    ``presyn``: writes r, phi'(u_hat) and du, and advances u. ``linear``: phi
    is the identity (r = u_hat, phi' = 1; the output layer)."""
    a_frac = state_frac(num)
    g_frac = signal_frac(num)
    e_frac = error_frac(num)
    dt = constant(num, hp.dt, g_frac)
    one = constant(num, 1.0, a_frac)
    nudged = hp.gamma != 0.0
    gamma = constant(num, hp.gamma, g_frac)
    for i in range(W.shape[0]):
        acc = rescale(num, read(num, b[i]), b_frac - a_frac)
        for j in range(W.shape[1]):
            acc = synapse(num, acc, W[i, j], presyn[j], w_frac)
        if nudged:
            acc = add(num, acc, mul(num, gamma, errors[i], g_frac + e_frac - a_frac))
        drive = store_state(num, sub(num, acc, u[i]), counters)
        lead = divide(num, mul(num, tau_r[i], drive, g_frac), tau_m[i], g_frac)
        u_hat = store_state(num, add(num, u[i], lead), counters)
        step = store_state(num, divide(num, mul(num, dt, drive, g_frac), tau_m[i], g_frac),
                           counters)  # fmt: skip
        du[i] = step
        u[i] = store_state(num, add(num, u[i], step), counters)
        if linear:
            rates[i] = u_hat
            prime[i] = one
        else:
            rates[i], prime[i] = rate_and_slope(num, u_hat)


@njit(cache=True)
def backproject(num, W, column, w_frac, errors_post, out, accumulate):
    """out (+)= W[:, column : column + len(out)]^T e_post: the error that the
    neurons feeding W's columns from ``column`` on receive back from W's
    neurons (errors format). A hidden layer gets W_{l+1}[:, :n_l]^T e_{l+1}
    and, if recurrent, adds W_l[:, n_{l-1}:]^T e_l."""
    if not accumulate:
        for i in range(out.shape[0]):
            out[i] = 0
    for k in range(W.shape[0]):
        e = errors_post[k]
        for i in range(out.shape[0]):
            out[i] = synapse(num, out[i], W[k, column + i], e, w_frac)


@njit(cache=True)
def hidden_errors(num, hp, back, prime, v, tau_m, tau_r, counters, errors, s):
    """Error neurons of a hidden layer: s = phi'(u_hat) * back (both of the
    previous step), low-passed with tau_r into v, read out prospectively with
    tau_m into e."""
    a_frac = state_frac(num)
    g_frac = signal_frac(num)
    dt = constant(num, hp.dt, g_frac)
    for i in range(back.shape[0]):
        s[i] = store_error(num, mul(num, prime[i], back[i], a_frac), counters)
        gap = sub(num, s[i], v[i])
        lead = divide(num, mul(num, tau_m[i], gap, g_frac), tau_r[i], g_frac)
        errors[i] = store_error(num, add(num, v[i], lead), counters)
        step = divide(num, mul(num, dt, gap, g_frac), tau_r[i], g_frac)
        v[i] = store_error(num, add(num, v[i], step), counters)


@njit(cache=True)
def output_errors(num, hp, has_target, rates, targets, outputs, counters, errors, s):
    """The output layer's nudging e_L = beta (y* - y), y = r_L (MSE) or
    softmax(r_L) (cross-entropy; float only); zero without a target."""
    a_frac = state_frac(num)
    g_frac = signal_frac(num)
    e_frac = error_frac(num)
    beta = constant(num, hp.beta, g_frac)
    output_from_pre(num, rates, hp.loss, outputs)
    for k in range(rates.shape[0]):
        if has_target:
            gap = sub(num, targets[k], outputs[k])
            errors[k] = store_error(num, mul(num, beta, gap, g_frac + a_frac - e_frac), counters)
        else:
            errors[k] = 0
        s[k] = errors[k]


@njit(cache=True)
def layer_learn(num, hp, W, b, w_frac, b_frac, presyn, errors, s, du, tau_m, tau_r, seed, step,
                key_offset, counters, signal, grads, moment1, moment2):  # fmt: skip
    """The layer's neuron-local updates: dW = eta dt e presyn^T, db = eta dt e,
    d tau_m = -eta_tau e du, d tau_r = eta_tau s du (clipped).

    With Adam (``moment1`` not empty; float only) the weights and biases take
    one Adam step at the learning rate instead, from the gradient estimate
    g = -dt e presyn^T (-dt e for b) written into ``grads``; ``moment1``,
    ``moment2`` and ``grads`` are the layer's W then b, flat. Every learning
    step is an update (Adam's t: the update counter plus one); the time
    constants keep their own rule. The learning rate (SGD's and Adam's) is
    stepped down by ``decay_factor`` every ``decay_every`` learning steps
    after ``decay_after`` (``rate_decay`` of the learning step ``step``);
    tau_learning_rate stays."""
    a_frac = state_frac(num)
    g_frac = signal_frac(num)
    e_frac = error_frac(num)
    adam = moment1.shape[0] > 0
    if hp.learning_rate != 0.0:
        # The rate of this learning step (decay_every: stepped down).
        rate = hp.learning_rate * rate_decay(hp, step)
        # SGD: the signal eta dt e, added to the weights; Adam: -dt e, the
        # gradient estimate's factor (Adam's step size is the learning rate).
        gain = -hp.dt if adam else rate * hp.dt
        mantissa, shift_of_factor = multiplier(num, gain)
        for i in range(W.shape[0]):
            signal[i] = store_signal(
                num, scaled(num, errors[i], mantissa, shift_of_factor, e_frac - g_frac), counters
            )
        size = W.shape[0] * W.shape[1]
        into_W = grads[:size].reshape(W.shape) if adam else W
        into_b = grads[size:] if adam else b
        # A change s * r has the signal's plus the states' fraction bits.
        matrix_update(num, into_W, not adam, signal, presyn, g_frac + a_frac - w_frac, seed, step,
                      key_offset, counters)  # fmt: skip
        bias_update(num, into_b, not adam, signal, g_frac - b_frac, seed, step,
                    key_offset + W.shape[0], counters)  # fmt: skip
        if adam:
            update_count = counters[C_UPDATES] + 1
            apply_update(num, W.reshape(size), grads[:size], moment1[:size], moment2[:size],
                         update_count, hp.optimizer, rate, hp.adam_beta1, hp.adam_beta2,
                         hp.adam_eps)  # fmt: skip
            apply_update(num, b, into_b, moment1[size:], moment2[size:], update_count,
                         hp.optimizer, rate, hp.adam_beta1, hp.adam_beta2,
                         hp.adam_eps)  # fmt: skip
    if hp.tau_learning_rate != 0.0:
        mantissa, shift_of_factor = multiplier(num, hp.tau_learning_rate)
        low = constant(num, hp.tau_min, g_frac)
        high = constant(num, hp.tau_max, g_frac)
        # e * du carries the errors' plus the states' fraction bits.
        shift = e_frac + a_frac - g_frac
        for i in range(W.shape[0]):
            change_m = scaled(num, mul(num, errors[i], du[i], 0), mantissa, shift_of_factor, shift)
            tau_m[i] = maximum(num, low, minimum(num, high, sub(num, tau_m[i], change_m)))
            change_r = scaled(num, mul(num, s[i], du[i], 0), mantissa, shift_of_factor, shift)
            tau_r[i] = maximum(num, low, minimum(num, high, add(num, tau_r[i], change_r)))


@njit(cache=True)
def layer_reset(num, u, v, rates, errors, prime):
    """Zero a layer's neurons (a new sequence): membranes, error traces,
    rates and errors; phi' back to 1."""
    one = constant(num, 1.0, state_frac(num))
    for i in range(u.shape[0]):
        u[i] = 0
        v[i] = 0
        rates[i] = 0
        errors[i] = 0
        prime[i] = one


@njit(cache=True)
def load_samples(num, values, present, counters, out):
    """A sample's real values (inputs or targets) as states; zeros when not
    ``present`` (a missing target, NaN, is never read)."""
    for k in range(values.shape[0]):
        out[k] = from_real(num, values[k], counters) if present else 0


@njit(cache=True)
def layer_step(num, hp, learn, output, first, has_target, W, b, w_frac, b_frac, presyn, back,
               targets, u, v, tau_m, tau_r, rates, errors, prime, counters, work, step,
               key_offset, grads, moment1, moment2):  # fmt: skip
    """One Euler step of one layer from what its neighbours held at the end
    of the previous step: ``presyn`` (r_{l-1}, or the sample) and ``back``
    (W_{l+1}^T e_{l+1}; hidden layers) or ``targets`` (the output layer).
    The output layer is linear, and so is the ``first`` hidden layer with the
    hyper-parameter ``linear`` = 1.
    Forward, errors, learning (``learn``), then the new rates, phi' and errors
    become the layer's state. Uses ``work``'s rows G_RATES..G_SIGNAL and G_OUT.
    ``grads``, ``moment1``, ``moment2``: the layer's W then b, flat, with Adam
    (see ``layer_learn``); empty with SGD.
    Returns the output layer's loss as a real number (NaN without a target,
    and for hidden layers)."""
    n = W.shape[0]
    new_rates = work[G_RATES, :n]
    new_prime = work[G_PRIME, :n]
    new_errors = work[G_ERRORS, :n]
    du = work[G_DU, :n]
    s = work[G_S, :n]
    linear = output or (first and hp.linear == 1)
    layer_forward(num, hp, linear, W, b, w_frac, b_frac, presyn, u, errors, tau_m, tau_r,
                  counters, new_rates, new_prime, du)  # fmt: skip
    loss = np.nan
    if output:
        outputs = work[G_OUT, :n]
        output_errors(num, hp, has_target, new_rates, targets, outputs, counters, new_errors, s)
        if has_target:
            loss = real_loss(num, loss_value(num, new_rates, outputs, targets, hp.loss))
    else:
        hidden_errors(num, hp, back, prime, v, tau_m, tau_r, counters, new_errors, s)
    if learn:
        layer_learn(num, hp, W, b, w_frac, b_frac, presyn, new_errors, s, du, tau_m, tau_r,
                    hp.seed, step, key_offset, counters, work[G_SIGNAL, :n], grads, moment1,
                    moment2)  # fmt: skip
    for i in range(n):
        rates[i] = new_rates[i]
        prime[i] = new_prime[i]
        errors[i] = new_errors[i]
    return loss


@njit(cache=True)
def gle_step(num, hp, learn, sizes, fan_ins, params, weight_fracs, grads, moment1, moment2, tau_m,
             tau_r, u, v, rates, errors, prime, counters, work, inputs_t, targets_t, has_target,
             reset, average):  # fmt: skip
    """One Euler step of the whole network (host schedule). Every layer
    steps from its neighbours' previous values: first every hidden layer's
    backprojected error is formed from the previous step's errors and the
    weights above it (and its own, if recurrent), then the layers step from
    the top down (so each reads the previous rates of the layer below it).
    The Lava target runs the same ``layer_step`` in one process per layer.
    ``grads``, ``moment1``, ``moment2``: Adam's gradient buffer and moments,
    flat like ``params`` (empty: SGD). A learning step with ``average``
    non-empty (hyper-parameter ``average`` > 0, float, host only) then folds
    the weights and biases into their moving average (the time constants
    are not averaged). Returns the step's loss ||y - y*||^2 (or cross-entropy) as a real number,
    NaN without a target."""
    n_layers = sizes.shape[0] - 1
    w_offsets, b_offsets, neuron_offsets = layer_geometry(sizes, fan_ins)
    n_neurons = neuron_offsets[n_layers]
    if reset:
        layer_reset(num, u, v, rates, errors, prime)
    inputs = work[G_INPUT, : inputs_t.shape[0]]
    load_samples(num, inputs_t, True, counters, inputs)
    back = work[G_BACK, :n_neurons]
    for k in range(n_layers - 1):
        n_post, n_next = sizes[k + 1], sizes[k + 2]
        W_next = params[w_offsets[k + 1] : w_offsets[k + 1] + n_next * fan_ins[k + 1]].reshape(
            (n_next, fan_ins[k + 1])
        )
        lo, hi = neuron_offsets[k], neuron_offsets[k + 1]
        backproject(num, W_next, 0, weight_fracs[2 * k + 2], errors[hi : neuron_offsets[k + 2]],
                    back[lo:hi], False)  # fmt: skip
        if fan_ins[k] > sizes[k]:  # recurrent: its own errors back through W_l's last columns
            W = params[w_offsets[k] : w_offsets[k] + n_post * fan_ins[k]].reshape(
                (n_post, fan_ins[k])
            )
            backproject(num, W, sizes[k], weight_fracs[2 * k], errors[lo:hi], back[lo:hi], True)
    n_out = sizes[n_layers]
    targets = work[G_TARGET, :n_out]
    load_samples(num, targets_t, has_target, counters, targets)
    step = counters[C_STEP]
    loss = np.nan
    for k in range(n_layers - 1, -1, -1):
        n_pre, n_post, fan_in = sizes[k], sizes[k + 1], fan_ins[k]
        W = params[w_offsets[k] : w_offsets[k] + n_post * fan_in].reshape((n_post, fan_in))
        b = params[b_offsets[k] : b_offsets[k] + n_post]
        lo, hi = neuron_offsets[k], neuron_offsets[k + 1]
        output = k == n_layers - 1
        w_frac, b_frac = weight_fracs[2 * k], weight_fracs[2 * k + 1]
        # The layer's W then b in Adam's flat arrays (empty slices with SGD).
        p_lo = w_offsets[k] if moment1.shape[0] > 0 else 0
        p_hi = b_offsets[k] + n_post if moment1.shape[0] > 0 else 0
        below = rates[neuron_offsets[k - 1] : lo] if k > 0 else rates[0:0]
        # (Separate calls: the work rows and the rates may differ in type.)
        if fan_in > n_pre or k == 0:
            presyn = work[G_PRESYN, :fan_in]
            for j in range(n_pre):
                presyn[j] = inputs[j] if k == 0 else below[j]
            for j in range(fan_in - n_pre):  # a recurrent layer's own previous rates
                presyn[n_pre + j] = rates[lo + j]
            layer_loss = layer_step(
                num, hp, learn, output, k == 0, has_target, W, b, w_frac, b_frac, presyn,
                back[lo:hi],
                targets, u[lo:hi], v[lo:hi], tau_m[lo:hi], tau_r[lo:hi], rates[lo:hi],
                errors[lo:hi], prime[lo:hi], counters, work, step, w_offsets[k],
                grads[p_lo:p_hi], moment1[p_lo:p_hi], moment2[p_lo:p_hi],
            )  # fmt: skip
        else:
            layer_loss = layer_step(
                num, hp, learn, output, k == 0, has_target, W, b, w_frac, b_frac, below,
                back[lo:hi],
                targets, u[lo:hi], v[lo:hi], tau_m[lo:hi], tau_r[lo:hi], rates[lo:hi],
                errors[lo:hi], prime[lo:hi], counters, work, step, w_offsets[k],
                grads[p_lo:p_hi], moment1[p_lo:p_hi], moment2[p_lo:p_hi],
            )  # fmt: skip
        if output:
            loss = layer_loss
    count_learning_step(counters, learn)
    if learn and average.shape[0] > 0:
        average_weights(num, params, average, counters[C_STEP], hp.average)
    return loss
