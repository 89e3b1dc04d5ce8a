"""Fixation maps: fixations in image pixels to per-pixel counts and smoothed densities."""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._input import SCANPATH_COLUMNS, fixation_xy, is_dataframe, pixel_indices

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "GAUSSIAN_TRUNCATE",
    "NORMALIZE_MODES",
    "SCANPATH_COLUMNS",
    "fixation_counts",
    "fixation_map",
]

#: The Gaussian kernel of :func:`fixation_map` is cut at this many sigmas
#: (:func:`scipy.ndimage.gaussian_filter`'s ``truncate``); the mass beyond it
#: is below 1e-4 per axis and the cut kernel is renormalised to sum 1.
GAUSSIAN_TRUNCATE = 4.0

#: Allowed values of ``normalize`` in :func:`fixation_map`.
NORMALIZE_MODES = ("sum", "max", None)


def fixation_counts(
    fixations: ArrayLike | Sequence[ArrayLike] | pd.DataFrame,
    shape: tuple[int, int],
    *,
    weights: ArrayLike | str | Sequence[ArrayLike] | None = None,
    exclude_first: bool = False,
    scanpath_by: str | Sequence[str] | None = None,
) -> NDArray[np.float64]:
    """Count the fixations that land on each pixel of an image.

    This is the (unsmoothed) fixation map that location-based metrics such as
    :func:`analysis.metrics.nss` and the AUCs read: a pixel is *fixated* when
    its count is nonzero.

    Parameters
    ----------
    fixations : array_like of shape (N, 2), list of them, or pandas.DataFrame
        Fixation positions in image pixels, as ``(x, y)`` pairs: ``x`` is the
        column (to the right), ``y`` the row (down), origin at the top-left
        pixel. A list of (N_i, 2) arrays holds one scanpath each (e.g. one per
        observer), in temporal order. A DataFrame gives them in columns
        ``x_img``/``y_img`` (as :func:`eyetracking.to_image_coords` writes
        them) or else ``x``/``y``; when it has a boolean ``in_image`` column,
        rows where it is False are dropped (silently: they were already
        flagged).
    shape : tuple of int
        ``(height, width)`` of the image in pixels.
    weights : array_like of shape (N,), str or list of arrays, optional
        Non-negative weight of each fixation (e.g. its duration in ms, for a
        duration-weighted map), aligned with the rows of ``fixations`` (before
        any row is dropped); the name of a DataFrame column (e.g.
        ``"duration"`` for :attr:`eyetracking.Recording.fixations`); or, for a
        list of scanpaths, one array per scanpath. Default: every fixation
        counts 1.
    exclude_first : bool
        Drop the first fixation of every scanpath, which usually sits where
        the central fixation cross was rather than where the image drew the
        eye. An array is one scanpath (its first row goes); a list has one
        scanpath per item; a DataFrame has one per group of ``scanpath_by``.
    scanpath_by : str or list of str, optional
        DataFrame columns that identify one scanpath, for ``exclude_first``.
        Default: those of :data:`SCANPATH_COLUMNS` (``participant``,
        ``subject``, ``session``, ``trial_id``, ``eye``) that the table has;
        none of them makes the whole table one scanpath. Within a scanpath the
        first fixation is the one with the earliest ``start`` when there is
        such a column, else the first row.

    Returns
    -------
    counts : ndarray of shape (height, width), float64
        Number (or summed weight) of fixations on each pixel, indexed
        ``[row, col] = [y, x]``.

    Raises
    ------
    ValueError
        If there are no fixations (left), none inside the image, coordinates
        are not finite, or ``shape``/``weights``/``scanpath_by`` are invalid.

    Warns
    -----
    UserWarning
        When some fixations fall outside the image; they are ignored.

    Notes
    -----
    Integer coordinates are pixel centres, so pixel ``(row i, col j)`` covers
    ``x`` in ``[j - 0.5, j + 0.5)`` and ``y`` in ``[i - 0.5, i + 0.5)``: a
    sub-pixel position is rounded to the nearest pixel, halves upwards
    (``floor(v + 0.5)``, so 2.5 -> 3 and -0.5 -> 0, unlike NumPy's
    round-half-to-even). A fixation is inside the image when its rounded
    position is, i.e. ``-0.5 <= x < width - 0.5`` and ``-0.5 <= y < height -
    0.5``. Data with 1-based coordinates (MATLAB, OSIE) need ``- 1`` first.
    """
    rows, cols, w = _fixated_pixels(
        fixations, shape, weights=weights, exclude_first=exclude_first, scanpath_by=scanpath_by
    )
    counts = np.zeros(shape, dtype=np.float64)
    np.add.at(counts, (rows, cols), 1.0 if w is None else w)
    return counts


