"""Keys of the plugin's state in ``config.stash`` (a light module: importing it loads no torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..gate.run import LotteryRun

RUN_KEY: pytest.StashKey[LotteryRun] = pytest.StashKey()
BENCHMARK_KEY: pytest.StashKey[bool] = pytest.StashKey()
"""Whether this run adds a ``<suite>::<method>::throughput`` item per method."""
