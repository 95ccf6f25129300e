"""pytest hooks of pytest-ssllottery; each delegates in a few lines to the session or the finishing code.

Active only with ``--ssl-suite``: plain ``pytest`` collects nothing extra. With the flag, a
:class:`LotteryPlugin` instance is registered that owns the run's hooks.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from typing import TYPE_CHECKING

import pytest

from ..errors import BaselineError, SslLotteryError
from ..suite.settings import Settings
from .keys import BENCHMARK_KEY, RUN_KEY
from .options import add_options, build_settings
from .throughput import RegressionsAsItemFailures, benchmark_info_source, benchmarks_wanted

if TYPE_CHECKING:
    from ..compute.distributed import Ranks
    from ..gate.run import LotteryRun


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the --ssl-* flags and ini keys (every process, at start-up)."""
    add_options(parser)


def _suite_requested(config: pytest.Config) -> bool:
    """Whether this run runs a suite: ``--ssl-suite``, or the ``ssl_suite`` ini key."""
    return bool(config.getoption("ssl_suite") or config.getini("ssl_suite"))


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """With -n and no --dist, keep each method's items on one worker (--dist loadgroup)."""
    if (
        _suite_requested(config)
        and getattr(config.option, "numprocesses", None)
        and getattr(config.option, "dist", None) == "no"
    ):
        config.option.dist = "loadgroup"


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Register markers; with --ssl-suite, read suite and baselines and register the run's plugin."""
    config.addinivalue_line("markers", "ssl: an item of a pytest-ssllottery suite")
    config.addinivalue_line("markers", "gpu: an item that should run on a CUDA device")
    # Items carry xdist_group so that `-n` keeps a method on one worker; without xdist the mark must still be known.
    config.addinivalue_line("markers", "xdist_group(name): --dist loadgroup runs equal names on one worker")
    if not _suite_requested(config):
        return
    settings = build_settings(config)
    ranks = _torchrun_ranks(config, settings)
    try:
        lottery = _run(config, settings)
    except SslLotteryError as exc:
        raise pytest.UsageError(str(exc)) from None
    for marker in lottery.suite.markers:
        config.addinivalue_line("markers", f"{marker}: marker set by suite {lottery.suite.name}")
    selection: list[str] = []
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = []  # `pytest --ssl-suite=X` alone runs the suite, not the testpaths as well
    else:  # node ids of the suite's items select them; everything else stays a path argument
        name = lottery.suite.name
        selection = [a for a in config.args if a == name or a.startswith(f"{name}::")]
        config.args = [a for a in config.args if a not in selection]
    config.stash[RUN_KEY] = lottery
    config.stash[BENCHMARK_KEY] = benchmarks_wanted(config)
    if config.stash[BENCHMARK_KEY]:
        config.pluginmanager.register(RegressionsAsItemFailures(lottery.suite.name), "ssl-lottery-regressions")
    config.pluginmanager.register(LotteryPlugin(config, settings, lottery, selection, ranks), "ssl-lottery-run")


def _torchrun_ranks(config: pytest.Config, settings: Settings) -> Ranks | None:
    """Under torchrun: this process's ranks, with the process group joined; None otherwise."""
    from ..compute.distributed import ranks_from_environment, start

    ranks = ranks_from_environment()
    if ranks is None:
        return None
    if getattr(config.option, "numprocesses", None):
        raise pytest.UsageError(
            "torchrun and pytest-xdist (-n) both start processes: under torchrun every rank extracts a shard of "
            "each dataset and rank 0 runs the items, so drop -n (see 'torchrun and pytest-xdist' in the README)"
        )
    start(ranks, settings.run.device)
    return ranks


def _run(config: pytest.Config, settings: Settings) -> LotteryRun:
    from ..compute.cache import check_writable
    from ..compute.preflight import missing_extras
    from ..compute.prepare import prepare_suite
    from ..gate.run import LotteryRun, RunConfig
    from .progress import TerminalProgress

    suite = prepare_suite(settings.suite_path, settings.overrides)
    check_writable(settings.run.cache_dir)
    for problem in missing_extras(settings.report):
        raise pytest.UsageError(problem)
    progress = TerminalProgress(config) if TerminalProgress.wanted(config) else None
    info = benchmark_info_source(config) if config.pluginmanager.hasplugin("benchmark") else None
    return LotteryRun(RunConfig(suite, settings.run, settings.baselines, settings.accept_command, info), progress)


