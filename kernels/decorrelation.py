"""Ahmad et al.'s decorrelation rule (ALGORITHMS.md §1, Eq. 6):

    dD = (x* x*^T - diag(x*^2)) D,      D <- D - eps dD

computed as the rank-1 update x* (x*^T D) minus the row scaling diag(x*^2) D:
O(n^2) per step, never an n^3 matrix product (DESIGN.md principle 3).
"""

from numba import njit


@njit(cache=True)
def decorrelation_update(decorrelation, drates, rate, scratch):
    """Apply one step of the rule in place; ``scratch`` holds x*^T D (length n)."""
    n = drates.shape[0]
    for j in range(n):
        scratch[j] = 0.0
    for i in range(n):
        xi = drates[i]
        if xi != 0.0:
            for j in range(n):
                scratch[j] += xi * decorrelation[i, j]
    # Row i of dD is x*_i (x*^T D - x*_i D_i).
    for i in range(n):
        xi = drates[i]
        if xi == 0.0:
            continue
        scale = rate * xi
        for j in range(n):
            decorrelation[i, j] -= scale * (scratch[j] - xi * decorrelation[i, j])


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
