"""Noise ceilings: how well human observers predict each other, for any metric.

A model cannot be expected to predict one group of observers better than
other observers do. Two ceilings are offered, both scoring the fixation map
(:func:`analysis.fixation_map`) of some observers against the fixations (or
the fixation map) of others, image by image:

- :func:`split_half_ceiling`: observers are split at random into two halves,
  each half's map predicts the other half; averaged over splits and both
  directions. For the correlation metrics (``cc``, ``spearman``) the
  Spearman-Brown formula ``2 r / (1 + r)`` then estimates the correlation
  between two groups of the full size, i.e. the split-half reliability of the
  full group's map (classical test theory, assuming the halves are parallel
  measurements; with an odd number of observers the halves differ by one and
  the factor 2 is approximate). For the other metrics there is no such
  formula: the split-half score is reported as is, and it underestimates what
  full groups would reach.
- :func:`leave_one_subject_out_ceiling`: each observer's fixations are
  predicted by the map of all the others; averaged over observers. This is
  the usual ceiling for location-based metrics (AUC, NSS, IG) against single
  observers; Spearman-Brown does not apply (the two sides differ in size).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..metrics import METRICS
from ._run import run

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SPEARMAN_BROWN_METRICS",
    "Ceiling",
    "leave_one_subject_out_ceiling",
    "nest_fixations",
    "spearman_brown",
    "split_half_ceiling",
]

#: Metrics whose split-half score is corrected with the Spearman-Brown formula.
SPEARMAN_BROWN_METRICS = ("cc", "spearman")


@dataclass(frozen=True)
class Ceiling:
    """A noise ceiling, per image and overall.

    Attributes
    ----------
    metric : str
        The metric's name in :data:`analysis.metrics.METRICS`.
    method : {"split_half", "leave_one_subject_out"}
        How observers were split.
    per_image : ndarray of shape (n_images,)
        Raw score per image: mean over splits (and directions) or over
        held-out observers. NaN for images with fewer than two observers
        with fixations.
    per_image_corrected : ndarray of shape (n_images,) or None
        Spearman-Brown corrected split-half correlation per image, for the
        metrics in :data:`SPEARMAN_BROWN_METRICS`; None otherwise.
    n_subjects : ndarray of shape (n_images,)
        Observers with at least one fixation inside each image.
    higher_is_better : bool
        As for the metric: False for ``kl_div`` and ``emd``.
    n_splits : int or None
        Random splits per image (split-half only).
    """

    metric: str
    method: Literal["split_half", "leave_one_subject_out"]
    per_image: NDArray[np.float64] = field(repr=False)
    per_image_corrected: NDArray[np.float64] | None = field(repr=False)
    n_subjects: NDArray[np.int64] = field(repr=False)
    higher_is_better: bool
    n_splits: int | None = None

    def __repr__(self) -> str:
        """The metric, method, ceiling, raw score, number of images and splits, e.g.

        ``Ceiling(metric='cc', method='split_half', value=0.812, raw=0.684, n_images=40,
        n_splits=10)``; ``value`` and ``raw`` to 3 significant digits.
        """
        splits = "" if self.n_splits is None else f", n_splits={self.n_splits}"
        return (
            f"Ceiling(metric={self.metric!r}, method={self.method!r}, value={self.value:.3g}, "
            f"raw={self.raw:.3g}, n_images={len(self.per_image)}{splits})"
        )

    @property
    def raw(self) -> float:
        """Mean of :attr:`per_image` over images (NaN images left out)."""
        return _nanmean(self.per_image)

    @property
    def value(self) -> float:
        """The ceiling: mean corrected score where Spearman-Brown applies, else :attr:`raw`."""
        if self.per_image_corrected is None:
            return self.raw
        return _nanmean(self.per_image_corrected)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per image with ``image``, ``n_subjects``, ``score``, ``score_sb``."""
        import pandas as pd

        corrected = (
            self.per_image_corrected
            if self.per_image_corrected is not None
            else np.full(len(self.per_image), np.nan)
        )
        return pd.DataFrame(
            {
                "image": np.arange(len(self.per_image)),
                "metric": self.metric,
                "method": self.method,
                "n_subjects": self.n_subjects,
                "score": self.per_image,
                "score_sb": corrected,
            }
        )


