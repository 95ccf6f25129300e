"""Finding bundled suites, bundled baselines and package resources on disk."""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable
from pathlib import Path

from ..errors import SpecError, SuiteNotFoundError

PACKAGE_SCHEME = "package:"


def _bundled_root() -> Path:
    """``_bundled`` inside an installed wheel, or the repository root of a source checkout."""
    package = Path(str(importlib.resources.files("pytest_ssllottery")))
    installed = package / "_bundled"
    if installed.is_dir():
        return installed
    return package.resolve().parent


def bundled_suites_dir() -> Path:
    """Folder holding the bundled suite TOML files."""
    return _bundled_root() / "suites"


def bundled_baselines_dir() -> Path:
    """Folder holding the baselines committed for the bundled suites."""
    return _bundled_root() / "baselines"


def available_suites(extra_dirs: Iterable[Path] = ()) -> dict[str, Path]:
    """Suite name -> file, from ``extra_dirs`` first (they shadow bundled suites), then bundled ones."""
    found: dict[str, Path] = {}
    for folder in [*extra_dirs, bundled_suites_dir()]:
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found.setdefault(path.stem, path)
    return found


def resolve_suite(value: str, extra_dirs: Iterable[Path] = (), cwd: Path | None = None) -> Path:
    """The suite file for ``--ssl-suite``: an existing TOML path, or a name in the suite folders.

    Raises:
        SuiteNotFoundError: neither; the message lists the available suite names.
    """
    extra = list(extra_dirs)
    candidate = Path(value).expanduser()
    if not candidate.is_absolute() and cwd is not None:
        candidate = cwd / candidate
    if value.endswith(".toml") or "/" in value or "\\" in value:
        if candidate.is_file():
            return candidate.resolve()
        raise SuiteNotFoundError(f"--ssl-suite={value}: no such suite file {candidate}")
    suites = available_suites(extra)
    if value in suites:
        return suites[value]
    names = ", ".join(sorted(suites)) or "(none)"
    folders = ", ".join(str(p) for p in [*extra, bundled_suites_dir()])
    raise SuiteNotFoundError(
        f"--ssl-suite={value}: unknown suite. Available suites: {names} (searched {folders}). "
        "Pass a bundled name, a path to a suite .toml file, or add a folder with the `ssl_suite_dirs` ini key."
    )


def resolve_resource(reference: str, base: Path) -> Path:
    """A path from a suite: ``package:<module>/<file>`` inside an installed package, or relative to ``base``."""
    if reference.startswith(PACKAGE_SCHEME):
        module, _, relative = reference.removeprefix(PACKAGE_SCHEME).partition("/")
        try:
            root = Path(str(importlib.resources.files(module)))
        except ModuleNotFoundError as exc:
            raise SpecError(f"resource {reference!r}: package {module!r} is not installed") from exc
        return root / relative
    path = Path(reference).expanduser()
    return path if path.is_absolute() else base / path
