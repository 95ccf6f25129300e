"""The zoo shipped in the package: complete, within budget, and reproducing its saved features."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_ssllottery.checkpoints.backbone import load_backbone
from pytest_ssllottery.shapes.constants import ARCH
from pytest_ssllottery.shapes.zoo import (
    ALL_CHECKPOINTS,
    CHECKPOINT_DIR,
    FINGERPRINTS_NAME,
    MANIFEST_NAME,
    checkpoint_path,
)
from pytest_ssllottery.shapes.zoo.fingerprint import probe_batch, read_fingerprints
from pytest_ssllottery.shapes.zoo.layouts import LAYOUTS

MAX_SHIPPED_BYTES = 10 * 1024 * 1024


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CHECKPOINT_DIR / MANIFEST_NAME).read_text())
    return data


def test_manifest_lists_every_checkpoint_at_full_scale() -> None:
    manifest = _manifest()
    assert set(manifest["members"]) == set(ALL_CHECKPOINTS)
    assert manifest["scale"] == "full"
    assert {entry["layout"] for entry in manifest["members"].values()} <= set(LAYOUTS)
    text = (CHECKPOINT_DIR / MANIFEST_NAME).read_text()
    assert text == json.dumps(manifest, indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("name", ALL_CHECKPOINTS)
def test_shipped_checkpoint_reproduces_saved_features(name: str) -> None:
    entry = _manifest()["members"][name]
    loaded = load_backbone(checkpoint_path(name), ARCH, sha256=entry["sha256"])
    saved = read_fingerprints(CHECKPOINT_DIR / FINGERPRINTS_NAME)[name]
    assert loaded.model(probe_batch()).numpy() == pytest.approx(saved, rel=1e-4, abs=1e-5)


def test_shipped_size_within_budget() -> None:
    total = sum(path.stat().st_size for path in CHECKPOINT_DIR.iterdir() if path.is_file())
    assert total <= MAX_SHIPPED_BYTES
