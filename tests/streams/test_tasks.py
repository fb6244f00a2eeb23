"""The long-range classification tasks of seeds 002 and 004 (sequence
expansion, temporal order, random permutation), and the per-sequence
accuracy that scores them."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from timelocal.runtime.errors import StreamError
from timelocal.runtime.session import _SequenceScore
from timelocal.streams import open_stream
from timelocal.streams.synthetic import ORDER_WINDOWS


def symbols(part, T):
    """(inputs, targets as symbol indices per sequence, has_target, reset)."""
    x, y, has, reset, _ = part
    n = len(x) // T
    target = np.where(has, np.nan_to_num(y, nan=-1.0).argmax(1), -1)
    return x.argmax(1).reshape(n, T), target.reshape(n, T), has.reshape(n, T), reset.reshape(n, T)


def test_sequence_expansion_says_each_symbol_of_the_first_half_twice():
    stream = open_stream("synth:sequence-expansion?T=8&train=50&test=5&seed=3")
    assert (stream.n_inputs, stream.n_outputs, stream.loss) == (9, 8, "xent")
    x, y, has, reset = symbols(stream.train, 8)
    assert (x[:, 4:] == 8).all() and (x[:, :4] < 8).all()  # blanks, then data
    np.testing.assert_array_equal(y, x[:, [0, 0, 1, 1, 2, 2, 3, 3]])
    assert has.all() and reset[:, 0].all() and reset.sum() == 50
    assert len(set(map(tuple, x[:, :4]))) > 40  # random, not one repeated sequence
    assert stream.train_length == 400 and stream.test_length == 40


@settings(max_examples=40, deadline=None)
@given(T=st.integers(10, 120), bits=st.sampled_from([2, 3]), seed=st.integers(0, 2**16))
def test_temporal_order_places_the_relevant_symbols_and_labels_their_order(T, bits, seed):
    stream = open_stream(f"synth:temporal-order?T={T}&bits={bits}&train=30&test=2&seed={seed}")
    assert (stream.n_inputs, stream.n_outputs) == (8, 2**bits)
    x, y, has, reset = symbols(stream.train, T)
    assert (x[:, 0] == 6).all() and (x[:, -1] == 7).all()  # B first, E last
    for row, label in zip(x, y[:, -1], strict=True):
        positions = np.flatnonzero((row == 4) | (row == 5))
        assert len(positions) == bits
        for position, (low, high) in zip(positions, ORDER_WINDOWS[bits], strict=True):
            assert np.floor(low * T) <= position <= max(np.floor(high * T), 1)
        order = row[positions] - 4  # X = 0, Y = 1, first relevant symbol most significant
        assert label == int("".join(map(str, order)), 2)
        assert (row[1:-1] != 6).all() and (row[1:-1] != 7).all()
    assert has[:, -1].all() and has.sum() == 30  # only the last step has a target
    assert reset[:, 0].all()


@settings(max_examples=25, deadline=None)
@given(T=st.integers(2, 60), seed=st.integers(0, 2**16))
def test_random_permutation_asks_for_the_first_symbol_at_the_end(T, seed):
    stream = open_stream(f"synth:random-permutation?T={T}&train=40&test=2&seed={seed}")
    assert (stream.n_inputs, stream.n_outputs) == (100, 2)
    x, y, has, _ = symbols(stream.train, T)
    assert np.isin(x[:, 0], [0, 1]).all() and (x[:, 1:] >= 2).all()
    np.testing.assert_array_equal(y[:, -1], x[:, 0])
    assert has[:, -1].all() and has.sum() == 40


def test_every_class_occurs():
    stream = open_stream("synth:temporal-order?T=20&bits=3&train=400&test=1")
    _, y, _, _ = symbols(stream.train, 20)
    assert set(y[:, -1]) == set(range(8))


@pytest.mark.parametrize(
    "url,message",
    [
        ("synth:sequence-expansion?T=7", "T must be even"),
        ("synth:temporal-order?bits=4", "bits must be 2 or 3"),
        ("synth:temporal-order?T=5", "T must be at least 10"),
        ("synth:random-permutation?T=1", "T must be at least 2"),
        ("synth:random-permutation?t=10", "unknown option 't'"),
    ],
)
def test_bad_task_urls(url, message):
    with pytest.raises(StreamError, match=message):
        open_stream(url)


def reference_sequence_accuracy(reset, mask, correct_at):
    """Plain loop: split at resets, a sequence counts if it has a scored
    step, and is right if all its scored steps are."""
    results, current = [], None
    for t in range(len(reset)):
        if reset[t] and current is not None:
            results.append(current)
            current = None
        if mask[t]:
            current = (current if current is not None else True) and bool(correct_at[t])
    if current is not None:
        results.append(current)
    return results


@settings(max_examples=100, deadline=None)
@given(data=st.data(), steps=st.integers(1, 80))
def test_sequence_score_matches_a_plain_loop_over_any_chunking(data, steps):
    reset = np.array(data.draw(st.lists(st.booleans(), min_size=steps, max_size=steps)))
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=steps, max_size=steps)))
    correct_at = np.array(data.draw(st.lists(st.booleans(), min_size=steps, max_size=steps)))
    cuts = sorted(set(data.draw(st.lists(st.integers(0, steps), max_size=5))) | {0, steps})
    score = _SequenceScore()
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        m = mask[lo:hi]
        score.add(reset[lo:hi], m, correct_at[lo:hi][m])
    score.finish()
    expected = reference_sequence_accuracy(reset, mask, correct_at)
    assert score.count == len(expected)
    assert score.right == sum(expected)
