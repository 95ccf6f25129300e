"""The bundled ``shapes`` suite end to end: the README's first command, against the shipped baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_ssllottery.suite.resources import bundled_baselines_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the module: the first run generates the family and extracts features, the rest reuse them."""
    return tmp_path_factory.mktemp("ssl-cache")


def _run(pytester: pytest.Pytester, cache: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--ssl-suite=shapes", f"--ssl-cache-dir={cache}", "-p", "no:cacheprovider", *args)


def test_bundled_suite_passes_against_the_shipped_baselines(pytester: pytest.Pytester, shared_cache: Path) -> None:
    result = _run(pytester, shared_cache)
    result.assert_outcomes(passed=2 * (10 * 6 + 10) + 1)  # every member under the linear probe and k-NN
    result.stdout.fnmatch_lines(
        ["*suite shapes*10 methods (+10 as @knn) x 6 datasets*", "*bundled copy*", "*SSL lottery report*"]
    )
    result.stdout.fnmatch_lines(["Protocol lottery: linear against knn*", "*Kendall tau between the two protocols*"])
    assert not (pytester.path / "baselines").exists()


def test_a_regression_against_a_stored_baseline_fails_and_says_how_to_accept(
    pytester: pytest.Pytester, shared_cache: Path
) -> None:
    shipped = json.loads((bundled_baselines_dir() / "shapes.json").read_text())
    shipped["cells"]["supervised::val"]["accuracy"] += 5.0
    local = pytester.path / "baselines" / "shapes.json"
    local.parent.mkdir()
    local.write_text(json.dumps(shipped, indent=2, sort_keys=True) + "\n")
    before = local.read_bytes()

    result = _run(pytester, shared_cache, "-k", "supervised")

    result.assert_outcomes(passed=13, failed=1, deselected=127)  # supervised and supervised@knn
    result.stdout.fnmatch_lines(
        [
            "supervised::val regressed by 5.00 points",
            f"*expected*{shipped['cells']['supervised::val']['accuracy']:.2f}%*",
            "*pytest --ssl-suite=shapes --ssl-cache-dir=* --ssl-update-baselines shapes::supervised::val",
            "FAILED shapes::supervised::val*",
        ]
    )
    assert local.read_bytes() == before


def test_update_starts_a_local_file_from_the_bundled_one_and_keeps_every_other_entry(
    pytester: pytest.Pytester, shared_cache: Path
) -> None:
    result = _run(pytester, shared_cache, "-k", "dino and sketch", "--ssl-update-baselines")

    result.assert_outcomes(passed=2, deselected=139)  # dino::sketch and dino@knn::sketch
    written = json.loads((pytester.path / "baselines" / "shapes.json").read_text())
    shipped = json.loads((bundled_baselines_dir() / "shapes.json").read_text())
    assert set(written["cells"]) == set(shipped["cells"])
    assert set(written["aggregates"]) == set(shipped["aggregates"])
    for key, cell in written["cells"].items():
        assert cell["accuracy"] == shipped["cells"][key]["accuracy"], key
