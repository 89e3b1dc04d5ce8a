"""Validation of the ANN maps, human maps and fixations given to the map comparison."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from selectivity.resample import resample

__all__: list[str] = []

#: One source's or measure's per-image data: a dict image id -> item, or a
#: sequence / stack of items in image order (ids 0, 1, ...).
PerImage: TypeAlias = Mapping[Any, Any] | Sequence[Any] | NDArray[Any]


#: What each parameter holds, for the messages about a mapping of the wrong shape.
_EXPECTED = {
    "ann_maps": "a dict source name -> per-image maps (a dict image id -> 2-D map, or a stack), "
    "e.g. {'vgg16/gradcam': {image_id: map}}",
    "human_maps": "a dict measure name -> per-image maps (a dict image id -> 2-D map, or a "
    "stack), e.g. {'free-viewing': {image_id: map}}",
    "fixations": "a dict measure name -> per-image fixations (a dict image id -> fixation map, "
    "or -> (x, y) coordinates with fixation_shape), e.g. {'free-viewing': {image_id: coords}}",
}


def _one_image_shape(value: Any) -> tuple[int, ...] | None:
    """The shape of ``value`` when it is one image's data (a map, coordinates), else None.

    Per-image data is a dict or a sequence of 2-D items (or a 3-D stack); one
    image's data is a 2-D array, a table, or a list of numbers or of pairs.
    """
    if isinstance(value, Mapping):
        return None
    if hasattr(value, "columns") and hasattr(value, "shape"):  # a pandas DataFrame
        return tuple(value.shape)
    if isinstance(value, np.ndarray):
        return value.shape if value.ndim <= 2 else None
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and len(value):
        first = value[0]
        if np.isscalar(first) or (
            isinstance(first, (Sequence, np.ndarray))
            and not isinstance(first, (str, bytes))
            and _ndim(first) == 1
        ):
            try:
                return tuple(np.shape(np.asarray(value, dtype=np.float64)))
            except (TypeError, ValueError):
                return (len(value),)
    return None


def _ndim(value: Any) -> int:
    """Dimensions of ``value`` as an array; -1 for ragged nestings."""
    try:
        return int(np.ndim(value))
    except (TypeError, ValueError):
        return -1


def _noun(param: str) -> str:
    return "source" if param == "ann_maps" else "measure"


def _wrong_shape(param: str, detail: str) -> ValueError:
    return ValueError(
        f"Invalid value for the '{param}' parameter: the mapping has the wrong shape: {detail}. "
        f"Expected {_EXPECTED.get(param, 'a dict name -> per-image maps')}."
    )


def _check_nesting(
    groups: Mapping[str, PerImage], param: str, ids: tuple[Hashable, ...] | None = None
) -> None:
    """Refuse a mapping image id -> data given where name -> image id -> data is expected.

    ``ids`` (the ANN maps' images) also catch a dict keyed by image ids whose
    values are per-observer lists.
    """
    for name, value in groups.items():
        shape = _one_image_shape(value)
        if shape is not None:
            raise _wrong_shape(
                param,
                f"{param}[{name!r}] holds one array of shape {shape}, as one image's data "
                f"would; if {name!r} is an image id, wrap the dict in a {_noun(param)} name, "
                f"{param}={{'<{_noun(param)}>': ...}}",
            )
    if ids is not None and len(groups) > 0:
        known, noun = set(ids), _noun(param)
        as_images: list[Hashable] = [name for name in groups if name in known]
        if len(as_images) == len(groups):
            raise _wrong_shape(
                param,
                f"its keys {_first(as_images)} are image ids of the ANN maps, so it maps image "
                f"id -> data; wrap it in a {noun} name, {param}={{'<{noun}>': ...}}",
            )


def _per_image(
    groups: Mapping[str, PerImage], param: str
) -> tuple[dict[str, list[Any]], tuple[Hashable, ...]]:
    """Items per group name in one image order, and that order (image ids)."""
    if not isinstance(groups, Mapping) or not groups:
        raise ValueError(
            f"Invalid value for the '{param}' parameter: expected a non-empty dict name -> "
            f"per-image maps, but got {groups!r:.80}."
        )
    _check_nesting(groups, param)
    out: dict[str, list[Any]] = {}
    ids: tuple[Hashable, ...] = ()
    reference = ""
    for name, per_image in groups.items():
        if not isinstance(name, str):
            raise ValueError(
                f"Invalid value for the '{param}' parameter: names must be strings, but got "
                f"{name!r}."
            )
        if isinstance(per_image, Mapping):
            these = tuple(per_image)
            items = [per_image[i] for i in these]
        elif isinstance(per_image, (str, bytes)) or not hasattr(per_image, "__len__"):
            raise ValueError(
                f"Invalid value for the '{param}' parameter: {name!r} must hold a dict image "
                f"id -> map or a sequence of maps, but holds {type(per_image).__name__}."
            )
        else:
            items = list(per_image)
            these = tuple(range(len(items)))
        if not these:
            raise ValueError(f"Invalid value for the '{param}' parameter: {name!r} has no images.")
        if not ids:
            ids, reference = these, f"{param}[{name!r}]"
        out[name] = _reorder(items, these, ids, f"{param}[{name!r}]", reference)
    return out, ids


def _reorder(
    items: list[Any],
    these: tuple[Hashable, ...],
    ids: tuple[Hashable, ...],
    where: str,
    reference: str,
) -> list[Any]:
    """``items`` (in the order ``these``) in the order ``ids``; the id sets must be equal.

    ``where`` and ``reference`` name the two groups in the error message.
    """
    if these == ids:
        return items
    if set(these) != set(ids) or len(these) != len(ids):
        missing = [i for i in ids if i not in set(these)]
        extra = [i for i in these if i not in set(ids)]
        parts = [f"it lacks {_first(missing)}"] if missing else []
        parts += [f"it has extra {_first(extra)}"] if extra else []
        raise ValueError(
            f"The images of {where} are not those of {reference}: {' and '.join(parts)}; every "
            "source and measure must cover the same images."
        )
    position = {image_id: k for k, image_id in enumerate(these)}
    return [items[position[i]] for i in ids]


def _first(ids: list[Hashable], n: int = 5) -> str:
    """The first ``n`` ids as a list, with a count of the others."""
    more = f" and {len(ids) - n} more" if len(ids) > n else ""
    return f"{ids[:n]!r}{more}"


def _as_map(value: ArrayLike, where: str) -> NDArray[np.float64]:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"The map of {where} is not a numeric array ({err}).") from None
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(
            f"The map of {where} must be a non-empty 2-D array of shape (height, width), but "
            f"has shape {arr.shape}."
        )
    n_bad = int(np.count_nonzero(~np.isfinite(arr)))
    if n_bad:
        raise ValueError(
            f"The map of {where} has {n_bad} NaN or infinite values of {arr.size}; fill or "
            "drop them first."
        )
    return arr


def _target_stack(
    items: list[Any],
    ids: tuple[Hashable, ...],
    label: str,
    *,
    size: tuple[int, int] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Human maps of one measure as a stack (n, H, W), resampled to ``size`` when given.

    Also returns, per image, the stack's pixels per pixel of the map as given,
    ``sqrt(H W / (h w))`` (the geometric mean of the two axes' scales; 1
    without ``size``), which converts pixels per degree of the given maps to
    those of the stack.
    """
    maps = [_as_map(a, f"{label}, image {i!r}") for a, i in zip(items, ids, strict=True)]
    given = np.array([m.shape for m in maps], dtype=np.float64)
    if size is not None:
        maps = [resample(m, size) for m in maps]
    shapes = {m.shape for m in maps}
    if len(shapes) > 1:
        raise ValueError(
            f"The maps of {label} have different shapes {sorted(shapes)}: give size=(height, "
            "width) to resample them to one."
        )
    stack = np.stack(maps)
    scale = np.sqrt(stack.shape[1] * stack.shape[2] / (given[:, 0] * given[:, 1]))
    return stack, scale


def _fixation_stack(
    items: list[Any],
    ids: tuple[Hashable, ...],
    label: str,
    *,
    fixation_shape: tuple[int, int] | None,
) -> NDArray[np.float64]:
    """Fixation maps (n, H, W) of one measure, from maps or from (x, y) coordinates."""
    if fixation_shape is None:
        maps = [_as_map(a, f"{label}, image {i!r}") for a, i in zip(items, ids, strict=True)]
        for m, i in zip(maps, ids, strict=True):
            if (m < 0).any():
                raise ValueError(
                    f"The fixation map of {label}, image {i!r} has negative values; a fixation "
                    "map holds counts (nonzero = fixated)."
                )
        shapes = {m.shape for m in maps}
        if len(shapes) > 1:
            raise ValueError(
                f"The fixation maps of {label} have different shapes {sorted(shapes)}; they "
                "must share one."
            )
        return np.stack(maps)
    from ..fixations import fixation_counts

    stack = np.empty((len(ids), *fixation_shape), dtype=np.float64)
    for k, (coords, i) in enumerate(zip(items, ids, strict=True)):
        try:
            stack[k] = fixation_counts(coords, fixation_shape)
        except ValueError as err:
            raise ValueError(f"The fixations of {label}, image {i!r}: {err}") from None
    return stack


def _check_size(value: object, param: str) -> tuple[int, int] | None:
    if value is None:
        return None
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in value
        )
    ):
        return int(value[0]), int(value[1])
    raise ValueError(
        f"Invalid value for the '{param}' parameter: expected (height, width) as two positive "
        f"integers or None, but got {value!r} instead."
    )


