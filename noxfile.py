"""Developer sessions: tests, lint (ruff), types (mypy), shapes (the embedded benchmark), benchmarks (speed)."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "types", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (what `.ci/run` runs)."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: style, imports, docstrings."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "pytest_ssllottery", "tests", "benchmarks", "conftest.py", "noxfile.py")
    session.run("ruff", "format", "--check", "pytest_ssllottery", "tests", "benchmarks", "conftest.py", "noxfile.py")


@nox.session
def types(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[dev]")
    session.run("mypy", "pytest_ssllottery")


@nox.session
def shapes(session: nox.Session) -> None:
    """The main job on the embedded benchmark: `pytest --ssl-suite=shapes`."""
    session.install("-e", ".")
    session.run("python", "-m", "pytest", "--ssl-suite=shapes", *session.posargs)


@nox.session
def benchmarks(session: nox.Session) -> None:
    """The project's speed figures as pytest-benchmark suites (saved under .benchmarks/ for `compare`)."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "pytest", "benchmarks/", "--benchmark-only", "--benchmark-autosave", *session.posargs)
