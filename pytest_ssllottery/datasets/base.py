"""What every dataset loader returns, and what it is given."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .labels import Labels
from .sources import ImageSource


@dataclass(frozen=True)
class EvalDataset:
    """Images plus their labels under a scoring contract."""

    name: str
    images: ImageSource
    labels: Labels

    def __post_init__(self) -> None:
        if len(self.images) != len(self.labels):
            raise ValueError(f"dataset {self.name}: {len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.images)

    def fingerprint(self) -> str:
        """Identity of images and labels together (what a stored per-sample baseline is keyed by)."""
        return hashlib.sha256(f"{self.images.fingerprint()}:{self.labels.fingerprint()}".encode()).hexdigest()

    def subset(self, indices: np.ndarray) -> EvalDataset:
        """The images at ``indices`` with their labels."""
        return EvalDataset(self.name, self.images.subset(indices), self.labels.subset(indices))


@dataclass(frozen=True)
class LoadContext:
    """Everything a loader may need besides its DatasetSpec."""

    num_classes: int
    data_root: Path | None = None
    cache_dir: Path = Path(".ssl_cache")
    suite_dir: Path = Path(".")
    overrides: Mapping[str, Path] = field(default_factory=dict)

    def resolved(self, name: str, location: str) -> Path | None:
        """Where dataset ``name`` lives, or None when it lies under a data root that was not given."""
        if name in self.overrides:
            return self.overrides[name]
        path = Path(location).expanduser()
        if path.is_absolute():
            return path
        return None if self.data_root is None else self.data_root / path

    def location(self, name: str, location: str) -> Path:
        """Where dataset ``name`` lives: a ``--ssl-dataset-path`` override, else ``location`` under the data root."""
        found = self.resolved(name, location)
        if found is None:
            from ..errors import DatasetError

            raise DatasetError(
                f"dataset {name!r} lives at {location!r} under the data root, but no data root was given; "
                f"pass --ssl-data-root=/path/to/data or --ssl-dataset-path {name}=/path/to/{location}"
            )
        return found


def reject_unknown_options(
    spec_name: str, loader: str, options: Mapping[str, object], allowed: tuple[str, ...]
) -> None:
    """Fail on loader options this loader does not define (catches typos in the suite or on the command line)."""
    from ..errors import SpecError

    unknown = sorted(set(options) - set(allowed))
    if unknown:
        expected = ", ".join(allowed) if allowed else "none"
        raise SpecError(
            f"dataset {spec_name!r}: unknown option(s) {unknown} for loader {loader!r}; expected: {expected}"
        )
