"""Geometry of the ten shape classes: outlines in unit coordinates and their placement.

Every class is a tuple of closed contours (``Contour``); a contour with ``hole=True`` is cut out of the
filled region (the ring's inner circle). Outlines are centred on the origin and fit inside the unit
disc with their farthest point near radius 1, so one ``radius`` in pixels sizes every class alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

CLASS_NAMES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle",
    "star",
    "cross",
    "ring",
    "hexagon",
    "heart",
    "arrow",
    "crescent",
)


@dataclass(frozen=True)
class Contour:
    """One closed outline: ``points`` is ``(K, 2)`` as (x, y), y pointing down; ``hole`` cuts it out."""

    points: FloatArray
    hole: bool = False


def _regular(sides: int, phase: float = -np.pi / 2) -> FloatArray:
    angles = phase + np.arange(sides) * (2 * np.pi / sides)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float64)


def _circle(radius: float = 1.0, centre: tuple[float, float] = (0.0, 0.0), points: int = 48) -> FloatArray:
    return _regular(points) * radius + np.asarray(centre, dtype=np.float64)


def _star() -> FloatArray:
    outer, inner = _regular(5), _regular(5, -np.pi / 2 + np.pi / 5) * 0.42
    return np.stack([outer, inner], axis=1).reshape(10, 2)


def _cross() -> FloatArray:
    a, b = 0.3, 0.9
    return np.array(
        [
            [-a, -b],
            [a, -b],
            [a, -a],
            [b, -a],
            [b, a],
            [a, a],
            [a, b],
            [-a, b],
            [-a, a],
            [-b, a],
            [-b, -a],
            [-a, -a],
        ]
    )


def _heart(points: int = 64) -> FloatArray:
    t = np.linspace(0.0, 2 * np.pi, points, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    xy: FloatArray = np.stack([x, y], axis=1)
    xy -= (xy.max(axis=0) + xy.min(axis=0)) / 2
    return xy * (0.95 / float(np.abs(xy).max()))


def _arrow() -> FloatArray:
    return np.array(
        [[-0.95, -0.22], [0.15, -0.22], [0.15, -0.6], [0.95, 0.0], [0.15, 0.6], [0.15, 0.22], [-0.95, 0.22]]
    )


def _crescent(points: int = 40) -> FloatArray:
    """Unit disc minus a disc of radius 0.8 shifted right by 0.45, as one polygon."""
    r2, d = 0.8, 0.45
    # Intersection of x^2 + y^2 = 1 and (x - d)^2 + y^2 = r2^2.
    x0 = (1 + d * d - r2 * r2) / (2 * d)
    phi = np.arccos(x0)  # outer-circle angle of the intersection
    psi = np.arccos((x0 - d) / r2)  # inner-circle angle of the same point
    outer_t = np.linspace(phi, 2 * np.pi - phi, points)
    inner_t = np.linspace(2 * np.pi - psi, psi, points)[1:-1]
    outer = np.stack([np.cos(outer_t), np.sin(outer_t)], axis=1)
    inner = np.stack([d + r2 * np.cos(inner_t), r2 * np.sin(inner_t)], axis=1)
    xy: FloatArray = np.concatenate([outer, inner])
    xy[:, 0] -= (xy[:, 0].max() + xy[:, 0].min()) / 2
    return xy


@cache
def class_contours(class_id: int) -> tuple[Contour, ...]:
    """Unit-size outlines of class ``class_id`` (0..9, in ``CLASS_NAMES`` order)."""
    name = CLASS_NAMES[class_id]
    if name == "circle":
        return (Contour(_circle(0.92)),)
    if name == "square":
        return (Contour(_regular(4, -np.pi / 4) * 0.98),)
    if name == "triangle":
        return (Contour(_regular(3) + np.array([0.0, 0.2])),)
    if name == "star":
        return (Contour(_star()),)
    if name == "cross":
        return (Contour(_cross()),)
    if name == "ring":
        return (Contour(_circle(0.95)), Contour(_circle(0.55), hole=True))
    if name == "hexagon":
        return (Contour(_regular(6, 0.0) * 0.95),)
    if name == "heart":
        return (Contour(_heart()),)
    if name == "arrow":
        return (Contour(_arrow()),)
    return (Contour(_crescent()),)


def place(
    contours: tuple[Contour, ...],
    centre: tuple[float, float],
    radius: float,
    angle: float,
    aspect: float = 1.0,
) -> tuple[Contour, ...]:
    """Rotate by ``angle`` (radians), stretch x by ``aspect``, scale by ``radius`` and move to ``centre``."""
    c, s = np.cos(angle), np.sin(angle)
    matrix = np.array([[c, -s], [s, c]]) @ np.diag([aspect, 1.0]) * radius
    offset = np.asarray(centre, dtype=np.float64)
    return tuple(Contour(contour.points @ matrix.T + offset, contour.hole) for contour in contours)


def polygon_area(points: FloatArray) -> float:
    """Unsigned area of a simple polygon (shoelace formula)."""
    x, y = points[:, 0], points[:, 1]
    cross = np.dot(x[:-1], y[1:]) - np.dot(y[:-1], x[1:]) + x[-1] * y[0] - y[-1] * x[0]
    return float(abs(cross) / 2)


def shape_area(contours: tuple[Contour, ...]) -> float:
    """Filled area: outer contours minus holes."""
    return sum(-polygon_area(c.points) if c.hole else polygon_area(c.points) for c in contours)
