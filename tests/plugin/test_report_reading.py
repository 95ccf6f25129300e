"""The report people read: headline first, honest partial runs, controls, short forms, CI outputs that join up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fabricate import tiny_suite


def _report(result: pytest.RunResult) -> list[str]:
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if "ssl lottery" in line and line.startswith("="))
    return lines[start + 1 :]


@pytest.fixture
def three(pytester: pytest.Pytester) -> Path:
    """Three methods; gamma is a control."""
    path = tiny_suite(pytester.path, {"alpha": (1, "moco"), "beta": (2, "dino"), "gamma": (3, "swav")})
    path.write_text(path.read_text().replace('name = "gamma"\n', 'name = "gamma"\ncontrol = true\n'))
    return path


def _run(pytester: pytest.Pytester, suite: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--ssl-suite", str(suite), "--ssl-data-root", "data", "-p", "no:cacheprovider", *args)


def test_the_report_opens_with_the_headline(pytester: pytest.Pytester, three: Path) -> None:
    _run(pytester, three, "--ssl-update-baselines").assert_outcomes(passed=13)
    report = _report(_run(pytester, three))
    assert report[0].startswith("SSL lottery report: suite tiny")
    assert report[1].startswith("GATE PASSED: 15 verdicts (9 cells and 6 unified scores")
    assert report[2].startswith("Winners on val: ")
    assert "gamma" not in report[2]  # a control never wins
    assert report[3].startswith("Lottery")


def test_tables_are_sorted_by_the_reference_with_the_best_marked(pytester: pytest.Pytester, three: Path) -> None:
    result = _run(pytester, three, "--ssl-update-baselines", "--ssl-report-json", "r.json")
    accuracy = json.loads((pytester.path / "r.json").read_text())["analysis"]["accuracy"]
    contenders = sorted(("alpha", "beta"), key=lambda m: -accuracy[m]["val"])
    report = "\n".join(_report(result))
    table = report.split("sorted by val")[1]
    assert table.index(contenders[0]) < table.index(contenders[1]) < table.index("gamma")  # controls last
    assert f"{accuracy[contenders[0]]['val']:.2f}*" in table
    assert "Legend: * best contender in the column" in report


def test_quiet_and_very_quiet_forms(pytester: pytest.Pytester, three: Path) -> None:
    _run(pytester, three, "--ssl-update-baselines").assert_outcomes(passed=13)
    quiet = "\n".join(_report(_run(pytester, three, "-q")))
    assert "GATE PASSED" in quiet
    assert "Rank per dataset" not in quiet
    assert "Agreement with" not in quiet
    one = [line for line in _report(_run(pytester, three, "-qq")) if line.strip()]
    assert one[0].startswith("ssl lottery: GATE PASSED: 15 verdicts")
    assert "Winners on val" in one[0]
    assert len([line for line in one if line.startswith("ssl lottery")]) == 1
    assert not any("┃" in line or "Top-1 accuracy" in line for line in one)


def test_a_partial_run_never_reports_defaults_as_findings(pytester: pytest.Pytester, three: Path) -> None:
    result = _run(pytester, three, "--ssl-update-baselines", "-k", "shifted")
    result.assert_outcomes(passed=3, deselected=10)
    report = "\n".join(_report(result))
    assert "Partial run: val, subset did not run for every method; not computed:" in report
    assert "No lottery" not in report
    assert "pair of methods flips" not in report
    assert "Lottery not computed (partial run:" in report
    assert "Unified scores not computed for every method" in report
    import re

    ranks = report.split("Rank per dataset")[1].split("Unified")[0].split("\n", 1)[1]
    assert not re.search(r"\d=", ranks)  # no "no change vs val" where val never ran


def test_setup_errors_are_one_usage_error_before_any_item(
    pytester: pytest.Pytester, three: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    result = _run(pytester, three, "--ssl-plots", "figures")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ssl-plots needs matplotlib, which is not installed: pip install *[plots]*"])
    assert "Traceback" not in result.stderr.str()


def test_unused_baselines_are_reported(pytester: pytest.Pytester, three: Path) -> None:
    _run(pytester, three, "--ssl-update-baselines").assert_outcomes(passed=13)
    stored = pytester.path / "baselines" / "tiny.json"
    data = json.loads(stored.read_text())
    data["cells"]["retired::val"] = dict(data["cells"]["alpha::val"])
    stored.write_text(json.dumps(data))
    result = _run(pytester, three, "--ssl-report-json", "r.json")
    result.assert_outcomes(passed=13)
    result.stdout.fnmatch_lines(["*unused baselines (not in the suite): tiny::retired::val; delete them*"])
    assert json.loads((pytester.path / "r.json").read_text())["unused_baselines"] == ["tiny::retired::val"]
    assert "retired::val" in json.loads(stored.read_text())["cells"]  # reported, never deleted silently


def test_markdown_summary_opens_with_the_headline_and_shows_failures_with_their_accept_command(
    pytester: pytest.Pytester, three: Path
) -> None:
    _run(pytester, three, "--ssl-update-baselines").assert_outcomes(passed=13)
    stored = pytester.path / "baselines" / "tiny.json"
    data = json.loads(stored.read_text())
    data["cells"]["beta::shifted"]["accuracy"] = 99.0
    stored.write_text(json.dumps(data))
    _run(pytester, three, "--ssl-report-md", "r.md").assert_outcomes(failed=1, passed=12)
    markdown = (pytester.path / "r.md").read_text()
    lines = markdown.splitlines()
    assert lines[0].startswith("## SSL lottery report: suite tiny")
    assert lines[2].startswith("> **GATE FAILED**")
    assert "### Failures and how to accept them" in markdown
    assert "pytest --ssl-suite=" in markdown.split("### Failures")[1]
    assert "tiny::beta::shifted" in markdown.split("### Failures")[1]
    assert "(=)" not in markdown


def test_defaults_do_not_move_with_the_flag_form(pytester: pytest.Pytester, three: Path) -> None:
    cache = pytester.path / "elsewhere" / "cache"
    _run(pytester, three, "--ssl-update-baselines", "--ssl-cache-dir", str(cache), "-k", "alpha and val")
    _run(pytester, three, "--ssl-update-baselines", f"--ssl-cache-dir={cache}", "-k", "beta and val")
    cells = json.loads((pytester.path / "baselines" / "tiny.json").read_text())["cells"]
    assert {"alpha::val", "beta::val"} <= set(cells)
    assert not (pytester.path / "elsewhere" / "baselines").exists()


def test_suite_can_be_set_in_the_ini_file(pytester: pytest.Pytester, three: Path) -> None:
    pytester.makeini(f"[pytest]\nssl_suite = {three}\nssl_data_root = data\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["13 tests collected*"])
