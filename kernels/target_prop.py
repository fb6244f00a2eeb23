"""Local target propagation over a sliding window (ALGORITHMS.md §3; seeds
004 and 002): TPTT with merged step targets and a learned step inverse, and
LRA-diff with optional regularisation in the direction of the update.

One recurrent layer ``h_t = F(x_t, h_{t-1}) = phi(W_xh x_t + W_h h_{t-1} + b_h)``
and a readout ``y_t = W_hy h_t + b_y`` (softmax for cross-entropy).

The window is a ring buffer of the last K learning steps. Each entry holds
the step's input x_tau, its hidden state h_tau, its step offset o_tau (the
shift of the step's target that its own loss asks for) and whether it
started a sequence; ``window_start`` holds the hidden state before the oldest
entry, and ``position`` the newest entry's slot and the number held. The state
is O(K (n_in + 2 n)) whatever the stream's length.

One learning step t:

1. forward: h_t, y_t, the loss, and the output error g_t = dE_t/d(logits).
2. the step offset: TPTT ``o_t = -alpha W_hy^T g_t`` (in h units, Eq. 20-21);
   LRA ``o_t = -beta (W_hy^T g_t) * phi'(z_t)`` (in pre-activation units).
   (x_t, h_t, o_t) enters the window; the oldest entry leaves when it is full.
3. the readout W_hy, b_y descends E_t.
4. targets go back through the window, newest to oldest, all with the
   weights of the step's start; then the recurrent weights learn from every
   entry of the window (TPTT: after the inverse's warm-up).
5. TPTT: the step inverse G learns on the newest entry (denoising).

Nothing flows back past an entry that started a sequence. Written with the
numeric primitives, so the same code is the float and the fixed-point rule:
hidden states, targets, offsets and pre-activations are states; output
errors, local errors and back-projections are errors; per-neuron learning
factors (learning rate included) are signals.
"""

import numpy as np
from numba import njit
from timelocal.kernels.codes import C_STEP, LOSS_MSE, RULE_TPTT
from timelocal.kernels.forward import (
    count_learning_step,
    loss_value,
    output_from_pre,
    rate_and_slope,
    real_loss,
)
from timelocal.kernels.gle import backproject, load_samples
from timelocal.kernels.numeric import (
    above,
    add,
    constant,
    divide,
    error_frac,
    maximum,
    minimum,
    mul,
    multiplier,
    noise,
    read,
    rescale,
    scaled,
    signal_frac,
    square_root,
    state_frac,
    store_error,
    store_signal,
    store_state,
    sub,
    synapse,
    zero,
)
from timelocal.kernels.optim import average_weights, rate_decay
from timelocal.kernels.perturbation import bias_update, matrix_update
from timelocal.kernels.rng import INVERSE_NOISE

# Rows of the work array (scratch, width max(n_hidden, n_inputs, n_outputs)).
T_INPUT = 0  # the sample's inputs as states
T_TARGET = 1  # the sample's targets as states
T_LOGITS = 2  # the readout's pre-activations
T_OUT = 3  # the outputs y (logits, or their softmax)
T_GRAD = 4  # the output error g = dE/d(logits)
T_SIGNAL = 5  # a layer's per-neuron learning signal
T_F = 6  # a recomputed forward step F(x, h)
T_PRIME = 7  # phi' of the last F or G computed
T_G_TARGET = 8  # G(x, target)
T_G_HIDDEN = 9  # G(x, h)
T_NOISY = 10  # the inverse's noisy input h + eps
T_PREV = 11  # an entry's previous hidden state h_{tau-1}
T_BACK = 12  # a back-projection (W_hy^T g, or W_h^T e)
T_OFFSET = 13  # this step's offset o_t
T_SIGNAL_B = 14  # a second signal (LRA: the boosted input mapping's, the regulariser's)
N_TP_ROWS = 15

# Rows of the window scratch (3, K, n): per entry, oldest first.
R_TARGETS = 0  # TPTT: the merged target h_hat; LRA: the local error e
R_PRESYN = 1  # LRA, regularised: 2 (rho - 1) d_hat * phi' of the pair (tau+1 -> tau)
R_UNIT_ERROR = 2  # LRA, regularised: e_hat = e_{tau+1} / ||e_{tau+1}||
N_WINDOW_ROWS = 3

