"""Finding suites by name or path, and resources referenced from suite files."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

from pytest_ssllottery.errors import SpecError, SuiteNotFoundError
from pytest_ssllottery.suite.resources import available_suites, bundled_suites_dir, resolve_resource, resolve_suite

REPO = Path(__file__).resolve().parents[3]


def test_bundled_suite_resolves_by_name() -> None:
    path = resolve_suite("shapes")
    assert path.name == "shapes.toml"
    assert path.read_bytes() == (REPO / "suites" / "shapes.toml").read_bytes()


def test_bundled_suites_dir_holds_the_bundled_suites() -> None:
    assert (bundled_suites_dir() / "shapes.toml").is_file()
    assert available_suites()["shapes"] == bundled_suites_dir() / "shapes.toml"


def test_suite_resolves_by_absolute_path(tmp_path: Path) -> None:
    suite = tmp_path / "mine.toml"
    suite.write_text("")
    assert resolve_suite(str(suite)) == suite.resolve()


def test_relative_suite_path_is_resolved_against_cwd(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    suite = tmp_path / "sub" / "mine.toml"
    suite.write_text("")
    assert resolve_suite("sub/mine.toml", cwd=tmp_path) == suite.resolve()
    assert resolve_suite("mine.toml", cwd=tmp_path / "sub") == suite.resolve()


def test_missing_suite_path_raises_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SuiteNotFoundError, match="no such suite file") as info:
        resolve_suite("absent.toml", cwd=tmp_path)
    assert str(tmp_path / "absent.toml") in str(info.value)


def test_suite_resolves_by_name_from_an_extra_dir(tmp_path: Path) -> None:
    (tmp_path / "custom.toml").write_text("")
    assert resolve_suite("custom", extra_dirs=[tmp_path]) == tmp_path / "custom.toml"


def test_extra_dir_shadows_a_bundled_suite_of_the_same_name(tmp_path: Path) -> None:
    (tmp_path / "shapes.toml").write_text("# mine")
    assert resolve_suite("shapes", extra_dirs=[tmp_path]) == tmp_path / "shapes.toml"
    assert available_suites([tmp_path])["shapes"] == tmp_path / "shapes.toml"


def test_earlier_extra_dir_shadows_a_later_one(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        (folder / "same.toml").write_text("")
    assert resolve_suite("same", extra_dirs=[first, second]) == first / "same.toml"


def test_missing_extra_dir_is_ignored(tmp_path: Path) -> None:
    assert resolve_suite("shapes", extra_dirs=[tmp_path / "nowhere"]).name == "shapes.toml"


def test_unknown_suite_name_lists_available_suites_and_searched_folders(tmp_path: Path) -> None:
    (tmp_path / "custom.toml").write_text("")
    with pytest.raises(SuiteNotFoundError) as info:
        resolve_suite("nope", extra_dirs=[tmp_path])
    message = str(info.value)
    assert "--ssl-suite=nope: unknown suite" in message
    listed = message.split("Available suites: ")[1].split(" (searched")[0].split(", ")
    assert "custom" in listed
    assert "shapes" in listed
    assert listed == sorted(listed)
    assert str(tmp_path) in message
    assert str(bundled_suites_dir()) in message
    assert "ssl_suite_dirs" in message


def test_package_resource_resolves_inside_the_installed_package() -> None:
    path = resolve_resource("package:pytest_ssllottery.stats/multiple.py", Path("/unused"))
    expected = Path(str(importlib.resources.files("pytest_ssllottery.stats"))) / "multiple.py"
    assert path == expected
    assert path.is_file()


def test_package_resource_of_an_uninstalled_package_raises_spec_error() -> None:
    with pytest.raises(SpecError, match="package 'no_such_package_xyz' is not installed"):
        resolve_resource("package:no_such_package_xyz/file.pth", Path("/unused"))


def test_relative_resource_is_resolved_against_the_base(tmp_path: Path) -> None:
    assert resolve_resource("ckpt/a.pth", tmp_path) == tmp_path / "ckpt" / "a.pth"


def test_absolute_resource_ignores_the_base(tmp_path: Path) -> None:
    assert resolve_resource(str(tmp_path / "a.pth"), Path("/elsewhere")) == tmp_path / "a.pth"


def test_home_relative_resource_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_resource("~/a.pth", Path("/elsewhere")) == tmp_path / "a.pth"