def spearman_brown(r: ArrayLike, *, factor: float = 2.0) -> NDArray[np.float64]:
    """Spearman-Brown prophecy: the reliability of a test ``factor`` times as long.

    Parameters
    ----------
    r : array_like
        Correlation(s) between two parallel measurements (e.g. two halves).
    factor : float
        Ratio of the new length to the old one (2: from halves to the whole).

    Returns
    -------
    ndarray
        ``factor * r / (1 + (factor - 1) * r)``; NaN where the denominator is
        not positive.
    """
    r_arr = np.asarray(r, dtype=np.float64)
    denom = 1.0 + (factor - 1.0) * r_arr
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(denom > 0, factor * r_arr / denom, np.nan))


def split_half_ceiling(
    fixations: Sequence[Sequence[Any]],
    image_shape: tuple[int, int] | Sequence[tuple[int, int]],
    *,
    metric: str = "cc",
    screen: Any = None,
    px_per_deg: float | None = None,
    scale: float = 1.0,
    sigma_deg: float = 1.0,
    n_splits: int = 10,
    exclude_first: bool = False,
    baseline: Literal["other_images", "uniform"] | ArrayLike = "other_images",
    n_other: int = 10,
    rng: int | np.random.Generator | None = None,
    progress: bool | None = None,
    metric_options: Mapping[str, Any] | None = None,
) -> Ceiling:
    """Split-half noise ceiling of any metric, Spearman-Brown corrected where it applies.

    For each image and each of ``n_splits`` random splits of its observers
    into halves (sizes ``n // 2`` and ``n - n // 2``), the fixation map of
    one half is scored against the other half: against its fixated pixels for
    location-based metrics (both directions averaged), against its fixation
    map for map-to-map metrics (both directions averaged when the metric is
    not symmetric). See the module docstring for when Spearman-Brown applies.

    Parameters
    ----------
    fixations : sequence of sequences
        ``fixations[i][j]``: the fixations of observer ``j`` on image ``i``,
        an (K, 2) array of ``(x, y)`` image pixels (0-based, integers at pixel
        centres) in temporal order; may be empty. A DataFrame converts with
        :func:`nest_fixations`.
    image_shape : tuple of int or sequence of them
        ``(height, width)`` of the images: one for all, or one per image.
    metric : str
        A key of :data:`analysis.metrics.METRICS`.
    screen, px_per_deg, scale, sigma_deg
        Smoothing of the fixation maps, as in :func:`analysis.fixation_map`.
    n_splits : int
        Random splits per image.
    exclude_first : bool
        Drop each observer's first (central) fixation.
    baseline : {"other_images", "uniform"} or array_like, optional
        For ``info_gain``: the centre bias from the other images' fixations
        (leaving the scored image out, smoothed as the maps), the uniform map,
        or one 2-D baseline map for all images.
    n_other : int
        For ``auc_shuffled``: the negatives come from the fixations (all
        observers) on this many random other images.
    rng : int or numpy.random.Generator, optional
        Seed or generator for the splits and stochastic metrics.
    progress : bool, optional
        Show a progress bar (default: from 100 images on, on a terminal).
    metric_options : mapping, optional
        Keyword options of the metric, e.g. ``{"n_splits": 100}``.

    Returns
    -------
    Ceiling
        Per-image and mean ceilings.

    Raises
    ------
    ValueError
        For an unknown metric or option, a malformed ``fixations``, or the
        reasons :func:`analysis.fixation_map` raises.

    Warns
    -----
    UserWarning
        When fixations fall outside their image (ignored), or images have
        fewer than two observers with fixations (NaN).
    """
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 1:
        raise ValueError(
            "Invalid value for the 'n_splits' parameter: expected a positive integer, but got "
            f"{n_splits!r} instead."
        )
    return _ceiling(
        "split_half",
        fixations,
        image_shape,
        metric=metric,
        screen=screen,
        px_per_deg=px_per_deg,
        scale=scale,
        sigma_deg=sigma_deg,
        n_splits=int(n_splits),
        exclude_first=exclude_first,
        baseline=baseline,
        n_other=n_other,
        rng=rng,
        progress=progress,
        metric_options=metric_options,
    )


