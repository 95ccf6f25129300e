"""The baseline gate end to end: regressions, improvements, missing baselines, updates, thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pytest_ssllottery.stats import pack_bits, unpack_bits


def _baselines(pytester: pytest.Pytester) -> Path:
    return pytester.path / "baselines" / "tiny.json"


def _edit(path: Path, key: str, accuracy: float) -> None:
    data = json.loads(path.read_text())
    data["cells"][key]["accuracy"] = accuracy
    path.write_text(json.dumps(data))


@pytest.fixture
def recorded(run_tiny, pytester: pytest.Pytester) -> Path:
    run_tiny("--ssl-update-baselines").assert_outcomes(passed=9)
    return _baselines(pytester)


def test_injected_regression_fails_the_right_item_with_the_right_text(run_tiny, recorded: Path) -> None:
    obtained = json.loads(recorded.read_text())["cells"]["beta::shifted"]["accuracy"]
    _edit(recorded, "beta::shifted", obtained + 15.0)
    result = run_tiny()
    result.assert_outcomes(failed=1, passed=8)
    result.stdout.fnmatch_lines(
        [
            "*_ tiny::beta::shifted _*",
            "beta::shifted regressed by 15.00 points",
            f"  obtained    {obtained:5.2f}%  (*/60 scored images)",
            f"  expected    {obtained + 15:5.2f}%  (baselines*tiny.json)",
            "  tolerance  * points = max(margin 1.00, 2 x standard error * at n=60)",
            "To accept the new value: pytest --ssl-suite=* --ssl-update-baselines tiny::beta::shifted",
        ]
    )
    result.stdout.fnmatch_lines(["*regressed: tiny::beta::shifted*"])


def test_drop_within_the_sampling_tolerance_passes(run_tiny, recorded: Path) -> None:
    obtained = json.loads(recorded.read_text())["cells"]["alpha::val"]["accuracy"]
    _edit(recorded, "alpha::val", obtained + 5.0)  # 2 x SE at n=60 is about 10 points
    run_tiny().assert_outcomes(passed=9)


def test_improvement_passes_and_is_flagged_stale(run_tiny, recorded: Path) -> None:
    obtained = json.loads(recorded.read_text())["cells"]["alpha::subset"]["accuracy"]
    _edit(recorded, "alpha::subset", obtained - 30.0)
    result = run_tiny()
    result.assert_outcomes(passed=9)
    result.stdout.fnmatch_lines(["*stale baseline (improved beyond tolerance): tiny::alpha::subset*"])


def test_update_is_scoped_to_the_items_that_ran(run_tiny, recorded: Path) -> None:
    before = json.loads(recorded.read_text())
    before["cells"]["beta::val"]["accuracy"] = 12.34
    before["cells"]["orphan::val"] = {"accuracy": 50.0, "n": 10}
    recorded.write_text(json.dumps(before))
    before["cells"]["alpha::val"]["accuracy"] = 1.0
    recorded.write_text(json.dumps(before))
    run_tiny("-k", "alpha", "--ssl-update-baselines").assert_outcomes(passed=4, deselected=5)
    after = json.loads(recorded.read_text())
    assert after["cells"]["beta::val"]["accuracy"] == 12.34
    assert after["cells"]["orphan::val"] == {"accuracy": 50.0, "n": 10}
    assert after["cells"]["alpha::val"]["accuracy"] != 1.0
    assert after["cells"]["alpha::val"]["provenance"]["checkpoint_sha256"]
    assert recorded.read_text() == json.dumps(after, indent=2, sort_keys=True) + "\n"


def test_update_prints_old_to_new_table(run_tiny, recorded: Path) -> None:
    _edit(recorded, "alpha::val", 1.0)
    result = run_tiny("--ssl-update-baselines", "-k", "alpha and val")
    result.stdout.fnmatch_lines(["*Baselines updated (old -> new)*", "*alpha::val*accuracy*1.00*"])


def test_corrupt_baseline_is_an_error_and_never_overwritten(run_tiny, pytester: pytest.Pytester) -> None:
    path = _baselines(pytester)
    path.parent.mkdir()
    path.write_text('{"schema_version": 1, "suite": "tiny", "cells": {')
    result = run_tiny("--ssl-update-baselines")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*baseline file *tiny.json is corrupt*left untouched*"])
    assert path.read_text() == '{"schema_version": 1, "suite": "tiny", "cells": {'


def test_baseline_of_another_suite_is_refused(run_tiny, pytester: pytest.Pytester) -> None:
    path = _baselines(pytester)
    path.parent.mkdir()
    path.write_text(json.dumps({"schema_version": 1, "suite": "other", "cells": {}, "aggregates": {}}))
    result = run_tiny()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*belongs to suite 'other', not 'tiny'*--ssl-baselines*"])


def test_aggregate_threshold_fails_even_when_updating(pytester: pytest.Pytester) -> None:
    from fabricate import tiny_suite

    suite = tiny_suite(pytester.path, gate="[gate.aggregate]\nweighted_average_min = 99.0\n")
    result = pytester.runpytest("--ssl-suite", str(suite), "--ssl-data-root", "data", "--ssl-update-baselines")
    result.assert_outcomes(failed=2, passed=7)
    result.stdout.fnmatch_lines(["*alpha::aggregate weighted average *% is below the suite's threshold 99.00%*"])


def test_ranking_threshold_fails_only_when_set(pytester: pytest.Pytester) -> None:
    from fabricate import tiny_suite

    methods = {"alpha": (1, "moco"), "beta": (2, "dino"), "gamma": (3, "swav")}
    suite = tiny_suite(pytester.path, methods, gate="[gate.ranking]\nmin_kendall_tau = 0.99\n")
    result = pytester.runpytest("--ssl-suite", str(suite), "--ssl-data-root", "data", "--ssl-update-baselines")
    result.assert_outcomes(failed=1, passed=12)
    result.stdout.fnmatch_lines(
        ["*_ tiny::ranking _*", "*Kendall tau of * against val is *, below*min_kendall_tau = 0.99*"]
    )


def _shift_baseline(path: Path, key: str, extra_correct: int) -> None:
    """Make the stored baseline better than the current run by ``extra_correct`` images, per image."""
    data = json.loads(path.read_text())
    entry = data["cells"][key]
    bits = unpack_bits(entry["per_sample"]["bits"], entry["n"])
    wrong = np.flatnonzero(~bits)[:extra_correct]
    bits[wrong] = True
    entry["per_sample"]["bits"] = pack_bits(bits)
    entry["correct"] = int(bits.sum())
    entry["accuracy"] = 100.0 * bits.sum() / bits.size
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(("extra", "absolute", "significant"), [(2, 1, 0), (10, 1, 1)])
def test_significant_gate_ignores_a_few_images_but_not_a_large_drop(
    run_tiny, recorded: Path, extra: int, absolute: int, significant: int
) -> None:
    _shift_baseline(recorded, "alpha::val", extra)
    strict = run_tiny("--ssl-gate", "absolute", "--ssl-margin", "0", "--ssl-sampling-factor", "0")
    strict.assert_outcomes(failed=absolute, passed=9 - absolute)
    noise_aware = run_tiny("--ssl-gate", "significant", "--ssl-margin", "0")
    noise_aware.assert_outcomes(failed=significant, passed=9 - significant)
    if significant:
        noise_aware.stdout.fnmatch_lines(["*one-sided McNemar exact (b=0, c=10): p = *Holm over 6 cells*"])


def test_the_knn_protocol_runs_gates_and_records_its_settings(pytester: pytest.Pytester, run_tiny) -> None:
    """``--ssl-probe kind=knn``: DINO's weighted k-NN instead of a linear probe, end to end."""
    first = run_tiny("--ssl-probe", "kind=knn", "--ssl-probe", "k=5", "--ssl-update-baselines")
    first.assert_outcomes(passed=9)
    stored = json.loads((pytester.path / "baselines" / "tiny.json").read_text())
    probe = stored["cells"]["alpha::val"]["provenance"]["probe"]
    assert probe["kind"] == "knn"
    assert probe["k"] == 5
    assert probe["temperature"] == 0.07
    again = run_tiny("--ssl-probe", "kind=knn", "--ssl-probe", "k=5")
    again.assert_outcomes(passed=9)
    assert not list((pytester.path / ".ssl_cache" / "probes").rglob("*.npz"))  # nothing trained, nothing cached


