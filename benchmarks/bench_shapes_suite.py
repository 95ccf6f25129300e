"""Speed and memory of `pytest --ssl-suite=shapes`: cold, warm, and one dataset vs all of a method.

Each measurement runs pytest in a fresh subprocess from an empty folder (so the bundled baselines are used)
and reports the median wall time over ``--repeats`` runs and the peak resident memory of the pytest process.

    python benchmarks/bench_shapes_suite.py --repeats 3 [--json out.json]

Measured numbers and the command live in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(workdir: Path, cache: Path, *args: str) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MiB of this child, exit code)."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--ssl-suite=shapes",
        f"--ssl-cache-dir={cache}",
        "-p",
        "no:cacheprovider",
        "-q",
        "--color=no",
        *args,
    ]
    start = time.perf_counter()
    # RUSAGE_CHILDREN's max RSS covers the largest child so far, so each run goes through its own helper process
    probe = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(command), str(workdir)],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    return wall, result["maxrss_mib"], result["code"]


_CHILD = """
import json, resource, subprocess, sys
command, cwd = json.loads(sys.argv[1]), sys.argv[2]
done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
if done.returncode not in (0, 1):
    sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"maxrss_mib": rss, "code": done.returncode}))
"""


def measure(repeats: int) -> dict[str, dict[str, float]]:
    """Median wall time and max peak memory per scenario."""
    scenarios: dict[str, list[tuple[float, float, int]]] = {
        k: [] for k in ("cold", "warm", "one_dataset", "all_datasets")
    }
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            cache = root / "cache"
            scenarios["cold"].append(_run(root, cache))
            scenarios["warm"].append(_run(root, cache))
            # one method: one dataset vs all its datasets, each from a cache that holds only the image family
            family = root / "family"
            shutil.copytree(cache / "shapes", family / "shapes")
            one, every = root / "one", root / "every"
            shutil.copytree(family, one)
            shutil.copytree(family, every)
            scenarios["one_dataset"].append(_run(root, one, "-k", "dino and sketch"))
            scenarios["all_datasets"].append(_run(root, every, "-k", "dino and not aggregate"))
    summary = {}
    for name, runs in scenarios.items():
        summary[name] = {
            "median_s": statistics.median(r[0] for r in runs),
            "runs_s": [round(r[0], 1) for r in runs],
            "peak_rss_mib": max(r[1] for r in runs),
            "exit_codes": sorted({r[2] for r in runs}),
        }
    summary["ratio_all_vs_one"] = {"median": summary["all_datasets"]["median_s"] / summary["one_dataset"]["median_s"]}
    return summary


def main() -> None:
    """Run the scenarios and print (and optionally save) the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    summary = measure(args.repeats)
    summary["machine"] = {"cpus": os.cpu_count(), "loadavg_end": os.getloadavg()}
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
