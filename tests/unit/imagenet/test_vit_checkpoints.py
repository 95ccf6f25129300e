"""ViT SSL checkpoints in their official layouts load into timm ViTs, and give the source model's features."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from fabricate_vit import (
    TINY_DINOV2_224,
    TINY_DINOV2_518,
    TINY_VIT,
    VIT_LAYOUTS,
    official_vit_checkpoint,
    save_vit_checkpoint,
    vit_model,
    vit_state,
)
from torch import nn

from pytest_ssllottery.checkpoints.archs import get_architecture
from pytest_ssllottery.checkpoints.backbone import load_backbone
from pytest_ssllottery.checkpoints.layouts import fit_state_dict
from pytest_ssllottery.checkpoints.pos_embed import prefix_tokens, resample_grid
from pytest_ssllottery.suite.spec import FeatureSpec

TIMM_LAYOUTS = tuple(layout for layout in VIT_LAYOUTS if layout != "dinov2")
FOUR_CLS = FeatureSpec(cls_blocks=2)  # the tiny ViT has 3 blocks; DINO ViT-S reads 4 of 12


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def cls_of_last_blocks(model: nn.Module, tokens: torch.Tensor, blocks: int) -> torch.Tensor:
    """The oracle: CLS tokens of the last ``blocks`` blocks after the final norm, from embedded ``tokens``."""
    outputs = []
    for block in model.blocks:
        tokens = block(tokens)
        outputs.append(model.norm(tokens)[:, 0])
    return torch.cat(outputs[-blocks:], dim=-1)


def embedded(model: nn.Module, images: torch.Tensor, pos_embed: torch.Tensor) -> torch.Tensor:
    """Patch embedding + class token + ``pos_embed``, as DINO and DINOv2's ``prepare_tokens`` compute it."""
    patches = model.patch_embed.proj(images).flatten(2).transpose(1, 2)
    return torch.cat([model.cls_token.expand(len(images), -1, -1), patches], dim=1) + pos_embed


@pytest.mark.parametrize("layout", TIMM_LAYOUTS)
def test_layout_loads_and_gives_the_source_features(tmp_path: Path, layout: str) -> None:
    """torch.save -> weights_only torch.load -> load_backbone: the teacher/base encoder's tensors and features."""
    state = vit_state(7)
    path = save_vit_checkpoint(tmp_path / f"{layout}.pth", state, layout)
    loaded = load_backbone(path, TINY_VIT, features=FOUR_CLS)
    model_state = loaded.model.vit.state_dict()
    for key, value in state.items():
        assert torch.equal(model_state[key], value), key
    assert loaded.feature_dim == 2 * 48
    source = vit_model(state)
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = cls_of_last_blocks(source, embedded(source, images, source.pos_embed), 2)
        torch.testing.assert_close(loaded.model(images), expected, rtol=0, atol=1e-5)
    assert not any(p.requires_grad for p in loaded.model.parameters())


@pytest.mark.parametrize(
    ("layout", "container", "prefix", "dropped"),
    [
        ("dino-vit", "", "", ()),
        ("dino-vit-full", "teacher", "backbone.", ("head.last_layer.weight_v",)),
        (
            "moco-v3-vit",
            "state_dict",
            "module.base_encoder.",
            ("module.momentum_encoder.cls_token", "module.predictor.0.weight"),
        ),
        ("mae", "model", "", ("decoder_blocks.0.norm1.weight", "mask_token")),
        ("ibot", "state_dict", "backbone.", ("head.mlp.0.weight",)),
        ("ibot-full", "teacher", "module.backbone.", ("module.head.last_layer.weight_g",)),
    ],
)
def test_what_the_loader_picks_and_drops(layout: str, container: str, prefix: str, dropped: tuple[str, ...]) -> None:
    state = vit_state(3)
    target = get_architecture(TINY_VIT).build().state_dict()
    fitted, report = fit_state_dict(official_vit_checkpoint(state, layout), target, ("head.",))
    assert (report.container, report.prefix) == (container, prefix)
    assert set(dropped) <= set(report.dropped)
    assert set(fitted) == set(state)
    assert report.resampled == ()


@pytest.mark.parametrize("layout", ["dino-vit-full", "ibot-full"])
def test_the_teacher_wins_even_when_the_student_comes_first(layout: str) -> None:
    state = vit_state(4)
    obj = official_vit_checkpoint(state, layout)
    assert isinstance(obj, dict)
    reordered = {"student": obj["student"]} | {k: v for k, v in obj.items() if k != "student"}
    target = get_architecture(TINY_VIT).build().state_dict()
    fitted, report = fit_state_dict(reordered, target, ("head.",))
    assert report.container == "teacher"
    assert torch.equal(fitted["blocks.0.attn.qkv.weight"], state["blocks.0.attn.qkv.weight"])


