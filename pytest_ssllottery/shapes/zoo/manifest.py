"""``MANIFEST.json`` of a zoo folder: provenance of every checkpoint, sorted keys, human-diffable."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from ...atomic_files import atomic_write_bytes
from ..constants import ARCH
from . import MANIFEST_NAME
from .health import Health
from .layouts import LAYOUTS
from .train import TrainedMember

SCHEMA_VERSION = 1
COMMAND = "python -m pytest_ssllottery.shapes.zoo"


def jsonable(value: Any) -> Any:
    """Dataclasses, tuples and nested mappings as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: jsonable(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [jsonable(item) for item in value]
    return value


def member_entry(
    trained: TrainedMember, checkpoint: bytes, threads: int, device: str, health: Health | None
) -> dict[str, Any]:
    """The manifest record of one checkpoint (its bytes as written), with how it was trained."""
    recipe = trained.recipe
    collapse = trained.objective.collapse_loss(recipe.batch_size)
    return {
        "sha256": hashlib.sha256(checkpoint).hexdigest(),
        "size_bytes": len(checkpoint),
        "arch": ARCH,
        "layout": trained.objective.layout,
        "layout_description": LAYOUTS[trained.objective.layout],
        "objective": recipe.objective_name,
        "steps": trained.steps,
        "batch_size": recipe.batch_size,
        "hyperparameters": jsonable(recipe.objective),
        "optimizer": jsonable(recipe.optim),
        "seed": trained.seed,
        "threads": threads,
        "device": device,
        "collapse_loss": round(collapse, 4) if collapse is not None else None,
        "feature_health": jsonable(health) if health is not None else None,
        "wall_clock_seconds": round(trained.seconds, 1),
        "cpu_seconds": round(trained.cpu_seconds, 1),
        "load_average_1min": [round(value, 2) for value in trained.load_average],
        "final_loss": round(trained.loss_curve[-1], 6) if trained.loss_curve else None,
        "loss_curve": [round(value, 4) for value in trained.loss_curve],
        "torch_version": torch.__version__,
        "preprocessing": jsonable(recipe.preprocessing),
        "optimizer_state": "omitted",
    }


def read_manifest(folder: Path) -> dict[str, Any]:
    """The folder's manifest, or an empty skeleton."""
    path = folder / MANIFEST_NAME
    if path.is_file():
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    return {"schema_version": SCHEMA_VERSION, "command": COMMAND, "members": {}}


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest atomically with sorted keys; recomputes the total size of the listed files."""
    manifest["total_size_bytes"] = sum(entry["size_bytes"] for entry in manifest["members"].values())
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(folder / MANIFEST_NAME, text.encode("utf-8"))
