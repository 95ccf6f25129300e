"""``pytest --ssl-suite=shapes`` end to end, each run a fresh pytest process from an empty folder.

    pytest benchmarks/bench_shapes_suite.py --benchmark-only [--bench-suite-rounds 3]

- cold: an empty cache (generate the image family, extract 10 methods x 7 splits, train 10 probes); one
  pedantic round per cold run, each from a new cache;
- warm: everything cached;
- one dataset against all six datasets of one method (``-k "dino and sketch"`` against
  ``-k "dino and not aggregate"``), each from a cache holding only the image family, run in alternation;
  their ratio of medians is in ``extra_info``.

Peak resident memory of each pytest process is in ``extra_info`` too.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

# RUSAGE_CHILDREN's max RSS covers the largest child so far, so each run goes through its own helper process.
_CHILD = """
import json, resource, subprocess, sys
command, cwd = json.loads(sys.argv[1]), sys.argv[2]
done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
if done.returncode not in (0, 1):
    sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"maxrss_mib": rss, "code": done.returncode}))
"""


def run_suite(workdir: Path, cache: Path, *args: str) -> dict[str, Any]:
    """Run the shapes suite in a fresh process; its exit code and peak RSS (MiB)."""
    command = [sys.executable, "-m", "pytest", "--ssl-suite=shapes", f"--ssl-cache-dir={cache}"]
    command += ["-p", "no:cacheprovider", "-q", "--color=no", *args]
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(command), str(workdir)], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, done.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache filled by one untimed cold run."""
    root = tmp_path_factory.mktemp("warm")
    run_suite(root, root / "cache")
    return root


def test_cold(benchmark: Any, tmp_path_factory: pytest.TempPathFactory, suite_rounds: int) -> None:
    memory: list[float] = []

    def fresh() -> tuple[tuple[Path], dict[str, Any]]:
        return (tmp_path_factory.mktemp("cold"),), {}

    def cold(root: Path) -> None:
        memory.append(run_suite(root, root / "cache")["maxrss_mib"])

    benchmark.pedantic(cold, setup=fresh, rounds=suite_rounds, iterations=1)
    benchmark.extra_info["peak_rss_mib"] = round(max(memory), 1)


def test_warm(benchmark: Any, warm_cache: Path, suite_rounds: int) -> None:
    memory: list[float] = []

    def warm() -> None:
        memory.append(run_suite(warm_cache, warm_cache / "cache")["maxrss_mib"])

    benchmark.pedantic(warm, rounds=suite_rounds, warmup_rounds=0, iterations=1)
    benchmark.extra_info["peak_rss_mib"] = round(max(memory), 1)


def test_all_datasets_of_one_method_against_one(
    benchmark: Any, warm_cache: Path, tmp_path_factory: pytest.TempPathFactory, suite_rounds: int
) -> None:
    """Timed: all six datasets of dino; in each round's setup, untimed by pytest-benchmark, one dataset."""
    one_dataset: list[float] = []
    family = warm_cache / "cache" / "shapes"

    def caches() -> tuple[tuple[Path], dict[str, Any]]:
        root = tmp_path_factory.mktemp("paired")
        for name in ("one", "every"):
            shutil.copytree(family, root / name / "shapes")
        start = time.perf_counter()
        run_suite(root, root / "one", "-k", "dino and sketch")
        one_dataset.append(time.perf_counter() - start)
        return (root,), {}

    def every(root: Path) -> None:
        run_suite(root, root / "every", "-k", "dino and not aggregate")

    benchmark.pedantic(every, setup=caches, rounds=suite_rounds, iterations=1)
    one = statistics.median(one_dataset)
    benchmark.extra_info.update(
        one_dataset_median_s=round(one, 3),
        one_dataset_runs_s=[round(t, 2) for t in one_dataset],
        ratio_all_vs_one=round(benchmark.stats.stats.median / one, 3),
    )
