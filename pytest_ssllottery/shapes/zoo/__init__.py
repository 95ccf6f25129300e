"""The mini SSL zoo of the embedded ``shapes`` benchmark.

Small ``shapes_resnet`` backbones pretrained on the ``train`` split by real implementations of the SSL
objectives of the ImageNet-variants benchmark, each saved in the layout of that method's official
release so that it loads through :func:`pytest_ssllottery.checkpoints.backbone.load_backbone` like a real
checkpoint. Retrain with ``python -m pytest_ssllottery.shapes.zoo`` (see ``docs/zoo.md``).

This module stays import-light (no torch) so that the image generator can find the filter checkpoint.
"""

from __future__ import annotations

from pathlib import Path

# Zoo members in the order they are trained and reported.
ZOO_MEMBERS: tuple[str, ...] = (
    "supervised",
    "random",
    "simclr",
    "moco_v2",
    "byol",
    "simsiam",
    "barlow_twins",
    "vicreg",
    "swav",
    "dino",
)
# The fixed reference classifier that filters the adversarial split; trained first, not a zoo member.
FILTER = "filter"
ALL_CHECKPOINTS: tuple[str, ...] = (FILTER, *ZOO_MEMBERS)

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
MANIFEST_NAME = "MANIFEST.json"
FINGERPRINTS_NAME = "fingerprints.npz"


def checkpoint_path(name: str, root: Path | None = None) -> Path:
    """The ``.pth`` file of a zoo member or of the filter.

    Args:
        name: One of :data:`ALL_CHECKPOINTS`.
        root: Checkpoint folder; the package's shipped ``checkpoints`` folder by default.

    Raises:
        ValueError: ``name`` is neither a zoo member nor the filter.
    """
    if name not in ALL_CHECKPOINTS:
        raise ValueError(f"unknown zoo checkpoint {name!r}; expected one of {', '.join(ALL_CHECKPOINTS)}")
    return (CHECKPOINT_DIR if root is None else root) / f"{name}.pth"


__all__ = [
    "ALL_CHECKPOINTS",
    "CHECKPOINT_DIR",
    "FILTER",
    "FINGERPRINTS_NAME",
    "MANIFEST_NAME",
    "ZOO_MEMBERS",
    "checkpoint_path",
]
