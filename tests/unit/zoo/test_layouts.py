"""Every objective's checkpoint, in its official layout, loads through the generic loader unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pytest_ssllottery.checkpoints.archs import ShapesResNet
from pytest_ssllottery.checkpoints.backbone import load_backbone, load_classifier
from pytest_ssllottery.checkpoints.layouts import structural_rename
from pytest_ssllottery.shapes.constants import ARCH
from pytest_ssllottery.shapes.zoo import ALL_CHECKPOINTS, ZOO_MEMBERS, checkpoint_path
from pytest_ssllottery.shapes.zoo.fingerprint import features, probe_batch
from pytest_ssllottery.shapes.zoo.layouts import LAYOUTS, to_separius
from pytest_ssllottery.shapes.zoo.objectives import Objective, SaveInfo
from pytest_ssllottery.shapes.zoo.recipes import recipe_for

# Where the loader must find each member's backbone: (container, rename, prefix).
EXPECTED_FIT = {
    "filter": ("", None, ""),
    "supervised": ("", None, ""),
    "random": ("", None, ""),
    "simclr": ("resnet", "SimCLR-v2 Separius", ""),
    "moco_v2": ("state_dict", None, "module.encoder_q."),
    "byol": ("", None, ""),
    "simsiam": ("state_dict", None, "module.encoder."),
    "barlow_twins": ("", None, ""),
    "vicreg": ("", None, ""),
    "swav": ("", None, "module."),
    "dino": ("teacher", None, "module.backbone."),
}


def _built(name: str) -> Objective:
    torch.manual_seed(0)
    objective = recipe_for(name, "tiny").objective.build()
    with torch.no_grad():  # distinct momentum copies, so that picking the wrong encoder would show
        for param in objective.parameters():
            param.add_(0.01 * torch.randn_like(param))
    return objective.eval()


@pytest.mark.parametrize("name", ALL_CHECKPOINTS)
def test_checkpoint_loads_through_generic_loader(name: str, tmp_path: Path) -> None:
    objective = _built(name)
    path = checkpoint_path(name, tmp_path)
    torch.save(objective.checkpoint(SaveInfo(epoch=3)), path)
    loaded = load_backbone(path, ARCH)
    assert (loaded.report.container, loaded.report.rename, loaded.report.prefix) == EXPECTED_FIT[name]
    with torch.no_grad():
        ours = features(objective.feature_model())
        theirs = loaded.model(probe_batch()).numpy()
    assert ours == pytest.approx(theirs, abs=1e-6)
    assert objective.layout in LAYOUTS


def test_memberships() -> None:
    assert ALL_CHECKPOINTS[0] == "filter"
    assert set(ZOO_MEMBERS) == set(ALL_CHECKPOINTS[1:])
    with pytest.raises(ValueError, match="unknown zoo checkpoint"):
        checkpoint_path("nope")


def test_moco_layout_keys() -> None:
    state = _built("moco_v2").checkpoint(SaveInfo(epoch=1))
    assert set(state) == {"epoch", "arch", "state_dict"}
    keys = state["state_dict"]
    assert {"module.encoder_q.fc.0.weight", "module.encoder_q.fc.2.weight", "module.queue", "module.queue_ptr"} <= set(
        keys
    )
    assert any(k.startswith("module.encoder_k.layer3.") for k in keys)


def test_simsiam_layout_keys() -> None:
    keys = _built("simsiam").checkpoint(SaveInfo(epoch=1))["state_dict"]
    assert {"module.encoder.fc.0.weight", "module.encoder.fc.6.weight", "module.encoder.fc.7.running_var"} <= set(keys)
    assert {"module.predictor.0.weight", "module.predictor.3.bias"} <= set(keys)


def test_byol_layout_has_classifier_and_no_batch_counters(tmp_path: Path) -> None:
    objective = _built("byol")
    state = objective.checkpoint(SaveInfo(epoch=1))
    assert "fc.weight" in state
    assert not any(k.endswith("num_batches_tracked") for k in state)
    path = tmp_path / "byol.pth"
    torch.save(state, path)
    model, _ = load_classifier(path, ARCH, keep_head=True)
    with torch.no_grad():
        logits = model(probe_batch())
        expected = objective.classifier(objective.online(probe_batch()))  # type: ignore[operator]
    assert torch.allclose(logits, expected, atol=1e-6)


def test_simclr_separius_keys_round_trip_through_loader_rename() -> None:
    tv_keys = list(ShapesResNet().state_dict())
    separius = {to_separius(k): torch.zeros(1) for k in tv_keys}
    assert "net.0.0.weight" in separius
    assert "net.0.1.0.running_mean" in separius
    assert "net.2.blocks.0.projection.shortcut.weight" in separius
    assert "net.3.blocks.0.net.3.0.weight" in separius
    renamed, rename = structural_rename(separius)
    assert rename == "SimCLR-v2 Separius"
    assert sorted(renamed) == sorted(tv_keys)
    head_keys = set(_built("simclr").checkpoint(SaveInfo(epoch=1))["head"])
    assert {"layers.0.weight", "layers.7.running_mean"} <= head_keys


def test_dino_layout_is_full_checkpoint_with_legacy_weight_norm() -> None:
    dino = _built("dino")
    checkpoint = dino.checkpoint(SaveInfo(epoch=2))
    assert set(checkpoint) == {"student", "teacher", "epoch", "args", "dino_loss"}
    assert set(checkpoint["dino_loss"]) == {"center"}
    assert checkpoint["args"].arch == ARCH
    assert checkpoint["args"].local_crops_number == dino.config.num_local  # the recipe's, as main_dino.py saves it
    for part in ("student", "teacher"):
        keys = set(checkpoint[part])
        assert {
            "module.head.mlp.0.weight",
            "module.head.last_layer.weight_g",
            "module.head.last_layer.weight_v",
        } <= keys
        assert "module.backbone.conv1.weight" in keys
        assert not any("fc." in k for k in keys)


def test_swav_layout_keys() -> None:
    keys = set(_built("swav").checkpoint(SaveInfo(epoch=1)))
    assert {"module.conv1.weight", "module.projection_head.0.weight", "module.prototypes.weight"} <= keys
    assert not any(k.startswith("module.fc.") for k in keys)


@pytest.mark.parametrize("name", ["barlow_twins", "vicreg"])
def test_flat_layouts_without_fc(name: str) -> None:
    keys = set(_built(name).checkpoint(SaveInfo(epoch=1)))
    assert keys == {k for k in ShapesResNet().state_dict() if not k.startswith("fc.")}
