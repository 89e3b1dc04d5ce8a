"""Maps to reveal masks in [0, 1], the control maps an experiment needs, and coverage matching."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize

from selectivity.resample import resample

from .._params import check_size as _check_size
from .._params import is_number as _is_number
from ._controls import center_bias_map, inverted_map, resolve_seeds, smooth_surrogate
from ._kinds import median_mask, proportional_mask, top_k_mask

__all__ = [
    "CONTROL_KINDS",
    "MASK_KINDS",
    "control_maps",
    "make_mask",
    "mask_coverage",
    "match_coverage",
]

_Array = NDArray[np.float64]
# Exponents searched when matching coverage: exp(-40) .. exp(40) spans every reachable mean.
_LOG_EXPONENT_RANGE = 40.0


#: Mask kinds, ``name -> function(map (H, W), options) -> mask (H, W) in [0, 1]``.
#:
#: - ``"proportional"``: reveal each pixel in proportion to the map, ``m / max(m)``
#:   (image x map, as in the speeded-recognition experiment); needs ``m >= 0``.
#: - ``"median"``: Langlois et al. 2021's ANN test: values at or below the map's
#:   median (its ``N // 2``-th smallest value) hide the pixel, values above reveal it
#:   in proportion to their height above the median, ``max(m - t, 0) / max(m - t)``.
#: - ``"top_k"``: binary, the ``percent`` % highest pixels revealed, edges feathered
#:   with a Gaussian of ``feather_px``.
MASK_KINDS: dict[str, Callable[[_Array, dict[str, Any]], _Array]] = {
    "proportional": proportional_mask,
    "median": median_mask,
    "top_k": top_k_mask,
}

#: Control maps made by :func:`control_maps`.
CONTROL_KINDS = ("permuted", "random_smooth", "center_bias", "inverted", "rotated")


def _as_map(value: Any, name: str) -> _Array:
    array = np.asarray(value)
    if array.dtype == bool:
        array = array.astype(np.float64)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(
            f"Invalid dtype for the '{name}' parameter: expected real numbers, got {array.dtype}."
        )
    if array.ndim != 2 or array.size == 0:
        raise ValueError(
            f"Invalid shape for the '{name}' parameter: expected a non-empty 2-D array (H, W), "
            f"but got shape {array.shape}."
        )
    array = np.asarray(array, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"The '{name}' parameter contains NaN or infinite values.")
    return array


def _check_fraction(name: str, value: Any, *, scale: float = 1.0) -> float:
    if not _is_number(value) or not 0 < value <= scale:
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected a number in (0, {scale:g}], "
            f"but got {value!r} instead."
        )
    return float(value)


def mask_coverage(mask: ArrayLike) -> float:
    """The fraction of the image a mask reveals: its mean over pixels.

    Parameters
    ----------
    mask : array_like of shape (H, W)
        Values in [0, 1].

    Returns
    -------
    float
        ``mask.mean()``: 1 for a fully revealed image, ``k / 100`` for a
        ``top_k`` mask of ``percent=k``.
    """
    return float(_as_map(mask, "mask").mean())


def _with_coverage(mask: _Array, coverage: float) -> _Array:
    """``mask ** gamma`` with the gamma that makes its mean ``coverage``."""
    current = float(mask.mean())
    if math.isclose(current, coverage, rel_tol=0.0, abs_tol=1e-12):
        return mask.copy()
    low, high = float(np.mean(mask >= 1.0)), float(np.mean(mask > 0.0))
    if not low < coverage < high:
        raise ValueError(
            f"Invalid value for the 'coverage' parameter: {coverage!r} cannot be reached by "
            f"this mask (mean {current:.6g}); raising it to a power reaches only "
            f"({low:.6g}, {high:.6g}), the fractions of its pixels at 1 and above 0."
        )

    def excess(log_gamma: float) -> float:
        return float(np.mean(mask ** math.exp(log_gamma))) - coverage

    log_gamma = optimize.brentq(
        excess, -_LOG_EXPONENT_RANGE, _LOG_EXPONENT_RANGE, xtol=1e-13, maxiter=200
    )
    return np.asarray(mask ** math.exp(log_gamma), dtype=np.float64)


def make_mask(
    map: ArrayLike,
    *,
    kind: str = "proportional",
    percent: float | None = None,
    feather_px: float = 0.0,
    exponent: float = 1.0,
    coverage: float | None = None,
    size: tuple[int, int] | None = None,
) -> NDArray[np.float64]:
    """Turn a map into a reveal mask: 1 shows the image, 0 shows the background.

    Steps: resize the map to ``size``; apply ``kind`` (see :data:`MASK_KINDS`);
    raise to ``exponent`` (soft kinds) or feather (``top_k``); match ``coverage``.

    Parameters
    ----------
    map : array_like of shape (H, W)
        A selectivity or attribution map (e.g. from :func:`to_map`), indexed
        ``[row, col]``; higher means more important.
    kind : {"proportional", "median", "top_k"}
        ``"proportional"``: ``m / max(m)`` (needs ``m >= 0``).
        ``"median"``: ``max(m - t, 0) / max(m - t)`` with ``t`` the map's
        ``N // 2``-th smallest value, as in Langlois et al. 2021's ANN test
        (czhao39/neurips-attention, ``get_mask``). ``"top_k"``: binary mask
        of the ``percent`` % highest pixels (ties broken in raster order,
        with a warning when more than 1 % of the pixels tie at the cut).
    percent : float, optional
        For ``"top_k"``: the percentage of pixels revealed, in (0, 100].
    feather_px : float
        For ``"top_k"``: standard deviation in pixels (of the output) of the
        Gaussian that softens the mask's edges (``scipy.ndimage.gaussian_filter``,
        ``mode="reflect"``, which keeps the mean, so the coverage stays at
        ``percent / 100``); an edge ramps from about 0.02 to 0.98 over 4
        sigma. 0 (default) keeps the mask binary.
    exponent : float
        For the soft kinds: the mask is raised to this power (> 0), as the
        ``exponent`` of Langlois et al.'s code; above 1 sharpens, below 1
        flattens. 1 (default) keeps the mask proportional.
    coverage : float, optional
        Wanted mean of the mask (see :func:`mask_coverage`), in (0, 1], to
        match a control's coverage to the original's. For soft kinds the
        exponent is solved for (``mean(mask ** gamma) == coverage``; a power
        keeps 0, 1 and the order of the pixels), which cannot be combined
        with ``exponent``; for ``"top_k"`` it is ``percent / 100``.
    size : tuple of int, optional
        ``(height, width)`` of the mask; the map is resized first (area
        averaging to shrink, bilinear to enlarge), so binary edges are sharp
        at the output resolution. Default: the map's shape.

    Returns
    -------
    ndarray of float64, shape (H, W) or ``size``
        Values in [0, 1].
    """
    if kind not in MASK_KINDS:
        raise ValueError(
            "Invalid value for the 'kind' parameter. Allowed values are "
            f"{', '.join(repr(name) for name in MASK_KINDS)}, but got {kind!r} instead."
        )
    saliency = _as_map(map, "map")
    out_size = _check_size(size)
    if not _is_number(feather_px) or not (math.isfinite(feather_px) and feather_px >= 0):
        raise ValueError(
            "Invalid value for the 'feather_px' parameter: expected a finite number >= 0, but "
            f"got {feather_px!r} instead."
        )
    if not _is_number(exponent) or not (math.isfinite(exponent) and exponent > 0):
        raise ValueError(
            "Invalid value for the 'exponent' parameter: expected a finite number > 0, but got "
            f"{exponent!r} instead."
        )
    if coverage is not None:
        coverage = _check_fraction("coverage", coverage)
    options: dict[str, Any] = {"feather_px": float(feather_px)}
    if kind == "top_k":
        if exponent != 1:
            raise ValueError("The 'exponent' parameter applies to the soft kinds, not 'top_k'.")
        if (percent is None) == (coverage is None):
            raise ValueError(
                "kind='top_k' needs exactly one of 'percent' (in (0, 100]) or 'coverage' (in "
                f"(0, 1]), but got percent={percent!r}, coverage={coverage!r}."
            )
        options["percent"] = (
            _check_fraction("percent", percent, scale=100.0) if coverage is None else 100 * coverage
        )
    else:
        if percent is not None or feather_px > 0:
            raise ValueError(
                f"The 'percent' and 'feather_px' parameters apply to kind='top_k', not {kind!r}."
            )
        if coverage is not None and exponent != 1:
            raise ValueError(
                "Give 'exponent' or 'coverage', not both: matching the coverage chooses the "
                "exponent."
            )
    if out_size is not None and saliency.shape != out_size:
        saliency = resample(saliency, out_size)
    mask = MASK_KINDS[kind](saliency, options)
    if kind != "top_k":
        if exponent != 1:
            mask = mask**exponent
        if coverage is not None:
            mask = _with_coverage(mask, coverage)
    return mask


def match_coverage(
    masks: Sequence[ArrayLike], *, coverage: float | None = None
) -> list[NDArray[np.float64]]:
    """Give soft masks the same coverage, each by raising it to its own power.

    Parameters
    ----------
    masks : sequence of array_like of shape (H, W)
        Masks with values in [0, 1], e.g. an original's and its controls'.
    coverage : float, optional
        The common mean, in (0, 1]; default: that of ``masks[0]`` (the
        original), which is then returned unchanged.

    Returns
    -------
    list of ndarray of float64
        ``mask ** gamma`` per mask, with ``mean == coverage`` (to 1e-9).
        A power keeps each mask's zeros, ones and pixel order; binary masks
        cannot change their coverage this way and raise unless it matches
        already (use :func:`make_mask` with ``kind="top_k"`` and one
        ``percent`` instead).
    """
    arrays = [_as_map(mask, "masks") for mask in masks]
    if not arrays:
        raise ValueError("The 'masks' parameter is empty.")
    for index, mask in enumerate(arrays):
        if mask.min() < 0 or mask.max() > 1:
            raise ValueError(
                f"masks[{index}] has values outside [0, 1] (min {mask.min():.6g}, max "
                f"{mask.max():.6g}); it is not a mask."
            )
    target = float(arrays[0].mean()) if coverage is None else _check_fraction("coverage", coverage)
    return [_with_coverage(mask, target) for mask in arrays]


def control_maps(
    maps: Sequence[ArrayLike],
    *,
    kind: str,
    rng: int | np.random.Generator | None = None,
    sigma_frac: float = 0.25,
    iterations: int = 20,
) -> list[NDArray[np.float64]]:
    """Control maps, one per image, for the conditions an experiment compares.

    Parameters
    ----------
    maps : sequence of array_like of shape (H_i, W_i)
        One map per image, in the experiment's image order.
    kind : {"permuted", "random_smooth", "center_bias", "inverted", "rotated"}
        - ``"permuted"``: another image's map, by circular permutation: image
          ``i`` gets the map of image ``(i + 1) % N`` (resized to its shape);
          needs N >= 2.
        - ``"random_smooth"``: a random map as smooth as image ``i``'s own:
          the same power spectrum (hence spatial autocorrelation) and exactly
          the same values, rearranged (IAAFT surrogate, Schreiber & Schmitz
          1996; see ``iterations``). Because the values are the same, the
          proportional and top-k masks of a surrogate reveal exactly as much
          as the original's.
        - ``"center_bias"``: a Gaussian centred on the image, peak 1, with
          standard deviations ``sigma_frac`` x height and ``sigma_frac`` x width.
        - ``"inverted"``: ``1 - minmax(map)``.
        - ``"rotated"``: the map turned by 180 degrees (Langlois et al.'s
          rotated-mask control), same shape.
    rng : int or numpy.random.Generator
        Required for ``"random_smooth"``. With an int seed, image ``i``'s
        surrogate depends only on the seed, ``i`` and its map, so a resumed
        build makes the same controls.
    sigma_frac : float
        Width of the ``"center_bias"`` Gaussian as a fraction of the image
        size, in (0, 10].
    iterations : int
        Most IAAFT rounds for ``"random_smooth"`` (it stops earlier when the
        ranks settle); each costs two FFTs and a sort of the map.

    Returns
    -------
    list of ndarray of float64
        Control map ``i`` has the shape of ``maps[i]``.
    """
    if kind not in CONTROL_KINDS:
        raise ValueError(
            "Invalid value for the 'kind' parameter. Allowed values are "
            f"{', '.join(map(repr, CONTROL_KINDS))}, but got {kind!r} instead."
        )
    sources = [_as_map(item, "maps") for item in maps]
    if not sources:
        raise ValueError("The 'maps' parameter is empty.")
    if kind == "permuted":
        if len(sources) < 2:
            raise ValueError("kind='permuted' needs the maps of at least 2 images, but got 1.")
        following = sources[1:] + sources[:1]
        return [
            other.copy() if other.shape == own.shape else resample(other, own.shape)
            for own, other in zip(sources, following, strict=True)
        ]
    if kind == "random_smooth":
        if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 1:
            raise ValueError(
                "Invalid value for the 'iterations' parameter: expected a positive int, but got "
                f"{iterations!r} instead."
            )
        generators = resolve_seeds(rng, len(sources))
        return [
            smooth_surrogate(source, generator, iterations=iterations)
            for source, generator in zip(sources, generators, strict=True)
        ]
    if kind == "center_bias":
        fraction = _check_fraction("sigma_frac", sigma_frac, scale=10.0)
        return [center_bias_map(source.shape, sigma_frac=fraction) for source in sources]
    if kind == "inverted":
        results = []
        for source in sources:  # a loop keeps the warnings' stacklevel right
            results.append(inverted_map(source))
        return results
    return [np.rot90(source, 2).copy() for source in sources]
