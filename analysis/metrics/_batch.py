"""Batched scoring: one metric over many images, chunked, with a progress bar."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _emd
from . import _kernels as _fx
from . import _rows as _mp
from ._checks import (
    FixatedPixels,
    as_map,
    check_bool,
    check_finite,
    check_option,
    fixated_indices,
    native_map,
    positive_int,
    resize_to,
)
from ._pairs import native_flat
from ._per_image import PER_IMAGE, score_per_image

#: Elements (float64) per chunk of same-shaped map pairs scored together.
CHUNK_ELEMENTS = 1 << 22

#: Progress bars appear by default from this many images on (and only on a terminal).
PROGRESS_MIN_IMAGES = 100


def _jitter(value: Any) -> bool:
    check_bool(value, "jitter")
    return bool(value)


def _exact(value: Any) -> bool:
    check_bool(value, "exact")
    return bool(value)


def _ddof(value: Any) -> int:
    check_option(value, "ddof", (1, 0))
    return int(value)


_OPTION_CHECKS: dict[str, Callable[[Any], Any]] = {
    "jitter": _jitter,
    "exact": _exact,
    "n_splits": lambda v: positive_int(v, "n_splits"),
    "step": _fx.check_step,
    "ddof": _ddof,
    "percent": _mp.check_percent,
    "downsample": _emd.check_downsample,
}


def check_options(metric: str, allowed: tuple[str, ...], options: dict[str, Any]) -> dict[str, Any]:
    """Validate keyword options of ``metric`` once, before any image is scored."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        listed = ", ".join(repr(a) for a in allowed) or "none"
        raise ValueError(
            f"Invalid option(s) {unknown} for the metric {metric!r}. Allowed options are {listed}."
        )
    return {k: _OPTION_CHECKS[k](v) for k, v in options.items()}


def run_batch(
    metric: str,
    target: str,
    maps: Any,
    targets: Any,
    *,
    image_shape: Any,
    other: Any,
    baseline: Any,
    rng: int | np.random.Generator | None,
    progress: bool | None,
    options: dict[str, Any],
    workers: int = 1,
) -> NDArray[np.float64]:
    """Scores of ``metric`` for each image; see :func:`analysis.metrics.score_batch`."""
    n = _length(maps, "maps")
    _same_length(targets, "targets", n)
    if other is not None:
        _same_length(other, "other", n)
    if baseline is not None and np.ndim(baseline) != 2:
        _same_length(baseline, "baseline", n)
    if image_shape is not None and target == "map":
        raise ValueError(
            f"The 'image_shape' parameter is for fixation coordinates, but the metric {metric!r} "
            "compares two maps."
        )
    out = np.empty(n, dtype=np.float64)
    bar = _progress_bar(n, progress, metric)
    try:
        if target == "fixations":
            gen = np.random.default_rng(rng)
            _fixation_batch(
                metric, maps, targets, image_shape, other, baseline, gen, options, out, bar
            )
        elif metric in PER_IMAGE:
            score_per_image(
                metric, maps, targets, options=options, out=out, bar=bar, workers=workers
            )
        else:
            _map_batch(metric, maps, targets, options, out, bar)
    finally:
        bar.close()
    return out


