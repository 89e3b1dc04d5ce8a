"""The accuracy surface of dot-shift discrimination: kernel-weighted outcomes with pseudo-counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..fixations import fixation_map
from ..fixations._input import pixel_indices
from ._bandwidth import (
    PROBABILITY_FLOOR,
    Points,
    accuracy_scores,
    choose,
    kernel,
    sorted_candidates,
)
from ._result import HumanMaps, HumanMapsError
from ._settings import DiscriminationSettings, MapSettings, checked_settings
from ._tables import by_image, check_shapes, flag, inside, px_per_deg, start

if TYPE_CHECKING:
    import pandas as pd


def accuracy_surface(
    trials: pd.DataFrame,
    image_shapes: Mapping[str, tuple[int, int]],
    settings: MapSettings | DiscriminationSettings | None = None,
    *,
    participants: Sequence[str] | None = None,
) -> HumanMaps:
    """Probability of a correct dot-shift judgement at each pixel, from the trials' outcomes.

    ``A(x) = (sum_i w_i(x) c_i + a p0) / (sum_i w_i(x) + a)`` over the image's
    trials ``i``: ``c_i`` the outcome (``correct``, 1 or 0), ``w_i(x) = exp(-|x -
    x_i|^2 / (2 s^2))`` a Gaussian of peak 1 at the first dot ``x_i`` (so a trial
    on the pixel weighs 1; cut at 4 ``s`` per axis as :func:`analysis.fixation_map`),
    ``a`` the ``pseudo_counts`` and ``p0`` the ``chance`` of
    :class:`DiscriminationSettings`: far from every dot the surface is ``p0``.

    Parameters
    ----------
    trials : pandas.DataFrame
        The study's dot-discrimination trials: ``participant``, ``image_id``,
        ``dot_x_px``, ``dot_y_px`` (image pixels, integer = pixel centre),
        ``correct`` (1/0, missing without an answer), ``px_per_deg_img``;
        ``timed_out`` (1: no answer in time) when present.
    image_shapes : mapping of str to (int, int)
        Image id -> ``(height, width)`` native pixels.
    settings : MapSettings or DiscriminationSettings, optional
        Its ``discrimination`` part (default: :class:`DiscriminationSettings`).
    participants : sequence of str, optional
        Use only these participants' trials.

    Returns
    -------
    HumanMaps
        ``maps[id]`` of shape (H, W), float64 in (0, 1) (in [0, 1] with
        ``pseudo_counts = 0``, where the surface is ``p0`` beyond every kernel);
        ``counts`` trials per image; ``parameters["bandwidth_deg"]`` the
        kernel's standard deviation, and with ``bandwidth = "cv"`` the
        ``candidates_deg``, their ``scores_bits`` and the ``cv_folds``.

    Raises
    ------
    HumanMapsError
        For a table without the columns, images missing from ``image_shapes``,
        missing ``px_per_deg_img``, or no answered trial.

    Warns
    -----
    UserWarning
        For images without trials, and when the cross-validated bandwidth is
        an edge of the candidates.

    Notes
    -----
    Timed-out trials (``timed_out == 1``) and other trials without an outcome
    are dropped and counted (``excluded["timed_out"]``, ``excluded["no_answer"]``),
    as are dots outside the image. Degrees become pixels with the median
    ``px_per_deg_img`` of the image's trials. With ``bandwidth = "cv"`` one
    bandwidth is chosen for all images: each participant's trials are predicted
    by the surface of the other participants' trials (each trial by the other
    trials when there is only one participant), scored as the Bernoulli
    log-likelihood ``c log2 p + (1 - c) log2 (1 - p)`` less that of chance, mean
    over trials (bits per trial), with ``p`` kept within 1e-3 of 0 and 1; the
    best wins, ties go to the smaller.
    """
    opts: DiscriminationSettings = checked_settings(settings, DiscriminationSettings)
    shapes = check_shapes(image_shapes)
    sel = start(
        trials,
        "dot-discrimination trials",
        ["dot_x_px", "dot_y_px", "correct", "px_per_deg_img"],
        participants=participants,
    )
    sel.drop(flag(sel, "timed_out"), "timed_out")
    correct = sel.numbers("correct")
    sel.drop(~np.isin(correct, (0.0, 1.0)), "no_answer")
    groups = by_image(sel, shapes)
    images: dict[str, Points] = {}
    varies: list[str] = []
    per_image: dict[str, int] = {}
    labels = sorted(set(sel.table["participant"]))
    one_participant = len(labels) < 2
    for image_id, rows in groups.items():
        shape = shapes[image_id]
        x = rows["dot_x_px"].to_numpy(dtype=np.float64, na_value=np.nan)
        y = rows["dot_y_px"].to_numpy(dtype=np.float64, na_value=np.nan)
        keep = inside(x, y, shape)
        if (~keep).any():
            sel.excluded["outside_image"] = sel.excluded.get("outside_image", 0) + int(
                (~keep).sum()
            )
        if not keep.any():
            continue
        ppd, vary = px_per_deg(rows, image_id, sel.what)
        if vary:
            varies.append(image_id)
        r, c, _ = pixel_indices(np.column_stack([x[keep], y[keep]]), shape)
        who = rows["participant"].to_numpy(dtype=str)[keep]
        fold = np.arange(len(r)) if one_participant else np.searchsorted(labels, who)
        outcomes = rows["correct"].to_numpy(dtype=np.float64)[keep]
        images[image_id] = Points(r, c, np.asarray(fold, dtype=np.int64), shape, ppd, outcomes)
        per_image[image_id] = len(set(who.tolist()))
    if not images:
        raise HumanMapsError("No dot-discrimination trial has its dot inside the image.")
    parameters: dict[str, Any] = {
        "estimator": "accuracy_surface",
        "unit": "trials",
        "settings": opts,
        "bandwidth": opts.bandwidth,
        "pseudo_counts": opts.pseudo_counts,
        "chance": opts.chance,
    }
    bandwidth_deg = opts.bandwidth_deg
    if opts.bandwidth == "cv":
        candidates = sorted_candidates(opts.candidates_deg)
        scores, n_scored = accuracy_scores(
            list(images.values()), candidates, pseudo_counts=opts.pseudo_counts, chance=opts.chance
        )
        bandwidth_deg = choose(candidates, scores, what="dot-discrimination")
        parameters.update(
            candidates_deg=list(candidates),
            scores_bits=[float(s) for s in scores],
            score="mean Bernoulli log2 likelihood of held-out trials, bits per trial "
            "relative to chance",
            cv_folds="trial" if one_participant else "participant",
            n_held_out=n_scored,
            probability_floor=PROBABILITY_FLOOR,
        )
    parameters["bandwidth_deg"] = bandwidth_deg
    parameters["px_per_deg"] = {k: p.px_per_deg for k, p in images.items()}
    parameters["bandwidth_px"] = {k: bandwidth_deg * p.px_per_deg for k, p in images.items()}
    parameters["px_per_deg_varies"] = varies
    parameters["participants_per_image"] = per_image
    maps = {
        image_id: surface(p, bandwidth_deg, opts.pseudo_counts, opts.chance)
        for image_id, p in images.items()
    }
    return HumanMaps(
        measure="dot-discrimination",
        maps=maps,
        parameters=parameters,
        participants=tuple(labels),
        counts={k: len(p.rows) for k, p in images.items()},
        excluded=sel.excluded,
    )


def surface(p: Points, bandwidth_deg: float, a: float, p0: float) -> NDArray[np.float64]:
    """One image's accuracy surface (see :func:`accuracy_surface`)."""
    if p.outcomes is None:
        raise TypeError("surface needs the trials' outcomes")
    xy = np.column_stack([p.cols, p.rows]).astype(np.float64)
    g, radius = kernel(bandwidth_deg * p.px_per_deg)
    # fixation_map's kernel has unit mass; divided by its peak it is the peak-1 w of the surface.
    peak = g[radius] ** 2
    options: dict[str, Any] = {
        "px_per_deg": p.px_per_deg,
        "sigma_deg": bandwidth_deg,
        "normalize": None,
    }
    den = fixation_map(xy, p.shape, **options) / peak
    num = fixation_map(xy, p.shape, weights=p.outcomes, **options) / peak
    total = den + a
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, (num + a * p0) / total, p0)
    return np.asarray(out, dtype=np.float64)