# weight_fracs slots.
FRAC_WXH, FRAC_WH, FRAC_BH, FRAC_WHY, FRAC_BY, FRAC_VH, FRAC_CH = range(7)
N_TP_FRACS = 7

# Rows of stochastic rounding's keys: the readout's start here, far above the
# recurrent layer's (entry j of the window uses rows from j times the layer's
# parameter count).
READOUT_KEYS = 1 << 40

# LRA regularised: the input mapping's update is boosted by 1 / rho, at most this.
BOOST_MAX = 10.0

LOCAL_MSE = 0  # LRA's local loss ||z - z_bar||^2 / 2: e = z - z_bar
LOCAL_LOG = 1  # log-penalty sum log(1 + (z - z_bar)^2): e = 2 u / (1 + u^2)


@njit(cache=True)
def tp_offsets(n_in, n, n_out, inverse):
    """Offsets into the flat parameters of W_xh, W_h, b_h, W_hy, b_y, V_h,
    c_h, and the total (V_h, c_h: TPTT only)."""
    offsets = np.empty(8, np.int64)
    sizes = (n * n_in, n * n, n, n_out * n, n_out, n * n if inverse else 0, n if inverse else 0)
    offset = 0
    for k in range(7):
        offsets[k] = offset
        offset += sizes[k]
    offsets[7] = offset
    return offsets


@njit(cache=True)
def tp_views(params, n_in, n, n_out, inverse):
    """Views W_xh (n x in), W_h (n x n), b_h, W_hy (out x n), b_y, V_h (n x n;
    0 x n without an inverse), c_h of the flat parameters."""
    o = tp_offsets(n_in, n, n_out, inverse)
    m = n if inverse else 0
    return (
        params[o[0] : o[1]].reshape((n, n_in)),
        params[o[1] : o[2]].reshape((n, n)),
        params[o[2] : o[3]],
        params[o[3] : o[4]].reshape((n_out, n)),
        params[o[4] : o[5]],
        params[o[5] : o[6]].reshape((m, n)),
        params[o[6] : o[7]],
    )


@njit(cache=True)
def recurrent_unit(num, linear, U, u_frac, x, W, w_frac, h, bias, b_frac, counters, out, prime):
    """out = phi(U x + W h + bias) and prime = phi' (F with W = W_h, G with
    W = V_h; ``linear``: phi is the identity)."""
    a_frac = state_frac(num)
    one = constant(num, 1.0, a_frac)
    for i in range(W.shape[0]):
        acc = rescale(num, read(num, bias[i]), b_frac - a_frac)
        for j in range(U.shape[1]):
            acc = synapse(num, acc, U[i, j], x[j], u_frac)
        for j in range(W.shape[1]):
            acc = synapse(num, acc, W[i, j], h[j], w_frac)
        pre = store_state(num, acc, counters)
        if linear:
            out[i] = pre
            prime[i] = one
        else:
            out[i], prime[i] = rate_and_slope(num, pre)


@njit(cache=True)
def readout(num, hp, W_hy, w_frac, b_y, b_frac, hidden, counters, logits, outputs):
    """logits = W_hy h + b_y; outputs = logits (MSE) or softmax (cross-entropy)."""
    a_frac = state_frac(num)
    for k in range(W_hy.shape[0]):
        acc = rescale(num, read(num, b_y[k]), b_frac - a_frac)
        for j in range(W_hy.shape[1]):
            acc = synapse(num, acc, W_hy[k, j], hidden[j], w_frac)
        logits[k] = store_state(num, acc, counters)
    output_from_pre(num, logits, hp.loss, outputs)


@njit(cache=True)
def output_error(num, hp, has_target, outputs, targets, counters, grad):
    """g = dE/d(logits) (errors): 2 (y - y*) for the squared error, y - y*
    for softmax cross-entropy; zero without a target."""
    a_frac = state_frac(num)
    e_frac = error_frac(num)
    for k in range(outputs.shape[0]):
        if has_target:
            gap = sub(num, outputs[k], targets[k])
            if hp.loss == LOSS_MSE:
                gap = add(num, gap, gap)
            grad[k] = store_error(num, rescale(num, gap, a_frac - e_frac), counters)
        else:
            grad[k] = 0


