"""Run-time choices that are not part of a suite (kept free of heavy imports: the plugin loads it always)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .features import ExtractionSettings


@dataclass(frozen=True)
class RunSettings:
    """Run-time choices that are not part of the suite."""

    cache_dir: Path = Path(".ssl_cache")
    data_root: Path | None = None
    checkpoint_dir: Path | None = None
    dataset_paths: Mapping[str, Path] = field(default_factory=dict)
    device: str = "cpu"
    batch_size: int = 256
    num_workers: int = 0
    trust_checkpoints: bool = False
    skip_corrupt: bool = False

    def extraction(self) -> ExtractionSettings:
        """The extraction part of the settings."""
        from .features import ExtractionSettings

        return ExtractionSettings(self.device, self.batch_size, self.num_workers, self.skip_corrupt)
