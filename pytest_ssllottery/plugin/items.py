"""The suite as pytest nodes.

Ids: ``<suite>::<method>::<dataset>``, ``<suite>::<method>::aggregate``, ``<suite>::ranking``, and with
timings ``<suite>::<method>::throughput`` (plugin/throughput.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _pytest._code.code import TerminalRepr, TracebackStyle

from ..gate.run import LotteryRun, Outcome
from .item_traits import core_error_text, mark_suite_item, method_group, suite_item_location
from .keys import RUN_KEY
from .throughput import ThroughputItem, throughput_active


class GateFailure(Exception):
    """An item's verdicts failed; the message is the full explanation."""


class SuiteCollector(pytest.Collector):
    """The suite: one MethodCollector per method, then the ranking item."""

    def __init__(self, *, lottery: LotteryRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lottery = lottery

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        """Methods in suite order, then ``ranking``."""
        for method in self.lottery.suite.methods:
            yield MethodCollector.from_parent(self, name=method.name, path=self.path)
        yield RankingItem.from_parent(self, name="ranking", path=self.path)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Where the suite comes from."""
        return self.path, None, self.name


class MethodCollector(pytest.Collector):
    """One method: an item per evaluation dataset, then its aggregate item."""

    def collect(self) -> Iterator[pytest.Item]:
        """Datasets in suite order, then ``aggregate``, then ``throughput`` when timings are asked for."""
        lottery = self.config.stash[RUN_KEY]
        for dataset in lottery.suite.eval_datasets:
            yield CellItem.from_parent(self, name=dataset.name, path=self.path)
        yield AggregateItem.from_parent(self, name="aggregate", path=self.path)
        if throughput_active(self.config):
            yield ThroughputItem.for_method(self)


class LotteryItem(pytest.Item):
    """Common behaviour: markers, records in user_properties, clean failure text."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        lottery = self.config.stash[RUN_KEY]
        mark_suite_item(self, lottery, self.group_name(lottery))

    def group_name(self, lottery: LotteryRun) -> str:
        """The xdist_group keeping a method's items on one worker."""
        return method_group(lottery, self.parent.name if self.parent else self.name)

    @property
    def lottery(self) -> LotteryRun:
        """The run's session."""
        return self.config.stash[RUN_KEY]

    def finish(self, outcome: Outcome) -> None:
        """Attach the records and raise when a verdict fails."""
        self.user_properties.extend(outcome.properties())
        failures = outcome.failures
        if failures:
            raise GateFailure("\n\n".join(v.message for v in failures))

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: TracebackStyle | None = None
    ) -> str | TerminalRepr:
        """The gate's explanation, or the core's error message, without a traceback."""
        if isinstance(excinfo.value, GateFailure):
            return str(excinfo.value)
        return core_error_text(excinfo) or super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """The suite file and the item id."""
        return suite_item_location(self)


class CellItem(LotteryItem):
    """Probe + evaluate one method on one dataset and gate against its baseline."""

    def runtest(self) -> None:
        """Compute the cell and judge it."""
        assert self.parent is not None
        self.finish(self.lottery.evaluate_cell(self.parent.name, self.name))


class AggregateItem(LotteryItem):
    """Gate a method's weighted average and geometric mean."""

    def runtest(self) -> None:
        """Compute the aggregates (and any cells they need) and judge them."""
        assert self.parent is not None
        self.finish(self.lottery.evaluate_aggregate(self.parent.name))


class RankingItem(LotteryItem):
    """Rank statistics across methods; fails only where the suite sets a rank threshold."""

    def group_name(self, lottery: LotteryRun) -> str:
        """The ranking runs in its own xdist group."""
        return f"{lottery.suite.name}::ranking"

    def runtest(self) -> None:
        """Compute every cell (from the cache when other items ran) and check the thresholds."""
        _, outcome = self.lottery.evaluate_ranking()
        self.finish(outcome)


def selected_cells(items: list[pytest.Item]) -> tuple[list[str], list[str]]:
    """Methods and datasets the selected items compute (the ranking and aggregates need all of a method's)."""
    methods: dict[str, None] = {}
    datasets: dict[str, None] = {}
    for item in items:
        if not isinstance(item, LotteryItem):
            continue
        suite = item.lottery.suite
        if isinstance(item, RankingItem):
            return [m.name for m in suite.methods], [d.name for d in suite.eval_datasets]
        if item.parent is not None:
            methods[item.parent.name] = None
        if isinstance(item, AggregateItem):
            datasets.update(dict.fromkeys(suite.aggregate_datasets))
        elif isinstance(item, CellItem):
            datasets[item.name] = None
    return list(methods), list(datasets)
