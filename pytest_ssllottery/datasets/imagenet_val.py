"""Loader kind ``imagenet-val``: the 50,000 ILSVRC2012 val images in either distributed layout.

- wnid folders (``val/n01440764/ILSVRC2012_val_00000293.JPEG``, as torchvision's ``ImageNet`` or the
  common ``valprep.sh`` leave them): the label is the folder.
- flat (``val/ILSVRC2012_val_00000001.JPEG`` … as extracted from ``ILSVRC2012_img_val.tar``): labels from
  ``options.ground_truth`` (``val.txt`` lines or ``LOC_val_solution.csv``), else ``options.devkit``, else a
  devkit ``ILSVRC2012_devkit_t12.tar.gz`` (or its folder) or ``LOC_val_solution.csv`` found next to the val
  folder or in the data root. See ``imagenet_devkit`` for the ILSVRC2012_ID trap.

Options: ``expected_count`` (default 50,000), ``require_all_classes``, ``devkit``, ``ground_truth``,
``ground_truth_index`` (``"sorted"`` when a ground-truth file holds integer indices). Relative option paths
are under the data root. ImageNet-ReaL reuses this listing, so its images (and cached features) are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..suite.spec import DatasetSpec
from . import register_loader
from .base import EvalDataset, LoadContext
from .imagenet_classes import imagenet_wnids, index_of, is_wnid
from .imagenet_devkit import DEVKIT_NAMES, SOLUTION_NAMES, read_devkit, read_ground_truth, val_number
from .imagenet_folders import wnid_folders
from .imagenet_listing import file_source, is_image, layout_error, list_folders, open_root, preview
from .imagenet_options import SHARED_OPTIONS, DatasetOptions, check_contract, check_count, check_num_classes
from .labels import Labels
from .option_schema import IMAGENET_SHARED, Option
from .sources import FileSource

VAL_SIZE = 50_000
LAYOUT = (
    "the ILSVRC2012 val images either as 1000 wnid folders (val/n01440764/ILSVRC2012_val_00000293.JPEG) or flat "
    "as extracted from ILSVRC2012_img_val.tar (val/ILSVRC2012_val_00000001.JPEG … _00050000.JPEG)"
)
VAL_OPTIONS = (*SHARED_OPTIONS, "devkit", "ground_truth", "ground_truth_index")
VAL_SCHEMA = {
    **IMAGENET_SHARED,
    "devkit": Option("path"),
    "ground_truth": Option("path"),
    "ground_truth_index": Option("text", ("sorted", "wnid")),
}


@dataclass(frozen=True)
class ValListing:
    """The val images in a fixed order, their file numbers, and the folder labels when the layout has them."""

    root: Path
    source: FileSource
    numbers: np.ndarray
    folder_labels: np.ndarray | None
    flat: bool


def _numbers(spec: DatasetSpec, root: Path, files: list[str], need: bool) -> np.ndarray:
    numbers = [val_number(Path(f).name) for f in files]
    if need:
        bad = [f for f, n in zip(files, numbers, strict=True) if n is None]
        if bad:
            raise DatasetError(
                f"dataset {spec.name!r}: {root} has val images not named ILSVRC2012_val_XXXXXXXX.JPEG: {preview(bad)}; "
                "the file number is needed to look up their labels; keep the names as distributed"
            )
    return np.array([n if n is not None else 0 for n in numbers], dtype=np.int64)


def list_val(spec: DatasetSpec, context: LoadContext, options: DatasetOptions, need_numbers: bool) -> ValListing:
    """List the val folder in either layout (same order, hence the same manifest, for val and ReaL).

    Raises:
        DatasetError: missing folder, a layout that is neither (or both), or misnamed files.
    """
    root = context.location(spec.name, spec.location)
    entries = open_root(spec, context, root, LAYOUT)
    flat = [f for f in entries.files if val_number(f) is not None and is_image(f)]
    wnid_dirs = [d for d in entries.dirs if is_wnid(d)]
    if flat and wnid_dirs:
        raise layout_error(
            spec, entries, LAYOUT, f"It mixes {len(flat):,} flat val files with {len(wnid_dirs):,} wnid folders."
        )
    if flat:
        if entries.dirs:
            problem = f"Besides the flat val files it has folders {preview(entries.dirs)}."
            raise layout_error(spec, entries, LAYOUT, problem)
        source = file_source(root, flat)
        return ValListing(root, source, _numbers(spec, root, flat, True), None, True)
    if not entries.dirs:
        raise layout_error(spec, entries, LAYOUT, "No ILSVRC2012_val_XXXXXXXX.JPEG files and no wnid folders.")
    folders = wnid_folders(spec, entries, imagenet_wnids(), options.require_all_classes, LAYOUT, "ImageNet-1k val")
    files, counts = list_folders(root, folders)
    labels = np.repeat(np.array([index_of(f) for f in folders], dtype=np.int64), counts)
    return ValListing(root, file_source(root, files), _numbers(spec, root, files, need_numbers), labels, False)


def _places(root: Path, context: LoadContext) -> list[Path]:
    places = [root.parent, root]
    if context.data_root is not None and context.data_root not in places:
        places.append(context.data_root)
    return places


def _auto_source(root: Path, context: LoadContext) -> Path | None:
    for place in _places(root, context):
        for name in (*DEVKIT_NAMES, *SOLUTION_NAMES):
            if (place / name).exists():
                return place / name
    return None


def flat_labels(spec: DatasetSpec, context: LoadContext, options: DatasetOptions, listing: ValListing) -> np.ndarray:
    """Class indices of flat val files, from the configured or discovered label source.

    Raises:
        DatasetError: no label source, or a file the source has no label for.
    """
    truth = options.path("ground_truth", context)
    devkit = options.path("devkit", context)
    index_kind = options.string("ground_truth_index", None, ("sorted", "wnid"))
    if truth is None and devkit is None:
        found = _auto_source(listing.root, context)
        if found is None:
            places = ", ".join(str(p) for p in _places(listing.root, context))
            raise DatasetError(
                f"dataset {spec.name!r}: {listing.root} holds flat val files, whose names carry no class, and no "
                f"label source was found (looked for {', '.join(DEVKIT_NAMES + SOLUTION_NAMES)} in {places}). "
                "Put the devkit "
                "ILSVRC2012_devkit_t12.tar.gz next to the val folder, or set `options.devkit = PATH` or "
                "`options.ground_truth = PATH` (lines 'ILSVRC2012_val_00000001.JPEG n01751748', or Kaggle's "
                "LOC_val_solution.csv) on this dataset"
            )
        truth, devkit = (found, None) if found.name in SOLUTION_NAMES else (None, found)
    for key, path in (("ground_truth", truth), ("devkit", devkit)):
        if path is not None and not path.exists():
            raise DatasetError(f"dataset {spec.name!r}: options.{key} = {path}, but there is no such file")
    table = read_ground_truth(truth, index_kind) if truth is not None else read_devkit(devkit)  # type: ignore[arg-type]
    missing = [int(n) for n in listing.numbers if int(n) not in table]
    if missing:
        names = [f"ILSVRC2012_val_{n:08d}.JPEG" for n in missing]
        raise DatasetError(
            f"dataset {spec.name!r}: the label source {truth or devkit} has no label for {preview(names)}; "
            "it does not belong to these val files"
        )
    return np.array([table[int(n)] for n in listing.numbers], dtype=np.int64)


@register_loader("imagenet-val", VAL_SCHEMA)
def load_val(spec: DatasetSpec, context: LoadContext) -> EvalDataset:
    """ILSVRC2012 val, 1000-way, labelled with sorted-wnid class indices."""
    options = DatasetOptions(spec, VAL_OPTIONS)
    expected_count = options.expected_count(VAL_SIZE)
    options.string("ground_truth_index", None, ("sorted", "wnid"))
    check_num_classes(spec, context)
    check_contract(spec, "full")
    listing = list_val(spec, context, options, need_numbers=False)
    check_count(spec, len(listing.source), expected_count, "val images", listing.root)
    targets = listing.folder_labels
    if targets is None:
        targets = flat_labels(spec, context, options, listing)
    return EvalDataset(spec.name, listing.source, Labels("full", context.num_classes, targets))
