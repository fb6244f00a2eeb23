"""The profiler: its operation counts equal what the kernels count when
compiled with the counting primitives; its bytes equal what is allocated;
time-local rules keep a flat resident memory over 10^6 steps."""

import numpy as np
import pytest
from timelocal.kernels import codes
from timelocal.runtime.errors import SpecError
from timelocal.runtime.network import Network
from timelocal.runtime.profile import (
    BUDGETS,
    cores_needed,
    counted_ops,
    model_ops,
    op_totals,
    parse_budget,
    profile,
    render,
    steady_host_run,
)
from timelocal.runtime.session import RunOptions, Session
from timelocal.runtime.spec import NetworkSpec
from timelocal.runtime.state import initial_state, scratch_layout
from timelocal.streams import open_stream

# Every precision kind: float, fixed16 (stochastic rounding), to-nearest
# rounding, shared per-matrix exponents (loihi8's kind). Each record type is a
# separate compile of the counting build (about 45 s cold), so the shared
# exponent is tested with fixed16's storage types: loihi8 runs the same code
# with int8 weights and int32 states, and its counts do not depend on them.
PRECISIONS = ("float64", "fixed16", "fixed:rounding=nearest", "fixed:shared=1")
STEP_KINDS = [(True, True), (True, False), (False, True), (False, False)]


def _spec(rule, decorrelate, precision, optimizer="sgd", loss="mse", **params):
    n_out = 3 if loss == "xent" else 2
    return NetworkSpec(rule, n_inputs=3, n_outputs=n_out, n_hidden=5, decorrelate=decorrelate,
                       precision=precision, loss=loss, params={"optimizer": optimizer, **params})  # fmt: skip


def _check(spec, steps=3, kinds=STEP_KINDS):
    for learn, has_target in kinds:
        counted = counted_ops(spec, steps, learn=learn, has_target=has_target)
        model = op_totals(model_ops(spec, learn=learn, has_target=has_target))
        assert counted == {kind: steps * value for kind, value in model.items()}, (
            spec.name, spec.precision, learn, has_target)  # fmt: skip


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("rule", ["np", "anp", "wp"])
def test_model_equals_counted_operations(rule, precision):
    for decorrelate in (False, True):
        _check(_spec(rule, decorrelate, precision))


@pytest.mark.parametrize("rule", ["np", "anp", "wp"])
def test_model_equals_counted_operations_adam_and_cross_entropy(rule):
    _check(_spec(rule, True, "float64", optimizer="adam"))
    _check(_spec(rule, False, "float64", optimizer="adam", loss="xent"))


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("decorrelate", [False, True])
def test_model_equals_counted_operations_bptt_window(decorrelate, optimizer):
    spec = _spec("bptt", decorrelate, "float64", optimizer=optimizer, window=4)
    assert counted_ops(spec, 4) == op_totals(model_ops(spec))


@pytest.mark.parametrize("precision", PRECISIONS)
def test_model_equals_counted_operations_gle(precision):
    for params in ({}, {"gamma": 0.5, "tau_learning_rate": 0.0}, {"learning_rate": 0.0},
                   {"recurrent": 1, "tau_learning_rate": 0.0}, {"linear": 1}):  # fmt: skip
        _check(NetworkSpec("gle", 3, 2, n_hidden=4, precision=precision,
                           params={"layers": 2, **params}))  # fmt: skip
    if precision == "float64":
        _check(NetworkSpec("gle", 3, 3, n_hidden=4, loss="xent", params={"layers": 3}))
    if precision.startswith("float"):
        _check(NetworkSpec("gle", 3, 2, n_hidden=4, precision=precision,
                           params={"layers": 2, "optimizer": "adam"}))  # fmt: skip
        _check(NetworkSpec("gle", 3, 2, n_hidden=4, precision=precision,
                           params={"layers": 2, "average": 5}))  # fmt: skip
        _check(NetworkSpec("gle", 3, 2, n_hidden=4, precision=precision,
                           params={"layers": 1, "optimizer": "adam", "recurrent": 1,
                                   "tau_learning_rate": 0.0}))  # fmt: skip


