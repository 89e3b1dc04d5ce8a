"""The patch-recognizability map: mean rating over the patches covering each pixel, smoothed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..fixations import GAUSSIAN_TRUNCATE
from ._result import HumanMaps, HumanMapsError
from ._settings import MapSettings, PatchRatingSettings, checked_settings
from ._tables import by_image, check_shapes, flag, px_per_deg, start

if TYPE_CHECKING:
    import pandas as pd


def patch_rating_map(
    trials: pd.DataFrame,
    image_shapes: Mapping[str, tuple[int, int]],
    settings: MapSettings | PatchRatingSettings | None = None,
    *,
    participants: Sequence[str] | None = None,
) -> HumanMaps:
    """Mean recognizability rating per pixel over the patches that cover it, then smoothed.

    As Henderson & Hayes (2017) build meaning maps: every rated patch is a
    disc, the pixels ``(col - x)^2 + (row - y)^2 <= r^2`` around its centre
    ``(x, y) = (patch_x_px, patch_y_px)`` with ``r = patch_radius_px`` (the
    disc :func:`tasks.patch_rating.disc_mask` shows); a pixel's value is the
    mean rating of the patches covering it (each rating once per trial, so a
    patch rated by several participants counts once per rating). Pixels no
    patch covers take the value of ``uncovered``; the map is then smoothed by a
    Gaussian of ``sigma_deg`` (edges reflected, cut at 4 sigmas).

    Parameters
    ----------
    trials : pandas.DataFrame
        The study's patch-rating trials: ``participant``, ``image_id``,
        ``patch_x_px``, ``patch_y_px`` (image pixels), ``patch_radius_px``
        (image pixels), ``rating`` (1..6; missing without one),
        ``px_per_deg_img``; ``catch`` (1: a scrambled catch patch) when present.
    image_shapes : mapping of str to (int, int)
        Image id -> ``(height, width)`` native pixels.
    settings : MapSettings or PatchRatingSettings, optional
        Its ``patch_rating`` part (default: :class:`PatchRatingSettings`).
    participants : sequence of str, optional
        Use only these participants' ratings.

    Returns
    -------
    HumanMaps
        ``maps[id]`` of shape (H, W), float64, in rating points (within the
        range of the ratings); ``counts`` patches (rated trials) per image;
        ``parameters["uncovered_pixels"]`` the pixels no patch covers, per image.

    Raises
    ------
    HumanMapsError
        For a table without the columns, images missing from ``image_shapes``,
        missing ``px_per_deg_img`` (with ``sigma_deg > 0``) or no rating.

    Notes
    -----
    Catch patches (``catch == 1``: no object can be recognised, they test
    attention) are dropped and counted (``excluded["catch"]``), as are trials
    without a rating (``excluded["no_rating"]``) and patches without a pixel on
    the image (``excluded["outside_image"]``). Degrees become pixels with the
    median ``px_per_deg_img`` of the image's trials.
    """
    opts: PatchRatingSettings = checked_settings(settings, PatchRatingSettings)
    shapes = check_shapes(image_shapes)
    required = ["patch_x_px", "patch_y_px", "patch_radius_px", "rating"]
    if opts.sigma_deg > 0:
        required.append("px_per_deg_img")
    sel = start(trials, "patch-rating trials", required, participants=participants)
    sel.drop(flag(sel, "catch"), "catch")
    sel.drop(~np.isfinite(sel.numbers("rating")), "no_rating")
    geometry = np.column_stack(
        [sel.numbers(c) for c in ("patch_x_px", "patch_y_px", "patch_radius_px")]
    )
    sel.drop(~(np.isfinite(geometry).all(axis=1) & (geometry[:, 2] >= 0)), "no_patch")
    groups = by_image(sel, shapes)
    maps: dict[str, NDArray[np.float64]] = {}
    counts: dict[str, int] = {}
    uncovered: dict[str, int] = {}
    ppds: dict[str, float] = {}
    varies: list[str] = []
    per_image: dict[str, int] = {}
    for image_id, rows in groups.items():
        shape = shapes[image_id]
        x, y, r, rating = (
            rows[c].to_numpy(dtype=np.float64)
            for c in ("patch_x_px", "patch_y_px", "patch_radius_px", "rating")
        )
        total, cover, touched = _coverage(shape, x, y, r, rating)
        n_used = int(np.count_nonzero(touched))
        off = len(x) - n_used
        if off:
            sel.excluded["outside_image"] = sel.excluded.get("outside_image", 0) + off
        if n_used == 0:
            continue
        covered = cover > 0
        mean = np.zeros(shape)
        mean[covered] = total[covered] / cover[covered]
        uncovered[image_id] = int((~covered).sum())
        if uncovered[image_id]:
            mean = _fill(mean, covered, opts.uncovered, rating[touched])
        if opts.sigma_deg > 0:
            ppd, vary = px_per_deg(rows, image_id, sel.what)
            ppds[image_id] = ppd
            if vary:
                varies.append(image_id)
            from scipy.ndimage import gaussian_filter

            mean = gaussian_filter(
                mean, sigma=opts.sigma_deg * ppd, mode="reflect", truncate=GAUSSIAN_TRUNCATE
            )
        maps[image_id] = np.asarray(mean, dtype=np.float64)
        counts[image_id] = n_used
        per_image[image_id] = len(set(rows["participant"].to_numpy(dtype=str)[touched].tolist()))
    if not maps:
        raise HumanMapsError("No rated patch has a pixel on its image: no map can be made.")
    parameters: dict[str, Any] = {
        "estimator": "patch_rating_map",
        "unit": "patches",
        "settings": opts,
        "sigma_deg": opts.sigma_deg,
        "uncovered": opts.uncovered,
        "uncovered_pixels": uncovered,
        "px_per_deg": ppds,
        "sigma_px": {k: opts.sigma_deg * v for k, v in ppds.items()},
        "px_per_deg_varies": varies,
        "participants_per_image": per_image,
    }
    used = sel.table[sel.table["image_id"].isin(list(maps)).to_numpy()]
    return HumanMaps(
        measure="patch-rating",
        maps=maps,
        parameters=parameters,
        participants=tuple(sorted(set(used["participant"]))),
        counts=counts,
        excluded=sel.excluded,
    )


def _coverage(
    shape: tuple[int, int],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    r: NDArray[np.float64],
    rating: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Sum of the ratings and number of patches covering each pixel; whether each patch covers
    a pixel of the image."""
    height, width = shape
    total = np.zeros(shape)
    cover = np.zeros(shape)
    touched = np.zeros(len(x), dtype=bool)
    for i, (xi, yi, ri, vi) in enumerate(
        zip(x.tolist(), y.tolist(), r.tolist(), rating.tolist(), strict=True)
    ):
        r0, r1 = max(int(np.floor(yi - ri)), 0), min(int(np.ceil(yi + ri)) + 1, height)
        c0, c1 = max(int(np.floor(xi - ri)), 0), min(int(np.ceil(xi + ri)) + 1, width)
        if r0 >= r1 or c0 >= c1:
            continue
        rows, cols = np.ogrid[r0:r1, c0:c1]
        disc = (cols - xi) ** 2 + (rows - yi) ** 2 <= ri * ri
        touched[i] = bool(disc.any())
        total[r0:r1, c0:c1] += vi * disc
        cover[r0:r1, c0:c1] += disc
    return total, cover, touched


def _fill(
    mean: NDArray[np.float64], covered: NDArray[np.bool_], how: str, ratings: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Uncovered pixels: the nearest covered pixel's value, or the mean rating of the image."""
    out = mean.copy()
    if how == "mean":
        out[~covered] = float(np.mean(ratings))
        return out
    from scipy.ndimage import distance_transform_edt

    _, (rows, cols) = distance_transform_edt(~covered, return_indices=True)
    out[~covered] = mean[rows[~covered], cols[~covered]]
    return out
