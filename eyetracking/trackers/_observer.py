"""The simulated participant: priority maps and oculomotor habits, validated once."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._gaze import GazeParams

__all__ = ["SimulatedObserver", "check_number", "invalid_value"]


def invalid_value(name: str, allowed: str, value: object) -> ValueError:
    """The error for a bad option, naming the parameter, what is allowed and what was given."""
    return ValueError(
        f"Invalid value for the '{name}' parameter. Allowed values are {allowed}, "
        f"but got {value!r} instead."
    )


def check_number(
    name: str, value: object, *, low: float, strict: bool, high: float = math.inf
) -> float:
    """``value`` as a float, if a finite real above ``low`` (or at it, unless ``strict``)."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    v = float(value) if ok else math.nan  # type: ignore[arg-type]
    if not (math.isfinite(v) and (v > low if strict else v >= low) and v <= high):
        bound = f"{'>' if strict else '>='} {low:g}" + (
            f" and <= {high:g}" if high < math.inf else ""
        )
        raise invalid_value(name, f"finite numbers {bound}", value)
    return v


class SimulatedObserver:
    """Where a simulated participant looks: one priority map per image, plus oculomotor habits.

    Parameters
    ----------
    priority_maps : mapping of str to array_like of shape (M, N)
        For each stimulus id, a non-negative map covering the whole image
        (row 0 at the top); fixation targets are drawn with probability
        proportional to it. Maps are usually at the image's native size; a
        map of another size is stretched over the drawn image.
    center_bias : float
        Share of fixations drawn from the central Gaussian instead of the map,
        in [0, 1].
    center_bias_sigma_deg : float
        SD of that isotropic Gaussian around the image centre, in degrees.
    mean_fixation_ms : float
        Mean fixation duration (gamma distributed; see :mod:`eyetracking.trackers._gaze`).
    fixation_shape : float
        Shape of the gamma distribution (SD = mean / sqrt(shape)).
    noise_deg : float
        Measurement noise, SD per axis in degrees.
    drift_deg : float
        Fixational drift, per-axis SD of the random walk after 1 s, in degrees.
    blink_rate_hz : float
        Mean blink rate.
    mean_blink_ms : float
        Mean time the signal is lost in a blink.
    pupil_area : float
        Typical pupil area (EyeLink's arbitrary units; 800-1200 is common).

    Notes
    -----
    The planted maps are read-only once made; :meth:`priority` returns them
    normalised to sum 1, as read-only arrays. :meth:`focus` replaces an image's
    priority for a while (a cued search: the gaze then goes to the target's region)
    and leaves the planted map as it was (:meth:`planted`).
    """

    __slots__ = ("_focus", "_maps", "_params", "_pupil_area")

    def __init__(
        self,
        priority_maps: Mapping[str, ArrayLike],
        *,
        center_bias: float = 0.3,
        center_bias_sigma_deg: float = 3.0,
        mean_fixation_ms: float = 250.0,
        fixation_shape: float = 4.0,
        noise_deg: float = 0.03,
        drift_deg: float = 0.1,
        blink_rate_hz: float = 0.2,
        mean_blink_ms: float = 120.0,
        pupil_area: float = 1000.0,
    ) -> None:
        if not isinstance(priority_maps, Mapping):
            raise TypeError(
                "priority_maps must be a mapping of image id to 2-D array, "
                f"got {type(priority_maps).__name__}"
            )
        self._maps = {str(k): _normalised_map(k, v) for k, v in priority_maps.items()}
        self._focus: dict[str, NDArray[np.float64]] = {}
        self._params = GazeParams(
            mean_fixation_ms=check_number("mean_fixation_ms", mean_fixation_ms, low=0, strict=True),
            fixation_shape=check_number("fixation_shape", fixation_shape, low=0, strict=True),
            center_bias=check_number("center_bias", center_bias, low=0, strict=False, high=1),
            center_bias_sigma_deg=check_number(
                "center_bias_sigma_deg", center_bias_sigma_deg, low=0, strict=True
            ),
            noise_deg=check_number("noise_deg", noise_deg, low=0, strict=False),
            drift_deg=check_number("drift_deg", drift_deg, low=0, strict=False),
            blink_rate_hz=check_number("blink_rate_hz", blink_rate_hz, low=0, strict=False),
            mean_blink_ms=check_number("mean_blink_ms", mean_blink_ms, low=0, strict=True),
        )
        self._pupil_area = check_number("pupil_area", pupil_area, low=0, strict=True)

    @property
    def image_ids(self) -> tuple[str, ...]:
        """The ids that have a priority map."""
        return tuple(self._maps)

    @property
    def params(self) -> GazeParams:
        """The gaze-model parameters."""
        return self._params

    @property
    def pupil_area(self) -> float:
        """Typical pupil area."""
        return self._pupil_area

    def priority(self, image_id: str) -> NDArray[np.float64]:
        """Where the gaze goes on ``image_id`` now: its focus (:meth:`focus`) or its planted
        map; shape (M, N), summing to 1 (read-only)."""
        if image_id in self._focus:
            return self._focus[image_id]
        return self.planted(image_id)

    def focus(self, image_id: str, priority: ArrayLike | None) -> None:
        """Let the gaze on ``image_id`` follow ``priority`` (non-negative, any size, stretched
        over the image) until the next call; None returns it to the planted map."""
        if priority is None:
            self._focus.pop(str(image_id), None)
            return
        self.planted(image_id)  # a known image
        self._focus[str(image_id)] = _normalised_map(str(image_id), priority)

    def planted(self, image_id: str) -> NDArray[np.float64]:
        """The planted priority map of ``image_id``, shape (M, N), summing to 1 (read-only)."""
        try:
            return self._maps[image_id]
        except KeyError:
            shown = ", ".join(repr(k) for k in list(self._maps)[:5])
            more = ", ..." if len(self._maps) > 5 else ""
            raise KeyError(
                f"The simulated observer has no priority map for image {image_id!r}; "
                f"it has {len(self._maps)}: {shown}{more}"
            ) from None

    def parameters(self) -> dict[str, Any]:
        """The parameters, for ``session.json``."""
        return {
            **{k: getattr(self._params, k) for k in self._params.__dataclass_fields__},
            "pupil_area": self._pupil_area,
            "n_images": len(self._maps),
        }

    def __repr__(self) -> str:
        p = self._params
        return (
            f"SimulatedObserver(<{len(self._maps)} maps>, center_bias={p.center_bias}, "
            f"mean_fixation_ms={p.mean_fixation_ms}, noise_deg={p.noise_deg})"
        )


def _normalised_map(image_id: object, value: ArrayLike) -> NDArray[np.float64]:
    if not isinstance(image_id, str):
        raise TypeError(f"priority_maps keys must be image ids (str), got {image_id!r}")
    arr = np.array(value, dtype=float)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(
            f"The priority map of image {image_id!r} must be a non-empty 2-D array, "
            f"got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"The priority map of image {image_id!r} has non-finite values")
    if np.any(arr < 0):
        raise ValueError(
            f"The priority map of image {image_id!r} has negative values (min {arr.min():g})"
        )
    total = arr.sum()
    if total <= 0:
        raise ValueError(f"The priority map of image {image_id!r} is all zero")
    arr /= total
    arr.setflags(write=False)
    return arr
