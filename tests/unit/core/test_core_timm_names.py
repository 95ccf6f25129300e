"""`timm:<model>(key=value, ...)` arch names: constructor arguments as data, errors that say how to write them."""

from __future__ import annotations

import pytest

from pytest_ssllottery.checkpoints.archs import get_architecture
from pytest_ssllottery.checkpoints.timm_names import split_timm_name
from pytest_ssllottery.errors import SpecError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("vit_small_patch16_224", ("vit_small_patch16_224", {})),
        ("vit_small_patch16_224()", ("vit_small_patch16_224", {})),
        ("vit_small_patch16_224(num_heads=12)", ("vit_small_patch16_224", {"num_heads": 12})),
        (
            "vit_small_patch14_dinov2( img_size = 224 , qkv_bias=false, init_values=1e-5, global_pool=avg )",
            (
                "vit_small_patch14_dinov2",
                {"img_size": 224, "qkv_bias": False, "init_values": 1e-5, "global_pool": "avg"},
            ),
        ),
    ],
)
def test_names_and_arguments(name: str, expected: tuple[str, dict]) -> None:
    assert split_timm_name(name) == expected
    assert all(type(v) is type(expected[1][k]) for k, v in split_timm_name(name)[1].items())


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("vit(num_heads)", r"cannot read argument 'num_heads'; expected `timm:<model>` or `timm:<model>\(key=value"),
        ("vit(a=[1, 2])", r"cannot read argument 'a=\[1'"),
        ("vit(num_heads=12", r"arch 'timm:vit\(num_heads=12': expected `timm:<model>`"),
        ("vit(pretrained=true)", r"`pretrained` is set by the loader \(never pretrained\); remove it"),
        ("vit(num_classes=10)", r"`num_classes` is set by the loader"),
    ],
)
def test_malformed_names_are_spec_errors(name: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        split_timm_name(name)


def test_arguments_reach_timm() -> None:
    twelve = get_architecture("timm:vit_small_patch16_224(depth=2, num_heads=12)").build()
    assert len(twelve.blocks) == 2
    assert twelve.blocks[0].attn.num_heads == 12
    with pytest.raises(SpecError, match=r"timm cannot build 'vit_small_patch16_224' with \{'heads': 12\}"):
        get_architecture("timm:vit_small_patch16_224(heads=12)")
    with pytest.raises(SpecError, match=r"timm has no model 'vit_tiny_nonexistent'"):
        get_architecture("timm:vit_tiny_nonexistent(depth=2)")
