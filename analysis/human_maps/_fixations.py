"""Fixation densities of the eye-tracked tasks, and the density of points shared with the chains."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..fixations import fixation_map
from ..fixations._input import pixel_indices
from ._bandwidth import UNIFORM_SHARE, Points, choose, density_scores, sorted_candidates
from ._result import HumanMaps, HumanMapsError
from ._settings import FixationSettings, MapSettings, checked_settings
from ._tables import Selection, by_image, check_shapes, inside, px_per_deg, start

if TYPE_CHECKING:
    import pandas as pd

#: The tasks whose maps are fixation densities.
FIXATION_TASKS = ("free-viewing", "object-search", "saliency-search")


@dataclass(frozen=True)
class ImagePoints:
    """One image's points (x, y image pixels), the participant of each, and its px/deg."""

    xy: NDArray[np.float64]
    participants: NDArray[np.str_]
    px_per_deg: float


def fixation_density(
    fixations: pd.DataFrame,
    image_shapes: Mapping[str, tuple[int, int]],
    settings: MapSettings | FixationSettings | None = None,
    *,
    measure: str = "free-viewing",
    participants: Sequence[str] | None = None,
) -> HumanMaps:
    """Fixation density per image: a Gaussian of ``sigma_deg`` on each fixation, summing to 1.

    Parameters
    ----------
    fixations : pandas.DataFrame
        The study's fixation table: columns ``participant``, ``image_id``,
        ``x_img``, ``y_img`` (image pixels, origin top left, integer = pixel
        centre), ``px_per_deg_img`` (image pixels per degree), and
        ``fixation_index`` (with ``exclude_first``) and ``duration_ms`` (with
        ``min_duration_ms``); with a ``task`` column, only rows of ``measure``.
    image_shapes : mapping of str to (int, int)
        Image id -> ``(height, width)`` native pixels; every image of the
        fixations must be there. Images without fixations get no map (warned).
    settings : MapSettings or FixationSettings, optional
        Its ``fixations`` part is used (default: :class:`FixationSettings`).
    measure : {"free-viewing", "object-search", "saliency-search"}
        The task, keyword-only.
    participants : sequence of str, optional
        Use only these participants' fixations.

    Returns
    -------
    HumanMaps
        ``maps[id]`` of shape (H, W), float64, summing to 1: the maps of
        :func:`analysis.fixation_map` (``normalize="sum"``) of the image's
        fixations; ``counts`` fixations per image. ``parameters`` hold
        ``sigma_deg``, ``sigma_px`` per image, and for ``bandwidth = "lopo"``
        the ``candidates_deg`` and their ``scores_bits``.

    Raises
    ------
    HumanMapsError
        For another task, a table without the columns, images missing from
        ``image_shapes``, missing or non-positive ``px_per_deg_img``, no
        fixation left, or LOPO without two participants on some image.

    Warns
    -----
    UserWarning
        For images without fixations, and when the LOPO choice is an edge of
        the candidates.

    Notes
    -----
    Degrees become image pixels with the median ``px_per_deg_img`` of the
    image's fixations: the same image drawn at different sizes for different
    trials (or participants) is smoothed with one kernel, the median's;
    ``parameters["px_per_deg_varies"]`` lists the images where the values
    differ by more than 1 %. Fixations outside the image (there should be
    none in the study's table) and those with missing positions are dropped
    and counted (``excluded["outside_image"]``). With ``bandwidth = "lopo"``
    one standard deviation is chosen for all images: for each candidate, each
    participant's fixations on each image are scored under the density of the
    other participants' fixations on it, mixed with 1e-3 of a uniform map
    (:data:`analysis.human_maps.UNIFORM_SHARE`), as the mean of ``log2(q *
    n_pixels)`` over all held-out fixations (bits per fixation above a uniform
    guess); the best wins, ties go to the smaller.
    """
    if measure not in FIXATION_TASKS:
        raise HumanMapsError(
            "Invalid value for the 'measure' parameter. Allowed values are "
            f"{list(FIXATION_TASKS)}, but got {measure!r} instead."
        )
    opts: FixationSettings = checked_settings(settings, FixationSettings)
    shapes = check_shapes(image_shapes)
    required = ["x_img", "y_img", "px_per_deg_img"]
    if opts.exclude_first:
        required.append("fixation_index")
    if opts.min_duration_ms > 0:
        required.append("duration_ms")
    sel = start(fixations, "fixations", required, participants=participants, task=measure)
    if opts.exclude_first:
        sel.drop(sel.numbers("fixation_index") == 0, "first_fixation")
    if opts.min_duration_ms > 0:
        duration = sel.numbers("duration_ms")
        sel.drop(~(duration >= opts.min_duration_ms), "short_fixation")
    points, varies = image_points(sel, shapes, "x_img", "y_img")
    return point_densities(
        points,
        shapes,
        sel,
        varies=varies,
        measure=measure,
        estimator="fixation_density",
        unit="fixations",
        bandwidth=opts.bandwidth,
        sigma_deg=opts.sigma_deg,
        candidates_deg=opts.candidates_deg,
        settings=opts,
    )