def junit_properties(record: dict[str, object]) -> list[tuple[str, object]]:
    """Small JUnit properties of one record: a cell's accuracy; a verdict's obtained, baseline, delta, tolerance."""
    if record.get("kind") == "throughput":
        return [("ssl_images_per_s", f"{record['images_per_s']:.1f}")]
    if record.get("kind") == "cell":
        n = record["n"]
        return [("ssl_accuracy", f"{100.0 * record['correct'] / max(n, 1):.4f}")]  # type: ignore[operator,call-overload]
    if record.get("kind") != "verdict":
        return []
    key = str(record["key"])
    label = key.rsplit(":", 1)[1] + "." if ":aggregate:" in key or key.startswith("ranking:") else ""
    obtained, expected, tolerance = record.get("obtained"), record.get("expected"), record.get("tolerance")

    def number(value: object) -> str:
        return "" if not isinstance(value, int | float) else f"{value:.4f}"

    delta = obtained - expected if isinstance(obtained, int | float) and isinstance(expected, int | float) else None
    return [
        (f"ssl_{label}obtained", number(obtained)),
        (f"ssl_{label}baseline", number(expected)),
        (f"ssl_{label}delta", number(delta)),
        (f"ssl_{label}tolerance", number(tolerance)),
        (f"ssl_{label}verdict", str(record["status"])),
    ]


def name_testcase(config: pytest.Config, report: pytest.TestReport) -> None:
    """JUnit XML names the testcase by its node id, the name the report and the accept command use."""
    try:
        from _pytest.junitxml import xml_key  # the LogXML object; pytest offers no public handle on it
    except ImportError:  # pragma: no cover - a future pytest
        return
    xml = config.stash.get(xml_key, None)
    if xml is not None:
        xml.node_reporter(report).add_attribute("name", report.nodeid)


NON_TTY_WIDTH = 120


