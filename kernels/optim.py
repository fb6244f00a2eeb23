"""Per-step optimisers on the flat parameter vector: W <- W - lr * step(dW).

Adam keeps two moments per weight: O(1) in time, and part of the state that
checkpoints and the profile see.
"""

import numpy as np
from numba import njit
from numba.extending import overload
from timelocal.kernels.codes import O_WRITE, OPT_SGD
from timelocal.kernels.numeric import add, divide, fixed_type, mul, read, root, sub, tally


@njit(cache=True)
def rate_decay(hp, step):
    """The factor on the learning rates at learning step ``step`` (0-based):
    1 for the first ``decay_after`` + ``decay_every`` steps, then times
    ``decay_factor`` every ``decay_every`` steps (the first step-down at
    ``decay_after + decay_every``); 1 without decay (decay_every = 0)."""
    if hp.decay_every <= 0 or step < hp.decay_after:
        return 1.0
    return hp.decay_factor ** ((step - hp.decay_after) // hp.decay_every)


@njit(cache=True)
def apply_update(
    num, params, grads, moment1, moment2, update_count, optimizer, learning_rate, beta1, beta2,
    eps,
):  # fmt: skip
    """One descent step with gradient estimate ``grads``; ``update_count`` is
    the number of this update, counting from 1 (Adam's bias correction).
    Float only; the arithmetic goes through the numeric primitives so that
    the profiler's counting build sees it."""
    descend(num, params, grads, moment1, moment2, update_count, optimizer, learning_rate, beta1,
            beta2, eps)  # fmt: skip


def descend(num, params, grads, moment1, moment2, update_count, optimizer, learning_rate, beta1,
            beta2, eps):  # fmt: skip
    """``apply_update``'s body, compiled for float records only."""


@overload(descend)
def _descend(num, params, grads, moment1, moment2, update_count, optimizer, learning_rate, beta1,
             beta2, eps):  # fmt: skip
    if fixed_type(num):
        # Never reached: fixed point runs plain SGD straight into the weights
        # and refuses BPTT; the kernels that call this are still typed for it.

        def nothing(num, params, grads, moment1, moment2, update_count, optimizer,
                    learning_rate, beta1, beta2, eps):  # fmt: skip
            return None

        return nothing

    def impl(num, params, grads, moment1, moment2, update_count, optimizer, learning_rate,
             beta1, beta2, eps):  # fmt: skip
        if optimizer == OPT_SGD:
            for p in range(params.shape[0]):
                params[p] = sub(num, read(num, params[p]), mul(num, learning_rate, grads[p], 0))
                tally(num, O_WRITE, 1)
            return
        # lr m1/c1 / (sqrt(m2/c2) + eps) with the bias corrections c1, c2
        # taken out of the loop: one root and one division per weight (the
        # loop's cost at large n; equal to the textbook form up to rounding).
        rate = learning_rate / (1.0 - beta1**update_count)
        unbias = 1.0 / np.sqrt(1.0 - beta2**update_count)
        keep1, keep2 = 1.0 - beta1, 1.0 - beta2
        for p in range(params.shape[0]):
            g = grads[p]
            m1 = add(num, mul(num, beta1, read(num, moment1[p]), 0), mul(num, keep1, g, 0))
            m2 = add(num, mul(num, beta2, read(num, moment2[p]), 0),
                     mul(num, mul(num, keep2, g, 0), g, 0))  # fmt: skip
            moment1[p] = m1
            moment2[p] = m2
            step = divide(num, mul(num, rate, m1, 0),
                          add(num, mul(num, root(num, m2), unbias, 0), eps), 0)  # fmt: skip
            params[p] = sub(num, read(num, params[p]), step)
            tally(num, O_WRITE, 3)

    return impl


@njit(cache=True)
def average_weights(num, params, average, steps, horizon):
    """Polyak averaging: ``average`` <- ``average`` + (``params`` -
    ``average``) / min(``steps``, ``horizon``), after learning step number
    ``steps`` (from 1). The mean of the weights over every step so far until
    ``horizon`` steps, then an exponential moving average over about the last
    ``horizon``: no pull toward the initial weights. Float only, through the
    numeric primitives so that the profiler's counting build sees it."""
    blend(num, params, average, 1.0 / min(steps, horizon))


def blend(num, params, average, share):
    """``average_weights``' body, compiled for float records only."""


@overload(blend)
def _blend(num, params, average, share):
    if fixed_type(num):
        # Never reached: the spec refuses averaging in fixed point.

        def nothing(num, params, average, share):
            return None

        return nothing

    def impl(num, params, average, share):
        for p in range(params.shape[0]):
            kept = read(num, average[p])
            average[p] = add(num, kept, mul(num, share, sub(num, read(num, params[p]), kept), 0))
            tally(num, O_WRITE, 1)

    return impl
