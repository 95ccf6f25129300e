"""What a selection of items needs before any of them runs: data root, dataset folders, checkpoints, extras.

A missing data root would otherwise fail every item of the run with the same error (92 failures that JUnit
counts as 92 regressions). Checked once, after ``-k``/``-m`` selection, cheaply (a ``stat`` per path): each
problem is one line of one usage error, and no item fails for it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path

from ..datasets import LoadContext, reads_files
from ..suite.resources import resolve_resource
from ..suite.settings import ReportSettings, RunSettings
from ..suite.spec import MethodSpec, Suite


def checkpoint_path(suite: Suite, run: RunSettings, checkpoint: str) -> Path:
    """Where a checkpoint is: a package resource, absolute, or under the checkpoint dir (DATA_ROOT/checkpoints)."""
    base = run.checkpoint_dir
    if base is None:
        base = run.data_root / "checkpoints" if run.data_root else suite.path.parent
    return resolve_resource(checkpoint, base)


def missing_extras(report: ReportSettings) -> list[str]:
    """Optional dependencies the run's flags need but the environment lacks."""
    if report.plots is not None and importlib.util.find_spec("matplotlib") is None:
        return ["--ssl-plots needs matplotlib, which is not installed: pip install pytest-ssllottery[plots]"]
    return []


def _needed_datasets(suite: Suite, methods: Iterable[MethodSpec], datasets: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(datasets))
    if any(m.probe.kind == "linear" for m in methods) and suite.train not in names:
        names.append(suite.train)
    return names


def missing_inputs(suite: Suite, run: RunSettings, methods: Iterable[str], datasets: Iterable[str]) -> list[str]:
    """Problems that every selected item of ``methods`` x ``datasets`` would hit, one line each."""
    chosen = [suite.method(name) for name in dict.fromkeys(methods)]
    context = LoadContext(suite.num_classes, run.data_root, run.cache_dir, suite.path.parent, run.dataset_paths)
    problems: list[str] = []
    rootless: list[str] = []
    for name in _needed_datasets(suite, chosen, datasets):
        spec = suite.dataset(name)
        if not reads_files(spec.loader):
            continue
        path = context.resolved(spec.name, spec.location)
        if path is None:
            rootless.append(f"{spec.name} ({spec.location})")
        elif not path.exists():
            problems.append(f"dataset {spec.name!r}: nothing at {path} (see docs/imagenet.md for the layout)")
    if rootless:
        problems.insert(
            0,
            f"suite {suite.name!r} reads its datasets under a data root, and none was given: pass "
            f"--ssl-data-root=/path/to/data (or --ssl-dataset-path NAME=PATH) for {', '.join(rootless)}",
        )
    for method in chosen:
        files = [method.checkpoint] + ([method.head_checkpoint] if method.probe.kind == "official-head" else [])
        for file in files:
            path = checkpoint_path(suite, run, file or "")
            if not path.is_file():
                where = f"; download it from {method.source_url}" if method.source_url else ""
                problems.append(f"method {method.name!r}: checkpoint {path} does not exist{where}")
    return problems


def preflight_message(problems: list[str], checkpoint_dir_hint: bool) -> str:
    """One usage error for all problems."""
    lines = [f"{len(problems)} input(s) of the selected items are missing; no item was run:", *problems]
    if checkpoint_dir_hint:
        lines.append("Checkpoints are looked up under --ssl-checkpoint-dir (default DATA_ROOT/checkpoints).")
    return "\n  ".join(lines)