def fixation_map(
    fixations: ArrayLike | Sequence[ArrayLike] | pd.DataFrame,
    shape: tuple[int, int],
    *,
    screen: Any = None,
    px_per_deg: float | None = None,
    scale: float = 1.0,
    sigma_deg: float = 1.0,
    weights: ArrayLike | str | Sequence[ArrayLike] | None = None,
    exclude_first: bool = False,
    scanpath_by: str | Sequence[str] | None = None,
    normalize: Literal["sum", "max"] | None = "sum",
) -> NDArray[np.float64]:
    """Smoothed fixation density of one image.

    Each fixation contributes a Gaussian of standard deviation ``sigma_deg``
    degrees of visual angle centred on its pixel, with mass equal to its
    weight: the fixation counts of :func:`fixation_counts` filtered as
    :func:`scipy.ndimage.gaussian_filter` does (see Notes).

    Parameters
    ----------
    fixations : array_like of shape (N, 2), list of them, or pandas.DataFrame
        Fixation positions in image pixels, ``(x, y)`` = (column, row), origin
        top-left; a list holds one scanpath per item. See
        :func:`fixation_counts` for lists, DataFrames and rounding.
    shape : tuple of int
        ``(height, width)`` of the image in pixels.
    screen : eyetracking.Screen, optional
        The display the image was shown on; its ``px_per_deg`` converts
        ``sigma_deg`` to pixels. Give either ``screen`` or ``px_per_deg``.
    px_per_deg : float, optional
        Screen pixels per degree of visual angle.
    scale : float
        Drawn size of the image relative to its native size (screen pixels per
        image pixel). Default 1: shown at native size. The kernel in image
        pixels is ``sigma_deg * px_per_deg / scale``.
    sigma_deg : float
        Standard deviation of the Gaussian in degrees of visual angle.
    weights : array_like of shape (N,), str or list of arrays, optional
        Non-negative weight per fixation, a DataFrame column name, or one
        array per scanpath (see :func:`fixation_counts`). Give the fixation
        durations (e.g. ``weights="duration"`` with
        :attr:`eyetracking.Recording.fixations`) for a duration-weighted map.
        Default: 1 each.
    exclude_first : bool
        Drop the first (usually central) fixation of every scanpath; see
        :func:`fixation_counts`.
    scanpath_by : str or list of str, optional
        DataFrame columns that identify a scanpath; see :func:`fixation_counts`.
    normalize : {"sum", "max", None}
        ``"sum"``: the map sums to 1 (a probability distribution over pixels);
        ``"max"``: its maximum is 1; None: the raw density (summed weight per
        pixel, which sums to the total weight less the mass cut off by the
        image border).

    Returns
    -------
    density : ndarray of shape (height, width), float64
        Indexed ``[row, col] = [y, x]``.

    Raises
    ------
    ValueError
        For no fixations, none inside the image, both or neither of ``screen``
        and ``px_per_deg``, non-positive ``sigma_deg``/``scale``/``px_per_deg``,
        an unknown ``normalize``, or all-zero weights with ``normalize`` set.

    Warns
    -----
    UserWarning
        When some fixations fall outside the image; they are ignored.

    Notes
    -----
    Convention: the image is a finite window, so Gaussian mass that falls
    beyond its border is lost (``mode="constant"``, zero padding) rather than
    reflected back in; fixations near an edge thus contribute less mass to
    the raw map. The kernel is cut at :data:`GAUSSIAN_TRUNCATE` = 4 sigmas.
    Positions are first rounded to the nearest pixel (at most 0.5 px of
    error, small next to any sigma of interest). For few fixations the map is
    built as a sum of the same cut Gaussians, patch by patch, which equals
    the filtered counts to rounding error (about 1e-15 of the peak) and is
    many times faster than filtering the whole image.
    """
    sigma_px = _sigma_px(sigma_deg=sigma_deg, screen=screen, px_per_deg=px_per_deg, scale=scale)
    if normalize not in NORMALIZE_MODES:
        raise ValueError(
            "Invalid value for the 'normalize' parameter. Allowed values are 'sum', 'max' "
            f"and None, but got {normalize!r} instead."
        )
    rows, cols, w = _fixated_pixels(
        fixations, shape, weights=weights, exclude_first=exclude_first, scanpath_by=scanpath_by
    )
    density = _density(rows, cols, w, shape, sigma_px)
    if normalize is None:
        return density
    total = density.sum() if normalize == "sum" else density.max()
    if not total > 0:
        raise ValueError(
            f"Cannot normalize the fixation map with normalize={normalize!r}: the weights of "
            "the fixations inside the image are all zero."
        )
    return density / total


def _fixated_pixels(
    fixations: Any,
    shape: object,
    *,
    weights: Any = None,
    exclude_first: bool = False,
    scanpath_by: str | Sequence[str] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64] | None]:
    """Rows, columns and weights of the fixations inside the image; warns for the others."""
    height, width = _check_shape(shape)
    xy, w = fixation_xy(fixations, weights, exclude_first=exclude_first, scanpath_by=scanpath_by)
    rows, cols, inside = pixel_indices(xy, (height, width))
    n_out = int(np.count_nonzero(~inside))
    if n_out:
        if n_out == len(inside):
            raise ValueError(
                f"All {n_out} fixations lie outside the image of shape (height, width) = "
                f"{(height, width)}; check that fixations are (x, y) image pixels "
                "(x = column, y = row)."
            )
        warnings.warn(
            f"{n_out} of {len(inside)} fixations lie outside the image of shape "
            f"(height, width) = {(height, width)} and are ignored.",
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )
        rows, cols = rows[inside], cols[inside]
        w = None if w is None else w[inside]
    return rows, cols, w


