"""Layering: the pure core never imports pytest, and importing the plugin stays light."""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest_ssllottery

PACKAGE = Path(pytest_ssllottery.__file__).parent
PYTEST_LAYER = {"plugin"}  # the only subpackage that may import pytest


def core_modules() -> list[str]:
    """Every module of the package (namespace subpackages included) outside the pytest layer."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if (len(parts) > 1 and parts[1] in PYTEST_LAYER) or parts[-1] == "__main__":
            continue
        names.append(".".join(parts))
    return names


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300, check=False
    )


def test_core_module_list_covers_the_core() -> None:
    names = core_modules()
    for expected in (
        "pytest_ssllottery.gate.judge",
        "pytest_ssllottery.stats.multiple",
        "pytest_ssllottery.datasets.base",
    ):
        assert expected in names
    assert not any(name.split(".")[1] in PYTEST_LAYER for name in names if "." in name)


NO_PYTEST = """
import sys

class NoPytest:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pytest", "_pytest"):
            raise ImportError(f"the pure core must not import {name}")
        return None

sys.meta_path.insert(0, NoPytest())
"""

IMPORT_CHECK = (
    NO_PYTEST
    + f"""
import importlib, json

failures = {{}}
for name in {core_modules()!r}:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failures[name] = repr(exc)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("pytest", "_pytest"))
print(json.dumps({{"failures": failures, "leaked": leaked}}))
"""
)


def start_import_check() -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", IMPORT_CHECK], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    atexit.register(stop, process)
    return process


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.communicate()


# Importing every module (torch, torchvision, scipy, ...) takes about ten seconds on a busy 2-core machine:
# start it when this module is collected, so it overlaps with the other tests. Under pytest-xdist every
# worker collects this module, so there it starts only when the test runs.
BACKGROUND = None if "PYTEST_XDIST_WORKER" in os.environ else start_import_check()


def test_every_core_module_imports_without_pytest() -> None:
    process = BACKGROUND if BACKGROUND is not None and BACKGROUND.returncode is None else start_import_check()
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    report = json.loads(stdout.splitlines()[-1])
    assert report == {"failures": {}, "leaked": []}


def test_the_blocking_finder_would_catch_a_pytest_import() -> None:
    result = run_python(NO_PYTEST + "import pytest_ssllottery.plugin.hooks.options\n")
    assert result.returncode != 0
    assert "the pure core must not import pytest" in result.stderr


def test_importing_the_plugin_imports_neither_torch_nor_scipy() -> None:
    result = run_python(
        """
        import json, sys
        import pytest_ssllottery.plugin.hooks
        heavy = ("torch", "torchvision", "scipy", "timm")
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
        """
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []
