"""Progress bars: drawn below pytest's line, erased, and the cursor put back where pytest left it."""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from pytest_ssllottery.plugin.progress import TerminalProgress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Capture:
    def __init__(self) -> None:
        self.suspended = 0

    @contextmanager
    def global_and_fixture_disabled(self):  # type: ignore[no-untyped-def]
        self.suspended += 1
        yield


def _progress(column: int) -> tuple[TerminalProgress, _Capture]:
    capture = _Capture()
    writer = SimpleNamespace(width_of_current_line=column, hasmarkup=True)
    config = SimpleNamespace(
        pluginmanager=SimpleNamespace(getplugin=lambda name: capture),
        get_terminal_writer=lambda: writer,
    )
    return TerminalProgress(config), capture  # type: ignore[arg-type]


@pytest.mark.parametrize("column", [0, 17])
def test_bar_leaves_the_cursor_where_pytest_left_it(monkeypatch: pytest.MonkeyPatch, column: int) -> None:
    stream = _Tty()
    monkeypatch.setattr("sys.stdout", stream)
    progress, capture = _progress(column)
    with progress.task("dino · val: features", 100) as advance:
        advance(40)
        advance(60)
    text = stream.getvalue()
    assert capture.suspended == 1  # drawn with pytest's capture suspended
    if column:
        assert text.startswith("\n")
        assert text.endswith(f"\x1b[1A\x1b[{column + 1}G")
    else:
        assert not text.startswith("\n")
        assert not re.search(r"\x1b\[\d+G", text)  # no column move when pytest's line was empty


def test_live_bars_only_on_an_interactive_terminal_plain_lines_elsewhere(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfigure("-p", "no:cacheprovider")
    assert TerminalProgress.wanted(config)  # shown: a CI log gets phase lines, never hours of silence
    assert not TerminalProgress(config).live  # pytester's output is not a TTY
    quiet = pytester.parseconfigure("-p", "no:cacheprovider", "-q")
    assert not TerminalProgress.wanted(quiet)


def test_plain_lines_at_most_every_interval_and_when_a_task_ends() -> None:
    from pytest_ssllottery.report.progress import ProgressDisplay

    clock = iter([0.0, 10.0, 31.0, 45.0, 62.0, 70.0])
    stream = io.StringIO()
    display = ProgressDisplay(stream, live=False, interval=30.0, clock=lambda: next(clock))
    display.expect(4)
    with display.task("dino · val: features", 1000) as advance:
        advance(100)  # t=10: too soon
        advance(300)  # t=31: a line
        advance(200)  # t=45: too soon
        advance(300)  # t=62: a line
    lines = stream.getvalue().splitlines()
    assert lines == [
        "ssl-lottery [task 1 of ≤4] dino · val: features: 400/1,000 (40%), 13 img/s, ETA 0:46",
        "ssl-lottery [task 1 of ≤4] dino · val: features: 900/1,000 (90%), 15 img/s, ETA 0:06",
        "ssl-lottery [task 1 of ≤4] dino · val: features: done in 70.0 s (13 img/s)",
    ]
    assert display.done == 1


def test_the_run_reports_loading_features_and_probe_tasks(run_tiny) -> None:
    result = run_tiny("-k", "alpha and val", "--ssl-update-baselines")
    result.assert_outcomes(passed=1, deselected=8)
    out = result.stdout.str()
    assert "ssl-lottery [task 1 of ≤" in out
    assert "alpha · train: features: done in" in out
    assert "alpha: linear probe: done in" in out
