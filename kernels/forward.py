"""The forward step shared by every rule of the perturbation family and by
BPTT (ALGORITHMS.md §1, Forward step):

    alpha_t = A u_t + R x*_{t-1} + b        x_t  = tanh(alpha_t)
    x*_t    = D x_t                          beta_t = B x*_t + c
    y_t     = beta_t (MSE) or softmax(beta_t) (cross-entropy)

Weights live in one flat parameter vector; ``unpack`` returns named views.
Every multiply, store and activation goes through the numeric primitives
(kernels/numeric.py), so this one definition is the float and the fixed-point
forward step; ``weight_fracs`` holds each matrix's fraction bits (fixed point).
"""

import numpy as np
from numba import njit
from numba.extending import overload
from timelocal.kernels.codes import (
    C_STEP,
    C_UPDATES,
    LOSS_MSE,
    W_INPUT,
    W_TARGET,
)
from timelocal.kernels.numeric import (
    FRAC_A,
    FRAC_B,
    FRAC_BIAS_H,
    FRAC_BIAS_O,
    FRAC_D,
    FRAC_R,
    activation,
    add,
    constant,
    divide,
    exponential,
    fixed_type,
    from_real,
    logarithm,
    mac,
    maximum,
    mul,
    read,
    rescale,
    state_frac,
    store_state,
    sub,
    synapse,
    to_real,
    zero,
)


@njit(cache=True)
def unpack(flat, n_in, n_hidden, n_out):
    """Views (A, R, B, b, c) into a flat vector laid out in that order."""
    o = 0
    A = flat[o : o + n_hidden * n_in].reshape((n_hidden, n_in))
    o += n_hidden * n_in
    R = flat[o : o + n_hidden * n_hidden].reshape((n_hidden, n_hidden))
    o += n_hidden * n_hidden
    B = flat[o : o + n_out * n_hidden].reshape((n_out, n_hidden))
    o += n_out * n_hidden
    b = flat[o : o + n_hidden]
    o += n_hidden
    c = flat[o : o + n_out]
    return A, R, B, b, c


@njit(cache=True)
def load_inputs(num, inputs_t, work, counters):
    """The sample's inputs as states in work row W_INPUT (fixed point: rounded
    to the state format and saturated); returns the row."""
    inputs = work[W_INPUT, : inputs_t.shape[0]]
    for j in range(inputs_t.shape[0]):
        inputs[j] = from_real(num, inputs_t[j], counters)
    return inputs


@njit(cache=True)
def load_targets(num, targets_t, work, counters):
    """The sample's targets as states in work row W_TARGET; returns the row."""
    targets = work[W_TARGET, : targets_t.shape[0]]
    for k in range(targets_t.shape[0]):
        value = targets_t[k]
        # A missing target (NaN) is never read; keep the row finite.
        targets[k] = from_real(num, value if value == value else 0.0, counters)
    return targets


@njit(cache=True)
def decorrelate_into(num, decorrelation, frac, rates, out, counters):
    """out = D x; an empty D stands for the identity (no decorrelation)."""
    n = rates.shape[0]
    if decorrelation.shape[0] == 0:
        for i in range(n):
            out[i] = rates[i]
        return
    for i in range(n):
        acc = zero(num)
        for j in range(n):
            acc = synapse(num, acc, decorrelation[i, j], rates[j], frac)
        out[i] = store_state(num, acc, counters)


@njit(cache=True)
def output_from_pre(num, beta, loss_kind, out):
    """y = beta (MSE) or softmax(beta) (cross-entropy), written into out.
    (Fixed point supports MSE only: the precision refuses cross-entropy.)"""
    if loss_kind == LOSS_MSE:
        for k in range(beta.shape[0]):
            out[k] = beta[k]
        return
    softmax_into(num, beta, out)


def softmax_into(num, beta, out):
    """out = softmax(beta) (float only)."""


@overload(softmax_into)
def _softmax_into(num, beta, out):
    if fixed_type(num):
        # Never reached: the precision refuses cross-entropy in fixed point.
        return lambda num, beta, out: None

    def impl(num, beta, out):
        m = beta.shape[0]
        top = beta[0]
        for k in range(1, m):
            top = maximum(num, top, beta[k])
        total = 0.0
        for k in range(m):
            out[k] = exponential(num, sub(num, beta[k], top))
            total = add(num, total, out[k])
        for k in range(m):
            out[k] = divide(num, out[k], total, 0)

    return impl


