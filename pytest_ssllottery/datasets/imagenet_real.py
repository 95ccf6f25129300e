"""Loader kind ``imagenet-real``: ImageNet-ReaL, the val images scored against the reassessed label sets.

``real.json`` is a list of 50,000 lists: element ``i`` holds the valid class indices (sorted-wnid order) of
``ILSVRC2012_val_{i+1:08d}.JPEG``. Images with an empty list (3,163) are not scored, which leaves 46,837.
The file shipped with timm (byte-identical to google-research/reassessed-imagenet's ``real.json``) is used
unless ``options.labels`` names another. The val folder may be in either layout (flat or wnid folders);
it is listed exactly as ``imagenet-val`` lists it, so both share cached features.

Options: ``labels``, ``expected_count`` (scored images, default 46,837), ``require_all_classes``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..suite.spec import DatasetSpec
from . import register_loader
from .base import EvalDataset, LoadContext
from .imagenet_classes import NUM_CLASSES
from .imagenet_listing import preview
from .imagenet_options import SHARED_OPTIONS, DatasetOptions, check_contract, check_count, check_num_classes
from .imagenet_val import list_val
from .labels import Labels
from .option_schema import IMAGENET_SHARED, Option

REAL_SCORED = 46_837
REAL_LABELS_RESOURCE = "package:timm/data/_info/imagenet_real_labels.json"


def read_real_labels(path: Path) -> list[frozenset[int]]:
    """The label sets of ``real.json``, one per val file number (index 0 = ``ILSVRC2012_val_00000001``).

    Raises:
        DatasetError: unreadable file or entries that are not lists of class indices 0..999.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot read the ReaL labels {path} ({exc})") from exc
    if not isinstance(data, list):
        raise DatasetError(f"{path}: expected a JSON list of label lists (real.json), found {type(data).__name__}")
    sets: list[frozenset[int]] = []
    for i, entry in enumerate(data):
        if not isinstance(entry, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) and 0 <= c < NUM_CLASSES for c in entry
        ):
            raise DatasetError(
                f"{path}: entry {i} (ILSVRC2012_val_{i + 1:08d}.JPEG) must be a list of class indices 0..999, "
                f"found {entry!r}"
            )
        sets.append(frozenset(entry))
    return sets


@register_loader("imagenet-real", {**IMAGENET_SHARED, "labels": Option("path")})
def load_real(spec: DatasetSpec, context: LoadContext) -> EvalDataset:
    """ImageNet-ReaL: val images, multilabel contract, empty label sets excluded from scoring."""
    options = DatasetOptions(spec, (*SHARED_OPTIONS, "labels"))
    expected_count = options.expected_count(REAL_SCORED)
    check_num_classes(spec, context)
    check_contract(spec, "multilabel")
    labels_path = options.path("labels", context, REAL_LABELS_RESOURCE)
    assert labels_path is not None
    real = read_real_labels(labels_path)
    listing = list_val(spec, context, options, need_numbers=True)
    beyond = [int(n) for n in listing.numbers if not 1 <= n <= len(real)]
    if beyond:
        names = [f"ILSVRC2012_val_{n:08d}.JPEG" for n in beyond]
        raise DatasetError(
            f"dataset {spec.name!r}: {labels_path} has {len(real):,} entries, so it has no label set for "
            f"{preview(names)} under {listing.root}; use the real.json of these images (options.labels)"
        )
    sets = tuple(real[int(n) - 1] for n in listing.numbers)
    scored = sum(1 for s in sets if s)
    check_count(spec, scored, expected_count, "scored ReaL images (non-empty label sets)", listing.root)
    targets = listing.folder_labels if listing.folder_labels is not None else np.full(len(sets), -1, dtype=np.int64)
    return EvalDataset(spec.name, listing.source, Labels("multilabel", context.num_classes, targets, sets))
