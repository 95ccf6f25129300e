"""The ImageNet-1k class index convention: position of the wnid in the sorted list of the 1000 wnids.

Every ImageNet loader labels images with this index (torchvision ``ImageFolder``, timm, and ReaL's
``real.json`` use it); the devkit's ILSVRC2012_ID numbering is converted to it. The wnid list is the
one timm ships (``timm/data/_info/imagenet_synsets.txt``), so no download is needed.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from ..errors import DatasetError, SpecError

NUM_CLASSES = 1000
WNID_PATTERN = re.compile(r"^n\d{8}$")
SYNSETS_RESOURCE = "package:timm/data/_info/imagenet_synsets.txt"
R_INDICES_RESOURCE = "package:timm/data/_info/imagenet_r_indices.txt"
A_INDICES_RESOURCE = "package:timm/data/_info/imagenet_a_indices.txt"


def is_wnid(name: str) -> bool:
    """Whether ``name`` looks like a WordNet id (``n`` + 8 digits), such as ``n01440764``."""
    return bool(WNID_PATTERN.match(name))


@cache
def imagenet_wnids() -> tuple[str, ...]:
    """The 1000 ImageNet-1k wnids in class-index order (sorted), from timm's shipped list."""
    from ..suite.resources import resolve_resource

    path = resolve_resource(SYNSETS_RESOURCE, Path("."))
    try:
        wnids = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    except OSError as exc:  # pragma: no cover - timm is a dependency
        raise DatasetError(f"cannot read the ImageNet class list {path} shipped with timm ({exc})") from exc
    if len(wnids) != NUM_CLASSES or list(wnids) != sorted(set(wnids)) or not all(map(is_wnid, wnids)):
        raise DatasetError(f"{path}: expected 1000 sorted unique wnids, found {len(wnids)} lines")  # pragma: no cover
    return wnids


@cache
def wnid_index() -> dict[str, int]:
    """Map each wnid to its class index 0..999."""
    return {wnid: index for index, wnid in enumerate(imagenet_wnids())}


def index_of(wnid: str) -> int | None:
    """The class index of ``wnid``, or None when it is not one of the 1000 ImageNet-1k classes."""
    return wnid_index().get(wnid)


def read_class_list(path: Path, dataset: str) -> tuple[int, ...]:
    """Class indices from a file: one per line, either an index 0..999 or a wnid.

    timm's ``imagenet_r_indices.txt`` / ``imagenet_a_indices.txt`` (indices) and
    ``imagenet_r_synsets.txt`` / ``imagenet_a_synsets.txt`` (wnids) both work.

    Raises:
        SpecError: the file is missing, or a line is neither a valid index nor an ImageNet-1k wnid.
    """
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except OSError as exc:
        raise SpecError(f"dataset {dataset!r}: cannot read classes_file {path} ({exc.strerror})") from exc
    indices: list[int] = []
    for number, line in enumerate(lines, start=1):
        if not line or line.startswith("#"):
            continue
        index = int(line) if line.isdigit() else index_of(line)
        if index is None or not 0 <= index < NUM_CLASSES:
            raise SpecError(
                f"dataset {dataset!r}: classes_file {path} line {number}: expected a class index 0..999 or an "
                f"ImageNet-1k wnid such as n01440764, found {line!r}"
            )
        indices.append(index)
    if not indices:
        raise SpecError(f"dataset {dataset!r}: classes_file {path} lists no classes")
    return tuple(sorted(set(indices)))