@njit(cache=True)
def step_offset(num, hp, back, prime, counters, offset):
    """From the readout's back-projection ``back`` = W_hy^T g: TPTT o = -alpha
    back (Eq. 20-21, in h units); LRA o = -beta back * phi'(z) (in
    pre-activation units); alpha = beta = target_step."""
    a_frac = state_frac(num)
    e_frac = error_frac(num)
    mantissa, shift_of_factor = multiplier(num, -hp.target_step)
    for i in range(offset.shape[0]):
        value = back[i]
        if hp.rule != RULE_TPTT:
            value = mul(num, value, prime[i], a_frac)
        offset[i] = store_state(num, scaled(num, value, mantissa, shift_of_factor,
                                            e_frac - a_frac), counters)  # fmt: skip


@njit(cache=True)
def window_slot(position, j, size):
    """The ring buffer slot of the j-th oldest entry."""
    return (position[0] - position[1] + 1 + j) % size


@njit(cache=True)
def window_push(position, window_start, window_inputs, window_hidden, window_offsets,
                window_reset, inputs, hidden, offset, reset):  # fmt: skip
    """Add the newest entry; when the window is full the oldest leaves and
    its hidden state becomes ``window_start``."""
    size = window_inputs.shape[0]
    slot = (position[0] + 1) % size
    if position[1] == size:
        for i in range(hidden.shape[0]):
            window_start[i] = window_hidden[slot, i]
    else:
        position[1] += 1
    for j in range(inputs.shape[0]):
        window_inputs[slot, j] = inputs[j]
    for i in range(hidden.shape[0]):
        window_hidden[slot, i] = hidden[i]
        window_offsets[slot, i] = offset[i]
    window_reset[slot] = reset
    position[0] = slot


@njit(cache=True)
def learning_entries(hp, position, size):
    """How many entries learn this step, oldest first: every entry
    (``update = window``), or only the oldest, once, as it leaves a full
    window (``update = oldest``: each step learns once, with the errors of
    the K - 1 steps after it)."""
    if not hp.update_oldest:
        return position[1]
    return 1 if position[1] == size else 0


@njit(cache=True)
def load_previous(window_start, window_hidden, window_reset, position, j, out):
    """h_{tau-1} of the j-th oldest entry: zeros after a reset, else the
    previous entry's hidden state (or ``window_start``)."""
    size = window_hidden.shape[0]
    slot = window_slot(position, j, size)
    if window_reset[slot]:
        for i in range(out.shape[0]):
            out[i] = 0
    elif j == 0:
        for i in range(out.shape[0]):
            out[i] = window_start[i]
    else:
        before = window_slot(position, j - 1, size)
        for i in range(out.shape[0]):
            out[i] = window_hidden[before, i]


@njit(cache=True)
def learning_signal(num, rate, values, values_frac, counters, signal):
    """signal = -rate * values, in the signals format."""
    mantissa, shift_of_factor = multiplier(num, -rate)
    for i in range(values.shape[0]):
        signal[i] = store_signal(
            num,
            scaled(num, values[i], mantissa, shift_of_factor, values_frac - signal_frac(num)),
            counters,
        )


@njit(cache=True)
def readout_learn(num, hp, W_hy, b_y, w_frac, b_frac, grad, hidden, seed, step, key_offset,
                  counters, signal):  # fmt: skip
    """W_hy, b_y descend the step loss E_t: dW_hy = -eta_y g h^T."""
    a_frac = state_frac(num)
    g_frac = signal_frac(num)
    rate = hp.readout_rate * rate_decay(hp, counters[C_STEP])
    learning_signal(num, rate, grad, error_frac(num), counters, signal)
    matrix_update(num, W_hy, True, signal, hidden, g_frac + a_frac - w_frac, seed, step,
                  key_offset, counters)  # fmt: skip
    bias_update(num, b_y, True, signal, g_frac - b_frac, seed, step,
                key_offset + W_hy.shape[0], counters)  # fmt: skip


