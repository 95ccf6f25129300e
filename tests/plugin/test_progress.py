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


def test_bars_only_on_an_interactive_terminal(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfigure("-p", "no:cacheprovider")
    assert not TerminalProgress.wanted(config)  # pytester's output is not a TTY
    quiet = pytester.parseconfigure("-q", "-p", "no:cacheprovider")
    assert not TerminalProgress.wanted(quiet)