def fixation_score(
    metric: str,
    s: NDArray[np.float64],
    idx: NDArray[np.int64],
    *,
    other_idx: NDArray[np.int64] | None = None,
    baseline: NDArray[np.float64] | None = None,
    options: dict[str, Any],
    rng: np.random.Generator,
    name: str,
) -> float:
    """Score of a location-based metric: flat map ``s``, unique fixated indices ``idx``.

    ``baseline`` is the flat baseline distribution of ``info_gain``
    (:func:`analysis.metrics._kernels.baseline_distribution`).
    """
    if metric == "auc_judd":
        jitter_rng = rng if options.get("jitter", False) else None
        return _fx.auc_judd_kernel(s, idx, rng=jitter_rng, name=name)
    if metric in ("auc_borji", "auc_shuffled"):
        n_splits, step = options.get("n_splits", 100), options.get("step", 0.1)
        if metric == "auc_borji":
            return _fx.auc_borji_kernel(s, idx, n_splits=n_splits, step=step, rng=rng, name=name)
        if other_idx is None:
            raise ValueError("The metric 'auc_shuffled' needs fixations from other images.")
        if options.get("exact", False):
            return _fx.auc_shuffled_exact_kernel(s, idx, other_idx, name=name)
        return _fx.auc_shuffled_kernel(
            s, idx, other_idx, n_splits=n_splits, step=step, rng=rng, name=name
        )
    if metric == "nss":
        return _fx.nss_kernel(s, idx, ddof=options.get("ddof", 1), name=name)
    if metric == "info_gain":
        if baseline is None:
            raise ValueError("The metric 'info_gain' needs a baseline map.")
        return _fx.info_gain_kernel(s, baseline, idx, name=name)
    raise ValueError(f"{metric!r} is not a location-based metric.")


def map_scores(
    metric: str,
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    *,
    shape: tuple[int, int],
    options: dict[str, Any],
    names: tuple[str, str],
    offset: int | None,
) -> tuple[NDArray[np.float64], int]:
    """Scores of a map-to-map metric for each row pair, and the count of oversized top-k regions."""
    if metric == "emd":
        downsample = options.get("downsample", 32)
        scores = [
            _emd.emd_pair(
                a[i],
                b[i],
                b_shape=shape,
                downsample=downsample,
                names=(_mp.label(names[0], offset, i), _mp.label(names[1], offset, i)),
            )
            for i in range(len(a))
        ]
        return np.asarray(scores, dtype=np.float64), 0
    if metric in ("topk_iou", "topk_dice"):
        percent = options.get("percent", 10.0)
        dice = metric == "topk_dice"
        return _mp.topk_rows(a, b, percent=percent, dice=dice, names=names, offset=offset)
    kernels = {
        "cc": _mp.cc_rows,
        "similarity": _mp.similarity_rows,
        "kl_div": _mp.kl_rows,
        "spearman": _mp.spearman_rows,
    }
    if metric not in kernels:
        raise ValueError(f"{metric!r} is not a map-to-map metric.")
    return kernels[metric](a, b, names=names, offset=offset), 0


def _fixation_batch(
    metric: str,
    maps: Any,
    targets: Any,
    image_shape: Any,
    other: Any,
    baseline: Any,
    gen: np.random.Generator,
    options: dict[str, Any],
    out: NDArray[np.float64],
    bar: Any,
) -> None:
    n_out = n_images_out = 0
    shared_baseline = None if baseline is None or np.ndim(baseline) != 2 else baseline
    cache: dict[tuple[int, int], NDArray[np.float64]] = {}
    if metric == "auc_shuffled" and other is None:
        raise ValueError("The metric 'auc_shuffled' needs the 'other' parameter.")
    if metric == "info_gain" and baseline is None:
        raise ValueError("The metric 'info_gain' needs the 'baseline' parameter.")
    if metric == "auc_shuffled" and options.get("exact", False):
        n_out, n_images_out = _exact_shuffled_batch(maps, targets, image_shape, other, out, bar)
        _warn_outside(n_out, n_images_out, len(out))
        return
    for i in range(len(out)):
        shape_i = _shape_of(image_shape, i)
        shape, idx, outside = fixated_indices(targets[i], shape_i, f"targets[{i}]", warn=False)
        n_out += outside
        n_images_out += bool(outside)
        other_idx = b = None
        if metric == "auc_shuffled":
            o_shape, other_idx, _ = fixated_indices(other[i], shape_i, f"other[{i}]", warn=False)
            if o_shape != shape:
                raise ValueError(
                    f"Invalid value for the 'other' parameter: other[{i}] has shape {o_shape}, "
                    f"but targets[{i}] has shape {shape}."
                )
        if metric == "nss" or (metric == "auc_judd" and not options.get("jitter", False)):
            native = native_map(maps[i], f"maps[{i}]")
            if native is not None and native[0].shape == shape:
                flat, value_range = native[0].ravel(), native[1:]
                if metric == "nss":
                    ddof = options.get("ddof", 1)
                    out[i] = _fx.nss_kernel(
                        flat, idx, ddof=ddof, name=f"maps[{i}]", value_range=value_range
                    )
                else:
                    out[i] = _fx.auc_judd_kernel(
                        flat, idx, rng=None, name=f"maps[{i}]", value_range=value_range
                    )
                bar.update(1)
                continue
        s = resize_to(as_map(maps[i], f"maps[{i}]"), shape).ravel()
        if metric == "info_gain":
            b = _baseline_at(baseline, shared_baseline, i, shape, cache)
        out[i] = fixation_score(
            metric,
            s,
            idx,
            other_idx=other_idx,
            baseline=b,
            options=options,
            rng=gen,
            name=f"maps[{i}]",
        )
        bar.update(1)
    _warn_outside(n_out, n_images_out, len(out))


