"""Screen positions of gaze to positions in the pixels of the image that was shown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .protocol import ImagePlacement
from .recording import placements_from_trials

__all__ = ["to_image_coords"]

_IMG_COLUMNS = ("img_left", "img_top", "img_width", "img_height")


def to_image_coords(
    fixations: pd.DataFrame,
    placement: ImagePlacement | pd.DataFrame | Mapping[Any, ImagePlacement],
    *,
    image_size_px: tuple[int, int] | Mapping[str, tuple[int, int]] | None = None,
    x: str = "x",
    y: str = "y",
    trial_id: str = "trial_id",
) -> pd.DataFrame:
    """Add image-pixel coordinates and an in-image flag to a table of screen positions.

    Parameters
    ----------
    fixations : DataFrame
        Any table with screen positions in pixels (origin top-left, y down),
        e.g. ``Recording.fixations`` or ``Recording.samples``.
    placement : ImagePlacement, DataFrame or mapping
        Where the image was drawn: one :class:`ImagePlacement` for every row;
        or a trials table (``Recording.trials``, with ``trial_id`` and the
        ``img_*`` columns) joined on ``trial_id``; or a mapping from
        ``trial_id`` to :class:`ImagePlacement`.
    image_size_px : tuple of int or mapping, optional
        Native ``(width, height)`` of the image files, when ``placement`` is a
        trials table: one size for all, or a mapping from ``img_path`` to
        size. By default the drawn size (no scaling). Ignored for an
        :class:`ImagePlacement`, which carries its own native size.
    x, y : str
        Names of the screen-position columns.
    trial_id : str
        Name of the trial column, used when ``placement`` is per trial.

    Returns
    -------
    DataFrame
        A copy of ``fixations`` with ``x_img``, ``y_img`` (float, native image
        pixels; integers are pixel centres, as for screen pixels, so pixel
        ``[row, col]`` covers ``col - 0.5 <= x_img < col + 0.5``) and
        ``in_image`` (bool: inside ``[-0.5, width - 0.5) x [-0.5, height - 0.5)``,
        the same rule as :func:`analysis.fixation_counts`). Rows outside the image, with missing
        positions, or of trials without a placement are kept, with
        ``in_image`` False (and NaN coordinates where there is no placement).

    Notes
    -----
    ``x_img = (x - left_px + 0.5) * image_width_px / width_px - 0.5``, likewise
    for y: positions are scaled about the image's outer edge when the drawn
    size differs from the native size (at the native size, ``x - left_px``).
    """
    for name, column in (("x", x), ("y", y)):
        if column not in fixations.columns:
            raise ValueError(
                f"Invalid value for the {name!r} parameter: the table has no column {column!r}; "
                f"its columns are {list(fixations.columns)}."
            )
    out = fixations.copy()
    if isinstance(placement, ImagePlacement):
        params = np.tile(_params(placement), (len(out), 1))
    elif isinstance(placement, (pd.DataFrame, Mapping)):
        if trial_id not in fixations.columns:
            raise ValueError(
                f"A per-trial placement needs a {trial_id!r} column in the table; "
                f"its columns are {list(fixations.columns)}."
            )
        table = (
            _from_trials(placement, image_size_px, trial_id)
            if isinstance(placement, pd.DataFrame)
            else {key: _params(p) for key, p in placement.items()}
        )
        known = np.vstack([*table.values(), np.full(6, np.nan)])
        rows = pd.Index(list(table.keys()), dtype=object).get_indexer(out[trial_id].astype(object))
        params = known[rows]  # -1 (unknown trial) picks the NaN row
    else:
        raise TypeError(
            "Invalid value for the 'placement' parameter. Allowed are an ImagePlacement, a "
            f"trials table (DataFrame) or a mapping of trial_id to ImagePlacement, but got "
            f"{type(placement).__name__} instead."
        )
    left, top, width, height, native_w, native_h = params.T
    xs = out[x].to_numpy(dtype=np.float64, na_value=np.nan)
    ys = out[y].to_numpy(dtype=np.float64, na_value=np.nan)
    x_img = (xs - left + 0.5) * native_w / width - 0.5
    y_img = (ys - top + 0.5) * native_h / height - 0.5
    with np.errstate(invalid="ignore"):
        inside = (
            (x_img >= -0.5) & (x_img < native_w - 0.5) & (y_img >= -0.5) & (y_img < native_h - 0.5)
        )
    out["x_img"] = x_img
    out["y_img"] = y_img
    out["in_image"] = inside
    return out


def _params(p: ImagePlacement) -> np.ndarray:
    native_w, native_h = p.native_size_px
    return np.array([p.left_px, p.top_px, p.width_px, p.height_px, native_w, native_h], float)


def _from_trials(
    trials: pd.DataFrame,
    image_size_px: tuple[int, int] | Mapping[str, tuple[int, int]] | None,
    trial_id: str,
) -> dict[Any, np.ndarray]:
    needed = [trial_id, "img_mode", "img_path", *_IMG_COLUMNS]
    lacking = [c for c in needed if c not in trials.columns]
    if lacking:
        raise ValueError(
            f"Invalid value for the 'placement' parameter: a trials table needs the columns "
            f"{needed}, but {lacking} are missing."
        )
    if trials[trial_id].duplicated().any():
        dup = trials.loc[trials[trial_id].duplicated(), trial_id].tolist()[0]
        raise ValueError(
            f"The trials table has trial_id {dup!r} more than once; the join is ambiguous."
        )
    found = placements_from_trials(trials, image_size_px=image_size_px, trial_id=trial_id)
    return {key: _params(placement) for key, placement in found.items()}
