"""Loader kind ``imagenet-v2``: ImageNetV2, three test sets of 10,000 images in folders named by class index.

As distributed (huggingface.co/datasets/vaishaal/ImageNetV2), each tar extracts to a folder holding
``0/`` … ``999/``, where folder ``k`` is sorted-wnid class ``k``. The folders are ordered numerically:
sorting them as text (``"10" < "2"``, what ``torchvision.datasets.ImageFolder`` does) would shift the labels.

``location`` is the folder holding the extracted variant folder(s), or a variant folder itself.
Options: ``variant`` (``matched-frequency`` (default), ``threshold-0.7``, ``top-images``),
``expected_count`` (default 10,000), ``require_all_classes``.
"""

from __future__ import annotations

import numpy as np

from ..errors import DatasetError
from ..suite.spec import DatasetSpec
from . import register_loader
from .base import EvalDataset, LoadContext
from .imagenet_classes import NUM_CLASSES
from .imagenet_listing import Entries, file_source, layout_error, list_folders, open_root, preview, scan
from .imagenet_options import (
    SHARED_OPTIONS,
    DatasetOptions,
    check_contract,
    check_count,
    check_empty_folders,
    check_num_classes,
)
from .labels import Labels
from .option_schema import IMAGENET_SHARED, Option

V2_SIZE = 10_000
# Variant -> folder names it extracts to (first: the current Hugging Face tars; then older S3 names and the
# ImageNetV2_pytorch package's folder).
VARIANT_FOLDERS: dict[str, tuple[str, ...]] = {
    "matched-frequency": ("imagenetv2-matched-frequency-format-val", "ImageNetV2-matched-frequency"),
    "threshold-0.7": (
        "imagenetv2-threshold0.7-format-val",
        "imagenetv2-threshold-0.7-format-val",
        "ImageNetV2-threshold-0.7",
    ),
    "top-images": ("imagenetv2-top-images-format-val", "ImageNetV2-top-images"),
}
LAYOUT = (
    "ImageNetV2 as extracted from imagenetv2-<variant>.tar.gz: a folder such as "
    "imagenetv2-matched-frequency-format-val/ holding class folders 0/ … 999/ of .jpeg files"
)


def _variant_of(name: str) -> str | None:
    return next((v for v, names in VARIANT_FOLDERS.items() if name in names), None)


def _is_class_folder(name: str) -> bool:
    return name.isdigit() and str(int(name)) == name and int(name) < NUM_CLASSES


def variant_folder(spec: DatasetSpec, entries: Entries, variant: str) -> Entries:
    """The entries of the variant's class-folder level, whether ``entries`` is that level or its parent.

    Raises:
        DatasetError: the folder is another variant, or the variant's folder is not found.
    """
    is_parent = any(_variant_of(d) for d in entries.dirs)
    if not is_parent and any(d.isdigit() for d in entries.dirs):
        named = _variant_of(entries.path.name)
        if named is not None and named != variant:
            raise DatasetError(
                f"dataset {spec.name!r}: {entries.path} is the ImageNetV2 {named!r} test set, but options.variant is "
                f"{variant!r}. Point at the {variant!r} folder ({VARIANT_FOLDERS[variant][0]}), or score the "
                f"{named!r} set with --ssl-dataset-option {spec.name}.variant={named}"
            )
        return entries
    for name in VARIANT_FOLDERS[variant]:
        if name in entries.dirs:
            return scan(entries.path / name)
    others = [d for d in entries.dirs if _variant_of(d) not in (None, variant)]
    problem = f"No folder {VARIANT_FOLDERS[variant][0]!r} for options.variant = {variant!r}."
    if others:
        problem += f" It holds other variants ({', '.join(others)}); set options.variant to score one of them."
    raise layout_error(spec, entries, LAYOUT, problem)


def class_folders(spec: DatasetSpec, entries: Entries, require_all: bool) -> list[str]:
    """The class folders ``0`` … ``999``, sorted numerically.

    Raises:
        DatasetError: folders that are not class numbers, or (``require_all``) missing ones.
    """
    bad = [d for d in entries.dirs if not _is_class_folder(d)]
    if bad or not entries.dirs:
        problem = f"Folders that are not class numbers 0..999: {preview(bad)}."
        if any(d.startswith("n") for d in bad):
            problem += " Wnid-named folders: use loader 'imagenet-folders' for them."
        raise layout_error(spec, entries, LAYOUT, problem)
    found = sorted(entries.dirs, key=int)
    if require_all and len(found) != NUM_CLASSES:
        missing = sorted(set(range(NUM_CLASSES)) - {int(d) for d in found})
        raise DatasetError(
            f"dataset {spec.name!r}: {entries.path} has {len(found)} of the 1000 class folders; missing "
            f"{preview([str(m) for m in missing])}. The extraction is incomplete; to score the folders present "
            f"anyway, pass --ssl-dataset-option {spec.name}.require_all_classes=false"
        )
    return found


@register_loader("imagenet-v2", {**IMAGENET_SHARED, "variant": Option("text", tuple(VARIANT_FOLDERS))})
def load_v2(spec: DatasetSpec, context: LoadContext) -> EvalDataset:
    """ImageNetV2 (one variant), 1000-way, label = the numeric folder name."""
    options = DatasetOptions(spec, (*SHARED_OPTIONS, "variant"))
    expected_count = options.expected_count(V2_SIZE)
    check_num_classes(spec, context)
    check_contract(spec, "full")
    variant = options.string("variant", "matched-frequency", tuple(VARIANT_FOLDERS))
    assert variant is not None
    root = context.location(spec.name, spec.location)
    entries = variant_folder(spec, open_root(spec, context, root, LAYOUT), variant)
    folders = class_folders(spec, entries, options.require_all_classes)
    files, counts = list_folders(entries.path, folders)
    if options.require_all_classes:
        check_empty_folders(spec, entries.path, folders, counts)
    check_count(spec, len(files), expected_count, f"ImageNetV2 {variant} images", entries.path)
    targets = np.repeat(np.array([int(f) for f in folders], dtype=np.int64), counts)
    return EvalDataset(spec.name, file_source(entries.path, files), Labels("full", context.num_classes, targets))
