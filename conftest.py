"""Shared test configuration: pytester, the tests' helper modules on sys.path, and fabricated suites.

This file is only for the project's own test suite; users need no conftest (the plugin is an entry point).
"""

from __future__ import annotations

import sys
from pathlib import Path

pytest_plugins = ["pytester"]

TESTS = Path(__file__).parent / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import _pytest.pytester  # noqa: E402
import pytest  # noqa: E402

# pytester's in-process runs restore sys.modules afterwards, dropping modules first imported during the run;
# extension modules (numpy, torch and the submodules torch imports lazily) cannot be imported twice in one
# process. Keep those across runs; the project's own modules are reloaded as usual.
_KEEP = ("torch", "torchvision", "numpy", "scipy", "PIL", "timm", "rich", "filelock", "sympy", "functorch")


class _KeepExtensionModules(_pytest.pytester.SysModulesSnapshot):
    def __init__(self, preserve=None):  # type: ignore[no-untyped-def]
        def keep(name: str) -> bool:
            return name.split(".")[0] in _KEEP or bool(preserve and preserve(name))

        super().__init__(preserve=keep)


_pytest.pytester.SysModulesSnapshot = _KeepExtensionModules  # type: ignore[misc]


@pytest.fixture
def tiny(pytester: pytest.Pytester) -> Path:
    """A fabricated two-method suite (npz data, MoCo- and DINO-layout checkpoints) in the pytester dir."""
    from fabricate import tiny_suite

    return tiny_suite(pytester.path)


@pytest.fixture
def run_tiny(pytester: pytest.Pytester, tiny: Path):  # type: ignore[no-untyped-def]
    """Run pytest in-process on the tiny suite with extra arguments."""

    def run(*args: str, subprocess: bool = False) -> pytest.RunResult:
        base = ("--ssl-suite", str(tiny), "--ssl-data-root", "data", "-p", "no:cacheprovider", *args)
        if subprocess:
            return pytester.runpytest_subprocess(*base)
        return pytester.runpytest(*base)

    return run
