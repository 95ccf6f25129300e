"""Figures researchers use, names shortened with a legend, and the analyze lottery list that matters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pytest_ssllottery.analysis.compare import ResultTable, TableCell, analyse
from pytest_ssllottery.report.lines import lottery_lines
from pytest_ssllottery.report.model import ReportInput
from pytest_ssllottery.report.numbers import short_names
from pytest_ssllottery.report.sections import build_report
from pytest_ssllottery.report.terminal import render_terminal

DATASETS = ("val", "v2", "sketch")


def table(n: int = 12, long_names: bool = False) -> ResultTable:
    rng = np.random.default_rng(3)
    cells = {}
    names = [
        (f"eva02_large_patch14_448.mim_m38m_ft_in22k_variant_{i:02d}" if long_names else f"m{i:02d}") for i in range(n)
    ]
    for i, name in enumerate(names):
        val = 60 + 2 * i + rng.normal(0, 0.3)
        values = (val, val - 11 + rng.normal(0, 0.5), 0.6 * val - 10 + rng.normal(0, 4))
        for dataset, value in zip(DATASETS, values, strict=True):
            cells[(name, dataset)] = TableCell(float(value), 1000)
    return ResultTable(cells, tuple(names), DATASETS, "val", DATASETS)


def test_short_names_are_unique_and_short() -> None:
    names = [f"eva02_large_patch14_448.mim_m38m_ft_in22k_variant_{i:02d}" for i in range(12)] + ["resnet50"]
    short = short_names(names)
    assert short["resnet50"] == "resnet50"
    assert len(set(short.values())) == len(names)
    assert all(len(v) <= 40 for v in short.values())


def test_long_names_are_shortened_with_a_legend_and_numbers_are_never_cut() -> None:
    report = build_report(ReportInput("t", analyse(table(long_names=True))))
    text = render_terminal(report, width=100, color=False)
    assert "Names shortened in the tables:" in text
    assert "= eva02_large_patch14_448.mim_m38m_ft_in22k_variant_11" in text
    assert "…" in text.split("Names shortened")[0]  # only the names carry an ellipsis, and they have a legend
    for line in text.splitlines():
        assert len(line) <= 100


def test_analyze_lottery_list_puts_close_pairs_with_large_flips_first() -> None:
    analysis = analyse(table())
    lines = lottery_lines(analysis, limit=3)
    shown = [line for line in lines[1:] if line.startswith("  ")]
    gaps = [float(line.split(" by ")[1].split(",")[0]) for line in shown]
    flips = [abs(float(line.split("but ")[1].split(" ")[0])) for line in shown]
    weights = [f / (g + 0.1) for f, g in zip(flips, gaps, strict=True)]
    assert weights == sorted(weights, reverse=True)
    among = lottery_lines(analysis, limit=None, among=["m11", "m10", "m09"])
    assert all(any(m in line for m in ("m11", "m10", "m09")) for line in among[1:])


def test_scatter_uses_logit_axes_identity_line_fit_and_both_correlations(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from pytest_ssllottery.report import plots

    captured = {}
    original = plt.close

    def keep(figure):  # type: ignore[no-untyped-def]
        captured["figure"] = figure

    plt.close = keep
    try:
        plots.scatter(analyse(table()), "sketch", tmp_path / "s.png")
    finally:
        plt.close = original
    axes = captured["figure"].axes[0]
    assert axes.get_xscale() == "logit"
    assert axes.get_yscale() == "logit"
    labels = [line.get_label() for line in axes.get_lines()]
    assert "y = x" in labels
    assert any(label.startswith("logit-linear fit") for label in labels)
    assert "r = " in axes.get_title()
    assert "τ = " in axes.get_title()
    assert (tmp_path / "s.png").stat().st_size > 10_000
    texts = [t for t in axes.texts if t.get_text()]
    assert 0 < len(texts) <= plots.LABEL_TOP + plots.LABEL_OUTLIERS
    original(captured["figure"])


def test_bump_chart_labels_every_line_at_both_ends(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from pytest_ssllottery.report import plots

    path = plots.bump_chart(analyse(table()), tmp_path / "b.png", top=8)
    assert path.stat().st_size > 10_000
