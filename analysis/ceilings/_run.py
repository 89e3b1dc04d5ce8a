"""The loop over images behind the noise ceilings, with per-image negatives and baselines."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..baselines import centre_bias_from_fixations
from ..fixations import _caller_stacklevel, _check_shape, _density, _sigma_px
from ..metrics import _metric_spec
from ..metrics._batch import _progress_bar, check_options
from ..metrics._checks import positive_int
from ..metrics._kernels import baseline_distribution
from . import _core as core


def run(
    fixations: Sequence[Sequence[Any]],
    image_shape: Any,
    *,
    metric: str,
    screen: Any,
    px_per_deg: float | None,
    scale: float,
    sigma_deg: float,
    n_splits: int | None,
    exclude_first: bool,
    baseline: Any,
    n_other: int,
    rng: int | np.random.Generator | None,
    progress: bool | None,
    metric_options: Mapping[str, Any] | None,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Per-image ceiling scores and observer counts; see :mod:`analysis.ceilings`."""
    spec = _metric_spec(metric)
    options = check_options(metric, spec.options, dict(metric_options or {}))
    n_other = positive_int(n_other, "n_other")
    if isinstance(fixations, (str, bytes)) or not isinstance(fixations, Sequence):
        raise ValueError(
            "Invalid value for the 'fixations' parameter: expected a sequence over images of "
            f"sequences over subjects of (K, 2) arrays, but got {type(fixations).__name__}."
        )
    n_images = len(fixations)
    shapes = [_shape_at(image_shape, i) for i in range(n_images)]
    sigma_px = _sigma_px(sigma_deg=sigma_deg, screen=screen, px_per_deg=px_per_deg, scale=scale)
    gen = np.random.default_rng(rng)
    for i, subjects in enumerate(fixations):
        core.check_subjects(subjects, f"image {i}")
    pooled = [
        core.pooled_xy(fx, shapes[i], exclude_first=exclude_first) for i, fx in enumerate(fixations)
    ]
    extras = _Extras(metric, pooled, shapes, sigma_px, baseline, n_other, gen)
    per_image = np.full(n_images, np.nan)
    n_subjects = np.zeros(n_images, dtype=np.int64)
    n_outside = 0
    bar = _progress_bar(n_images, progress, f"{metric} ceiling")
    try:
        for i in range(n_images):
            maps = core.subject_maps(
                fixations[i], shapes[i], sigma_px, exclude_first=exclude_first, name=f"image {i}"
            )
            n_outside += maps.n_outside
            n_subjects[i] = maps.n_subjects
            ctx = core.Context(
                metric,
                spec.target,
                spec.symmetric,
                options,
                gen,
                other_idx=extras.other_idx(i),
                baseline=extras.baseline(i),
            )
            name = f"the fixation map of image {i}"
            if n_splits is not None:
                per_image[i] = core.split_half_image(ctx, maps, n_splits, name)
            else:
                per_image[i] = core.loso_image(ctx, maps, name)
            bar.update(1)
    finally:
        bar.close()
    _warn(n_outside, n_subjects)
    return per_image, n_subjects


class _Extras:
    """Per-image negatives (``auc_shuffled``) and baselines (``info_gain``)."""

    def __init__(
        self,
        metric: str,
        pooled: list[NDArray[np.float64]],
        shapes: list[tuple[int, int]],
        sigma_px: float,
        baseline: Any,
        n_other: int,
        rng: np.random.Generator,
    ) -> None:
        self.metric, self.pooled, self.shapes, self.sigma_px = metric, pooled, shapes, sigma_px
        self.n_other, self.rng = n_other, rng
        self.fixed: NDArray[np.float64] | None = None
        self.all_density: NDArray[np.float64] | None = None
        self.mode = "none"
        if metric == "auc_shuffled" and len(pooled) < 2:
            raise ValueError(
                "The shuffled AUC needs fixations from other images, so at least two images, "
                f"but got {len(pooled)} image(s)."
            )
        if metric == "info_gain":
            self._init_baseline(baseline)

    def _init_baseline(self, baseline: Any) -> None:
        if isinstance(baseline, str):
            if baseline not in ("other_images", "uniform"):
                raise ValueError(
                    "Invalid value for the 'baseline' parameter. Allowed values are "
                    f"'other_images', 'uniform' or a 2-D map, but got {baseline!r} instead."
                )
            self.mode = baseline
            if baseline == "other_images" and len(set(self.shapes)) == 1:
                self.mode = "subtract"
                shape = self.shapes[0]
                self.all_density = sum(
                    (self._raw_density(xy, shape) for xy in self.pooled),
                    start=np.zeros(shape[0] * shape[1]),
                )
        else:
            from ..metrics._checks import as_map

            self.mode = "fixed"
            self.fixed = as_map(baseline, "baseline")

    def _raw_density(self, xy: NDArray[np.float64], shape: tuple[int, int]) -> NDArray[np.float64]:
        from ..fixations._input import pixel_indices

        rows, cols, inside = pixel_indices(xy, shape)
        if not inside.any():
            return np.zeros(shape[0] * shape[1])
        return _density(rows[inside], cols[inside], None, shape, self.sigma_px).ravel()

    def other_idx(self, i: int) -> NDArray[np.int64] | None:
        if self.metric != "auc_shuffled":
            return None
        n = len(self.pooled)
        candidates = np.delete(np.arange(n), i)
        picks = self.rng.choice(candidates, size=min(self.n_other, n - 1), replace=False)
        shape = self.shapes[i]
        parts = [core.rescaled(self.pooled[j], self.shapes[j], shape) for j in picks]
        return core.other_indices(np.concatenate(parts), shape)

    def baseline(self, i: int) -> NDArray[np.float64] | None:
        """Image ``i``'s flat baseline distribution for ``info_gain`` (None otherwise)."""
        raw = self._raw_baseline(i)
        return None if raw is None else baseline_distribution(raw)

    def _raw_baseline(self, i: int) -> NDArray[np.float64] | None:
        shape = self.shapes[i]
        if self.mode == "none":
            return None
        if self.mode == "uniform":
            return np.full(shape[0] * shape[1], 1.0)
        if self.mode == "fixed" and self.fixed is not None:
            from ..metrics._checks import resize_to

            return resize_to(self.fixed, shape).ravel()
        if self.mode == "subtract" and self.all_density is not None:
            others = self.all_density - self._raw_density(self.pooled[i], shape)
            return np.asarray(np.maximum(others, 0.0))
        return centre_bias_from_fixations(
            self.pooled, self.shapes, shape, exclude=i, px_per_deg=self.sigma_px, sigma_deg=1.0
        ).ravel()


def _shape_at(image_shape: Any, i: int) -> tuple[int, int]:
    if (
        isinstance(image_shape, (tuple, list))
        and len(image_shape) == 2
        and all(np.ndim(v) == 0 for v in image_shape)
    ):
        return _check_shape(tuple(image_shape))
    try:
        return _check_shape(tuple(image_shape[i]))
    except (IndexError, TypeError):
        raise ValueError(
            "Invalid value for the 'image_shape' parameter: expected (height, width) or one "
            f"per image, but got {image_shape!r}."
        ) from None


def _warn(n_outside: int, n_subjects: NDArray[np.int64]) -> None:
    if n_outside:
        warnings.warn(
            f"{n_outside} fixations lie outside their image and are ignored.",
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )
    few = np.flatnonzero(n_subjects < 2)
    if len(few):
        warnings.warn(
            f"{len(few)} image(s) have fewer than two observers with fixations (the first is "
            f"image {int(few[0])}); their ceiling is NaN.",
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )
