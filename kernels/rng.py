"""Counter-based random numbers (ALGORITHMS.md §5).

Every random number is a pure function of ``(seed, stream id, step, index)``:
a splitmix64 finaliser chained over the four key words. Nothing is carried
between calls, so the host target, the Lava target, a repeated run and a run
resumed from a checkpoint all draw the same numbers without sharing state.
"""

import numpy as np
from numba import njit

# Stream ids: which quantity a draw belongs to.
HIDDEN_NOISE = 1  # NP/ANP: xi_t on the hidden pre-activations
OUTPUT_NOISE = 2  # NP/ANP: nu_t on the output pre-activations
WEIGHT_NOISE = 3  # WP: one draw per weight (flat parameter index)
# 4: stochastic rounding of weight changes (numeric.ROUNDING)
INVERSE_NOISE = 5  # TPTT: the denoising noise of the step inverse's training

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_TWO_PI = 2.0 * np.pi
_INV_2_53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True)
def mix64(z):
    """splitmix64's finaliser: a bijection of uint64 with good avalanche."""
    z = (z ^ (z >> np.uint64(30))) * _MUL1
    z = (z ^ (z >> np.uint64(27))) * _MUL2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def counter_hash(seed, stream, step, index):
    """64 random bits for the key ``(seed, stream, step, index)``."""
    h = mix64(np.uint64(seed) * _GOLDEN + np.uint64(stream))
    h = mix64(h + np.uint64(step) * _GOLDEN)
    return mix64(h + np.uint64(index) * _GOLDEN)


@njit(cache=True)
def uniform_open(bits):
    """A double in (0, 1] from the top 53 bits (never 0, so log() is safe)."""
    return (np.float64(bits >> np.uint64(11)) + 1.0) * _INV_2_53


@njit(cache=True)
def gaussian(seed, stream, step, index):
    """One standard normal draw (Box-Muller on two counter hashes)."""
    u1 = uniform_open(counter_hash(seed, stream, step, 2 * index))
    u2 = uniform_open(counter_hash(seed, stream, step, 2 * index + 1))
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(_TWO_PI * u2)