def _warn_outside(n_out: int, n_images_out: int, n: int) -> None:
    if n_out:
        from ..fixations import _caller_stacklevel

        warnings.warn(
            f"{n_out} fixations on {n_images_out} of {n} images lie outside their image "
            "and are ignored.",
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )


def _exact_shuffled_batch(
    maps: Any, targets: Any, image_shape: Any, other: Any, out: NDArray[np.float64], bar: Any
) -> tuple[int, int]:
    """Exact shuffled AUC of each image into ``out``; fixations outside and images with some.

    The kernel reads a few thousand values, so the loop is kept lean: a
    float32/float64 map of its pixels' shape, with :class:`FixatedPixels`
    for both ``targets[i]`` and ``other[i]``, goes to it directly; anything
    else through the general conversions.
    """
    n_out = n_images_out = 0
    single = image_shape is None or (
        len(image_shape) == 2 and all(np.ndim(v) == 0 for v in image_shape)
    )
    common = None if image_shape is None else _shape_of(image_shape, 0) if single else None
    floats = (np.dtype(np.float32), np.dtype(np.float64))
    kernel, update = _fx.auc_shuffled_exact_kernel, bar.update
    for i in range(len(out)):
        t, o, m = targets[i], other[i], maps[i]
        shape_i = common if single else tuple(image_shape[i])
        if (
            isinstance(t, FixatedPixels)
            and isinstance(o, FixatedPixels)
            and isinstance(m, np.ndarray)
            and m.dtype in floats
            and m.shape == t.shape == o.shape
            and (shape_i is None or shape_i == t.shape)
        ):
            out[i] = kernel(m.reshape(-1), t.indices, o.indices, name=f"maps[{i}]")
            update(1)
            continue
        shape, idx, outside = fixated_indices(t, shape_i, f"targets[{i}]", warn=False)
        n_out += outside
        n_images_out += bool(outside)
        o_shape, other_idx, _ = fixated_indices(o, shape_i, f"other[{i}]", warn=False)
        if o_shape != shape:
            raise ValueError(
                f"Invalid value for the 'other' parameter: other[{i}] has shape {o_shape}, "
                f"but targets[{i}] has shape {shape}."
            )
        name = f"maps[{i}]"
        flat = native_flat(m)
        if flat is None or m.shape != shape:
            flat = resize_to(as_map(m, name), shape).ravel()
        out[i] = kernel(flat, idx, other_idx, name=name)
        update(1)
    return n_out, n_images_out


def _baseline_at(
    baseline: Any,
    shared: Any,
    i: int,
    shape: tuple[int, int],
    cache: dict[tuple[int, int], NDArray[np.float64]],
) -> NDArray[np.float64]:
    """Image ``i``'s flat baseline distribution; a shared one is computed once per shape."""
    if shared is None:
        b = resize_to(as_map(baseline[i], f"baseline[{i}]"), shape).ravel()
        return _fx.baseline_distribution(b)
    if shape not in cache:
        b = resize_to(as_map(shared, "baseline"), shape).ravel()
        cache[shape] = _fx.baseline_distribution(b)
    return cache[shape]


