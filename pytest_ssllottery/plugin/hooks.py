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
from .keys import RUN_KEY
from .options import add_options, build_settings

if TYPE_CHECKING:
    from ..gate.run import LotteryRun


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the --ssl-* flags and ini keys (every process, at start-up)."""
    add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """With -n and no --dist, keep each method's items on one worker (--dist loadgroup)."""
    if (
        config.getoption("ssl_suite")
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
    if not config.getoption("ssl_suite"):
        return
    settings = build_settings(config)
    try:
        lottery = _run(config, settings)
    except SslLotteryError as exc:
        raise pytest.UsageError(str(exc)) from None
    for marker in lottery.suite.markers:
        config.addinivalue_line("markers", f"{marker}: marker set by suite {lottery.suite.name}")
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = []  # `pytest --ssl-suite=X` alone runs the suite, not the testpaths as well
    config.stash[RUN_KEY] = lottery
    config.pluginmanager.register(LotteryPlugin(config, settings, lottery), "ssl-lottery-run")


def _run(config: pytest.Config, settings: Settings) -> LotteryRun:
    from ..compute.cache import check_writable
    from ..compute.prepare import prepare_suite
    from ..gate.run import LotteryRun, RunConfig
    from .progress import TerminalProgress

    suite = prepare_suite(settings.suite_path, settings.overrides)
    check_writable(settings.run.cache_dir)
    progress = TerminalProgress(config) if TerminalProgress.wanted(config) else None
    return LotteryRun(RunConfig(suite, settings.run, settings.baselines, settings.accept_command), progress)


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

    def __init__(self, config: pytest.Config, settings: Settings, lottery: LotteryRun) -> None:
        self.config = config
        self.settings = settings
        self.lottery = lottery
        self.reporting = not hasattr(config, "workerinput")
        self.summary = ""

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
        from .items import selected_methods

        missing = [
            m.name
            for m in self.lottery.suite.methods
            if m.name in selected_methods(items) and m.probe.kind == "official-head" and not m.head_checkpoint
        ]
        if missing:
            raise pytest.UsageError(
                f"probe kind 'official-head' needs the released linear head (`head_checkpoint`), but "
                f"{', '.join(missing)} of suite {self.lottery.suite.name!r} have none. Select methods that have "
                "one with -k, or keep probe.kind = 'linear' (drop --ssl-probe kind=official-head)"
            )

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
                if name == RECORD_PROPERTY and value.get("kind") == "cell":
                    kept.append(("ssl_accuracy", f"{100.0 * value['correct'] / max(value['n'], 1):.4f}"))
            else:
                kept.append((name, value))
        report.user_properties = kept

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Update baselines if asked; write JSON/Markdown reports (reporting process only)."""
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
