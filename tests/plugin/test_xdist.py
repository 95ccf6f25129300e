"""pytest-xdist: the same numbers and report as a serial run; only the controller writes; shared cache is safe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

THREE = {"alpha": (1, "moco"), "beta": (2, "dino"), "gamma": (3, "swav")}


def _run(pytester: pytest.Pytester, suite: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--ssl-suite", str(suite), "--ssl-data-root", "data", "-p", "no:cacheprovider", "--color=no", *args
    )


def _comparable(report: dict) -> dict:
    report.pop("notes")  # names the two different baseline files
    report["context"].pop("date")  # the runs start at different seconds
    return report


@pytest.mark.slow
def test_two_workers_match_a_serial_run(pytester: pytest.Pytester) -> None:
    from fabricate import tiny_suite

    suite = tiny_suite(pytester.path, THREE)
    serial = _run(
        pytester,
        suite,
        "--ssl-update-baselines",
        "--ssl-report-json",
        "serial.json",
        "--ssl-cache-dir",
        "cache-serial",
        "--ssl-baselines",
        "serial-baselines",
    )
    serial.assert_outcomes(passed=13)
    parallel = _run(
        pytester,
        suite,
        "-n",
        "2",
        "--ssl-update-baselines",
        "--ssl-report-json",
        "parallel.json",
        "--ssl-cache-dir",
        "cache-parallel",
        "--ssl-baselines",
        "parallel-baselines",
    )
    parallel.assert_outcomes(passed=13)
    parallel.stdout.fnmatch_lines(["*2 workers*"])
    one = json.loads((pytester.path / "serial.json").read_text())
    two = json.loads((pytester.path / "parallel.json").read_text())
    assert _comparable(one) == _comparable(two)
    cells_one = json.loads((pytester.path / "serial-baselines" / "tiny.json").read_text())["cells"]
    cells_two = json.loads((pytester.path / "parallel-baselines" / "tiny.json").read_text())["cells"]
    for key, entry in cells_one.items():
        other = cells_two[key]
        assert (entry["accuracy"], entry["per_sample"], entry["dataset_fingerprint"]) == (
            other["accuracy"],
            other["per_sample"],
            other["dataset_fingerprint"],
        )
    report_text = serial.stdout.str().split("= ssl lottery =", 1)[1].split("Baselines written")[0]
    parallel_text = parallel.stdout.str().split("= ssl lottery =", 1)[1].split("Baselines written")[0]
    assert report_text == parallel_text


@pytest.mark.slow
def test_workers_share_the_cache_and_compute_each_entry_once(pytester: pytest.Pytester) -> None:
    from fabricate import tiny_suite

    suite = tiny_suite(pytester.path, THREE)
    result = _run(pytester, suite, "-n", "2", "--dist", "load", "--ssl-update-baselines")
    result.assert_outcomes(passed=13)
    features = list((pytester.path / ".ssl_cache" / "features").rglob("*.npz"))
    probes = list((pytester.path / ".ssl_cache" / "probes").rglob("*.npz"))
    assert len(features) == 3 * 4
    assert len(probes) == 3
    leftovers = [p for p in (pytester.path / ".ssl_cache").rglob("*") if p.name.endswith(".tmp") or ".npz." in p.name]
    assert not leftovers
    rerun = _run(pytester, suite, "-n", "2")
    rerun.assert_outcomes(passed=13)
