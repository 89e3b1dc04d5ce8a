"""Baseline maps that any model should beat: uniform, centre bias, other images' fixations."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .fixations import _caller_stacklevel, _check_shape, _density, _is_positive_number, _sigma_px
from .fixations._input import fixation_xy, pixel_indices

__all__ = [
    "CENTRE_SIGMA_FRAC",
    "centre_bias_from_fixations",
    "centre_bias_gaussian",
    "other_image_fixations",
    "rescale_fixations",
    "uniform_baseline",
]

#: Default standard deviation of :func:`centre_bias_gaussian`, as a fraction of
#: the image's (height, width).
CENTRE_SIGMA_FRAC = 0.25


def uniform_baseline(shape: tuple[int, int]) -> NDArray[np.float64]:
    """The uniform distribution over an image's pixels.

    Parameters
    ----------
    shape : tuple of int
        ``(height, width)`` in pixels.

    Returns
    -------
    ndarray of shape (height, width)
        Every pixel ``1 / (height * width)``. Metrics that normalise a map by
        its range or standard deviation reject it (it is constant), except
        :func:`analysis.metrics.info_gain`, which reads a constant baseline as
        uniform, and :func:`analysis.metrics.kl_div`.
    """
    height, width = _check_shape(shape)
    return np.full((height, width), 1.0 / (height * width))


def centre_bias_gaussian(
    shape: tuple[int, int],
    *,
    sigma_frac: float | tuple[float, float] | None = None,
    sigma_deg: float | None = None,
    screen: Any = None,
    px_per_deg: float | None = None,
    scale: float = 1.0,
    centre: tuple[float, float] | None = None,
) -> NDArray[np.float64]:
    """A Gaussian centre bias: observers look at the middle of the image more than elsewhere.

    Parameters
    ----------
    shape : tuple of int
        ``(height, width)`` in pixels.
    sigma_frac : float or (float, float), optional
        Standard deviation as a fraction of the image's ``(height, width)``
        (one number for both): the Gaussian stretches with the image. Default
        :data:`CENTRE_SIGMA_FRAC` (0.25) when ``sigma_deg`` is not given.
    sigma_deg : float, optional
        Standard deviation in degrees of visual angle instead (isotropic),
        converted with ``screen`` or ``px_per_deg`` and ``scale`` as in
        :func:`analysis.fixation_map`.
    screen : eyetracking.Screen, optional
        The display, for ``sigma_deg``.
    px_per_deg : float, optional
        Screen pixels per degree, for ``sigma_deg``.
    scale : float
        Drawn size of the image relative to its native size, for ``sigma_deg``.
    centre : (float, float), optional
        ``(x, y)`` of the peak in image pixels (integers are pixel centres).
        Default: the image centre, ``((width - 1) / 2, (height - 1) / 2)``.

    Returns
    -------
    ndarray of shape (height, width)
        The Gaussian sampled at pixel centres (not cut off), summing to 1.

    Raises
    ------
    ValueError
        For both ``sigma_frac`` and ``sigma_deg``, a non-positive sigma, or a
        non-finite centre.

    Notes
    -----
    A fixed Gaussian is a rough centre bias; one estimated from the fixations
    on other images of the same experiment
    (:func:`centre_bias_from_fixations`) usually predicts better.
    """
    height, width = _check_shape(shape)
    if sigma_frac is not None and sigma_deg is not None:
        raise ValueError(
            "Give at most one of the 'sigma_frac' and 'sigma_deg' parameters, but got "
            f"sigma_frac={sigma_frac!r} and sigma_deg={sigma_deg!r}."
        )
    if sigma_deg is not None:
        sigma = _sigma_px(sigma_deg=sigma_deg, screen=screen, px_per_deg=px_per_deg, scale=scale)
        sigma_y = sigma_x = sigma
    else:
        frac = CENTRE_SIGMA_FRAC if sigma_frac is None else sigma_frac
        frac_any: Any = frac
        pair = (frac_any, frac_any) if np.ndim(frac_any) == 0 else tuple(frac_any)
        if len(pair) != 2:
            pair = (np.nan, np.nan)
        fy, fx = pair
        for value in (fy, fx):
            if not _is_positive_number(value):
                raise ValueError(
                    "Invalid value for the 'sigma_frac' parameter: expected a positive number "
                    f"or a pair of them, but got {sigma_frac!r} instead."
                )
        sigma_y, sigma_x = float(fy) * height, float(fx) * width
    cx, cy = ((width - 1) / 2, (height - 1) / 2) if centre is None else centre
    if not (np.isfinite(cx) and np.isfinite(cy)):
        raise ValueError(
            f"Invalid value for the 'centre' parameter: expected finite (x, y), but got {centre!r}."
        )
    gy = np.exp(-0.5 * ((np.arange(height) - cy) / sigma_y) ** 2)
    gx = np.exp(-0.5 * ((np.arange(width) - cx) / sigma_x) ** 2)
    out = np.outer(gy, gx)
    return np.asarray(out / out.sum())


def rescale_fixations(
    xy: ArrayLike, from_shape: tuple[int, int], to_shape: tuple[int, int]
) -> NDArray[np.float64]:
    """(x, y) image pixels of one image size to the same relative place in another.

    Parameters
    ----------
    xy : array_like of shape (N, 2)
        ``(x, y)`` positions in pixels of an image of ``from_shape``.
    from_shape, to_shape : tuple of int
        ``(height, width)`` of the two images.

    Returns
    -------
    ndarray of shape (N, 2)
        ``x' = (x + 0.5) * width' / width - 0.5``, likewise for y: positions
        are scaled about the images' outer edges, with integers at pixel
        centres (as :func:`eyetracking.to_image_coords` does).
    """
    h0, w0 = _check_shape(from_shape)
    h1, w1 = _check_shape(to_shape)
    arr = np.asarray(xy, dtype=np.float64)
    factors = np.array([w1 / w0, h1 / h0])
    return np.asarray((arr + 0.5) * factors - 0.5)


def centre_bias_from_fixations(
    fixations: Sequence[Any],
    image_shape: tuple[int, int] | Sequence[tuple[int, int]],
    shape: tuple[int, int],
    *,
    exclude: int | Sequence[int] | None = None,
    screen: Any = None,
    px_per_deg: float | None = None,
    scale: float = 1.0,
    sigma_deg: float = 1.0,
    exclude_first: bool = False,
) -> NDArray[np.float64]:
    """A centre bias estimated from the fixations on (other) images of an experiment.

    The fixations of every image but those in ``exclude`` are mapped to the
    same relative place in an image of ``shape`` (:func:`rescale_fixations`),
    pooled, and smoothed as :func:`analysis.fixation_map` does. Leaving the
    scored image out keeps its own fixations from informing its baseline.

    Parameters
    ----------
    fixations : sequence
        One item per image: its fixations as :func:`analysis.fixation_map`
        takes them ((N, 2) array of (x, y) image pixels, list of scanpaths, or
        DataFrame).
    image_shape : tuple of int or sequence of them
        ``(height, width)`` of the images the fixations refer to: one for all,
        or one per image.
    shape : tuple of int
        ``(height, width)`` of the baseline map.
    exclude : int or sequence of int, optional
        Indices of images whose fixations are left out (e.g. the image being
        scored).
    screen, px_per_deg, scale, sigma_deg
        Smoothing, as in :func:`analysis.fixation_map` (for an image of
        ``shape`` as displayed).
    exclude_first : bool
        Drop the first fixation of every scanpath (see
        :func:`analysis.fixation_counts`).

    Returns
    -------
    ndarray of shape (height, width)
        Density summing to 1.

    Raises
    ------
    ValueError
        When no fixation is left, for a bad ``exclude`` index, or for the
        reasons :func:`analysis.fixation_map` raises.

    Warns
    -----
    UserWarning
        Once, when fixations fall outside their own image; they are ignored.
    """
    target = _check_shape(shape)
    sigma_px = _sigma_px(sigma_deg=sigma_deg, screen=screen, px_per_deg=px_per_deg, scale=scale)
    skip = _excluded(exclude, len(fixations))
    pooled, n_out = [], 0
    for i, item in enumerate(fixations):
        if i in skip:
            continue
        xy, n_bad = _inside_xy(item, _shape_at(image_shape, i), exclude_first)
        n_out += n_bad
        pooled.append(rescale_fixations(xy, _shape_at(image_shape, i), target))
    _warn_outside(n_out)
    xy_all = np.concatenate(pooled) if pooled else np.empty((0, 2))
    if len(xy_all) == 0:
        raise ValueError("No fixations are left to estimate the centre bias from.")
    rows, cols, inside = pixel_indices(xy_all, target)
    density = _density(rows[inside], cols[inside], None, target, sigma_px)
    return np.asarray(density / density.sum())


def other_image_fixations(
    fixations: Sequence[Any],
    image_shape: tuple[int, int] | Sequence[tuple[int, int]],
    *,
    n_other: int = 10,
    rng: int | np.random.Generator | None = None,
    exclude_first: bool = False,
) -> list[NDArray[np.float64]]:
    """For each image, the pooled fixations of ``n_other`` random other images.

    These are the negatives of the shuffled AUC
    (:func:`analysis.metrics.auc_shuffled`, Borji et al. use 10 other images):
    they share the experiment's centre bias but not the image's content.

    Parameters
    ----------
    fixations : sequence
        One item per image, as in :func:`centre_bias_from_fixations`.
    image_shape : tuple of int or sequence of them
        ``(height, width)`` of the images: one for all, or one per image.
    n_other : int
        Number of other images drawn (without replacement) per image; all the
        others when there are fewer.
    rng : int or numpy.random.Generator, optional
        Seed or generator for the draws.
    exclude_first : bool
        Drop the first fixation of every scanpath.

    Returns
    -------
    list of ndarray of shape (K_i, 2)
        Per image, ``(x, y)`` positions in that image's pixels
        (:func:`rescale_fixations`), inside the image.

    Raises
    ------
    ValueError
        For fewer than two images or a bad ``n_other``.
    """
    n = len(fixations)
    if n < 2:
        raise ValueError(
            f"Fixations from other images need at least two images, but got {n} image(s)."
        )
    if isinstance(n_other, bool) or not isinstance(n_other, (int, np.integer)) or n_other < 1:
        raise ValueError(
            "Invalid value for the 'n_other' parameter: expected a positive integer, but got "
            f"{n_other!r} instead."
        )
    gen = np.random.default_rng(rng)
    own, n_out = [], 0
    for i, item in enumerate(fixations):
        xy, n_bad = _inside_xy(item, _shape_at(image_shape, i), exclude_first)
        own.append(xy)
        n_out += n_bad
    _warn_outside(n_out)
    out = []
    for i in range(n):
        candidates = np.delete(np.arange(n), i)
        picks = gen.choice(candidates, size=min(int(n_other), n - 1), replace=False)
        target = _shape_at(image_shape, i)
        parts = [rescale_fixations(own[j], _shape_at(image_shape, int(j)), target) for j in picks]
        xy = np.concatenate(parts) if parts else np.empty((0, 2))
        _, _, inside = pixel_indices(xy, target)
        out.append(xy[inside])
    return out


def _inside_xy(item: Any, shape: tuple[int, int], exclude_first: bool) -> tuple[np.ndarray, int]:
    """(x, y) of one image's fixations inside it, and how many fell outside."""
    xy, _ = fixation_xy(item, None, exclude_first=exclude_first, allow_empty=True)
    _, _, inside = pixel_indices(xy, shape)
    return xy[inside], int(np.count_nonzero(~inside))


def _shape_at(image_shape: Any, i: int) -> tuple[int, int]:
    if (
        isinstance(image_shape, (tuple, list))
        and len(image_shape) == 2
        and all(np.ndim(v) == 0 for v in image_shape)
    ):
        return _check_shape(tuple(image_shape))
    return _check_shape(tuple(image_shape[i]))


def _excluded(exclude: int | Sequence[int] | None, n: int) -> set[int]:
    if exclude is None:
        return set()
    items = [exclude] if np.ndim(exclude) == 0 else list(exclude)  # type: ignore[arg-type]
    out = set()
    for value in items:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or not (-n <= value < n)
        ):
            raise ValueError(
                f"Invalid value for the 'exclude' parameter: expected image indices in "
                f"[0, {n}), but got {value!r}."
            )
        out.add(int(value) % n)
    return out


def _warn_outside(n_out: int) -> None:
    if n_out:
        warnings.warn(
            f"{n_out} fixations lie outside their image and are ignored.",
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )
