"""The smoothing grid of the map comparison: its unit, pixels per degree, and edge warnings."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

__all__: list[str] = []

#: Default candidate smoothings of the ANN maps, Gaussian sigma in pixels of the human maps
#: (used when no ``px_per_deg`` is given).
DEFAULT_SIGMAS_PX = (0.0, 1.0, 2.0, 4.0, 8.0)

#: Default candidate smoothings in degrees of visual angle (used when ``px_per_deg`` is
#: given): from none to 3 degrees, three times the 1-degree kernel of the MIT benchmark.
DEFAULT_SIGMAS_DEG = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)


def _check_sigmas(sigmas: Sequence[float], param: str) -> tuple[float, ...]:
    """Validated smoothing sigmas (finite, non-negative, distinct), ascending."""
    try:
        values = tuple(float(s) for s in sigmas)
    except (TypeError, ValueError):
        raise ValueError(
            f"Invalid value for the '{param}' parameter: expected a sequence of non-negative "
            f"numbers, but got {sigmas!r} instead."
        ) from None
    if not values or not all(np.isfinite(v) and v >= 0 for v in values):
        raise ValueError(
            f"Invalid value for the '{param}' parameter: expected a non-empty sequence of "
            f"finite non-negative numbers (0 = no smoothing), but got {sigmas!r}."
        )
    if len(set(values)) != len(values):
        raise ValueError(
            f"Invalid value for the '{param}' parameter: the sigmas must be distinct, but got "
            f"{sigmas!r}."
        )
    return tuple(sorted(values))


def _grid(
    sigmas_px: Sequence[float] | None,
    sigmas_deg: Sequence[float] | None,
    px_per_deg: object,
) -> tuple[str, tuple[float, ...]]:
    """The unit (``"px"`` or ``"deg"``) and the validated candidate sigmas in that unit."""
    if sigmas_px is not None and sigmas_deg is not None:
        raise ValueError(
            "Give the smoothing grid in one unit: 'smoothing_sigmas_px' (pixels of the human "
            "maps) or 'smoothing_sigmas_deg' (degrees, with 'px_per_deg'), not both."
        )
    if sigmas_deg is not None and px_per_deg is None:
        raise ValueError(
            "The 'smoothing_sigmas_deg' parameter needs 'px_per_deg' (pixels of the human maps "
            "per degree of visual angle: a number, or a dict image id -> number)."
        )
    if sigmas_px is not None and px_per_deg is not None:
        raise ValueError(
            "The 'px_per_deg' parameter converts a grid in degrees ('smoothing_sigmas_deg', by "
            "default DEFAULT_SIGMAS_DEG) to pixels; with 'smoothing_sigmas_px' leave it out."
        )
    if px_per_deg is None:
        grid = DEFAULT_SIGMAS_PX if sigmas_px is None else sigmas_px
        return "px", _check_sigmas(grid, "smoothing_sigmas_px")
    grid = DEFAULT_SIGMAS_DEG if sigmas_deg is None else sigmas_deg
    return "deg", _check_sigmas(grid, "smoothing_sigmas_deg")


def _is_positive(value: object) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and bool(np.isfinite(float(value)))
        and float(value) > 0
    )


def _px_per_deg(px_per_deg: object, ids: tuple[Hashable, ...]) -> NDArray[np.float64]:
    """Pixels per degree of each image, shape (n_images,), in the order ``ids``."""
    expected = (
        "expected a positive number (pixels of the human maps per degree of visual angle) or "
        "a dict image id -> positive number"
    )
    if isinstance(px_per_deg, Mapping):
        missing = [i for i in ids if i not in px_per_deg]
        if missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise ValueError(
                f"Invalid value for the 'px_per_deg' parameter: no value for the images "
                f"{missing[:5]!r}{more}; {expected}."
            )
        bad = [(i, px_per_deg[i]) for i in ids if not _is_positive(px_per_deg[i])]
        if bad:
            raise ValueError(
                f"Invalid value for the 'px_per_deg' parameter: {expected}, but image "
                f"{bad[0][0]!r} has {bad[0][1]!r}."
            )
        return np.array([float(px_per_deg[i]) for i in ids])
    if not _is_positive(px_per_deg):
        raise ValueError(
            f"Invalid value for the 'px_per_deg' parameter: {expected}, but got "
            f"{px_per_deg!r} instead."
        )
    return np.full(len(ids), float(px_per_deg))  # type: ignore[arg-type]


def _unit_text(values: Sequence[float], unit: str) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + f") {unit}"


def _how(unit: str) -> str:
    if unit == "deg":
        return "smoothing_sigmas_deg=..."
    return "smoothing_sigmas_px=..., or smoothing_sigmas_deg=... with px_per_deg"


def _warn_at_edge(
    key: tuple[str, str, str],
    best: NDArray[np.int64],
    sigmas: tuple[float, ...],
    unit: str,
) -> None:
    """Warn when the sigma chosen in some fold is the largest of the grid (or a smallest > 0).

    The best smoothing may then lie beyond the grid. A choice of the smallest
    candidate is a legitimate answer when that candidate is 0 (no smoothing
    can do better than none); when the grid starts above 0 it is an edge too.
    """
    if len(sigmas) < 2:
        return
    source, measure, metric = key
    edges = [(len(sigmas) - 1, "largest", "further")]
    if sigmas[0] > 0:
        edges.append((0, "smallest", "lower (0 = no smoothing)"))
    for index, which, reach in edges:
        n_at = int(np.count_nonzero(best == index))
        if n_at:
            warnings.warn(
                f"compare_maps: for source {source!r}, measure {measure!r}, metric {metric!r} "
                f"the smoothing chosen in {n_at} of {len(best)} folds, sigma = "
                f"{sigmas[index]:g} {unit}, is the {which} of the grid "
                f"{_unit_text(sigmas, unit)}: the best smoothing may lie beyond it; give a grid "
                f"reaching {reach} ({_how(unit)}).",
                UserWarning,
                stacklevel=4,
            )
