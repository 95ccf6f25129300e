"""The ``<suite>::<method>::throughput`` items: a method's frozen forward pass timed by pytest-benchmark.

Active with ``--ssl-benchmark``, or whenever a ``--benchmark-*`` option asks pytest-benchmark for timings
(autosave, compare, json, ...). The item is a :class:`pytest.Function` that requests pytest-benchmark's
``benchmark`` fixture, so its timings land wherever pytest-benchmark puts timings (``--benchmark-json``,
autosave storage) and ``--benchmark-compare-fail`` gates them. Its record reaches the rank report, which
adds an images/s column.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from typing import Any

import pytest
from _pytest._code.code import TerminalRepr, TracebackStyle

from .item_traits import core_error_text, mark_suite_item, method_group, suite_item_location
from .keys import BENCHMARK_KEY, RUN_KEY

# pytest-benchmark options that do not ask for timings: they never switch the throughput items on.
_NOT_TIMING = ("--benchmark-skip", "--benchmark-disable")
WARMUP_ROUNDS = 1
# What a throughput item records in pytest-benchmark's extra_info (fields of its ThroughputRecord).
EXTRA_INFO = ("images_per_s", "batch_size", "input_shape", "device", "dtype", "memory_format")
INSTALL_HINT = "pip install 'pytest-ssllottery[benchmark]'"


def _command_line(config: pytest.Config) -> list[str]:
    """The arguments pytest saw: the command line, PYTEST_ADDOPTS and the ini file's addopts."""
    args = [str(a) for a in config.invocation_params.args]
    args += shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))
    args += [str(a) for a in config.getini("addopts")]
    return args


def benchmarks_wanted(config: pytest.Config) -> bool:
    """``--ssl-benchmark``, or a ``--benchmark-*`` option that asks pytest-benchmark for timings.

    Raises:
        pytest.UsageError: ``--ssl-benchmark`` without pytest-benchmark (not installed, or ``-p no:benchmark``).
    """
    asked = bool(config.getoption("ssl_benchmark", False))
    implied = any(
        arg.startswith("--benchmark-") and arg.split("=", 1)[0] not in _NOT_TIMING for arg in _command_line(config)
    )
    if not (asked or implied):
        return False
    if not config.pluginmanager.hasplugin("benchmark"):
        raise pytest.UsageError(
            "--ssl-benchmark times each method's forward pass with pytest-benchmark, which is not installed "
            f"(or was disabled with -p no:benchmark). Install it with `{INSTALL_HINT}` "
            "(or `pip install pytest-benchmark`), or drop --ssl-benchmark"
        )
    return True


def measure_throughput(benchmark: Any, request: pytest.FixtureRequest) -> None:
    """Time the method's forward pass on the seeded batch and hand the record to the report."""
    from ..compute.throughput import method_throughput_target
    from ..gate.verdicts import RECORD_PROPERTY

    item = request.node
    assert item.parent is not None
    lottery = item.config.stash[RUN_KEY]
    method = item.parent.name
    target = method_throughput_target(lottery.engine, method)
    rounds = max(1, int(item.config.getoption("benchmark_min_rounds", 5) or 5))
    benchmark.name = f"{method}::throughput"  # pytest-benchmark's table shows names; the node name alone repeats
    benchmark.group = f"{lottery.suite.name} throughput"
    benchmark.pedantic(target.run, rounds=rounds, warmup_rounds=WARMUP_ROUNDS, iterations=1)
    if benchmark.stats is None:
        pytest.skip(
            "pytest-benchmark did not time this run (--benchmark-disable, or xdist -n, under which it switches "
            "timing off): nothing was measured"
        )
    record = target.record(lottery.suite.name, method, float(benchmark.stats.stats.median), rounds)
    measured = record.to_dict()
    benchmark.extra_info.update({key: measured[key] for key in EXTRA_INFO})
    item.user_properties.append((RECORD_PROPERTY, record.to_dict()))
    regressions = compare_failures(item.config, benchmark)
    if regressions:
        pytest.fail(
            f"{item.nodeid}: the forward pass is slower than the saved run (--benchmark-compare-fail):\n"
            + "\n".join(f"  {line}" for line in regressions)
            + f"\nNow {record.images_per_s:,.1f} images/s (median {1000 * record.median_s:.3f} ms per batch of "
            f"{record.batch_size}). If the slowdown is expected, save a new reference with --benchmark-autosave.",
            pytrace=False,
        )


