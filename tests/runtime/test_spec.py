import pytest
from timelocal import NetworkSpec
from timelocal.runtime.errors import SpecError


def test_defaults_and_overrides():
    spec = NetworkSpec("anp", 1, 1, n_hidden=100, params={"learning_rate": "1e-3"})
    assert spec.hyper("learning_rate") == 1e-3
    assert spec.hyper("anp_scale") == pytest.approx(102**0.5)
    assert spec.hyper("optimizer") == "adam"
    assert NetworkSpec("np", 1, 1).hyper("optimizer") == "sgd"
    assert NetworkSpec("bptt", 1, 1).hyper("optimizer") == "adam"
    assert NetworkSpec.from_dict(spec.to_dict()) == spec
    assert NetworkSpec("anp", 1, 1, decorrelate=True).name == "DANP"
    assert NetworkSpec("bptt", 1, 1).time_local is False


def test_fixed_point_anp_learning_rate_shrinks_with_the_width():
    def rate(n, precision="fixed16", **params):
        return NetworkSpec("anp", 1, 1, n_hidden=n, precision=precision,
                           params=params).hyper("learning_rate")  # fmt: skip

    assert rate(100) == pytest.approx(3e-3) and rate(50) == pytest.approx(3e-3)
    assert rate(300) == pytest.approx(1e-3) and rate(3000) == pytest.approx(1e-4)
    assert rate(3000, "loihi8") == pytest.approx(1e-4)
    assert rate(3000, learning_rate=3e-3) == 3e-3  # a given rate is kept
    assert rate(3000, "float32") == 3e-5  # float ANP: Adam's default, whatever the width
    assert NetworkSpec("np", 1, 1, n_hidden=3000, precision="fixed16").hyper(
        "learning_rate") == 1e-4  # fmt: skip


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"rule": "sgd"}, "unknown rule 'sgd'"),
        ({"n_hidden": 0}, "n_hidden must be a whole number >= 1"),
        ({"n_inputs": 2.5}, "n_inputs must be a whole number"),
        ({"loss": "hinge"}, "unknown loss"),
        ({"loss": "xent", "n_outputs": 1}, "at least 2 outputs"),
        ({"precision": "fixed99"}, "unknown precision"),
        ({"seed": -1}, "seed must be"),
        ({"params": {"lerning_rate": 1}}, "unknown hyper-parameter 'lerning_rate'"),
        ({"params": {"learning_rate": "fast"}}, "learning_rate must be float"),
        ({"params": {"learning_rate": -1}}, "must be >= 0"),
        ({"params": {"window": 5}}, "does not apply to rule 'anp'"),
        ({"params": {"sigma": 0}}, "sigma must be > 0"),
        ({"params": {"optimizer": "rmsprop"}}, "unknown optimizer"),
        ({"params": {"resync_every": 1.5}}, "resync_every must be int"),
    ],
)
def test_invalid_specs_say_what_is_wrong(kwargs, message):
    base = {"rule": "anp", "n_inputs": 1, "n_outputs": 1}
    with pytest.raises(SpecError, match=message):
        NetworkSpec(**{**base, **kwargs})
