"""Draw ``docs/img/shapes_contact_sheet.png``: a few images of every split of the shapes family.

Usage::

    python docs/img/shapes_contact_sheet.py [--reference PATH] [--out docs/img/shapes_contact_sheet.png]

The adversarial row needs a reference classifier (the shipped filter, or ``--reference``); without one
it shows unfiltered adversarial candidates and says so.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from pytest_ssllottery.errors import DatasetError
from pytest_ssllottery.shapes.adversarial import render_candidate_chunk
from pytest_ssllottery.shapes.family import ADVERSARIAL_CLASSES, CLASS_NAMES, default_reference
from pytest_ssllottery.shapes.generate import generate
from pytest_ssllottery.shapes.splits import rendition_label

ZOOM, GAP, LABEL_WIDTH, PER_ROW = 3, 4, 190, 12


def _rows(reference_path: Path | None) -> list[tuple[str, np.ndarray]]:
    base = generate(0, ("train", "val", "real", "v2", "rendition", "sketch"), None, scale=0.2, workers=1).splits
    real = base["real"]
    sets = real.label_sets or ()
    multi = [i for i, s in enumerate(sets) if len(s) >= 2][:PER_ROW]
    empty = [i for i, s in enumerate(sets) if not s][:PER_ROW]
    wrong = [i for i, s in enumerate(sets) if s and int(real.labels[i]) not in s][:PER_ROW]
    rendition = base["rendition"].images
    styles = [rendition_label(i)[1] for i in range(len(rendition))]

    def style(name: str) -> np.ndarray:
        return rendition[[i for i, s in enumerate(styles) if s == name][:PER_ROW]]

    rows = [
        ("train (photo)", base["train"].images[:PER_ROW]),
        ("val (photo)", base["val"].images[:PER_ROW]),
        ("real: 2+ labels", real.images[multi]),
        ("real: empty set", real.images[empty]),
        ("real: val label wrong", real.images[wrong]),
        ("v2 (shifted)", base["v2"].images[:PER_ROW]),
        ("rendition: cartoon", style("cartoon")),
        ("rendition: painterly", style("painterly")),
        ("rendition: pixel art / mosaic", style("pixel")),
        ("rendition: pattern", style("pattern")),
        ("sketch", base["sketch"].images[:PER_ROW]),
    ]
    try:
        reference = default_reference(reference_path)
        adversarial = generate(0, ("adversarial",), reference, scale=0.1, workers=1).splits["adversarial"].images
        rows.append(
            (f"adversarial ({'filter.pth' if reference_path is None else reference_path.name})", adversarial[:PER_ROW])
        )
    except DatasetError:
        chunks = [render_candidate_chunk(0, c, 0, 2).images for c in ADVERSARIAL_CLASSES]
        rows.append(("adversarial candidates (no filter)", np.concatenate(chunks)[:PER_ROW]))
    return rows


def draw(rows: list[tuple[str, np.ndarray]]) -> Image.Image:
    """Lay out rows of images with their names on the left."""
    cell = 32 * ZOOM + GAP
    sheet = Image.new("RGB", (LABEL_WIDTH + PER_ROW * cell, len(rows) * cell + 18), (255, 255, 255))
    pen = ImageDraw.Draw(sheet)
    pen.text((4, 2), "class order: " + ", ".join(CLASS_NAMES), fill=(0, 0, 0))
    for r, (name, images) in enumerate(rows):
        y = 18 + r * cell
        pen.text((4, y + cell // 2 - 6), name, fill=(0, 0, 0))
        for c, image in enumerate(images[:PER_ROW]):
            tile = Image.fromarray(np.ascontiguousarray(image)).resize((32 * ZOOM, 32 * ZOOM), Image.Resampling.NEAREST)
            sheet.paste(tile, (LABEL_WIDTH + c * cell, y))
    return sheet


def main() -> None:
    """Render the contact sheet."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("shapes_contact_sheet.png"))
    args = parser.parse_args()
    draw(_rows(args.reference)).save(args.out, optimize=True)
    print(args.out)


if __name__ == "__main__":
    main()