def test_dinov2_loads_at_224_with_the_position_embedding_resampled_as_dinov2_does(tmp_path: Path) -> None:
    """A 518 px release (here a 5 x 5 grid) evaluated at 224 px (2 x 2): DINOv2's bicubic, +0.1, no antialias."""
    state = vit_state(9, TINY_DINOV2_518)
    assert "blocks.0.ls1.gamma" in state  # LayerScale, under the same names in DINOv2 and timm
    path = save_vit_checkpoint(tmp_path / "dinov2_vits14_pretrain.pth", state, "dinov2")
    loaded = load_backbone(path, TINY_DINOV2_224, features=FeatureSpec(cls_blocks=1, patch_mean=True))
    assert loaded.report.resampled == ("pos_embed",)
    assert "mask_token" in loaded.report.dropped
    assert "resampled to the model's patch grid" in loaded.report.describe()
    model_state = loaded.model.vit.state_dict()
    for key, value in state.items():
        if key != "pos_embed":
            assert torch.equal(model_state[key], value), key
    grid = state["pos_embed"][:, 1:].reshape(1, 5, 5, 48).permute(0, 3, 1, 2)
    oracle = F.interpolate(grid, scale_factor=(2.1 / 5, 2.1 / 5), mode="bicubic", antialias=False)
    oracle = torch.cat([state["pos_embed"][:, :1], oracle.permute(0, 2, 3, 1).reshape(1, 4, 48)], dim=1)
    torch.testing.assert_close(model_state["pos_embed"], oracle, rtol=0, atol=1e-6)
    source = vit_model(state, TINY_DINOV2_518)
    images = torch.randn(2, 3, 28, 28, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        tokens = embedded(source, images, oracle)
        for block in source.blocks:
            tokens = block(tokens)
        last = source.norm(tokens)
        expected = torch.cat([last[:, 0], last[:, 1:].mean(dim=1)], dim=-1)
        torch.testing.assert_close(loaded.model(images), expected, rtol=0, atol=1e-5)


def test_resampling_the_real_dinov2_grid() -> None:
    assert prefix_tokens(1 + 37 * 37, 1 + 16 * 16) == 1
    assert prefix_tokens(5 + 37 * 37, 5 + 16 * 16) == 5  # class token + 4 registers: the only prefix leaving squares
    assert prefix_tokens(1370, 300) is None
    constant = torch.full((1, 1 + 37 * 37, 8), 0.25)
    resized = resample_grid(constant, 1 + 16 * 16)
    assert resized.shape == (1, 257, 8)
    torch.testing.assert_close(resized, torch.full((1, 257, 8), 0.25))  # bicubic keeps a constant field
    with pytest.raises(ValueError, match="cannot resample"):
        resample_grid(torch.zeros(1, 1370, 8), 250)


def test_moco_v3_vit_small_needs_its_twelve_heads(tmp_path: Path) -> None:
    """Same tensor shapes with 6 or 12 heads: only the arch's num_heads makes the features right."""
    twelve = TINY_VIT.replace("num_heads=3", "num_heads=6")
    state = vit_state(8, twelve)
    path = save_vit_checkpoint(tmp_path / "vit-s-300ep.pth.tar", state, "moco-v3-vit")
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    source = vit_model(state, twelve)
    with torch.no_grad():
        expected = cls_of_last_blocks(source, embedded(source, images, source.pos_embed), 1)
        right = load_backbone(path, twelve, features=FeatureSpec()).model(images)
        wrong = load_backbone(path, TINY_VIT, features=FeatureSpec()).model(images)
    torch.testing.assert_close(right, expected, rtol=0, atol=1e-5)
    assert (wrong - expected).abs().max() > 1e-3


def test_real_vit_small_shapes_fit_every_layout() -> None:
    """In memory, with ViT-S/16's real shapes (timm ``vit_small_patch16_224``, as DINO, iBOT and MoCo v3 save it)."""
    state = vit_state(1, "timm:vit_small_patch16_224")
    target = get_architecture("timm:vit_small_patch16_224").build().state_dict()
    for layout in TIMM_LAYOUTS:
        fitted, report = fit_state_dict(official_vit_checkpoint(state, layout), target, ("head.",))
        assert set(fitted) == set(state), layout
        assert torch.equal(fitted["blocks.11.mlp.fc2.weight"], state["blocks.11.mlp.fc2.weight"]), report.describe()


def test_real_dinov2_vits14_fits_the_224_px_model() -> None:
    state = vit_state(2, "timm:vit_small_patch14_dinov2")
    assert tuple(state["pos_embed"].shape) == (1, 1370, 384)
    target = get_architecture("timm:vit_small_patch14_dinov2(img_size=224)").build().state_dict()
    fitted, report = fit_state_dict(official_vit_checkpoint(state, "dinov2"), target, ("head.",))
    assert tuple(fitted["pos_embed"].shape) == (1, 257, 384)
    assert report.resampled == ("pos_embed",)
    assert report.dropped == ("mask_token",)
