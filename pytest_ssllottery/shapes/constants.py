"""Constants shared by the shapes image family, its zoo and its suite."""

from __future__ import annotations

IMAGE_SIZE = 32
NUM_CLASSES = 10
# Per-channel normalisation applied to every shapes image (pixel / 255 - mean) / std.
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)
DEFAULT_SEED = 0
ARCH = "shapes_resnet"
