"""Python 3.10 has no tomllib: every TOML reader of the package must fall back to tomli."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_suite_and_flag_values_parse_without_tomllib() -> None:
    script = textwrap.dedent(
        """
        import importlib, sys
        sys.modules["tomli"] = importlib.import_module("tomllib")  # stands in for the backport
        sys.modules["tomllib"] = None  # `import tomllib` now fails, as on Python 3.10
        from pytest_ssllottery.suite.settings import _scalar
        from pytest_ssllottery.suite.resources import resolve_suite
        from pytest_ssllottery.suite.parse import load_suite
        from pathlib import Path
        assert _scalar("1.5") == 1.5 and _scalar("true") is True and _scalar("abc") == "abc"
        print(load_suite(resolve_suite("shapes", [], Path.cwd())).name)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "shapes"
