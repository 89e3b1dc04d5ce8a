"""Metrics as batched scorers of image stacks for the map comparison, by name."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..metrics._rows import average_ranks

__all__: list[str] = []

#: Pairs scored per call of a batched metric when pairs are gathered (bounds memory).
_PAIR_CHUNK = 256

Stack = NDArray[np.float64]


@dataclass(frozen=True)
class _Prepared:
    """A stack made ready for one kernel: the flat matrix of a bilinear kernel or the stack.

    ``other`` holds, for ``auc_shuffled``, each image's fixations from the other images.
    """

    data: NDArray[np.float64]
    other: NDArray[np.float64] | None = None
    ids: tuple[Hashable, ...] = ()
    label: str = ""


class _Kernel:
    """Scores a stack of predictions against a stack of targets with one metric.

    ``kind`` is ``"map"`` (targets are human maps) or ``"fixations"`` (targets
    are fixation maps: nonzero = fixated). Subclasses either are *bilinear*
    (score = dot product of prepared target and prepared prediction, so a
    whole matrix of image pairs is one matrix product) or call the metric on
    gathered pairs.
    """

    name: str
    kind: str
    higher_is_better: bool
    bilinear: bool = False

    def prepare_targets(self, targets: Stack, ids: tuple[Hashable, ...], label: str) -> _Prepared:
        return _Prepared(targets, ids=ids, label=label)

    def prepare_preds(self, preds: Stack, ids: tuple[Hashable, ...], label: str) -> _Prepared:
        return _Prepared(preds, ids=ids, label=label)

    def matched(self, targets: _Prepared, preds: _Prepared) -> NDArray[np.float64]:
        """Score of prediction ``i`` against target ``i``, shape (n,)."""
        n = len(targets.data)
        return self.pairs(targets, preds, np.arange(n), np.arange(n))

    def pairs(
        self,
        targets: _Prepared,
        preds: _Prepared,
        rows: NDArray[np.int64],
        cols: NDArray[np.int64],
    ) -> NDArray[np.float64]:
        """Scores of prediction ``cols[k]`` against target ``rows[k]``, shape (len(rows),)."""
        raise NotImplementedError

    def matrix(
        self, targets: _Prepared, preds: _Prepared, rows: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """Scores of every prediction against targets ``rows``, shape (len(rows), n)."""
        raise NotImplementedError


class _Bilinear(_Kernel):
    """A metric that is a dot product of transformed maps (CC, NSS, Spearman)."""

    bilinear = True

    def matched(self, targets: _Prepared, preds: _Prepared) -> NDArray[np.float64]:
        return np.einsum("ip,ip->i", targets.data, preds.data)

    def matrix(
        self, targets: _Prepared, preds: _Prepared, rows: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        out: NDArray[np.float64] = targets.data[rows] @ preds.data.T
        return out


def _standardized_rows(
    stack: Stack, ids: tuple[Hashable, ...], label: str, *, ddof: int
) -> NDArray[np.float64]:
    """Each map flattened and standardised: shape (n, n_pixels)."""
    flat = stack.reshape(len(stack), -1)
    centred = flat - flat.mean(axis=1, keepdims=True)
    squares = np.einsum("ip,ip->i", centred, centred)
    sd = np.sqrt(squares / max(flat.shape[1] - ddof, 1))[:, None]
    constant = np.flatnonzero(~(sd[:, 0] > 0))
    if constant.size:
        raise ValueError(
            f"The map of {label}, image {ids[constant[0]]!r} is constant, so it cannot be "
            f"standardised and the metric is undefined ({constant.size} such maps)."
        )
    centred /= sd
    return centred


class _CC(_Bilinear):
    """Pearson's CC: mean product of the z-scores (population SD), as ``metrics.cc``."""

    name = "cc"
    kind = "map"
    higher_is_better = True

    def prepare_targets(self, targets: Stack, ids: tuple[Hashable, ...], label: str) -> _Prepared:
        z = _standardized_rows(targets, ids, label, ddof=0)
        return _Prepared(z / z.shape[1])

    def prepare_preds(self, preds: Stack, ids: tuple[Hashable, ...], label: str) -> _Prepared:
        return _Prepared(_standardized_rows(preds, ids, label, ddof=0))