@njit(cache=True)
def recurrent_learn(num, W_h, b_h, fracs, signal, prev, seed, step, key_offset, counters):
    """W_h and b_h change by signal h_{tau-1}^T and signal."""
    a_frac = state_frac(num)
    g_frac = signal_frac(num)
    n = W_h.shape[0]
    matrix_update(num, W_h, True, signal, prev, g_frac + a_frac - fracs[FRAC_WH], seed, step,
                  key_offset, counters)  # fmt: skip
    bias_update(num, b_h, True, signal, g_frac - fracs[FRAC_BH], seed, step, key_offset + n,
                counters)  # fmt: skip


@njit(cache=True)
def input_learn(num, W_xh, fracs, signal, x, seed, step, key_offset, counters):
    """W_xh changes by signal x_tau^T."""
    shift = signal_frac(num) + state_frac(num) - fracs[FRAC_WXH]
    matrix_update(num, W_xh, True, signal, x, shift, seed, step, key_offset, counters)


@njit(cache=True)
def tptt_targets(num, hp, W_xh, V_h, c_h, fracs, position, window_inputs, window_hidden,
                 window_offsets, window_reset, counters, work, goals):  # fmt: skip
    """The merged targets of every entry, newest to oldest (Eq. 19-22):
    h_hat_newest = h + o; h_hat_tau = G(x_{tau+1}, h_hat_{tau+1}) + h_tau
    - G(x_{tau+1}, h_{tau+1}) + o_tau; only h_tau + o_tau before an entry
    that started a sequence."""
    size = window_inputs.shape[0]
    held = position[1]
    n = V_h.shape[0]
    g_target = work[T_G_TARGET, :n]
    g_hidden = work[T_G_HIDDEN, :n]
    prime = work[T_PRIME, :n]
    for j in range(held - 1, -1, -1):
        slot = window_slot(position, j, size)
        propagate = j < held - 1 and not window_reset[window_slot(position, j + 1, size)]
        if propagate:
            later = window_slot(position, j + 1, size)
            recurrent_unit(num, hp.linear, W_xh, fracs[FRAC_WXH], window_inputs[later], V_h,
                           fracs[FRAC_VH], goals[j + 1], c_h, fracs[FRAC_CH], counters,
                           g_target, prime)  # fmt: skip
            recurrent_unit(num, hp.linear, W_xh, fracs[FRAC_WXH], window_inputs[later], V_h,
                           fracs[FRAC_VH], window_hidden[later], c_h, fracs[FRAC_CH], counters,
                           g_hidden, prime)  # fmt: skip
        for i in range(n):
            value = add(num, window_hidden[slot, i], window_offsets[slot, i])
            if propagate:
                value = add(num, value, sub(num, g_target[i], g_hidden[i]))
            goals[j, i] = store_state(num, value, counters)


@njit(cache=True)
def tptt_learn(num, hp, W_xh, W_h, b_h, fracs, position, window_start, window_inputs,
               window_hidden, window_reset, counters, work, goals, seed, step):  # fmt: skip
    """W_h, W_xh, b_h descend MSE(F(x_tau, h_{tau-1}), h_hat_tau) / 2 for
    every entry, h_{tau-1} held fixed (Eq. 23-24)."""
    size = window_inputs.shape[0]
    n = W_h.shape[0]
    a_frac = state_frac(num)
    e_frac = error_frac(num)
    prev = work[T_PREV, :n]
    forward = work[T_F, :n]
    prime = work[T_PRIME, :n]
    delta = work[T_BACK, :n]
    signal = work[T_SIGNAL, :n]
    n_params = tp_offsets(W_xh.shape[1], n, 0, True)[7]
    rate = hp.learning_rate * rate_decay(hp, counters[C_STEP])
    for j in range(learning_entries(hp, position, window_inputs.shape[0])):
        slot = window_slot(position, j, size)
        load_previous(window_start, window_hidden, window_reset, position, j, prev)
        recurrent_unit(num, hp.linear, W_xh, fracs[FRAC_WXH], window_inputs[slot], W_h,
                       fracs[FRAC_WH], prev, b_h, fracs[FRAC_BH], counters, forward, prime)  # fmt: skip
        for i in range(n):
            gap = sub(num, forward[i], goals[j, i])
            delta[i] = store_error(num, mul(num, gap, prime[i], 2 * a_frac - e_frac), counters)
        learning_signal(num, rate, delta, e_frac, counters, signal)
        key = j * n_params
        recurrent_learn(num, W_h, b_h, fracs, signal, prev, seed, step, key + W_xh.size, counters)
        input_learn(num, W_xh, fracs, signal, window_inputs[slot], seed, step, key, counters)


