"""The rank-comparison report: terminal, -q, colours, JSON and Markdown files, the CI job summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

THREE = {"alpha": (1, "moco"), "beta": (2, "dino"), "gamma": (3, "swav")}


@pytest.fixture
def three(pytester: pytest.Pytester) -> Path:
    from fabricate import tiny_suite

    return tiny_suite(pytester.path, THREE)


def _run(pytester: pytest.Pytester, suite: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--ssl-suite", str(suite), "--ssl-data-root", "data", "-p", "no:cacheprovider", *args)


def test_terminal_report_sections(pytester: pytest.Pytester, three: Path) -> None:
    result = _run(pytester, three, "--ssl-update-baselines")
    result.assert_outcomes(passed=13)
    result.stdout.fnmatch_lines(
        [
            "*= ssl lottery =*",
            "SSL lottery report: suite tiny, reference val",
            "BASELINES UPDATED: 15 verdicts*",
            "Winners on val: *",
            "Lottery: *",
            "Top-1 accuracy (%) and change vs baseline*",
            "*method*val (ref)*shifted*subset*",
            "Rank per dataset (1 = best; arrow = change vs val)*",
            "Unified scores over val, shifted, subset*",
            "Agreement with val across methods (95% intervals)*",
            "*Pearson r*Kendall tau*Spearman rho*",
            "Smallest drop (points) the gate fails 80% of the time*",
            "*gate: absolute; verdicts: 15 update*",
            "Baselines written to *tiny.json (15 values).",
            "Baselines updated (old -> new)*",
        ]
    )
    rerun = _run(pytester, three)
    rerun.stdout.fnmatch_lines(["*alpha*[0-9]* =*", "*gate: absolute; verdicts: 15 pass*"])


def test_quiet_report_is_shorter(pytester: pytest.Pytester, three: Path) -> None:
    full = _run(pytester, three, "--ssl-update-baselines")
    quiet = _run(pytester, three, "-q")
    quiet.assert_outcomes(passed=13)
    assert len(quiet.outlines) < len(full.outlines)
    quiet.stdout.fnmatch_lines(["Winners on val: *", "*Top-1 accuracy*", "*Unified scores*"])
    quiet.stdout.no_fnmatch_line("Rank per dataset*")


@pytest.mark.parametrize("how", ["--color=no", "NO_COLOR"])
def test_no_colour(pytester: pytest.Pytester, three: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    if how == "NO_COLOR":
        monkeypatch.setenv("NO_COLOR", "1")
        monkeypatch.setenv("PY_COLORS", "1")
        result = _run(pytester, three, "--color=yes")
    else:
        result = _run(pytester, three, how)
    report = result.stdout.str().split("= ssl lottery =", 1)[1].split("short test summary info")[0]
    assert "Top-1 accuracy" in report
    assert "\x1b[" not in report.rsplit("\n", 1)[0]


def test_colour_when_asked(pytester: pytest.Pytester, three: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    result = _run(pytester, three, "--color=yes")
    assert "\x1b[" in result.stdout.str().split("= ssl lottery =", 1)[1]


def test_json_and_markdown_reports(pytester: pytest.Pytester, three: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = pytester.path / "step_summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = _run(
        pytester,
        three,
        "--ssl-update-baselines",
        "--ssl-report-json",
        "out/report.json",
        "--ssl-report-md",
        "out/report.md",
    )
    result.assert_outcomes(passed=13)
    report = json.loads((pytester.path / "out" / "report.json").read_text())
    assert report["schema_version"] == 2
    assert report["result"] == "updated"
    assert report["suite"] == "tiny"
    assert set(report["context"]) == {"versions", "machine", "device", "date", "commit"}
    assert report["context"]["device"] == "cpu"
    analysis = report["analysis"]
    assert analysis["methods"] == ["alpha", "beta", "gamma"]
    assert analysis["datasets"] == ["val", "shifted", "subset"]
    assert analysis["reference"] == "val"
    assert set(analysis["accuracy"]["alpha"]) == {"val", "shifted", "subset"}
    assert set(analysis["ranks"]) == {"val", "shifted", "subset"}
    assert set(analysis["aggregates"]["beta"]) == {"weighted_average", "geometric_mean"}
    assert set(analysis["correlations"]["shifted"]) == {"pearson", "kendall", "spearman"}
    assert isinstance(analysis["lottery"], list)
    assert set(report["verdicts"]) >= {
        "tiny::alpha::val",
        "tiny::gamma::subset",
        "tiny::beta::aggregate[geometric_mean]",
    }
    assert report["verdicts"]["tiny::beta::aggregate[geometric_mean]"]["item"] == "tiny::beta::aggregate"
    assert len(report["baseline_changes"]) == 15
    markdown = (pytester.path / "out" / "report.md").read_text()
    assert markdown.startswith("## SSL lottery report: suite tiny")
    assert "| method | val (ref) | shifted | subset |" in markdown
    assert summary.read_text() == "# earlier step\n" + markdown


def test_report_numbers_match_the_baseline_file(pytester: pytest.Pytester, three: Path) -> None:
    _run(pytester, three, "--ssl-update-baselines", "--ssl-report-json", "report.json").assert_outcomes(passed=13)
    report = json.loads((pytester.path / "report.json").read_text())
    stored = json.loads((pytester.path / "baselines" / "tiny.json").read_text())
    for key, entry in stored["cells"].items():
        method, dataset = key.split("::")
        assert report["analysis"]["accuracy"][method][dataset] == pytest.approx(entry["accuracy"], abs=1e-4)
        assert report["analysis"]["n"][method][dataset] == entry["n"]