class _Spearman(_CC):
    """Spearman's rank correlation: CC of the pixel ranks (average ranks for ties)."""

    name = "spearman"

    def prepare_targets(self, targets: Stack, ids: tuple[Hashable, ...], label: str) -> _Prepared:
        return super().prepare_targets(_ranks(targets), ids, label)

    def prepare_preds(self, preds: Stack, ids: tuple[Hashable, ...], label: str) -> _Prepared:
        return super().prepare_preds(_ranks(preds), ids, label)


def _ranks(stack: Stack) -> Stack:
    """Pixel ranks 1..P of each map, ties given their average rank (as scipy's rankdata).

    The metrics' one ranking (:func:`analysis.metrics._rows.average_ranks`), map by map.
    """
    flat = stack.reshape(len(stack), -1)
    out = np.empty(flat.shape, dtype=np.float64)
    for row in range(len(flat)):
        out[row] = average_ranks(flat[row])
    return out.reshape(stack.shape)


class _NSS(_Bilinear):
    """NSS: mean z-scored saliency over the fixated pixels, as ``metrics.nss``."""

    name = "nss"
    kind = "fixations"
    higher_is_better = True

    def __init__(self, *, ddof: int = 1) -> None:
        self._ddof = ddof

    def prepare_targets(self, targets: Stack, ids: tuple[Hashable, ...], label: str) -> _Prepared:
        fixated = (targets.reshape(len(targets), -1) > 0).astype(np.float64)
        counts = fixated.sum(axis=1, keepdims=True)
        empty = np.flatnonzero(counts[:, 0] == 0)
        if empty.size:
            raise ValueError(
                f"The fixation map of {label}, image {ids[empty[0]]!r} is empty: no pixel is "
                "fixated."
            )
        return _Prepared(fixated / counts)

    def prepare_preds(self, preds: Stack, ids: tuple[Hashable, ...], label: str) -> _Prepared:
        return _Prepared(_standardized_rows(preds, ids, label, ddof=self._ddof))


