"""The engine extracts a method's token features and keys its cache entries by them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from fabricate import write_npz
from fabricate_vit import TINY_VIT, save_vit_checkpoint, vit_state

from pytest_ssllottery.compute.engine import Engine
from pytest_ssllottery.suite.parse import load_suite
from pytest_ssllottery.suite.settings import RunSettings
from pytest_ssllottery.suite.spec import FeatureSpec

SUITE = f"""
[suite]
name = "vit-tiny"
reference = "val"
train = "train"
num_classes = 3
[preprocessing]
resize = 32
crop = 32
[[datasets]]
name = "train"
loader = "npz"
location = "train.npz"
role = "train"
[[datasets]]
name = "val"
loader = "npz"
location = "val.npz"
[[methods]]
name = "dino"
arch = "{TINY_VIT}"
checkpoint = "dino.pth"
features = {{ cls_blocks = 2 }}
"""


def test_engine_extracts_and_keys_the_token_features(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    data = tmp_path / "data"
    write_npz(data / "train.npz", 0, 6, 30.0)
    write_npz(data / "val.npz", 1, 6, 30.0)
    save_vit_checkpoint(data / "checkpoints" / "dino.pth", vit_state(1), "dino-vit")
    (tmp_path / "vit.toml").write_text(SUITE)
    suite = load_suite(tmp_path / "vit.toml")
    engine = Engine(suite, RunSettings(cache_dir=tmp_path / "cache", data_root=data))
    method, val = suite.method("dino"), engine.dataset("val")
    assert engine.backbone(method).feature_dim == 96
    assert engine.features(method, val)[0].features.shape == (6, 96)
    other = replace(method, features=FeatureSpec(cls_blocks=1))
    assert engine.feature_key(other, val) != engine.feature_key(method, val)
