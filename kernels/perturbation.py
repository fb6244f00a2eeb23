"""The perturbation family: NP, ANP and WP through time, with or without
decorrelation (ALGORITHMS.md §1; seed 000 with its errata corrected).

A clean and a noisy copy of the network run forward in lockstep with the same
weights; each step's loss difference dl_t = l~_t - l_t drives a gradient
estimate for the weights of *this* step, applied at once. Every estimator
writes an estimate of d l_t / d(A, R, B, b, c) into ``grads`` (same flat layout
as the parameters); the optimiser then descends it.
"""

import numpy as np
from numba import njit
from timelocal.kernels.codes import (
    C_SKIP_HIDDEN,
    C_SKIP_OUTPUT,
    C_STEP,
    C_UPDATES,
    OPT_SGD,
    RULE_ANP,
    RULE_WP,
    W_ALPHA,
    W_BETA,
    W_DRATES,
    W_HIDDEN_NOISE,
    W_NOISY_ALPHA,
    W_NOISY_BETA,
    W_NOISY_DRATES,
    W_NOISY_OUT,
    W_NOISY_RATES,
    W_OUT,
    W_OUTPUT_NOISE,
    W_RATES,
    W_TMP_A,
)
from timelocal.kernels.decorrelation import decorrelation_update
from timelocal.kernels.forward import (
    decorrelate,
    forward_step,
    output_from_pre,
    step_loss,
    twin_forward_step,
    unpack,
)
from timelocal.kernels.optim import apply_update
from timelocal.kernels.rng import HIDDEN_NOISE, OUTPUT_NOISE, WEIGHT_NOISE, gaussian


@njit(cache=True)
def node_noise(seed, step, sigma, hidden_noise, output_noise):
    """xi_t ~ N(0, sigma^2 I_n) and nu_t ~ N(0, sigma^2 I_out), keyed by step."""
    for i in range(hidden_noise.shape[0]):
        hidden_noise[i] = sigma * gaussian(seed, HIDDEN_NOISE, step, i)
    for k in range(output_noise.shape[0]):
        output_noise[k] = sigma * gaussian(seed, OUTPUT_NOISE, step, k)