def leave_one_subject_out_ceiling(
    fixations: Sequence[Sequence[Any]],
    image_shape: tuple[int, int] | Sequence[tuple[int, int]],
    *,
    metric: str = "auc_judd",
    screen: Any = None,
    px_per_deg: float | None = None,
    scale: float = 1.0,
    sigma_deg: float = 1.0,
    exclude_first: bool = False,
    baseline: Literal["other_images", "uniform"] | ArrayLike = "other_images",
    n_other: int = 10,
    rng: int | np.random.Generator | None = None,
    progress: bool | None = None,
    metric_options: Mapping[str, Any] | None = None,
) -> Ceiling:
    """Leave-one-subject-out noise ceiling of any metric (inter-observer consistency).

    For each image and each observer, the fixation map of all the other
    observers is scored against that observer's fixated pixels
    (location-based metrics) or fixation map (map-to-map metrics; the others'
    map is the first argument, e.g. ``Q`` of ``kl_div``); scores are averaged
    over observers. No Spearman-Brown correction applies.

    Parameters
    ----------
    fixations, image_shape, metric, screen, px_per_deg, scale, sigma_deg
        As in :func:`split_half_ceiling`.
    exclude_first, baseline, n_other, rng, progress, metric_options
        As in :func:`split_half_ceiling`.

    Returns
    -------
    Ceiling
        Per-image and mean ceilings (``per_image_corrected`` is None).

    Raises
    ------
    ValueError
        As :func:`split_half_ceiling`.
    """
    return _ceiling(
        "leave_one_subject_out",
        fixations,
        image_shape,
        metric=metric,
        screen=screen,
        px_per_deg=px_per_deg,
        scale=scale,
        sigma_deg=sigma_deg,
        n_splits=None,
        exclude_first=exclude_first,
        baseline=baseline,
        n_other=n_other,
        rng=rng,
        progress=progress,
        metric_options=metric_options,
    )


def nest_fixations(
    table: pd.DataFrame, *, image: str = "image", subject: str = "subject"
) -> tuple[list[Any], list[list[NDArray[np.float64]]]]:
    """Group a fixation table into the nested form the ceilings take.

    Parameters
    ----------
    table : DataFrame
        One row per fixation, with image coordinates in ``x_img``/``y_img``
        (else ``x``/``y``), the ``image`` and ``subject`` columns, and
        optionally ``in_image`` (False rows are dropped) and ``start``
        (ordering within a scanpath; else row order).
    image, subject : str
        Names of the image and subject columns.

    Returns
    -------
    image_ids : list
        Image ids in order of first appearance.
    fixations : list of list of ndarray of shape (K, 2)
        ``fixations[i][j]``: (x, y) of subject ``j`` on image ``image_ids[i]``,
        subjects in order of first appearance in the whole table (an empty
        array where a subject has no fixation on an image).
    """
    for column in (image, subject):
        if column not in table.columns:
            raise ValueError(
                f"The fixation table has no column {column!r} (columns: {list(table.columns)})."
            )
    from ..fixations._input import _dataframe_xy

    df = table
    if "in_image" in df.columns:
        df = df[df["in_image"].to_numpy(dtype=bool)]
    if "start" in df.columns:
        df = df.sort_values("start", kind="stable")
    xy = _dataframe_xy(df)
    images = list(dict.fromkeys(table[image].tolist()))
    subjects = list(dict.fromkeys(table[subject].tolist()))
    img_pos = {v: i for i, v in enumerate(images)}
    sub_pos = {v: j for j, v in enumerate(subjects)}
    cells: list[list[list[int]]] = [[[] for _ in subjects] for _ in images]
    for row, (im, su) in enumerate(zip(df[image].tolist(), df[subject].tolist(), strict=True)):
        cells[img_pos[im]][sub_pos[su]].append(row)
    nested = [
        [xy[np.asarray(rows, dtype=np.int64)].reshape(-1, 2) for rows in per] for per in cells
    ]
    return images, nested


def _ceiling(
    method: Literal["split_half", "leave_one_subject_out"],
    fixations: Sequence[Sequence[Any]],
    image_shape: Any,
    *,
    metric: str,
    n_splits: int | None,
    **kwargs: Any,
) -> Ceiling:
    per_image, n_subjects = run(fixations, image_shape, metric=metric, n_splits=n_splits, **kwargs)
    corrected = None
    if n_splits is not None and metric in SPEARMAN_BROWN_METRICS:
        corrected = spearman_brown(per_image)
    return Ceiling(
        metric,
        method,
        per_image,
        corrected,
        n_subjects,
        METRICS[metric].higher_is_better,
        n_splits,
    )


def _nanmean(values: NDArray[np.float64]) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")
