"""The visibility rule: when an object counts as recognisably present in an image.

Used for the ``real`` label sets (an object is in the set exactly when it is visible) and to keep the
``adversarial`` images fair (the true object must be visible). An object is visible when all hold:

- ``area >= MIN_AREA_PX``: at least 20 of the 1024 pixels show it, after occlusion;
- ``in_frame >= MIN_IN_FRAME``: at least half of its outline's area lies inside the frame;
- ``unoccluded >= MIN_UNOCCLUDED``: at least half of what is drawn is not covered by other layers;
- ``contrast >= MIN_CONTRAST``: the median, over the pixels bordering it (within 2 px, a 5 x 5
  square), of the RGB distance (in units of 255) between that pixel and the mean colour of its
  pixels is at least 0.12; a median, so that other objects touching a faint object do not make it
  count as visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .raster import Alpha, Paint

MIN_AREA_PX = 20.0
MIN_IN_FRAME = 0.5
MIN_UNOCCLUDED = 0.5
MIN_CONTRAST = 0.12


@dataclass(frozen=True)
class Visibility:
    """Measurements of one object in one rendered image."""

    area: float
    in_frame: float
    unoccluded: float
    contrast: float

    @property
    def visible(self) -> bool:
        """Whether the object passes every threshold of the rule."""
        return (
            self.area >= MIN_AREA_PX
            and self.in_frame >= MIN_IN_FRAME
            and self.unoccluded >= MIN_UNOCCLUDED
            and self.contrast >= MIN_CONTRAST
        )


def _grow(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Dilate by 2 px in each direction (a 5 x 5 square), separably."""
    rows = mask.copy()
    rows[1:] |= mask[:-1]
    rows[2:] |= mask[:-2]
    rows[:-1] |= mask[1:]
    rows[:-2] |= mask[2:]
    out = rows.copy()
    out[:, 1:] |= rows[:, :-1]
    out[:, 2:] |= rows[:, :-2]
    out[:, :-1] |= rows[:, 1:]
    out[:, :-2] |= rows[:, 2:]
    return out


def measure(image: Paint, visible: Alpha, drawn: Alpha, outline_area_px: float) -> Visibility:
    """Apply the rule's measurements to one object.

    Args:
        image: The final composited image, float RGB in [0, 255].
        visible: The object's coverage after occlusion.
        drawn: The object's coverage before occlusion (clipped to the frame).
        outline_area_px: The analytic area of its outline in pixels (inside and outside the frame).
    """
    area = float(visible.sum())
    drawn_area = float(drawn.sum())
    in_frame = min(1.0, drawn_area / outline_area_px) if outline_area_px > 0 else 0.0
    unoccluded = area / drawn_area if drawn_area > 0 else 0.0
    inside = (visible >= 0.75).ravel()
    border = (_grow(visible > 0.25) & (visible < 0.05)).ravel()
    count = int(np.count_nonzero(inside))
    if count == 0 or not border.any():
        return Visibility(area, in_frame, unoccluded, 0.0)
    pixels = image.reshape(-1, 3)
    diff = pixels[border] - pixels[inside].sum(axis=0) / count
    distances = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    middle = len(distances) // 2
    contrast = float(np.partition(distances, middle)[middle]) / 255.0  # the (upper) median
    return Visibility(area, in_frame, unoccluded, contrast)
