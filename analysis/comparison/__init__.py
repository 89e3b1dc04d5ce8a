"""ANN maps against human maps over many images: CV-chosen smoothing, bootstrap, permutations.

And the share of the agreement's variance explained by method, architecture and training set
(:func:`variance_share`, :func:`ann_source_factors`).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._inputs import (
    PerImage,
    _ann_stack,
    _baseline_maps,
    _check_count,
    _check_size,
    _per_image,
    _targets,
)
from ._kernels import _kernels
from ._run import _Run
from ._sigmas import DEFAULT_SIGMAS_DEG, DEFAULT_SIGMAS_PX, _grid, _px_per_deg
from ._stats import _bootstrap_indices, _derangements, _fold_labels
from ._variance import DEFAULT_FACTORS, RANDOM_TRAINING_SET, ann_source_factors, variance_share

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_FACTORS",
    "DEFAULT_SIGMAS_DEG",
    "DEFAULT_SIGMAS_PX",
    "RANDOM_TRAINING_SET",
    "MapComparison",
    "ann_source_factors",
    "compare_maps",
    "variance_share",
]


@dataclass(frozen=True, eq=False)
class MapComparison:
    """Results of :func:`compare_maps`: tidy tables and the permutation null distributions.

    Attributes
    ----------
    scores : pandas.DataFrame
        One row per source x measure x metric x image, with columns
        ``source, measure, metric, image_id, fold, sigma_px, score``: the
        score of the image (held out in its fold) with the ANN map smoothed
        by ``sigma_px`` (pixels of the compared maps), the sigma chosen on the
        other folds' images. With the grid in degrees, ``sigma_deg`` follows
        ``sigma_px``.
    summary : pandas.DataFrame
        One row per source x measure x metric, with columns ``source,
        measure, metric, n_images, mean`` (of the held-out scores), ``ci_low,
        ci_high`` (bootstrap percentile interval of the mean), ``null_mean``
        (mean of the permutation null), ``p_value``, ``sigma_px`` (the sigma
        chosen for most images; ties go to the smaller), ``sigma_px_folds``
        (tuple: the sigma chosen for each fold) and ``higher_is_better``.
        With the grid in degrees, ``sigma_deg`` and ``sigma_deg_folds`` follow
        ``sigma_px_folds``, and ``sigma_px`` / ``sigma_px_folds`` are NaN
        where the images' pixels per degree differ.
    cv : pandas.DataFrame
        One row per source x measure x metric x fold x candidate sigma, with
        columns ``source, measure, metric, fold, sigma_px, train_score,
        chosen``: the mean score of the fold's *training* images, on which
        the sigma was chosen. With the grid in degrees, ``sigma_deg`` follows
        ``sigma_px`` (NaN where the images' pixels per degree differ).
    null : dict
        ``(source, measure, metric)`` -> ndarray of shape (n_permutations,):
        the mean score under each derangement of the ANN maps.
    image_ids : tuple
        The images, in the order used for the folds, resamples and derangements.
    folds : ndarray of shape (n_images,)
        Fold of each image.
    smoothing_sigmas_px : tuple of float
        The candidate sigmas in pixels, ascending; with the grid in degrees,
        the grid times ``px_per_deg`` when that is one number and the human
        maps are not resampled, else empty (the pixels differ per image).
    confidence : float
        Level of the bootstrap intervals.
    smoothing_sigmas_deg : tuple of float or None
        The candidate sigmas in degrees, ascending; None when the grid was
        given in pixels.
    """

    scores: pd.DataFrame
    summary: pd.DataFrame
    cv: pd.DataFrame
    null: Mapping[tuple[str, str, str], NDArray[np.float64]] = field(repr=False)
    image_ids: tuple[Hashable, ...]
    folds: NDArray[np.int64]
    smoothing_sigmas_px: tuple[float, ...]
    confidence: float
    smoothing_sigmas_deg: tuple[float, ...] | None = None


def compare_maps(
    ann_maps: Mapping[str, PerImage],
    human_maps: Mapping[str, PerImage] | None = None,
    *,
    fixations: Mapping[str, PerImage] | None = None,
    fixation_shape: tuple[int, int] | None = None,
    metrics: Sequence[str] = ("cc",),
    metric_options: Mapping[str, Mapping[str, Any]] | None = None,
    baseline: ArrayLike | Mapping[Any, ArrayLike] | None = None,
    smoothing_sigmas_px: Sequence[float] | None = None,
    smoothing_sigmas_deg: Sequence[float] | None = None,
    px_per_deg: float | Mapping[Any, float] | None = None,
    cv_folds: int | Mapping[Any, Any] | Sequence[Any] = 5,
    n_bootstrap: int = 1000,
    n_permutations: int = 1000,
    confidence: float = 0.95,
    size: tuple[int, int] | None = None,
    rng: int | np.random.Generator | None = None,
    progress: bool | None = None,
) -> MapComparison:
    """Score many ANN maps against many human maps over many images, with statistics.

    For each ANN source, human measure and metric: every candidate Gaussian
    smoothing of the ANN maps is scored on every image; the images are split
    into folds, and each fold's images are scored with the smoothing that
    did best on the *other* folds' images (so the smoothing is never chosen
    on the images it is scored on). The mean of these held-out scores gets an
    image-level bootstrap confidence interval, and a permutation test against
    other images' maps: each image's human map is scored against another
    image's ANN map (a random derangement, smoothing held at each image's
    chosen sigma), and the p-value is ``(1 + #{null means at least as good as
    the observed mean}) / (1 + n_permutations)``.

    Parameters
    ----------
    ann_maps : dict
        Source name (e.g. ``"vgg16/gradcam"``) -> per-image ANN maps: a dict
        image id -> array of shape (h, w), or a sequence / stack of such
        arrays (image ids 0, 1, ...). Any size: each is resampled to its human
        map's shape as the metrics resample (:func:`selectivity.resample.resample`:
        area averaging to shrink, bilinear to enlarge); the maps must cover the whole image.
    human_maps : dict, optional
        Measure name -> per-image human maps (densities, ratings, ...), as
        ``ann_maps``; scored with the metrics that compare two maps (``"cc"``,
        ``"similarity"``, ``"kl_div"``, ...).
    fixations : dict, optional
        Measure name -> per-image fixations, scored with the metrics that take
        fixations (``"nss"``, ``"auc_judd"``, ...): fixation maps of shape
        (H, W) (counts; nonzero = fixated), or, with ``fixation_shape``,
        (x, y) image coordinates as :func:`analysis.fixation_counts` takes them.
    fixation_shape : tuple of int, optional
        ``(height, width)`` of the images, when ``fixations`` holds coordinates.
    metrics : sequence of str
        Names in :data:`analysis.metrics.METRICS`. Each scores every measure
        of ``human_maps`` or of ``fixations``, by what it compares a map with.
        ``auc_shuffled`` draws its negatives from the fixated pixels of the
        measure's other images.
    metric_options : dict, optional
        Metric name -> its keyword options, e.g. ``{"nss": {"ddof": 0}}``.
    baseline : array_like of shape (P, Q), or dict, optional
        For ``info_gain``: one baseline map for every image (e.g. a centre
        bias), or a dict image id -> map.
    smoothing_sigmas_px : sequence of float, optional
        Candidate Gaussian sigmas for the ANN maps, in pixels of the human
        maps (after any ``size``); 0 = unsmoothed. Default
        :data:`DEFAULT_SIGMAS_PX` ``(0, 1, 2, 4, 8)`` when ``px_per_deg`` is
        not given. The filter is :func:`scipy.ndimage.gaussian_filter` (edges
        reflected, cut at 4 sigma). When sigmas tie on the training images the
        smaller is chosen.
    smoothing_sigmas_deg : sequence of float, optional
        The candidate sigmas in degrees of visual angle instead (needs
        ``px_per_deg``; not with ``smoothing_sigmas_px``). Default, when
        ``px_per_deg`` is given: :data:`DEFAULT_SIGMAS_DEG` ``(0, 0.25, 0.5,
        1, 1.5, 2, 3)``.
    px_per_deg : float or dict, optional
        Pixels per degree of visual angle of the human maps *as given* (and
        of the fixation maps, or of ``fixation_shape`` for coordinates): one
        number, or a dict image id -> number when images differ (e.g. the
        study table's ``px_per_deg_img`` when the maps have the images'
        native size). When ``size`` resamples a map of shape (h, w) to
        (H, W), its pixels per degree are scaled by ``sqrt(H W / (h w))``.
        Image ``i`` is then smoothed with ``sigma_deg * px_per_deg[i]`` pixels.
    cv_folds : int, or fold labels
        Number of folds (2 to n_images; images dealt at random), or an
        explicit fold label per image (a dict image id -> label or a
        sequence in image order), e.g. to keep images of one scene together.
    n_bootstrap : int
        Bootstrap resamples of the images for the confidence intervals; 0
        leaves them NaN.
    n_permutations : int
        Derangements for the permutation test; 0 skips it (p-values NaN).
    confidence : float
        Level of the percentile bootstrap interval, in (0, 1).
    size : tuple of int, optional
        ``(height, width)`` to which the human maps are resampled first.
        Needed when a measure's maps differ in shape.
    rng : int or numpy.random.Generator, optional
        Seed or generator of the folds, resamples, derangements and the draws
        of stochastic metrics; the same folds, resamples and derangements
        serve every source, measure and metric (so they can be compared
        pairwise). A fixed seed gives identical results.
    progress : bool, optional
        Show a tqdm progress bar; default: when writing to a terminal.

    Returns
    -------
    MapComparison
        ``scores`` (per image), ``summary`` (per source x measure x metric),
        ``cv`` (training scores behind each choice of sigma) and ``null``.

    Warns
    -----
    UserWarning
        When the sigma chosen in any fold is the largest of the grid (naming
        the source, measure, metric, sigma and grid): the best smoothing may
        lie beyond it, so widen the grid. The smallest candidate warns too
        when it is above 0; a choice of 0 (no smoothing) is a legitimate
        answer and does not warn.

    Raises
    ------
    ValueError
        For unknown metrics or options, metrics with no matching human data,
        sources and measures that cover different images, maps that are not
        2-D, hold NaN or inf, or are constant, empty fixation maps, and
        invalid options.

    Notes
    -----
    ANN maps are resampled before they are smoothed, so a sigma means the
    same on every source. CC, NSS and Spearman (with default options) are
    computed as dot products of standardised maps (or ranks), so all image
    pairs of the permutation test are one matrix product: 1,000 images with
    1,000 derangements take seconds. Other metrics go through
    :func:`analysis.metrics.score_batch` on the distinct pairs the
    derangements use (about 0.63 n^2 of them for 1,000 derangements of n
    images), which for 1,000 images takes minutes: lower ``n_permutations``
    or score a subset for those.
    """
    unit, sigmas = _grid(smoothing_sigmas_px, smoothing_sigmas_deg, px_per_deg)
    n_bootstrap = _check_count(n_bootstrap, "n_bootstrap", minimum=0)
    n_permutations = _check_count(n_permutations, "n_permutations", minimum=0)
    size = _check_size(size, "size")
    fixation_shape = _check_size(fixation_shape, "fixation_shape")
    if not (isinstance(confidence, (int, float)) and 0 < confidence < 1):
        raise ValueError(
            "Invalid value for the 'confidence' parameter: expected a number in (0, 1), but got "
            f"{confidence!r} instead."
        )
    sources, ids = _per_image(ann_maps, "ann_maps")
    per_deg = _px_per_deg(px_per_deg, ids) if unit == "deg" else np.ones(len(ids))
    generator = np.random.default_rng(rng)
    kernels = _kernels(
        metrics,
        have_maps=human_maps is not None,
        have_fixations=fixations is not None,
        options=metric_options,
        baseline=_baseline_maps(baseline, ids),
        seed=np.random.SeedSequence(int(generator.integers(2**63 - 1))),
    )
    targets = _targets(human_maps, fixations, ids, size=size, fixation_shape=fixation_shape)
    folds = _fold_labels(cv_folds, ids, generator)
    boot = _bootstrap_indices(len(ids), n_bootstrap, generator)
    perms = (
        _derangements(len(ids), n_permutations, generator)
        if n_permutations
        else np.empty((0, len(ids)), dtype=np.int64)
    )
    run = _Run(ids, folds, sigmas, boot, perms, confidence, unit)
    # Measures share smoothed ANN stacks when they share a shape and pixels per sigma unit.
    groups: dict[tuple[Any, ...], list[tuple[str, list[Any], dict[str, Any]]]] = {}
    scales: dict[tuple[Any, ...], NDArray[np.float64]] = {}
    for measure, kind, stack, scale in targets:
        measure_kernels = [k for k in kernels if k.kind == kind]
        if measure_kernels:
            prepared = {
                k.name: k.prepare_targets(stack, ids, f"measure {measure!r}")
                for k in measure_kernels
            }
            px_per_unit = per_deg * scale if unit == "deg" else np.ones(len(ids))
            key = (stack.shape[1:], tuple(px_per_unit))
            scales[key] = px_per_unit
            groups.setdefault(key, []).append((measure, measure_kernels, prepared))
    from tqdm.auto import tqdm

    with tqdm(
        total=len(groups) * len(sources) * len(sigmas),
        desc="compare_maps",
        unit="step",
        disable=None if progress is None else not progress,
    ) as bar:
        for key, jobs in groups.items():
            for source, items in sources.items():
                ann = _ann_stack(items, ids, source, key[0])
                run.score(source, ann, jobs, bar, scales[key])
    scores, summary, cv = run.tables()
    distinct = {v for factor in scales.values() for v in factor.tolist()}
    if unit == "px":
        grid_px: tuple[float, ...] = sigmas
    elif len(distinct) == 1:
        (factor,) = distinct
        grid_px = tuple(s * factor for s in sigmas)
    else:
        grid_px = ()
    return MapComparison(
        scores=scores,
        summary=summary,
        cv=cv,
        null=run.null,
        image_ids=ids,
        folds=folds,
        smoothing_sigmas_px=grid_px,
        confidence=float(confidence),
        smoothing_sigmas_deg=sigmas if unit == "deg" else None,
    )
