"""Where and when a result was produced: package versions, machine, device, date, commit. One shape everywhere.

The JSON report's ``context`` and every baseline entry's ``provenance`` carry the same ``machine`` and
``commit`` mappings, with the field names pytest-benchmark uses in its ``machine_info`` and ``commit_info``.
Under pytest with pytest-benchmark installed, the values come from its hooks
(``pytest_benchmark_generate_machine_info`` and ``pytest_benchmark_generate_commit_info``, so a
conftest that overrides them changes ours too); otherwise :func:`machine` and :func:`commit` compute the
same fields. :func:`machine_shape` and :func:`commit_shape` cut either source down to the one shape.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import __version__

MACHINE_FIELDS = (
    "node",
    "processor",
    "machine",
    "system",
    "release",
    "python_implementation",
    "python_version",
    "python_compiler",
    "cpu",
    "cpu_count",
)
COMMIT_FIELDS = ("id", "branch", "dirty", "time", "project")

# Machine and commit info of a run, computed when first needed: () -> (machine_info, commit_info).
InfoSource = Callable[[], tuple[Mapping[str, Any], Mapping[str, Any]]]


def versions() -> dict[str, str]:
    """The package, Python and (when imported) torch and numpy versions."""
    found = {"pytest_ssllottery": __version__, "python": platform.python_version()}
    for module in ("torch", "numpy"):
        try:
            found[module] = str(__import__(module).__version__)
        except ImportError:  # pragma: no cover - both are dependencies
            continue
    return found


def _cpu_brand() -> str:
    """The CPU model as the OS names it (``model name`` in /proc/cpuinfo on Linux), else platform's guess."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """This machine, in the shape of :data:`MACHINE_FIELDS` (pytest-benchmark's ``machine_info`` names)."""
    return {
        "node": platform.node(),
        "processor": platform.processor(),
        "machine": platform.machine(),
        "system": platform.system(),
        "release": platform.release(),
        "python_implementation": platform.python_implementation(),
        "python_version": platform.python_version(),
        "python_compiler": platform.python_compiler(),
        "cpu": _cpu_brand(),
        "cpu_count": os.cpu_count(),
    }


def commit(cwd: Path | None = None) -> dict[str, Any]:
    """The git commit of ``cwd`` in the shape of :data:`COMMIT_FIELDS`; {} outside git."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True)
        return done.stdout.strip()

    try:
        return {
            "id": git("rev-parse", "HEAD"),
            "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "time": git("log", "-1", "--format=%cI"),
            "project": Path(git("rev-parse", "--show-toplevel")).name,
        }
    except (OSError, subprocess.SubprocessError):
        return {}


def machine_shape(info: Mapping[str, Any]) -> dict[str, Any]:
    """Any machine info (ours, or pytest-benchmark's with its py-cpuinfo ``cpu`` dict) in the one shape."""
    cpu = info.get("cpu")
    count = info.get("cpu_count")
    if isinstance(cpu, Mapping):
        count = cpu.get("count", count)
        cpu = cpu.get("brand_raw") or cpu.get("brand") or cpu.get("arch_string_raw")
    shaped = {name: info.get(name) for name in MACHINE_FIELDS}
    shaped.update(cpu=cpu, cpu_count=count)
    return shaped


def commit_shape(info: Mapping[str, Any]) -> dict[str, Any]:
    """Any commit info (ours, or pytest-benchmark's) in the one shape; {} when there is no commit."""
    if not info or not info.get("id") or info.get("id") == "unversioned":  # pytest-benchmark's word for no git
        return {}
    return {name: info.get(name) for name in COMMIT_FIELDS}


def local_info(cwd: Path | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Machine and commit info computed here (no pytest-benchmark)."""
    return machine(), commit(cwd)


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_context(device: str | None = None, source: InfoSource | None = None) -> dict[str, Any]:
    """Versions, machine, device, date and commit of one run; machine and commit from ``source`` when given."""
    machine_info, commit_info = (source or local_info)()
    return {
        "versions": versions(),
        "machine": machine_shape(machine_info),
        "device": device,
        "date": now(),
        "commit": commit_shape(commit_info),
    }
