"""The project's speed figures as pytest-benchmark suites: ``pytest benchmarks/ --benchmark-only``.

Files named ``bench_*.py`` are collected here (the CI test command collects ``tests/`` only). Each suite
keeps what it compares side by side in ``extra_info`` (ratios of paired runs, accuracies, peak memory).
``study_gate_power.py`` is a statistical study, not a timing, and stays a script.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pytest_ssllottery.compute.engine import Engine
from pytest_ssllottery.compute.prepare import prepare_suite
from pytest_ssllottery.suite.resources import resolve_suite
from pytest_ssllottery.suite.settings import RunSettings, SuiteOverrides

THREADS = 2  # CPU float results and speed depend on the thread count: pinned for every in-process benchmark


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Collect ``bench_*.py`` as test modules (a file named on the command line pytest collects by itself)."""
    if parent.session.isinitpath(file_path):
        return None
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        module: pytest.Module = pytest.Module.from_parent(parent, path=file_path)
        return module
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
    """Rounds of the expensive end-to-end benchmarks."""
    parser.addoption(
        "--bench-suite-rounds",
        type=int,
        default=3,
        help="Rounds of each end-to-end shapes-suite benchmark (cold runs take about 2 minutes each)",
    )


@pytest.fixture(autouse=True)
def _pinned_threads() -> None:
    torch.set_num_threads(THREADS)


@pytest.fixture(scope="session")
def suite_rounds(request: pytest.FixtureRequest) -> int:
    """``--bench-suite-rounds``."""
    return max(1, int(request.config.getoption("--bench-suite-rounds")))


@pytest.fixture(scope="session")
def shapes_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The bundled shapes suite's engine over a session cache (the image family is generated once)."""
    suite = prepare_suite(resolve_suite("shapes"), SuiteOverrides())
    return Engine(suite, RunSettings(cache_dir=tmp_path_factory.mktemp("cache"), device="cpu"))
