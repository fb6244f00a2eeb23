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
    W_INPUT,
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
    hidden_twin_forward,
    load_inputs,
    load_targets,
    loss_value,
    output_from_pre,
    output_twin_forward,
    real_loss,
    unpack,
)
from timelocal.kernels.numeric import (
    FRAC_A,
    FRAC_B,
    FRAC_BIAS_H,
    FRAC_BIAS_O,
    FRAC_D,
    FRAC_R,
    above,
    activation,
    add,
    add_change,
    change_weight,
    constant,
    count_weight_saturations,
    divide,
    error_frac,
    mac,
    mul,
    multiplier,
    noise,
    read,
    rescale,
    rounding_key,
    scaled,
    signal_frac,
    state_frac,
    store_error,
    store_signal,
    store_state,
    sub,
    weight_noise,
    weight_noise_scale,
    weight_rounding,
    zero,
)
from timelocal.kernels.optim import apply_update
from timelocal.kernels.rng import HIDDEN_NOISE, OUTPUT_NOISE, WEIGHT_NOISE


@njit(cache=True)
def node_noise(num, seed, stream, step, sigma, out):
    """xi_t ~ N(0, sigma^2 I) for one layer (``stream``: HIDDEN_NOISE or
    OUTPUT_NOISE), keyed by step and neuron."""
    for i in range(out.shape[0]):
        out[i] = noise(num, seed, stream, step, i, sigma)


@njit(cache=True)
def param_offsets(n_in, n_hidden, n_out):
    """Flat offsets of R, B, b and c (A starts at 0)."""
    offset_R = n_hidden * n_in
    offset_B = offset_R + n_hidden * n_hidden
    offset_b = offset_B + n_out * n_hidden
    return offset_R, offset_B, offset_b, offset_b + n_hidden


@njit(cache=True)
def noisy_matvec(num, acc, W, presyn, frac, seed, step, offset, row, scale):
    """acc + (W[row] + sigma z) . presyn with z drawn per flat index (WP)."""
    n = W.shape[1]
    for j in range(n):
        weight = add(num, read(num, W[row, j]),
                     weight_noise(num, seed, WEIGHT_NOISE, step, offset + row * n + j, scale))  # fmt: skip
        acc = mac(num, acc, weight, presyn[j], frac)
    return acc


@njit(cache=True)
def hidden_weight_noisy_forward(num, A, R, b, decorrelation, weight_fracs, prev_drates, inputs,
                                seed, step, sigma, n_out, counters, alpha, rates, drates):  # fmt: skip
    """WP's noisy copy of the hidden layer (Eq. 5): weights W + sigma z, z
    drawn per flat parameter index and never stored."""
    n_hidden, n_in = A.shape
    offset_R, _, offset_b, _ = param_offsets(n_in, n_hidden, n_out)
    a_frac = state_frac(num)
    frac_A, frac_R, frac_b = weight_fracs[FRAC_A], weight_fracs[FRAC_R], weight_fracs[FRAC_BIAS_H]
    scale_A = weight_noise_scale(num, sigma, frac_A)
    scale_R = weight_noise_scale(num, sigma, frac_R)
    scale_b = weight_noise_scale(num, sigma, frac_b)
    for i in range(n_hidden):
        bias = add(num, read(num, b[i]),
                   weight_noise(num, seed, WEIGHT_NOISE, step, offset_b + i, scale_b))  # fmt: skip
        acc = rescale(num, bias, frac_b - a_frac)
        acc = noisy_matvec(num, acc, A, inputs, frac_A, seed, step, 0, i, scale_A)
        acc = noisy_matvec(num, acc, R, prev_drates, frac_R, seed, step, offset_R, i, scale_R)
        alpha[i] = store_state(num, acc, counters)
        rates[i] = activation(num, alpha[i])
    decorrelate_into(num, decorrelation, weight_fracs[FRAC_D], rates, drates, counters)


