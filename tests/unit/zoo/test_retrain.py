"""The retrain command at tiny scale: every checkpoint it writes loads back to the model it trained."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pytest_ssllottery.backbones import load_backbone
from pytest_ssllottery.checkpoint_io import sha256_of
from pytest_ssllottery.shapes.constants import ARCH, MEAN, STD
from pytest_ssllottery.shapes.zoo import ALL_CHECKPOINTS, FINGERPRINTS_NAME, MANIFEST_NAME, checkpoint_path
from pytest_ssllottery.shapes.zoo.__main__ import main, parse_args
from pytest_ssllottery.shapes.zoo.fingerprint import features, probe_batch, read_fingerprints
from pytest_ssllottery.shapes.zoo.retrain import RetrainOptions, retrain
from pytest_ssllottery.shapes.zoo.train import TrainedMember


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shapes-cache")


@pytest.fixture(scope="module")
def tiny_zoo(
    tmp_path_factory: pytest.TempPathFactory, cache_dir: Path
) -> tuple[Path, dict[str, TrainedMember], list[str]]:
    out = tmp_path_factory.mktemp("zoo")
    lines: list[str] = []
    trained = retrain(RetrainOptions(out=out, scale="tiny", threads=1, cache_dir=cache_dir), log=lines.append)
    return out, trained, lines


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL_CHECKPOINTS)
def test_written_checkpoint_loads_to_the_trained_model(
    tiny_zoo: tuple[Path, dict[str, TrainedMember], list[str]], name: str
) -> None:
    out, trained, _ = tiny_zoo
    loaded = load_backbone(checkpoint_path(name, out), ARCH)
    expected = features(trained[name].objective.feature_model())
    assert loaded.model(probe_batch()).numpy() == pytest.approx(expected, abs=1e-6)
    assert read_fingerprints(out / FINGERPRINTS_NAME)[name] == pytest.approx(expected, abs=1e-6)


@pytest.mark.slow
def test_filter_is_trained_first_and_members_train(tiny_zoo: tuple[Path, dict[str, TrainedMember], list[str]]) -> None:
    _, trained, lines = tiny_zoo
    assert list(trained) == list(ALL_CHECKPOINTS)
    assert lines[1].startswith("filter:")
    assert trained["random"].steps == 0
    assert all(member.steps == 3 for name, member in trained.items() if name != "random")
    assert all(np.isfinite(member.epoch_losses).all() for member in trained.values())


@pytest.mark.slow
def test_manifest_records_provenance(tiny_zoo: tuple[Path, dict[str, TrainedMember], list[str]]) -> None:
    out, _, _ = tiny_zoo
    text = (out / MANIFEST_NAME).read_text()
    manifest = json.loads(text)
    assert text == json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    assert set(manifest["members"]) == set(ALL_CHECKPOINTS)
    assert manifest["scale"] == "tiny"
    assert manifest["data"]["images"] == 96
    for name, entry in manifest["members"].items():
        assert entry["sha256"] == sha256_of(checkpoint_path(name, out))
        assert entry["preprocessing"] == {"mean": list(MEAN), "std": list(STD)}
        for key in ("layout", "objective", "epochs", "batch_size", "hyperparameters", "seed", "torch_version"):
            assert key in entry
        assert entry["wall_clock_seconds"] >= 0
    assert manifest["members"]["moco_v2"]["hyperparameters"]["queue_size"] == 64
    assert manifest["members"]["filter"]["seed"] != manifest["members"]["supervised"]["seed"]


@pytest.mark.slow
def test_retrain_command_is_deterministic(
    tiny_zoo: tuple[Path, dict[str, TrainedMember], list[str]], cache_dir: Path, tmp_path: Path
) -> None:
    first, _, _ = tiny_zoo
    names = ["moco_v2", "swav", "dino"]
    argv = [
        "--out",
        str(tmp_path),
        "--scale",
        "tiny",
        "--threads",
        "1",
        "--cache-dir",
        str(cache_dir),
        "--only",
        *names,
    ]
    assert main(argv) == 0
    assert sorted(p.name for p in tmp_path.glob("*.pth")) == sorted(f"{n}.pth" for n in names)
    for name in names:
        assert sha256_of(checkpoint_path(name, tmp_path)) == sha256_of(checkpoint_path(name, first))


def test_parse_args_and_unknown_names() -> None:
    options = parse_args(["--scale", "tiny", "--only", "dino", "filter", "--seed", "3"])
    assert options.names() == ["filter", "dino"]
    assert options.seed == 3
    with pytest.raises(SystemExit):
        parse_args(["--only", "mae"])
    with pytest.raises(ValueError, match="unknown zoo member"):
        RetrainOptions(only=("mae",)).names()
