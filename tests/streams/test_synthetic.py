import numpy as np
import pytest
from timelocal.runtime.errors import StreamError
from timelocal.streams import open_stream
from timelocal.streams.synthetic import mackey_glass_series


def _all(chunks):
    chunks = list(chunks)
    return {f: np.concatenate([getattr(c, f) for c in chunks])
            for f in ("inputs", "targets", "reset", "scored")}  # fmt: skip


def test_mackey_glass_predicts_15_steps_ahead_of_one_series():
    stream = open_stream("synth:mackey-glass?train=600&test=400&epochs=1")
    train = _all(stream.chunks(256))
    assert train["inputs"].shape == (600, 1)
    np.testing.assert_array_equal(train["targets"][:-15], train["inputs"][15:])
    test = _all(stream.test_chunks(100))
    assert test["inputs"].shape == (400, 1)
    assert not np.allclose(test["inputs"][:50], train["inputs"][:50])  # another seed
    assert train["reset"][0] and test["reset"][0] and train["reset"].sum() == 1


def test_mackey_glass_series_shape_and_determinism():
    series = mackey_glass_series(3000, seed=1)
    assert abs(series.mean()) < 1e-12  # de-meaned
    assert np.abs(series).max() < 1  # tanh(x - 1)
    assert 0.01 < series.var() < 0.2  # chaotic, not a fixed point
    np.testing.assert_array_equal(series, mackey_glass_series(3000, seed=1))
    assert not np.array_equal(series, mackey_glass_series(3000, seed=2))


def test_epochs_repeat_the_training_part_with_a_reset_each():
    stream = open_stream("synth:mackey-glass?train=100&test=10&epochs=3")
    chunks = list(stream.chunks(64))
    assert [c.epoch for c in chunks] == [0, 0, 1, 1, 2, 2]
    assert [bool(c.reset[0]) for c in chunks] == [True, False] * 3
    skipped = _all(stream.chunks(64, skip=150))
    np.testing.assert_array_equal(skipped["inputs"], _all(chunks)["inputs"][150:])


def test_copy_memory_layout():
    stream = open_stream("synth:copy-memory?length=4&delay=3&train=3&test=1&seed=2")
    data = _all(stream.chunks(7))
    period = 11
    symbols_in = data["inputs"].argmax(1).reshape(3, period)
    symbols_out = data["targets"].argmax(1).reshape(3, period)
    assert ((symbols_in[:, :4] >= 1) & (symbols_in[:, :4] <= 8)).all()
    assert (symbols_in[:, 4:7] == 0).all() and (symbols_in[:, 7:] == 9).all()
    assert (symbols_out[:, :7] == 0).all()
    np.testing.assert_array_equal(symbols_out[:, 7:], symbols_in[:, :4])
    assert data["reset"].reshape(3, period)[:, 0].all() and data["reset"].sum() == 3
    assert data["scored"].reshape(3, period)[:, 7:].all() and data["scored"].sum() == 12
    assert stream.loss == "xent" and stream.n_inputs == stream.n_outputs == 10


def test_copy_memory_with_seed_004s_single_marker():
    # length 3, delay T = 4: 3 symbols, T - 1 = 3 blanks, the marker, 3 blanks.
    stream = open_stream("synth:copy-memory?length=3&delay=4&train=2&test=1&marker=one&seed=1")
    data = _all(stream.chunks(5))
    symbols_in = data["inputs"].argmax(1).reshape(2, 10)
    symbols_out = data["targets"].argmax(1).reshape(2, 10)
    assert (symbols_in[:, 3:6] == 0).all() and (symbols_in[:, 6] == 9).all()
    assert (symbols_in[:, 7:] == 0).all()
    np.testing.assert_array_equal(symbols_out[:, 7:], symbols_in[:, :3])
    assert (symbols_out[:, :7] == 0).all()


