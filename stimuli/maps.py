"""Raw attributions (C, H, W) to 2-D maps: reduce channels, smooth, clip, resize, normalise."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from selectivity.resample import resample

from ._params import check_size as _check_size
from ._params import is_number as _is_number

__all__ = ["NORMALIZATIONS", "REDUCTIONS", "to_map"]

_Array = NDArray[np.float64]


def _abs_sum(raw: _Array) -> _Array:
    return np.abs(raw).sum(axis=-3)


def _abs_max(raw: _Array) -> _Array:
    return np.abs(raw).max(axis=-3)


def _l2(raw: _Array) -> _Array:
    return np.sqrt(np.square(raw).sum(axis=-3))


def _sum(raw: _Array) -> _Array:
    return raw.sum(axis=-3)


def _positive(raw: _Array) -> _Array:
    return np.maximum(raw.sum(axis=-3), 0.0)


#: Channel reductions, ``name -> function((..., C, H, W)) -> (..., H, W)``.
#:
#: - ``"abs_sum"``: sum over channels of the absolute value (Langlois et al. 2021).
#: - ``"abs_max"``: largest absolute value over channels (Simonyan et al. 2014).
#: - ``"l2"``: Euclidean norm over channels.
#: - ``"sum"``: signed sum over channels.
#: - ``"positive"``: signed sum over channels, negative values set to 0
#:   (Captum's ``sign="positive"``).
REDUCTIONS: dict[str, Callable[[_Array], _Array]] = {
    "abs_sum": _abs_sum,
    "abs_max": _abs_max,
    "l2": _l2,
    "sum": _sum,
    "positive": _positive,
}


def _minmax(image: _Array) -> _Array:
    low, high = float(image.min()), float(image.max())
    if high == low:
        warnings.warn(
            f"The map is constant ({low!r}); normalize='minmax' returns zeros.", stacklevel=4
        )
        return np.zeros_like(image)
    return (image - low) / (high - low)


def _unit_sum(image: _Array) -> _Array:
    if image.min() < 0:
        raise ValueError(
            "normalize='sum' needs a map without negative values, but the map's minimum is "
            f"{float(image.min())!r}. Use reduce='abs_sum', 'abs_max', 'l2' or 'positive', "
            "or another normalize."
        )
    total = float(image.sum())
    if total == 0:
        warnings.warn("The map is all zeros; normalize='sum' returns zeros.", stacklevel=4)
        return np.zeros_like(image)
    return image / total


def _zscore(image: _Array) -> _Array:
    std = float(image.std())
    if std == 0:
        warnings.warn("The map is constant; normalize='zscore' returns zeros.", stacklevel=4)
        return np.zeros_like(image)
    return (image - image.mean()) / std


def _identity(image: _Array) -> _Array:
    return image


#: Per-map normalisations, ``name -> function((H, W)) -> (H, W)``; ``None`` keeps values.
#:
#: - ``"minmax"``: ``(m - min) / (max - min)``, values in [0, 1]; a constant map gives zeros
#:   (with a warning).
#: - ``"sum"``: ``m / m.sum()``, sums to 1 (a probability map); negative values raise.
#: - ``"zscore"``: ``(m - mean) / std`` with the population std (``ddof=0``).
NORMALIZATIONS: dict[str | None, Callable[[_Array], _Array]] = {
    "minmax": _minmax,
    "sum": _unit_sum,
    "zscore": _zscore,
    None: _identity,
}


def _as_numpy(raw: Any) -> _Array:
    # A torch tensor is recognised without importing torch: if it is a tensor, torch is loaded.
    if type(raw).__module__.startswith("torch") and hasattr(raw, "detach"):
        raw = raw.detach().cpu().numpy()
    array = np.asarray(raw)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(
            f"Invalid dtype for the 'raw' parameter: expected real numbers, got {array.dtype}."
        )
    return np.asarray(array, dtype=np.float64)


def _check_choice(name: str, value: Any, allowed: dict[Any, Any]) -> None:
    if value not in allowed:
        shown = ", ".join(repr(key) for key in allowed)
        raise ValueError(
            f"Invalid value for the '{name}' parameter. Allowed values are {shown}, "
            f"but got {value!r} instead."
        )


def _check_clip(clip_percentile: Any) -> tuple[float, float] | None:
    """``(low, high)`` percentiles, or None; a single number is ``(0, number)``."""
    if clip_percentile is None:
        return None
    pair = clip_percentile if isinstance(clip_percentile, (tuple, list)) else (0, clip_percentile)
    if (
        len(pair) != 2
        or not all(_is_number(v) and math.isfinite(v) for v in pair)
        or not 0 <= pair[0] < pair[1] <= 100
        or pair[1] <= 0
    ):
        raise ValueError(
            "Invalid value for the 'clip_percentile' parameter: expected None, a number in "
            f"(0, 100] or (low, high) with 0 <= low < high <= 100, but got {clip_percentile!r} "
            "instead."
        )
    return float(pair[0]), float(pair[1])


def to_map(
    raw: Any,
    *,
    reduce: str = "abs_sum",
    smooth_sigma_px: float = 0.0,
    clip_percentile: float | tuple[float, float] | None = None,
    normalize: str | None = "minmax",
    size: tuple[int, int] | None = None,
) -> NDArray[np.float64]:
    """Turn raw attributions into a 2-D map (or one per image).

    The steps run in this order, each on every map separately:

    1. ``reduce`` the channel axis (see :data:`REDUCTIONS`), first, because
       the rectifying reductions must see the signed attributions;
    2. Gaussian smoothing with ``smooth_sigma_px`` (in pixels of ``raw``),
       before clipping, so that the percentiles are those of the map that
       is kept;
    3. clipping at the ``clip_percentile`` percentiles of the map;
    4. resizing to ``size`` (area averaging to shrink, bilinear to enlarge);
    5. ``normalize`` (see :data:`NORMALIZATIONS`), last, so that the result
       has the stated property (e.g. sums to 1) at the output size.

    Parameters
    ----------
    raw : ndarray or torch.Tensor of shape (C, H, W) or (N, C, H, W)
        Attributions, as returned by :func:`stimuli.attribute`. Torch tensors
        are detached and copied to the CPU; torch is never imported here.
    reduce : str
        Channel reduction: ``"abs_sum"`` (default, Langlois et al. 2021),
        ``"abs_max"``, ``"l2"``, ``"sum"`` or ``"positive"``.
    smooth_sigma_px : float
        Standard deviation of the Gaussian blur in pixels of ``raw`` (before
        resizing); 0 (default) means no blur. Uses
        :func:`scipy.ndimage.gaussian_filter` with ``mode="nearest"`` and
        ``truncate=4.0`` (the kernel reaches 4 sigma on each side).
    clip_percentile : float, tuple of float, or None
        If given, values above this percentile of the map (``np.percentile``,
        linear interpolation) are set to it, to keep a few extreme pixels
        from dominating the scale; in (0, 100]. A pair ``(low, high)`` also
        raises values below the ``low``-th percentile to it (for signed maps,
        e.g. ``(1, 99)``).
    normalize : str or None
        ``"minmax"`` (default), ``"sum"``, ``"zscore"`` or ``None``.
    size : tuple of int or None
        Output size as ``(height, width)``, i.e. (rows, cols) like
        ``ndarray.shape``, *not* cv2's ``(width, height)``. Resampled with
        :func:`selectivity.resample.resample`: each axis that shrinks is
        area-averaged (no aliasing; e.g. ``[0, 1, 2, 3]`` -> ``[0.5, 2.5]``),
        each axis that grows interpolated linearly (pixel centres aligned).
        ``None`` keeps ``raw``'s size.

    Returns
    -------
    ndarray of float64, shape (H, W) or (N, H, W)
        One map per image, indexed ``[row, col]``; (H, W) is ``size`` when
        given.
    """
    _check_choice("reduce", reduce, REDUCTIONS)
    _check_choice("normalize", normalize, NORMALIZATIONS)
    out_size = _check_size(size)
    if not _is_number(smooth_sigma_px) or not (
        math.isfinite(smooth_sigma_px) and smooth_sigma_px >= 0
    ):
        raise ValueError(
            "Invalid value for the 'smooth_sigma_px' parameter: expected a finite number >= 0, "
            f"but got {smooth_sigma_px!r} instead."
        )
    clip = _check_clip(clip_percentile)
    array = _as_numpy(raw)
    if array.ndim not in (3, 4):
        raise ValueError(
            "Invalid shape for the 'raw' parameter: expected (C, H, W) or (N, C, H, W), but got "
            f"{array.shape}. For a single-channel 2-D array, pass raw[None]."
        )
    if array.size == 0:
        raise ValueError(f"The 'raw' parameter is empty (shape {array.shape}).")
    if not np.isfinite(array).all():
        raise ValueError("The 'raw' parameter contains NaN or infinite values.")

    reduced = REDUCTIONS[reduce](array)
    batch = reduced if array.ndim == 4 else reduced[None]
    maps = []
    for image in batch:  # a loop, not a comprehension, keeps warnings' stacklevel right
        maps.append(
            _postprocess(
                image,
                smooth_sigma_px=float(smooth_sigma_px),
                clip=clip,
                normalize=NORMALIZATIONS[normalize],
                size=out_size,
            )
        )
    stacked = np.stack(maps)
    return stacked if array.ndim == 4 else stacked[0]


def _postprocess(
    image: _Array,
    *,
    smooth_sigma_px: float,
    clip: tuple[float, float] | None,
    normalize: Callable[[_Array], _Array],
    size: tuple[int, int] | None,
) -> _Array:
    if smooth_sigma_px > 0:
        image = ndimage.gaussian_filter(image, smooth_sigma_px, mode="nearest", truncate=4.0)
    if clip is not None:
        low, high = np.percentile(image, clip)
        image = np.clip(image, low if clip[0] > 0 else None, high)
    if size is not None and image.shape != size:
        image = resample(image, size)
    return normalize(image)
