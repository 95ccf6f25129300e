"""Checkpoint layouts of the SSL releases fitted to ``shapes_resnet``, and safe checkpoint reading.

Every layout is built from the real model's keys; copies that must not be loaded (momentum encoders,
students) hold different values, so the tests see which copy was taken.
"""

from __future__ import annotations

import argparse
import fractions
import hashlib
import re
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from fabricate import backbone_state

from pytest_ssllottery.checkpoints.archs import get_architecture, strip_classifier
from pytest_ssllottery.checkpoints.backbone import load_backbone, load_classifier
from pytest_ssllottery.checkpoints.io import TRUST_FLAG, read_checkpoint
from pytest_ssllottery.checkpoints.layouts import fit_state_dict
from pytest_ssllottery.errors import CheckpointError

ARCH = "shapes_resnet"


@pytest.fixture(scope="module")
def full() -> dict[str, torch.Tensor]:
    """Backbone and ``fc`` of a seeded model."""
    return backbone_state(11, ARCH)


@pytest.fixture(scope="module")
def backbone(full: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in full.items() if not k.startswith("fc.")}


@pytest.fixture(scope="module")
def decoy(backbone: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Same keys and shapes, different values (a momentum encoder, a student)."""
    return {k: v + 1.0 if v.is_floating_point() else v + 5 for k, v in backbone.items()}


@pytest.fixture(scope="module")
def target() -> dict[str, torch.Tensor]:
    return get_architecture(ARCH).build().state_dict()


def prefixed(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + k: v for k, v in state.items()}


def assert_loaded(fitted: dict[str, torch.Tensor], backbone: dict[str, torch.Tensor]) -> None:
    assert set(fitted) == set(backbone)
    for key, value in backbone.items():
        assert torch.equal(fitted[key], value), key


def fit(obj: object, target: dict[str, torch.Tensor], keep_head: bool = False):
    return fit_state_dict(obj, target, ("fc.",), keep_head=keep_head)


def test_flat_state_dict_loads_as_is(backbone, target) -> None:
    fitted, report = fit(dict(backbone), target)
    assert_loaded(fitted, backbone)
    assert (report.container, report.prefix, report.rename, report.dropped) == ("", "", None, ())


def test_torchvision_state_with_fc_drops_the_head_unless_asked(full, backbone, target) -> None:
    fitted, report = fit(dict(full), target)
    assert_loaded(fitted, backbone)
    assert report.dropped == ("fc.bias", "fc.weight")
    with_head, _ = fit(dict(full), target, keep_head=True)
    assert_loaded(with_head, full)


def test_moco_loads_the_query_encoder_not_the_key_encoder(backbone, decoy, target) -> None:
    state = prefixed(decoy, "module.encoder_k.") | prefixed(backbone, "module.encoder_q.")
    state |= {
        "module.encoder_q.fc.0.weight": torch.randn(128, 64),
        "module.encoder_q.fc.2.weight": torch.randn(32, 128),
        "module.queue": torch.randn(32, 16),
        "module.queue_ptr": torch.zeros(1, dtype=torch.long),
    }
    obj = {"epoch": 200, "arch": "resnet50", "state_dict": state, "optimizer": {"state": {}, "param_groups": []}}
    fitted, report = fit(obj, target)
    assert_loaded(fitted, backbone)
    assert (report.container, report.prefix) == ("state_dict", "module.encoder_q.")
    assert "module.queue" in report.dropped
    assert all(k in report.dropped for k in prefixed(decoy, "module.encoder_k."))


def test_moco_v3_loads_the_base_encoder_not_the_momentum_encoder(backbone, decoy, target) -> None:
    state = prefixed(decoy, "module.momentum_encoder.") | prefixed(backbone, "module.base_encoder.")
    fitted, report = fit({"state_dict": state, "scaler": {}}, target)
    assert_loaded(fitted, backbone)
    assert report.prefix == "module.base_encoder."


def test_dino_full_checkpoint_loads_the_teacher_backbone(backbone, decoy, target) -> None:
    student = prefixed(decoy, "module.backbone.") | {"module.head.last_layer.weight": torch.randn(8, 4)}
    teacher = prefixed(backbone, "module.backbone.") | {"module.head.last_layer.weight": torch.randn(8, 4)}
    obj = {"student": student, "teacher": teacher, "epoch": 100, "args": argparse.Namespace(arch="resnet50")}
    fitted, report = fit(obj, target)
    assert_loaded(fitted, backbone)
    assert (report.container, report.prefix) == ("teacher", "module.backbone.")
    assert report.dropped == ("module.head.last_layer.weight",)


def test_dino_student_alone_is_never_loaded(decoy, target) -> None:
    with pytest.raises(CheckpointError, match="no state dict of tensors found"):
        fit({"student": prefixed(decoy, "module.backbone."), "epoch": 100}, target)


def test_swav_flat_module_prefix_drops_prototypes_and_projection(backbone, target) -> None:
    state = prefixed(backbone, "module.") | {
        "module.prototypes.weight": torch.randn(30, 8),
        "module.projection_head.0.weight": torch.randn(16, 64),
    }
    fitted, report = fit(state, target)
    assert_loaded(fitted, backbone)
    assert report.prefix == "module."
    assert report.dropped == ("module.projection_head.0.weight", "module.prototypes.weight")


def test_simsiam_loads_module_encoder_and_drops_projector_and_predictor(backbone, target) -> None:
    state = prefixed(backbone, "module.encoder.") | {
        "module.encoder.fc.0.weight": torch.randn(64, 64),
        "module.predictor.0.weight": torch.randn(16, 64),
    }
    fitted, report = fit({"epoch": 99, "arch": "resnet50", "state_dict": state}, target)
    assert_loaded(fitted, backbone)
    assert report.prefix == "module.encoder."


def test_barlow_twins_full_checkpoint_loads_model_module_backbone(backbone, target) -> None:
    model = prefixed(backbone, "module.backbone.") | {
        "module.projector.0.weight": torch.randn(32, 64),
        "module.bn.running_mean": torch.zeros(32),
    }
    fitted, report = fit({"epoch": 1000, "model": model, "optimizer": {"state": {}}}, target)
    assert_loaded(fitted, backbone)
    assert (report.container, report.prefix) == ("model", "module.backbone.")


def test_solo_learn_loads_backbone_not_momentum_backbone(backbone, decoy, target) -> None:
    state = prefixed(decoy, "momentum_backbone.") | prefixed(backbone, "backbone.")
    state |= {"projector.0.weight": torch.randn(16, 64), "momentum_projector.0.weight": torch.randn(16, 64)}
    fitted, report = fit({"state_dict": state, "epoch": 100}, target)
    assert_loaded(fitted, backbone)
    assert (report.container, report.prefix) == ("state_dict", "backbone.")


def test_vissl_trunk_feature_blocks_load(backbone, target) -> None:
    trunk = prefixed(backbone, "_feature_blocks.")
    obj = {
        "classy_state_dict": {
            "base_model": {"model": {"trunk": trunk, "heads": {"0.clf.0.weight": torch.randn(10, 64)}}},
        },
        "phase_idx": 3,
    }
    fitted, report = fit(obj, target)
    assert_loaded(fitted, backbone)
    assert (report.container, report.prefix) == ("classy_state_dict.base_model.model.trunk", "_feature_blocks.")


def test_mmselfsup_loads_backbone_and_drops_neck_and_head(backbone, target) -> None:
    state = prefixed(backbone, "backbone.") | {
        "neck.mlp.0.weight": torch.randn(16, 64),
        "head.predictor.0.weight": torch.randn(16, 16),
    }
    fitted, report = fit({"meta": {"epoch": 200}, "state_dict": state}, target)
    assert_loaded(fitted, backbone)
    assert report.prefix == "backbone."
    assert report.dropped == ("head.predictor.0.weight", "neck.mlp.0.weight")


def separius_name(key: str) -> str:
    """torchvision name -> Separius SimCLRv2-Pytorch name."""
    if key.startswith(("conv1.", "bn1.")):
        stem, rest = key.split(".", 1)
        return {"conv1": "net.0.0.", "bn1": "net.0.1.0."}[stem] + rest
    layer, block, rest = re.fullmatch(r"layer(\d)\.(\d+)\.(.*)", key).groups()
    module, tail = rest.split(".", 1)
    if module == "downsample":
        index, tail = tail.split(".", 1)
        part = {"0": "projection.shortcut", "1": "projection.bn.0"}[index]
    else:
        part = {"conv1": "net.0", "bn1": "net.1.0", "conv2": "net.2", "bn2": "net.3.0"}[module]
    return f"net.{layer}.blocks.{block}.{part}.{tail}"


def test_separius_simclr_v2_layout_is_renamed(backbone, target) -> None:
    renamed = {separius_name(k): v for k, v in backbone.items()}
    assert all(k.startswith("net.") for k in renamed)
    obj = {"resnet": renamed, "head": {"layers.0.weight": torch.randn(16, 64)}}
    fitted, report = fit(obj, target)
    assert_loaded(fitted, backbone)
    assert (report.container, report.rename) == ("resnet", "SimCLR-v2 Separius")


def test_obow_native_layout_is_renamed(backbone, target) -> None:
    def obow_name(key: str) -> str:
        if key.startswith("conv1."):
            return "_feature_blocks.0.Conv." + key.removeprefix("conv1.")
        if key.startswith("bn1."):
            return "_feature_blocks.0.bn." + key.removeprefix("bn1.")
        return re.sub(r"^layer(\d)\.", r"_feature_blocks.\1.", key)

    fitted, report = fit({"network": {obow_name(k): v for k, v in backbone.items()}}, target)
    assert_loaded(fitted, backbone)
    assert (report.container, report.rename) == ("network", "OBoW native")


def test_obow_torchvision_format_never_keeps_its_bag_of_words_head(backbone, target) -> None:
    network = dict(backbone) | {"fc.weight": torch.randn(8192, 64), "fc.bias": torch.randn(8192)}
    fitted, _ = fit({"network": network}, target, keep_head=True)
    assert_loaded(fitted, backbone)


def test_state_that_does_not_fit_lists_missing_and_misshaped_keys(backbone, target) -> None:
    broken = dict(backbone)
    del broken["layer2.0.conv1.weight"]
    broken["layer3.0.bn2.weight"] = torch.ones(7)
    with pytest.raises(CheckpointError) as info:
        fit(broken, target)
    message = str(info.value)
    expected_total = sum(1 for k in target if not k.startswith("fc.") and not k.endswith("num_batches_tracked"))
    assert f"matches {expected_total - 2} of {expected_total} backbone tensors" in message
    assert "layer2.0.conv1.weight (absent)" in message
    assert "layer3.0.bn2.weight (shape (7,), expected (64,))" in message
    assert "Check the suite's `arch`" in message


def test_a_resnet18_checkpoint_does_not_fit_shapes_resnet(target) -> None:
    other = {f"module.{k}": torch.zeros(3, 3) for k in ("conv1.weight", "layer1.0.conv1.weight", "fc.weight")}
    with pytest.raises(CheckpointError, match="does not fit the architecture"):
        fit({"state_dict": other}, target)


def test_garbage_object_is_rejected(target) -> None:
    with pytest.raises(CheckpointError, match="no state dict of tensors found; top-level keys are"):
        fit({"epoch": 3, "args": [1, 2]}, target)


def reference_features(backbone: dict[str, torch.Tensor], images: torch.Tensor) -> torch.Tensor:
    model = get_architecture(ARCH).build()
    missing, unexpected = model.load_state_dict(backbone, strict=False)
    assert sorted(missing) == ["fc.bias", "fc.weight"]
    assert not unexpected
    with torch.no_grad():
        return strip_classifier(model).eval()(images)


def test_load_backbone_from_a_moco_file_gives_the_query_encoder_features(tmp_path: Path, backbone, decoy) -> None:
    state = prefixed(decoy, "module.encoder_k.") | prefixed(backbone, "module.encoder_q.")
    path = tmp_path / "moco.pth"
    torch.save({"epoch": 1, "arch": "x", "args": argparse.Namespace(lr=30.0), "state_dict": state}, path)
    loaded = load_backbone(path, ARCH, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    assert loaded.feature_dim == 64
    assert not any(p.requires_grad for p in loaded.model.parameters())
    assert not loaded.model.training
    images = torch.rand(3, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(images), reference_features(backbone, images))


def test_load_classifier_keeps_the_head_when_asked(tmp_path: Path, full) -> None:
    path = tmp_path / "tv.pth"
    torch.save(full, path)
    model, _ = load_classifier(path, ARCH, keep_head=True)
    for key, value in full.items():
        assert torch.equal(model.state_dict()[key], value), key


def test_misfit_error_from_a_file_names_the_file(tmp_path: Path, backbone) -> None:
    path = tmp_path / "partial.pth"
    torch.save({k: v for k, v in backbone.items() if not k.startswith("layer3.")}, path)
    with pytest.raises(CheckpointError, match=re.escape("layer3.0.conv1.weight (absent)")) as info:
        load_backbone(path, ARCH)
    assert str(info.value).startswith(f"{path}: ")


def test_sha256_mismatch_names_both_digests_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "a.pth"
    torch.save({"w": torch.ones(2)}, path)
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path, sha256="0" * 64)
    message = str(info.value)
    assert f"sha256 is {actual}, the suite expects {'0' * 64}" in message
    assert str(path) in message
    assert "update `sha256` in the suite" in message


def test_sha256_match_is_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "a.pth"
    torch.save({"w": torch.ones(2)}, path)
    loaded = read_checkpoint(path, sha256=hashlib.sha256(path.read_bytes()).hexdigest().upper())
    assert torch.equal(loaded["w"], torch.ones(2))


def test_missing_checkpoint_says_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist; download it"):
        read_checkpoint(tmp_path / "absent.pth")


@pytest.mark.parametrize(
    ("name", "converter"),
    [
        ("model.ckpt-225206.index", "tonylins/simclr-converter"),
        ("model.ckpt-225206.data-00000-of-00001", "Separius/SimCLRv2-Pytorch"),
        ("pretrain_res50x1.pkl", "chigur/byol-convert"),
    ],
)
def test_foreign_formats_name_their_converter(tmp_path: Path, name: str, converter: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x00" * 16)
    with pytest.raises(CheckpointError, match=re.escape(converter)) as info:
        read_checkpoint(path)
    assert str(path) in str(info.value)


def test_tensorflow_checkpoint_folder_is_recognised(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="is a TensorFlow checkpoint"):
        read_checkpoint(tmp_path)


def test_zip_of_a_tensorflow_checkpoint_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "ResNet50_1x.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ResNet50_1x/model.ckpt-225206.index", b"x")
    with pytest.raises(CheckpointError, match="zip of a TensorFlow checkpoint"):
        read_checkpoint(path)


@pytest.mark.parametrize(
    "extra",
    [argparse.Namespace(arch="resnet50", lr=0.3, dims=[1, 2]), np.float64(0.75), np.int64(3)],
    ids=["namespace", "float64", "int64"],
)
def test_harmless_globals_load_under_weights_only(tmp_path: Path, extra: object) -> None:
    path = tmp_path / "a.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}, "extra": extra}, path)
    assert read_checkpoint(path)["extra"] == extra


@pytest.mark.parametrize("extra", [np.float32(0.5), np.int32(3), np.bool_(True)], ids=["float32", "int32", "bool"])
def test_other_numpy_scalars_load_under_weights_only(tmp_path: Path, extra: object) -> None:
    path = tmp_path / "a.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}, "best_acc1": extra}, path)
    assert read_checkpoint(path)["best_acc1"] == extra


def test_non_allowlisted_global_is_refused_unless_trusted(tmp_path: Path) -> None:
    path = tmp_path / "a.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}, "ratio": fractions.Fraction(1, 3)}, path)
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    assert "global fractions.Fraction" in str(info.value)
    assert TRUST_FLAG in str(info.value)
    assert read_checkpoint(path, trust=True)["ratio"] == fractions.Fraction(1, 3)


class _Hostile:
    """Pickles to a call of ``os.system``: what a malicious checkpoint carries."""

    def __reduce__(self):  # type: ignore[no-untyped-def]
        import os

        return (os.system, ("touch hostile-pickle-ran",))


def test_hostile_pickle_is_refused_and_the_message_names_the_blocked_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}, "payload": _Hostile()}, path)
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    import os

    assert f"global {os.system.__module__}.system, from a module that can run commands" in str(info.value)
    assert TRUST_FLAG in str(info.value)
    assert not (tmp_path / "hostile-pickle-ran").exists()


def test_trusted_checkpoint_with_unimportable_code_raises_checkpoint_error(tmp_path: Path) -> None:
    module = types.ModuleType("ssl_training_script_xyz")
    exec("class Config:\n    pass\n", module.__dict__)
    module.Config.__module__ = module.__name__
    sys.modules[module.__name__] = module
    try:
        path = tmp_path / "a.pth"
        torch.save({"state_dict": {"w": torch.ones(2)}, "config": module.Config()}, path)
    finally:
        del sys.modules[module.__name__]
    with pytest.raises(CheckpointError, match="pickles code that is not importable here"):
        read_checkpoint(path, trust=True)


@pytest.mark.parametrize("trust", [False, True])
@pytest.mark.parametrize("keep", [0.0, 0.5, 0.9])
def test_truncated_file_raises_checkpoint_error(tmp_path: Path, keep: float, trust: bool) -> None:
    path = tmp_path / "a.pth"
    torch.save({"state_dict": {"w": torch.ones(64)}, "epoch": 3}, path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="is not a readable PyTorch file") as info:
        read_checkpoint(path, trust=trust)
    assert str(path) in str(info.value)
