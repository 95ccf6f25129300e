from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from fabricate_imagenet import official_head

from pytest_ssllottery.checkpoints.io import sha256_of
from pytest_ssllottery.compute.engine import Engine
from pytest_ssllottery.compute.official_head import load_official_head
from pytest_ssllottery.errors import CheckpointError
from pytest_ssllottery.suite.parse import load_suite
from pytest_ssllottery.suite.resources import resolve_suite
from pytest_ssllottery.suite.settings import RunSettings
from pytest_ssllottery.suite.spec import MethodSpec, ProbeSpec, Suite

DIM = 64  # shapes_resnet features


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    suite = load_suite(resolve_suite("imagenet-variants"))
    return Engine(suite, RunSettings(cache_dir=tmp_path / "cache", checkpoint_dir=tmp_path / "ckpt"))


def load(engine: Engine, method: MethodSpec) -> tuple[object, str]:
    """The method's released head, found and loaded the way the engine does it."""
    return load_official_head(method, engine.head_path(method), engine.suite.num_classes)


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
    probe, key = load(engine, method(engine, f"heads/{layout}.pth", sha256=sha256_of(path)))
    assert probe.normalize == "none"
    np.testing.assert_array_equal(probe.weight, weight.double().numpy())
    np.testing.assert_array_equal(probe.bias, bias.double().numpy())
    features = np.random.default_rng(0).normal(size=(5, DIM))
    np.testing.assert_allclose(probe.logits(features), features @ weight.double().numpy().T + bias.double().numpy())
    _, same_key = load(engine, method(engine, f"heads/{layout}.pth"))
    assert len(key) == 64
    assert key == same_key


def test_head_shape_must_match_classes_and_feature_dim(engine: Engine, tmp_path: Path) -> None:
    official_head(tmp_path / "ckpt" / "dino_head.pth", torch.zeros(1000, 2048), torch.zeros(1000), "dino")
    with pytest.raises(CheckpointError) as info:
        load(engine, method(engine, "dino_head.pth", arch="shapes_resnet"))
    message = str(info.value)
    assert "method 'dino': official head" in message
    assert "module.linear.weight of shape (1000, 2048)" in message
    assert "expected (1000, 64) and (1000,)" in message
    assert "arch 'shapes_resnet'" in message


def test_missing_head_file_or_no_head_inside(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"official linear head .*nope.pth does not exist.*--ssl-checkpoint-dir"):
        load(engine, method(engine, "nope.pth"))
    (tmp_path / "ckpt").mkdir(exist_ok=True)
    torch.save({"state_dict": {"module.conv.weight": torch.zeros(4, 3, 3, 3)}}, tmp_path / "ckpt" / "conv.pth")
    with pytest.raises(CheckpointError, match=r"has no linear layer .*keys under state_dict: \['module.conv.weight'\]"):
        load(engine, method(engine, "conv.pth"))
    with pytest.raises(CheckpointError, match="needs `head_checkpoint`"):
        load(engine, replace(method(engine, "x"), head_checkpoint=None))


def test_head_sha256_is_checked(engine: Engine, tmp_path: Path) -> None:
    official_head(tmp_path / "ckpt" / "h.pth", torch.zeros(1000, DIM), torch.zeros(1000), "swav")
    with pytest.raises(CheckpointError, match="the suite expects ffff"):
        load(engine, method(engine, "h.pth", sha256="f" * 64))


def test_engine_uses_the_official_head_for_that_probe_kind(engine: Engine, tmp_path: Path) -> None:
    official_head(tmp_path / "ckpt" / "h.pth", torch.ones(1000, DIM), torch.zeros(1000), "lincls")
    spec = method(engine, "h.pth")
    suite: Suite = replace(engine.suite, methods=(spec,))
    fresh = Engine(suite, engine.settings)
    probe, _ = fresh.probe(spec)
    assert probe.weight.shape == (1000, DIM)
    assert probe.normalize == "none"