def _is_positive_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and int(value) > 0


def _check_count(value: object, param: str, *, minimum: int) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ValueError(
            f"Invalid value for the '{param}' parameter: expected an integer >= {minimum}, but "
            f"got {value!r} instead."
        )
    return int(value)


def _targets(
    human_maps: Mapping[str, PerImage] | None,
    fixations: Mapping[str, PerImage] | None,
    ids: tuple[Hashable, ...],
    *,
    size: tuple[int, int] | None,
    fixation_shape: tuple[int, int] | None,
) -> list[tuple[str, str, NDArray[np.float64], NDArray[np.float64]]]:
    """(measure, kind, target stack, scale) for every measure, its images in the order ``ids``.

    ``scale`` (n_images,): pixels of the stack per pixel of the data as given
    (human maps resampled to ``size``; 1 for fixations, which are not resampled).
    """
    out = []
    for param, groups in (("human_maps", human_maps), ("fixations", fixations)):
        if groups is None:
            continue
        if isinstance(groups, Mapping):
            _check_nesting(groups, param, ids)
        items, these = _per_image(groups, param)
        for measure, per_image in items.items():
            ordered = _reorder(per_image, these, ids, f"{param}[{measure!r}]", "the ANN maps")
            if param == "human_maps":
                stack, scale = _target_stack(ordered, ids, f"measure {measure!r}", size=size)
                out.append((measure, "map", stack, scale))
            else:
                stack = _fixation_stack(
                    ordered, ids, f"measure {measure!r}", fixation_shape=fixation_shape
                )
                out.append((measure, "fixations", stack, np.ones(len(ids))))
    return out


def _ann_stack(
    items: list[Any], ids: tuple[Hashable, ...], source: str, shape: tuple[int, ...]
) -> NDArray[np.float64]:
    """One source's maps, validated and resampled to the human maps' ``shape``."""
    height, width = int(shape[0]), int(shape[1])
    out = np.empty((len(ids), height, width), dtype=np.float64)
    for k, (item, image_id) in enumerate(zip(items, ids, strict=True)):
        out[k] = resample(_as_map(item, f"source {source!r}, image {image_id!r}"), (height, width))
    return out


def _baseline_maps(
    baseline: ArrayLike | Mapping[Any, ArrayLike] | None, ids: tuple[Hashable, ...]
) -> list[NDArray[np.float64]] | NDArray[np.float64] | None:
    """One baseline map for all images, or one per image in the order ``ids``."""
    if baseline is None:
        return None
    if isinstance(baseline, Mapping):
        missing = [i for i in ids if i not in baseline]
        if missing:
            raise ValueError(
                f"Invalid value for the 'baseline' parameter: no baseline map for the images "
                f"{_first(missing)}."
            )
        return [_as_map(baseline[i], f"baseline, image {i!r}") for i in ids]
    return _as_map(baseline, "baseline")
