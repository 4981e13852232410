"""The throughput benchmark still runs (tiny N, one transport): benchmarks print figures, they are not
tests, but one that no longer starts is found out here rather than before a release."""

from __future__ import annotations

import pytest

from bench.__main__ import available
from bench.throughput import main

pytestmark = pytest.mark.timeout(90)


def test_throughput_bench_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert "throughput" in available()
    status = main(["--contacts", "2", "--rate", "8", "--seconds", "0.5", "--transports", "ptb", "--echoes", "loop"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "eqa-bot" in out and "echo" in out and "updates/s" in out


def test_pdf_bench_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import pdf

    assert "pdf" in available()
    assert pdf.main(["--rounds", "2"]) == 0
    out = capsys.readouterr().out
    assert "baseline: plain reportlab page" in out and "agreement, 16 specialties" in out and "target" in out
