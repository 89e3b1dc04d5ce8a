"""The mask kinds: proportional, median-threshold (Langlois et al. 2021) and feathered top-k."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

__all__ = ["median_mask", "proportional_mask", "top_k_mask"]

_Array = NDArray[np.float64]


def proportional_mask(saliency: _Array, options: dict[str, Any]) -> _Array:
    """``m / max(m)`` for a map without negative values."""
    if saliency.min() < 0:
        raise ValueError(
            "kind='proportional' needs a map without negative values, but the map's minimum is "
            f"{float(saliency.min())!r}. Use to_map(..., normalize='minmax') or kind='median'."
        )
    peak = float(saliency.max())
    if peak == 0:
        warnings.warn("The map is all zeros; the proportional mask hides everything.", stacklevel=3)
        return np.zeros_like(saliency)
    return saliency / peak


def median_mask(saliency: _Array, options: dict[str, Any]) -> _Array:
    """``max(m - t, 0) / max(m - t)`` with ``t`` the ``N // 2``-th smallest value."""
    flat = saliency.ravel()
    # The (N // 2)-th smallest value, as np.partition in Langlois et al.'s code.
    threshold = float(np.partition(flat, flat.size // 2)[flat.size // 2])
    above = np.maximum(saliency, threshold) - threshold
    peak = float(above.max())
    if peak == 0:
        warnings.warn(
            "No pixel of the map is above its median (ties): the median mask hides everything.",
            stacklevel=3,
        )
        return np.zeros_like(saliency)
    return above / peak


def top_k_mask(saliency: _Array, options: dict[str, Any]) -> _Array:
    """The ``round(percent / 100 * N)`` highest pixels at 1, feathered with ``feather_px``."""
    flat = saliency.ravel()
    count = round(options["percent"] / 100.0 * flat.size)
    if count == 0:
        warnings.warn(
            f"percent={options['percent']!r} of {flat.size} pixels rounds to none: the top-k "
            "mask hides everything.",
            stacklevel=3,
        )
    # Stable sort of the negated map: among equal values, the earlier pixel (raster order) wins.
    order = np.argsort(-flat, kind="stable")
    binary = np.zeros(flat.size)
    binary[order[:count]] = 1.0
    if 0 < count < flat.size:
        cut = flat[order[count - 1]]
        tied = int(np.count_nonzero(flat == cut))
        kept = int(np.count_nonzero(flat[order[:count]] == cut))
        if kept < tied and tied > max(1, flat.size // 100):
            warnings.warn(
                f"{tied} pixels ({100.0 * tied / flat.size:.1f} %) share the value at the top-k "
                f"cut ({cut!r}); {kept} of them are revealed, chosen in raster order.",
                stacklevel=3,
            )
    mask = binary.reshape(saliency.shape)
    if options["feather_px"] > 0:
        # mode="reflect" keeps the mean, so feathering leaves the coverage at percent / 100.
        mask = ndimage.gaussian_filter(mask, options["feather_px"], mode="reflect", truncate=4.0)
        mask = np.clip(mask, 0.0, 1.0)
    return mask
