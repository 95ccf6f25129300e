"""Optional figures (``pip install pytest-ssllottery[plots]``): reference-vs-variant scatters and a rank bump chart."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.compare import Analysis
from ..errors import SslLotteryError
from ..stats import logit, sigmoid

EXTRA_HINT = "install matplotlib with `pip install pytest-ssllottery[plots]`"


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


def scatter(analysis: Analysis, dataset: str, path: Path) -> Path:
    """Reference accuracy (x) vs ``dataset`` accuracy (y) per method, the logit-linear fit, and Pearson r."""
    plt = _pyplot()
    table = analysis.table
    reference = table.column(table.reference)
    other = table.column(dataset)
    methods = sorted(set(reference) & set(other))
    x = np.array([reference[m] for m in methods])
    y = np.array([other[m] for m in methods])
    figure, axes = plt.subplots(figsize=(6, 5), dpi=120)
    axes.scatter(x, y, s=14 if len(methods) > 50 else 28, alpha=0.7, color="tab:blue")
    if len(methods) <= 20:
        for name, xi, yi in zip(methods, x, y, strict=True):
            axes.annotate(name, (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
    fit = analysis.robustness_fits.get(dataset)
    if fit is not None and len(x):
        grid = np.linspace(max(x.min() - 1, 0.1), min(x.max() + 1, 99.9), 100)
        line = [100 * sigmoid(fit.slope * logit(v / 100) + fit.intercept) for v in grid]
        axes.plot(grid, line, color="tab:orange", label=f"logit-linear fit (r²={fit.r_squared:.2f})")
    correlation = analysis.correlations.get(dataset, {}).get("pearson")
    r = "" if correlation is None or math.isnan(correlation.estimate) else f", Pearson r = {correlation.estimate:.2f}"
    axes.set_title(f"{dataset} vs {table.reference} ({len(methods)} methods{r})")
    axes.set_xlabel(f"{table.reference} top-1 (%)")
    axes.set_ylabel(f"{dataset} top-1 (%)")
    axes.grid(alpha=0.3)
    if fit is not None:
        axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def bump_chart(analysis: Analysis, path: Path, top: int = 15) -> Path:
    """Each method's rank across datasets and the two aggregates (the ``top`` best on the reference)."""
    plt = _pyplot()
    table = analysis.table
    columns = [*table.datasets, "weighted_average", "geometric_mean"]
    ranks = {**analysis.ranks, **analysis.aggregate_ranks}
    methods = sorted(ranks.get(table.reference, {}), key=lambda m: ranks[table.reference][m])[:top]
    figure, axes = plt.subplots(figsize=(1.4 * len(columns) + 3, 0.35 * len(methods) + 2.5), dpi=120)
    for method in methods:
        ys = [ranks.get(column, {}).get(method, np.nan) for column in columns]
        axes.plot(range(len(columns)), ys, marker="o", linewidth=1.5)
        axes.annotate(method, (len(columns) - 1, ys[-1]), fontsize=7, xytext=(5, 0), textcoords="offset points")
    axes.set_xticks(range(len(columns)), [c.replace("_", " ") for c in columns], rotation=20)
    axes.invert_yaxis()
    axes.set_ylabel("rank (1 = best)")
    axes.set_title(f"Rank changes across datasets (top {len(methods)} on {table.reference})")
    axes.grid(alpha=0.3)
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
