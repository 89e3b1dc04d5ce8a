"""The one resampling of maps, masks and images: area averaging to shrink, bilinear to enlarge."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["resample"]


def resample(values: ArrayLike, shape: tuple[int, int]) -> NDArray[np.float64]:
    """Resample a map, mask or image to ``shape = (height, width)``.

    Pixel convention: integer coordinates are pixel centres, and the outer
    corners of the input and output grids coincide. Output pixel ``j`` of an
    axis that goes from ``n_in`` to ``n_out`` pixels thus has its centre at
    input coordinate ``c = (j + 0.5) * n_in / n_out - 0.5`` and covers input
    coordinates ``c - s / 2`` to ``c + s / 2``, ``s = n_in / n_out``.

    Each axis is resampled on its own (the filter is separable):

    - an axis that shrinks is area-averaged: output pixel ``j`` is the mean
      of the input over the interval it covers, each input pixel counted with
      the length of its overlap (a box filter as wide as the output pixel,
      OpenCV's ``INTER_AREA``). This antialiases, keeps the mean of the map
      (densities keep their mass per area), and an integer factor averages
      whole blocks (4 x 4 -> 2 x 2 gives the means of the 2 x 2 blocks);
    - an axis that grows is interpolated linearly between the two nearest
      input pixel centres, the value of the outermost pixel being kept beyond
      the outermost centres (OpenCV's ``INTER_LINEAR``); output pixels whose
      centres fall on input centres take those values exactly;
    - an axis of unchanged length is left as it is.

    Both keep every value within the input's range and a constant map
    constant (to rounding), and neither needs an option: the project's maps,
    masks (soft weights in [0, 1], thresholded afterwards where binary masks
    are wanted) and photographs all resample alike.

    Parameters
    ----------
    values : array_like of shape (H, W) or (H, W, ...)
        Real values (bool and integers are converted to float64). Axes 0 and
        1 (rows, columns) are resampled; trailing axes (colour channels, or a
        stack of maps moved last) are carried along.
    shape : tuple of int
        ``(height, width)`` of the result, positive integers.

    Returns
    -------
    ndarray of shape (height, width, ...), float64
        A new array, also when ``shape`` equals the input's.

    Raises
    ------
    ValueError
        If ``values`` has fewer than two axes, an empty axis, or is not real;
        or ``shape`` is not two positive integers.

    Notes
    -----
    NaN and infinite inputs are allowed: a non-finite input pixel makes every
    output pixel that gives it a positive weight non-finite, and no other.
    """
    height, width = _check_shape(shape)
    arr = np.asarray(values)
    if arr.ndim < 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            "Invalid value for the 'values' parameter: expected an array of shape (H, W) or "
            f"(H, W, ...) with H, W >= 1, but got shape {arr.shape} instead."
        )
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
        raise ValueError(
            "Invalid value for the 'values' parameter: expected real numbers, but got dtype "
            f"{arr.dtype} instead."
        )
    out = np.array(arr, dtype=np.float64)
    finite = bool(np.isfinite(out).all())
    for axis, n_out in ((0, height), (1, width)):
        if out.shape[axis] != n_out:
            out = _along(out, axis, *_taps(out.shape[axis], n_out), finite=finite)
    return out


def _check_shape(shape: Any) -> tuple[int, int]:
    if (
        not isinstance(shape, (tuple, list))
        or len(shape) != 2
        or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in shape
        )
    ):
        raise ValueError(
            "Invalid value for the 'shape' parameter: expected (height, width) as two positive "
            f"integers, but got {shape!r} instead."
        )
    return int(shape[0]), int(shape[1])


@lru_cache(maxsize=128)
def _taps(n_in: int, n_out: int) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Input indices and weights, both of shape (n_out, K), resampling one axis.

    Each row of weights sums to 1; unused taps have weight 0.
    """
    j = np.arange(n_out, dtype=np.float64)
    if n_out < n_in:
        lo = j * n_in / n_out
        hi = (j + 1) * n_in / n_out
        first = np.floor(lo).astype(np.intp)
        n_taps = int((np.ceil(hi).astype(np.intp) - first).max())
        idx = first[:, None] + np.arange(n_taps)[None, :]
        overlap = np.minimum(hi[:, None], idx + 1.0) - np.maximum(lo[:, None], idx)
        weights = np.clip(overlap, 0.0, None)
        idx = np.minimum(idx, n_in - 1)
    else:
        centre = np.clip((j + 0.5) * n_in / n_out - 0.5, 0.0, n_in - 1.0)
        left = np.floor(centre).astype(np.intp)
        right = np.minimum(left + 1, n_in - 1)
        frac = centre - left
        idx = np.stack([left, right], axis=1)
        weights = np.stack([1.0 - frac, frac], axis=1)
    weights /= weights.sum(axis=1, keepdims=True)
    idx.setflags(write=False)
    weights.setflags(write=False)
    return idx, weights


def _along(
    arr: NDArray[np.float64],
    axis: int,
    idx: NDArray[np.intp],
    weights: NDArray[np.float64],
    *,
    finite: bool,
) -> NDArray[np.float64]:
    """Resample axis ``axis`` of ``arr`` with the taps of :func:`_taps`."""
    expand = (slice(None),) + (None,) * (arr.ndim - 1 - axis)
    out = np.zeros((*arr.shape[:axis], idx.shape[0], *arr.shape[axis + 1 :]))
    for k in range(idx.shape[1]):
        w = weights[:, k][expand]
        term = np.take(arr, idx[:, k], axis=axis) * w
        if not finite:
            # a zero weight must not turn a NaN or inf it points at into NaN
            term = np.where(w > 0, term, 0.0)
        out += term
    return out
