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

import pytest  # noqa: E402

# pytester's in-process runs restore sys.modules afterwards; modules with C extensions (numpy, torch)
# cannot be imported twice in one process, so import everything the plugin loads up front.
import pytest_ssllottery.finish  # noqa: E402, F401
import pytest_ssllottery.items  # noqa: E402, F401
import pytest_ssllottery.terminal_progress  # noqa: E402, F401


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
