"""Validation and normalisation of the maps and fixations that the metrics read."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from selectivity.resample import resample

from ..fixations._input import fixation_xy, is_dataframe, pixel_indices

#: MATLAB's ``eps`` as the MIT saliency benchmark and pysaliency's ``MIT_KLDiv``
#: write it (2.2204e-16; MATLAB's own is 2.220446049250313e-16): the
#: regulariser of :func:`analysis.metrics.kl_div` and
#: :func:`analysis.metrics.info_gain`.
EPS = 2.2204e-16


@dataclass(frozen=True, eq=False)
class FixatedPixels:
    """The fixated pixels of one image, computed once to score many maps against them.

    Made by :func:`analysis.metrics.fixated_pixels`; every location-based
    metric and :func:`analysis.metrics.score_batch` take it wherever they
    take fixations (``targets`` and ``other``), without ``image_shape``.

    Attributes
    ----------
    shape : tuple of int
        ``(height, width)`` of the image, in pixels.
    indices : ndarray of int64, shape (K,)
        Sorted, unique linear indices ``row * width + col`` of the fixated
        pixels (read-only); a pixel counts once however many fixations it holds.
    n_outside : int
        Fixations that fell outside the image and were left out.
    """

    shape: tuple[int, int]
    indices: NDArray[np.int64]
    n_outside: int = 0


def fixated_pixels(fixations: Any, image_shape: tuple[int, int] | None = None) -> FixatedPixels:
    """The fixated pixels of one image, to score many saliency maps against them.

    Converting fixations costs more than some metrics (the exact shuffled
    AUC reads a few hundred values): converted once, they are reused by
    every call that is given the result.

    Parameters
    ----------
    fixations : array_like of shape (H, W), or fixations
        A fixation map (nonzero = fixated), or with ``image_shape`` fixation
        coordinates ((K, 2) ``(x, y)`` image pixels, a scanpath list or a
        DataFrame, as :func:`analysis.fixation_counts` takes them; nearest
        pixel, halves up).
    image_shape : tuple of int, optional
        ``(height, width)`` of the image that coordinates refer to.

    Returns
    -------
    FixatedPixels
        The image's shape and its fixated pixels.

    Raises
    ------
    ValueError
        As the metrics: a fixation map that is not 2-D, negative or empty,
        coordinates without ``image_shape``, or all fixations outside.

    Warns
    -----
    UserWarning
        When some coordinates fall outside the image (they are left out).
    """
    shape, idx, n_out = fixated_indices(fixations, image_shape, "fixations")
    idx = np.asarray(idx, dtype=np.int64)
    idx.flags.writeable = False
    return FixatedPixels(shape, idx, n_out)


def as_map(value: ArrayLike, name: str) -> NDArray[np.float64]:
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
    check_finite(arr, name)
    return arr


def native_map(value: Any, name: str) -> tuple[NDArray[np.floating[Any]], float, float] | None:
    """A float32 or float64 2-D array as given (no copy), validated, with its minimum and maximum.

    For kernels that read only a few values of a map, the float64 copy of
    :func:`as_map` would cost more than the metric: the minimum and maximum
    (needed anyway) show whether any value is NaN or infinite. Anything else
    than such an array gives None: use :func:`as_map`.
    """
    if (
        not isinstance(value, np.ndarray)
        or value.dtype not in (np.float32, np.float64)
        or value.ndim != 2
        or value.size == 0
    ):
        return None
    lo, hi = float(value.min()), float(value.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        check_finite(value, name)
    return value, lo, hi


def check_finite(arr: NDArray[np.floating[Any]], name: str) -> None:
    """Raise when ``arr`` holds NaN or infinite values."""
    n_bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
    if n_bad:
        raise ValueError(
            f"Invalid value for the '{name}' parameter: {n_bad} of its {arr.size} values "
            "are NaN or infinite."
        )


def resize_to(arr: NDArray[np.float64], shape: tuple[int, ...]) -> NDArray[np.float64]:
    """``arr`` itself when it has ``shape``, else :func:`selectivity.resample.resample` of it."""
    if arr.shape == shape:
        return arr
    return resample(arr, (int(shape[0]), int(shape[1])))


def constant_error(name: str, value: float, metric: str = "the metric") -> ValueError:
    return ValueError(
        f"Invalid value for the '{name}' parameter: the map is constant (all values "
        f"{value!r}), so it cannot be normalised and {metric} is undefined."
    )


def minmax(arr: NDArray[np.float64], name: str) -> NDArray[np.float64]:
    """``(arr - min) / (max - min)``; a constant map raises."""
    lo, hi = float(arr.min()), float(arr.max())
    if lo == hi:
        raise constant_error(name, lo)
    out = arr - lo
    out /= hi - lo
    return out


def standardize(arr: NDArray[np.float64], name: str, *, ddof: int) -> NDArray[np.float64]:
    """``(arr - mean) / std``; a constant map cannot be standardised and raises."""
    if np.ptp(arr) == 0:
        raise constant_error(name, float(arr.flat[0]))
    centred = arr - arr.mean()
    return centred / centred.std(ddof=ddof)


def check_distribution(arr: NDArray[np.float64], name: str) -> None:
    """A map read as a distribution: no negative values and a positive sum."""
    if (arr < 0).any():
        raise ValueError(
            f"Invalid value for the '{name}' parameter: the map is read as a distribution, so "
            f"it must be non-negative, but its minimum is {float(arr.min())!r}. Shift or "
            "min-max normalise it first."
        )
    if not arr.sum() > 0:
        raise ValueError(
            f"Invalid value for the '{name}' parameter: the map is all zeros, so it is not "
            "a distribution."
        )


def check_option(value: Any, name: str, allowed: tuple[Any, ...]) -> None:
    if isinstance(value, bool) or value not in allowed:
        listed = ", ".join(repr(a) for a in allowed[:-1]) + f" and {allowed[-1]!r}"
        raise ValueError(
            f"Invalid value for the '{name}' parameter. Allowed values are {listed}, but got "
            f"{value!r} instead."
        )


def check_bool(value: Any, name: str) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected True or False, but got "
            f"{value!r} instead."
        )


def positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected a positive integer, but got "
            f"{value!r} instead."
        )
    return int(value)


def fixated_indices(
    fixations: Any,
    image_shape: tuple[int, int] | None,
    name: str,
    *,
    like_shape: tuple[int, ...] | None = None,
    warn: bool = True,
) -> tuple[tuple[int, int], NDArray[np.int64], int]:
    """Shape, sorted unique linear indices of the fixated pixels, and fixations outside.

    ``fixations`` is a fixation map (nonzero = fixated) when ``image_shape`` is
    None, else fixation coordinates as :func:`analysis.fixation_counts` takes
    them. ``like_shape`` is the saliency map's shape, for the warning that a
    two-column "map" may be coordinates. :class:`FixatedPixels` are returned
    as they are (``image_shape``, when given, must be theirs).
    """
    if isinstance(fixations, FixatedPixels):
        if image_shape is not None and tuple(image_shape) != fixations.shape:
            raise ValueError(
                f"Invalid value for the '{name}' parameter: its fixated pixels are for an image "
                f"of shape {fixations.shape}, but image_shape is {tuple(image_shape)}."
            )
        return fixations.shape, fixations.indices, 0
    if image_shape is not None:
        from ..fixations import _caller_stacklevel, _check_shape

        shape = _check_shape(image_shape)
        xy = _plain_xy(fixations)
        if xy is None:
            xy, _ = fixation_xy(fixations, None)
        rows, cols, inside = pixel_indices(xy, shape)
        n_out = int(np.count_nonzero(~inside))
        if n_out == len(inside):
            raise ValueError(
                f"All {n_out} fixations of '{name}' lie outside the image of shape "
                f"(height, width) = {shape}; check that fixations are (x, y) image pixels "
                "(x = column, y = row)."
            )
        if n_out and warn:
            warnings.warn(
                f"{n_out} of {len(inside)} fixations of '{name}' lie outside the image of "
                f"shape (height, width) = {shape} and are ignored.",
                UserWarning,
                stacklevel=_caller_stacklevel(),
            )
        linear = rows * shape[1] + cols
        if n_out:
            linear = linear[inside]
        linear.sort()
        idx = linear[np.concatenate([[True], linear[1:] != linear[:-1]])]
        return shape, idx, n_out
    if is_dataframe(fixations):
        raise ValueError(
            f"Fixations given as a DataFrame ('{name}') need the 'image_shape' parameter, the "
            "(height, width) of the image their coordinates refer to."
        )
    f = as_map(fixations, name)
    if warn and like_shape is not None and f.shape[1] == 2 and f.shape != like_shape:
        from ..fixations import _caller_stacklevel

        warnings.warn(
            f"The fixation map '{name}' has shape {f.shape}: if these are (x, y) fixation "
            "coordinates, give image_shape=(height, width).",
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )
    return (int(f.shape[0]), int(f.shape[1])), fixated_from_map(f, name), 0


def _plain_xy(fixations: Any) -> NDArray[np.float64] | None:
    """A non-empty, finite (K, 2) numeric array as float64; None for anything that needs checking.

    The common case, read without :func:`fixation_xy`'s general handling;
    everything else (and every error) goes through it.
    """
    if (
        isinstance(fixations, np.ndarray)
        and fixations.ndim == 2
        and fixations.shape[1] == 2
        and len(fixations)
        and fixations.dtype.kind in "fiu"
    ):
        xy = fixations.astype(np.float64, copy=False)
        if np.isfinite(xy).all():
            return xy
    return None


def fixated_from_map(f: NDArray[np.float64], name: str) -> NDArray[np.int64]:
    """Linear indices of the nonzero pixels of a validated fixation map."""
    if (f < 0).any():
        raise ValueError(
            f"Invalid value for the '{name}' parameter: it must be non-negative "
            "(nonzero = fixated), but has negative values."
        )
    idx = np.flatnonzero(f)
    if len(idx) == 0:
        raise ValueError(
            f"The fixation map '{name}' is empty: no pixel is fixated (all values are 0)."
        )
    return idx


def trapezoid(y: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Trapezoid integral of ``y`` over ``x`` along the last axis (as MATLAB's ``trapz``)."""
    return np.asarray(((x[..., 1:] - x[..., :-1]) * (y[..., 1:] + y[..., :-1])).sum(axis=-1) / 2)