@njit(cache=True)
def output_weight_noisy_forward(num, B, c, weight_fracs, drates, seed, step, sigma, n_in,
                                loss_kind, counters, beta, outputs):  # fmt: skip
    """WP's noisy copy of the readout."""
    n_out, n_hidden = B.shape
    _, offset_B, _, offset_c = param_offsets(n_in, n_hidden, n_out)
    frac_B, frac_c = weight_fracs[FRAC_B], weight_fracs[FRAC_BIAS_O]
    scale_B = weight_noise_scale(num, sigma, frac_B)
    scale_c = weight_noise_scale(num, sigma, frac_c)
    for k in range(n_out):
        bias = add(num, read(num, c[k]),
                   weight_noise(num, seed, WEIGHT_NOISE, step, offset_c + k, scale_c))  # fmt: skip
        acc = rescale(num, bias, frac_c - state_frac(num))
        acc = noisy_matvec(num, acc, B, drates, frac_B, seed, step, offset_B, k, scale_B)
        beta[k] = store_state(num, acc, counters)
    output_from_pre(num, beta, loss_kind, outputs)


@njit(cache=True)
def matrix_update(num, W, apply, signal, presyn, shift, seed, step, key_offset, counters):
    """Rank-1 change s presyn^T of one weight matrix.

    ``apply``: add it to W (the signal includes -learning rate; in fixed point
    each change is rounded once, as the precision says, and the weight
    saturates); otherwise write it into W (a gradient buffer for Adam, float
    only). Stochastic rounding draws one counter hash per row."""
    saturated = 0
    rounding = weight_rounding(num, shift)
    for i in range(W.shape[0]):
        s = signal[i]
        if apply:
            key = rounding_key(num, seed, step, key_offset + i)
            for j in range(W.shape[1]):
                W[i, j], flag = change_weight(num, W[i, j], mul(num, s, presyn[j], 0),
                                              rounding, key, j)  # fmt: skip
                saturated += flag
        else:
            for j in range(W.shape[1]):
                W[i, j] = mul(num, s, presyn[j], 0)
    count_weight_saturations(counters, saturated)


@njit(cache=True)
def bias_update(num, bias, apply, signal, shift, seed, step, key_offset, counters):
    """The bias change s (added, or written as a gradient)."""
    key = rounding_key(num, seed, step, key_offset)
    for i in range(bias.shape[0]):
        if apply:
            bias[i] = add_change(num, bias[i], signal[i], shift, key, i, counters)
        else:
            bias[i] = signal[i]


@njit(cache=True)
def np_layer_signal(num, gain, loss_delta, sigma, layer_noise, signal, counters):
    """NP, Eq. 2 corrected: signal = gain sigma^-2 dl_t xi, per neuron."""
    # dl (error bits) * noise (state bits) -> signal bits.
    shift = error_frac(num) + state_frac(num) - signal_frac(num)
    mantissa, shift_of_factor = multiplier(num, gain / (sigma * sigma))
    for i in range(layer_noise.shape[0]):
        signal[i] = store_signal(
            num,
            scaled(
                num, mul(num, loss_delta, layer_noise[i], 0), mantissa, shift_of_factor, shift
            ),  # fmt: skip
            counters,
        )


@njit(cache=True)
def anp_layer_signal(num, gain, floor, loss_delta, pre, noisy_pre, signal, counters):
    """ANP for one layer: signal = gain dl_t d(pre) / ||d(pre)||^2. Returns False
    (signal zero) where ||d(pre)||^2 is at or below ``floor``: one division per
    layer and step, none per neuron."""
    n = pre.shape[0]
    a_frac = state_frac(num)
    norm = zero(num)
    for i in range(n):
        delta = sub(num, noisy_pre[i], pre[i])
        signal[i] = delta
        norm = mac(num, norm, delta, delta, 0)  # exact: twice the state bits
    if not above(num, norm, constant(num, floor, 2 * a_frac)):
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
def wp_matrix_update(num, W, apply, mantissa, shift_of_factor, loss_delta, seed, step, sigma,
                     frac, offset, key, counters):  # fmt: skip
    """WP, Eq. 5, for one weight array (2-D, or a bias as one row): dW = gain
    sigma^-2 dl_t (sigma z), z regenerated from its key (flat index offset +
    element); added to W, or written as a gradient."""
    scale = weight_noise_scale(num, sigma, frac)
    e_frac = error_frac(num)
    cols = W.shape[1]
    saturated = 0
    rounding = weight_rounding(num, e_frac)
    for i in range(W.shape[0]):
        for j in range(cols):
            p = offset + i * cols + j
            perturbation = weight_noise(num, seed, WEIGHT_NOISE, step, p, scale)
            # dl (error bits) * noise (weight bits) * factor: rounded once,
            # by the error bits, into the weight.
            change = scaled(num, mul(num, loss_delta, perturbation, 0), mantissa,
                            shift_of_factor, 0)  # fmt: skip
            if apply:
                W[i, j], flag = change_weight(num, W[i, j], change, rounding, key, p)
                saturated += flag
            else:
                W[i, j] = change
    count_weight_saturations(counters, saturated)


