"""What every item of a suite shares, whatever pytest class it derives from: markers, error text, location.

The gate's items (``plugin/items.py``) are ``pytest.Item`` subclasses; the throughput items
(``plugin/throughput.py``) are ``pytest.Function`` subclasses, because they request a fixture.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..errors import SslLotteryError

if TYPE_CHECKING:
    from ..gate.run import LotteryRun


def mark_suite_item(item: pytest.Item, lottery: LotteryRun, group: str) -> None:
    """The ``ssl`` marker, the suite's markers, and the xdist_group that keeps a method on one worker."""
    item.add_marker("ssl")
    for marker in lottery.suite.markers:
        item.add_marker(marker)
    item.add_marker(pytest.mark.xdist_group(name=group))


def method_group(lottery: LotteryRun, method: str) -> str:
    """The xdist_group of a method's items."""
    return f"{lottery.suite.name}::{method}"


def core_error_text(excinfo: pytest.ExceptionInfo[BaseException]) -> str | None:
    """The core's own error as one line without a traceback; None for any other exception."""
    if isinstance(excinfo.value, SslLotteryError):
        return f"{type(excinfo.value).__name__}: {excinfo.value}"
    return None


def suite_item_location(item: pytest.Item) -> tuple[Path, int | None, str]:
    """The suite file and the item id; a line number, since pytest needs one to report a marker skip."""
    return item.path, 0, item.nodeid
