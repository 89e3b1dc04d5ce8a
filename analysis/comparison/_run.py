"""The scoring loop of the map comparison: smoothings, CV choices, bootstrap, permutation null."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..fixations import GAUSSIAN_TRUNCATE
from ._kernels import _Kernel, _Prepared
from ._sigmas import _warn_at_edge
from ._stats import _choose_sigmas, _p_value, _percentile_interval

if TYPE_CHECKING:
    import pandas as pd

__all__: list[str] = []

#: Target images per block of the permutation null: a matrix of (block x n_images) pair
#: scores for the dot-product metrics (bounds memory), block x n_permutations pairs scored
#: one by one for the others (one progress step each).
_ROW_BLOCK = 512
_PAIR_ROW_BLOCK = 32

#: Bytes of prepared (smoothed, standardised) ANN stacks kept from the scoring pass for the
#: permutation pass; stacks beyond it are recomputed.
_CACHE_BYTES = 1 << 29


class _Run:
    """Accumulates the per-image scores, CV choices, bootstrap and null of every combination.

    ``sigmas`` are the candidate smoothings in ``unit`` (``"px"`` or ``"deg"``);
    each :meth:`score` call converts them to pixels of its images.
    """

    def __init__(
        self,
        ids: tuple[Hashable, ...],
        folds: NDArray[np.int64],
        sigmas: tuple[float, ...],
        boot: NDArray[np.int64],
        perms: NDArray[np.int64],
        confidence: float,
        unit: str = "px",
    ) -> None:
        self.ids, self.folds, self.sigmas, self.unit = ids, folds, sigmas, unit
        self.boot, self.perms, self.confidence = boot, perms, confidence
        self.score_rows: list[dict[str, Any]] = []
        self.summary_rows: list[dict[str, Any]] = []
        self.cv_rows: list[dict[str, Any]] = []
        self.null: dict[tuple[str, str, str], NDArray[np.float64]] = {}

    def score(
        self,
        source: str,
        ann: NDArray[np.float64],
        jobs: list[tuple[str, list[_Kernel], dict[str, _Prepared]]],
        bar: Any,
        px_per_unit: NDArray[np.float64] | None = None,
    ) -> None:
        """Score one source's maps against every measure of one shape, with every metric.

        Parameters
        ----------
        source : str
            Source name.
        ann : ndarray of shape (n_images, H, W)
            The source's maps, resampled to the measures' shape.
        jobs : list
            ``(measure, kernels, prepared targets by metric name)`` per measure.
        bar : tqdm
            Progress bar, advanced once per smoothing.
        px_per_unit : ndarray of shape (n_images,), optional
            Pixels of ``ann`` per unit of the sigmas, per image (default 1).
        """
        n = len(self.ids)
        scale = np.ones(n) if px_per_unit is None else np.asarray(px_per_unit, dtype=np.float64)
        label = f"source {source!r}"
        kernels = {k.name: k for _, ks, _ in jobs for k in ks}
        scores = {(m, k.name): np.empty((len(self.sigmas), n)) for m, ks, _ in jobs for k in ks}
        cache: dict[tuple[str, int], _Prepared] = {}
        budget = _CACHE_BYTES // max(ann.nbytes, 1)
        for s, sigma in enumerate(self.sigmas):
            smoothed = _smooth(ann, sigma * scale)
            for name, kernel in kernels.items():
                preds = kernel.prepare_preds(smoothed, self.ids, label)
                if len(cache) < budget:
                    cache[name, s] = preds
                for measure, ks, targets in jobs:
                    if kernel in ks:
                        scores[measure, name][s] = kernel.matched(targets[name], preds)
            bar.update()
        chosen: dict[tuple[str, str], NDArray[np.int64]] = {}
        for (measure, name), table in scores.items():
            kernel = kernels[name]
            best, train_means = _choose_sigmas(
                table, self.folds, higher_is_better=kernel.higher_is_better
            )
            chosen[measure, name] = best[self.folds]
            self._cv_rows(source, measure, name, best, train_means, scale)
            _warn_at_edge((source, measure, name), best, self.sigmas, self.unit)
        null_sums = {key: np.zeros(len(self.perms)) for key in scores}
        if len(self.perms):
            used = sorted({int(s) for c in chosen.values() for s in np.unique(c)})
            bar.total += sum(
                _n_blocks(kernels[name], int(np.count_nonzero(c == s)))
                for (_, name), c in chosen.items()
                for s in used
            )
            bar.refresh()
            for s in used:
                again: NDArray[np.float64] | None = None
                for name, kernel in kernels.items():
                    kept = cache.get((name, s))
                    for measure, ks, targets in jobs:
                        if kernel not in ks:
                            continue
                        rows = np.flatnonzero(chosen[measure, name] == s)
                        if rows.size == 0:
                            continue
                        if kept is None:
                            again = _smooth(ann, self.sigmas[s] * scale) if again is None else again
                            kept = kernel.prepare_preds(again, self.ids, label)
                        null_sums[measure, name] += _null_sums(
                            kernel, targets[name], kept, rows, self.perms, bar
                        )
        for (measure, name), table in scores.items():
            per_image = table[chosen[measure, name], np.arange(n)]
            self._record(
                source,
                measure,
                kernels[name],
                per_image,
                chosen[measure, name],
                null_sums[measure, name] / n,
                scale,
            )

    def _cv_rows(
        self,
        source: str,
        measure: str,
        metric: str,
        best: NDArray[np.int64],
        train_means: NDArray[np.float64],
        scale: NDArray[np.float64],
    ) -> None:
        for fold in range(len(best)):
            for s, sigma in enumerate(self.sigmas):
                row: dict[str, Any] = {
                    "source": source,
                    "measure": measure,
                    "metric": metric,
                    "fold": fold,
                    "sigma_px": _in_px(sigma, scale),
                }
                if self.unit == "deg":
                    row["sigma_deg"] = sigma
                row.update(train_score=float(train_means[fold, s]), chosen=bool(best[fold] == s))
                self.cv_rows.append(row)

    def _record(
        self,
        source: str,
        measure: str,
        kernel: _Kernel,
        per_image: NDArray[np.float64],
        chosen: NDArray[np.int64],
        null: NDArray[np.float64],
        scale: NDArray[np.float64],
    ) -> None:
        key = (source, measure, kernel.name)
        sigma_of_image = np.asarray(self.sigmas)[chosen]
        for image_id, fold, sigma, px, value in zip(
            self.ids, self.folds, sigma_of_image, sigma_of_image * scale, per_image, strict=True
        ):
            row: dict[str, Any] = {
                "source": source,
                "measure": measure,
                "metric": kernel.name,
                "image_id": image_id,
                "fold": int(fold),
                "sigma_px": float(px),
            }
            if self.unit == "deg":
                row["sigma_deg"] = float(sigma)
            row["score"] = float(value)
            self.score_rows.append(row)
        mean = float(per_image.mean())
        ci = (
            _percentile_interval(per_image[self.boot].mean(axis=1), self.confidence)
            if len(self.boot)
            else (np.nan, np.nan)
        )
        n_folds = int(self.folds.max()) + 1
        by_fold = tuple(float(sigma_of_image[self.folds == f][0]) for f in range(n_folds))
        counts = np.bincount(chosen, minlength=len(self.sigmas))
        most = float(self.sigmas[int(np.argmax(counts))])
        self.null[key] = null
        in_deg = {"sigma_deg": most, "sigma_deg_folds": by_fold} if self.unit == "deg" else {}
        self.summary_rows.append(
            {
                "source": source,
                "measure": measure,
                "metric": kernel.name,
                "n_images": len(per_image),
                "mean": mean,
                "ci_low": ci[0],
                "ci_high": ci[1],
                "null_mean": float(null.mean()) if len(null) else np.nan,
                "p_value": (
                    _p_value(mean, null, higher_is_better=kernel.higher_is_better)
                    if len(null)
                    else np.nan
                ),
                "sigma_px": _in_px(most, scale),
                "sigma_px_folds": tuple(_in_px(v, scale) for v in by_fold),
                **in_deg,
                "higher_is_better": kernel.higher_is_better,
            }
        )

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The scores, summary and cv tables (with the ``sigma_deg`` columns in degrees)."""
        import pandas as pd

        deg = self.unit == "deg"
        return (
            pd.DataFrame(self.score_rows, columns=_with_deg(_SCORE_COLUMNS, "sigma_px", deg)),
            pd.DataFrame(
                self.summary_rows, columns=_with_deg(_SUMMARY_COLUMNS, "sigma_px_folds", deg)
            ),
            pd.DataFrame(self.cv_rows, columns=_with_deg(_CV_COLUMNS, "sigma_px", deg)),
        )


