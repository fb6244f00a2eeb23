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
