"""Distribution-based metrics: one map compared with another, pixel by pixel."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._checks import as_map, constant_error, native_map, resize_to
from ._emd import check_downsample, emd_pair
from ._pairs import Flat, cc_from_sums, kl_from_sums, native_flat
from ._rows import (
    cc_rows,
    centred_ranks,
    check_percent,
    kl_rows,
    similarity_rows,
    spearman_against,
    spearman_rows,
    topk_rows,
    warn_oversized,
)

__all__ = ["cc", "emd", "kl_div", "similarity", "spearman", "topk_dice", "topk_iou"]


def cc(map_a: ArrayLike, map_b: ArrayLike) -> float:
    """Pearson's linear correlation coefficient between two maps.

    The MIT saliency benchmark's ``CC``: both maps are standardised (mean 0,
    standard deviation 1) and correlated pixel by pixel.

    Parameters
    ----------
    map_a : array_like of shape (M, N)
        A map, e.g. a model's saliency map. When its shape differs from
        ``map_b``'s it is first resized to ``map_b``'s shape (see Notes).
    map_b : array_like of shape (P, Q)
        The other map, e.g. a human fixation density.

    Returns
    -------
    float
        Correlation in ``[-1, 1]``. Symmetric in the two maps when they have
        the same shape, and unchanged by any affine rescaling ``a * map + b``
        with ``a > 0`` of either map (the sign flips when ``a < 0``).

    Raises
    ------
    ValueError
        If a map is not 2-D, is empty, holds NaN or inf, or is constant.

    Notes
    -----
    Resizing uses :func:`selectivity.resample.resample` (area averaging when
    shrinking, bilinear interpolation when enlarging, pixel centres aligned),
    not MATLAB's ``imresize`` (bicubic, antialiased when shrinking) that the
    MIT code uses: scores for maps of different sizes can differ slightly
    from the MIT code's; for maps of equal size they are the same. Every
    metric, :func:`analysis.compare_maps` and the noise ceilings resize this
    way. Resize maps yourself beforehand for another interpolation.
    """
    native = _native_pair(map_a, map_b)
    fast = None if native is None else cc_from_sums(*native)
    if fast is not None:
        return fast
    a, b = _pair(map_a, map_b)
    return float(cc_rows(a, b)[0])


def similarity(map_a: ArrayLike, map_b: ArrayLike) -> float:
    """Similarity (histogram intersection) of two maps read as distributions (SIM).

    The MIT benchmark's ``similarity``: each map is min-max normalised, then
    scaled to sum 1; the score is the sum over pixels of the element-wise
    minimum.

    Parameters
    ----------
    map_a : array_like of shape (M, N)
        A map, resized to ``map_b``'s shape if needed (see :func:`cc`).
    map_b : array_like of shape (P, Q)
        The other map.

    Returns
    -------
    float
        In ``[0, 1]``: 1 for maps equal up to an affine rescaling with a
        positive factor, 0 for maps with disjoint support. Symmetric.

    Raises
    ------
    ValueError
        If a map is not 2-D, holds NaN or inf, or is constant.

    Notes
    -----
    pysaliency's ``SIM`` subtracts the minimum only when it is negative, so
    the two agree for maps whose minimum is 0 (e.g. fixation densities) and
    differ otherwise.
    """
    a, b = _pair(map_a, map_b)
    return float(similarity_rows(a, b)[0])


def kl_div(saliency_map: ArrayLike, fixation_map: ArrayLike) -> float:
    """Kullback-Leibler divergence of the fixation density from the saliency map (KL).

    The MIT benchmark's ``KLdiv``: ``P`` = fixation map / its sum, ``Q`` =
    saliency map / its sum, score = ``sum(P * log(eps + P / (Q + eps)))``
    with ``eps`` = 2.2204e-16 (:data:`analysis.metrics.EPS`), natural log.

    Parameters
    ----------
    saliency_map : array_like of shape (M, N)
        The prediction ``Q``, non-negative; resized to the fixation map's
        shape if needed (see :func:`cc`).
    fixation_map : array_like of shape (H, W)
        The human fixation density ``P`` (e.g. from
        :func:`analysis.fixation_map`), non-negative.

    Returns
    -------
    float
        Divergence in nats, >= 0 up to the ``eps`` terms; lower is better; 0
        when the maps are proportional. Not symmetric.

    Raises
    ------
    ValueError
        If a map is not 2-D, holds NaN or inf, has negative values or is all
        zeros. A constant positive map is a valid (uniform) distribution.

    Notes
    -----
    Maps are not min-max normalised (as in the MIT code): shift a map with
    negative values yourself. pysaliency's ``MIT_KLDiv`` shifts them by their
    minimum instead, and agrees for non-negative maps.
    """
    native = _native_pair(saliency_map, fixation_map)
    fast = None if native is None else kl_from_sums(*native)
    if fast is not None:
        return fast
    s, f = _pair(saliency_map, fixation_map, names=("saliency_map", "fixation_map"))
    return float(kl_rows(s, f, names=("saliency_map", "fixation_map"))[0])


def spearman(map_a: ArrayLike, map_b: ArrayLike) -> float:
    """Spearman's rank correlation between two maps.

    Pearson's correlation (:func:`cc`) of the pixel ranks, ties given their
    average rank (as :func:`scipy.stats.spearmanr`).

    Parameters
    ----------
    map_a : array_like of shape (M, N)
        A map, resized to ``map_b``'s shape if needed (see :func:`cc`).
    map_b : array_like of shape (P, Q)
        The other map.

    Returns
    -------
    float
        In ``[-1, 1]``; symmetric; unchanged by any increasing transform of
        either map.

    Raises
    ------
    ValueError
        If a map is not 2-D, holds NaN or inf, or is constant.
    """
    native_b = native_map(map_b, "map_b") if _native_pair(map_a, map_b) else None
    native_a = native_map(map_a, "map_a") if native_b else None
    if native_a is not None and native_b is not None:
        for name, (_, lo, hi) in (("map_a", native_a), ("map_b", native_b)):
            if lo == hi:
                raise constant_error(name, lo)
        return spearman_against(native_a[0].reshape(-1), *centred_ranks(native_b[0].reshape(-1)))
    a2, b2 = _pair(map_a, map_b)
    return float(spearman_rows(a2, b2)[0])


def topk_iou(map_a: ArrayLike, map_b: ArrayLike, *, percent: float = 10.0) -> float:
    """Overlap (intersection over union) of the top ``percent`` % pixels of two maps.

    Parameters
    ----------
    map_a : array_like of shape (M, N)
        A map, resized to ``map_b``'s shape if needed (see :func:`cc`).
    map_b : array_like of shape (P, Q)
        The other map.
    percent : float
        Size of each map's top region, in percent of its pixels, in (0, 100].

    Returns
    -------
    float
        ``|A & B| / |A | B|`` in ``[0, 1]``; symmetric. Two independent random
        regions of ``p`` % score about ``p / (200 - p)``.

    Raises
    ------
    ValueError
        If a map is not 2-D, holds NaN or inf, or is constant, or for a bad
        ``percent``.

    Warns
    -----
    UserWarning
        When ties at the cut make a region more than 10 % larger than asked.

    Notes
    -----
    A map's top region holds the pixels at or above its ``k``-th largest value,
    ``k = ceil(percent / 100 * n_pixels)``: pixels tied with that value are
    all kept, so a map with large flat regions can select more than
    ``percent`` % (a warning says so).
    """
    return _topk(map_a, map_b, percent=percent, dice=False)


def topk_dice(map_a: ArrayLike, map_b: ArrayLike, *, percent: float = 10.0) -> float:
    """Dice overlap of the top ``percent`` % pixels of two maps.

    As :func:`topk_iou`, scored as ``2 |A & B| / (|A| + |B|)``, which equals
    ``2 IoU / (1 + IoU)``; two random regions of ``p`` % score about ``p / 100``.

    Parameters
    ----------
    map_a : array_like of shape (M, N)
        A map, resized to ``map_b``'s shape if needed.
    map_b : array_like of shape (P, Q)
        The other map.
    percent : float
        Size of each map's top region, in percent of its pixels, in (0, 100].

    Returns
    -------
    float
        Dice coefficient in ``[0, 1]``; symmetric.

    Raises
    ------
    ValueError
        As :func:`topk_iou`.
    """
    return _topk(map_a, map_b, percent=percent, dice=True)


def emd(map_a: ArrayLike, map_b: ArrayLike, *, downsample: int = 32) -> float:
    """Earth mover's distance between two maps read as distributions, after downsampling.

    Both maps are downsampled by ``downsample``, scaled to sum 1, and the cost
    of the optimal transport plan between them is computed exactly with POT's
    network-simplex solver (:func:`ot.emd2`), the ground distance being the
    Euclidean distance between the centres of the downsampled cells.

    Parameters
    ----------
    map_a : array_like of shape (M, N)
        A non-negative map, resized to ``map_b``'s shape first if needed
        (see :func:`cc`).
    map_b : array_like of shape (H, W)
        The other non-negative map, e.g. a fixation density.
    downsample : int
        Both maps are shrunk to ``(ceil(H / downsample), ceil(W / downsample))``
        cells by area averaging (:func:`selectivity.resample.resample`); 1 keeps
        full resolution (the
        cost grows with the square of the number of nonzero cells).

    Returns
    -------
    float
        Distance in cells of the downsampled grid (multiply by ``downsample``
        for approximately image pixels); 0 for proportional maps; lower is
        better; symmetric.

    Raises
    ------
    ValueError
        If a map is not 2-D, holds NaN or inf, has negative values or is all
        zeros, or for a bad ``downsample``.

    Notes
    -----
    As the MIT benchmark's ``EMD`` (factor 1/32, distances in downsampled
    pixels, mass normalised to 1), except that the MIT code shrinks with
    MATLAB's bicubic ``imresize`` and first histogram-matches the saliency map
    to the fixation map; neither is done here, so scores differ from the MIT
    code's. The transport problem is solved exactly (no entropic smoothing).
    When POT is first imported here and torch is not loaded, POT's optional
    torch/JAX/CuPy/TensorFlow backends are switched off for that import, so
    that scoring does not load torch; import ``ot`` first to keep them.
    """
    factor = check_downsample(downsample)
    b = as_map(map_b, "map_b")
    a = resize_to(as_map(map_a, "map_a"), b.shape)
    return emd_pair(a.ravel(), b.ravel(), b_shape=b.shape, downsample=factor)


def _native_pair(map_a: Any, map_b: Any) -> tuple[Flat, Flat] | None:
    """Both maps as flat views when both are float32/float64 2-D arrays of one shape; else None."""
    a, b = native_flat(map_a), native_flat(map_b)
    if a is None or b is None or np.shape(map_a) != np.shape(map_b):
        return None
    return a, b


def _pair(
    map_a: ArrayLike, map_b: ArrayLike, *, names: tuple[str, str] = ("map_a", "map_b")
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Both maps validated, the first resized to the second; flattened to one row each."""
    b = as_map(map_b, names[1])
    a = resize_to(as_map(map_a, names[0]), b.shape)
    return a.reshape(1, -1), b.reshape(1, -1)


def _topk(map_a: ArrayLike, map_b: ArrayLike, *, percent: float, dice: bool) -> float:
    percent = check_percent(percent)
    a, b = _pair(map_a, map_b)
    scores, oversized = topk_rows(a, b, percent=percent, dice=dice)
    warn_oversized(oversized, 1, percent)
    return float(scores[0])