@njit(cache=True)
def inverse_learn(num, hp, W_xh, W_h, b_h, V_h, c_h, fracs, position, window_start,
                  window_inputs, window_hidden, window_reset, counters, work, seed, step,
                  key_offset):  # fmt: skip
    """V_h, c_h descend ||G(x_t, F(x_t, h_{t-1} + eps)) - (h_{t-1} + eps)||^2 / 2
    on the newest entry, eps ~ N(0, sigma^2) per unit (a denoising inverse)."""
    size = window_inputs.shape[0]
    n = W_h.shape[0]
    a_frac = state_frac(num)
    e_frac = error_frac(num)
    g_frac = signal_frac(num)
    newest = position[1] - 1
    slot = window_slot(position, newest, size)
    prev = work[T_PREV, :n]
    noisy = work[T_NOISY, :n]
    forward = work[T_F, :n]
    prime = work[T_PRIME, :n]
    rebuilt = work[T_G_TARGET, :n]
    delta = work[T_BACK, :n]
    signal = work[T_SIGNAL, :n]
    load_previous(window_start, window_hidden, window_reset, position, newest, prev)
    for i in range(n):
        eps = noise(num, hp.seed, INVERSE_NOISE, step, i, hp.sigma)
        noisy[i] = store_state(num, add(num, prev[i], eps), counters)
    x = window_inputs[slot]
    recurrent_unit(num, hp.linear, W_xh, fracs[FRAC_WXH], x, W_h, fracs[FRAC_WH], noisy, b_h,
                   fracs[FRAC_BH], counters, forward, prime)  # fmt: skip
    recurrent_unit(num, hp.linear, W_xh, fracs[FRAC_WXH], x, V_h, fracs[FRAC_VH], forward, c_h,
                   fracs[FRAC_CH], counters, rebuilt, prime)  # fmt: skip
    for i in range(n):
        gap = sub(num, rebuilt[i], noisy[i])
        delta[i] = store_error(num, mul(num, gap, prime[i], 2 * a_frac - e_frac), counters)
    rate = hp.inverse_rate * (rate_decay(hp, counters[C_STEP]) if hp.decay_inverse else 1.0)
    learning_signal(num, rate, delta, e_frac, counters, signal)
    matrix_update(num, V_h, True, signal, forward, g_frac + a_frac - fracs[FRAC_VH], seed, step,
                  key_offset, counters)  # fmt: skip
    bias_update(num, c_h, True, signal, g_frac - fracs[FRAC_CH], seed, step, key_offset + n,
                counters)  # fmt: skip


@njit(cache=True)
def vector_norm(num, values, frac):
    """||values|| in the values' format."""
    total = zero(num)
    for i in range(values.shape[0]):
        total = add(num, total, mul(num, values[i], values[i], frac))
    return square_root(num, total, frac)


@njit(cache=True)
def local_error(num, hp, shift_of_target, counters):
    """e = dL/dz of the local loss at z - z_bar = -shift_of_target (errors):
    z - z_bar (MSE / 2) or 2 u / (1 + u^2) with u = z - z_bar (log-penalty)."""
    a_frac = state_frac(num)
    e_frac = error_frac(num)
    gap = sub(num, zero(num), shift_of_target)
    if hp.local_loss == LOCAL_MSE:
        return store_error(num, rescale(num, gap, a_frac - e_frac), counters)
    one = constant(num, 1.0, a_frac)
    denominator = add(num, one, mul(num, gap, gap, a_frac))
    return store_error(num, divide(num, add(num, gap, gap), denominator, e_frac), counters)