@pytest.mark.parametrize(
    "url,message",
    [
        ("synth:copy-memory?marker=two", "marker must be all or one"),
        ("synth:copy-memory?marker=one&delay=0", "needs delay >= 1"),
        ("synth:lorenz", "unknown synthetic stream 'lorenz'"),
        ("synth:mackey-glass?horizn=3", "unknown option 'horizn'"),
        ("synth:mackey-glass?train=abc", "train must be a whole number"),
        ("synth:copy-memory?length=0", "length must be positive"),
        ("mackey-glass", "is not a stream URL"),
        ("ftp:data.csv", "unsupported stream scheme 'ftp'"),
    ],
)
def test_bad_urls(url, message):
    with pytest.raises(StreamError, match=message):
        open_stream(url)


def test_mnist1d_holds_each_point_and_labels_the_last_part():
    stream = open_stream("synth:mnist1d?hold=3&label=0.25&train=20&test=10&loss=mse")
    assert (stream.n_inputs, stream.n_outputs, stream.loss) == (1, 10, "mse")
    x, y, has, reset, scored = stream.train
    period = 40 * 3
    assert x.shape == (20 * period, 1) and stream.info["sample_steps"] == period
    np.testing.assert_array_equal(x[0:3, 0], np.full(3, x[0, 0]))  # held
    assert reset.reshape(20, period)[:, 0].all() and reset.sum() == 20
    labelled = has.reshape(20, period)
    assert labelled[:, -30:].all() and not labelled[:, :-30].any()
    np.testing.assert_array_equal(scored, has)
    onehot = y.reshape(20, period, 10)[:, -1]
    np.testing.assert_array_equal(onehot.sum(axis=1), np.ones(20))
    assert len(set(onehot.argmax(axis=1))) > 3  # several classes
    with pytest.raises(StreamError, match="loss must be xent or mse"):
        open_stream("synth:mnist1d?loss=hinge")


def test_mnist1d_points_and_carrying_the_neurons_over():
    """Seed 003's set-up: 360 points a sample, the label at every step, and
    the neurons carried from one sample to the next (one reset, at the start)."""
    stream = open_stream("synth:mnist1d?points=360&hold=1&label=1&reset=0&train=5&test=3")
    x, y, has, reset, _ = stream.train
    assert x.shape == (5 * 360, 1) and stream.info["sample_steps"] == 360
    assert has.all() and reset[0] and reset.sum() == 1
    assert stream.test[3][0] and stream.test[3].sum() == 1
    # The same samples as the generator makes at that length.
    from timelocal.streams.synthetic import mnist1d_data

    data = mnist1d_data(5000, 42, 360)
    np.testing.assert_array_equal(x.reshape(5, 360), data["x"][:5])
    np.testing.assert_array_equal(y.reshape(5, 360, 10)[:, 0].argmax(axis=1), data["y"][:5])
    for url, words in (("reset=2", "reset is 1"), ("points=1", "at least 2")):
        with pytest.raises(StreamError, match=words):
            open_stream(f"synth:mnist1d?{url}")


def test_teacher_is_a_fixed_gle_network_the_student_can_match():
    stream = open_stream("synth:teacher?inputs=2&hidden=3&layers=2&outputs=2&train=500&test=100")
    assert (stream.n_inputs, stream.n_outputs) == (2, 2)
    x, y = stream.train[0], stream.train[1]
    assert x.shape == (500, 2) and y.shape == (500, 2) and y.std() > 0.05
    again = open_stream("synth:teacher?inputs=2&hidden=3&layers=2&outputs=2&train=500&test=100")
    np.testing.assert_array_equal(again.train[1], y)
    taus = np.array(stream.info["teacher_tau_m"])
    assert taus.shape == (3 + 3 + 2,) and ((0.5 <= taus) & (taus <= 3)).all()


def test_mnist1d_train_and_test_zero_mean_the_whole_standard_set():
    # The benchmark's full run asks for train=0 (all); the URL must take it.
    stream = open_stream("synth:mnist1d?hold=1&train=0&test=0")
    period = stream.info["sample_steps"]
    assert stream.train_length == 4000 * period and stream.test_length == 1000 * period
    with pytest.raises(StreamError, match="hold must be positive"):
        open_stream("synth:mnist1d?hold=0")