@njit(cache=True)
def layer_signal(num, hp, gain, loss_delta, pre, noisy_pre, layer_noise, signal, counters):
    """This layer's learning signal (NP or ANP); False where ANP skips."""
    if hp.rule == RULE_ANP:
        return anp_layer_signal(num, gain * hp.anp_scale, hp.anp_floor, loss_delta, pre,
                                noisy_pre, signal, counters)  # fmt: skip
    np_layer_signal(num, gain, loss_delta, hp.sigma, layer_noise, signal, counters)
    return True


@njit(cache=True)
def adam_array(num, W, grads, moment1, moment2, update_count, hp):
    """Adam on one weight array (elementwise: the same numbers as on the flat
    vector)."""
    apply_update(num, W.reshape(W.size), grads.reshape(grads.size), moment1.reshape(moment1.size),
                 moment2.reshape(moment2.size), update_count, hp.optimizer, hp.learning_rate,
                 hp.adam_beta1, hp.adam_beta2, hp.adam_eps)  # fmt: skip


# -- the two layers' phases --------------------------------------------------
#
# One time step is four phases, each a kernel on one layer's own arrays. The
# host calls them in order (``perturbation_step``); on Lava each layer is a
# process that runs its two phases and exchanges the values between them as
# messages: x*_t forward in the spike phase, dl_t back in the learning phase.


@njit(cache=True)
def hidden_spike(num, hp, learn, A, R, b, decorrelation, weight_fracs, drates, noisy_drates,
                 counters, work, inputs_t, reset, n_out):  # fmt: skip
    """Spike phase of the hidden layer: both copies' x*_t (only the clean one
    when not learning) into work rows W_DRATES and W_NOISY_DRATES. ``reset``
    zeroes both copies' rates first (a new sequence)."""
    n_hidden = A.shape[0]
    if reset:
        drates[:] = 0
        noisy_drates[:] = 0
    inputs = load_inputs(num, inputs_t, work, counters)
    alpha = work[W_ALPHA, :n_hidden]
    rates = work[W_RATES, :n_hidden]
    new_drates = work[W_DRATES, :n_hidden]
    noisy_alpha = work[W_NOISY_ALPHA, :n_hidden]
    noisy_rates = work[W_NOISY_RATES, :n_hidden]
    noisy_new_drates = work[W_NOISY_DRATES, :n_hidden]
    hidden_noise = work[W_HIDDEN_NOISE, :n_hidden]
    empty = alpha[:0]
    step = counters[C_STEP]
    if not learn or hp.rule == RULE_WP:
        hidden_twin_forward(num, A, R, b, decorrelation, weight_fracs, drates, empty, inputs,
                            empty, counters, alpha, rates, new_drates, empty, empty, empty)  # fmt: skip
        if learn:
            hidden_weight_noisy_forward(
                num, A, R, b, decorrelation, weight_fracs, noisy_drates, inputs, hp.seed, step,
                hp.sigma, n_out, counters, noisy_alpha, noisy_rates, noisy_new_drates,
            )  # fmt: skip
        return
    node_noise(num, hp.seed, HIDDEN_NOISE, step, hp.sigma, hidden_noise)
    hidden_twin_forward(num, A, R, b, decorrelation, weight_fracs, drates, noisy_drates, inputs,
                        hidden_noise, counters, alpha, rates, new_drates, noisy_alpha,
                        noisy_rates, noisy_new_drates)  # fmt: skip


