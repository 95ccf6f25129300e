"""Every official SSL checkpoint layout loads into torchvision's ResNet-50 through the engine's loader."""

from __future__ import annotations

import hashlib
import sys
import types
import zipfile
from pathlib import Path

import pytest
import torch
from fabricate_imagenet import LAYOUTS, backbone_state, official_checkpoint, save_checkpoint

from pytest_ssllottery.checkpoints.archs import get_architecture
from pytest_ssllottery.checkpoints.backbone import load_backbone
from pytest_ssllottery.checkpoints.io import read_checkpoint
from pytest_ssllottery.checkpoints.layouts import fit_state_dict
from pytest_ssllottery.errors import CheckpointError


def backbone_only(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}


@pytest.fixture(scope="module")
def resnet50_state() -> dict[str, torch.Tensor]:
    return backbone_state(11, "resnet50")


@pytest.fixture(scope="module")
def resnet50_target() -> dict[str, torch.Tensor]:
    return get_architecture("resnet50").build().state_dict()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layout_fits_resnet50(layout: str, resnet50_state: dict, resnet50_target: dict) -> None:
    """In memory, with the real ResNet-50 shapes: the intended tensors, never the momentum/student copies."""
    fitted, report = fit_state_dict(official_checkpoint(resnet50_state, layout), resnet50_target, ("fc.",))
    expected = backbone_only(resnet50_state)
    assert set(expected) <= set(fitted)
    assert all(torch.equal(fitted[k], v) for k, v in expected.items()), report.describe()
    assert not any(k.startswith("fc.") for k in fitted)  # OBoW's 8192-way fc, heads and classifiers are dropped
    assert all(tuple(fitted[k].shape) == tuple(resnet50_target[k].shape) for k in fitted)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layout_loads_through_load_backbone(tmp_path: Path, layout: str) -> None:
    """Through torch.save / weights_only torch.load / load_backbone, with a small torchvision-keyed ResNet."""
    state = backbone_state(3, "shapes_resnet")
    path = save_checkpoint(tmp_path / f"{layout}.pth", state, layout)
    loaded = load_backbone(path, "shapes_resnet")
    model_state = loaded.model.state_dict()
    for key, value in backbone_only(state).items():
        assert torch.equal(model_state[key], value), key
    assert loaded.feature_dim == 64
    assert loaded.model(torch.zeros(2, 3, 16, 16)).shape == (2, 64)


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["obow", "simclr-v2-separius", "moco-v3"])
def test_resnet50_specific_layouts_through_load_backbone(tmp_path: Path, layout: str, resnet50_state: dict) -> None:
    path = save_checkpoint(tmp_path / "ckpt.pth.tar", resnet50_state, layout)
    loaded = load_backbone(path, "resnet50")
    model_state = loaded.model.state_dict()
    assert all(torch.equal(model_state[k], v) for k, v in backbone_only(resnet50_state).items())
    assert loaded.feature_dim == 2048


def test_momentum_and_student_copies_are_never_chosen(resnet50_state: dict, resnet50_target: dict) -> None:
    for layout, marker in [("moco", "encoder_q"), ("moco-v3", "base_encoder"), ("dino-full", "teacher")]:
        obj = official_checkpoint(resnet50_state, layout)
        _, report = fit_state_dict(obj, resnet50_target, ("fc.",))
        assert marker in report.prefix or marker in report.container
    # a key encoder listed first still loses against the query encoder
    obj = official_checkpoint(resnet50_state, "moco")
    obj["state_dict"] = dict(sorted(obj["state_dict"].items(), key=lambda item: "encoder_k" not in item[0]))
    fitted, report = fit_state_dict(obj, resnet50_target, ("fc.",))
    assert report.prefix == "module.encoder_q."
    assert torch.equal(fitted["conv1.weight"], resnet50_state["conv1.weight"])


def test_a_garbage_dict_is_rejected_with_the_missing_keys(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pth"
    torch.save({"state_dict": {"encoder.weight": torch.zeros(3)}}, path)
    with pytest.raises(CheckpointError) as info:
        load_backbone(path, "shapes_resnet")
    message = str(info.value)
    assert str(path) in message
    assert "conv1.weight (absent)" in message
    assert "matches 0 of 45 backbone tensors" in message
    assert "['encoder.weight']" in message


@pytest.mark.parametrize(
    ("name", "converter"),
    [
        ("pretrain_res50x1.pkl", "chigur/byol-convert"),
        ("model.ckpt-250228.index", "Separius/SimCLRv2-Pytorch"),
        ("model.ckpt-225206.data-00000-of-00001", "tonylins/simclr-converter"),
    ],
)
def test_tf_and_jax_originals_name_their_converter(tmp_path: Path, name: str, converter: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x80\x04not torch")
    with pytest.raises(CheckpointError, match=converter):
        read_checkpoint(path)


def test_tf_folder_and_zip_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "r50_1x_sk0"
    folder.mkdir()
    with pytest.raises(CheckpointError, match="TensorFlow checkpoint"):
        read_checkpoint(folder)
    archive = tmp_path / "ResNet50_1x.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("ResNet50_1x/model.ckpt-225206.index", b"")
    with pytest.raises(CheckpointError, match="zip of a TensorFlow checkpoint"):
        read_checkpoint(archive)


class Optimizer:
    """A stand-in for a pickled training object (not a harmless global)."""

    def __init__(self) -> None:
        self.lr = 0.1


def test_untrusted_pickles_need_the_trust_flag(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.pth"
    torch.save({"state_dict": backbone_state(1, "shapes_resnet"), "optimizer": Optimizer()}, path)
    with pytest.raises(CheckpointError, match=r"weights_only loading refuses .*--ssl-trust-checkpoints"):
        read_checkpoint(path)
    assert isinstance(read_checkpoint(path, trust=True)["optimizer"], Optimizer)
    assert load_backbone(path, "shapes_resnet", trust=True).feature_dim == 64


def test_trusted_pickle_with_missing_training_code_is_a_checkpoint_error(tmp_path: Path) -> None:
    """VICReg's full checkpoint pickles a function of its training script's __main__."""
    module = types.ModuleType("vicreg_main_script")

    def exclude_bias_and_norm(p: torch.Tensor) -> bool:
        return p.ndim == 1

    exclude_bias_and_norm.__module__ = module.__name__
    exclude_bias_and_norm.__qualname__ = "exclude_bias_and_norm"
    module.exclude_bias_and_norm = exclude_bias_and_norm  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    path = tmp_path / "resnet50_fullckpt.pth"
    try:
        groups = [{"params": [0], "lars_adaptation_filter": exclude_bias_and_norm}]
        torch.save({"model": {}, "optimizer": {"param_groups": groups}}, path)
    finally:
        del sys.modules[module.__name__]
    with pytest.raises(CheckpointError, match="--ssl-trust-checkpoints"):
        read_checkpoint(path)
    with pytest.raises(CheckpointError, match=r"pickles code that is not importable here .*backbone-only file"):
        read_checkpoint(path, trust=True)


def test_sha256_is_checked_before_loading(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "resnet50.pth", backbone_state(2, "shapes_resnet"), "torchvision")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_backbone(path, "shapes_resnet", sha256=digest.upper()).feature_dim == 64
    with pytest.raises(CheckpointError, match=f"sha256 is {digest}, the suite expects 0000"):
        load_backbone(path, "shapes_resnet", sha256="0" * 64)
