"""The forward step shared by every rule of the perturbation family and by
BPTT (ALGORITHMS.md §1, Forward step):

    alpha_t = A u_t + R x*_{t-1} + b        x_t  = tanh(alpha_t)
    x*_t    = D x_t                          beta_t = B x*_t + c
    y_t     = beta_t (MSE) or softmax(beta_t) (cross-entropy)

Weights live in one flat parameter vector; ``unpack`` returns named views.
"""

import numpy as np
from numba import njit
from timelocal.kernels.codes import LOSS_MSE, W_ALPHA, W_BETA, W_DRATES, W_OUT, W_RATES


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
def decorrelate(decorrelation, rates, out):
    """out = D x; an empty D stands for the identity (no decorrelation)."""
    n = rates.shape[0]
    if decorrelation.shape[0] == 0:
        for i in range(n):
            out[i] = rates[i]
        return
    for i in range(n):
        acc = 0.0
        for j in range(n):
            acc += decorrelation[i, j] * rates[j]
        out[i] = acc


@njit(cache=True)
def output_from_pre(beta, loss_kind, out):
    """y = beta (MSE) or softmax(beta) (cross-entropy), written into out."""
    m = beta.shape[0]
    if loss_kind == LOSS_MSE:
        for k in range(m):
            out[k] = beta[k]
        return
    top = beta[0]
    for k in range(1, m):
        top = max(top, beta[k])
    total = 0.0
    for k in range(m):
        out[k] = np.exp(beta[k] - top)
        total += out[k]
    for k in range(m):
        out[k] /= total


@njit(cache=True)
def step_loss(beta, outputs, targets, loss_kind):
    """l_t: squared error, or cross-entropy of softmax(beta) against targets."""
    m = beta.shape[0]
    loss = 0.0
    if loss_kind == LOSS_MSE:
        for k in range(m):
            d = outputs[k] - targets[k]
            loss += d * d
        return loss
    top = beta[0]
    for k in range(1, m):
        top = max(top, beta[k])
    total = 0.0
    for k in range(m):
        total += np.exp(beta[k] - top)
    log_norm = top + np.log(total)
    for k in range(m):
        if targets[k] != 0.0:
            loss -= targets[k] * (beta[k] - log_norm)
    return loss


@njit(cache=True)
def output_gradient(outputs, targets, loss_kind, out):
    """d l_t / d beta_t: 2 (y - y*) for MSE, softmax - y* for cross-entropy."""
    scale = 2.0 if loss_kind == LOSS_MSE else 1.0
    for k in range(outputs.shape[0]):
        out[k] = scale * (outputs[k] - targets[k])


@njit(cache=True)
def forward_step(
    params,
    decorrelation,
    prev_drates,
    inputs_t,
    hidden_noise,
    output_noise,
    n_in,
    n_hidden,
    n_out,
    loss_kind,
    alpha,
    rates,
    drates,
    beta,
    outputs,
):
    """One clean forward step (prediction and BPTT)."""
    empty = alpha[:0]
    twin_forward_step(
        params, decorrelation, prev_drates, prev_drates[:0], inputs_t, hidden_noise,
        output_noise, n_in, n_hidden, n_out, loss_kind, alpha, rates, drates, beta, outputs,
        empty, empty, empty, empty, empty,
    )  # fmt: skip


@njit(cache=True)
def twin_forward_step(
    params,
    decorrelation,
    prev_drates,
    noisy_prev_drates,
    inputs_t,
    hidden_noise,
    output_noise,
    n_in,
    n_hidden,
    n_out,
    loss_kind,
    alpha,
    rates,
    drates,
    beta,
    outputs,
    noisy_alpha,
    noisy_rates,
    noisy_drates,
    noisy_beta,
    noisy_outputs,
):
    """The clean pass and, if ``noisy_prev_drates`` is not empty, node
    perturbation's noisy copy in the same sweep over each weight matrix (each
    weight is read once for both copies: the step is memory-bound).

    The noise vectors are added to the noisy copy's pre-activations; without a
    noisy copy, non-empty noise vectors go to the clean pass instead."""
    A, R, B, b, c = unpack(params, n_in, n_hidden, n_out)
    twin = noisy_prev_drates.shape[0] > 0
    noisy_hidden = hidden_noise.shape[0] > 0
    noisy_out = output_noise.shape[0] > 0
    for i in range(n_hidden):
        acc = b[i]
        for j in range(n_in):
            acc += A[i, j] * inputs_t[j]
        if twin:
            noisy_acc = acc
            for j in range(n_hidden):
                acc += R[i, j] * prev_drates[j]
                noisy_acc += R[i, j] * noisy_prev_drates[j]
            if noisy_hidden:
                noisy_acc += hidden_noise[i]
            noisy_alpha[i] = noisy_acc
            noisy_rates[i] = np.tanh(noisy_acc)
        else:
            for j in range(n_hidden):
                acc += R[i, j] * prev_drates[j]
            if noisy_hidden:
                acc += hidden_noise[i]
        alpha[i] = acc
        rates[i] = np.tanh(acc)
    if twin and decorrelation.shape[0] > 0:
        for i in range(n_hidden):
            acc = 0.0
            noisy_acc = 0.0
            for j in range(n_hidden):
                acc += decorrelation[i, j] * rates[j]
                noisy_acc += decorrelation[i, j] * noisy_rates[j]
            drates[i] = acc
            noisy_drates[i] = noisy_acc
    else:
        decorrelate(decorrelation, rates, drates)
        if twin:
            decorrelate(decorrelation, noisy_rates, noisy_drates)
    for k in range(n_out):
        acc = c[k]
        if twin:
            noisy_acc = acc
            for j in range(n_hidden):
                acc += B[k, j] * drates[j]
                noisy_acc += B[k, j] * noisy_drates[j]
            if noisy_out:
                noisy_acc += output_noise[k]
            noisy_beta[k] = noisy_acc
        else:
            for j in range(n_hidden):
                acc += B[k, j] * drates[j]
            if noisy_out:
                acc += output_noise[k]
        beta[k] = acc
    output_from_pre(beta, loss_kind, outputs)
    if twin:
        output_from_pre(noisy_beta, loss_kind, noisy_outputs)


@njit(cache=True)
def predict_step(hp, params, decorrelation, drates, work, inputs_t, targets_t, has_target,
                 n_in, n_hidden, n_out):  # fmt: skip
    """The clean pass alone, no learning (evaluation and ``predict``).
    Advances the clean rates; returns l_t, or NaN without a target."""
    empty = work[W_ALPHA, :0]
    beta = work[W_BETA, :n_out]
    outputs = work[W_OUT, :n_out]
    new_drates = work[W_DRATES, :n_hidden]
    forward_step(
        params, decorrelation, drates, inputs_t, empty, empty, n_in, n_hidden, n_out, hp.loss,
        work[W_ALPHA, :n_hidden], work[W_RATES, :n_hidden], new_drates, beta, outputs,
    )  # fmt: skip
    for i in range(n_hidden):
        drates[i] = new_drates[i]
    if has_target:
        return step_loss(beta, outputs, targets_t, hp.loss)
    return np.nan
