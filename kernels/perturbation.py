"""The perturbation family: NP, ANP and WP through time, with or without
decorrelation (ALGORITHMS.md §1; seed 000 with its errata corrected).

A clean and a noisy copy of the network run forward in lockstep with the same
weights; each step's loss difference dl_t = l~_t - l_t drives a gradient
estimate for the weights of *this* step, applied at once. Every estimator is
a per-neuron learning signal times a presynaptic factor (WP: times the weight's
own noise). With plain SGD the signal includes -learning rate and the change
goes straight into the weights (one pass, and in fixed point one rounding per
weight); with Adam (float only) the estimate goes to ``grads`` first.

Written once with the numeric primitives (kernels/numeric.py): the same code
is the float and the fixed-point rule.
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
    decorrelate_into,
    forward_step,
    load_sample,
    loss_value,
    output_from_pre,
    real_loss,
    twin_forward_step,
    unpack,
)
from timelocal.kernels.numeric import (
    FRAC_A,
    FRAC_B,
    FRAC_BIAS_H,
    FRAC_BIAS_O,
    FRAC_D,
    FRAC_R,
    activation,
    add_change,
    constant,
    divide,
    error_frac,
    mul,
    multiplier,
    noise,
    rescale,
    rounding_key,
    scaled,
    signal_frac,
    state_frac,
    store_error,
    store_signal,
    store_state,
    weight_noise,
    weight_noise_scale,
)
from timelocal.kernels.optim import apply_update
from timelocal.kernels.rng import HIDDEN_NOISE, OUTPUT_NOISE, WEIGHT_NOISE


@njit(cache=True)
def node_noise(num, seed, step, sigma, hidden_noise, output_noise):
    """xi_t ~ N(0, sigma^2 I_n) and nu_t ~ N(0, sigma^2 I_out), keyed by step."""
    for i in range(hidden_noise.shape[0]):
        hidden_noise[i] = noise(num, seed, HIDDEN_NOISE, step, i, sigma)
    for k in range(output_noise.shape[0]):
        output_noise[k] = noise(num, seed, OUTPUT_NOISE, step, k, sigma)


@njit(cache=True)
def param_offsets(n_in, n_hidden, n_out):
    """Flat offsets of R, B, b and c (A starts at 0)."""
    offset_R = n_hidden * n_in
    offset_B = offset_R + n_hidden * n_hidden
    offset_b = offset_B + n_out * n_hidden
    return offset_R, offset_B, offset_b, offset_b + n_hidden


@njit(cache=True)
def weight_noisy_forward(
    num, params, weight_fracs, decorrelation, prev_drates, inputs, seed, step, sigma, n_in,
    n_hidden, n_out, loss_kind, counters, alpha, rates, drates, beta, outputs,
):  # fmt: skip
    """WP's noisy copy (Eq. 5): the forward step with weights W + sigma z,
    z drawn per flat parameter index and never stored."""
    A, R, B, b, c = unpack(params, n_in, n_hidden, n_out)
    offset_R, offset_B, offset_b, offset_c = param_offsets(n_in, n_hidden, n_out)
    a_frac = state_frac(num)
    frac_A, frac_R, frac_B = weight_fracs[FRAC_A], weight_fracs[FRAC_R], weight_fracs[FRAC_B]
    frac_b, frac_c = weight_fracs[FRAC_BIAS_H], weight_fracs[FRAC_BIAS_O]
    scale_A, scale_R = (
        weight_noise_scale(num, sigma, frac_A),
        weight_noise_scale(num, sigma, frac_R),
    )
    scale_B = weight_noise_scale(num, sigma, frac_B)
    scale_b, scale_c = (
        weight_noise_scale(num, sigma, frac_b),
        weight_noise_scale(num, sigma, frac_c),
    )
    for i in range(n_hidden):
        bias = b[i] + weight_noise(num, seed, WEIGHT_NOISE, step, offset_b + i, scale_b)
        acc = rescale(num, bias, frac_b - a_frac)
        for j in range(n_in):
            weight = A[i, j] + weight_noise(num, seed, WEIGHT_NOISE, step, i * n_in + j, scale_A)
            acc += mul(num, weight, inputs[j], frac_A)
        for j in range(n_hidden):
            weight = R[i, j] + weight_noise(
                num, seed, WEIGHT_NOISE, step, offset_R + i * n_hidden + j, scale_R
            )
            acc += mul(num, weight, prev_drates[j], frac_R)
        alpha[i] = store_state(num, acc, counters)
        rates[i] = activation(num, alpha[i])
    decorrelate_into(num, decorrelation, weight_fracs[FRAC_D], rates, drates, counters)
    for k in range(n_out):
        bias = c[k] + weight_noise(num, seed, WEIGHT_NOISE, step, offset_c + k, scale_c)
        acc = rescale(num, bias, frac_c - a_frac)
        for j in range(n_hidden):
            weight = B[k, j] + weight_noise(
                num, seed, WEIGHT_NOISE, step, offset_B + k * n_hidden + j, scale_B
            )
            acc += mul(num, weight, drates[j], frac_B)
        beta[k] = store_state(num, acc, counters)
    output_from_pre(beta, loss_kind, outputs)


@njit(cache=True)
def outer_update(
    num, flat, weight_fracs, apply, hidden_signal, output_signal, inputs, prev_drates, drates,
    seed, step, counters,
):  # fmt: skip
    """Rank-1 changes with the clean pass's presynaptic factors:
    dA = s u^T, dR = s x*_{t-1}^T, db = s, dB = o x*_t^T, dc = o.

    ``apply``: add them to the weights ``flat`` (the signals include -learning
    rate; in fixed point each change is rounded once, as the precision says,
    and the weight saturates); otherwise write them into ``flat`` (the
    gradient buffer for Adam, float only)."""
    n_hidden = hidden_signal.shape[0]
    n_in = inputs.shape[0]
    n_out = output_signal.shape[0]
    A, R, B, b, c = unpack(flat, n_in, n_hidden, n_out)
    offset_R, offset_B, offset_b, offset_c = param_offsets(n_in, n_hidden, n_out)
    # A change s * x has the signal's plus the states' fraction bits.
    base = signal_frac(num) + state_frac(num)
    shift_A, shift_R = base - weight_fracs[FRAC_A], base - weight_fracs[FRAC_R]
    shift_B = base - weight_fracs[FRAC_B]
    shift_b = signal_frac(num) - weight_fracs[FRAC_BIAS_H]
    shift_c = signal_frac(num) - weight_fracs[FRAC_BIAS_O]
    # Stochastic rounding keys: one counter hash per row (rows of A, R, B; each bias vector).
    key_b = rounding_key(num, seed, step, offset_b)
    key_c = rounding_key(num, seed, step, offset_c)
    for i in range(n_hidden):
        s = hidden_signal[i]
        if apply:
            key = rounding_key(num, seed, step, i)
            for j in range(n_in):
                A[i, j] = add_change(num, A[i, j], mul(num, s, inputs[j], 0), shift_A, key, j,
                                     counters)  # fmt: skip
            key = rounding_key(num, seed, step, offset_R + i)
            for j in range(n_hidden):
                R[i, j] = add_change(num, R[i, j], mul(num, s, prev_drates[j], 0), shift_R, key,
                                     j, counters)  # fmt: skip
            b[i] = add_change(num, b[i], s, shift_b, key_b, i, counters)
        else:
            for j in range(n_in):
                A[i, j] = s * inputs[j]
            for j in range(n_hidden):
                R[i, j] = s * prev_drates[j]
            b[i] = s
    for k in range(n_out):
        o = output_signal[k]
        if apply:
            key = rounding_key(num, seed, step, offset_B + k)
            for j in range(n_hidden):
                B[k, j] = add_change(num, B[k, j], mul(num, o, drates[j], 0), shift_B, key, j,
                                     counters)  # fmt: skip
            c[k] = add_change(num, c[k], o, shift_c, key_c, k, counters)
        else:
            for j in range(n_hidden):
                B[k, j] = o * drates[j]
            c[k] = o


@njit(cache=True)
def np_signals(num, gain, loss_delta, sigma, hidden_noise, output_noise, signal, counters):
    """NP, Eq. 2 corrected: signal = gain sigma^-2 dl_t (noise), per neuron."""
    n_hidden = hidden_noise.shape[0]
    n_out = output_noise.shape[0]
    # dl (error bits) * noise (state bits) -> signal bits.
    shift = error_frac(num) + state_frac(num) - signal_frac(num)
    mantissa, shift_of_factor = multiplier(num, gain / (sigma * sigma))
    for i in range(n_hidden):
        signal[i] = store_signal(
            num,
            scaled(num, loss_delta * hidden_noise[i], mantissa, shift_of_factor, shift),
            counters,
        )
    for k in range(n_out):
        signal[n_hidden + k] = store_signal(
            num,
            scaled(num, loss_delta * output_noise[k], mantissa, shift_of_factor, shift),
            counters,
        )


@njit(cache=True)
def anp_layer_signal(num, gain, floor, loss_delta, pre, noisy_pre, signal, counters):
    """ANP for one layer: signal = gain dl_t d(pre) / ||d(pre)||^2. Returns False
    (signal zero) where ||d(pre)||^2 is at or below ``floor``: one division per
    layer and step, none per neuron."""
    n = pre.shape[0]
    a_frac = state_frac(num)
    norm = mul(num, 0, 0, 0)
    for i in range(n):
        delta = noisy_pre[i] - pre[i]
        signal[i] = delta
        norm += mul(num, delta, delta, 0)  # exact: twice the state bits
    if not norm > constant(num, floor, 2 * a_frac):
        for i in range(n):
            signal[i] = 0
        return False
    # dl / ||d pre||^2 in signal bits, then times gain (one rounding each).
    g_frac = signal_frac(num)
    ratio = divide(num, loss_delta, norm, g_frac + 2 * a_frac - error_frac(num))
    mantissa, shift_of_factor = multiplier(num, gain)
    factor = store_signal(num, scaled(num, ratio, mantissa, shift_of_factor, 0), counters)
    for i in range(n):
        signal[i] = store_signal(num, mul(num, factor, signal[i], a_frac), counters)
    return True


@njit(cache=True)
def wp_update(num, params, weight_fracs, apply, gain, loss_delta, seed, step, sigma, n_in,
              n_hidden, n_out, counters):  # fmt: skip
    """WP, Eq. 5: dW = gain sigma^-2 dl_t (sigma z) with z regenerated from
    its key (added to the weights, or written into the gradient buffer)."""
    offset_R, offset_B, offset_b, offset_c = param_offsets(n_in, n_hidden, n_out)
    mantissa, shift_of_factor = multiplier(num, gain / (sigma * sigma))
    e_frac = error_frac(num)
    key = rounding_key(num, seed, step, params.shape[0])
    scales = (
        weight_noise_scale(num, sigma, weight_fracs[FRAC_A]),
        weight_noise_scale(num, sigma, weight_fracs[FRAC_R]),
        weight_noise_scale(num, sigma, weight_fracs[FRAC_B]),
        weight_noise_scale(num, sigma, weight_fracs[FRAC_BIAS_H]),
        weight_noise_scale(num, sigma, weight_fracs[FRAC_BIAS_O]),
    )
    for p in range(params.shape[0]):
        if p < offset_R:
            region = 0
        elif p < offset_B:
            region = 1
        elif p < offset_b:
            region = 2
        elif p < offset_c:
            region = 3
        else:
            region = 4
        perturbation = weight_noise(num, seed, WEIGHT_NOISE, step, p, scales[region])
        # dl (error bits) * noise (weight bits) * factor: rounded once, by
        # the error bits, into the weight.
        change = scaled(num, loss_delta * perturbation, mantissa, shift_of_factor, 0)
        if apply:
            params[p] = add_change(num, params[p], change, e_frac, key, p, counters)
        else:
            params[p] = change


@njit(cache=True)
def perturbation_train_step(
    num,
    hp,
    params,
    weight_fracs,
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
    the noisy loss as real numbers (NaN without a target)."""
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
    inputs, targets = load_sample(num, inputs_t, targets_t, work, counters)

    if hp.rule == RULE_WP:
        forward_step(
            num, params, weight_fracs, decorrelation, drates, inputs, empty, empty, n_in,
            n_hidden, n_out, hp.loss, counters, alpha, work[W_RATES, :n_hidden], new_drates,
            beta, outputs,
        )  # fmt: skip
        weight_noisy_forward(
            num, params, weight_fracs, decorrelation, noisy_drates, inputs, hp.seed, step,
            hp.sigma, n_in, n_hidden, n_out, hp.loss, counters,
            noisy_alpha, work[W_NOISY_RATES, :n_hidden], noisy_new_drates, noisy_beta,
            noisy_outputs,
        )  # fmt: skip
    else:
        node_noise(num, hp.seed, step, hp.sigma, hidden_noise, output_noise)
        twin_forward_step(
            num, params, weight_fracs, decorrelation, drates, noisy_drates, inputs, hidden_noise,
            output_noise, n_in, n_hidden, n_out, hp.loss, counters,
            alpha, work[W_RATES, :n_hidden], new_drates, beta, outputs,
            noisy_alpha, work[W_NOISY_RATES, :n_hidden], noisy_new_drates, noisy_beta,
            noisy_outputs,
        )  # fmt: skip

    loss = np.nan
    noisy_loss = np.nan
    if has_target:
        clean = loss_value(num, beta, outputs, targets, hp.loss)
        noisy = loss_value(num, noisy_beta, noisy_outputs, targets, hp.loss)
        loss, noisy_loss = real_loss(num, clean), real_loss(num, noisy)
        # Exact difference (twice the state bits), then one rounding to errors.
        loss_delta = store_error(
            num, rescale(num, noisy - clean, 2 * state_frac(num) - error_frac(num)), counters
        )
        signal = work[W_TMP_A]
        # Plain SGD goes straight into the weights; Adam needs the estimate.
        sgd = hp.optimizer == OPT_SGD
        flat = params if sgd else grads
        gain = -hp.learning_rate if sgd else 1.0
        if hp.rule == RULE_WP:
            wp_update(num, flat, weight_fracs, sgd, gain, loss_delta, hp.seed, step, hp.sigma,
                      n_in, n_hidden, n_out, counters)  # fmt: skip
        else:
            if hp.rule == RULE_ANP:
                gain *= hp.anp_scale
                if not anp_layer_signal(num, gain, hp.anp_floor, loss_delta, alpha, noisy_alpha,
                                        signal[:n_hidden], counters):  # fmt: skip
                    counters[C_SKIP_HIDDEN] += 1
                if not anp_layer_signal(num, gain, hp.anp_floor, loss_delta, beta, noisy_beta,
                                        signal[n_hidden : n_hidden + n_out], counters):  # fmt: skip
                    counters[C_SKIP_OUTPUT] += 1
            else:
                np_signals(num, gain, loss_delta, hp.sigma, hidden_noise, output_noise, signal,
                           counters)  # fmt: skip
            outer_update(
                num, flat, weight_fracs, sgd, signal[:n_hidden], signal[n_hidden : n_hidden + n_out],
                inputs, drates, new_drates, hp.seed, step, counters,
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
        decorrelation_update(num, decorrelation, weight_fracs, drates, hp.decorrelation_rate,
                             work[W_TMP_A], hp.seed, step, counters)  # fmt: skip
    counters[C_STEP] = step + 1
    if hp.resync_every > 0 and (step + 1) % hp.resync_every == 0:
        for i in range(n_hidden):
            noisy_drates[i] = drates[i]
    return loss, noisy_loss
