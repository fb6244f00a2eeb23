"""File streams: bad samples are counted and skipped and never touch the
learned state; ``stop`` names the line; widths are validated."""

import io

import numpy as np
import pytest
from timelocal import Network, NetworkSpec
from timelocal.runtime.errors import StreamError
from timelocal.runtime.session import RunOptions, Session
from timelocal.streams import open_stream
from timelocal.streams.files import open_stdin

from tests.helpers import sample_data

BAD_LINES = ["1", "abc,1,2", "nan,0.5,0.1", "1,2,3,4", "0.1,inf,3", "1e999,0,0", ",,,"]


def _write_csv(path, inputs, targets, *, header=True, bad_every=0):
    lines = ["in_a,in_b,target"] if header else []
    for t, (u, y) in enumerate(zip(inputs, targets, strict=True)):
        if bad_every and t % bad_every == 3:
            lines.append(BAD_LINES[(t // bad_every) % len(BAD_LINES)])
        target = "" if np.isnan(y).all() else repr(float(y[0]))
        lines.append(f"{u[0]!r},{u[1]!r},{target}")
    path.write_text("\n".join(lines) + "\n\n# trailing comment\n")


def _learn(url, **kwargs):
    stream = open_stream(url, n_inputs=2, **kwargs)
    net = Network(NetworkSpec("anp", stream.n_inputs, stream.n_outputs, n_hidden=8, seed=1))
    summary = Session(net, stream, RunOptions(chunk_size=64)).run()
    return net, summary


def test_bad_lines_are_counted_and_never_reach_the_network(tmp_path):
    inputs, targets = sample_data(500, 2, 1, missing_every=9)
    _write_csv(tmp_path / "clean.csv", inputs, targets)
    _write_csv(tmp_path / "dirty.csv", inputs, targets, bad_every=10)
    clean, clean_summary = _learn(f"file:{tmp_path / 'clean.csv'}")
    dirty, summary = _learn(f"file:{tmp_path / 'dirty.csv'}")
    np.testing.assert_array_equal(dirty.state["params"], clean.state["params"])
    assert summary["steps"] == clean_summary["steps"] == 500
    assert summary["bad_samples"] == 50
    assert summary["bad_samples_by_kind"] == {"wrong_width": 22, "malformed": 7, "non_finite": 21}
    assert clean_summary["bad_samples"] == 0


def test_stop_policy_names_the_line(tmp_path):
    inputs, targets = sample_data(20, 2, 1)
    _write_csv(tmp_path / "d.csv", inputs, targets, bad_every=10)
    with pytest.raises(StreamError, match=r"line 5: 1 field, expected 2 .*or 3"):
        _learn(f"file:{tmp_path / 'd.csv'}", on_bad_input="stop")


def test_npy_rows_with_missing_targets_and_bad_values(tmp_path):
    inputs, targets = sample_data(300, 2, 1, missing_every=5)
    data = np.hstack([inputs, targets])
    np.save(tmp_path / "clean.npy", data)
    dirty = data.copy()
    dirty[[10, 20]] = np.nan  # inputs NaN: bad
    dirty[30, 2] = np.inf  # infinite target: bad
    good = np.ones(300, bool)
    good[[10, 20, 30]] = False
    np.save(tmp_path / "dirty.npy", dirty)
    np.save(tmp_path / "expected.npy", data[good])
    net, summary = _learn(f"file:{tmp_path / 'dirty.npy'}")
    ref, _ = _learn(f"file:{tmp_path / 'expected.npy'}")
    np.testing.assert_array_equal(net.state["params"], ref.state["params"])
    assert summary["bad_samples_by_kind"] == {"non_finite": 3}


def test_csv_and_npy_of_the_same_data_learn_the_same(tmp_path):
    inputs, targets = sample_data(200, 2, 1, missing_every=7)
    _write_csv(tmp_path / "a.csv", inputs, targets, header=False)
    np.save(tmp_path / "a.npy", np.hstack([inputs, targets]))
    a, _ = _learn(f"file:{tmp_path / 'a.csv'}")
    b, _ = _learn(f"file:{tmp_path / 'a.npy'}")
    np.testing.assert_array_equal(a.state["params"], b.state["params"])


def test_stdin_stream_reads_lines_as_they_come():
    text = "1,2,0.5\n3,4\nbad\n5,6,0.25\n"
    stream = open_stdin(2, 1, "skip", "mse", handle=io.StringIO(text))
    chunks = list(stream.chunks(2))
    assert [len(c) for c in chunks] == [2, 1]
    assert chunks[0].has_target.tolist() == [True, False]
    assert stream.bad_samples == {"wrong_width": 1}


@pytest.mark.parametrize("separator,header", [(";", "ax;ay;speed"), ("\t", "ax\tay\tspeed"),
                                              ("  ", "ax  ay  speed"), (";", None)])  # fmt: skip
def test_a_file_parted_by_another_separator_learns_the_same(tmp_path, separator, header):
    inputs, targets = sample_data(300, 2, 1, missing_every=7)
    _write_csv(tmp_path / "comma.csv", inputs, targets, header=False)
    lines = [line.replace(",", separator) for line in (tmp_path / "comma.csv").read_text()
             .splitlines()]  # fmt: skip
    (tmp_path / "other.csv").write_text("\n".join(([header] if header else []) + lines) + "\n")
    reference, _ = _learn(f"file:{tmp_path / 'comma.csv'}")
    net, summary = _learn(f"file:{tmp_path / 'other.csv'}")
    assert summary["steps"] == 300 and summary["bad_samples"] == 0
    np.testing.assert_array_equal(net.state["params"], reference.state["params"])
    named = "space" if separator == "  " else {"\t": "tab"}.get(separator, separator)
    stream = open_stream(f"file:{tmp_path / 'other.csv'}?sep={named}", n_inputs=2)
    assert stream.info["separator"] == named and stream.n_outputs == 1


def test_sep_overrides_what_the_first_line_shows(tmp_path):
    (tmp_path / "f.csv").write_text("a;b;c\n1;2;3\n")
    with pytest.raises(StreamError, match=r"1 column \(fields parted by ','; sep= names another\)"):
        open_stream(f"file:{tmp_path / 'f.csv'}?sep=,", n_inputs=2)
    stream = open_stream(f"file:{tmp_path / 'f.csv'}?timestamp=1", n_inputs=1)
    assert stream.info["layout"] == "time a; inputs b; targets c (parted by ';')"


@pytest.mark.parametrize(
    "name,query,message",
    [
        ("f.csv", "?foo=1", "unknown option 'foo' for file:PATH.csv; options: timestamp, period, sep"),
        ("f.csv", "?sep=:", "sep=':' is not a field separator"),
        ("f.npy", "?sep=;", "a .npy file takes no options"),
    ],
)  # fmt: skip
def test_file_url_options_are_checked(tmp_path, name, query, message):
    np.save(tmp_path / "f.npy", np.zeros((3, 3)))
    (tmp_path / "f.csv").write_text("1,2,3\n")
    with pytest.raises(StreamError, match=message):
        open_stream(f"file:{tmp_path / name}{query}", n_inputs=2)


def test_a_file_whose_name_has_a_question_mark_is_read(tmp_path):
    (tmp_path / "f?.csv").write_text("1,2,3\n")
    assert open_stream(f"file:{tmp_path / 'f?.csv'}", n_inputs=2).n_outputs == 1


@pytest.mark.parametrize(
    "content,kwargs,message",
    [
        (None, {}, "no such file"),
        ("a,b,c\n1,2,3\n", {"n_inputs": None}, "--inputs N"),
        ("a,b\n1,2\n", {"n_inputs": 2}, "no column is left for targets"),
        ("a,b,c\n1,2,3\n", {"n_inputs": 1, "n_outputs": 1}, "header names 3 columns"),
        ("\xff\xfe\x00", {"n_inputs": 1}, "not a UTF-8 text file"),
    ],
)
def test_file_errors(tmp_path, content, kwargs, message):
    path = tmp_path / "f.csv"
    if content is not None:
        path.write_bytes(content.encode("latin-1"))
    with pytest.raises(StreamError, match=message):
        open_stream(f"file:{path}", **{"n_inputs": 2, **kwargs})
