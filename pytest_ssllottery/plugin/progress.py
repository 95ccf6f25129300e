"""Rich progress bars for extraction and probe training that leave pytest's output intact.

A bar is drawn below the line pytest is writing (with output capture suspended), erased when the task
ends, and the cursor is put back at the end of pytest's line, so ``PASSED``/dots continue where they
would have. Bars are shown only on an interactive terminal, never under ``-q`` or in xdist workers.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..compute.progress import Advance


class TerminalProgress:
    """Progress bars drawn on pytest's terminal."""

    def __init__(self, config: pytest.Config) -> None:
        self.capture = config.pluginmanager.getplugin("capturemanager")
        self.writer = config.get_terminal_writer()

    @staticmethod
    def wanted(config: pytest.Config) -> bool:
        """Whether bars should be shown for this run."""
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        return (
            reporter is not None
            and config.get_verbosity() >= 0
            and not hasattr(config, "workerinput")
            and config.get_terminal_writer().hasmarkup
            and sys.stdout.isatty()
        )

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Advance]:
        """Show one bar while the body runs."""
        with self._uncaptured():
            column = self.writer.width_of_current_line
            stream = sys.stdout
            if column:
                stream.write("\n")
            bars = Progress(
                TextColumn("  [progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(file=stream),
                transient=True,
            )
            task = bars.add_task(description, total=total)
            with bars:
                yield lambda n: bars.advance(task, n)
            if column:
                stream.write(f"\x1b[1A\x1b[{column + 1}G")
            stream.flush()

    @contextmanager
    def _uncaptured(self) -> Iterator[None]:
        if self.capture is None:
            yield
            return
        with self.capture.global_and_fixture_disabled():
            yield
