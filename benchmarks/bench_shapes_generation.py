"""Time cold generation of the whole shapes family (no cache), and a warm load from the cache.

Usage::

    python benchmarks/bench_shapes_generation.py [--repeats 3] [--workers 2] [--reference PATH]

The adversarial split needs a reference classifier: the shipped filter checkpoint by default, or a
``shapes_resnet`` checkpoint given with ``--reference``. Prints one Markdown table for
``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

from pytest_ssllottery.shapes.family import SPLITS, default_reference, load_family
from pytest_ssllottery.shapes.generate import generate
from pytest_ssllottery.shapes.reference import default_reference_id


def _cpu_seconds() -> float:
    """User + system CPU time of this process and of its reaped children (the pool's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference", type=Path, default=None, help="shapes_resnet checkpoint (default: the filter)")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    reference = default_reference(args.reference)
    reference_id = default_reference_id(args.reference)
    times, cpu, generated = [], [], None
    for _ in range(args.repeats):
        start, start_cpu = time.perf_counter(), _cpu_seconds()
        generated = generate(args.seed, SPLITS, reference, workers=args.workers)
        times.append(time.perf_counter() - start)
        cpu.append(_cpu_seconds() - start_cpu)
    if generated is None or generated.filter_stats is None:
        raise SystemExit("nothing was generated (--repeats must be at least 1)")
    stats = generated.filter_stats
    with tempfile.TemporaryDirectory() as cache:
        load_family(Path(cache), args.seed, reference, reference_id=reference_id, workers=args.workers)
        start = time.perf_counter()
        load_family(Path(cache), args.seed, reference, reference_id=reference_id, workers=args.workers)
        warm = time.perf_counter() - start

    sizes = ", ".join(f"{name} {len(split.labels)}" for name, split in generated.splits.items())
    load_after = os.getloadavg()[0]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"1-min load average before/after {load_before:.2f}/{load_after:.2f}; workers {args.workers}"
    )
    print(f"sizes: {sizes}")
    print("| measure | value |")
    print("| --- | --- |")
    print(f"| cold generation, median of {args.repeats} | {statistics.median(times):.1f} s |")
    print(f"| cold generation, all runs | {', '.join(f'{t:.1f}' for t in times)} s |")
    print(f"| CPU time (main + workers), median | {statistics.median(cpu):.1f} s |")
    print(f"| warm load from cache | {warm:.2f} s |")
    print(
        f"| adversarial candidates rendered / valid / fooled / kept | "
        f"{stats.candidates} / {stats.valid} / {stats.fooled} / {stats.kept} |"
    )
    print(f"| adversarial pass rate (fooled / valid) | {stats.pass_rate:.1%} |")
    per_class = ", ".join(f"{c}: {s.fooled}/{s.valid}" for c, s in stats.per_class.items())
    print(f"| per class fooled/valid | {per_class} |")


if __name__ == "__main__":
    main()
