from __future__ import annotations

import json

import pytest


def test_collection_ids(run_tiny) -> None:
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


def test_missing_baselines_fail_then_update_then_pass(run_tiny, pytester: pytest.Pytester) -> None:
    result = run_tiny()
    result.assert_outcomes(failed=8, passed=1)
    result.stdout.fnmatch_lines(["*alpha::val: no baseline in baselines*tiny.json*", "*--ssl-update-baselines*"])
    result = run_tiny("--ssl-update-baselines")
    result.assert_outcomes(passed=9)
    data = json.loads((pytester.path / "baselines" / "tiny.json").read_text())
    assert sorted(data["cells"]) == [f"{m}::{d}" for m in ("alpha", "beta") for d in ("shifted", "subset", "val")]
    assert sorted(data["aggregates"]) == ["alpha", "beta"]
    result = run_tiny()
    result.assert_outcomes(passed=9)