_SCORE_COLUMNS = ["source", "measure", "metric", "image_id", "fold", "sigma_px", "score"]
_SUMMARY_COLUMNS = [
    "source",
    "measure",
    "metric",
    "n_images",
    "mean",
    "ci_low",
    "ci_high",
    "null_mean",
    "p_value",
    "sigma_px",
    "sigma_px_folds",
    "higher_is_better",
]
_CV_COLUMNS = ["source", "measure", "metric", "fold", "sigma_px", "train_score", "chosen"]


def _with_deg(columns: list[str], after: str, deg: bool) -> list[str]:
    """``columns`` with the degree columns after ``after`` when the grid is in degrees."""
    if not deg:
        return columns
    k = columns.index(after) + 1
    extra = ["sigma_deg", "sigma_deg_folds"] if after == "sigma_px_folds" else ["sigma_deg"]
    return [*columns[:k], *extra, *columns[k:]]


def _in_px(sigma: float, scale: NDArray[np.float64]) -> float:
    """``sigma`` in pixels when every image has the same ``scale``, else NaN."""
    first = float(scale[0])
    return float(sigma) * first if np.all(scale == first) else float("nan")


def _null_sums(
    kernel: _Kernel,
    targets: _Prepared,
    preds: _Prepared,
    rows: NDArray[np.int64],
    perms: NDArray[np.int64],
    bar: Any,
) -> NDArray[np.float64]:
    """Per permutation, the summed scores of target images ``rows`` against their partners."""
    total = np.zeros(len(perms))
    n = len(perms[0])
    step = _ROW_BLOCK if kernel.bilinear else _PAIR_ROW_BLOCK
    for start in range(0, len(rows), step):
        block = rows[start : start + step]
        partners = perms[:, block]
        if kernel.bilinear:
            matrix = kernel.matrix(targets, preds, block)
            total += matrix[np.arange(len(block))[None, :], partners].sum(axis=1)
        else:
            code = block[None, :] * n + partners
            unique, inverse = np.unique(code, return_inverse=True)
            values = kernel.pairs(targets, preds, unique // n, unique % n)
            total += values[inverse.reshape(code.shape)].sum(axis=1)
        bar.update()
    return total


def _n_blocks(kernel: _Kernel, n_rows: int) -> int:
    """Number of blocks (progress steps) of :func:`_null_sums` for ``n_rows`` target images."""
    step = _ROW_BLOCK if kernel.bilinear else _PAIR_ROW_BLOCK
    return -(-n_rows // step)


def _smooth(stack: NDArray[np.float64], sigmas: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each map of ``stack`` (n, H, W) smoothed with its own sigma in pixels, shape (n,)."""
    if not np.any(sigmas):
        return stack
    from scipy.ndimage import gaussian_filter

    out = stack.copy()
    for sigma in np.unique(sigmas):
        rows = np.flatnonzero(sigmas == sigma)
        if sigma > 0:
            out[rows] = gaussian_filter(
                stack[rows], sigma=(0.0, sigma, sigma), mode="reflect", truncate=GAUSSIAN_TRUNCATE
            )
    return out
