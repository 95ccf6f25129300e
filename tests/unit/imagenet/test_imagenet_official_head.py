from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from fabricate_imagenet import official_head

from pytest_ssllottery.checkpoint_io import sha256_of
from pytest_ssllottery.errors import CheckpointError
from pytest_ssllottery.official_head import load_official_head
from pytest_ssllottery.pipeline import Engine
from pytest_ssllottery.resources import resolve_suite
from pytest_ssllottery.runconfig import RunSettings
from pytest_ssllottery.spec import MethodSpec, ProbeSpec, Suite, load_suite

DIM = 64  # shapes_resnet features


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    suite = load_suite(resolve_suite("imagenet-variants"))
    return Engine(suite, RunSettings(cache_dir=tmp_path / "cache", checkpoint_dir=tmp_path / "ckpt"))


def method(engine: Engine, head: str, arch: str = "shapes_resnet", sha256: str | None = None) -> MethodSpec:
    return replace(
        engine.suite.method("dino"),
        arch=arch,
        head_checkpoint=head,
        head_sha256=sha256,
        probe=ProbeSpec(kind="official-head"),
    )


@pytest.mark.parametrize(
    ("layout", "prefix"), [("dino", "module.linear."), ("swav", "module.linear."), ("lincls", "module.fc.")]
)
def test_released_heads_become_plain_linear_probes(engine: Engine, tmp_path: Path, layout: str, prefix: str) -> None:
    weight, bias = torch.randn(1000, DIM), torch.randn(1000)
    path = official_head(tmp_path / "ckpt" / "heads" / f"{layout}.pth", weight, bias, layout)
    probe, key = load_official_head(engine, method(engine, f"heads/{layout}.pth", sha256=sha256_of(path)))
    assert probe.normalize == "none"
    np.testing.assert_array_equal(probe.weight, weight.double().numpy())
    np.testing.assert_array_equal(probe.bias, bias.double().numpy())
    features = np.random.default_rng(0).normal(size=(5, DIM))
    np.testing.assert_allclose(probe.logits(features), features @ weight.double().numpy().T + bias.double().numpy())
    _, same_key = load_official_head(engine, method(engine, f"heads/{layout}.pth"))
    assert len(key) == 64
    assert key == same_key


def test_head_shape_must_match_classes_and_feature_dim(engine: Engine, tmp_path: Path) -> None:
    official_head(tmp_path / "ckpt" / "dino_head.pth", torch.zeros(1000, 2048), torch.zeros(1000), "dino")
    with pytest.raises(CheckpointError) as info:
        load_official_head(engine, method(engine, "dino_head.pth", arch="shapes_resnet"))
    message = str(info.value)
    assert "method 'dino': official head" in message
    assert "module.linear.weight of shape (1000, 2048)" in message
    assert "expected (1000, 64) and (1000,)" in message
    assert "arch 'shapes_resnet'" in message


def test_missing_head_file_or_no_head_inside(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"official linear head .*nope.pth does not exist.*--ssl-checkpoint-dir"):
        load_official_head(engine, method(engine, "nope.pth"))
    (tmp_path / "ckpt").mkdir(exist_ok=True)
    torch.save({"state_dict": {"module.conv.weight": torch.zeros(4, 3, 3, 3)}}, tmp_path / "ckpt" / "conv.pth")
    with pytest.raises(CheckpointError, match=r"has no linear layer .*keys under state_dict: \['module.conv.weight'\]"):
        load_official_head(engine, method(engine, "conv.pth"))
    with pytest.raises(CheckpointError, match="needs `head_checkpoint`"):
        load_official_head(engine, replace(method(engine, "x"), head_checkpoint=None))


def test_head_sha256_is_checked(engine: Engine, tmp_path: Path) -> None:
    official_head(tmp_path / "ckpt" / "h.pth", torch.zeros(1000, DIM), torch.zeros(1000), "swav")
    with pytest.raises(CheckpointError, match="the suite expects ffff"):
        load_official_head(engine, method(engine, "h.pth", sha256="f" * 64))


def test_engine_uses_the_official_head_for_that_probe_kind(engine: Engine, tmp_path: Path) -> None:
    official_head(tmp_path / "ckpt" / "h.pth", torch.ones(1000, DIM), torch.zeros(1000), "lincls")
    spec = method(engine, "h.pth")
    suite: Suite = replace(engine.suite, methods=(spec,))
    fresh = Engine(suite, engine.settings)
    probe, _ = fresh.probe(spec)
    assert probe.weight.shape == (1000, DIM)
    assert probe.normalize == "none"
