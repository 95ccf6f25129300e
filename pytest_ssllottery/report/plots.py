"""Optional figures (``pip install pytest-ssllottery[plots]``): reference-vs-variant scatters and a rank bump chart.

The scatters are drawn as Taori et al. (2020) draw them: both axes logit-scaled, so the logit-linear fit is a
straight line, with the y = x line, 95 % Clopper-Pearson intervals where image counts are known, and
labels for the best methods and the outliers, placed so that they do not overprint. The title gives
Kendall tau beside Pearson r: on a handful of methods r can be high while the order flips.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.compare import Analysis
from ..errors import SslLotteryError
from ..stats import logit, sigmoid

EXTRA_HINT = "install matplotlib with `pip install pytest-ssllottery[plots]`"
LABEL_TOP = 6
LABEL_OUTLIERS = 4
_FLOOR = 0.2  # percent: the logit axis cannot show 0 or 100


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise SslLotteryError(f"plots need matplotlib; {EXTRA_HINT}") from exc
    return plt


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def _clip(values: np.ndarray) -> np.ndarray:
    clipped: np.ndarray = np.clip(values, _FLOOR, 100 - _FLOOR)
    return clipped


def _logit_axes(axes: Any, low: float, high: float) -> None:
    """Both axes logit-scaled, with ticks in percent."""
    axes.set_xscale("logit")
    axes.set_yscale("logit")
    ticks = [t for t in (1, 2, 5, 10, 20, 30, 50, 70, 80, 90, 95, 98, 99) if low <= t <= high]
    for axis in (axes.xaxis, axes.yaxis):
        axis.set_ticks([t / 100 for t in ticks], [f"{t:g}" for t in ticks])
        axis.set_minor_formatter(lambda value, position: "")


def _labelled(methods: list[str], x: np.ndarray, y: np.ndarray, residual: np.ndarray) -> list[int]:
    """Indices to label: the best on the reference and the largest residuals (outliers), once each."""
    top = list(np.argsort(-x)[:LABEL_TOP])
    outliers = [i for i in np.argsort(-np.abs(residual)) if i not in top][:LABEL_OUTLIERS]
    return [int(i) for i in [*top, *outliers]]


def _place_labels(axes: Any, names: list[str], xs: list[float], ys: list[float]) -> None:
    """Annotate points, nudging labels vertically so that none overprints another.

    Works in points (the unit of ``xytext``); labels of points in the right half go to the left of the point,
    so that no label leaves the axes. Call after the layout is final.
    """
    figure = axes.get_figure()
    figure.canvas.draw()
    scale = 72.0 / figure.dpi
    left, _, right, _ = (value * scale for value in axes.bbox.extents)
    height, char = 9.0, 4.1  # fontsize 7: line height and mean character width, in points
    placed: list[tuple[float, float, float, float]] = []
    for name, x, y in sorted(zip(names, xs, ys, strict=True), key=lambda item: -item[2]):
        px, py = (value * scale for value in axes.transData.transform((x, y)))
        width = char * len(name)
        to_left = px - left > (right - left) / 2
        x0 = px - 4 - width if to_left else px + 4
        offset = 0.0
        box = (x0, py - height / 2, x0 + width, py + height / 2)
        for _ in range(60):
            box = (x0, py + offset - height / 2, x0 + width, py + offset + height / 2)
            if not any(b[0] < box[2] and box[0] < b[2] and b[1] < box[3] and box[1] < b[3] for b in placed):
                break
            offset -= height
        placed.append(box)
        axes.annotate(
            name,
            (x, y),
            xytext=(-4 if to_left else 4, offset),
            textcoords="offset points",
            fontsize=7,
            ha="right" if to_left else "left",
            va="center",
            bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none", "alpha": 0.75},
            arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.5"} if offset else None,
        )


def scatter(analysis: Analysis, dataset: str, path: Path) -> Path:
    """Reference accuracy (x) vs ``dataset`` accuracy (y), logit axes, fit, y = x, intervals, r and tau."""
    plt = _pyplot()
    table = analysis.table
    reference, other = table.column(table.reference), table.column(dataset)
    methods = sorted(set(reference) & set(other))
    x = _clip(np.array([reference[m] for m in methods]))
    y = _clip(np.array([other[m] for m in methods]))
    figure, axes = plt.subplots(figsize=(6.4, 5.4), dpi=120)
    many = len(methods) > 60
    controls = [m in table.controls for m in methods]
    errors = [analysis.cell_intervals.get((m, dataset)) for m in methods]
    if not many and any(errors):
        low = np.array([y[i] - _clip(np.array([e[0]]))[0] if e else 0.0 for i, e in enumerate(errors)])
        high = np.array([_clip(np.array([e[1]]))[0] - y[i] if e else 0.0 for i, e in enumerate(errors)])
        axes.errorbar(x / 100, y / 100, yerr=[low / 100, high / 100], fmt="none", ecolor="0.7", lw=0.8, zorder=1)
    colours = ["0.55" if c else "tab:blue" for c in controls]
    axes.scatter(x / 100, y / 100, s=8 if many else 26, alpha=0.6 if many else 0.9, c=colours, zorder=2)
    # limits: the data's range in logit space, padded by 0.4 logits on each side
    low_logit, high_logit = logit(min(x.min(), y.min()) / 100) - 0.4, logit(max(x.max(), y.max()) / 100) + 0.4
    lo, hi = (
        float(_clip(np.array([100 * sigmoid(low_logit)]))[0]),
        float(_clip(np.array([100 * sigmoid(high_logit)]))[0]),
    )
    grid = np.linspace(lo, hi, 200)
    axes.plot(grid / 100, grid / 100, color="0.6", ls="--", lw=1, label="y = x")
    fit = analysis.robustness_fits.get(dataset)
    residual = np.zeros(len(methods))
    if fit is not None:
        line = np.array([100 * sigmoid(fit.slope * logit(v / 100) + fit.intercept) for v in grid])
        axes.plot(
            grid / 100, line / 100, color="tab:orange", lw=1.5, label=f"logit-linear fit (r² = {fit.r_squared:.2f})"
        )
        predicted = np.array([100 * sigmoid(fit.slope * logit(v / 100) + fit.intercept) for v in x])
        residual = y - predicted
    _logit_axes(axes, lo, hi)
    axes.set_xlim(lo / 100, hi / 100)
    axes.set_ylim(lo / 100, hi / 100)
    values = analysis.correlations.get(dataset, {})
    stats = []
    for key, symbol in (("pearson", "r"), ("kendall", "τ")):
        c = values.get(key)
        if c is not None and not math.isnan(c.estimate):
            stats.append(f"{symbol} = {c.estimate:.2f}")
    axes.set_title(
        f"{dataset} vs {table.reference}: {len(methods)} methods" + (f", {', '.join(stats)}" if stats else "")
    )
    axes.set_xlabel(f"{table.reference} top-1 (%, logit scale)")
    axes.set_ylabel(f"{dataset} top-1 (%, logit scale)")
    axes.grid(alpha=0.3, which="major")
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    chosen = _labelled(methods, x, y, residual) if methods else []
    _place_labels(axes, [methods[i] for i in chosen], [x[i] / 100 for i in chosen], [y[i] / 100 for i in chosen])
    figure.savefig(path)
    plt.close(figure)
    return path


def _ranks_among(scores: dict[str, float], methods: list[str]) -> dict[str, float]:
    """Ranks (1 = best, ties averaged) of ``methods`` among themselves."""
    from ..stats import rank_scores

    return rank_scores({m: scores[m] for m in methods if m in scores})


def bump_chart(analysis: Analysis, path: Path, top: int = 10) -> Path:
    """The ``top`` best methods on the reference, ranked among themselves on every dataset and unified score.

    Each line has its own colour and is labelled at both ends, so no legend lookup is needed.
    """
    plt = _pyplot()
    table = analysis.table
    reference = table.column(table.reference)
    methods = sorted(reference, key=lambda m: -reference[m])[:top]
    columns = [*table.datasets, "weighted_average", "geometric_mean"]
    scores = {d: table.column(d) for d in table.datasets}
    for measure in ("weighted_average", "geometric_mean"):
        scores[measure] = {m: v[measure] for m, v in analysis.aggregates.items()}
    ranks = {column: _ranks_among(scores[column], methods) for column in columns}
    colours = plt.get_cmap("tab10")(np.arange(len(methods)) % 10)
    figure, axes = plt.subplots(figsize=(1.3 * len(columns) + 6, 0.42 * len(methods) + 2.2), dpi=120)
    for index, method in enumerate(methods):
        ys = [ranks[column].get(method, np.nan) for column in columns]
        style = ":" if method in table.controls else "-"
        colour = colours[index]
        axes.plot(range(len(columns)), ys, marker="o", lw=1.8, ls=style, color=colour)
        for end, align, dx in ((0, "right", -8), (len(columns) - 1, "left", 8)):
            axes.annotate(
                method,
                (end, ys[end]),
                xytext=(dx, 0),
                textcoords="offset points",
                ha=align,
                va="center",
                fontsize=7,
                color=colour,
            )
    axes.set_xticks(range(len(columns)), [c.replace("_", " ") for c in columns], rotation=20)
    axes.invert_yaxis()
    axes.set_yticks([])
    axes.set_title(
        f"Ranks of the {len(methods)} best on {table.reference}, among themselves, across datasets and unified "
        "scores (top = best)"
    )
    axes.grid(alpha=0.3, axis="x")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def write_plots(analysis: Analysis, folder: Path) -> list[Path]:
    """All figures into ``folder``: one scatter per non-reference dataset, and the bump chart."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [
        scatter(analysis, dataset, folder / f"scatter_{_slug(dataset)}.png")
        for dataset in analysis.table.datasets
        if dataset != analysis.table.reference and analysis.table.column(dataset)
    ]
    written.append(bump_chart(analysis, folder / "rank_bump.png"))
    return written