@njit(cache=True)
def output_spike(num, hp, learn, B, c, weight_fracs, counters, work, drates, noisy_drates,
                 targets_t, has_target, n_in):  # fmt: skip
    """Spike phase of the readout, from the hidden layer's x*_t (and the noisy
    copy's when learning): outputs into work row W_OUT. Returns the clean and
    the noisy loss as real numbers (NaN without a target) and dl_t = l~_t - l_t
    in the error format (zero without a target, or when not learning)."""
    n_out = B.shape[0]
    targets = load_targets(num, targets_t, work, counters)
    beta = work[W_BETA, :n_out]
    outputs = work[W_OUT, :n_out]
    noisy_beta = work[W_NOISY_BETA, :n_out]
    noisy_outputs = work[W_NOISY_OUT, :n_out]
    output_noise = work[W_OUTPUT_NOISE, :n_out]
    empty = beta[:0]
    step = counters[C_STEP]
    no_delta = zero(num)
    if not learn or hp.rule == RULE_WP:
        output_twin_forward(num, B, c, weight_fracs, drates, empty, empty, hp.loss, counters,
                            beta, outputs, empty, empty)  # fmt: skip
        if learn:
            output_weight_noisy_forward(num, B, c, weight_fracs, noisy_drates, hp.seed, step,
                                        hp.sigma, n_in, hp.loss, counters, noisy_beta,
                                        noisy_outputs)  # fmt: skip
    else:
        node_noise(num, hp.seed, OUTPUT_NOISE, step, hp.sigma, output_noise)
        output_twin_forward(num, B, c, weight_fracs, drates, noisy_drates, output_noise, hp.loss,
                            counters, beta, outputs, noisy_beta, noisy_outputs)  # fmt: skip
    if not has_target:
        return np.nan, np.nan, no_delta
    clean = loss_value(num, beta, outputs, targets, hp.loss)
    if not learn:
        return real_loss(num, clean), np.nan, no_delta
    noisy = loss_value(num, noisy_beta, noisy_outputs, targets, hp.loss)
    # Exact difference (twice the state bits), then one rounding to errors.
    loss_delta = store_error(
        num, rescale(num, sub(num, noisy, clean), 2 * state_frac(num) - error_frac(num)), counters
    )
    return real_loss(num, clean), real_loss(num, noisy), loss_delta


@njit(cache=True)
def output_learn(num, hp, B, c, grad_B, grad_c, moment1_B, moment1_c, moment2_B, moment2_c,
                 weight_fracs, counters, work, drates, loss_delta, n_in):  # fmt: skip
    """Learning phase of the readout on a step with a target: dB = o x*_t^T,
    dc = o with o its learning signal; applied at once (SGD) or through Adam."""
    n_out, n_hidden = B.shape
    _, offset_B, _, offset_c = param_offsets(n_in, n_hidden, n_out)
    step = counters[C_STEP]
    sgd = hp.optimizer == OPT_SGD
    # Plain SGD goes straight into the weights; Adam needs the estimate.
    gain = -hp.learning_rate if sgd else 1.0
    into_B, into_c = (B, c) if sgd else (grad_B, grad_c)
    if hp.rule == RULE_WP:
        mantissa, shift_of_factor = multiplier(num, gain / (hp.sigma * hp.sigma))
        key = rounding_key(num, hp.seed, step, offset_c + n_out)
        wp_matrix_update(num, into_B, sgd, mantissa, shift_of_factor, loss_delta, hp.seed, step,
                         hp.sigma, weight_fracs[FRAC_B], offset_B, key, counters)  # fmt: skip
        wp_matrix_update(num, into_c.reshape((1, n_out)), sgd, mantissa, shift_of_factor,
                         loss_delta, hp.seed, step, hp.sigma, weight_fracs[FRAC_BIAS_O],
                         offset_c, key, counters)  # fmt: skip
    else:
        signal = work[W_TMP_A, :n_out]
        if not layer_signal(num, hp, gain, loss_delta, work[W_BETA, :n_out],
                            work[W_NOISY_BETA, :n_out], work[W_OUTPUT_NOISE, :n_out], signal,
                            counters):  # fmt: skip
            counters[C_SKIP_OUTPUT] += 1
        # A change s * x has the signal's plus the states' fraction bits.
        shift = signal_frac(num) + state_frac(num) - weight_fracs[FRAC_B]
        matrix_update(num, into_B, sgd, signal, drates, shift, hp.seed, step, offset_B, counters)
        bias_update(num, into_c, sgd, signal, signal_frac(num) - weight_fracs[FRAC_BIAS_O],
                    hp.seed, step, offset_c, counters)  # fmt: skip
    if not sgd:
        update_count = counters[C_UPDATES] + 1
        adam_array(num, B, grad_B, moment1_B, moment2_B, update_count, hp)
        adam_array(num, c, grad_c, moment1_c, moment2_c, update_count, hp)


