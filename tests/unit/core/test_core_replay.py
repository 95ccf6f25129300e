"""The gate replayed on whole runs agrees with the plugin's own verdicts, and planted drops are exact."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_ssllottery.compute.records import CellRecord
from pytest_ssllottery.gate.judge import CellContext, judge_cell
from pytest_ssllottery.gate.replay import baseline_entry, judge_run, plant_drop, with_correctness
from pytest_ssllottery.gate.verdicts import Status
from pytest_ssllottery.stats import pack_bits
from pytest_ssllottery.suite.spec import GateSpec

DATASETS = ("val", "sketch")


def _cell(method: str, dataset: str, hits: np.ndarray) -> CellRecord:
    return CellRecord("demo", method, dataset, int(hits.sum()), hits.size, f"fp-{dataset}", pack_bits(hits))


def _run(rng: np.random.Generator, n: int = 600) -> dict[str, list[CellRecord]]:
    return {m: [_cell(m, d, rng.random(n) < 0.6) for d in DATASETS] for m in ("a", "b")}


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 400), st.floats(0.0, 100.0), st.integers(0, 2**31))
def test_planted_drop_flips_exactly_that_many_correct_images(n: int, points: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    hits = rng.random(n) < 0.5
    after = plant_drop(hits, points, rng)
    assert not (after & ~hits).any()  # nothing wrong became right
    assert int(hits.sum() - after.sum()) == min(round(points / 100 * n), int(hits.sum()))


def test_an_unchanged_run_passes_in_both_modes() -> None:
    run = _run(np.random.default_rng(0))
    for mode in ("absolute", "significant"):
        verdicts = judge_run(run, run, DATASETS, {"a": [1.0, 1.0], "b": [1.0, 1.0]}, GateSpec(mode=mode), 200)
        assert not verdicts.failed


@pytest.mark.parametrize("mode", ["absolute", "significant"])
@pytest.mark.parametrize("points", [0.5, 3.0, 6.0, 12.0])
def test_cell_verdicts_match_the_plugin_judge(mode: str, points: float) -> None:
    """One cell dropped, every other unchanged: Holm's smallest p-value is tested at alpha / m, as judge_cell does."""
    rng = np.random.default_rng(1)
    reference = _run(rng)
    dropped = reference["a"][1]
    run = {
        **reference,
        "a": [reference["a"][0], with_correctness(dropped, plant_drop(dropped.correctness(), points, rng))],
    }
    gate = GateSpec(mode=mode, margin=1.0)
    family = 4
    replayed = judge_run(run, reference, DATASETS, {"a": [1.0, 1.0], "b": [1.0, 1.0]}, gate, 200)
    context = CellContext(baseline_entry(dropped), gate, "accept", "baselines", family_size=family)
    plugin = judge_cell(run["a"][1], context)
    assert ("a::sketch" in replayed.cells) == (plugin.status is Status.FAIL)
    assert set(replayed.cells) <= {"a::sketch"}
    if points >= 12.0:
        assert "a::sketch" in replayed.cells
        assert any(key.startswith("a::aggregate") for key in replayed.scores)
