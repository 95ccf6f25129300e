"""Token features of a timm ViT, as the official linear evaluations read them, against a hand-written oracle."""

from __future__ import annotations

import pytest
import torch
from fabricate_vit import TINY_VIT, vit_model, vit_state
from torch import nn

from pytest_ssllottery.checkpoints.archs import get_architecture
from pytest_ssllottery.checkpoints.token_features import TokenFeatures, feature_dim
from pytest_ssllottery.errors import SpecError
from pytest_ssllottery.suite.spec import FeatureSpec

WIDTH = 48  # TINY_VIT embed_dim


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def vit() -> nn.Module:
    return vit_model(vit_state(5))


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def block_outputs(vit: nn.Module, images: torch.Tensor, final_norm: bool = True) -> list[torch.Tensor]:
    """Every block's token sequence, as DINO's ``get_intermediate_layers`` computes it (normed by the final norm)."""
    x = vit.norm_pre(vit._pos_embed(vit.patch_embed(images)))
    outputs = []
    for block in vit.blocks:
        x = block(x)
        outputs.append(vit.norm(x) if final_norm else x)
    return outputs


def test_four_cls_tokens_like_dino_vit_small(vit: nn.Module, images: torch.Tensor) -> None:
    wrapped = TokenFeatures(vit, FeatureSpec(cls_blocks=2))
    found = wrapped(images)
    blocks = block_outputs(vit, images)
    assert wrapped.feature_dim == 2 * WIDTH == found.shape[1]
    torch.testing.assert_close(found, torch.cat([blocks[1][:, 0], blocks[2][:, 0]], dim=-1), rtol=0, atol=1e-6)


def test_dino_vit_base_interleaves_cls_and_patch_mean(vit: nn.Module, images: torch.Tensor) -> None:
    """eval_linear.py: cat((cls.unsqueeze(-1), mean.unsqueeze(-1)), -1).reshape(B, -1)."""
    found = TokenFeatures(vit, FeatureSpec(cls_blocks=1, patch_mean=True, order="interleave"))(images)
    last = block_outputs(vit, images)[-1]
    cls, mean = last[:, 0], last[:, 1:].mean(dim=1)
    assert found.shape == (3, 2 * WIDTH)
    torch.testing.assert_close(found[:, 0::2], cls, rtol=0, atol=1e-6)
    torch.testing.assert_close(found[:, 1::2], mean, rtol=0, atol=1e-6)
    concat = TokenFeatures(vit, FeatureSpec(cls_blocks=1, patch_mean=True))(images)  # iBOT ViT-B, DINOv2
    torch.testing.assert_close(concat, torch.cat([cls, mean], dim=-1), rtol=0, atol=1e-6)
    assert not torch.allclose(found, concat)


def test_raw_block_outputs_and_patch_mean_alone(vit: nn.Module, images: torch.Tensor) -> None:
    raw = block_outputs(vit, images, final_norm=False)
    found = TokenFeatures(vit, FeatureSpec(cls_blocks=1, norm="none"))(images)
    torch.testing.assert_close(found, raw[-1][:, 0], rtol=0, atol=1e-6)
    mean_only = TokenFeatures(vit, FeatureSpec(cls_blocks=0, patch_mean=True))(images)
    torch.testing.assert_close(mean_only, block_outputs(vit, images)[-1][:, 1:].mean(dim=1), rtol=0, atol=1e-6)


def test_one_cls_token_is_timms_pooled_feature(vit: nn.Module, images: torch.Tensor) -> None:
    """MoCo v3 and MAE (--cls_token) read the final CLS token: the same as the model without its head."""
    found = TokenFeatures(vit, FeatureSpec())(images)
    vit.reset_classifier(0)
    torch.testing.assert_close(found, vit(images), rtol=0, atol=1e-6)


def test_feature_dim_of_the_real_architectures() -> None:
    assert feature_dim("timm:vit_small_patch16_224", FeatureSpec(cls_blocks=4)) == 1536
    assert feature_dim("timm:vit_small_patch16_224", None) == 384
    assert feature_dim("resnet50", None) == 2048


def test_more_blocks_than_the_model_has_is_a_spec_error(vit: nn.Module) -> None:
    with pytest.raises(SpecError, match=r"arch 'tiny': `features.cls_blocks = 4` but the model has 3 blocks"):
        TokenFeatures(vit, FeatureSpec(cls_blocks=4), "tiny")


def test_a_resnet_cannot_give_token_features() -> None:
    resnet = get_architecture("shapes_resnet").build()
    with pytest.raises(SpecError, match=r"need a timm VisionTransformer .*found ShapesResNet; remove `features`"):
        TokenFeatures(resnet, FeatureSpec(), "shapes_resnet")


def test_a_vit_without_class_token_has_no_cls_features() -> None:
    arch = TINY_VIT.replace("num_heads=3", "num_heads=3, class_token=false, global_pool=avg")
    model = get_architecture(arch).build(0)
    with pytest.raises(SpecError, match="no class token; use `cls_blocks = 0, patch_mean = true`"):
        TokenFeatures(model, FeatureSpec(cls_blocks=1), arch)
    assert TokenFeatures(model, FeatureSpec(cls_blocks=0, patch_mean=True), arch)(torch.zeros(1, 3, 32, 32)).shape == (
        1,
        WIDTH,
    )
