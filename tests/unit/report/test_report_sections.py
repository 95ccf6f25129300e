"""One report model, three renderers: the Markdown and JSON reports carry every section of the terminal's."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pytest_ssllottery.analysis.compare import ResultTable, TableCell, analyse
from pytest_ssllottery.gate.baselines import Change
from pytest_ssllottery.gate.verdicts import Status, Verdict
from pytest_ssllottery.report.json_report import SECTION_KEYS, render_json
from pytest_ssllottery.report.markdown import render_markdown
from pytest_ssllottery.report.model import ReportInput, plain
from pytest_ssllottery.report.sections import build_report
from pytest_ssllottery.report.terminal import render_terminal

DATASETS = ("val", "v2", "sketch")
ACCURACY = {
    "dino": (80.0, 70.0, 30.0),
    "swav": (79.5, 69.0, 35.0),
    "moco": (75.0, 64.0, 33.0),
    "barlow": (74.0, 63.0, 20.0),
}


def report_input(changes: bool = False) -> ReportInput:
    rng = np.random.default_rng(0)
    cells = {}
    for method, values in ACCURACY.items():
        for dataset, accuracy in zip(DATASETS, values, strict=True):
            correct = rng.permutation(np.arange(200) < round(accuracy * 2))  # exactly accuracy %, shuffled
            cells[(method, dataset)] = TableCell(accuracy, 200, correct)
    table = ResultTable(cells, tuple(ACCURACY), DATASETS, "val", DATASETS)
    verdicts = {
        "dino::val": Verdict("dino::val", Status.FAIL, 80.0, 85.0, 1.0, "dino::val regressed"),
        "swav::sketch": Verdict("swav::sketch", Status.STALE, 35.0, 20.0, 1.0),
        "moco::v2": Verdict("moco::v2", Status.MISSING, 64.0, None, None),
    }
    return ReportInput(
        "demo report",
        analyse(table, resamples=20),
        baselines={"dino::val": 85.0, "swav::sketch": 20.0},
        verdicts=verdicts,
        changes=[Change("dino::val", 85.0, 80.0)] if changes else [],
        notes=["a note"],
        skipped={"barlow::sketch": 2},
        suite="demo",
    )


@pytest.mark.parametrize("changes", [False, True])
def test_markdown_and_json_carry_every_section_of_the_terminal_report(changes: bool) -> None:
    report = build_report(report_input(changes))
    terminal = " ".join(render_terminal(report, width=140, color=False).split())  # titles wrap at the table width
    markdown = render_markdown(report)
    document = json.loads(json.dumps(render_json(report)))
    shown = [s for s in report.sections if s.rows or s.lines]
    assert {s.id for s in shown} >= {"accuracy", "ranks", "unified", "agreement", "robustness", "lottery", "gate"}
    for section in shown:
        if section.is_table:
            assert " ".join(section.title.split()) in terminal
            assert f"### {section.title}" in markdown
        for line in section.lines:
            text = " ".join(plain(line).split())
            if section.terminal:
                assert text in terminal
            assert text in " ".join(markdown.replace("**", "").split())
        node = document
        for key in SECTION_KEYS[section.id]:
            node = node[key]
        assert node or section.id in ("notes", "skipped"), section.id


def test_renderers_share_one_section_list() -> None:
    report = build_report(report_input(changes=True))
    markdown = render_markdown(report)
    headings = [line.removeprefix("### ") for line in markdown.splitlines() if line.startswith("### ")]
    assert headings == [s.title for s in report.sections if s.is_table or s.id == "failures"]
    assert set(SECTION_KEYS) >= set(report.ids)


def test_verdicts_show_as_colours_on_the_terminal_and_as_markers_in_markdown() -> None:
    report = build_report(report_input())
    coloured = render_terminal(report, width=140, color=True)
    assert "\x1b[1;31m -5.00" in coloured  # the regression, bold red
    markdown = render_markdown(report)
    assert "80.00* -5.00 ❌" in markdown.replace("|", "")
    assert "35.00* +15.00 ⬆" in markdown.replace("|", "")
    assert "64.00 new 🆕" in markdown.replace("|", "")


def test_quiet_report_keeps_the_tables_and_lines_that_matter() -> None:
    full = build_report(report_input(), verbosity=0)
    quiet = build_report(report_input(), verbosity=-1)
    assert quiet.ids == ("headline", "accuracy", "unified", "gate", "failures")
    assert len(render_terminal(quiet, width=140, color=False)) < len(render_terminal(full, width=140, color=False))


def test_json_report_has_the_analysis_verdicts_and_changes() -> None:
    document = render_json(build_report(report_input(changes=True)))
    assert document["verdicts"]["demo::dino::val"]["status"] == "fail"
    assert document["result"] == "failed"
    assert document["baseline_changes"] == [{"key": "demo::dino::val", "measure": "accuracy", "old": 85.0, "new": 80.0}]
    assert set(document["analysis"]["accuracy"]) == set(ACCURACY)
    assert document["skipped"] == {"demo::barlow::sketch": 2}