@njit(cache=True)
def step_loss(num, beta, outputs, targets, loss_kind):
    """l_t in float: squared error, or cross-entropy of softmax(beta)."""
    m = beta.shape[0]
    loss = 0.0
    if loss_kind == LOSS_MSE:
        for k in range(m):
            d = sub(num, outputs[k], targets[k])
            loss = mac(num, loss, d, d, 0)
        return loss
    top = beta[0]
    for k in range(1, m):
        top = maximum(num, top, beta[k])
    total = 0.0
    for k in range(m):
        total = add(num, total, exponential(num, sub(num, beta[k], top)))
    log_norm = add(num, top, logarithm(num, total))
    for k in range(m):
        if targets[k] != 0.0:
            loss = sub(num, loss, mul(num, targets[k], sub(num, beta[k], log_norm), 0))
    return loss


@njit(cache=True)
def squared_error_exact(num, outputs, targets):
    """||y - y*||^2 of fixed-point states, exact: twice the states' fraction
    bits, 64-bit (so the two copies' loss difference has no rounding)."""
    loss = np.int64(0)
    for k in range(outputs.shape[0]):
        d = sub(num, np.int64(outputs[k]), np.int64(targets[k]))
        loss = mac(num, loss, d, d, 0)
    return loss


def loss_value(num, beta, outputs, targets, loss_kind):
    """l_t: ``step_loss`` in float, ``squared_error_exact`` in fixed point."""


@overload(loss_value)
def _loss_value(num, beta, outputs, targets, loss_kind):
    if fixed_type(num):
        return lambda num, beta, outputs, targets, loss_kind: squared_error_exact(
            num, outputs, targets
        )
    return lambda num, beta, outputs, targets, loss_kind: step_loss(
        num, beta, outputs, targets, loss_kind
    )


@njit(cache=True)
def real_loss(num, loss):
    """A loss from ``step_loss`` as a real number."""
    return to_real(num, loss, 2 * state_frac(num))


@njit(cache=True)
def count_learning_step(counters, learn):
    """Count a learning step: the ``step`` key of every noise draw and
    stochastic rounding (GLE, TPTT, LRA; each Lava process counts its own)."""
    if learn:
        counters[C_STEP] += 1
        counters[C_UPDATES] += 1


@njit(cache=True)
def rate_and_slope(num, value):
    """phi(value) = tanh and its slope 1 - phi^2, both in the state format."""
    a_frac = state_frac(num)
    rate = activation(num, value)
    return rate, sub(num, constant(num, 1.0, a_frac), mul(num, rate, rate, a_frac))


@njit(cache=True)
def output_gradient(num, outputs, targets, loss_kind, out):
    """d l_t / d beta_t: 2 (y - y*) for MSE, softmax - y* for cross-entropy."""
    scale = 2.0 if loss_kind == LOSS_MSE else 1.0
    for k in range(outputs.shape[0]):
        out[k] = mul(num, scale, sub(num, outputs[k], targets[k]), 0)


