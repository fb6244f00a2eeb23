"""The benchmark plumbing that `make bench` relies on: where reports go and
how docs/RESULTS.md is gathered (the benchmarks themselves are not tests)."""

import argparse
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    import benchmarks.common as common
    import benchmarks.results as results

    return common, results


def test_quick_runs_never_write_the_published_reports(bench, tmp_path):
    common, _ = bench
    parser = argparse.ArgumentParser()
    common.add_output_options(parser, "short")
    assert common.output_dir(parser.parse_args([])) == common.DOCS
    assert common.output_dir(parser.parse_args(["--quick"])) == common.DOCS / "quick"
    mine = tmp_path / "reports"
    assert common.output_dir(parser.parse_args(["--quick", "--out", str(mine)])) == mine
    assert mine.is_dir()


def test_provenance_marks_quick_runs(bench, monkeypatch):
    common, _ = bench
    monkeypatch.setattr(sys, "argv", ["benchmarks/speed.py"])
    assert "Quick mode" not in common.provenance()
    monkeypatch.setattr(sys, "argv", ["benchmarks/speed.py", "--quick"])
    text = common.provenance()
    assert text.startswith("Produced by `python benchmarks/speed.py --quick` on ")
    assert "Quick mode" in text


def test_results_index_lists_reports_times_and_what_is_missing(bench, tmp_path):
    _, results = bench
    (tmp_path / "speed.md").write_text(
        "# Speed\n\nProduced by `python benchmarks/speed.py` on 2026-01-02, timelocal 0.1.0.\n\n"
        "## Host\n\n| n | steps/s |\n|---|---|\n| 64 | 1 |\n"
    )
    (tmp_path / "bench_times.json").write_text(json.dumps(
        {"date": "2026-01-02", "quick": False, "seconds": {"speed.py": 150.0},
         "total_seconds": 5400.0, "failed": ["latency.py"]}))  # fmt: skip
    results.gather(tmp_path)
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| [speed](#speed) | host speed against a bare compiled loop | " \
           "`python benchmarks/speed.py`, 2026-01-02 | 2.5 |" in text  # fmt: skip
    assert "took 90 min on this machine, every benchmark included; failed: latency.py." in text
    assert "not run yet: `python benchmarks/mackey_glass.py`" in text
    # the report itself follows, one heading level deeper
    assert "### Host" in text and "## Speed" in text
