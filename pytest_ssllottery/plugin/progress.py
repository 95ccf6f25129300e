"""The engine's progress on pytest's terminal, leaving pytest's own output intact.

On a terminal, one live line is drawn below the line pytest is writing (with output capture suspended),
erased when the task ends, and the cursor is put back at the end of pytest's line, so ``PASSED``/dots
continue where they would have. Without a terminal (CI logs), plain phase lines (``report.progress``).
Nothing is shown under ``-q`` or in xdist workers (the controller shows pytest's own progress).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from ..compute.progress import Advance
from ..report.progress import DEFAULT_INTERVAL, ProgressDisplay


class TerminalProgress:
    """Engine tasks shown on pytest's terminal: live on a TTY, as plain lines otherwise."""

    def __init__(self, config: pytest.Config, live: bool | None = None, interval: float | None = None) -> None:
        self.capture = config.pluginmanager.getplugin("capturemanager")
        self.writer = config.get_terminal_writer()
        self.live = bool(self.writer.hasmarkup and sys.stdout.isatty()) if live is None else live
        self.display = ProgressDisplay(sys.stdout, self.live, interval or DEFAULT_INTERVAL)

    @staticmethod
    def wanted(config: pytest.Config) -> bool:
        """Whether progress should be shown for this run at all."""
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        return reporter is not None and config.get_verbosity() >= 0 and not hasattr(config, "workerinput")

    def expect(self, tasks: int) -> None:
        """How many tasks the selected items need at most."""
        self.display.expect(tasks)

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Advance]:
        """Show one task while the body runs."""
        with self._uncaptured():
            column = self.writer.width_of_current_line
            self.display.stream = sys.stdout
            if column:
                sys.stdout.write("\n")
            with self.display.task(description, total) as advance:
                yield advance
            if column and self.live:
                sys.stdout.write(f"\x1b[1A\x1b[{column + 1}G")
            sys.stdout.flush()

    @contextmanager
    def _uncaptured(self) -> Iterator[None]:
        if self.capture is None:
            yield
            return
        with self.capture.global_and_fixture_disabled():
            yield
