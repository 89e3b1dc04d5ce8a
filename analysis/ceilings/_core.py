"""Per-image work of the noise ceilings: subject densities, splits and held-out scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..baselines import rescale_fixations
from ..fixations._input import fixation_xy, pixel_indices
from ..metrics._batch import fixation_score, map_scores


@dataclass(frozen=True)
class SubjectMaps:
    """One image's per-subject raw fixation densities and fixated pixels.

    Only subjects with at least one fixation inside the image are kept.
    """

    shape: tuple[int, int]
    densities: NDArray[np.float64]  # (n_subjects, height * width), raw (unnormalised)
    fixated: list[NDArray[np.int64]]  # unique fixated linear indices per subject
    n_outside: int

    @property
    def n_subjects(self) -> int:
        return len(self.fixated)


@dataclass(frozen=True)
class Context:
    """What scoring needs besides the maps: the metric, its options and extras."""

    metric: str
    target: str
    symmetric: bool
    options: dict[str, Any]
    rng: np.random.Generator
    other_idx: NDArray[np.int64] | None = None
    baseline: NDArray[np.float64] | None = None


def subject_maps(
    subjects: Sequence[Any],
    shape: tuple[int, int],
    sigma_px: float,
    *,
    exclude_first: bool,
    name: str,
) -> SubjectMaps:
    """Raw Gaussian density (as :func:`analysis.fixation_map`) and fixated pixels per subject."""
    from ..fixations import _density

    check_subjects(subjects, name)
    densities, fixated, n_out = [], [], 0
    for item in subjects:
        xy, _ = fixation_xy(item, None, exclude_first=exclude_first, allow_empty=True)
        rows, cols, inside = pixel_indices(xy, shape)
        n_out += int(np.count_nonzero(~inside))
        if not inside.any():
            continue
        rows, cols = rows[inside], cols[inside]
        densities.append(_density(rows, cols, None, shape, sigma_px).ravel())
        fixated.append(np.unique(rows * shape[1] + cols))
    stack = np.stack(densities) if densities else np.empty((0, shape[0] * shape[1]))
    return SubjectMaps(shape, stack, fixated, n_out)


def check_subjects(subjects: Any, name: str) -> None:
    """One image's entry: a sequence (or 3-D stack) with one fixation array per subject."""
    if isinstance(subjects, np.ndarray) and subjects.ndim == 3:
        return
    if isinstance(subjects, (str, bytes)) or not isinstance(subjects, Sequence):
        kind = (
            f"an array of shape {subjects.shape}"
            if isinstance(subjects, np.ndarray)
            else (type(subjects).__name__)
        )
        raise ValueError(
            f"Invalid value for the 'fixations' parameter: {name} should be a sequence with one "
            f"(K, 2) array of (x, y) fixations per subject, but got {kind}."
        )


def pooled_xy(
    subjects: Sequence[Any], shape: tuple[int, int], *, exclude_first: bool
) -> NDArray[np.float64]:
    """All subjects' fixations inside one image, as one (N, 2) array of (x, y)."""
    parts = [
        fixation_xy(item, None, exclude_first=exclude_first, allow_empty=True)[0]
        for item in subjects
    ]
    xy = np.concatenate(parts) if parts else np.empty((0, 2))
    return xy[pixel_indices(xy, shape)[2]]


def other_indices(xy: NDArray[np.float64], shape: tuple[int, int]) -> NDArray[np.int64]:
    """Unique linear indices of the positions inside an image of ``shape``."""
    rows, cols, inside = pixel_indices(xy, shape)
    return np.unique(rows[inside] * shape[1] + cols[inside])


def rescaled(
    xy: NDArray[np.float64], from_shape: tuple[int, int], to_shape: tuple[int, int]
) -> NDArray[np.float64]:
    return xy if from_shape == to_shape else rescale_fixations(xy, from_shape, to_shape)


def score_fixations(
    ctx: Context, predictor: NDArray[np.float64], held_out_idx: NDArray[np.int64], name: str
) -> float:
    """A location-based metric of a (group) map predicting held-out fixated pixels."""
    return fixation_score(
        ctx.metric,
        predictor,
        held_out_idx,
        other_idx=ctx.other_idx,
        baseline=ctx.baseline,
        options=ctx.options,
        rng=ctx.rng,
        name=name,
    )


def score_maps(
    ctx: Context,
    predictor: NDArray[np.float64],
    held_out: NDArray[np.float64],
    shape: tuple[int, int],
    name: str,
) -> float:
    """A map-to-map metric of a (group) map against a held-out map."""
    scores, _ = map_scores(
        ctx.metric,
        predictor[None, :],
        held_out[None, :],
        shape=shape,
        options=ctx.options,
        names=(name, f"held-out map of {name}"),
        offset=None,
    )
    return float(scores[0])


def split_half_image(ctx: Context, maps: SubjectMaps, n_splits: int, name: str) -> float:
    """Mean over random halvings of one half's map scored against the other half."""
    n = maps.n_subjects
    if n < 2:
        return np.nan
    values = []
    for _ in range(n_splits):
        perm = ctx.rng.permutation(n)
        halves = (perm[: n // 2], perm[n // 2 :])
        dens = [maps.densities[h].sum(axis=0) for h in halves]
        pair: tuple[float, ...]
        if ctx.target == "fixations":
            idx = [np.unique(np.concatenate([maps.fixated[i] for i in h])) for h in halves]
            pair = (
                score_fixations(ctx, dens[0], idx[1], name),
                score_fixations(ctx, dens[1], idx[0], name),
            )
        elif ctx.symmetric:
            pair = (score_maps(ctx, dens[0], dens[1], maps.shape, name),)
        else:
            pair = (
                score_maps(ctx, dens[0], dens[1], maps.shape, name),
                score_maps(ctx, dens[1], dens[0], maps.shape, name),
            )
        values.append(float(np.mean(pair)))
    return float(np.mean(values))


def loso_image(ctx: Context, maps: SubjectMaps, name: str) -> float:
    """Mean over subjects of the other subjects' map scored against that subject."""
    n = maps.n_subjects
    if n < 2:
        return np.nan
    d = maps.densities
    # The others' map is the sum of the subjects before (running) and after (suffix sums)
    # the held-out one: additions only, so no cancellation in the faint tails.
    suffix = np.zeros((n + 1, d.shape[1]))
    for k in range(1, n + 1):
        np.add(suffix[k - 1], d[n - k], out=suffix[k])
    before = np.zeros(d.shape[1])
    values = []
    for s in range(n):
        others = before + suffix[n - 1 - s]
        if ctx.target == "fixations":
            values.append(score_fixations(ctx, others, maps.fixated[s], name))
        else:
            values.append(score_maps(ctx, others, d[s], maps.shape, name))
        before += d[s]
    return float(np.mean(values))
