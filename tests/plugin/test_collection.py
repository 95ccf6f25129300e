"""Collection: ids, selection (-k, --deselect, --lf), and that only what is selected is computed."""

from __future__ import annotations

from pathlib import Path

import pytest


def _cache_entries(root: Path, kind: str) -> int:
    folder = root / ".ssl_cache" / kind
    return len(list(folder.rglob("*.npz"))) if folder.exists() else 0


def test_ids_of_every_pair_aggregate_and_ranking(run_tiny) -> None:
    result = run_tiny("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "tiny::alpha::val",
            "tiny::alpha::shifted",
            "tiny::alpha::subset",
            "tiny::alpha::aggregate",
            "tiny::beta::val",
            "tiny::beta::shifted",
            "tiny::beta::subset",
            "tiny::beta::aggregate",
            "tiny::ranking",
            "9 tests collected*",
        ]
    )


def test_items_need_no_xdist_for_their_marks(run_tiny) -> None:
    # items carry xdist_group; without pytest-xdist that mark must still be registered (no warning, --strict-markers ok)
    result = run_tiny("--collect-only", "-q", "-p", "no:xdist", "--strict-markers", "-W", "error", subprocess=True)
    result.stdout.fnmatch_lines(["9 tests collected*"])
    result.stdout.no_fnmatch_line("*PytestUnknownMarkWarning*")
    assert result.ret == pytest.ExitCode.OK


def test_plain_pytest_collects_nothing_extra(pytester: pytest.Pytester, tiny: Path) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["test_plain.py::test_one", "1 test collected*"])
    result.stdout.no_fnmatch_line("*tiny::*")


def test_suite_alone_unless_paths_are_given(pytester: pytest.Pytester, tiny: Path) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    base = ("--ssl-suite", str(tiny), "--ssl-data-root", "data", "--collect-only", "-q", "-p", "no:cacheprovider")
    alone = pytester.runpytest(*base)
    alone.stdout.fnmatch_lines(["9 tests collected*"])
    alone.stdout.no_fnmatch_line("*test_plain.py*")
    both = pytester.runpytest(*base, "test_plain.py")
    both.stdout.fnmatch_lines(["*test_plain.py::test_one*", "10 tests collected*"])


def test_keyword_selection_computes_only_what_it_needs(run_tiny, pytester: pytest.Pytester) -> None:
    result = run_tiny("-k", "subset", "--ssl-update-baselines")
    result.assert_outcomes(passed=2, deselected=7)
    # train + subset features for each of the two methods, one probe per method, nothing else
    assert _cache_entries(pytester.path, "features") == 4
    assert _cache_entries(pytester.path, "probes") == 2


def test_probe_is_trained_once_per_method(run_tiny, pytester: pytest.Pytester) -> None:
    result = run_tiny("-k", "alpha and not aggregate", "--ssl-update-baselines")
    result.assert_outcomes(passed=3, deselected=6)
    assert _cache_entries(pytester.path, "probes") == 1
    assert _cache_entries(pytester.path, "features") == 4  # train, val, shifted, subset


def test_deselect_a_method(run_tiny) -> None:
    result = run_tiny("--deselect", "tiny::alpha", "--ssl-update-baselines")
    result.assert_outcomes(passed=5, deselected=4)


def test_exitfirst_stops_at_first_failure(run_tiny) -> None:
    result = run_tiny("-x")
    result.assert_outcomes(failed=1)


def test_last_failed_reruns_only_failures(pytester: pytest.Pytester, tiny: Path) -> None:
    base = ("--ssl-suite", str(tiny), "--ssl-data-root", "data")
    pytester.runpytest(*base, "--ssl-update-baselines", "-k", "not shifted").assert_outcomes(passed=7, deselected=2)
    first = pytester.runpytest(*base)
    first.assert_outcomes(failed=2, passed=7)  # shifted has no baseline yet
    rerun = pytester.runpytest(*base, "--lf")
    rerun.assert_outcomes(failed=2, deselected=7)


def test_junit_xml_has_items_and_small_properties(run_tiny, pytester: pytest.Pytester) -> None:
    run_tiny("--ssl-update-baselines", "--junitxml", "junit.xml").assert_outcomes(passed=9)
    xml = (pytester.path / "junit.xml").read_text()
    assert 'name="tiny::alpha::val"' in xml  # the node id, as the report and the accept command name it
    assert 'classname="tiny.alpha"' in xml
    assert 'name="ssl_accuracy"' in xml
    for prop in ("ssl_obtained", "ssl_baseline", "ssl_delta", "ssl_tolerance", "ssl_verdict"):
        assert f'name="{prop}"' in xml
    assert 'name="ssl_weighted_average.verdict" value="update"' in xml
    assert "ssl_lottery_record" not in xml
    assert "bits" not in xml