def _density(
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    weights: NDArray[np.float64] | None,
    shape: tuple[int, int],
    sigma_px: float,
) -> NDArray[np.float64]:
    """Raw Gaussian density of weighted fixated pixels, as ``gaussian_filter`` of the counts.

    With few distinct fixated pixels the density is built as a sum of cut,
    separable Gaussians added patch by patch (the same kernel as
    ``gaussian_filter``), far cheaper than filtering every pixel of a large
    image; with many, the counts are filtered.
    """
    height, width = shape
    radius = int(GAUSSIAN_TRUNCATE * sigma_px + 0.5)
    linear, inverse = np.unique(rows * width + cols, return_inverse=True)
    mass = np.bincount(inverse.ravel(), weights=weights, minlength=len(linear))
    span_r, span_c = min(2 * radius + 1, height), min(2 * radius + 1, width)
    # Measured costs: about 6 filter taps per patch element, plus a fixed cost per patch.
    if len(linear) * (span_r * span_c + _PATCH_OVERHEAD) * 6 > height * width * (span_r + span_c):
        from scipy.ndimage import gaussian_filter

        counts = np.zeros(height * width, dtype=np.float64)
        counts[linear] = mass
        result: NDArray[np.float64] = gaussian_filter(
            counts.reshape(shape),
            sigma=sigma_px,
            mode="constant",
            cval=0.0,
            truncate=GAUSSIAN_TRUNCATE,
        )
        return result
    kernel = _gaussian_kernel(sigma_px, radius)
    out = np.zeros(shape, dtype=np.float64)
    u_rows, u_cols = np.divmod(linear, width)
    for r, c, m in zip(u_rows.tolist(), u_cols.tolist(), mass.tolist(), strict=True):
        r0, r1 = max(r - radius, 0), min(r + radius + 1, height)
        c0, c1 = max(c - radius, 0), min(c + radius + 1, width)
        g_r = kernel[r0 - r + radius : r1 - r + radius]
        g_c = kernel[c0 - c + radius : c1 - c + radius]
        out[r0:r1, c0:c1] += (m * g_r)[:, None] * g_c[None, :]
    return out


#: Fixed cost of adding one Gaussian patch in :func:`_density`, in patch elements.
_PATCH_OVERHEAD = 2500


def _gaussian_kernel(sigma: float, radius: int) -> NDArray[np.float64]:
    """The 1-D kernel of ``scipy.ndimage.gaussian_filter``: sampled, cut, summing to 1."""
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 / (sigma * sigma) * x * x)
    return np.asarray(phi / phi.sum())


def _sigma_px(*, sigma_deg: float, screen: Any, px_per_deg: float | None, scale: float) -> float:
    """Kernel sigma in image pixels from degrees, the display and the drawn scale."""
    if (screen is None) == (px_per_deg is None):
        raise ValueError(
            "Give exactly one of the 'screen' and 'px_per_deg' parameters to convert "
            f"sigma_deg to pixels, but got screen={screen!r} and px_per_deg={px_per_deg!r}."
        )
    if screen is not None:
        if not hasattr(screen, "px_per_deg"):
            raise ValueError(
                "Invalid value for the 'screen' parameter: expected an eyetracking.Screen "
                f"(with a px_per_deg attribute), but got {type(screen).__name__}."
            )
        px_per_deg = screen.px_per_deg
    for name, value in (("sigma_deg", sigma_deg), ("px_per_deg", px_per_deg), ("scale", scale)):
        if not _is_positive_number(value):
            raise ValueError(
                f"Invalid value for the '{name}' parameter: expected a positive finite number, "
                f"but got {value!r} instead."
            )
    return float(sigma_deg) * float(px_per_deg) / float(scale)  # type: ignore[arg-type]


def _is_positive_number(value: object) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
        and float(value) > 0
    )


def _check_shape(shape: object) -> tuple[int, int]:
    """Validate ``shape = (height, width)``, both positive integers."""
    if isinstance(shape, (tuple, list)) and len(shape) == 2:
        height, width = shape
        if all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0
            for v in (height, width)
        ):
            return int(height), int(width)
    raise ValueError(
        "Invalid value for the 'shape' parameter: expected (height, width) as two "
        f"positive integers, but got {shape!r} instead."
    )


def _caller_stacklevel() -> int:
    """Stack level of the first frame outside this package, for warnings."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("analysis."):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


#: Kept under its old name for the modules that import it from here.
_is_dataframe = is_dataframe