@njit(cache=True)
def hidden_learn(num, hp, learn, has_target, A, R, b, grad_A, grad_R, grad_b, moment1_A,
                 moment1_R, moment1_b, moment2_A, moment2_R, moment2_b, decorrelation,
                 weight_fracs, drates, noisy_drates, counters, work, loss_delta, n_out):  # fmt: skip
    """Learning phase of the hidden layer: on a step with a target, dA = s u^T,
    dR = s x*_{t-1}^T, db = s; then both copies' rates advance, D learns from
    the clean x*_t, and the noisy copy is resynchronised when due. Without
    ``learn`` only the clean rates advance."""
    n_hidden, n_in = A.shape
    new_drates = work[W_DRATES, :n_hidden]
    if not learn:
        for i in range(n_hidden):
            drates[i] = new_drates[i]
        return
    offset_R, _, offset_b, offset_c = param_offsets(n_in, n_hidden, n_out)
    step = counters[C_STEP]
    if has_target:
        sgd = hp.optimizer == OPT_SGD
        gain = -hp.learning_rate if sgd else 1.0
        into_A, into_R, into_b = (A, R, b) if sgd else (grad_A, grad_R, grad_b)
        if hp.rule == RULE_WP:
            mantissa, shift_of_factor = multiplier(num, gain / (hp.sigma * hp.sigma))
            key = rounding_key(num, hp.seed, step, offset_c + n_out)
            wp_matrix_update(num, into_A, sgd, mantissa, shift_of_factor, loss_delta, hp.seed,
                             step, hp.sigma, weight_fracs[FRAC_A], 0, key, counters)  # fmt: skip
            wp_matrix_update(num, into_R, sgd, mantissa, shift_of_factor, loss_delta, hp.seed,
                             step, hp.sigma, weight_fracs[FRAC_R], offset_R, key, counters)  # fmt: skip
            wp_matrix_update(num, into_b.reshape((1, n_hidden)), sgd, mantissa,
                             shift_of_factor, loss_delta, hp.seed, step, hp.sigma,
                             weight_fracs[FRAC_BIAS_H], offset_b, key, counters)  # fmt: skip
        else:
            signal = work[W_TMP_A, :n_hidden]
            if not layer_signal(num, hp, gain, loss_delta, work[W_ALPHA, :n_hidden],
                                work[W_NOISY_ALPHA, :n_hidden], work[W_HIDDEN_NOISE, :n_hidden],
                                signal, counters):  # fmt: skip
                counters[C_SKIP_HIDDEN] += 1
            base = signal_frac(num) + state_frac(num)
            matrix_update(num, into_A, sgd, signal, work[W_INPUT, :n_in],
                          base - weight_fracs[FRAC_A], hp.seed, step, 0, counters)  # fmt: skip
            matrix_update(num, into_R, sgd, signal, drates, base - weight_fracs[FRAC_R], hp.seed,
                          step, offset_R, counters)  # fmt: skip
            bias_update(num, into_b, sgd, signal, signal_frac(num) - weight_fracs[FRAC_BIAS_H],
                        hp.seed, step, offset_b, counters)  # fmt: skip
        if not sgd:
            update_count = counters[C_UPDATES] + 1
            adam_array(num, A, grad_A, moment1_A, moment2_A, update_count, hp)
            adam_array(num, R, grad_R, moment1_R, moment2_R, update_count, hp)
            adam_array(num, b, grad_b, moment1_b, moment2_b, update_count, hp)
    noisy_new_drates = work[W_NOISY_DRATES, :n_hidden]
    for i in range(n_hidden):
        drates[i] = new_drates[i]
        noisy_drates[i] = noisy_new_drates[i]
    if decorrelation.shape[0] > 0:
        decorrelation_update(num, decorrelation, weight_fracs, drates, hp.decorrelation_rate,
                             work[W_TMP_A], hp.seed, step, counters)  # fmt: skip
    if hp.resync_every > 0 and (step + 1) % hp.resync_every == 0:
        for i in range(n_hidden):
            noisy_drates[i] = drates[i]


