"""Ahmad et al.'s decorrelation rule (ALGORITHMS.md §1, Eq. 6):

    dD = (x* x*^T - diag(x*^2)) D,      D <- D - eps dD

computed as the rank-1 update x* (x*^T D) minus the row scaling diag(x*^2) D:
O(n^2) per step, never an n^3 matrix product (DESIGN.md principle 3). Written
with the numeric primitives: the same code is the float and the fixed-point rule.
"""

from numba import njit
from timelocal.kernels.numeric import (
    FRAC_D,
    WIDE,
    change_weight,
    count_weight_saturations,
    mac,
    mul,
    multiplier,
    read,
    rounding_key,
    scaled,
    state_frac,
    store_state,
    sub,
    weight_rounding,
    zero,
)

# Index offset of D's stochastic rounding draws (the parameters use 0 .. P-1).
D_ROUNDING_OFFSET = 1 << 40


@njit(cache=True)
def decorrelation_update(num, decorrelation, weight_fracs, drates, rate, scratch, seed, step,
                         counters):  # fmt: skip
    """Apply one step of the rule in place; ``scratch`` holds x*^T D (length n).

    Row i of dD is x*_i (x*^T D - x*_i D_i). In fixed point the factor
    -eps x*_i keeps WIDE extra bits and each change is rounded once."""
    n = drates.shape[0]
    frac = weight_fracs[FRAC_D]
    a_frac = state_frac(num)
    for j in range(n):
        scratch[j] = zero(num)
    for i in range(n):
        xi = drates[i]
        for j in range(n):
            scratch[j] = mac(num, scratch[j], xi, read(num, decorrelation[i, j]), frac)
    for j in range(n):
        scratch[j] = store_state(num, scratch[j], counters)
    mantissa, shift_of_factor = multiplier(num, -rate)
    # change = (-eps x_i) * (v_j - x_i D_ij): (a + WIDE) + a bits -> D's bits.
    shift = 2 * a_frac + WIDE - frac
    saturated = 0
    rounding = weight_rounding(num, shift)
    for i in range(n):
        xi = drates[i]
        factor = scaled(num, xi, mantissa, shift_of_factor, -WIDE)
        key = rounding_key(num, seed, step, D_ROUNDING_OFFSET + i)
        for j in range(n):
            # D[i, j] is read once (change_weight counts the read) for both uses.
            residual = sub(num, scratch[j], mul(num, xi, decorrelation[i, j], frac))
            decorrelation[i, j], flag = change_weight(
                num, decorrelation[i, j], mul(num, factor, residual, 0), rounding, key, j
            )
            saturated += flag
    count_weight_saturations(counters, saturated)


@njit(cache=True)
def mean_squared_offdiagonal(second_moment):
    """Mean of the squared off-diagonal entries of a (correlation) matrix."""
    n = second_moment.shape[0]
    if n < 2:
        return 0.0
    total = 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                total += second_moment[i, j] * second_moment[i, j]
    return total / (n * (n - 1))