def test_extra_protocols_gate_each_variant_and_report_the_protocol_lottery(pytester: pytest.Pytester) -> None:
    from fabricate import tiny_suite

    suite = tiny_suite(pytester.path, {"alpha": (1, "moco"), "beta": (2, "dino"), "gamma": (3, "swav")})
    suite.write_text(
        suite.read_text().replace("bootstrap_resamples = 50", 'bootstrap_resamples = 50\nextra_protocols = ["knn"]')
    )
    args = ("--ssl-suite", str(suite), "--ssl-data-root", "data", "-p", "no:cacheprovider")
    first = pytester.runpytest(*args, "--ssl-update-baselines")
    first.assert_outcomes(passed=2 * 3 * 4 + 1)
    stored = json.loads((pytester.path / "baselines" / "tiny.json").read_text())
    assert "alpha@knn::val" in stored["cells"]
    assert "alpha@knn" in stored["aggregates"]
    report = pytester.runpytest(*args, "--ssl-report-json", "r.json", "--color=no")
    report.assert_outcomes(passed=25)
    report.stdout.fnmatch_lines(["Protocol lottery: linear against knn*", "*Kendall tau between the two protocols*"])
    data = json.loads((pytester.path / "r.json").read_text())
    assert data["analysis"]["methods"] == ["alpha", "beta", "gamma"]  # the suite's protocol only, no @knn
    (comparison,) = data["protocols"]
    assert comparison["protocol"] == "knn"
    assert comparison["primary"] == "linear"
    accuracy = comparison["analysis"]["accuracy"]
    assert accuracy["alpha"]["val"] == pytest.approx(stored["cells"]["alpha@knn::val"]["accuracy"], abs=1e-3)
    assert set(comparison["kendall_tau"]) == {"val", "shifted", "subset", "weighted_average", "geometric_mean"}
