"""Loader kinds for ImageNet sets distributed as one folder per wnid.

- ``imagenet-train``: ILSVRC2012 train, ``train/n01440764/n01440764_10026.JPEG``; 1000 folders, 1,281,167 images.
- ``imagenet-sketch``: ImageNet-Sketch, ``sketch/<wnid>/*.JPEG``; 1000 folders, 50,889 images.
- ``imagenet-r``: ImageNet-Rendition, ``imagenet-r/<wnid>/*.jpg``; 200 folders, 30,000 images, contract ``subset``.
- ``imagenet-a``: ImageNet-Adversarial, ``imagenet-a/<wnid>/*.jpg``; 200 folders, 7,500 images, contract ``subset``.
- ``imagenet-folders``: any other wnid-folder set (no published size; ``subset`` needs ``classes``/``classes_file``).

Labels are sorted-wnid class indices 0..999. For the 200-class sets the logits are restricted to the
classes of ``classes_file`` (default: the list timm ships) and the folders found must be among them.
Options: ``expected_count``, ``require_all_classes`` (see ``imagenet_options``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError, SpecError
from ..suite.spec import DatasetSpec
from . import register_loader
from .base import EvalDataset, LoadContext
from .imagenet_classes import A_INDICES_RESOURCE, R_INDICES_RESOURCE, imagenet_wnids, index_of, is_wnid
from .imagenet_classes import read_class_list as _read_class_list
from .imagenet_listing import Entries, file_source, layout_error, list_folders, open_root, preview
from .imagenet_options import (
    SHARED_OPTIONS,
    DatasetOptions,
    check_contract,
    check_count,
    check_empty_folders,
    check_num_classes,
)
from .labels import Labels
from .option_schema import IMAGENET_SHARED


@dataclass(frozen=True)
class FolderSet:
    """What one wnid-folder dataset looks like as distributed."""

    title: str
    published: int
    contract: str | None
    classes_resource: str | None
    layout: str


FOLDER_SETS: dict[str, FolderSet] = {
    "imagenet-train": FolderSet(
        "ImageNet-1k train", 1_281_167, "full", None, "1000 wnid folders (train/n01440764/n01440764_10026.JPEG, …)"
    ),
    "imagenet-sketch": FolderSet(
        "ImageNet-Sketch",
        50_889,
        "full",
        None,
        "1000 wnid folders as unzipped from ImageNet-Sketch.zip (sketch/n01440764/*.JPEG)",
    ),
    "imagenet-r": FolderSet(
        "ImageNet-R",
        30_000,
        "subset",
        R_INDICES_RESOURCE,
        "200 wnid folders as extracted from imagenet-r.tar (imagenet-r/n01443537/*.jpg)",
    ),
    "imagenet-a": FolderSet(
        "ImageNet-A",
        7_500,
        "subset",
        A_INDICES_RESOURCE,
        "200 wnid folders as extracted from imagenet-a.tar (imagenet-a/n01498041/*.jpg)",
    ),
    "imagenet-folders": FolderSet("wnid-folder", 0, None, None, "one folder per ImageNet-1k wnid (n01440764/, …)"),
}


def subset_classes(spec: DatasetSpec, context: LoadContext, default_resource: str | None) -> tuple[int, ...]:
    """The classes a ``subset`` dataset is scored over: ``classes``, else ``classes_file``, else the default list.

    Raises:
        SpecError: none is given, or an index is out of range.
    """
    from ..suite.resources import resolve_resource

    if spec.classes is not None:
        bad = [c for c in spec.classes if not 0 <= c < 1000]
        if bad:
            raise SpecError(f"dataset {spec.name!r}: `classes` must be ImageNet-1k indices 0..999, found {bad[:5]}")
        return tuple(sorted(set(spec.classes)))
    reference = spec.classes_file or default_resource
    if reference is None:
        raise SpecError(
            f"dataset {spec.name!r}: contract = 'subset' needs `classes` or `classes_file` "
            '(e.g. classes_file = "package:timm/data/_info/imagenet_r_indices.txt")'
        )
    return _read_class_list(resolve_resource(reference, context.suite_dir), spec.name)


def wnid_folders(
    spec: DatasetSpec, entries: Entries, expected: Sequence[str], require_all: bool, layout: str, what: str
) -> list[str]:
    """The class folders of ``entries``, checked against the ``expected`` wnids, in class-index order.

    Raises:
        DatasetError: no folders, folders that are not wnids or not among ``expected``, or (with
            ``require_all``) missing ones; the message lists the offending names.
    """
    wanted = set(expected)
    found = list(entries.dirs)
    if not found or not all(is_wnid(d) for d in found):
        numeric = found and all(d.isdigit() for d in found)
        problem = "Numeric folders 0..999 are the ImageNetV2 layout (loader imagenet-v2)." if numeric else ""
        raise layout_error(spec, entries, layout, problem)
    foreign = [d for d in found if d not in wanted]
    if foreign:
        known = [d for d in foreign if index_of(d) is not None]
        kind = "ImageNet-1k wnids outside" if len(known) == len(foreign) else "folders that are not"
        raise DatasetError(
            f"dataset {spec.name!r}: {entries.path} has {len(foreign)} {kind} the {len(wanted)} classes of {what}: "
            f"{preview(foreign)}. Expected {layout}. Check that the folder is the right dataset, or that the "
            "suite's `classes_file` is the class list of this dataset"
        )
    missing = sorted(wanted - set(found))
    if missing and require_all:
        raise DatasetError(
            f"dataset {spec.name!r}: {entries.path} has {len(found)} of the {len(wanted)} class folders of {what}; "
            f"missing {preview(missing)}. The download or extraction is incomplete; to score the folders present "
            f"anyway, pass --ssl-dataset-option {spec.name}.require_all_classes=false"
        )
    return sorted(found)


def load_folder_set(spec: DatasetSpec, context: LoadContext, folder_set: FolderSet) -> EvalDataset:
    """Read a wnid-folder dataset and label it with sorted-wnid class indices."""
    options = DatasetOptions(spec, SHARED_OPTIONS)
    expected_count, require_all = options.expected_count(folder_set.published), options.require_all_classes
    check_num_classes(spec, context)
    if folder_set.contract is not None:
        check_contract(spec, folder_set.contract)
    elif spec.contract not in ("full", "subset"):
        raise SpecError(f"dataset {spec.name!r}: loader {spec.loader!r} supports contract 'full' or 'subset'")
    classes: tuple[int, ...] | None = None
    expected: Sequence[str] = imagenet_wnids()
    what = "ImageNet-1k"
    if spec.contract == "subset":
        classes = subset_classes(spec, context, folder_set.classes_resource)
        if folder_set.classes_resource and len(classes) != 200:
            raise SpecError(
                f"dataset {spec.name!r}: {folder_set.title} is scored over its 200 classes, but the class list has "
                f"{len(classes)}; remove `classes`/`classes_file` to use timm's list, or use loader "
                "'imagenet-folders' for a custom subset"
            )
        expected = [imagenet_wnids()[c] for c in classes]
        source = spec.classes_file or folder_set.classes_resource or "`classes` in the suite"
        title = folder_set.title if folder_set.contract is not None else "the subset"
        what = f"{title} ({source})"
    elif folder_set.contract is not None:
        what = folder_set.title
    root: Path = context.location(spec.name, spec.location)
    entries = open_root(spec, context, root, folder_set.layout)
    folders = wnid_folders(spec, entries, expected, require_all, folder_set.layout, what)
    files, counts = list_folders(root, folders)
    if require_all:
        check_empty_folders(spec, root, folders, counts)
    check_count(spec, len(files), expected_count, "images", root)
    indices = np.array([index_of(f) for f in folders], dtype=np.int64)
    targets = np.repeat(indices, counts)
    labels = Labels(spec.contract, context.num_classes, targets, None, classes)  # type: ignore[arg-type]
    return EvalDataset(spec.name, file_source(root, files), labels)


def _register(kind: str) -> None:
    folder_set = FOLDER_SETS[kind]

    @register_loader(kind, IMAGENET_SHARED)
    def load(spec: DatasetSpec, context: LoadContext) -> EvalDataset:
        return load_folder_set(spec, context, folder_set)

    load.__doc__ = f"Loader kind {kind!r}: {folder_set.title}, {folder_set.layout}."


for _kind in FOLDER_SETS:
    _register(_kind)