def report_width(terminal_width: int | None) -> int:
    """Width of the report: ``COLUMNS`` when set, the terminal's on a TTY, else 120 (CI logs are wide, not 80)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if terminal_width is not None and sys.stdout.isatty():
        return terminal_width
    return NON_TTY_WIDTH


class LotteryPlugin:
    """The hooks of one ``--ssl-suite`` run; state lives here and in ``config.stash``."""

    def __init__(
        self,
        config: pytest.Config,
        settings: Settings,
        lottery: LotteryRun,
        selection: list[str] | None = None,
        ranks: Ranks | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.lottery = lottery
        self.selection = selection or []
        self.ranks = ranks
        self.reporting = not hasattr(config, "workerinput") and (ranks is None or ranks.leader)
        self.summary = ""
        self.planned: tuple[list[str], list[str]] = ([], [])

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        """The suite, device, baselines and cache, under pytest's own header."""
        return self.lottery.header_lines()

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        """Add the suite to the session's collection."""
        report = yield
        if isinstance(collector, pytest.Session) and report.passed:
            from .items import SuiteCollector

            suite = self.lottery.suite
            report.result.append(
                SuiteCollector.from_parent(
                    collector, name=suite.name, nodeid=suite.name, path=suite.path, lottery=self.lottery
                )
            )
        return report

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """After -k/-m selection: fail once, before any item runs, on what every selected item would hit."""
        from ..compute.preflight import missing_inputs, preflight_message
        from .items import selected_cells
        from .progress import TerminalProgress

        if self.selection:
            chosen = [i for i in items if any(i.nodeid == s or i.nodeid.startswith(f"{s}::") for s in self.selection)]
            dropped = [i for i in items if i not in chosen]
            if dropped:
                self.config.hook.pytest_deselected(items=dropped)
            items[:] = chosen

        suite = self.lottery.suite
        methods, datasets = selected_cells(items)
        if not hasattr(self.config, "workerinput"):  # an xdist worker computes its own methods, decoding for each
            self.lottery.plan(methods)
        self.planned = (methods, datasets)
        missing = [m.name for m in suite.methods if m.name in methods and m.probe.kind == "official-head"]
        missing = [name for name in missing if not suite.method(name).head_checkpoint]
        if missing:
            raise pytest.UsageError(
                f"probe kind 'official-head' needs the released linear head (`head_checkpoint`), but "
                f"{', '.join(missing)} of suite {suite.name!r} have none. Select methods that have "
                "one with -k, or keep probe.kind = 'linear' (drop --ssl-probe kind=official-head)"
            )
        progress = self.lottery.progress
        if isinstance(progress, TerminalProgress):  # at most: loads, extractions (with train) and probes
            progress.expect(len(datasets) + 1 + len(methods) * (len(datasets) + 2))
        problems = missing_inputs(suite, self.settings.run, methods, datasets) if methods else []
        if problems:
            raise pytest.UsageError(preflight_message(problems, any("checkpoint" in p for p in problems)))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """Under torchrun: every rank extracts its shards of the missing features; then rank 0 alone runs the items."""
        if self.ranks is None or session.config.option.collectonly:
            return None
        from ..compute.sharded import extract_sharded

        methods, datasets = self.planned
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        try:
            extracted = extract_sharded(self.lottery.engine, methods, datasets, self.ranks) if methods else 0
            note = f"{extracted} feature sets extracted across {self.ranks.world} ranks"
        except SslLotteryError as exc:  # rank 0 recomputes what is missing and fails the items that hit the error
            note = f"sharded extraction stopped ({exc}); rank 0 computes what is missing itself"
        if reporter is not None:
            role = "runs the items and reports" if self.ranks.leader else "leaves the items and the report to rank 0"
            reporter.write_line(f"ssl-lottery: rank {self.ranks.rank} of {self.ranks.world}: {note}; it {role}")
        return None if self.ranks.leader else True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """In the reporting process, take the records out of the report (keeps JUnit XML small)."""
        if not self.reporting:
            return
        from ..gate.verdicts import CONTEXT_PROPERTY, RECORD_PROPERTY

        kept: list[tuple[str, object]] = []
        for name, value in report.user_properties:
            if name in (RECORD_PROPERTY, CONTEXT_PROPERTY) and isinstance(value, dict):
                self.lottery.receive(name, value)
                if name == RECORD_PROPERTY:
                    kept += junit_properties(value)
            else:
                kept.append((name, value))
        report.user_properties = kept
        if report.nodeid.startswith(f"{self.lottery.suite.name}::"):
            name_testcase(self.config, report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Update baselines if asked; write JSON/Markdown reports (reporting process only); share rank 0's status."""
        self._finish(session)
        if self.ranks is not None and not session.config.option.collectonly:
            from ..compute.distributed import broadcast

            session.exitstatus = broadcast(int(session.exitstatus) if self.ranks.leader else None)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Leave the torchrun process group."""
        if self.ranks is not None:
            from ..compute.distributed import stop

            stop()

    def _finish(self, session: pytest.Session) -> None:
        if not self.reporting:
            return
        from ..report.finish import View, finish_run

        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        writer = self.config.get_terminal_writer() if reporter is not None else None
        view = View(
            width=report_width(writer.fullwidth if writer else None),
            color=bool(writer and writer.hasmarkup) and not os.environ.get("NO_COLOR"),
            verbosity=self.config.get_verbosity(),
        )
        interrupted = session.exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
        try:
            finished = finish_run(self.lottery, self.settings.report, view, interrupted=interrupted)
        except (BaselineError, OSError) as exc:
            self.summary = f"pytest-ssllottery: {exc}\n"
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            return
        self.summary = finished.text
        if finished.failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Print the rank-comparison report."""
        if self.summary:
            terminalreporter.write_sep("=", "ssl lottery")
            terminalreporter.write(self.summary)
