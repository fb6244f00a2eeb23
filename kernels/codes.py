"""Integer codes that kernels dispatch on, and the index tables of the small
integer/scratch arrays they share. Immutable; the runtime maps names to them."""

# Rules (ALGORITHMS.md §1). BPTT is the offline reference, not time-local.
RULE_NP = 0
RULE_ANP = 1
RULE_WP = 2
RULE_BPTT = 3
RULE_GLE = 4  # Generalized Latent Equilibrium (ALGORITHMS.md §2)
RULE_TPTT = 5  # target propagation through time, merged targets (ALGORITHMS.md §3)
RULE_LRA = 6  # LRA-diff over a window (ALGORITHMS.md §3)

# Losses.
LOSS_MSE = 0  # l_t = ||y_t - y*_t||^2, y = beta (regression)
LOSS_XENT = 1  # l_t = -sum y* log softmax(beta) (classification)

# Optimisers (one update per time step).
OPT_SGD = 0
OPT_ADAM = 1

# counters: int64 array of the rule's step bookkeeping.
C_STEP = 0  # training steps taken: the `step` key of every noise draw
C_UPDATES = 1  # optimiser updates applied (Adam's t)
C_SKIP_HIDDEN = 2  # ANP steps whose ||d alpha||^2 fell below the floor
C_SKIP_OUTPUT = 3  # ANP steps whose ||d beta||^2 fell below the floor
C_WINDOW_POS = 4  # BPTT: steps held in the current window
# Fixed point: stores that saturated, per quantity class (ALGORITHMS.md §4).
C_SAT_WEIGHTS = 5
C_SAT_STATES = 6  # inputs, targets, pre-activations, rates, outputs
C_SAT_ERRORS = 7  # loss differences
C_SAT_SIGNALS = 8  # learning signals (per-neuron factors of weight updates)
N_COUNTERS = 9

# work: rows of the per-step scratch array (transient, reused every step).
W_ALPHA = 0
W_RATES = 1
W_DRATES = 2
W_BETA = 3
W_OUT = 4
W_NOISY_ALPHA = 5
W_NOISY_RATES = 6
W_NOISY_DRATES = 7
W_NOISY_BETA = 8
W_NOISY_OUT = 9
W_HIDDEN_NOISE = 10
W_OUTPUT_NOISE = 11
W_TMP_A = 12
W_TMP_B = 13
W_TMP_C = 14
W_TMP_D = 15
W_INPUT = 16  # the sample's inputs as states
W_TARGET = 17  # the sample's targets as states
N_WORK_ROWS = 18

# Operations by kind, counted by the numeric primitives in the counting build
# (kernels/numeric.py) and modelled by the profiler (runtime/profile.py).
O_MAC = 0  # multiply-accumulate
O_MUL = 1  # multiply (not accumulated)
O_ADD = 2  # add or subtract
O_SHIFT = 3  # fixed point: rounding shift of a product or value (an add and a shift)
O_SELECT = 4  # compare or select: saturation of a store, max, a threshold test
O_LOOKUP = 5  # activation or exp/log: a table look-up in fixed point
O_DIV = 6  # division, reciprocal or square root
O_RANDOM = 7  # random number drawn from the counter-based generator
O_READ = 8  # weight or optimiser-state element read from memory
O_WRITE = 9  # weight or optimiser-state element written to memory
N_OPS = 10
OP_NAMES = ("mac", "mul", "add", "shift", "select", "lookup", "div", "random", "read", "write")