@njit(cache=True)
def lra_errors(num, hp, W_h, fracs, position, window_hidden, window_offsets, window_reset, counters,
               work, rows, boosts):  # fmt: skip
    """LRA-diff's local errors of every entry, newest to oldest:
    z_bar_newest - z = o; going back, d = (W_h^T e_{tau+1}) * phi'(z_tau),
    Normalize(d) (to norm_clip), z_bar_tau - z_tau = o_tau - beta d, and
    e_tau = dL_tau/dz_tau of the local loss. Regularised (regularize > 0):
    per pair the regulariser's factors (rows R_PRESYN, R_UNIT_ERROR) and the
    input mapping's boost 1 / rho, rho = ||d|| / ||e_{tau+1}||."""
    size = window_hidden.shape[0]
    held = position[1]
    n = W_h.shape[0]
    a_frac = state_frac(num)
    e_frac = error_frac(num)
    one = constant(num, 1.0, a_frac)
    boost_max = constant(num, BOOST_MAX, a_frac)
    clip = constant(num, hp.norm_clip, e_frac)
    beta, beta_shift = multiplier(num, hp.target_step)
    back = work[T_BACK, :n]
    prime = work[T_PRIME, :n]
    regularized = hp.regularize != 0.0
    for j in range(held - 1, -1, -1):
        slot = window_slot(position, j, size)
        propagate = j < held - 1 and not window_reset[window_slot(position, j + 1, size)]
        boosts[j] = one
        if regularized:
            for i in range(n):
                rows[R_PRESYN, j, i] = 0
                rows[R_UNIT_ERROR, j, i] = 0
        if propagate:
            later = rows[R_TARGETS, j + 1]
            backproject(num, W_h, 0, fracs[FRAC_WH], later, back, False)
            for i in range(n):
                rate = window_hidden[slot, i]
                prime[i] = sub(num, one, mul(num, rate, rate, a_frac))
            for i in range(n):
                back[i] = store_error(num, mul(num, back[i], prime[i], a_frac), counters)
            norm_back = vector_norm(num, back, e_frac)
            if regularized:
                norm_later = vector_norm(num, later, e_frac)
                if above(num, norm_back, 0) and above(num, norm_later, 0):
                    # Omega = (rho - 1)^2; dOmega/dW_h = 2 (rho - 1) e_hat (d_hat * phi')^T.
                    rho = divide(num, norm_back, norm_later, a_frac)
                    twice = sub(num, rho, one)
                    twice = add(num, twice, twice)
                    for i in range(n):
                        rows[R_UNIT_ERROR, j, i] = divide(num, later[i], norm_later, a_frac)
                        unit = divide(num, back[i], norm_back, a_frac)
                        rows[R_PRESYN, j, i] = mul(num, mul(num, unit, prime[i], a_frac), twice,
                                                   a_frac)  # fmt: skip
                    inverse_rho = divide(num, norm_later, norm_back, a_frac)
                    boosts[j] = maximum(num, one, minimum(num, boost_max, inverse_rho))
            if hp.norm_clip > 0.0 and above(num, norm_back, clip):
                for i in range(n):
                    back[i] = divide(num, mul(num, back[i], clip, e_frac), norm_back, e_frac)
        for i in range(n):
            shift = window_offsets[slot, i]
            if propagate:
                shift = sub(num, shift, scaled(num, back[i], beta, beta_shift, e_frac - a_frac))
            shift = store_state(num, shift, counters)
            rows[R_TARGETS, j, i] = local_error(num, hp, shift, counters)


