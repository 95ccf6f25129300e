"""Provenance: one shape of machine and commit info, whether pytest-benchmark computed it or the core did."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytest_ssllottery.provenance import (
    COMMIT_FIELDS,
    MACHINE_FIELDS,
    commit,
    commit_shape,
    machine,
    machine_shape,
    run_context,
)


def test_core_machine_info_has_exactly_the_shared_fields() -> None:
    info = machine()
    assert tuple(info) == MACHINE_FIELDS
    assert machine_shape(info) == info
    assert isinstance(info["cpu"], str)
    assert info["cpu"]


def test_pytest_benchmark_machine_info_lands_in_the_same_shape() -> None:
    plugin = pytest.importorskip("pytest_benchmark.plugin")
    theirs = plugin.pytest_benchmark_generate_machine_info()
    shaped = machine_shape(theirs)
    assert tuple(shaped) == MACHINE_FIELDS
    assert shaped["cpu"] == theirs["cpu"].get("brand_raw")
    assert shaped["cpu_count"] == theirs["cpu"].get("count")
    ours = machine()
    for name in ("node", "machine", "system", "release", "python_version", "python_implementation"):
        assert shaped[name] == ours[name], name


def test_commit_info_of_a_repository_and_outside_one(tmp_path: Path) -> None:
    assert commit(tmp_path) == {}
    repo = tmp_path / "project"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True, capture_output=True
        )

    git("init", "-q", "-b", "main")
    (repo / "a.txt").write_text("a")
    git("add", "a.txt")
    git("commit", "-q", "-m", "first")
    info = commit(repo)
    assert tuple(info) == COMMIT_FIELDS
    assert info["branch"] == "main"
    assert info["project"] == "project"
    assert info["dirty"] is False
    (repo / "a.txt").write_text("b")
    assert commit(repo)["dirty"] is True
    theirs = {**info, "author_time": info["time"], "extra": 1}
    assert commit_shape(theirs) == info


def test_run_context_takes_machine_and_commit_from_its_source() -> None:
    context = run_context("cpu", lambda: ({"node": "gpu-7", "cpu": {"brand_raw": "X", "count": 16}}, {"id": "abc"}))
    assert context["machine"]["node"] == "gpu-7"
    assert context["machine"]["cpu"] == "X"
    assert context["machine"]["cpu_count"] == 16
    assert context["commit"] == {"id": "abc", "branch": None, "dirty": None, "time": None, "project": None}
    assert context["device"] == "cpu"
