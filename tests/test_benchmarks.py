"""The side-by-side benchmark (benchmarks/pipeline.py) runs end to end and cannot report a broken run."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from benchmarks import pipeline

pytestmark = pytest.mark.sandbox


@pytest.mark.long
def test_both_pipelines_publish_every_file_with_its_attestation() -> None:
    lines: list[str] = []
    rows = pipeline.benchmark([2], 1, pipeline.NO_LATENCY, warm_up=False, progress=lines.append)

    [row] = rows
    assert [run.pipeline for run in row.runs] == [pipeline.REFERENCE, pipeline.OURS]
    for run in row.runs:
        assert (run.files, run.stored, run.attested) == (2, 2, 2), run
        assert run.seconds > 0
    assert len(lines) == 2
    table = pipeline.markdown_table(rows)
    assert re.search(
        r"^\| 2, no latency \| \d+\.\d\d \| \d+\.\d\d \| 0\.00 \| — \| 0\.00 \| — \| \d+\.\d\d \|$", table, re.M
    ), table


@dataclass
class _Stored:
    filename: str
    attestations: str | None


def test_a_run_that_published_less_is_refused() -> None:
    expected = ["a-1.0.0.tar.gz", "a-1.0.0-py3-none-any.whl"]
    whole = [_Stored(name, '[{"version": 1}]') for name in expected]
    assert pipeline.check_published(whole, expected, "ours") == 2
    with pytest.raises(AssertionError, match="1 of 2 files"):
        pipeline.check_published(whole[:1], expected, "ours")
    with pytest.raises(AssertionError, match="without an attestation"):
        pipeline.check_published([whole[0], _Stored(expected[1], None)], expected, "ours")
    with pytest.raises(AssertionError, match="without an attestation"):
        pipeline.check_published([whole[0], _Stored(expected[1], "[]")], expected, "ours")


def test_critical_path_is_the_sum_of_the_unavoidable_round_trips() -> None:
    # audience + OIDC + mint + OIDC + Fulcio + TSA + Rekor + two upload rounds
    assert pipeline.critical_path(pipeline.LATENCY, 60) == pytest.approx(1.95)
    assert pipeline.critical_path(pipeline.LATENCY, 1) == pytest.approx(1.65)
    assert pipeline.critical_path(pipeline.NO_LATENCY, 60) == 0
    assert "= 1.95 s" in pipeline.explain_critical_path(pipeline.LATENCY)
    # With 8 uploads at a time, 59 more files take 8 rounds: 7 more than the critical path's one.
    assert pipeline.bounded_path(pipeline.LATENCY, 60) == pytest.approx(1.95 + 7 * 0.3)
    assert pipeline.bounded_path(pipeline.LATENCY, 9) == pytest.approx(1.95)
    assert pipeline.bounded_path(pipeline.LATENCY, 2) == pytest.approx(1.95)
