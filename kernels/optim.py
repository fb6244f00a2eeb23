"""Per-step optimisers on the flat parameter vector: W <- W - lr * step(dW).

Adam keeps two moments per weight: O(1) in time, and part of the state that
checkpoints and the profile see.
"""

import numpy as np
from numba import njit
from timelocal.kernels.codes import OPT_SGD


@njit(cache=True)
def apply_update(
    params, grads, moment1, moment2, update_count, optimizer, learning_rate, beta1, beta2, eps
):
    """One descent step with gradient estimate ``grads``; ``update_count`` is
    the number of this update, counting from 1 (Adam's bias correction)."""
    if optimizer == OPT_SGD:
        for p in range(params.shape[0]):
            params[p] -= learning_rate * grads[p]
        return
    correction1 = 1.0 - beta1**update_count
    correction2 = 1.0 - beta2**update_count
    for p in range(params.shape[0]):
        g = grads[p]
        moment1[p] = beta1 * moment1[p] + (1.0 - beta1) * g
        moment2[p] = beta2 * moment2[p] + (1.0 - beta2) * g * g
        params[p] -= (
            learning_rate * (moment1[p] / correction1) / (np.sqrt(moment2[p] / correction2) + eps)
        )