@njit(cache=True)
def hidden_twin_forward(
    num,
    A,
    R,
    b,
    decorrelation,
    weight_fracs,
    prev_drates,
    noisy_prev_drates,
    inputs,
    hidden_noise,
    counters,
    alpha,
    rates,
    drates,
    noisy_alpha,
    noisy_rates,
    noisy_drates,
):
    """The hidden layer's clean pass and, if ``noisy_prev_drates`` is not
    empty, node perturbation's noisy copy in the same sweep over A and R (each
    weight is read once for both copies: the step is memory-bound).

    ``inputs`` are states (``load_inputs``). The noise (states) is added to
    the noisy copy's pre-activations; without a noisy copy, a non-empty noise
    vector goes to the clean pass instead."""
    n_hidden, n_in = A.shape
    a_frac = state_frac(num)
    frac_A = weight_fracs[FRAC_A]
    frac_R = weight_fracs[FRAC_R]
    bias_shift = weight_fracs[FRAC_BIAS_H] - a_frac
    twin = noisy_prev_drates.shape[0] > 0
    noisy = hidden_noise.shape[0] > 0
    for i in range(n_hidden):
        acc = rescale(num, read(num, b[i]), bias_shift)
        for j in range(n_in):
            acc = synapse(num, acc, A[i, j], inputs[j], frac_A)
        if twin:
            # The input's part is the same for both copies; each R[i, j] is
            # read once for both.
            noisy_acc = acc
            for j in range(n_hidden):
                acc = synapse(num, acc, R[i, j], prev_drates[j], frac_R)
                noisy_acc = mac(num, noisy_acc, R[i, j], noisy_prev_drates[j], frac_R)
            if noisy:
                noisy_acc = add(num, noisy_acc, hidden_noise[i])
            noisy_alpha[i] = store_state(num, noisy_acc, counters)
            noisy_rates[i] = activation(num, noisy_alpha[i])
        else:
            for j in range(n_hidden):
                acc = synapse(num, acc, R[i, j], prev_drates[j], frac_R)
            if noisy:
                acc = add(num, acc, hidden_noise[i])
        alpha[i] = store_state(num, acc, counters)
        rates[i] = activation(num, alpha[i])
    if twin and decorrelation.shape[0] > 0:
        frac_D = weight_fracs[FRAC_D]
        for i in range(n_hidden):
            acc = zero(num)
            noisy_acc = zero(num)
            for j in range(n_hidden):
                acc = synapse(num, acc, decorrelation[i, j], rates[j], frac_D)
                noisy_acc = mac(num, noisy_acc, decorrelation[i, j], noisy_rates[j], frac_D)
            drates[i] = store_state(num, acc, counters)
            noisy_drates[i] = store_state(num, noisy_acc, counters)
    else:
        decorrelate_into(num, decorrelation, weight_fracs[FRAC_D], rates, drates, counters)
        if twin:
            decorrelate_into(
                num, decorrelation, weight_fracs[FRAC_D], noisy_rates, noisy_drates, counters
            )


@njit(cache=True)
def output_twin_forward(
    num,
    B,
    c,
    weight_fracs,
    drates,
    noisy_drates,
    output_noise,
    loss_kind,
    counters,
    beta,
    outputs,
    noisy_beta,
    noisy_outputs,
):
    """The readout of both copies (the noisy one if ``noisy_drates`` is not
    empty) in one sweep over B; noise as in ``hidden_twin_forward``."""
    n_out = B.shape[0]
    n_hidden = B.shape[1]
    frac_B = weight_fracs[FRAC_B]
    bias_shift = weight_fracs[FRAC_BIAS_O] - state_frac(num)
    twin = noisy_drates.shape[0] > 0
    noisy = output_noise.shape[0] > 0
    for k in range(n_out):
        acc = rescale(num, read(num, c[k]), bias_shift)
        if twin:
            noisy_acc = acc
            for j in range(n_hidden):
                acc = synapse(num, acc, B[k, j], drates[j], frac_B)
                noisy_acc = mac(num, noisy_acc, B[k, j], noisy_drates[j], frac_B)
            if noisy:
                noisy_acc = add(num, noisy_acc, output_noise[k])
            noisy_beta[k] = store_state(num, noisy_acc, counters)
        else:
            for j in range(n_hidden):
                acc = synapse(num, acc, B[k, j], drates[j], frac_B)
            if noisy:
                acc = add(num, acc, output_noise[k])
        beta[k] = store_state(num, acc, counters)
    output_from_pre(num, beta, loss_kind, outputs)
    if twin:
        output_from_pre(num, noisy_beta, loss_kind, noisy_outputs)


@njit(cache=True)
def forward_step(
    num,
    params,
    weight_fracs,
    decorrelation,
    prev_drates,
    inputs,
    hidden_noise,
    output_noise,
    n_in,
    n_hidden,
    n_out,
    loss_kind,
    counters,
    alpha,
    rates,
    drates,
    beta,
    outputs,
):
    """One clean forward step of both layers on the flat parameter vector (BPTT)."""
    A, R, B, b, c = unpack(params, n_in, n_hidden, n_out)
    empty = alpha[:0]
    hidden_twin_forward(
        num, A, R, b, decorrelation, weight_fracs, prev_drates, empty, inputs, hidden_noise,
        counters, alpha, rates, drates, empty, empty, empty,
    )  # fmt: skip
    output_twin_forward(
        num, B, c, weight_fracs, drates, empty, output_noise, loss_kind, counters, beta, outputs,
        empty, empty,
    )  # fmt: skip


@njit(cache=True)
def states_to_real(num, values, out):
    """out = the real numbers that the states ``values`` stand for."""
    frac = state_frac(num)
    for i in range(values.shape[0]):
        out[i] = to_real(num, values[i], frac)