@njit(cache=True)
def finish_step(counters, learn, has_target):
    """Step bookkeeping after both layers' phases (each Lava process keeps its
    own copy of the counters and calls this too)."""
    if learn:
        counters[C_STEP] += 1
        if has_target:
            counters[C_UPDATES] += 1


@njit(cache=True)
def unpack_or_empty(flat, n_in, n_hidden, n_out):
    """``unpack``, or empty views of an empty vector (no Adam: no gradient
    buffer or moments)."""
    if flat.shape[0] == 0:
        nothing = flat.reshape((0, 0))
        return nothing, nothing, nothing, flat, flat
    return unpack(flat, n_in, n_hidden, n_out)


@njit(cache=True)
def layer_views(params, grads, moment1, moment2, n_in, n_hidden, n_out):
    """The per-layer views the phases take, of the flat state vectors
    (made once per chunk: building them every step costs at small n)."""
    return (
        unpack(params, n_in, n_hidden, n_out),
        unpack_or_empty(grads, n_in, n_hidden, n_out),
        unpack_or_empty(moment1, n_in, n_hidden, n_out),
        unpack_or_empty(moment2, n_in, n_hidden, n_out),
    )


@njit(cache=True)
def perturbation_step(num, hp, learn, views, weight_fracs, decorrelation, drates, noisy_drates,
                      counters, work, inputs_t, targets_t, has_target, reset):  # fmt: skip
    """One step of NP, ANP or WP (``hp.rule``) in place, on ``layer_views``:
    the four layer phases in order. Learning runs both copies forward, and
    where the step has a target, estimates the gradient from dl_t and applies
    it; then advances both copies' rates and (with decorrelation) updates D
    from the clean pass. Without ``learn``: the clean pass only. Returns the
    clean and the noisy loss as real numbers (NaN without a target)."""
    (A, R, B, b, c), (gA, gR, gB, gb, gc), moments1, moments2 = views
    m1A, m1R, m1B, m1b, m1c = moments1
    m2A, m2R, m2B, m2b, m2c = moments2
    n_hidden, n_in = A.shape
    n_out = B.shape[0]
    hidden_spike(num, hp, learn, A, R, b, decorrelation, weight_fracs, drates, noisy_drates,
                 counters, work, inputs_t, reset, n_out)  # fmt: skip
    x = work[W_DRATES, :n_hidden]
    noisy_x = work[W_NOISY_DRATES, :n_hidden]
    loss, noisy_loss, loss_delta = output_spike(num, hp, learn, B, c, weight_fracs, counters,
                                                work, x, noisy_x, targets_t, has_target, n_in)  # fmt: skip
    if learn and has_target:
        output_learn(num, hp, B, c, gB, gc, m1B, m1c, m2B, m2c, weight_fracs, counters, work, x,
                     loss_delta, n_in)  # fmt: skip
    hidden_learn(num, hp, learn, has_target, A, R, b, gA, gR, gb, m1A, m1R, m1b, m2A, m2R, m2b,
                 decorrelation, weight_fracs, drates, noisy_drates, counters, work, loss_delta,
                 n_out)  # fmt: skip
    finish_step(counters, learn, has_target)
    return loss, noisy_loss


@njit(cache=True)
def perturbation_train_step(num, hp, params, weight_fracs, grads, moment1, moment2,
                            decorrelation, drates, noisy_drates, counters, work, inputs_t,
                            targets_t, has_target, n_in, n_hidden, n_out):  # fmt: skip
    """One learning step (``perturbation_step`` with learning on, no reset)."""
    views = layer_views(params, grads, moment1, moment2, n_in, n_hidden, n_out)
    return perturbation_step(num, hp, True, views, weight_fracs, decorrelation, drates,
                             noisy_drates, counters, work, inputs_t, targets_t, has_target,
                             False)  # fmt: skip