class _Registered(_Kernel):
    """Any metric of :data:`analysis.metrics.METRICS`, scored with ``metrics.score_batch``.

    Pairs are gathered chunk by chunk. For ``auc_shuffled`` the other images'
    fixations of target image ``i`` are the fixated pixels of every other
    image of the measure; for ``info_gain`` the baseline is image ``i``'s.
    Stochastic metrics draw from a child of ``seed`` per call.
    """

    def __init__(
        self,
        spec: Any,
        *,
        options: Mapping[str, Any],
        baseline: Sequence[NDArray[np.float64]] | NDArray[np.float64] | None,
        seed: np.random.SeedSequence,
    ) -> None:
        self.name = spec.name
        self.kind = spec.target
        self.higher_is_better = bool(spec.higher_is_better)
        self._needs = spec.needs
        self._stochastic = bool(spec.stochastic)
        self._options = dict(options)
        self._baseline = baseline
        self._seed = seed

    def prepare_targets(self, targets: Stack, ids: tuple[Hashable, ...], label: str) -> _Prepared:
        other = None
        if self._needs == "other_fixations":
            fixated = (targets > 0).astype(np.float64)
            other = fixated.sum(axis=0)[None] - fixated
        return _Prepared(targets, other, ids, label)

    def matched(self, targets: _Prepared, preds: _Prepared) -> NDArray[np.float64]:
        n = len(targets.data)
        try:
            return self._score(targets, preds.data, np.arange(n))
        except ValueError as err:
            # score_batch names images by position (maps[3]): name them by id instead.
            def by_id(match: re.Match[str]) -> str:
                which = "ANN map" if match.group(1) == "maps" else "human data"
                return f"the {which} of image {targets.ids[int(match.group(2))]!r}"

            message = re.sub(r"the '(maps|targets)\[(\d+)\]' parameter", by_id, str(err))
            message = re.sub(r"\b(maps|targets)\[(\d+)\]", by_id, message)
            raise ValueError(
                f"Scoring {preds.label} against {targets.label} with {self.name!r}: {message}"
            ) from None

    def pairs(
        self,
        targets: _Prepared,
        preds: _Prepared,
        rows: NDArray[np.int64],
        cols: NDArray[np.int64],
    ) -> NDArray[np.float64]:
        out = np.empty(len(rows), dtype=np.float64)
        for start in range(0, len(rows), _PAIR_CHUNK):
            sl = slice(start, start + _PAIR_CHUNK)
            out[sl] = self._score(targets, preds.data[cols[sl]], rows[sl])
        return out

    def _score(
        self, targets: _Prepared, preds: Stack, rows: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        from ..metrics import score_batch

        extra: dict[str, Any] = {}
        if self._needs == "other_fixations" and targets.other is not None:
            extra["other"] = targets.other[rows]
        if self._needs == "baseline":
            base = self._baseline
            extra["baseline"] = (
                base if base is None or isinstance(base, np.ndarray) else [base[r] for r in rows]
            )
        if self._stochastic:
            extra["rng"] = np.random.default_rng(self._seed.spawn(1)[0])
        scores = score_batch(
            self.name, preds, targets.data[rows], progress=False, **extra, **self._options
        )
        return np.asarray(scores, dtype=np.float64)


#: Dot-product forms of metrics of the same name, for their default options; they
#: score every image pair of the permutation test as one matrix product.
_BILINEAR: dict[str, Callable[[Mapping[str, Any]], _Kernel]] = {
    "cc": lambda options: _CC(),
    "spearman": lambda options: _Spearman(),
    "nss": lambda options: _NSS(ddof=int(options.get("ddof", 1))),
}


def _kernel(
    name: str,
    *,
    options: Mapping[str, Any],
    baseline: Sequence[NDArray[np.float64]] | NDArray[np.float64] | None,
    seed: np.random.SeedSequence,
) -> _Kernel:
    """The kernel that scores metric ``name`` of :data:`analysis.metrics.METRICS`."""
    from ..metrics import _metric_spec

    spec = _metric_spec(name, parameter="metrics")
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        allowed = ", ".join(repr(o) for o in spec.options) or "none"
        raise ValueError(
            f"Invalid value for the 'metric_options' parameter: {unknown} are not options of "
            f"the metric {name!r}. Allowed options are {allowed}."
        )
    if spec.needs == "baseline" and baseline is None:
        raise ValueError(
            f"The metric {name!r} needs a baseline map: give the 'baseline' parameter (e.g. a "
            "centre-bias map)."
        )
    if name in _BILINEAR and set(options) <= {"ddof"}:
        if options.get("ddof", 1) not in (0, 1) or isinstance(options.get("ddof"), bool):
            raise ValueError(
                "Invalid value for the 'ddof' option of 'nss'. Allowed values are 1 and 0, but "
                f"got {options.get('ddof')!r} instead."
            )
        return _BILINEAR[name](options)
    return _Registered(spec, options=options, baseline=baseline, seed=seed)


def _kernels(
    metrics: Sequence[str],
    *,
    have_maps: bool,
    have_fixations: bool,
    options: Mapping[str, Mapping[str, Any]] | None,
    baseline: Sequence[NDArray[np.float64]] | NDArray[np.float64] | None,
    seed: np.random.SeedSequence,
) -> list[_Kernel]:
    """Validated kernels of the requested metrics, each with its options."""
    if isinstance(metrics, str) or not metrics:
        raise ValueError(
            "Invalid value for the 'metrics' parameter: expected a non-empty sequence of metric "
            f"names, such as ('cc', 'nss'), but got {metrics!r} instead."
        )
    if len(set(metrics)) != len(metrics):
        raise ValueError(f"Invalid value for the 'metrics' parameter: {metrics!r} repeats a name.")
    options = {} if options is None else options
    if not isinstance(options, Mapping) or set(options) - set(metrics):
        raise ValueError(
            "Invalid value for the 'metric_options' parameter: expected a dict metric name -> "
            f"dict of options, for metrics among {list(metrics)}, but got {options!r}."
        )
    seeds = seed.spawn(len(metrics))
    kernels = [
        _kernel(name, options=options.get(name, {}), baseline=baseline, seed=child)
        for name, child in zip(metrics, seeds, strict=True)
    ]
    for k in kernels:
        if k.kind == "map" and not have_maps:
            raise ValueError(
                f"The metric {k.name!r} compares a map with human maps, but no human_maps "
                "were given."
            )
        if k.kind == "fixations" and not have_fixations:
            raise ValueError(
                f"The metric {k.name!r} compares a map with fixations, but no fixations were "
                "given (fixation maps or coordinates in the 'fixations' parameter)."
            )
    return kernels
