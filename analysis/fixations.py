"""Fixation maps: fixations in image pixels to per-pixel counts and smoothed densities."""

from __future__ import annotations

import math
import sys
import warnings
from typing import TYPE_CHECKING, Any, Literal, TypeGuard

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GAUSSIAN_TRUNCATE", "NORMALIZE_MODES", "fixation_counts", "fixation_map"]

#: The Gaussian kernel of :func:`fixation_map` is cut at this many sigmas
#: (:func:`scipy.ndimage.gaussian_filter`'s ``truncate``); the mass beyond it
#: is below 1e-4 per axis and the cut kernel is renormalised to sum 1.
GAUSSIAN_TRUNCATE = 4.0

#: Allowed values of ``normalize`` in :func:`fixation_map`.
NORMALIZE_MODES = ("sum", "max", None)

#: DataFrame column pairs read as ``(x, y)`` image coordinates, in order of preference.
_XY_COLUMNS = (("x_img", "y_img"), ("x", "y"))


def fixation_counts(
    fixations: ArrayLike | pd.DataFrame,
    shape: tuple[int, int],
    *,
    weights: ArrayLike | str | None = None,
) -> NDArray[np.float64]:
    """Count the fixations that land on each pixel of an image.

    This is the (unsmoothed) fixation map that location-based metrics such as
    :func:`analysis.metrics.nss` and the AUCs read: a pixel is *fixated* when
    its count is nonzero.

    Parameters
    ----------
    fixations : array_like of shape (N, 2) or pandas.DataFrame
        Fixation positions in image pixels, as ``(x, y)`` pairs: ``x`` is the
        column (to the right), ``y`` the row (down), origin at the top-left
        pixel. A DataFrame gives them in columns ``x_img``/``y_img`` (as
        :func:`eyetracking.to_image_coords` writes them) or else ``x``/``y``;
        when it has a boolean ``in_image`` column, rows where it is False are
        dropped before anything else (silently: they were already flagged).
    shape : tuple of int
        ``(height, width)`` of the image in pixels.
    weights : array_like of shape (N,) or str, optional
        Non-negative weight of each fixation (e.g. its duration in ms), aligned
        with the rows of ``fixations`` (before ``in_image`` rows are dropped),
        or the name of a DataFrame column. Default: every fixation counts 1.

    Returns
    -------
    counts : ndarray of shape (height, width), float64
        Number (or summed weight) of fixations on each pixel, indexed
        ``[row, col] = [y, x]``.

    Raises
    ------
    ValueError
        If there are no fixations, none inside the image, coordinates are not
        finite, or ``shape``/``weights`` are invalid.

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
    height, width = _check_shape(shape)
    xy, w = _fixation_xy(fixations, weights)
    cols = np.floor(xy[:, 0] + 0.5).astype(np.int64)
    rows = np.floor(xy[:, 1] + 0.5).astype(np.int64)
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
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
    counts = np.zeros((height, width), dtype=np.float64)
    np.add.at(counts, (rows[inside], cols[inside]), 1.0 if w is None else w[inside])
    return counts


def fixation_map(
    fixations: ArrayLike | pd.DataFrame,
    shape: tuple[int, int],
    *,
    screen: Any = None,
    px_per_deg: float | None = None,
    scale: float = 1.0,
    sigma_deg: float = 1.0,
    weights: ArrayLike | str | None = None,
    normalize: Literal["sum", "max"] | None = "sum",
) -> NDArray[np.float64]:
    """Smoothed fixation density of one image.

    Each fixation contributes a Gaussian of standard deviation ``sigma_deg``
    degrees of visual angle centred on its pixel, with mass equal to its
    weight: the fixation counts of :func:`fixation_counts` are filtered with
    :func:`scipy.ndimage.gaussian_filter`.

    Parameters
    ----------
    fixations : array_like of shape (N, 2) or pandas.DataFrame
        Fixation positions in image pixels, ``(x, y)`` = (column, row), origin
        top-left; see :func:`fixation_counts` for DataFrames and rounding.
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
    weights : array_like of shape (N,) or str, optional
        Non-negative weight per fixation (e.g. duration in ms) or a DataFrame
        column name; default 1 each.
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
    error, small next to any sigma of interest).
    """
    sigma_px = _sigma_px(sigma_deg=sigma_deg, screen=screen, px_per_deg=px_per_deg, scale=scale)
    if normalize not in NORMALIZE_MODES:
        raise ValueError(
            "Invalid value for the 'normalize' parameter. Allowed values are 'sum', 'max' "
            f"and None, but got {normalize!r} instead."
        )
    counts = fixation_counts(fixations, shape, weights=weights)
    from scipy.ndimage import gaussian_filter

    density: NDArray[np.float64] = gaussian_filter(
        counts, sigma=sigma_px, mode="constant", cval=0.0, truncate=GAUSSIAN_TRUNCATE
    )
    if normalize is None:
        return density
    total = density.sum() if normalize == "sum" else density.max()
    if not total > 0:
        raise ValueError(
            f"Cannot normalize the fixation map with normalize={normalize!r}: the weights of "
            "the fixations inside the image are all zero."
        )
    return density / total


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


def _fixation_xy(
    fixations: ArrayLike | pd.DataFrame, weights: ArrayLike | str | None
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Fixations as an (N, 2) float array of (x, y) and their weights, validated.

    Rows of a DataFrame with ``in_image`` False are dropped, with their weights.
    """
    keep: NDArray[np.bool_] | None = None
    if _is_dataframe(fixations):
        df = fixations
        xy = _dataframe_xy(df)
        if "in_image" in df.columns:
            flag = df["in_image"]
            if flag.isna().any():
                raise ValueError("The 'in_image' column of the fixations has missing values.")
            keep = flag.to_numpy(dtype=bool)
        if isinstance(weights, str):
            if weights not in df.columns:
                raise ValueError(
                    f"Invalid value for the 'weights' parameter: no column {weights!r} in the "
                    f"fixations; columns are {list(df.columns)}."
                )
            weights = df[weights].to_numpy()
    else:
        if isinstance(weights, str):
            raise ValueError(
                f"The 'weights' parameter can name a column ({weights!r}) only when fixations "
                "is a pandas DataFrame."
            )
        xy = np.asarray(fixations, dtype=np.float64)
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise ValueError(
                "Invalid value for the 'fixations' parameter: expected an array of shape "
                f"(N, 2) holding (x, y) image pixels, but got shape {xy.shape} instead."
            )
    w = None if weights is None else _check_weights(weights, len(xy))
    if keep is not None:
        xy = xy[keep]
        w = None if w is None else w[keep]
    if len(xy) == 0:
        raise ValueError("No fixations given: cannot make a fixation map from an empty set.")
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} of {len(xy)} fixations have non-finite coordinates (the "
            f"first is number {int(np.flatnonzero(bad)[0])}, counting from 0 after rows with "
            "in_image False are dropped); drop them first."
        )
    return xy, w


def _dataframe_xy(df: pd.DataFrame) -> NDArray[np.float64]:
    for x_col, y_col in _XY_COLUMNS:
        if x_col in df.columns and y_col in df.columns:
            return np.column_stack(
                [df[x_col].to_numpy(dtype=np.float64), df[y_col].to_numpy(dtype=np.float64)]
            )
    raise ValueError(
        "The fixations DataFrame needs image coordinates in columns 'x_img'/'y_img' or "
        f"'x'/'y', but has columns {list(df.columns)}."
    )


def _check_weights(weights: ArrayLike, n: int) -> NDArray[np.float64]:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(
            f"Invalid value for the 'weights' parameter: expected shape ({n},), one per "
            f"fixation, but got shape {w.shape} instead."
        )
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(
            "Invalid value for the 'weights' parameter: weights must be finite and non-negative."
        )
    return w


def _is_dataframe(obj: object) -> TypeGuard[pd.DataFrame]:
    # Without pandas imported, obj cannot be a DataFrame: no need to import it here.
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(obj, pandas.DataFrame)


def _caller_stacklevel() -> int:
    """Stack level of the first frame outside this package, for warnings."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("analysis."):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level