def compare_failures(config: pytest.Config, benchmark: Any) -> list[str]:
    """pytest-benchmark's ``--benchmark-compare-fail`` checks of this one benchmark against the saved runs.

    pytest-benchmark checks regressions only after the session, for all benchmarks at once, and ends the run
    with a traceback; checking here fails the throughput item itself, with the item's id in the summary.
    """
    session = getattr(config, "_benchmarksession", None)  # pytest-benchmark's session (no public accessor)
    checks = getattr(session, "compare_fail", None)
    if session is None or not checks or benchmark.stats is None:
        return []
    failures: list[str] = []
    for path, saved in getattr(session, "compared_mapping", {}).items():
        compared = saved.get(benchmark.fullname)
        if compared is None:
            continue
        for check in checks:
            failed = check.fails(benchmark.stats, compared["stats"])
            if failed:
                median = 1000 * float(compared["stats"]["median"])
                failures.append(f"{failed} (saved median {median:.3f} ms, {Path(str(path)).name})")
    return failures


class RegressionsAsItemFailures:
    """Ends a regressed run with the failed throughput items instead of pytest-benchmark's traceback.

    pytest-benchmark raises ``PerformanceRegression`` out of its terminal summary, which crashes pytest's
    session finish. When every regression it found belongs to a throughput item, which has already failed
    with the explanation, the exception is dropped: the run fails through its failed items, as any failing
    test does. Regressions of other benchmarks keep pytest-benchmark's behaviour.
    """

    def __init__(self, suite: str) -> None:
        self.suite = suite

    @pytest.hookimpl(wrapper=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> Generator[None, None, None]:
        """Let pytest-benchmark report; drop its exception when only throughput items regressed."""
        try:
            return (yield)
        except Exception as exc:
            if type(exc).__name__ != "PerformanceRegression":
                raise
            session = getattr(terminalreporter.config, "_benchmarksession", None)
            names = [str(name) for name, _ in getattr(session, "performance_regressions", [])]
            if not names or not all(name.split(" (", 1)[0].endswith("::throughput") for name in names):
                raise
            return None


class ThroughputItem(pytest.Function):
    """``<suite>::<method>::throughput``: a pytest-benchmark test of the method's frozen forward pass."""

    @classmethod
    def for_method(cls, parent: pytest.Collector) -> ThroughputItem:
        """The item under ``parent`` (a method's collector), marked like the method's other items."""
        item: ThroughputItem = cls.from_parent(parent, name="throughput", callobj=measure_throughput)
        lottery = item.config.stash[RUN_KEY]
        mark_suite_item(item, lottery, method_group(lottery, parent.name))
        return item

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: TracebackStyle | None = None
    ) -> str | TerminalRepr:
        """The core's error message without a traceback (a missing or wrong checkpoint, say)."""
        return core_error_text(excinfo) or super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """The suite file and the item id."""
        return suite_item_location(self)


def throughput_active(config: pytest.Config) -> bool:
    """Whether this run collects throughput items (decided once, at configure time)."""
    return config.stash.get(BENCHMARK_KEY, False)


def benchmark_info_source(config: pytest.Config) -> Callable[[], tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """Machine and commit info from pytest-benchmark's hooks (so a conftest's override of them applies here too)."""

    def info() -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        hook = config.hook
        machine = hook.pytest_benchmark_generate_machine_info(config=config)
        hook.pytest_benchmark_update_machine_info(config=config, machine_info=machine)
        commit = hook.pytest_benchmark_generate_commit_info(config=config)
        hook.pytest_benchmark_update_commit_info(config=config, commit_info=commit)
        return machine, commit

    return info
