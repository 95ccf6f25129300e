"""Released ViT linear heads (DINO, MoCo v3, DINOv2): shapes follow the method's feature definition."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from fabricate_vit import official_vit_head

from pytest_ssllottery.compute.official_head import load_official_head
from pytest_ssllottery.errors import CheckpointError
from pytest_ssllottery.suite.parse import load_suite
from pytest_ssllottery.suite.resources import resolve_suite
from pytest_ssllottery.suite.spec import FeatureSpec, MethodSpec, ProbeSpec, Suite


@pytest.fixture(scope="module")
def suite() -> Suite:
    return load_suite(resolve_suite("imagenet-variants-vit"))


def with_head(suite: Suite, name: str, path: Path) -> MethodSpec:
    return replace(suite.method(name), head_checkpoint=str(path), probe=ProbeSpec(kind="official-head"))


def test_dino_vit_small_head_reads_four_cls_tokens(suite: Suite, tmp_path: Path) -> None:
    weight, bias = torch.randn(1000, 1536), torch.randn(1000)
    path = official_vit_head(tmp_path / "dino_deitsmall16_linearweights.pth", weight, bias, "dino")
    probe, key = load_official_head(with_head(suite, "dino_vits16", path), path, 1000)
    np.testing.assert_array_equal(probe.weight, weight.double().numpy())
    features = np.random.default_rng(0).normal(size=(4, 1536))
    np.testing.assert_allclose(probe.logits(features), features @ weight.double().numpy().T + bias.double().numpy())
    other = replace(with_head(suite, "dino_vits16", path), features=FeatureSpec(cls_blocks=3, patch_mean=True))
    _, other_key = load_official_head(other, path, 1000)  # also 1536-d, but other features: another probe
    assert other_key != key


def test_a_head_of_the_wrong_feature_size_names_the_features(suite: Suite, tmp_path: Path) -> None:
    path = official_vit_head(tmp_path / "h.pth", torch.zeros(1000, 384), torch.zeros(1000), "dino")
    with pytest.raises(CheckpointError) as info:
        load_official_head(with_head(suite, "dino_vitb16", path), path, 1000)
    message = str(info.value)
    assert "module.linear.weight of shape (1000, 384)" in message
    assert "expected (1000, 1536) and (1000,)" in message
    assert "arch 'timm:vit_base_patch16_224' under `features` {'cls_blocks': 1, 'patch_mean': True" in message


def test_moco_v3_vit_whole_classifier_and_dinov2_bare_linear(suite: Suite, tmp_path: Path) -> None:
    backbone = {"blocks.0.mlp.fc1.weight": torch.zeros(1536, 384), "blocks.0.mlp.fc1.bias": torch.zeros(1536)}
    weight = torch.randn(1000, 384)
    path = official_vit_head(
        tmp_path / "linear-vit-s-300ep.pth.tar", weight, torch.zeros(1000), "moco-v3-vit", backbone
    )
    probe, _ = load_official_head(with_head(suite, "mocov3_vits", path), path, 1000)
    np.testing.assert_array_equal(probe.weight, weight.double().numpy())
    weight = torch.randn(1000, 768)
    path = official_vit_head(tmp_path / "dinov2_vits14_linear_head.pth", weight, torch.zeros(1000), "dinov2")
    probe, _ = load_official_head(with_head(suite, "dinov2_vits14", path), path, 1000)
    np.testing.assert_array_equal(probe.weight, weight.double().numpy())
