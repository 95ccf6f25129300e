"""The retrain command at tiny scale: every checkpoint it writes loads back to the model it trained."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pytest_ssllottery.checkpoints.backbone import load_backbone
from pytest_ssllottery.checkpoints.io import sha256_of
from pytest_ssllottery.shapes.constants import ARCH, MEAN, STD
from pytest_ssllottery.shapes.zoo import (
    ALL_CHECKPOINTS,
    FILTER,
    FINGERPRINTS_NAME,
    MANIFEST_NAME,
    ZOO_MEMBERS,
    checkpoint_path,
)
from pytest_ssllottery.shapes.zoo.__main__ import main, parse_args
from pytest_ssllottery.shapes.zoo.fingerprint import probe_batch, read_fingerprints
from pytest_ssllottery.shapes.zoo.retrain import MemberFiles, RetrainOptions, resolve_device, retrain


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shapes-cache")


@pytest.fixture(scope="module")
def tiny_zoo(
    tmp_path_factory: pytest.TempPathFactory, cache_dir: Path
) -> tuple[Path, dict[str, MemberFiles], list[str]]:
    out = tmp_path_factory.mktemp("zoo")
    lines: list[str] = []
    options = RetrainOptions(out=out, scale="tiny", threads=1, cache_dir=cache_dir, only=ALL_CHECKPOINTS)
    trained = retrain(options, log=lines.append)
    return out, trained, lines


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL_CHECKPOINTS)
def test_written_checkpoint_loads_to_the_trained_model(
    tiny_zoo: tuple[Path, dict[str, MemberFiles], list[str]], name: str
) -> None:
    out, trained, _ = tiny_zoo
    loaded = load_backbone(checkpoint_path(name, out), ARCH)
    expected = trained[name].fingerprint  # features of the in-memory model, taken before it was saved
    assert loaded.model(probe_batch()).numpy() == pytest.approx(expected, abs=1e-6)
    assert read_fingerprints(out / FINGERPRINTS_NAME)[name] == pytest.approx(expected, abs=1e-6)


@pytest.mark.slow
def test_every_requested_member_trains(tiny_zoo: tuple[Path, dict[str, MemberFiles], list[str]]) -> None:
    _, trained, lines = tiny_zoo
    assert list(trained) == list(ALL_CHECKPOINTS)
    assert "1 thread(s) per member, 1 at a time" in lines[0]
    assert trained["random"].entry["steps"] == 0
    assert all(files.entry["steps"] == 3 for name, files in trained.items() if name != "random")
    assert all(np.isfinite(files.entry["loss_curve"]).all() for files in trained.values())


def test_the_filter_is_retrained_only_when_named() -> None:
    assert RetrainOptions().names() == list(ZOO_MEMBERS)
    assert FILTER not in RetrainOptions().names()
    assert RetrainOptions(only=("dino", FILTER)).names() == [FILTER, "dino"]


@pytest.mark.slow
def test_manifest_records_provenance(tiny_zoo: tuple[Path, dict[str, MemberFiles], list[str]]) -> None:
    out, _, _ = tiny_zoo
    text = (out / MANIFEST_NAME).read_text()
    manifest = json.loads(text)
    assert text == json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    assert set(manifest["members"]) == set(ALL_CHECKPOINTS)
    assert manifest["scale"] == "tiny"
    assert manifest["data"]["images"] == 96
    for name, entry in manifest["members"].items():
        assert entry["sha256"] == sha256_of(checkpoint_path(name, out))
        assert entry["size_bytes"] == checkpoint_path(name, out).stat().st_size
        assert entry["preprocessing"] == {"mean": list(MEAN), "std": list(STD)}
        for key in ("layout", "objective", "steps", "batch_size", "hyperparameters", "seed", "torch_version"):
            assert key in entry
        assert entry["device"] == "cpu"
        assert entry["threads"] == 1
        assert entry["wall_clock_seconds"] >= 0
    members = manifest["members"]
    assert members["moco_v2"]["hyperparameters"]["queue_size"] == 64
    assert members["filter"]["seed"] != members["supervised"]["seed"]
    dino = members["dino"]
    assert dino["collapse_loss"] == pytest.approx(np.log(dino["hyperparameters"]["out_dim"]), abs=1e-4)
    assert members["random"]["feature_health"] is None
    health = members["simclr"]["feature_health"]
    assert health["dimensions"] == 64
    assert health["normalized_std"] > 0
    assert 1 <= health["effective_rank"] <= 64


@pytest.mark.slow
def test_retrain_command_is_deterministic_whatever_the_number_of_jobs(
    tiny_zoo: tuple[Path, dict[str, MemberFiles], list[str]], cache_dir: Path, tmp_path: Path
) -> None:
    first, _, _ = tiny_zoo
    names = ["moco_v2", "swav", "dino"]
    argv = ["--out", str(tmp_path), "--scale", "tiny", "--threads", "1", "--jobs", "2", "--cache-dir", str(cache_dir)]
    assert main([*argv, "--only", *names]) == 0  # two spawned processes; the fixture trained in-process
    assert sorted(p.name for p in tmp_path.glob("*.pth")) == sorted(f"{n}.pth" for n in names)
    for name in names:
        assert sha256_of(checkpoint_path(name, tmp_path)) == sha256_of(checkpoint_path(name, first))


def test_parse_args_and_unknown_names() -> None:
    options = parse_args(["--scale", "tiny", "--only", "dino", "filter", "--seed", "3", "--jobs", "3"])
    assert options.names() == ["filter", "dino"]
    assert options.seed == 3
    assert options.jobs == 3
    assert parse_args(["--threads", "2"]).threads == 2
    with pytest.raises(SystemExit):
        parse_args(["--only", "mae"])
    with pytest.raises(SystemExit):
        parse_args(["--device", "tpu"])
    with pytest.raises(ValueError, match="unknown zoo member"):
        RetrainOptions(only=("mae",)).names()


def test_device_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(ValueError, match="no CUDA device is visible"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
