"""Showing the engine's progress: one live line on a terminal, plain phase lines in CI logs.

The engine reports named tasks of known size (``compute.progress.Progress``): loading a dataset, extracting
features, training a probe. On a terminal, one line shows the phase, the images per second, the task's ETA
and how many tasks of the run are done. Without a terminal (CI), a line is printed when a task ends and,
during a long task, at most every ``interval`` seconds, so an hours-long ImageNet run never goes silent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..compute.progress import Advance

DEFAULT_INTERVAL = 30.0


def rate_text(done: int, seconds: float, unit: str) -> str:
    """``850 img/s`` (or epochs/s for a probe); empty before anything is done."""
    if done <= 0 or seconds <= 0:
        return ""
    return f"{done / seconds:,.0f} {unit}/s" if done / seconds >= 10 else f"{done / seconds:.1f} {unit}/s"


def eta_text(done: int, total: int, seconds: float) -> str:
    """Remaining time of a task at its rate so far, as ``m:ss``."""
    if done <= 0 or total <= done:
        return "0:00"
    left = seconds * (total - done) / done
    return f"{int(left // 60)}:{int(left % 60):02d}"


class ProgressDisplay:
    """The engine's tasks on ``stream``: live (one rich line) or plain lines, and the run's task count."""

    def __init__(
        self,
        stream: TextIO,
        live: bool,
        interval: float = DEFAULT_INTERVAL,
        prefix: str = "ssl-lottery",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.live = live
        self.interval = interval
        self.prefix = prefix
        self.clock = clock
        self.done = 0
        self.expected: int | None = None

    def expect(self, tasks: int) -> None:
        """The number of tasks the run will at most compute (tasks found in the cache are skipped)."""
        self.expected = tasks

    def _count(self) -> str:
        return f"task {self.done + 1}" + (f" of ≤{self.expected}" if self.expected else "")

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Advance]:
        """Show one task while the body runs."""
        unit = "img" if "features" in description else "epochs" if "probe" in description else "units"
        if self.live:
            with self._live(description, total, unit) as advance:
                yield advance
        else:
            with self._plain(description, total, unit) as advance:
                yield advance
        self.done += 1

    @contextmanager
    def _live(self, description: str, total: int, unit: str) -> Iterator[Advance]:
        start = self.clock()
        bars = Progress(
            TextColumn(f"  {self.prefix} [{self._count()}] {{task.description}}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=Console(file=self.stream),
            transient=True,
        )
        task = bars.add_task(description, total=total, rate="")
        state = {"done": 0}

        def advance(n: int) -> None:
            state["done"] += n
            bars.update(task, advance=n, rate=rate_text(state["done"], self.clock() - start, unit))

        with bars:
            yield advance

    @contextmanager
    def _plain(self, description: str, total: int, unit: str) -> Iterator[Advance]:
        start = last = self.clock()
        state = {"done": 0}

        def advance(n: int) -> None:
            nonlocal last
            state["done"] += n
            now = self.clock()
            if now - last >= self.interval and state["done"] < total:
                last = now
                done = state["done"]
                self._line(
                    f"{description}: {done:,}/{total:,} ({100 * done // max(total, 1)}%), "
                    f"{rate_text(done, now - start, unit)}, ETA {eta_text(done, total, now - start)}"
                )

        yield advance
        seconds = self.clock() - start
        rate = rate_text(state["done"], seconds, unit)
        self._line(f"{description}: done in {seconds:.1f} s" + (f" ({rate})" if rate else ""))

    def _line(self, text: str) -> None:
        self.stream.write(f"{self.prefix} [{self._count()}] {text}\n")
        self.stream.flush()
