"""torchrun: two CPU ranks (gloo) give the report and cache entries of one process at the same thread count."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pytest_ssllottery.compute.cache import map_npz
from pytest_ssllottery.compute.distributed import Ranks, ranks_from_environment, shard

pytestmark = pytest.mark.slow


def test_ranks_come_from_torchrun_environment() -> None:
    assert ranks_from_environment({}) is None
    assert ranks_from_environment({"WORLD_SIZE": "1", "RANK": "0"}) is None
    assert ranks_from_environment({"WORLD_SIZE": "4", "RANK": "5", "LOCAL_RANK": "1"}) == Ranks(5, 4, 1)


def test_shards_are_whole_batches_dealt_round_robin() -> None:
    count, batch, world = 23, 5, 2
    shards = [shard(count, batch, Ranks(rank, world, rank)) for rank in range(world)]
    assert shards == [[(0, 5), (10, 15), (20, 23)], [(5, 10), (15, 20)]]
    rows = np.sort(np.concatenate([np.arange(begin, end) for s in shards for begin, end in s]))
    np.testing.assert_array_equal(rows, np.arange(count))
    assert shard(3, 5, Ranks(1, 2, 1)) == []


def _entries(cache: Path) -> dict[str, dict[str, np.ndarray]]:
    return {
        f"{p.parent.parent.name}/{p.name}": map_npz(p)
        for kind in ("features", "probes")
        for p in (cache / kind).rglob("*.npz")
    }


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    report.pop("notes")  # names the baseline files, which differ
    report["context"].pop("date")
    return report


def _environment(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # what torchrun sets; CPU float results depend on it
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    pytester.makefile(".ini", pytest="[pytest]\naddopts = -p no:cacheprovider --color=no\n")


def _single_and_torchrun(pytester: pytest.Pytester, args: list[str]) -> tuple[Any, Any]:
    def own(name: str) -> list[str]:
        return [f"--ssl-cache-dir={name}-cache", f"--ssl-baselines={name}-baselines", f"--ssl-report-json={name}.json"]

    single = pytester.run(sys.executable, "-m", "pytest", *args, *own("single"), timeout=900)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    ranked = pytester.run(*launcher, "-m", "pytest", *args, *own("torchrun"), timeout=900)
    return single, ranked


def _check_equal(pytester: pytest.Pytester, single: Any, ranked: Any) -> None:
    output = ranked.stdout.str()
    assert single.ret == 0, single.stdout.str()[-3000:]
    assert ranked.ret == 0, output[-5000:] + ranked.stderr.str()[-3000:]
    assert "rank 1 of 2" in output
    assert "rank 0 of 2" in output
    assert output.count("= ssl lottery =") == 1  # one report, from rank 0
    reports = [_comparable(json.loads((pytester.path / f"{name}.json").read_text())) for name in ("single", "torchrun")]
    assert reports[0] == reports[1]
    single_entries, ranked_entries = (
        _entries(pytester.path / "single-cache"),
        _entries(pytester.path / "torchrun-cache"),
    )
    assert sorted(single_entries) == sorted(ranked_entries)
    assert single_entries
    for name, arrays in single_entries.items():
        for key, value in arrays.items():
            np.testing.assert_array_equal(ranked_entries[name][key], value, err_msg=f"{name}:{key}")


def test_two_ranks_equal_one_process_on_the_tiny_suite(pytester: pytest.Pytester, monkeypatch) -> None:
    from fabricate import tiny_suite

    _environment(pytester, monkeypatch)
    suite = tiny_suite(pytester.path)
    args = [f"--ssl-suite={suite}", "--ssl-data-root=data", "--ssl-batch-size=16", "--ssl-update-baselines"]
    single, ranked = _single_and_torchrun(pytester, args)
    _check_equal(pytester, single, ranked)
    assert "feature sets extracted across 2 ranks" in ranked.stdout.str()


def test_two_ranks_equal_one_process_on_the_shapes_suite(pytester: pytest.Pytester, monkeypatch) -> None:
    _environment(pytester, monkeypatch)
    args = ["--ssl-suite=shapes", "--ssl-batch-size=256", "-k", "supervised or simclr"]
    single, ranked = _single_and_torchrun(pytester, args)
    _check_equal(pytester, single, ranked)


def test_a_failing_gate_fails_every_rank(pytester: pytest.Pytester, monkeypatch) -> None:
    from fabricate import tiny_suite

    _environment(pytester, monkeypatch)
    suite = tiny_suite(pytester.path)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    # no baselines: every cell is missing one, which fails its item on rank 0 and the job on every rank
    ranked = pytester.run(*launcher, "-m", "pytest", f"--ssl-suite={suite}", "--ssl-data-root=data", timeout=900)
    assert ranked.ret != 0
    failed_ranks = re.findall(r"rank\s*:\s*(\d+) \(local_rank", ranked.stderr.str() + ranked.stdout.str())
    assert sorted(set(failed_ranks)) == ["0", "1"]  # torchrun's failure summary lists both ranks
    assert (ranked.stdout.str()).count("= ssl lottery =") == 1


def test_xdist_under_torchrun_is_a_usage_error(pytester: pytest.Pytester, monkeypatch, tiny: Path) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    result = pytester.runpytest_subprocess("--ssl-suite", str(tiny), "--ssl-data-root", "data", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "torchrun and pytest-xdist" in result.stderr.str()