@pytest.mark.parametrize("precision", PRECISIONS)
def test_model_equals_counted_operations_target_propagation(precision):
    # LRA: the model counts the worst case, every back-projection rescaled by
    # Normalize and regularised: norm_clip=1e-9 makes it happen while errors
    # flow (steps with targets); norm_clip=0 and no regulariser make the
    # count independent of the data.
    cases = [("tptt", {"inverse_warmup": 2}, STEP_KINDS),
             ("tptt", {"linear": 1, "update": "oldest"}, STEP_KINDS),
             *([("lra", {"norm_clip": 0.0, "average": 7}, STEP_KINDS)]  # float only
               if precision.startswith("float") else []),
             ("lra", {"norm_clip": 0.0}, STEP_KINDS),
             ("lra", {"norm_clip": 1e-9, "regularize": 0.5, "update": "oldest"}, [(True, True)]),
             ("lra", {"norm_clip": 1e-9, "regularize": 0.5, "local_loss": "log"},
              [(True, True)])]  # fmt: skip
    for rule, params, kinds in cases:
        _check(NetworkSpec(rule, 3, 2, n_hidden=5, precision=precision,
                           params={"window": 3, **params}), kinds=kinds)  # fmt: skip
    if precision == "float64":
        _check(NetworkSpec("tptt", 3, 3, n_hidden=4, loss="xent", params={"window": 2}))
        _check(NetworkSpec("lra", 3, 3, n_hidden=4, loss="xent",
                           params={"window": 2, "norm_clip": 0.0}))  # fmt: skip


def test_host_time_is_measured_on_the_steps_the_model_counts():
    """TPTT's warm-up steps (the inverse alone learning) and a filling window
    cost a fraction of a full step: the timer starts after them (it timed the
    warm-up once, and reported a tenth of the real time at K = 16)."""
    for rule, params, first_timed in [("tptt", {"window": 4, "inverse_warmup": 50}, 50 + 4),
                                      ("lra", {"window": 4}, 4), ("bptt", {"window": 5}, 5),
                                      ("anp", {}, 0)]:  # fmt: skip
        spec = NetworkSpec(rule, 3, 2, n_hidden=5, params=params)
        run, target = steady_host_run(spec)
        step = int(target.state["counters"][codes.C_STEP])
        assert step >= first_timed, (rule, step)
        if rule == "bptt":
            assert step % 5 == 0, step
        assert run(3) > 0


def test_counts_change_when_the_kernels_do_something_else():
    """The counting is live: ANP skipping a layer (its floor) does fewer
    operations than the model's worst case, and the comparison sees it."""
    spec = _spec("anp", False, "fixed16", anp_floor=1e9)
    counted = counted_ops(spec, 1)
    model = op_totals(model_ops(spec))
    assert counted["div"] == 0 < model["div"]


@pytest.mark.parametrize(
    "rule,precision",
    [(rule, precision) for rule in ("np", "anp", "wp") for precision in
     ("float32", "float64", "fixed16", "loihi8")] + [("bptt", "float32"), ("bptt", "float64")]
    + [("gle", precision) for precision in ("float32", "float64", "fixed16", "loihi8")],
)  # fmt: skip
def test_persistent_bytes_equal_allocated(rule, precision):
    optimizer = "adam" if precision.startswith("float") else "sgd"
    params = {"optimizer": optimizer, **({"layers": 2} if rule == "gle" else {})}
    spec = NetworkSpec(rule, n_inputs=4, n_outputs=2, n_hidden=7, decorrelate=rule != "gle",
                       precision=precision, params=params)  # fmt: skip
    result = profile(spec)
    state = initial_state(spec)
    assert result.persistent_bytes == sum(a.nbytes for a in state.values())
    for kind, entry in result.memory.items():
        assert entry["bytes"] > 0 or entry["elements"] == 0, kind
    assert result.scratch_bytes == sum(a.nbytes for a in scratch_layout(spec))


@pytest.mark.parametrize("rule", ["lra", "gle"])
def test_the_weights_moving_average_is_a_second_copy_in_the_profile(rule):
    plain = NetworkSpec(rule, 3, 2, n_hidden=5, precision="float32")
    averaged = NetworkSpec(rule, 3, 2, n_hidden=5, precision="float32",
                           params={"average": 1000})  # fmt: skip
    extra = profile(averaged).memory["weights"]["bytes"] - profile(plain).memory["weights"]["bytes"]
    assert extra == plain.n_params * 4
    assert profile(averaged).persistent_bytes == sum(
        a.nbytes for a in initial_state(averaged).values()
    )


def test_format_bytes_follow_the_integer_widths():
    """loihi8: 8-bit weights, 24-bit states (stored in int32 on the host)."""
    spec = NetworkSpec("anp", n_inputs=1, n_outputs=1, n_hidden=10, precision="loihi8")
    memory = profile(spec).memory
    assert memory["neuron_state"]["bytes"] == 10 * 4
    assert memory["neuron_state"]["format_bytes"] == 10 * 3
    # One byte per weight, and six 64-bit per-matrix exponents.
    assert memory["weights"]["format_bytes"] == memory["weights"]["bytes"] == spec.n_params + 48
    fixed16 = profile(NetworkSpec("anp", n_inputs=1, n_outputs=1, n_hidden=10,
                                  precision="fixed16")).memory  # fmt: skip
    float32 = profile(NetworkSpec("anp", n_inputs=1, n_outputs=1, n_hidden=10,
                                  precision="float32")).memory  # fmt: skip
    assert fixed16["neuron_state"]["bytes"] == 20 and float32["neuron_state"]["bytes"] == 40


