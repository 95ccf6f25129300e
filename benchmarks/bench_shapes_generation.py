"""Cold generation of the whole shapes family (no cache), and a warm load of it from the cache.

    pytest benchmarks/bench_shapes_generation.py --benchmark-only

The adversarial split needs a reference classifier: the shipped filter checkpoint. ``extra_info`` keeps the
split sizes, the CPU time of the main process and its workers, and the adversarial filter's pass rate.
"""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

import pytest

from pytest_ssllottery.shapes.family import SPLITS, default_reference, load_family
from pytest_ssllottery.shapes.generate import generate
from pytest_ssllottery.shapes.reference import default_reference_id

WORKERS = 2
SEED = 0


def _cpu_seconds() -> float:
    """User + system CPU time of this process and of its reaped children (the pool's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def test_cold_generation(benchmark: Any) -> None:
    reference = default_reference(None)
    cpu: list[float] = []
    results: list[Any] = []

    def run() -> None:
        start = _cpu_seconds()
        results.append(generate(SEED, SPLITS, reference, workers=WORKERS))
        cpu.append(_cpu_seconds() - start)

    benchmark.pedantic(run, rounds=3, iterations=1)
    stats = results[-1].filter_stats
    benchmark.extra_info.update(
        workers=WORKERS,
        sizes={name: len(split.labels) for name, split in results[-1].splits.items()},
        cpu_seconds_median=sorted(cpu)[len(cpu) // 2],
        adversarial_candidates_valid_fooled_kept=[stats.candidates, stats.valid, stats.fooled, stats.kept],
        adversarial_pass_rate=round(stats.pass_rate, 4),
    )


def test_warm_load(benchmark: Any, tmp_path: Path) -> None:
    reference = default_reference(None)
    reference_id = default_reference_id(None)
    load_family(tmp_path, SEED, reference, reference_id=reference_id, workers=WORKERS)  # fills the cache, untimed
    splits = benchmark.pedantic(
        load_family,
        args=(tmp_path, SEED, reference),
        kwargs={"reference_id": reference_id, "workers": WORKERS},
        rounds=5,
        iterations=1,
    )
    assert set(splits) == set(SPLITS)
    benchmark.extra_info["images"] = sum(len(s.labels) for s in splits.values())


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
