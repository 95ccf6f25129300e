"""Retraining the zoo: the filter first (the adversarial split needs it), then every member."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...cache import atomic_write_bytes
from ..constants import DEFAULT_SEED
from . import ALL_CHECKPOINTS, CHECKPOINT_DIR, FINGERPRINTS_NAME, checkpoint_path
from .fingerprint import features, read_fingerprints, write_fingerprints
from .manifest import member_entry, read_manifest, write_manifest
from .objectives import SaveInfo
from .recipes import TINY_IMAGES, Scale, recipe_for
from .train import Log, TrainedMember, deterministic, train_member

# Shapes-family size multiplier used at tiny scale: 100 training images.
TINY_FAMILY_SCALE = 0.02


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/pytest-ssllottery`` (``~/.cache/pytest-ssllottery`` by default)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "pytest-ssllottery"


@dataclass(frozen=True)
class RetrainOptions:
    """What to retrain, where, and how."""

    out: Path = CHECKPOINT_DIR
    seed: int = DEFAULT_SEED
    scale: Scale = "full"
    only: tuple[str, ...] = ()
    threads: int = 2
    cache_dir: Path = field(default_factory=default_cache_dir)
    data_seed: int = DEFAULT_SEED

    def names(self) -> list[str]:
        """Checkpoints to train, in training order (filter first).

        Raises:
            ValueError: an ``only`` name is not a zoo member or the filter.
        """
        unknown = sorted(set(self.only) - set(ALL_CHECKPOINTS))
        if unknown:
            raise ValueError(f"unknown zoo member(s) {unknown}; expected names from {', '.join(ALL_CHECKPOINTS)}")
        return [name for name in ALL_CHECKPOINTS if not self.only or name in self.only]


def training_data(options: RetrainOptions) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
    """The ``train`` split (100 images at tiny scale, of which ``TINY_IMAGES`` are used) as tensors."""
    from ..family import GENERATOR_VERSION, load_split

    family_scale = TINY_FAMILY_SCALE if options.scale == "tiny" else 1.0
    split = load_split("train", options.cache_dir / "shapes", seed=options.data_seed, scale=family_scale)
    count = TINY_IMAGES if options.scale == "tiny" else len(split.labels)
    images = torch.from_numpy(np.array(split.images[:count]))
    labels = torch.from_numpy(np.array(split.labels[:count]))
    description = {
        "split": "train",
        "family_seed": options.data_seed,
        "family_scale": family_scale,
        "generator_version": GENERATOR_VERSION,
        "images": count,
        "fingerprint": split.fingerprint(),
    }
    return images, labels, description


def save_member(trained: TrainedMember, options: RetrainOptions, data: dict[str, Any]) -> Path:
    """Write the checkpoint atomically, then its fingerprint and manifest entry."""
    name = trained.recipe.name
    path = checkpoint_path(name, options.out)
    info = SaveInfo(epoch=trained.recipe.epochs, args={"seed": trained.seed, "batch_size": trained.recipe.batch_size})
    buffer = io.BytesIO()  # a file object: the archive's inner folder name must not depend on the temp name
    torch.save(trained.objective.checkpoint(info), buffer)
    atomic_write_bytes(path, buffer.getvalue())
    fingerprints = read_fingerprints(options.out / FINGERPRINTS_NAME)
    fingerprints[name] = features(trained.objective.feature_model())
    write_fingerprints(options.out / FINGERPRINTS_NAME, fingerprints)
    manifest = read_manifest(options.out)
    manifest["members"][name] = member_entry(trained, path, options.threads)
    manifest["data"] = data
    manifest["scale"] = options.scale
    write_manifest(options.out, manifest)
    return path


def retrain(options: RetrainOptions, log: Log = print) -> dict[str, TrainedMember]:
    """Train and write the requested checkpoints; returns the in-memory trained members.

    Raises:
        ValueError: unknown member names.
        ZooTrainingError: a member diverged.
    """
    names = options.names()
    options.out.mkdir(parents=True, exist_ok=True)
    trained: dict[str, TrainedMember] = {}
    with deterministic(options.threads):
        images, labels, data = training_data(options)
        log(f"training {', '.join(names)} on {len(images)} images ({options.scale} scale, {options.threads} threads)")
        for name in names:
            member = train_member(recipe_for(name, options.scale), images, labels, options.seed, log)
            path = save_member(member, options, data)
            log(f"{name}: wrote {path} ({member.seconds:.0f} s)")
            trained[name] = member
    return trained