@njit(cache=True)
def lra_learn(num, hp, W_xh, W_h, b_h, fracs, position, window_start, window_inputs,
              window_hidden, window_reset, counters, work, rows, boosts, seed, step):  # fmt: skip
    """Every entry: dW_h = -eta e h_{tau-1}^T, db_h = -eta e, dW_xh = -eta
    boost e x^T; regularised, W_h also descends lambda Omega of its pair."""
    size = window_inputs.shape[0]
    n = W_h.shape[0]
    a_frac = state_frac(num)
    e_frac = error_frac(num)
    prev = work[T_PREV, :n]
    signal = work[T_SIGNAL, :n]
    second = work[T_SIGNAL_B, :n]
    n_params = tp_offsets(W_xh.shape[1], n, 0, False)[7]
    regularized = hp.regularize != 0.0
    rate = hp.learning_rate * rate_decay(hp, counters[C_STEP])
    for j in range(learning_entries(hp, position, window_inputs.shape[0])):
        slot = window_slot(position, j, size)
        load_previous(window_start, window_hidden, window_reset, position, j, prev)
        learning_signal(num, rate, rows[R_TARGETS, j], e_frac, counters, signal)
        key = 2 * j * n_params
        recurrent_learn(num, W_h, b_h, fracs, signal, prev, seed, step, key + W_xh.size, counters)
        if regularized:
            for i in range(n):
                second[i] = store_signal(num, mul(num, signal[i], boosts[j], a_frac), counters)
            input_learn(num, W_xh, fracs, second, window_inputs[slot], seed, step, key, counters)
            learning_signal(num, rate * hp.regularize, rows[R_UNIT_ERROR, j],
                            a_frac, counters, second)  # fmt: skip
            matrix_update(num, W_h, True, second, rows[R_PRESYN, j],
                          signal_frac(num) + a_frac - fracs[FRAC_WH], seed, step,
                          key + n_params + W_xh.size, counters)  # fmt: skip
        else:
            input_learn(num, W_xh, fracs, signal, window_inputs[slot], seed, step, key, counters)


@njit(cache=True)
def tp_hidden_spike(num, hp, learn, W_xh, W_h, b_h, fracs, hidden, counters, position,
                    window_start, work, inputs_t, reset):  # fmt: skip
    """The recurrent layer's forward step: h_t = F(x_t, h_{t-1}) (zeroed
    first on ``reset``); the sample's inputs stay in work[T_INPUT] and
    phi'(z_t) in work[T_PRIME] for the learning phase."""
    n = hidden.shape[0]
    if reset:
        for i in range(n):
            hidden[i] = 0
    inputs = work[T_INPUT, : inputs_t.shape[0]]
    load_samples(num, inputs_t, True, counters, inputs)
    prev = work[T_PREV, :n]
    for i in range(n):
        prev[i] = hidden[i]
    if learn and position[1] == 0:
        for i in range(n):
            window_start[i] = hidden[i]
    forward = work[T_F, :n]
    recurrent_unit(num, hp.linear, W_xh, fracs[FRAC_WXH], inputs, W_h, fracs[FRAC_WH], prev, b_h,
                   fracs[FRAC_BH], counters, forward, work[T_PRIME, :n])  # fmt: skip
    for i in range(n):
        hidden[i] = forward[i]


@njit(cache=True)
def tp_readout_spike(num, hp, learn, W_hy, b_y, fracs, hidden, counters, work, targets_t,
                     has_target):  # fmt: skip
    """The readout: outputs y_t (work[T_OUT]) and the loss; learning, also
    the output error g_t, its back-projection W_hy^T g_t into work[T_BACK]
    (the message to the recurrent layer, formed before the readout's own
    update) and that update (after TPTT's warm-up). Returns the loss as a
    real number, NaN without a target."""
    n_out = targets_t.shape[0]
    n = hidden.shape[0]
    targets = work[T_TARGET, :n_out]
    load_samples(num, targets_t, has_target, counters, targets)
    logits = work[T_LOGITS, :n_out]
    outputs = work[T_OUT, :n_out]
    readout(num, hp, W_hy, fracs[FRAC_WHY], b_y, fracs[FRAC_BY], hidden, counters, logits,
            outputs)  # fmt: skip
    loss = np.nan
    if has_target:
        loss = real_loss(num, loss_value(num, logits, outputs, targets, hp.loss))
    if not learn:
        return loss
    grad = work[T_GRAD, :n_out]
    output_error(num, hp, has_target, outputs, targets, counters, grad)
    backproject(num, W_hy, 0, fracs[FRAC_WHY], grad, work[T_BACK, :n], False)
    step = counters[C_STEP]
    if not (hp.rule == RULE_TPTT and step < hp.inverse_warmup):
        readout_learn(num, hp, W_hy, b_y, fracs[FRAC_WHY], fracs[FRAC_BY], grad, hidden,
                      hp.seed, step, READOUT_KEYS, counters, work[T_SIGNAL, :n_out])  # fmt: skip
    return loss