def _map_batch(
    metric: str,
    maps: Any,
    targets: Any,
    options: dict[str, Any],
    out: NDArray[np.float64],
    bar: Any,
) -> None:
    oversized = 0
    for i0, a, b, shape in _chunks(maps, targets, len(out)):
        scores, over = map_scores(
            metric, a, b, shape=shape, options=options, names=("maps", "targets"), offset=i0
        )
        out[i0 : i0 + len(a)] = scores
        oversized += over
        bar.update(len(a))
    if metric in ("topk_iou", "topk_dice"):
        _mp.warn_oversized(oversized, len(out), options.get("percent", 10.0))


def _chunks(
    maps: Any, targets: Any, n: int
) -> Iterator[tuple[int, NDArray[np.float64], NDArray[np.float64], tuple[int, int]]]:
    """Validated (first index, rows of maps, rows of targets, target shape) chunks.

    Stacks of equal shape are sliced into chunks of several images; anything
    else goes one image at a time (resized to its target's shape).
    """
    if (
        isinstance(maps, np.ndarray)
        and isinstance(targets, np.ndarray)
        and maps.ndim == 3
        and maps.shape == targets.shape
        and maps.shape[1] * maps.shape[2] > 0
    ):
        pixels = maps.shape[1] * maps.shape[2]
        step = max(1, CHUNK_ELEMENTS // pixels)
        shape = (int(maps.shape[1]), int(maps.shape[2]))
        for i0 in range(0, n, step):
            a = _rows(maps[i0 : i0 + step], "maps", i0)
            b = _rows(targets[i0 : i0 + step], "targets", i0)
            yield i0, a, b, shape
        return
    for i in range(n):
        b2 = as_map(targets[i], f"targets[{i}]")
        a2 = resize_to(as_map(maps[i], f"maps[{i}]"), b2.shape)
        yield i, a2.reshape(1, -1), b2.reshape(1, -1), (int(b2.shape[0]), int(b2.shape[1]))


def _rows(stack: NDArray[Any], name: str, offset: int) -> NDArray[np.float64]:
    try:
        rows = np.asarray(stack, dtype=np.float64).reshape(len(stack), -1)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected numeric maps ({err})."
        ) from None
    finite = np.isfinite(rows).all(axis=1)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        check_finite(rows[i], f"{name}[{offset + i}]")
    return rows


def _shape_of(image_shape: Any, i: int) -> tuple[int, int] | None:
    if image_shape is None:
        return None
    if len(image_shape) == 2 and all(np.ndim(v) == 0 for v in image_shape):
        return tuple(image_shape)
    return tuple(image_shape[i])


def _length(value: Any, name: str) -> int:
    if isinstance(value, np.ndarray):
        if value.ndim != 3:
            raise ValueError(
                f"Invalid value for the '{name}' parameter: expected a stack of shape "
                f"(n_images, height, width) or a sequence of 2-D maps, but got an array of "
                f"shape {value.shape}."
            )
        return int(value.shape[0])
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected a sequence with one item per "
            f"image, but got {type(value).__name__}."
        )
    return len(value)


def _same_length(value: Any, name: str, n: int) -> None:
    got = len(value) if hasattr(value, "__len__") else None
    if got != n:
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected one item per image ({n}), but "
            f"got {got if got is not None else type(value).__name__}."
        )


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(n: int, progress: bool | None, metric: str) -> Any:
    if progress is False or (progress is None and n < PROGRESS_MIN_IMAGES):
        return _NoBar()
    from tqdm import tqdm

    # disable=None: tqdm shows the bar only on a terminal.
    return tqdm(total=n, desc=metric, unit="image", disable=None if progress is None else False)
