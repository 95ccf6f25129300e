"""Retraining the zoo: every member, one process per member at a time, each deterministic on its own.

A member's result depends on its seed, its device and (on CPU) its intra-op thread count, never on which
process trains it or in what order, so ``jobs`` members train at once on a multi-core machine. The filter
that defines the adversarial split is retrained only when asked for by name (``--only filter``): retraining
it changes a shifted split.
"""

from __future__ import annotations

import io
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...atomic_files import atomic_write_bytes
from ..constants import DEFAULT_SEED
from . import CHECKPOINT_DIR, FILTER, FINGERPRINTS_NAME, ZOO_MEMBERS, checkpoint_path
from .fingerprint import features, read_fingerprints, write_fingerprints
from .health import feature_health
from .manifest import member_entry, read_manifest, write_manifest
from .objectives import SaveInfo
from .recipes import TINY_IMAGES, Scale, recipe_for, relative_cost
from .train import Log, TrainedMember, deterministic, train_member

# Shapes-family size multiplier used at tiny scale: 100 training images.
TINY_FAMILY_SCALE = 0.02
DEVICES = ("cpu", "cuda", "auto")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/pytest-ssllottery`` (``~/.cache/pytest-ssllottery`` by default)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "pytest-ssllottery"


def resolve_device(requested: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``.

    Raises:
        ValueError: an unknown device, or ``cuda`` without a GPU.
    """
    if requested not in DEVICES:
        raise ValueError(f"--device {requested}: expected one of {', '.join(DEVICES)}")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is visible; use --device cpu (or auto)")
    return requested


@dataclass(frozen=True)
class RetrainOptions:
    """What to retrain, where, and how."""

    out: Path = CHECKPOINT_DIR
    seed: int = DEFAULT_SEED
    scale: Scale = "full"
    only: tuple[str, ...] = ()
    threads: int = 1
    jobs: int = 1
    device: str = "cpu"
    cache_dir: Path = field(default_factory=default_cache_dir)
    data_seed: int = DEFAULT_SEED

    def names(self) -> list[str]:
        """Checkpoints to train: the ``only`` names (the filter among them if named), else every zoo member.

        Raises:
            ValueError: an ``only`` name is not a zoo member or the filter.
        """
        known = (FILTER, *ZOO_MEMBERS)
        unknown = sorted(set(self.only) - set(known))
        if unknown:
            raise ValueError(f"unknown zoo member(s) {unknown}; expected names from {', '.join(known)}")
        return [name for name in known if name in self.only] if self.only else list(ZOO_MEMBERS)


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


@dataclass(frozen=True)
class MemberFiles:
    """What one trained member writes: checkpoint bytes, fingerprint, manifest entry (picklable)."""

    name: str
    checkpoint: bytes
    fingerprint: np.ndarray
    entry: dict[str, Any]
    seconds: float
    log: tuple[str, ...] = ()


def _member_files(
    trained: TrainedMember, options: RetrainOptions, images: torch.Tensor, data: dict[str, Any], device: str
) -> MemberFiles:
    recipe = trained.recipe
    epochs = recipe.steps * recipe.batch_size // max(1, data["images"])  # passes over the train split
    info = SaveInfo(epoch=epochs, args={"seed": trained.seed, "batch_size": recipe.batch_size, "steps": recipe.steps})
    buffer = io.BytesIO()  # a file object: the archive's inner folder name must not depend on the temp name
    torch.save(trained.objective.checkpoint(info), buffer)
    model = trained.objective.feature_model()
    health = feature_health(model, images) if trained.steps else None
    entry = member_entry(trained, buffer.getvalue(), options.threads, device, health)
    return MemberFiles(recipe.name, buffer.getvalue(), features(model), entry, trained.seconds)


def train_one(name: str, options: RetrainOptions, log: Log | None = None) -> MemberFiles:
    """Train one member under fixed threads and deterministic algorithms; returns what it writes."""
    lines: list[str] = []
    device = resolve_device(options.device)
    if device == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    with deterministic(options.threads, warn_only=device != "cpu"):
        images, labels, data = training_data(options)
        trained = train_member(
            recipe_for(name, options.scale), images, labels, options.seed, log or lines.append, device
        )
        files = _member_files(trained, options, images, data, device)
    return MemberFiles(files.name, files.checkpoint, files.fingerprint, files.entry, files.seconds, tuple(lines))


def _train_in_subprocess(name: str, options: RetrainOptions) -> MemberFiles:
    def log(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    return train_one(name, options, log)


def save_member(files: MemberFiles, options: RetrainOptions, data: dict[str, Any]) -> Path:
    """Write the checkpoint atomically, then its fingerprint and manifest entry."""
    path = checkpoint_path(files.name, options.out)
    atomic_write_bytes(path, files.checkpoint)
    fingerprints = read_fingerprints(options.out / FINGERPRINTS_NAME)
    fingerprints[files.name] = files.fingerprint
    write_fingerprints(options.out / FINGERPRINTS_NAME, fingerprints)
    manifest = read_manifest(options.out)
    manifest["members"][files.name] = {"file": path.name, **files.entry}
    manifest["data"] = data
    manifest["scale"] = options.scale
    write_manifest(options.out, manifest)
    return path


def retrain(options: RetrainOptions, log: Log = print) -> dict[str, MemberFiles]:
    """Train and write the requested checkpoints, ``options.jobs`` at a time (longest first).

    Raises:
        ValueError: unknown member names or device.
        ZooTrainingError: a member diverged.
    """
    names = options.names()
    options.out.mkdir(parents=True, exist_ok=True)
    device = resolve_device(options.device)
    _, _, data = training_data(options)  # generates and caches the split once, before any worker reads it
    log(
        f"training {', '.join(names)} on {data['images']} images ({options.scale} scale, device {device}, "
        f"{options.threads} thread(s) per member, {options.jobs} at a time)"
    )
    done: dict[str, MemberFiles] = {}

    def finish(files: MemberFiles) -> None:
        path = save_member(files, options, data)
        log(f"{files.name}: wrote {path} ({files.seconds:.0f} s)")
        done[files.name] = files

    order = sorted(names, key=lambda n: -relative_cost(recipe_for(n, options.scale)))
    if options.jobs <= 1:
        for name in order:
            finish(train_one(name, options, log))
    else:
        with ProcessPoolExecutor(options.jobs, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_train_in_subprocess, name, options) for name in order]
            for future in as_completed(futures):
                finish(future.result())
    return {name: done[name] for name in names}
