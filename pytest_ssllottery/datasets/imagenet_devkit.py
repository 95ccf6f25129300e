"""Labels of the flat ImageNet val files (``ILSVRC2012_val_00000001.JPEG`` …), whose names carry no class.

Sources, each mapped to sorted-wnid class indices 0..999:

- the devkit ``ILSVRC2012_devkit_t12.tar.gz`` (or its extracted folder): ``data/meta.mat`` maps each
  ILSVRC2012_ID (1..1000, the devkit's own order) to a wnid, and
  ``data/ILSVRC2012_validation_ground_truth.txt`` gives one ILSVRC2012_ID per val file. The IDs are NOT
  class indices: the first val image is listed as 490, which is n01751748 "sea snake", class index 65.
- a ground-truth file with one line per image: ``ILSVRC2012_val_00000001.JPEG n01751748`` (``val.txt``
  style; an integer instead of the wnid needs ``ground_truth_index = "sorted"``, as in caffe's
  ``val.txt``, because integers are ambiguous), or Kaggle's ``LOC_val_solution.csv``
  (``ImageId,PredictionString``; the first wnid of the prediction string is the class).
"""

from __future__ import annotations

import csv
import io
import re
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError
from .imagenet_classes import NUM_CLASSES, index_of

META_MAT = "data/meta.mat"
GROUND_TRUTH = "data/ILSVRC2012_validation_ground_truth.txt"
DEVKIT_NAMES = ("ILSVRC2012_devkit_t12.tar.gz", "ILSVRC2012_devkit_t12")
SOLUTION_NAMES = ("LOC_val_solution.csv",)
VAL_NAME = re.compile(r"^ILSVRC2012_val_(\d{8})(?:\.[A-Za-z]+)?$")


def val_number(name: str) -> int | None:
    """The 1-based number of a val file from its base name (``ILSVRC2012_val_00000293.JPEG`` -> 293)."""
    match = VAL_NAME.match(name)
    return int(match.group(1)) if match else None


def _devkit_members(path: Path) -> tuple[bytes, bytes]:
    """The bytes of meta.mat and of the ground-truth file, from the tar.gz or the extracted folder."""
    if path.is_dir():
        found: dict[str, bytes] = {}
        for suffix in (META_MAT, GROUND_TRUTH):
            candidates = [path / suffix, *(p / suffix for p in path.iterdir() if p.is_dir())]
            hit = next((c for c in candidates if c.is_file()), None)
            if hit is None:
                raise DatasetError(
                    f"devkit folder {path}: no {suffix} in it (nor one level down); expected the extracted "
                    "ILSVRC2012_devkit_t12.tar.gz (ILSVRC2012_devkit_t12/data/meta.mat and "
                    "data/ILSVRC2012_validation_ground_truth.txt)"
                )
            found[suffix] = hit.read_bytes()
        return found[META_MAT], found[GROUND_TRUTH]
    try:
        with tarfile.open(path, "r:*") as archive:
            members = {m.name: m for m in archive.getmembers() if m.isfile()}
            wanted: dict[str, bytes] = {}
            for suffix in (META_MAT, GROUND_TRUTH):
                name = next((n for n in members if n == suffix or n.endswith("/" + suffix)), None)
                if name is None:
                    raise DatasetError(
                        f"devkit {path}: no {suffix} inside; found {sorted(members)[:6]}. Expected "
                        "ILSVRC2012_devkit_t12.tar.gz from image-net.org (md5 fa75699e90414af021442c21a62c3abf)"
                    )
                handle = archive.extractfile(members[name])
                assert handle is not None
                wanted[suffix] = handle.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DatasetError(f"devkit {path} is not a readable tar archive ({exc}); download it again") from exc
    return wanted[META_MAT], wanted[GROUND_TRUTH]


def _field(record: Any, name: str) -> Any:
    value = record[name]
    while isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    return value


