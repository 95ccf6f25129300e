"""Loader kind ``npz``: a dataset stored as arrays in one ``.npz`` file.

Keys: ``images`` (uint8, N x H x W x 3), ``labels`` (int, N); for ``multilabel`` also ``label_sets``
(int, M) with ``label_offsets`` (int, N + 1) in CSR form; for ``subset`` optionally ``classes``.
Useful for small custom benchmarks and for tests.
"""

from __future__ import annotations

import zipfile

import numpy as np

from ..errors import DatasetError
from ..suite.spec import DatasetSpec
from . import register_loader
from .base import EvalDataset, LoadContext, reject_unknown_options
from .labels import Labels
from .sources import ArraySource


def _label_sets(archive: dict[str, np.ndarray], path: str, count: int) -> tuple[frozenset[int], ...]:
    if "label_sets" not in archive or "label_offsets" not in archive:
        raise DatasetError(f"{path}: a multilabel npz needs `label_sets` and `label_offsets` (CSR) arrays")
    offsets = archive["label_offsets"]
    if offsets.shape != (count + 1,) or offsets[0] != 0 or np.any(np.diff(offsets) < 0):
        raise DatasetError(f"{path}: `label_offsets` must be N + 1 = {count + 1} non-decreasing offsets from 0")
    values = archive["label_sets"]
    return tuple(frozenset(int(v) for v in values[offsets[i] : offsets[i + 1]]) for i in range(count))


@register_loader("npz", {})
def load_npz(spec: DatasetSpec, context: LoadContext) -> EvalDataset:
    """Read ``location`` (a .npz file under the data root, or absolute)."""
    reject_unknown_options(spec.name, "npz", spec.options, ())
    path = context.location(spec.name, spec.location)
    if not path.is_file():
        raise DatasetError(f"dataset {spec.name!r}: expected an .npz file at {path}, found nothing there")
    try:
        with np.load(path, allow_pickle=False) as handle:
            archive = {key: handle[key] for key in handle.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"dataset {spec.name!r}: {path} is not a readable .npz file ({exc})") from exc
    images, labels = archive.get("images"), archive.get("labels")
    if images is None or labels is None:
        raise DatasetError(f"dataset {spec.name!r}: {path} needs `images` and `labels` arrays; found {sorted(archive)}")
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3 or labels.shape != (images.shape[0],):
        raise DatasetError(
            f"dataset {spec.name!r}: {path}: expected images uint8 (N, H, W, 3) and labels (N,), "
            f"found images {images.dtype} {images.shape} and labels {labels.shape}"
        )
    sets = _label_sets(archive, str(path), len(labels)) if spec.contract == "multilabel" else None
    classes = spec.classes
    if spec.contract == "subset" and classes is None and "classes" in archive:
        classes = tuple(int(c) for c in archive["classes"])
    if spec.contract == "subset" and not classes:
        raise DatasetError(f"dataset {spec.name!r}: contract = 'subset' needs `classes` in the suite or in {path}")
    built = Labels(spec.contract, context.num_classes, labels.astype(np.int64), sets, classes)  # type: ignore[arg-type]
    return EvalDataset(spec.name, ArraySource(np.ascontiguousarray(images)), built)
