"""Metrics that score a saliency map against human fixations or another map (MIT benchmark).

Each metric states its variant in its docstring and follows the MIT saliency
benchmark's reference code (Bylinskii et al., ``code_forMetrics``) unless it
says otherwise. :data:`METRICS` lists them by name with what each needs, and
:func:`score_batch` scores many images at once.

Conventions shared by all metrics:

- Maps are 2-D arrays indexed ``[row, col]``. A map of another size than the
  reference (the fixation map, or the second map) is first resampled to it
  with :func:`selectivity.resample.resample` (area averaging to shrink,
  bilinear to enlarge), the one rule that :func:`analysis.compare_maps`, the
  noise ceilings and :func:`analysis.shared_component` also use; see :func:`cc`.
- Fixations are a fixation map (nonzero = fixated; a pixel counts once however
  many fixations it holds, as the MIT code's ``logical(fixationMap)``) or,
  with ``image_shape``, coordinates: ``(x, y)`` image pixels with integer
  values at pixel centres, rounded to the nearest pixel (halves up), as
  :func:`analysis.fixation_counts` reads them, or :class:`FixatedPixels`
  (:func:`fixated_pixels`: either form converted once, to score many maps).
- NaN or infinite values, maps that are not 2-D, empty fixation maps and
  maps that a metric cannot normalise (constant maps for min-max or
  standardisation; negative or all-zero maps read as distributions) raise
  ``ValueError`` naming the parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._batch import check_options, run_batch
from ._checks import EPS, FixatedPixels, fixated_pixels
from ._fixations import auc_borji, auc_judd, auc_shuffled, info_gain, nss
from ._maps import cc, emd, kl_div, similarity, spearman, topk_dice, topk_iou
from ._per_image import check_workers

__all__ = [
    "EPS",
    "METRICS",
    "FixatedPixels",
    "MetricSpec",
    "auc_borji",
    "auc_judd",
    "auc_shuffled",
    "cc",
    "emd",
    "fixated_pixels",
    "info_gain",
    "kl_div",
    "nss",
    "score_batch",
    "similarity",
    "spearman",
    "topk_dice",
    "topk_iou",
]


@dataclass(frozen=True)
class MetricSpec:
    """What one metric takes and how to read its scores.

    Attributes
    ----------
    name : str
        The key in :data:`METRICS` and the function's name.
    func : callable
        The single-image function, e.g. :func:`auc_judd`.
    target : {"fixations", "map"}
        What the second argument is: ``"fixations"`` (a fixation map of
        fixated pixels, or coordinates with ``image_shape``) or ``"map"`` (a
        second map, e.g. a smoothed fixation density).
    higher_is_better : bool
        False for the distances (``kl_div``, ``emd``).
    needs : {None, "baseline", "other_fixations"}
        A third input: a baseline map (``info_gain``) or fixations from other
        images (``auc_shuffled``).
    stochastic : bool
        Whether scores depend on random draws (pass ``rng`` to fix them).
        ``auc_judd`` is deterministic unless ``jitter=True``, ``auc_shuffled``
        when ``exact=True``.
    symmetric : bool
        Whether swapping the two maps leaves the score unchanged (for
        maps of equal shape).
    options : tuple of str
        Keyword options the function (and :func:`score_batch`) accepts.
    chance : float or None
        Expected score of an uninformative map, where one exists.
    """

    name: str
    func: Callable[..., float] = field(repr=False)
    target: Literal["fixations", "map"]
    higher_is_better: bool
    needs: Literal["baseline", "other_fixations"] | None = None
    stochastic: bool = False
    symmetric: bool = False
    options: tuple[str, ...] = ()
    chance: float | None = None


#: Every metric by name, with what it takes (see :class:`MetricSpec`).
METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("auc_judd", auc_judd, "fixations", True, options=("jitter",), chance=0.5),
        MetricSpec(
            "auc_borji",
            auc_borji,
            "fixations",
            True,
            stochastic=True,
            options=("n_splits", "step"),
            chance=0.5,
        ),
        MetricSpec(
            "auc_shuffled",
            auc_shuffled,
            "fixations",
            True,
            needs="other_fixations",
            stochastic=True,
            options=("n_splits", "step", "exact"),
            chance=0.5,
        ),
        MetricSpec("nss", nss, "fixations", True, options=("ddof",), chance=0.0),
        MetricSpec("info_gain", info_gain, "fixations", True, needs="baseline", chance=0.0),
        MetricSpec("cc", cc, "map", True, symmetric=True, chance=0.0),
        MetricSpec("similarity", similarity, "map", True, symmetric=True),
        MetricSpec("kl_div", kl_div, "map", False),
        MetricSpec("emd", emd, "map", False, symmetric=True, options=("downsample",)),
        MetricSpec("spearman", spearman, "map", True, symmetric=True, chance=0.0),
        MetricSpec("topk_iou", topk_iou, "map", True, symmetric=True, options=("percent",)),
        MetricSpec("topk_dice", topk_dice, "map", True, symmetric=True, options=("percent",)),
    )
}


def _metric_spec(name: Any, *, parameter: str = "metric") -> MetricSpec:
    """The :data:`METRICS` entry of ``name``; the error names ``parameter``."""
    if not isinstance(name, str) or name not in METRICS:
        listed = ", ".join(repr(m) for m in METRICS)
        raise ValueError(
            f"Invalid value for the '{parameter}' parameter. Allowed values are {listed}, but got "
            f"{name!r} instead."
        )
    return METRICS[name]


def score_batch(
    metric: str,
    maps: NDArray[Any] | Sequence[ArrayLike],
    targets: NDArray[Any] | Sequence[Any],
    *,
    image_shape: tuple[int, int] | Sequence[tuple[int, int]] | None = None,
    other: NDArray[Any] | Sequence[Any] | None = None,
    baseline: ArrayLike | Sequence[ArrayLike] | None = None,
    rng: int | np.random.Generator | None = None,
    progress: bool | None = None,
    workers: int | None = None,
    **options: Any,
) -> NDArray[np.float64]:
    """Score many images with one metric: ``score[i] = metric(maps[i], targets[i])``.

    Equal to calling the single-image function of :data:`METRICS` on each
    image (with one random generator drawn in image order), but validated once
    and vectorised: stacks of same-shaped map pairs are scored in chunks,
    fixations are reduced to the indices of their pixels (no dense fixation
    maps are built; :class:`FixatedPixels` are used as given), every image's
    map is sorted at most once, and for Spearman a target map object given
    for several images (one human map against many models' maps) is ranked
    once.

    Parameters
    ----------
    metric : str
        A key of :data:`METRICS`.
    maps : ndarray of shape (n_images, M, N) or sequence of 2-D arrays
        The maps to score (e.g. model saliency maps); any float dtype. A map of
        another shape than its target is resampled to it (see :func:`cc`).
    targets : ndarray of shape (n_images, H, W) or sequence
        For metrics whose ``target`` is ``"fixations"``: fixation maps
        (nonzero = fixated), :class:`FixatedPixels` (see
        :func:`fixated_pixels`), or with ``image_shape`` one set of fixation
        coordinates per image ((K_i, 2) arrays of (x, y) image pixels, lists
        of scanpaths or DataFrames). For ``"map"`` metrics: the second map of
        each pair (e.g. human fixation densities).
    image_shape : tuple of int or sequence of them, optional
        ``(height, width)`` of the images that coordinate ``targets`` refer to:
        one for all images, or one per image.
    other : ndarray or sequence, optional
        For ``auc_shuffled``: per image, fixations from other images in this
        image's pixels, in the same form as ``targets`` (see
        :func:`analysis.baselines.other_image_fixations`).
    baseline : array_like of shape (P, Q), or sequence of them, optional
        For ``info_gain``: one baseline map for all images, or one per image.
    rng : int or numpy.random.Generator, optional
        Seed or generator for the stochastic metrics (and ``jitter``).
    progress : bool, optional
        Show a tqdm progress bar. Default: from 100 images on, when writing to
        a terminal.
    workers : int, optional
        Threads that score images at once for ``spearman`` and ``emd`` (their
        sorts and the transport solver release the GIL); default
        ``os.cpu_count()``, 1 for none. Scores do not depend on it; other
        metrics run in the calling thread.
    **options
        The metric's keyword options (``MetricSpec.options``), e.g.
        ``n_splits=100``, ``ddof=0``, ``percent=5``, ``downsample=32``,
        ``exact=True``.

    Returns
    -------
    scores : ndarray of shape (n_images,)
        One score per image, in the order given.

    Raises
    ------
    ValueError
        For an unknown metric or option, inputs of different lengths, a
        missing ``other``/``baseline``, or any input that the single-image
        function rejects (the message names the image, e.g. ``maps[12]``).

    Warns
    -----
    UserWarning
        Once, when fixation coordinates fall outside their image (ignored),
        or when ties enlarge top-k regions.

    Notes
    -----
    Speed, 800 x 600 maps, measured with ``benchmarks/bench_metrics.py`` on a
    shared 2-core machine under load (wall clock): about 0.03 ms per image
    for the exact shuffled AUC with :func:`fixated_pixels` given (about 0.08 ms
    from coordinates), 0.6-2 ms for
    AUC-Borji, the sampled shuffled AUC, NSS, IG, CC and KL, 2-3 ms for
    AUC-Judd and SIM, about 16 ms for top-k overlap, and 6-7 ms per image
    (about 150 images per second, 2 threads) for Spearman and for EMD at
    ``downsample=32``.
    """
    spec = _metric_spec(metric)
    checked = check_options(metric, spec.options, options)
    n_workers = check_workers(workers)
    return run_batch(
        metric,
        spec.target,
        maps,
        targets,
        image_shape=image_shape,
        other=other,
        baseline=baseline,
        rng=rng,
        progress=progress,
        options=checked,
        workers=n_workers,
    )
