"""Fabricated inputs for tests: tiny array datasets, checkpoints in official key layouts, suite files."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

import numpy as np
import torch

from pytest_ssllottery.checkpoints.archs import get_architecture

CLASSES = 3
SIZE = 8


def tiny_images(
    seed: int, count: int, noise: float, classes: tuple[int, ...] = tuple(range(CLASSES))
) -> tuple[np.ndarray, np.ndarray]:
    """Images whose colour depends on the class, plus Gaussian noise (more noise = harder split)."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(classes)[np.arange(count) % len(classes)]
    palette = np.array([[220, 40, 40], [40, 200, 60], [50, 60, 220], [200, 200, 40], [200, 40, 200]], dtype=float)
    images = palette[labels][:, None, None, :] + rng.normal(0.0, noise, size=(count, SIZE, SIZE, 3))
    return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int64)


def write_npz(
    path: Path,
    seed: int,
    count: int,
    noise: float,
    classes: tuple[int, ...] = tuple(range(CLASSES)),
    **extra: np.ndarray,
) -> Path:
    """An npz dataset for the ``npz`` loader."""
    images, labels = tiny_images(seed, count, noise, classes)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, images=images, labels=labels, **extra)
    return path


def backbone_state(seed: int, arch: str = "shapes_resnet") -> dict[str, torch.Tensor]:
    """A randomly initialised backbone state dict (with ``fc``), reproducible from ``seed``."""
    torch.manual_seed(seed)
    return {k: v.clone() for k, v in get_architecture(arch).build().state_dict().items()}


def save_layout(path: Path, state: dict[str, torch.Tensor], layout: str, seed: int = 0) -> Path:
    """Save ``state`` in one of the official SSL checkpoint layouts (see shared/notes/checkpoints.md)."""
    backbone = {k: v for k, v in state.items() if not k.startswith("fc.")}
    other = {k: v + 1.0 if v.is_floating_point() else v for k, v in backbone.items()}
    if layout == "flat":
        obj: object = backbone
    elif layout == "torchvision":
        obj = state
    elif layout == "moco":
        sd = {f"module.encoder_q.{k}": v for k, v in backbone.items()}
        sd |= {f"module.encoder_k.{k}": v for k, v in other.items()}
        sd |= {"module.queue": torch.randn(16, 32), "module.queue_ptr": torch.zeros(1, dtype=torch.long)}
        obj = {"epoch": 200, "arch": "resnet50", "state_dict": sd, "optimizer": {"state": {}, "param_groups": []}}
    elif layout == "dino":
        teacher = {f"module.backbone.{k}": v for k, v in backbone.items()}
        teacher["module.head.last_layer.weight"] = torch.randn(8, 4)
        student = {f"module.backbone.{k}": v for k, v in other.items()}
        obj = {"student": student, "teacher": teacher, "epoch": 100, "args": argparse.Namespace(arch="resnet50")}
    elif layout == "swav":
        obj = {f"module.{k}": v for k, v in backbone.items()} | {"module.prototypes.weight": torch.randn(10, 4)}
    else:
        raise ValueError(layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path)
    return path


def tiny_suite(
    root: Path,
    methods: dict[str, tuple[int, str]] | None = None,
    *,
    gate: str = "",
    name: str = "tiny",
    extra_datasets: str = "",
) -> Path:
    """Write datasets, checkpoints and a suite file under ``root``; return the suite path.

    Args:
        root: Folder to fill (data under ``root/data``, suite at ``root/<name>.toml``).
        methods: name -> (weight seed, layout).
        gate: Extra TOML for the [gate] table.
        name: Suite name.
        extra_datasets: Extra [[datasets]] TOML.
    """
    methods = methods or {"alpha": (1, "moco"), "beta": (2, "dino")}
    data = root / "data"
    write_npz(data / "train.npz", 0, 90, 70.0)
    write_npz(data / "val.npz", 1, 60, 190.0)
    write_npz(data / "shifted.npz", 2, 60, 230.0)
    write_npz(data / "subset.npz", 3, 40, 200.0, classes=(0, 2))
    for method, (seed, layout) in methods.items():
        save_layout(data / "checkpoints" / f"{method}.pth", backbone_state(seed), layout)
    method_toml = "\n".join(
        f'[[methods]]\nname = "{m}"\narch = "shapes_resnet"\ncheckpoint = "{m}.pth"\n' for m in methods
    )
    text = textwrap.dedent(
        f"""\
        schema_version = 1
        [suite]
        name = "{name}"
        reference = "val"
        train = "train"
        num_classes = {CLASSES}
        bootstrap_resamples = 50
        [preprocessing]
        mean = [0.5, 0.5, 0.5]
        std = [0.25, 0.25, 0.25]
        [probe]
        optimizer = "lbfgs"
        epochs = 50
        weight_decay = 0.01
        [gate]
        margin = 1.0
        sampling_factor = 2.0
        """
    )
    text += textwrap.dedent(gate) + "\n"
    text += textwrap.dedent(
        """\
        [[datasets]]
        name = "train"
        loader = "npz"
        location = "train.npz"
        role = "train"
        [[datasets]]
        name = "val"
        loader = "npz"
        location = "val.npz"
        [[datasets]]
        name = "shifted"
        loader = "npz"
        location = "shifted.npz"
        [[datasets]]
        name = "subset"
        loader = "npz"
        location = "subset.npz"
        contract = "subset"
        classes = [0, 2]
        """
    )
    text += textwrap.dedent(extra_datasets) + "\n" + method_toml
    path = root / f"{name}.toml"
    path.write_text(text)
    return path