@njit(cache=True)
def weight_noisy_forward(
    params,
    decorrelation,
    prev_drates,
    inputs_t,
    seed,
    step,
    sigma,
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
    """WP's noisy copy (Eq. 5): the forward step with weights W + sigma z,
    z drawn per flat parameter index and never stored."""
    A, R, B, b, c = unpack(params, n_in, n_hidden, n_out)
    offset_R = n_hidden * n_in
    offset_B = offset_R + n_hidden * n_hidden
    offset_b = offset_B + n_out * n_hidden
    offset_c = offset_b + n_hidden
    for i in range(n_hidden):
        acc = b[i] + sigma * gaussian(seed, WEIGHT_NOISE, step, offset_b + i)
        for j in range(n_in):
            weight = A[i, j] + sigma * gaussian(seed, WEIGHT_NOISE, step, i * n_in + j)
            acc += weight * inputs_t[j]
        for j in range(n_hidden):
            weight = R[i, j] + sigma * gaussian(
                seed, WEIGHT_NOISE, step, offset_R + i * n_hidden + j
            )
            acc += weight * prev_drates[j]
        alpha[i] = acc
        rates[i] = np.tanh(acc)
    decorrelate(decorrelation, rates, drates)
    for k in range(n_out):
        acc = c[k] + sigma * gaussian(seed, WEIGHT_NOISE, step, offset_c + k)
        for j in range(n_hidden):
            weight = B[k, j] + sigma * gaussian(
                seed, WEIGHT_NOISE, step, offset_B + k * n_hidden + j
            )
            acc += weight * drates[j]
        beta[k] = acc
    output_from_pre(beta, loss_kind, outputs)


@njit(cache=True)
def outer_update(
    flat, factor, accumulate, hidden_signal, output_signal, inputs_t, prev_drates, drates
):
    """Rank-1 estimates with the clean pass's presynaptic factors:
    dA = s u^T, dR = s x*_{t-1}^T, db = s, dB = o x*_t^T, dc = o.

    ``accumulate``: add ``factor`` times the estimate to ``flat`` (plain SGD
    straight into the weights, factor = -learning rate: no extra pass);
    otherwise write the estimate into ``flat`` (the gradient buffer)."""
    n_hidden = hidden_signal.shape[0]
    n_in = inputs_t.shape[0]
    n_out = output_signal.shape[0]
    A, R, B, b, c = unpack(flat, n_in, n_hidden, n_out)
    for i in range(n_hidden):
        s = hidden_signal[i]
        if accumulate:
            for j in range(n_in):
                A[i, j] += factor * (s * inputs_t[j])
            for j in range(n_hidden):
                R[i, j] += factor * (s * prev_drates[j])
            b[i] += factor * s
        else:
            for j in range(n_in):
                A[i, j] = s * inputs_t[j]
            for j in range(n_hidden):
                R[i, j] = s * prev_drates[j]
            b[i] = s
    for k in range(n_out):
        o = output_signal[k]
        if accumulate:
            for j in range(n_hidden):
                B[k, j] += factor * (o * drates[j])
            c[k] += factor * o
        else:
            for j in range(n_hidden):
                B[k, j] = o * drates[j]
            c[k] = o


@njit(cache=True)
def np_estimate(
    flat, factor, accumulate, loss_delta, sigma, hidden_noise, output_noise, inputs_t,
    prev_drates, drates, signal,
):  # fmt: skip
    """NP, Eq. 2 corrected: dW = sigma^-2 dl_t (noise) (presynaptic)^T."""
    n_hidden = hidden_noise.shape[0]
    n_out = output_noise.shape[0]
    coef = loss_delta / (sigma * sigma)
    hidden_signal = signal[:n_hidden]
    output_signal = signal[n_hidden : n_hidden + n_out]
    for i in range(n_hidden):
        hidden_signal[i] = coef * hidden_noise[i]
    for k in range(n_out):
        output_signal[k] = coef * output_noise[k]
    outer_update(
        flat, factor, accumulate, hidden_signal, output_signal, inputs_t, prev_drates, drates
    )


@njit(cache=True)
def anp_estimate(
    flat,
    factor,
    accumulate,
    counters,
    loss_delta,
    scale,
    floor,
    alpha,
    noisy_alpha,
    beta,
    noisy_beta,
    inputs_t,
    prev_drates,
    drates,
    signal,
):
    """ANP, Eq. 3 corrected: dW = c dl_t d(pre) / ||d(pre)||^2 (presynaptic)^T,
    the norm taken per layer. A layer whose ||d(pre)||^2 is below ``floor``
    contributes no update for this step, and the step is counted."""
    n_hidden = alpha.shape[0]
    n_out = beta.shape[0]
    hidden_signal = signal[:n_hidden]
    output_signal = signal[n_hidden : n_hidden + n_out]
    gain = scale * loss_delta
    norm = 0.0
    for i in range(n_hidden):
        hidden_signal[i] = noisy_alpha[i] - alpha[i]
        norm += hidden_signal[i] * hidden_signal[i]
    if norm > floor:
        for i in range(n_hidden):
            hidden_signal[i] *= gain / norm
    else:
        counters[C_SKIP_HIDDEN] += 1
        for i in range(n_hidden):
            hidden_signal[i] = 0.0
    norm = 0.0
    for k in range(n_out):
        output_signal[k] = noisy_beta[k] - beta[k]
        norm += output_signal[k] * output_signal[k]
    if norm > floor:
        for k in range(n_out):
            output_signal[k] *= gain / norm
    else:
        counters[C_SKIP_OUTPUT] += 1
        for k in range(n_out):
            output_signal[k] = 0.0
    outer_update(
        flat, factor, accumulate, hidden_signal, output_signal, inputs_t, prev_drates, drates
    )


@njit(cache=True)
def wp_estimate(flat, factor, accumulate, loss_delta, seed, step, sigma):
    """WP, Eq. 5: dW = sigma^-2 dl_t (sigma z) with z regenerated from its key
    (added to ``flat`` times ``factor``, or written, as in ``outer_update``)."""
    coef = loss_delta / sigma
    for p in range(flat.shape[0]):
        estimate = coef * gaussian(seed, WEIGHT_NOISE, step, p)
        if accumulate:
            flat[p] += factor * estimate
        else:
            flat[p] = estimate


@njit(cache=True)
def perturbation_train_step(
    hp,
    params,
    grads,
    moment1,
    moment2,
    decorrelation,
    drates,
    noisy_drates,
    counters,
    work,
    inputs_t,
    targets_t,
    has_target,
    n_in,
    n_hidden,
    n_out,
):
    """One learning step of NP, ANP or WP (``hp.rule``), in place.

    Runs both copies forward, and where the step has a target, estimates the
    gradient from dl_t and applies it; then advances both copies' rates and
    (with decorrelation) updates D from the clean pass. Returns the clean and
    the noisy loss (NaN without a target)."""
    step = counters[C_STEP]
    empty = work[W_ALPHA, :0]
    alpha = work[W_ALPHA, :n_hidden]
    new_drates = work[W_DRATES, :n_hidden]
    beta = work[W_BETA, :n_out]
    outputs = work[W_OUT, :n_out]
    noisy_alpha = work[W_NOISY_ALPHA, :n_hidden]
    noisy_new_drates = work[W_NOISY_DRATES, :n_hidden]
    noisy_beta = work[W_NOISY_BETA, :n_out]
    noisy_outputs = work[W_NOISY_OUT, :n_out]
    hidden_noise = work[W_HIDDEN_NOISE, :n_hidden]
    output_noise = work[W_OUTPUT_NOISE, :n_out]

    if hp.rule == RULE_WP:
        forward_step(
            params, decorrelation, drates, inputs_t, empty, empty, n_in, n_hidden, n_out,
            hp.loss, alpha, work[W_RATES, :n_hidden], new_drates, beta, outputs,
        )  # fmt: skip
        weight_noisy_forward(
            params, decorrelation, noisy_drates, inputs_t, hp.seed, step, hp.sigma,
            n_in, n_hidden, n_out, hp.loss,
            noisy_alpha, work[W_NOISY_RATES, :n_hidden], noisy_new_drates, noisy_beta,
            noisy_outputs,
        )  # fmt: skip
    else:
        node_noise(hp.seed, step, hp.sigma, hidden_noise, output_noise)
        twin_forward_step(
            params, decorrelation, drates, noisy_drates, inputs_t, hidden_noise, output_noise,
            n_in, n_hidden, n_out, hp.loss,
            alpha, work[W_RATES, :n_hidden], new_drates, beta, outputs,
            noisy_alpha, work[W_NOISY_RATES, :n_hidden], noisy_new_drates, noisy_beta,
            noisy_outputs,
        )  # fmt: skip

    loss = np.nan
    noisy_loss = np.nan
    if has_target:
        loss = step_loss(beta, outputs, targets_t, hp.loss)
        noisy_loss = step_loss(noisy_beta, noisy_outputs, targets_t, hp.loss)
        loss_delta = noisy_loss - loss
        signal = work[W_TMP_A]
        # Plain SGD goes straight into the weights; Adam needs the estimate.
        sgd = hp.optimizer == OPT_SGD
        flat = params if sgd else grads
        factor = -hp.learning_rate
        if hp.rule == RULE_WP:
            wp_estimate(flat, factor, sgd, loss_delta, hp.seed, step, hp.sigma)
        elif hp.rule == RULE_ANP:
            anp_estimate(
                flat, factor, sgd, counters, loss_delta, hp.anp_scale, hp.anp_floor, alpha, noisy_alpha,
                beta, noisy_beta, inputs_t, drates, new_drates, signal,
            )  # fmt: skip
        else:
            np_estimate(
                flat, factor, sgd, loss_delta, hp.sigma, hidden_noise, output_noise, inputs_t, drates,
                new_drates, signal,
            )  # fmt: skip
        counters[C_UPDATES] += 1
        if not sgd:
            apply_update(
                params, grads, moment1, moment2, counters[C_UPDATES], hp.optimizer,
                hp.learning_rate, hp.adam_beta1, hp.adam_beta2, hp.adam_eps,
            )  # fmt: skip

    for i in range(n_hidden):
        drates[i] = new_drates[i]
        noisy_drates[i] = noisy_new_drates[i]
    if decorrelation.shape[0] > 0:
        decorrelation_update(decorrelation, drates, hp.decorrelation_rate, work[W_TMP_A])
    counters[C_STEP] = step + 1
    if hp.resync_every > 0 and (step + 1) % hp.resync_every == 0:
        for i in range(n_hidden):
            noisy_drates[i] = drates[i]
    return loss, noisy_loss
