"""AIS heatmaps per image and their overlap with gaze-saliency maps (NumPy and OpenCV)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from selectivity.resample import resample

if TYPE_CHECKING:
    import pandas as pd

#: Allowed values of ``normalize`` in :func:`ais_heatmaps`.
HEATMAP_NORMALIZE = (None, "display")
#: Allowed values of ``zero_sum`` in :func:`ais_heatmaps`.
ZERO_SUM = ("nan", "raise")
#: |sum_k AIS_(i,k)| at or below this fraction of sum_k |AIS_(i,k)| counts as a zero sum.
ZERO_SUM_RTOL = 1e-9


def ais_heatmaps(
    result: Any,
    *,
    size: tuple[int, int] | None = None,
    normalize: Literal["display"] | None = None,
    zero_sum: Literal["nan", "raise"] = "nan",
) -> NDArray[np.float64]:
    """Where the alignment-important maps respond, per image.

    The heatmap of image i is the average of its feature maps weighted by
    its per-image scores, ``sum_k AIS_(i,k) A_(i,k) / sum_k AIS_(i,k)``,
    resampled to ``size`` by :func:`selectivity.resample.resample` (bilinear
    interpolation when enlarging, pixel centres aligned as in
    ``align_corners=False``).

    Parameters
    ----------
    result : AISResult
        From :func:`alignment_importance`.
    size : tuple of int, optional
        ``(height, width)`` in pixels; default the network input size.
    normalize : {None, "display"}
        None: the weighted average itself. "display": the paper's display
        normalisation, divided by its maximum and squared; negative values
        are set to 0 first (departing from a literal square, which would
        show strongly negative regions as bright). A map whose maximum is
        not positive becomes NaN, with a warning.
    zero_sum : {"nan", "raise"}
        What to do when ``sum_k AIS_(i,k)`` is zero (to ``ZERO_SUM_RTOL`` of
        ``sum_k |AIS_(i,k)|``) or NaN, so the weighted average is undefined:
        give a NaN map with a warning naming the images, or raise.

    Returns
    -------
    ndarray of shape (N, height, width), float64
        Indexed ``[image, row, col]``.
    """
    if normalize not in HEATMAP_NORMALIZE:
        raise ValueError(
            "Invalid value for the 'normalize' parameter. Allowed values are None and "
            f"'display', but got {normalize!r} instead."
        )
    if zero_sum not in ZERO_SUM:
        raise ValueError(
            "Invalid value for the 'zero_sum' parameter. Allowed values are 'nan' and 'raise', "
            f"but got {zero_sum!r} instead."
        )
    height, width = _size(size if size is not None else result.input_size)
    weights = np.asarray(result.image_scores, dtype=np.float64)
    maps = np.asarray(result.activations, dtype=np.float64)
    total = weights.sum(axis=1)
    scale = np.abs(weights).sum(axis=1)
    undefined = ~np.isfinite(total) | (np.abs(total) <= ZERO_SUM_RTOL * scale)
    labels = list(result.image_labels)
    if undefined.any():
        names = [labels[i] for i in np.flatnonzero(undefined)]
        message = (
            f"The per-image AIS of images {names[:10]} sum to zero (or are NaN): their "
            "AIS-weighted average is undefined."
        )
        if zero_sum == "raise":
            raise ValueError(message)
        warnings.warn(message + " Their heatmaps are NaN.", stacklevel=2)
    out = np.full((len(weights), height, width), np.nan)
    not_positive = []
    for i in np.flatnonzero(~undefined):
        low = np.einsum("k,khw->hw", weights[i], maps[i]) / total[i]
        heat = resample(low, (height, width))
        if normalize == "display":
            peak = heat.max()
            if not peak > 0:
                not_positive.append(labels[i])
                continue
            heat = (np.clip(heat, 0.0, None) / peak) ** 2
        out[i] = heat
    if not_positive:
        warnings.warn(
            f"The heatmaps of images {not_positive[:10]} have no positive value, so the display "
            "normalisation (divide by the maximum) is undefined; they are NaN.",
            stacklevel=2,
        )
    return out


def _size(size: Any) -> tuple[int, int]:
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(isinstance(n, (int, np.integer)) and n > 0 for n in size)
    ):
        raise ValueError(
            "Invalid value for the 'size' parameter: expected (height, width) as two positive "
            f"ints, but got {size!r} instead."
        )
    return int(size[0]), int(size[1])


def _top(values: NDArray[np.float64], fraction: float) -> NDArray[np.bool_]:
    """The ``ceil(fraction * pixels)`` highest pixels; ties at the threshold are all kept."""
    flat = values.ravel()
    count = max(1, math.ceil(fraction * flat.size - 1e-9))
    threshold = np.partition(flat, flat.size - count)[flat.size - count]
    return values >= threshold


def saliency_overlap(
    heatmaps: ArrayLike,
    saliency: ArrayLike,
    *,
    fractions: Sequence[float] = (0.05, 0.10, 0.15),
    ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Relative risk of AIS heatmaps against gaze-saliency maps, at top-k% binarisations.

    For each fraction p, each map is binarised to its top p of pixels (the
    ``ceil(p * pixels)`` highest; all pixels tied with the last one are
    kept, with a warning when that more than doubles the fraction). With
    the saliency map's top pixels as the reference,
    ``TPR = |top(heat) & top(sal)| / |top(sal)|``,
    ``FPR = |top(heat) & ~top(sal)| / |~top(sal)|`` and the relative risk is
    ``TPR / FPR`` (inf when FPR is 0 and TPR is not; 1 is chance).

    Parameters
    ----------
    heatmaps, saliency : array_like of shape (N, H, W) or (H, W)
        The same shapes, indexed ``[image, row, col]``; resize beforehand.
        NaN maps give NaN rows.
    fractions : sequence of float
        Fractions of pixels in (0, 1); default 5%, 10% and 15%.
    ids : sequence of str, optional
        Image labels for the ``image`` column; default ``"0"``, ``"1"``, ...

    Returns
    -------
    pandas.DataFrame
        One row per image and fraction: ``image``, ``fraction``, ``tpr``,
        ``fpr``, ``relative_risk``.
    """
    import pandas as pd

    heat = np.asarray(heatmaps, dtype=np.float64)
    sal = np.asarray(saliency, dtype=np.float64)
    if heat.ndim == 2 and sal.ndim == 2:
        heat, sal = heat[None], sal[None]
    if heat.shape != sal.shape or heat.ndim != 3 or 0 in heat.shape:
        raise ValueError(
            "The 'heatmaps' and 'saliency' parameters must have the same shape (N, H, W) or "
            f"(H, W), but got {np.shape(heatmaps)} and {np.shape(saliency)}; resize first."
        )
    fractions = list(fractions)
    if not fractions or not all(isinstance(p, (int, float)) and 0 < p < 1 for p in fractions):
        raise ValueError(
            "Invalid value for the 'fractions' parameter: expected fractions in (0, 1), but got "
            f"{fractions!r} instead."
        )
    labels = [str(i) for i in range(len(heat))] if ids is None else list(ids)
    if len(labels) != len(heat):
        raise ValueError(f"'ids' has {len(labels)} entries for {len(heat)} maps.")
    rows = []
    tied = set()
    for label, h, s in zip(labels, heat, sal, strict=True):
        usable = np.isfinite(h).all() and np.isfinite(s).all()
        for p in fractions:
            tpr = fpr = risk = np.nan
            if usable:
                hb, sb = _top(h, p), _top(s, p)
                if max(hb.mean(), sb.mean()) > 2 * p:
                    tied.add(label)
                tpr = (hb & sb).sum() / sb.sum()
                fpr = (hb & ~sb).sum() / max((~sb).sum(), 1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    risk = np.float64(tpr) / np.float64(fpr)
            rows.append((label, float(p), float(tpr), float(fpr), float(risk)))
    if tied:
        warnings.warn(
            f"Maps of images {sorted(tied)[:10]} have ties at the top-fraction threshold, so "
            "their binarisation keeps more than twice the fraction asked for.",
            stacklevel=2,
        )
    return pd.DataFrame(rows, columns=["image", "fraction", "tpr", "fpr", "relative_risk"])
