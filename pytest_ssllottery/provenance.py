"""Where and when a result was produced: package versions, machine, device, date, commit. One shape everywhere.

Baseline entries, the JSON report and the throughput items all record this same mapping, so a reviewer
reads the same keys wherever a number came from.
"""

from __future__ import annotations

import datetime
import platform
import subprocess
from pathlib import Path
from typing import Any

from . import __version__


def versions() -> dict[str, str]:
    """The package, Python and (when imported) torch and numpy versions."""
    found = {"pytest_ssllottery": __version__, "python": platform.python_version()}
    for module in ("torch", "numpy"):
        try:
            found[module] = str(__import__(module).__version__)
        except ImportError:  # pragma: no cover - both are dependencies
            continue
    return found


def machine() -> dict[str, str]:
    """The machine, as pytest-benchmark's ``machine_info`` names it."""
    return {
        "node": platform.node(),
        "processor": platform.processor() or platform.machine(),
        "machine": platform.machine(),
        "system": platform.system(),
        "release": platform.release(),
    }


def commit(cwd: Path | None = None) -> dict[str, Any]:
    """The git commit of ``cwd`` (id, branch, dirty), as pytest-benchmark's ``commit_info`` names it; {} outside git."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True)
        return done.stdout.strip()

    try:
        return {
            "id": git("rev-parse", "HEAD"),
            "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        }
    except (OSError, subprocess.SubprocessError):
        return {}


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_context(device: str | None = None, cwd: Path | None = None) -> dict[str, Any]:
    """Everything above, for one run: versions, machine, device, date and commit."""
    return {
        "versions": versions(),
        "machine": machine(),
        "device": device,
        "date": now(),
        "commit": commit(cwd),
    }