@njit(cache=True)
def tp_hidden_learn(num, hp, learn, reset, W_xh, W_h, b_h, V_h, c_h, fracs, hidden, counters,
                    position, window_start, window_inputs, window_hidden, window_offsets,
                    window_reset, work, rows, boosts):  # fmt: skip
    """The recurrent layer's learning phase, from the readout's
    back-projection in work[T_BACK]: the step offset, the window's new
    entry, targets back through the window, every entry's update and (TPTT)
    the inverse's. Without ``learn`` the window empties (its entries no
    longer lead up to the hidden state)."""
    if not learn:
        position[1] = 0
        return
    n = hidden.shape[0]
    n_in = window_inputs.shape[1]
    inverse = hp.rule == RULE_TPTT
    offset = work[T_OFFSET, :n]
    step_offset(num, hp, work[T_BACK, :n], work[T_PRIME, :n], counters, offset)
    window_push(position, window_start, window_inputs, window_hidden, window_offsets,
                window_reset, work[T_INPUT, :n_in], hidden, offset, reset)  # fmt: skip
    step = counters[C_STEP]
    seed = hp.seed
    goals = rows[R_TARGETS]
    if inverse:
        if step >= hp.inverse_warmup:
            tptt_targets(num, hp, W_xh, V_h, c_h, fracs, position, window_inputs, window_hidden,
                         window_offsets, window_reset, counters, work, goals)  # fmt: skip
            tptt_learn(num, hp, W_xh, W_h, b_h, fracs, position, window_start, window_inputs,
                       window_hidden, window_reset, counters, work, goals, seed,
                       step)  # fmt: skip
        offsets = tp_offsets(n_in, n, 0, True)
        inverse_learn(num, hp, W_xh, W_h, b_h, V_h, c_h, fracs, position, window_start,
                      window_inputs, window_hidden, window_reset, counters, work, seed, step,
                      offsets[5] + offsets[7] * (window_inputs.shape[0] + 1))  # fmt: skip
    else:
        lra_errors(num, hp, W_h, fracs, position, window_hidden, window_offsets, window_reset,
                   counters, work, rows, boosts)  # fmt: skip
        lra_learn(num, hp, W_xh, W_h, b_h, fracs, position, window_start, window_inputs,
                  window_hidden, window_reset, counters, work, rows, boosts, seed, step)  # fmt: skip


@njit(cache=True)
def tp_step(num, hp, learn, params, weight_fracs, hidden, counters, position, window_start,
            window_inputs, window_hidden, window_offsets, window_reset, work, rows, boosts,
            inputs_t, targets_t, has_target, reset, average):  # fmt: skip
    """One step of TPTT or LRA (``hp.rule``) on the host: the recurrent
    layer's forward step, the readout's, then the recurrent layer's learning
    phase (see the module's docstring). The Lava target runs the same three
    phases in two processes. A learning step with ``average`` non-empty
    (hyper-parameter ``average`` > 0, host only) then folds the weights into
    their moving average. Returns the step's loss as a real number, NaN
    without a target."""
    n_in = inputs_t.shape[0]
    n_out = targets_t.shape[0]
    n = hidden.shape[0]
    W_xh, W_h, b_h, W_hy, b_y, V_h, c_h = tp_views(params, n_in, n, n_out, hp.rule == RULE_TPTT)
    tp_hidden_spike(num, hp, learn, W_xh, W_h, b_h, weight_fracs, hidden, counters, position,
                    window_start, work, inputs_t, reset)  # fmt: skip
    loss = tp_readout_spike(num, hp, learn, W_hy, b_y, weight_fracs, hidden, counters, work,
                            targets_t, has_target)  # fmt: skip
    tp_hidden_learn(num, hp, learn, reset, W_xh, W_h, b_h, V_h, c_h, weight_fracs, hidden,
                    counters, position, window_start, window_inputs, window_hidden,
                    window_offsets, window_reset, work, rows, boosts)  # fmt: skip
    count_learning_step(counters, learn)
    if learn and average.shape[0] > 0:
        average_weights(num, params, average, counters[C_STEP], hp.average)
    return loss
