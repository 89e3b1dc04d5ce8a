"""Metrics that score a saliency map against human fixations or another map (MIT benchmark)."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .fixations import _caller_stacklevel, _is_dataframe, fixation_counts

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["cc", "nss"]


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
    Resizing uses OpenCV's bilinear interpolation (``cv2.INTER_LINEAR``, pixel
    centres aligned), not MATLAB's ``imresize`` (bicubic, antialiased when
    shrinking) that the MIT code uses: scores for maps of different sizes
    can differ slightly from the MIT code's; for maps of equal size they are
    the same. Resize maps yourself beforehand for another interpolation.
    """
    b = _as_map(map_b, "map_b")
    a = _resize_to(_as_map(map_a, "map_a"), b.shape)
    za = _standardize(a, "map_a", ddof=0)
    zb = _standardize(b, "map_b", ddof=0)
    # The mean of the products of z-scores (with ddof=0) is Pearson's r.
    return float(np.mean(za * zb))


def nss(
    saliency_map: ArrayLike,
    fixation_map: ArrayLike | pd.DataFrame,
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
        first resized to it with ``cv2.INTER_LINEAR`` (see :func:`cc`).
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
        MATLAB's ``std`` in the MIT code, 0 for the population value.

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
    if ddof not in (0, 1) or isinstance(ddof, bool):
        raise ValueError(
            "Invalid value for the 'ddof' parameter. Allowed values are 1 and 0, but got "
            f"{ddof!r} instead."
        )
    fixated = _fixated_pixels(fixation_map, image_shape, saliency_map)
    s = _resize_to(_as_map(saliency_map, "saliency_map"), fixated.shape)
    z = _standardize(s, "saliency_map", ddof=ddof)
    return float(z[fixated].mean())


def _fixated_pixels(
    fixation_map: ArrayLike | pd.DataFrame,
    image_shape: tuple[int, int] | None,
    saliency_map: ArrayLike,
) -> NDArray[np.bool_]:
    """The boolean map of fixated pixels, from a fixation map or from coordinates."""
    if image_shape is not None:
        return fixation_counts(fixation_map, image_shape) > 0
    if _is_dataframe(fixation_map):
        raise ValueError(
            "Fixations given as a DataFrame need the 'image_shape' parameter, the "
            "(height, width) of the image their coordinates refer to."
        )
    f = _as_map(fixation_map, "fixation_map")
    if f.shape[1] == 2 and f.shape != np.shape(saliency_map):
        warnings.warn(
            f"The fixation map has shape {f.shape}: if these are (x, y) fixation "
            "coordinates, give image_shape=(height, width) to nss.",
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )
    if (f < 0).any():
        raise ValueError(
            "Invalid value for the 'fixation_map' parameter: it must be non-negative "
            "(nonzero = fixated), but has negative values."
        )
    fixated = f > 0
    if not fixated.any():
        raise ValueError("The fixation map is empty: no pixel is fixated (all values are 0).")
    return fixated


def _as_map(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """A validated, finite, non-empty 2-D float64 map."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected a 2-D numeric array ({err})."
        ) from None
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected a non-empty 2-D array of "
            f"shape (height, width), but got shape {arr.shape} instead."
        )
    n_bad = int(np.count_nonzero(~np.isfinite(arr)))
    if n_bad:
        raise ValueError(
            f"Invalid value for the '{name}' parameter: {n_bad} of its {arr.size} values "
            "are NaN or infinite."
        )
    return arr


def _resize_to(arr: NDArray[np.float64], shape: tuple[int, ...]) -> NDArray[np.float64]:
    """Resize a map to ``shape = (height, width)`` bilinearly; unchanged when equal."""
    if arr.shape == shape:
        return arr
    import cv2

    height, width = shape
    return np.asarray(
        cv2.resize(arr, (int(width), int(height)), interpolation=cv2.INTER_LINEAR),
        dtype=np.float64,
    ).reshape(shape)


def _standardize(arr: NDArray[np.float64], name: str, *, ddof: int) -> NDArray[np.float64]:
    """``(arr - mean) / std``; a constant map cannot be standardised and raises."""
    if np.ptp(arr) == 0:
        raise ValueError(
            f"Invalid value for the '{name}' parameter: the map is constant (all values "
            f"{arr.flat[0]!r}), so it cannot be standardised and the metric is undefined."
        )
    centred = arr - arr.mean()
    return centred / centred.std(ddof=ddof)