def image_points(
    sel: Selection, shapes: Mapping[str, tuple[int, int]], x_col: str, y_col: str
) -> tuple[dict[str, ImagePoints], list[str]]:
    """Per image: positions inside it, their participants, the median px/deg; and the images
    whose px/deg varies."""
    groups = by_image(sel, shapes)
    out: dict[str, ImagePoints] = {}
    varies: list[str] = []
    outside = 0
    for image_id, rows in groups.items():
        x = rows[x_col].to_numpy(dtype=np.float64, na_value=np.nan)
        y = rows[y_col].to_numpy(dtype=np.float64, na_value=np.nan)
        keep = inside(x, y, shapes[image_id])
        outside += int((~keep).sum())
        if not keep.any():
            continue
        ppd, vary = px_per_deg(rows, image_id, sel.what)
        if vary:
            varies.append(image_id)
        out[image_id] = ImagePoints(
            np.column_stack([x[keep], y[keep]]),
            rows["participant"].to_numpy(dtype=str)[keep],
            ppd,
        )
    if outside:
        sel.excluded["outside_image"] = sel.excluded.get("outside_image", 0) + outside
    if not out:
        raise HumanMapsError(
            f"No {sel.what} row has a position inside its image: no map can be made."
        )
    return out, varies


def point_densities(
    points: Mapping[str, ImagePoints],
    shapes: Mapping[str, tuple[int, int]],
    sel: Selection,
    *,
    varies: Sequence[str],
    measure: str,
    estimator: str,
    unit: str,
    bandwidth: str,
    sigma_deg: float,
    candidates_deg: Sequence[float],
    settings: Any,
) -> HumanMaps:
    """Densities (sum 1) of each image's points, the bandwidth fixed or chosen by LOPO."""
    parameters: dict[str, Any] = {
        "estimator": estimator,
        "unit": unit,
        "settings": settings,
        "bandwidth": bandwidth,
    }
    if bandwidth != "fixed":
        sigma_deg, extra = lopo_bandwidth(points, shapes, candidates_deg, what=measure)
        parameters.update(extra)
    parameters["sigma_deg"] = sigma_deg
    parameters["px_per_deg"] = {k: p.px_per_deg for k, p in points.items()}
    parameters["sigma_px"] = {k: sigma_deg * p.px_per_deg for k, p in points.items()}
    parameters["px_per_deg_varies"] = list(varies)
    parameters["participants_per_image"] = {
        k: len(set(p.participants.tolist())) for k, p in points.items()
    }
    maps = {
        image_id: fixation_map(
            p.xy, shapes[image_id], px_per_deg=p.px_per_deg, sigma_deg=sigma_deg, normalize="sum"
        )
        for image_id, p in points.items()
    }
    everyone = sorted({str(s) for p in points.values() for s in p.participants})
    return HumanMaps(
        measure=measure,
        maps=maps,
        parameters=parameters,
        participants=tuple(everyone),
        counts={k: len(p.xy) for k, p in points.items()},
        excluded=sel.excluded,
    )


def lopo_bandwidth(
    points: Mapping[str, ImagePoints],
    shapes: Mapping[str, tuple[int, int]],
    candidates_deg: Sequence[float],
    *,
    what: str,
) -> tuple[float, dict[str, Any]]:
    """The leave-one-participant-out choice of sigma (degrees) and the record of the scores."""
    candidates = sorted_candidates(candidates_deg)
    images = []
    for image_id, p in points.items():
        labels, groups = np.unique(p.participants, return_inverse=True)
        if len(labels) < 2:
            continue
        rows, cols, _ = pixel_indices(p.xy, shapes[image_id])
        images.append(Points(rows, cols, groups.ravel(), shapes[image_id], p.px_per_deg))
    if not images:
        raise HumanMapsError(
            f"Cannot choose the {what} bandwidth by leave-one-participant-out likelihood: no "
            "image has data of two participants. Use bandwidth = 'fixed'."
        )
    scores, n_scored = density_scores(images, candidates)
    chosen = choose(candidates, scores, what=what)
    return chosen, {
        "candidates_deg": list(candidates),
        "scores_bits": [float(s) for s in scores],
        "score": "mean log2 likelihood of held-out participants' points, bits per point "
        "relative to a uniform map",
        "n_held_out": n_scored,
        "uniform_share": UNIFORM_SHARE,
    }
