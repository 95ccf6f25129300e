"""Throughput items: a method's forward pass timed by pytest-benchmark and gated by --benchmark-compare-fail."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pytest_benchmark")

# A fabricated architecture for these tests only: the shapes ResNet, slowed by a sleep read from the environment
# at every forward pass. Its weights, features and accuracies are those of the plain ResNet.
SLOW_ARCH = textwrap.dedent(
    """
    import os
    import time

    from pytest_ssllottery.checkpoints.archs import ARCHITECTURES, SHAPES_WIDTHS, Architecture, ShapesResNet


    class SlowShapesResNet(ShapesResNet):
        def forward(self, x):
            time.sleep(float(os.environ.get("TINY_FORWARD_SLEEP_S", "0")))
            return super().forward(x)


    ARCHITECTURES["slow_shapes_resnet"] = Architecture(
        "slow_shapes_resnet", SHAPES_WIDTHS[-1], 10, lambda n: SlowShapesResNet(num_classes=n)
    )
    """
)


def _suite(pytester: pytest.Pytester) -> Path:
    """The tiny suite whose method ``beta`` runs on the slowable architecture."""
    from fabricate import tiny_suite

    suite = tiny_suite(pytester.path)
    text = suite.read_text()
    slowed = text.replace('name = "beta"\narch = "shapes_resnet"', 'name = "beta"\narch = "slow_shapes_resnet"')
    assert slowed != text
    suite.write_text(slowed)
    pytester.makeconftest(SLOW_ARCH)
    return suite


@pytest.fixture(autouse=True)
def _not_an_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-benchmark switches timing off in any process that inherits an xdist worker's environment."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)


def _run(pytester: pytest.Pytester, suite: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--ssl-suite", str(suite), "--ssl-data-root", "data", "-p", "no:cacheprovider", "--color=no", *args
    )


def test_items_only_when_timings_are_asked_for(pytester: pytest.Pytester, tiny: Path) -> None:
    plain = pytester.runpytest("--ssl-suite", str(tiny), "--ssl-data-root", "data", "--collect-only", "-q")
    assert "throughput" not in plain.stdout.str()
    for flag in ("--ssl-benchmark", "--benchmark-json=timings.json"):
        listed = pytester.runpytest("--ssl-suite", str(tiny), "--ssl-data-root", "data", "--collect-only", "-q", flag)
        ids = [line for line in listed.stdout.lines if line.startswith("tiny::")]
        assert ids[-3:] == ["tiny::beta::aggregate", "tiny::beta::throughput", "tiny::ranking"], flag
        assert "tiny::alpha::throughput" in ids


def test_without_pytest_benchmark_the_flag_says_how_to_install_it(pytester: pytest.Pytester, tiny: Path) -> None:
    result = pytester.runpytest(
        "--ssl-suite", str(tiny), "--ssl-data-root", "data", "-p", "no:benchmark", "--ssl-benchmark"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    error = result.stderr.str()
    assert "--ssl-benchmark" in error
    assert "pytest-benchmark, which is not installed" in error
    assert "pip install 'pytest-ssllottery[benchmark]'" in error


@pytest.mark.slow
def test_timings_reach_benchmark_json_and_the_report(pytester: pytest.Pytester) -> None:
    suite = _suite(pytester)
    result = _run(
        pytester,
        suite,
        "--ssl-update-baselines",
        "--benchmark-json=timings.json",
        "--benchmark-min-rounds=3",
        "--ssl-report-json=report.json",
    )
    result.assert_outcomes(passed=11)
    timings = json.loads((pytester.path / "timings.json").read_text())
    by_item = {b["fullname"]: b for b in timings["benchmarks"]}
    assert set(by_item) == {"tiny::alpha::throughput", "tiny::beta::throughput"}
    info = by_item["tiny::alpha::throughput"]["extra_info"]
    assert info["batch_size"] == 256
    assert info["device"] == "cpu"
    assert info["dtype"] == "float32"
    assert info["input_shape"] == [3, 8, 8]
    median = by_item["tiny::alpha::throughput"]["stats"]["median"]
    assert info["images_per_s"] == pytest.approx(256 / median, rel=1e-3)
    report = json.loads((pytester.path / "report.json").read_text())
    assert report["throughput"]["tiny::alpha::throughput"]["images_per_s"] == pytest.approx(256 / median, rel=1e-3)
    unified = result.stdout.str().split("Unified scores over")[1].split("Agreement")[0]
    assert "images/s" in unified.splitlines()[1] + unified.splitlines()[2]  # the header (it may fold at 80 columns)
    assert "images/s: the frozen forward pass alone" in unified


@pytest.mark.slow
def test_a_slowed_backbone_fails_compare_fail_on_its_throughput_item_only(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = _suite(pytester)
    storage = f"--benchmark-storage=file://{pytester.path / 'timings'}"
    first = _run(pytester, suite, "--ssl-update-baselines", "--benchmark-autosave", storage, "--benchmark-min-rounds=7")
    first.assert_outcomes(passed=11)

    monkeypatch.setenv("TINY_FORWARD_SLEEP_S", "0.3")
    second = _run(
        pytester,
        suite,
        storage,
        "--benchmark-compare",
        # The sleep makes beta 20-30x slower (a batch takes about 11 ms); an 11x limit keeps alpha clear of noise
        "--benchmark-compare-fail=median:1000%",
        "--benchmark-min-rounds=7",
    )
    assert second.ret == pytest.ExitCode.TESTS_FAILED
    second.assert_outcomes(passed=10, failed=1)  # every accuracy item passes: the cells are the same numbers
    second.stdout.fnmatch_lines(["FAILED tiny::beta::throughput*"])
    second.stdout.fnmatch_lines(["*tiny::beta::throughput: the forward pass is slower than the saved run*"])
    assert "Traceback" not in second.stdout.str() + second.stderr.str()
    assert "FAILED tiny::alpha" not in second.stdout.str()


@pytest.mark.slow
def test_under_xdist_the_items_skip_and_say_why(pytester: pytest.Pytester) -> None:
    suite = _suite(pytester)
    result = _run(pytester, suite, "--ssl-update-baselines", "--ssl-benchmark", "-n", "2", "-rs")
    result.assert_outcomes(passed=9, skipped=2)
    result.stdout.fnmatch_lines(["*pytest-benchmark did not time this run*xdist*"])


def test_provenance_comes_from_pytest_benchmark_hooks(pytester: pytest.Pytester, tiny: Path) -> None:
    pytester.makeconftest(
        """
        def pytest_benchmark_update_machine_info(config, machine_info):
            machine_info["node"] = "ci-runner-7"
        """
    )
    result = pytester.runpytest(
        "--ssl-suite", str(tiny), "--ssl-data-root", "data", "--ssl-update-baselines", "--ssl-report-json=r.json"
    )
    result.assert_outcomes(passed=9)
    report = json.loads((pytester.path / "r.json").read_text())
    assert report["context"]["machine"]["node"] == "ci-runner-7"
    stored = json.loads((pytester.path / "baselines" / "tiny.json").read_text())
    entries = [*stored["cells"].values(), *stored["aggregates"].values()]
    assert len(entries) == 8
    assert {entry["provenance"]["machine"]["node"] for entry in entries} == {"ci-runner-7"}
    assert all(entry["provenance"]["commit"] == report["context"]["commit"] for entry in entries)
    assert report["context"]["commit"] == {}  # the pytester folder is no git checkout (pytest-benchmark: unversioned)


def test_benchmark_only_runs_the_throughput_items_and_skips_the_rest(pytester: pytest.Pytester) -> None:
    suite = _suite(pytester)
    result = _run(pytester, suite, "--benchmark-only", "--benchmark-min-rounds=2", "-rs")
    result.assert_outcomes(passed=2, skipped=9)
    assert "INTERNALERROR" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*Skipping non-benchmark (--benchmark-only active)*"])