def id_to_wnid(meta_mat: bytes, source: Path) -> dict[int, str]:
    """ILSVRC2012_ID -> wnid for the 1000 leaf synsets of ``meta.mat`` (``num_children == 0``).

    Raises:
        DatasetError: the file is not a MATLAB file with the devkit's ``synsets`` struct.
    """
    import scipy.io

    try:
        synsets = scipy.io.loadmat(io.BytesIO(meta_mat), squeeze_me=True)["synsets"]
        records = [
            (int(_field(s, "ILSVRC2012_ID")), str(_field(s, "WNID")), int(_field(s, "num_children"))) for s in synsets
        ]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise DatasetError(
            f"{source}: meta.mat has no readable `synsets` struct with ILSVRC2012_ID, WNID and num_children ({exc})"
        ) from exc
    mapping = {ilsvrc_id: wnid for ilsvrc_id, wnid, children in records if children == 0}
    if sorted(mapping) != list(range(1, NUM_CLASSES + 1)):
        raise DatasetError(f"{source}: meta.mat lists {len(mapping)} leaf synsets; expected ILSVRC2012_ID 1..1000")
    unknown = [w for w in mapping.values() if index_of(w) is None]
    if unknown:
        raise DatasetError(f"{source}: meta.mat has wnids that are not ImageNet-1k classes: {unknown[:5]}")
    return mapping


def read_devkit(path: Path) -> dict[int, int]:
    """Val file number (1-based) -> class index, from the devkit archive or folder.

    Raises:
        DatasetError: the devkit is unreadable or inconsistent; names the file.
    """
    meta, truth = _devkit_members(path)
    mapping = id_to_wnid(meta, path)
    labels: dict[int, int] = {}
    for number, line in enumerate(truth.decode("ascii", errors="replace").split(), start=1):
        if not line.isdigit() or int(line) not in mapping:
            raise DatasetError(
                f"{path}: {GROUND_TRUTH} line {number}: expected an ILSVRC2012_ID 1..1000, found {line!r}"
            )
        wnid_class = index_of(mapping[int(line)])
        assert wnid_class is not None
        labels[number] = wnid_class
    return labels


def _label_of(token: str, path: Path, line: int, index_kind: str | None) -> int:
    """A class index from a ground-truth token: a wnid, or an integer when ``index_kind == 'sorted'``."""
    wnid_class = index_of(token)
    if wnid_class is not None:
        return wnid_class
    if token.isdigit():
        if index_kind == "sorted" and int(token) < NUM_CLASSES:
            return int(token)
        raise DatasetError(
            f"{path} line {line}: the label {token!r} is an integer, which is ambiguous: the devkit's ILSVRC2012_ID "
            "(1..1000, meta.mat order) is not the sorted-wnid class index (0..999). Use the devkit tar "
            '(options.devkit) for ILSVRC2012_IDs, or set `ground_truth_index = "sorted"` if the file holds '
            "0-based sorted-wnid indices (as caffe's val.txt does)"
        )
    raise DatasetError(f"{path} line {line}: expected an ImageNet-1k wnid such as n01751748, found {token!r}")


def read_ground_truth(path: Path, index_kind: str | None = None) -> dict[int, int]:
    """Val file number -> class index from a ``val.txt``-style file or Kaggle's ``LOC_val_solution.csv``.

    Raises:
        DatasetError: unreadable file, unknown file name or label; names the file and the line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read the val ground-truth file {path} ({exc})") from exc
    labels: dict[int, int] = {}
    if text.startswith("ImageId,"):
        rows = csv.reader(io.StringIO(text))
        next(rows)
        entries = ((row[0], (row[1].split() or [""])[0]) for row in rows if row)
    else:
        entries = (tuple(line.split()[:2]) for line in text.splitlines() if line.strip())  # type: ignore[misc]
    for line, entry in enumerate(entries, start=1):
        if len(entry) != 2:
            raise DatasetError(
                f"{path} line {line}: expected 'ILSVRC2012_val_00000001.JPEG n01751748' "
                f"(or LOC_val_solution.csv rows), found {' '.join(entry)!r}"
            )
        name, token = entry
        number = val_number(Path(name).name)
        if number is None:
            raise DatasetError(f"{path} line {line}: {name!r} is not a val file name like ILSVRC2012_val_00000001.JPEG")
        labels[number] = _label_of(token, path, line, index_kind)
    return labels


def find_label_source(candidates: Mapping[str, Path]) -> Path | None:
    """The first existing path among ``candidates`` (name -> path), or None."""
    for path in candidates.values():
        if path.exists():
            return path
    return None
