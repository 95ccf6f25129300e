"""The report is as wide as the terminal, or COLUMNS, or 120 in CI logs; method names are never cut."""

from __future__ import annotations

import pytest

from pytest_ssllottery.analysis.compare import ResultTable, TableCell, analyse
from pytest_ssllottery.plugin.hooks import NON_TTY_WIDTH, report_width
from pytest_ssllottery.report.model import ReportInput
from pytest_ssllottery.report.sections import build_report
from pytest_ssllottery.report.terminal import render_terminal


def test_columns_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "150")
    assert report_width(80) == 150


def test_without_a_terminal_the_report_is_wider_than_80(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    assert report_width(80) == NON_TTY_WIDTH == 120


def test_on_a_terminal_its_width_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert report_width(97) == 97


def test_long_method_names_are_never_cut() -> None:
    names = ["vit_large_patch14_clip_336.openai_ft_in12k_in1k", "eva02_large_patch14_448.mim_m38m_ft_in22k_in1k"]
    datasets = ("val", "real", "v2", "rendition", "sketch", "adversarial")
    cells = {(m, d): TableCell(80.0 - i - j, 1000) for i, m in enumerate(names) for j, d in enumerate(datasets)}
    table = ResultTable(cells, tuple(names), datasets, "val", datasets)
    text = render_terminal(build_report(ReportInput("t", analyse(table))), width=100, color=False)
    for name in names:
        assert name in text