def test_bptt_memory_grows_with_its_window_and_time_local_does_not():
    small = profile(NetworkSpec("bptt", n_inputs=2, n_outputs=1, n_hidden=16,
                                params={"window": 10})).persistent_bytes  # fmt: skip
    large = profile(NetworkSpec("bptt", n_inputs=2, n_outputs=1, n_hidden=16,
                                params={"window": 1000})).persistent_bytes  # fmt: skip
    per_step = (2 + 1 + 16 + 16 + 1) * 8 + 2  # inputs, target, rates, outputs; two flags
    assert large - small == 990 * per_step
    anp = profile(NetworkSpec("anp", n_inputs=2, n_outputs=1, n_hidden=16))
    assert "window" not in anp.memory


def test_operations_grow_quadratically_in_n():
    def macs(n):
        spec = NetworkSpec("anp", n_inputs=1, n_outputs=1, n_hidden=n, decorrelate=True)
        return op_totals(profile(spec).ops)["mac"]

    assert 15 < macs(400) / macs(100) < 16.5


def test_budget_parsing_and_cores():
    assert parse_budget("loihi2") is BUDGETS["loihi2"]
    custom = parse_budget("memory=64KiB,ops=1e5,cores=4")
    assert custom.memory == 65536 and custom.ops == 1e5 and custom.cores == 4
    assert custom.neurons == BUDGETS["loihi2"].neurons
    for bad in ("memory=lots", "speed=3", "ops=0", "neurons=10KiB"):
        with pytest.raises(SpecError):
            parse_budget(bad)
    spec = NetworkSpec("anp", n_inputs=1, n_outputs=1, n_hidden=256, decorrelate=True,
                       precision="fixed16")  # fmt: skip
    result = profile(spec)
    check = cores_needed(result, custom)
    # 256^2 * 3 weights of 2 bytes (A, R, D...) cannot fit in 64 KiB.
    assert check["by_limit"]["memory"] == -(-result.format_bytes // 65536) >= 4
    assert check["cores"] == max(check["by_limit"].values())
    assert check["fits"] == (check["cores"] <= 4)
    assert "core(s)" in render(result, check)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


@pytest.mark.parametrize("rule,decorrelate", [("np", False), ("anp", False), ("wp", False),
                                              ("np", True), ("anp", True), ("wp", True),
                                              ("tptt", False), ("lra", False)])  # fmt: skip
def test_resident_memory_flat_over_a_million_steps(rule, decorrelate, tmp_path):
    """10^6 steps through the real session loop (stream, chunks, metrics):
    after warm-up the process's resident memory stays within 5 MB (TPTT and
    LRA: with their window of K = 8 steps)."""
    params = {"window": 8} if rule in ("tptt", "lra") else {}
    spec = NetworkSpec(rule, n_inputs=1, n_outputs=1, n_hidden=4, decorrelate=decorrelate,
                       params=params)  # fmt: skip
    network = Network(spec)
    stream = open_stream("synth:mackey-glass?epochs=200")
    samples = []

    def progress(p):
        samples.append((p.done, _rss_bytes()))

    options = RunOptions(steps=1_000_000, chunk_size=10_000, evaluate=False,
                         metrics_path=str(tmp_path / "m.jsonl"), metrics_every=50_000)  # fmt: skip
    summary = Session(network, stream, options, progress=progress).run()
    assert summary["steps"] == 1_000_000
    warm = [rss for done, rss in samples if done >= 100_000]
    assert max(warm) - warm[0] < 5 * 2**20, [rss // 2**20 for rss in warm[::10]]
    assert np.isfinite(summary["train_loss"])


def test_bptt_resident_memory_grows_with_its_window(tmp_path):
    """BPTT stores its window: over one window of 300k steps the resident
    memory grows by about what the stored steps take."""
    window = 300_000
    spec = NetworkSpec("bptt", n_inputs=1, n_outputs=1, n_hidden=16, params={"window": window})
    network = Network(spec)
    samples = []
    options = RunOptions(steps=window - 1, chunk_size=10_000, evaluate=False)
    Session(network, open_stream("synth:mackey-glass?epochs=60"), options,
            progress=lambda p: samples.append((p.done, _rss_bytes()))).run()  # fmt: skip
    (first_done, first), (last_done, last) = samples[0], samples[-1]
    per_step = sum(
        a.nbytes for a in initial_state(spec).values() if a.ndim and a.shape[0] == window
    )
    expected = (last_done - first_done) * per_step / window
    assert last - first > 0.8 * expected, (last - first, expected)
