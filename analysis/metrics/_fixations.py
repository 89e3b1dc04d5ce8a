"""Location-based metrics: a saliency map scored at the pixels that observers fixated."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from ._checks import (
    as_map,
    check_bool,
    check_option,
    fixated_indices,
    positive_int,
    resize_to,
)
from ._kernels import (
    auc_borji_kernel,
    auc_judd_kernel,
    auc_shuffled_exact_kernel,
    auc_shuffled_kernel,
    baseline_distribution,
    check_step,
    info_gain_kernel,
    nss_kernel,
)
from ._pairs import native_flat

if TYPE_CHECKING:
    import pandas as pd

    Fixations = ArrayLike | pd.DataFrame

__all__ = ["auc_borji", "auc_judd", "auc_shuffled", "info_gain", "nss"]


def auc_judd(
    saliency_map: ArrayLike,
    fixation_map: Fixations,
    *,
    jitter: bool = False,
    rng: int | np.random.Generator | None = None,
    image_shape: tuple[int, int] | None = None,
) -> float:
    """Area under the ROC curve, thresholds at the fixated saliency values (AUC-Judd).

    The MIT saliency benchmark's ``AUC_Judd``: the saliency map is min-max
    normalised; its values at the ``n`` fixated pixels, sorted descending,
    are the thresholds; at the ``i``-th threshold ``t_i`` the true-positive
    rate is ``i / n`` and the false-positive rate ``(#{pixels >= t_i} - i) /
    (N - n)`` over all ``N`` pixels; with end points (0, 0) and (1, 1) the
    curve is integrated with the trapezoid rule.

    Parameters
    ----------
    saliency_map : array_like of shape (M, N)
        The map to score. When its shape differs from the fixation map's it is
        first resized to it (see :func:`cc`).
    fixation_map : array_like of shape (H, W), or fixations
        Which pixels were fixated: nonzero = fixated (a pixel counts once
        however many fixations it holds, as in the MIT code). With
        ``image_shape`` given it is instead the fixations themselves, (x, y)
        image pixels as :func:`analysis.fixation_counts` takes them (nearest
        pixel, halves up).
    jitter : bool
        Add uniform noise in ``[0, 1e-7)`` to the saliency map before the
        normalisation, as the MIT code does by default, to break ties in maps
        with flat regions. Off by default: it changes the score of maps with
        ties at random and reorders values closer than 1e-7.
    rng : int or numpy.random.Generator, optional
        Seed or generator for the jitter.
    image_shape : tuple of int, optional
        ``(height, width)`` of the image the fixation coordinates refer to;
        give it exactly when ``fixation_map`` holds coordinates.

    Returns
    -------
    float
        AUC in ``[0, 1]``; 0.5 is chance.

    Raises
    ------
    ValueError
        If a map is not 2-D, holds NaN or inf, the saliency map is constant,
        no pixel (or every pixel) is fixated, or the fixation map is negative.

    Notes
    -----
    With tied saliency values at fixated pixels the MIT formula (kept here)
    counts the tied fixated pixels above the threshold as false positives.
    pysaliency's ``AUC_Judd`` differs: one positive per fixation (duplicates
    count again) and all positives at or above the threshold as hits; without
    ties and duplicates the two agree.
    """
    check_bool(jitter, "jitter")
    shape, idx, _ = fixated_indices(
        fixation_map, image_shape, "fixation_map", like_shape=np.shape(saliency_map)
    )
    s = resize_to(as_map(saliency_map, "saliency_map"), shape)
    gen = np.random.default_rng(rng) if jitter else None
    return auc_judd_kernel(s.ravel(), idx, rng=gen, name="saliency_map")


def auc_borji(
    saliency_map: ArrayLike,
    fixation_map: Fixations,
    *,
    n_splits: int = 100,
    step: float = 0.1,
    rng: int | np.random.Generator | None = None,
    image_shape: tuple[int, int] | None = None,
) -> float:
    """AUC against negatives drawn uniformly from all pixels (AUC-Borji).

    The MIT benchmark's ``AUC_Borji``: the saliency map is min-max
    normalised; for each of ``n_splits`` splits, as many pixels as there are
    fixated pixels are drawn uniformly with replacement from the whole image
    as negatives; thresholds run from the largest multiple of ``step`` not
    above the largest value down to 0; true- and false-positive rates are the
    fractions of fixated and drawn values at or above each threshold; each
    curve, with end points (0, 0) and (1, 1), is integrated with the
    trapezoid rule, and the AUCs are averaged over splits.

    Parameters
    ----------
    saliency_map : array_like of shape (M, N)
        The map to score, resized to the fixation map's shape if needed.
    fixation_map : array_like of shape (H, W), or fixations
        Fixated pixels (nonzero), or coordinates with ``image_shape``; see
        :func:`auc_judd`.
    n_splits : int
        Number of random draws of negatives.
    step : float
        Threshold step on the normalised map, in ``(0, 1]``.
    rng : int or numpy.random.Generator, optional
        Seed or generator for the draws.
    image_shape : tuple of int, optional
        ``(height, width)`` when ``fixation_map`` holds coordinates.

    Returns
    -------
    float
        AUC in ``[0, 1]``; 0.5 is chance.

    Raises
    ------
    ValueError
        As :func:`auc_judd`, and for a bad ``n_splits`` or ``step``.

    Notes
    -----
    Thresholds are ``k * step`` (MATLAB's colon operator may differ in the
    last bit). With a single fixated pixel the MIT code returns NaN; here the
    AUC is computed as for any other count.
    """
    shape, idx, _ = fixated_indices(
        fixation_map, image_shape, "fixation_map", like_shape=np.shape(saliency_map)
    )
    s = resize_to(as_map(saliency_map, "saliency_map"), shape)
    return auc_borji_kernel(
        s.ravel(),
        idx,
        n_splits=positive_int(n_splits, "n_splits"),
        step=check_step(step),
        rng=np.random.default_rng(rng),
        name="saliency_map",
    )


def auc_shuffled(
    saliency_map: ArrayLike,
    fixation_map: Fixations,
    other_fixation_map: Fixations,
    *,
    n_splits: int = 100,
    step: float = 0.1,
    rng: int | np.random.Generator | None = None,
    image_shape: tuple[int, int] | None = None,
    exact: bool = False,
) -> float:
    """AUC against negatives drawn from other images' fixations (shuffled AUC).

    The MIT benchmark's ``AUC_shuffled``: as :func:`auc_borji`, but each
    split's negatives are ``min(n, n_other)`` pixels drawn without
    replacement from the ``n_other`` pixels fixated in ``other_fixation_map``
    (e.g. the union of the fixations on 10 other images), which discounts a
    centre bias that both share.

    With ``exact=True`` it is instead pysaliency's exact variant: no draws
    and no threshold step; the saliency values at the ``n`` fixated pixels
    are ranked against those at all ``n_other`` other pixels, and the score
    is the area under the ROC curve through every threshold, which is the
    Mann-Whitney statistic ``(#{p > q} + #{p == q} / 2) / (n * n_other)``
    over all pairs of a fixated value ``p`` and an other value ``q``.
    Example: a 2 x 3 map ``[[0.1, 0.4, 0.35], [0.8, 0.2, 0.4]]`` fixated at
    the values 0.8 and 0.4 (pixels (1, 0) and (0, 1)), with other fixations
    at the values 0.4, 0.35 and 0.1: 0.8 beats all three (3 pairs), 0.4
    beats 0.35 and 0.1 and ties 0.4 (2.5 pairs), so the AUC is
    ``(3 + 2.5) / (2 * 3) = 11 / 12``.

    Parameters
    ----------
    saliency_map : array_like of shape (M, N)
        The map to score, resized to the fixation map's shape if needed.
    fixation_map : array_like of shape (H, W), or fixations
        Fixated pixels (nonzero), or coordinates with ``image_shape``.
    other_fixation_map : array_like of shape (H, W), or fixations
        Pixels fixated on other images (nonzero), mapped into this image's
        pixels; coordinates when ``image_shape`` is given (see
        :func:`analysis.baselines.other_image_fixations`).
    n_splits, step, rng, image_shape
        As in :func:`auc_borji`; ``n_splits``, ``step`` and ``rng`` are unused
        with ``exact=True``.
    exact : bool
        Rank all fixated values against all other values (pysaliency's
        ``sAUC`` definition, deterministic) instead of the MIT code's random
        splits.

    Returns
    -------
    float
        AUC in ``[0, 1]``; 0.5 is chance (a map that is only a centre bias).

    Raises
    ------
    ValueError
        As :func:`auc_borji`, or when the other fixation map is empty or has
        another shape than the fixation map.

    Notes
    -----
    The exact variant ranks the raw saliency values: min-max normalisation
    would not change their order. As everywhere in this module, a pixel
    counts once however many fixations it holds; pysaliency ranks one value
    per fixation, so the two agree when no two fixations (of the image, or
    of the other images) fall on one pixel.

    The exact variant's score depends only on the values at the fixated and
    the other pixels, and a float32 or float64 map of the fixation map's
    shape is checked only there: a NaN or infinite value among them raises,
    one elsewhere is not read and does not (a map that needs resizing, or
    of another type, is checked whole as it is converted). Such a map is
    constant, and raises, only when every value read is the same and so
    is the rest of the map.
    """
    check_bool(exact, "exact")
    shape, idx, _ = fixated_indices(
        fixation_map, image_shape, "fixation_map", like_shape=np.shape(saliency_map)
    )
    other_shape, other_idx, _ = fixated_indices(
        other_fixation_map, image_shape, "other_fixation_map"
    )
    if other_shape != shape:
        raise ValueError(
            "Invalid value for the 'other_fixation_map' parameter: expected the fixation "
            f"map's shape {shape}, but got shape {other_shape} instead."
        )
    flat = native_flat(saliency_map)
    if exact and flat is not None and np.shape(saliency_map) == shape:
        return auc_shuffled_exact_kernel(flat, idx, other_idx, name="saliency_map")
    s = resize_to(as_map(saliency_map, "saliency_map"), shape)
    if exact:
        return auc_shuffled_exact_kernel(s.ravel(), idx, other_idx, name="saliency_map")
    return auc_shuffled_kernel(
        s.ravel(),
        idx,
        other_idx,
        n_splits=positive_int(n_splits, "n_splits"),
        step=check_step(step),
        rng=np.random.default_rng(rng),
        name="saliency_map",
    )


def nss(
    saliency_map: ArrayLike,
    fixation_map: Fixations,
    *,
    image_shape: tuple[int, int] | None = None,
    ddof: int = 1,
) -> float:
    """Normalized scanpath saliency: the standardised saliency at fixated pixels.

    The MIT saliency benchmark's ``NSS``: the saliency map is standardised
    (mean 0, standard deviation 1 over all its pixels) and averaged over the
    fixated pixels.

    Parameters
    ----------
    saliency_map : array_like of shape (M, N)
        The map to score. When its shape differs from the fixation map's it is
        first resized to it (see :func:`cc`).
    fixation_map : array_like of shape (H, W), or fixations
        Which pixels were fixated: nonzero = fixated, e.g. from
        :func:`analysis.fixation_counts`. With ``image_shape`` given it is
        instead the fixations themselves, an array of shape (K, 2) of ``(x, y)``
        image pixels (x = column, y = row) or a DataFrame, as
        :func:`analysis.fixation_counts` takes them.
    image_shape : tuple of int, optional
        ``(height, width)`` of the image the fixation coordinates refer to;
        give it exactly when ``fixation_map`` holds coordinates.
    ddof : {1, 0}
        Delta degrees of freedom of the standard deviation: 1 (default) like
        MATLAB's ``std`` in the MIT code, 0 for the population value (as
        pysaliency).

    Returns
    -------
    float
        Mean standardised saliency at the fixated pixels: 0 is chance, > 0
        means fixations land on above-average saliency.

    Raises
    ------
    ValueError
        If a map is not 2-D or holds NaN or inf, the saliency map is constant,
        no pixel is fixated, the fixation map has negative values, or
        coordinates are given without ``image_shape``.

    Warns
    -----
    UserWarning
        When a fixation *map* has exactly two columns but another shape than
        the saliency map (were coordinates meant? then give ``image_shape``),
        or when given coordinates fall outside the image.

    Notes
    -----
    As in the MIT code (``map(logical(fixationMap))``), a fixated pixel
    counts once however many fixations it holds, so duplicate fixations do
    not add weight; pysaliency instead averages over fixations.
    """
    check_option(ddof, "ddof", (1, 0))
    shape, idx, _ = fixated_indices(
        fixation_map, image_shape, "fixation_map", like_shape=np.shape(saliency_map)
    )
    s = resize_to(as_map(saliency_map, "saliency_map"), shape)
    return nss_kernel(s.ravel(), idx, ddof=ddof, name="saliency_map")


def info_gain(
    saliency_map: ArrayLike,
    fixation_map: Fixations,
    baseline_map: ArrayLike,
    *,
    image_shape: tuple[int, int] | None = None,
) -> float:
    """Information gain of a saliency map over a baseline, in bits per fixation.

    The MIT benchmark's ``InfoGain`` (after Kümmerer et al. 2015): both maps
    are min-max normalised and scaled to sum 1, giving ``S`` and ``B``; the
    score is the mean over fixated pixels of ``log2(eps + S) - log2(eps + B)``
    with ``eps`` = 2.2204e-16 (:data:`analysis.metrics.EPS`).

    Parameters
    ----------
    saliency_map : array_like of shape (M, N)
        The map to score, resized to the fixation map's shape if needed.
    fixation_map : array_like of shape (H, W), or fixations
        Fixated pixels (nonzero), or coordinates with ``image_shape``.
    baseline_map : array_like of shape (P, Q)
        The reference prediction, e.g. a centre bias from
        :mod:`analysis.baselines`, resized to the fixation map's shape.
    image_shape : tuple of int, optional
        ``(height, width)`` when ``fixation_map`` holds coordinates.

    Returns
    -------
    float
        Bits per fixated pixel: > 0 when the saliency map puts more mass on
        the fixated pixels than the baseline does.

    Raises
    ------
    ValueError
        As :func:`nss`; a constant saliency map raises.

    Notes
    -----
    A constant baseline (e.g. :func:`analysis.baselines.uniform_baseline`) is
    read as the uniform distribution ``1 / N``; the MIT code's min-max step
    would turn it into NaN. The min-max step gives the minimum pixel of each
    map probability 0 (``log2(eps)`` = -52 bits if fixated).
    """
    shape, idx, _ = fixated_indices(
        fixation_map, image_shape, "fixation_map", like_shape=np.shape(saliency_map)
    )
    s = resize_to(as_map(saliency_map, "saliency_map"), shape)
    b = resize_to(as_map(baseline_map, "baseline_map"), shape)
    return info_gain_kernel(s.ravel(), baseline_distribution(b.ravel()), idx, name="saliency_map")
