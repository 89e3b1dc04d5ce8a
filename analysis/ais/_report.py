"""A short HTML summary of an AIS analysis: score distribution, pruning curves, heatmaps."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..report import Chart, Panel, ReportRow, write_report


def write_ais_report(
    out_dir: str | os.PathLike[str],
    *,
    result: Any,
    pruned: Any = None,
    images: Mapping[str, NDArray[np.uint8]] | None = None,
    heatmaps: NDArray[np.float64] | Sequence[NDArray[np.float64]] | None = None,
    notes: Iterable[str] = (),
    max_images: int = 12,
    title: str = "Alignment importance scores",
) -> Path:
    """Write the AIS summary page: AIS histogram, train/test fit against n, heatmaps.

    Parameters
    ----------
    out_dir : path-like
        Folder of ``index.html`` and its ``figures/``.
    result : AISResult
        From :func:`analysis.ais.alignment_importance`.
    pruned : PruningResult, optional
        From :func:`analysis.ais.ais_pruning_cv`; adds the fit-against-n
        curves and the test summary.
    images : mapping of str to ndarray of shape (H, W, 3), optional
        Image id -> RGB photo shown under its heatmap.
    heatmaps : ndarray of shape (N, H, W) or sequence of (H_i, W_i) arrays, optional
        Heatmaps to show, in the order of ``result``'s images (a sequence when
        images differ in size); default
        :func:`analysis.ais.ais_heatmaps` with ``normalize="display"``.
    notes : iterable of str
        Extra lines (provenance, warnings).
    max_images : int
        Rows of heatmaps shown (the first images).
    title : str
        Page title.

    Returns
    -------
    Path
        Path of ``index.html``.
    """
    from ._overlap import ais_heatmaps

    if heatmaps is None:
        heatmaps = ais_heatmaps(result, normalize="display")
    labels = result.image_labels
    charts = [Chart("Set-level AIS of every map", lambda ax: _histogram(ax, result.set_scores))]
    summary = None
    if pruned is not None:
        charts.append(Chart("Fit against the number of maps kept", lambda ax: _curves(ax, pruned)))
        summary = pruned.summary
    rows = []
    for i, label in enumerate(labels[:max_images]):
        photo = None if images is None else images.get(label)
        heat = heatmaps[i]
        if not np.isfinite(heat).all():
            continue
        panels = [Panel("AIS heatmap", heat, kind="heatmap")]
        if photo is not None:
            panels = [
                Panel("image", photo),
                Panel("AIS heatmap on image", heat, kind="heatmap", overlay=photo),
            ]
        rows.append(ReportRow(label, panels))
    top = result.set_table().sort_values("rank").head(20).set_index("rank")
    return write_report(
        out_dir,
        title=title,
        rows=rows,
        table=top,
        notes=[f"Baseline fit {result.baseline_fit:.4g}; the table lists the 20 top maps.", *notes],
        charts=charts,
        summary=summary,
        float_format=".4g",
    )


def _histogram(ax: Any, scores: NDArray[np.float64]) -> None:
    finite = scores[np.isfinite(scores)]
    ax.hist(finite, bins=min(50, max(5, len(finite) // 4)), color="#4a6fa5")
    ax.axvline(0.0, color="k", lw=0.8)
    ax.set_xlabel("set-level AIS (change in fit)")
    ax.set_ylabel("maps")


def _curves(ax: Any, pruned: Any) -> None:
    table = pruned.table
    grouped = table.groupby("n")[["train_fit", "test_fit"]]
    mean, sd = grouped.mean(), grouped.std(ddof=0)
    for column, colour in (("train_fit", "#4a6fa5"), ("test_fit", "#c8553d")):
        ax.plot(mean.index, mean[column], color=colour, label=column.replace("_", " "))
        low, high = mean[column] - sd[column], mean[column] + sd[column]
        ax.fill_between(mean.index, low, high, color=colour, alpha=0.2, lw=0)
    full = pruned.folds["test_fit_full"].mean()
    ax.axhline(full, color="#c8553d", ls="--", lw=0.8, label="test fit, full network")
    ax.set_xscale("log")
    ax.set_xlabel("maps kept (n, top by training AIS)")
    ax.set_ylabel("fit (r squared), mean over folds")
    ax.legend(fontsize=8)
