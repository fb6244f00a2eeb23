"""Truncated BPTT over a window of T steps: the offline reference that the
time-local rules are compared with (ALGORITHMS.md §1, BPTT).

NOT time-local: it stores the whole window (inputs, rates, outputs) and runs a
backward phase every T steps. The network and its forward step are the ones
the perturbation rules use; D stays fixed inside a window and is updated with
the same rank-1 rule, step by step, once the window's gradient is applied.
"""

import numpy as np
from numba import njit
from timelocal.kernels.codes import (
    C_STEP,
    C_UPDATES,
    C_WINDOW_POS,
    W_ALPHA,
    W_BETA,
    W_DRATES,
    W_OUT,
    W_RATES,
    W_TMP_A,
    W_TMP_B,
    W_TMP_C,
    W_TMP_D,
)
from timelocal.kernels.decorrelation import decorrelation_update
from timelocal.kernels.forward import (
    decorrelate_into,
    forward_step,
    output_gradient,
    step_loss,
    unpack,
)
from timelocal.kernels.numeric import add, divide, mac, mul, sub, synapse
from timelocal.kernels.optim import apply_update


@njit(cache=True)
def window_gradient(
    num,
    params,
    grads,
    decorrelation,
    window_start,
    window_inputs,
    window_targets,
    window_has_target,
    window_reset,
    window_rates,
    window_drates,
    window_outputs,
    work,
    loss_kind,
    n_in,
    n_hidden,
    n_out,
):
    """Exact gradient of the mean loss over the window's target steps, with
    respect to (A, R, B, b, c); the state before the window is held fixed.
    Returns the number of target steps (0: no gradient written)."""
    steps = window_inputs.shape[0]
    count = 0
    for tau in range(steps):
        if window_has_target[tau]:
            count += 1
    if count == 0:
        return 0
    A, R, B, b, c = unpack(params, n_in, n_hidden, n_out)
    gA, gR, gB, gb, gc = unpack(grads, n_in, n_hidden, n_out)
    grads[:] = 0.0
    carry = work[W_TMP_A, :n_hidden]  # dL/dx*_tau arriving from step tau+1
    d_drates = work[W_TMP_B, :n_hidden]
    d_beta = work[W_TMP_C, :n_out]
    d_alpha = work[W_TMP_D, :n_hidden]
    carry[:] = 0.0
    for tau in range(steps - 1, -1, -1):
        d_drates[:] = carry
        if window_has_target[tau]:
            output_gradient(num, window_outputs[tau], window_targets[tau], loss_kind, d_beta)
            for k in range(n_out):
                d_beta[k] = divide(num, d_beta[k], count, 0)
                gc[k] = add(num, gc[k], d_beta[k])
                for j in range(n_hidden):
                    gB[k, j] = mac(num, gB[k, j], d_beta[k], window_drates[tau, j], 0)
                    d_drates[j] = synapse(num, d_drates[j], B[k, j], d_beta[k], 0)
        # x* = D x, so dL/dx = D^T dL/dx*; then through tanh: 1 - x^2.
        if decorrelation.shape[0] > 0:
            d_alpha[:] = 0.0
            for i in range(n_hidden):
                for j in range(n_hidden):
                    d_alpha[j] = synapse(num, d_alpha[j], decorrelation[i, j], d_drates[i], 0)
        else:
            d_alpha[:] = d_drates
        for i in range(n_hidden):
            rate = window_rates[tau, i]
            d_alpha[i] = mul(num, d_alpha[i], sub(num, 1.0, mul(num, rate, rate, 0)), 0)
        cut = window_reset[tau]
        for i in range(n_hidden):
            g = d_alpha[i]
            gb[i] = add(num, gb[i], g)
            for j in range(n_in):
                gA[i, j] = mac(num, gA[i, j], g, window_inputs[tau, j], 0)
            if not cut:
                for j in range(n_hidden):
                    prev = window_start[j] if tau == 0 else window_drates[tau - 1, j]
                    gR[i, j] = mac(num, gR[i, j], g, prev, 0)
        carry[:] = 0.0
        if not cut:
            for i in range(n_hidden):
                g = d_alpha[i]
                for j in range(n_hidden):
                    carry[j] = synapse(num, carry[j], R[i, j], g, 0)
    return count


@njit(cache=True)
def bptt_train_step(
    num,
    hp,
    params,
    weight_fracs,
    grads,
    moment1,
    moment2,
    decorrelation,
    drates,
    counters,
    work,
    window_start,
    window_inputs,
    window_targets,
    window_has_target,
    window_reset,
    window_rates,
    window_drates,
    window_outputs,
    inputs_t,
    targets_t,
    has_target,
    reset,
    n_in,
    n_hidden,
    n_out,
):
    """One forward step stored in the window; when the window is full, one
    gradient step on it (and D's updates). Returns l_t (NaN without target).
    Float only (``num`` is a FloatNumeric): BPTT is the reference."""
    position = counters[C_WINDOW_POS]
    if position == 0:
        window_start[:] = drates
    empty = work[W_ALPHA, :0]
    beta = work[W_BETA, :n_out]
    outputs = work[W_OUT, :n_out]
    rates = work[W_RATES, :n_hidden]
    new_drates = work[W_DRATES, :n_hidden]
    forward_step(
        num, params, weight_fracs, decorrelation, drates, inputs_t, empty, empty, n_in, n_hidden,
        n_out, hp.loss, counters, work[W_ALPHA, :n_hidden], rates, new_drates, beta, outputs,
    )  # fmt: skip
    window_inputs[position] = inputs_t
    window_targets[position] = targets_t
    window_has_target[position] = has_target
    window_reset[position] = reset
    window_rates[position] = rates
    window_drates[position] = new_drates
    window_outputs[position] = outputs
    loss = np.nan
    if has_target:
        loss = step_loss(num, beta, outputs, targets_t, hp.loss)
    drates[:] = new_drates
    counters[C_STEP] += 1
    position += 1
    if position == window_inputs.shape[0]:
        count = window_gradient(
            num, params, grads, decorrelation, window_start, window_inputs, window_targets,
            window_has_target, window_reset, window_rates, window_drates, window_outputs,
            work, hp.loss, n_in, n_hidden, n_out,
        )  # fmt: skip
        if count > 0:
            counters[C_UPDATES] += 1
            apply_update(
                num, params, grads, moment1, moment2, counters[C_UPDATES], hp.optimizer,
                hp.learning_rate, hp.adam_beta1, hp.adam_beta2, hp.adam_eps,
            )  # fmt: skip
        if decorrelation.shape[0] > 0:
            for tau in range(window_inputs.shape[0]):
                decorrelate_into(num, decorrelation, 0, window_rates[tau],
                                 work[W_TMP_B, :n_hidden], counters)  # fmt: skip
                decorrelation_update(
                    num, decorrelation, weight_fracs, work[W_TMP_B, :n_hidden],
                    hp.decorrelation_rate, work[W_TMP_A], hp.seed, counters[C_STEP], counters,
                )  # fmt: skip
        position = 0
    counters[C_WINDOW_POS] = position
    return loss
