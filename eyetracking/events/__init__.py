"""Detect fixations and saccades in gaze samples (I-VT, I-DT, Engbert-Kliegl), by algorithm name."""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..recording import Recording
from ..screen import Screen
from ._idt import idt
from ._tables import (
    EyeSamples,
    finish,
    fixation_table,
    saccade_table,
    split_segments,
)
from ._velocity import engbert, ivt

__all__ = ["EVENT_DETECTORS", "DetectedEvents", "detect_events"]

#: An event-detection algorithm: ``(x_deg, y_deg, segments, *, sampling_rate_hz, **options)``
#: -> ``(fixations, saccades)``, each an ``(m, 2)`` array of ``[start, stop)`` row indices.
EventDetector = Callable[..., tuple[NDArray[np.intp], NDArray[np.intp]]]

#: Event-detection algorithms by name. Add a function of the same call shape to register one.
EVENT_DETECTORS: dict[str, EventDetector] = {"ivt": ivt, "idt": idt, "engbert": engbert}


class DetectedEvents(NamedTuple):
    """The events found in samples, as tables shaped like ``Recording.fixations``/``.saccades``."""

    fixations: pd.DataFrame
    saccades: pd.DataFrame


def detect_events(
    samples: pd.DataFrame | Recording,
    *,
    method: str = "ivt",
    screen: Screen | None = None,
    px_per_deg: float | None = None,
    sampling_rate_hz: float | None = None,
    eye: str | None = None,
    **options: Any,
) -> DetectedEvents:
    """Detect fixations and saccades in gaze samples, for recordings without parser events.

    Parameters
    ----------
    samples : DataFrame or Recording
        Samples in the long format of ``Recording.samples``: ``time`` (ms),
        ``x``, ``y`` (screen px, NaN where missing), and optionally ``eye``,
        ``pupil`` and ``trial_id``; one eye's samples in time order. A
        :class:`Recording` stands for its ``samples`` (and its sample rate).
    method : {"ivt", "idt", "engbert"}
        A name in :data:`EVENT_DETECTORS`: ``"ivt"`` velocity threshold
        (default 30 deg/s, fixations of at least 60 ms), ``"idt"``
        dispersion threshold (default 1.0 deg over at least 100 ms),
        ``"engbert"`` Engbert & Kliegl's adaptive (micro)saccade detection
        (default lambda 6, saccades of at least 6 ms). See each function for
        its options and references.
    screen : Screen, optional
        Display geometry; positions become degrees with the exact formula per
        axis (:meth:`Screen.px_to_deg`).
    px_per_deg : float, optional
        Instead of ``screen``: a constant pixels per degree (e.g. EyeLink's
        ``RES`` values). One of ``screen`` and ``px_per_deg`` is required.
    sampling_rate_hz : float, optional
        Samples per second; by default the recording's rate, else 1000 over
        the median step of ``time``.
    eye : {"L", "R"}, optional
        Only this eye; by default every eye in ``samples``, each on its own.
        A table without an ``eye`` column is one eye, labelled ``eye`` (or
        ``<NA>``) in the output.
    **options
        Options of the algorithm (e.g. ``velocity_threshold_deg_s``,
        ``dispersion_threshold_deg``, ``threshold_factor``,
        ``min_fixation_duration_ms``).

    Returns
    -------
    DetectedEvents
        ``fixations`` with the columns of ``Recording.fixations`` and
        ``saccades`` with those of ``Recording.saccades``, sorted by start
        time then eye. ``start`` and ``end`` are the times of the first and
        last sample of an event (tracker ms); ``duration`` is
        ``end - start`` plus one sample interval, as EyeLink counts it;
        fixation ``x``, ``y``, ``pupil`` are means over its samples; saccade
        positions are those of its first and last samples,
        ``amplitude_deg`` the distance between them in degrees and
        ``peak_velocity`` the highest central-difference speed (deg/s);
        ``trial_id`` is the trial of the first sample.

    Raises
    ------
    ValueError
        For an unknown method or eye, missing columns, samples out of time
        order, neither or both of ``screen`` and ``px_per_deg``, invalid
        option values, or a recording whose samples are not screen gaze
        (HREF or raw pupil data).
    TypeError
        For an option the method does not take.

    Notes
    -----
    Missing samples (NaN positions, e.g. blinks) and time gaps over 1.5
    sample intervals (e.g. between recording blocks) split the data into
    segments; no event crosses a segment boundary. Binocular samples are
    processed per eye.
    """
    default_rate = None
    table = samples
    if isinstance(samples, Recording):
        _check_gaze(samples)
        table, default_rate = samples.samples, samples.sample_rate_hz
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"Invalid value for the 'samples' parameter: expected a DataFrame or a Recording, "
            f"but got {type(samples).__name__} instead."
        )
    detector, params = _detector(method, options)
    to_deg = _converter(screen, px_per_deg)
    missing = [c for c in ("time", "x", "y") if c not in table.columns]
    if missing:
        raise ValueError(
            f"The samples table lacks the column(s) {missing}; it needs 'time', 'x' and 'y' "
            f"(it has {list(table.columns)})."
        )
    trial_dtype = table["trial_id"].dtype if "trial_id" in table.columns else "Int64"
    rate = sampling_rate_hz if sampling_rate_hz is not None else default_rate
    fixations, saccades = [], []
    for part in _eyes(table, eye):
        s = _eye_samples(part, table, eye, rate)
        if s is None:
            continue
        x_deg, y_deg = to_deg(s.x, s.y)
        fix_runs, sac_runs = detector(
            x_deg, y_deg, s.segments, sampling_rate_hz=1000.0 / s.interval_ms, **params
        )
        fixations.append(fixation_table(s, np.asarray(fix_runs, dtype=np.intp), trial_dtype))
        saccades.append(
            saccade_table(s, np.asarray(sac_runs, dtype=np.intp), x_deg, y_deg, trial_dtype)
        )
    return DetectedEvents(
        finish(fixations, "fixations", trial_dtype), finish(saccades, "saccades", trial_dtype)
    )


def _check_gaze(recording: Recording) -> None:
    blocks = recording.blocks
    if "data_type" not in blocks.columns:
        return
    kinds = blocks["data_type"].dropna()
    other = sorted(set(kinds[kinds != "GAZE"]))
    if other:
        raise ValueError(
            f"The recording holds {'/'.join(other)} samples, not screen gaze in px; event "
            "detection needs GAZE data (convert the EDF with gaze samples, e.g. edf2asc -sg)."
        )


def _detector(method: str, options: dict[str, Any]) -> tuple[EventDetector, dict[str, Any]]:
    if method not in EVENT_DETECTORS:
        raise ValueError(
            f"Invalid value for the 'method' parameter. Allowed values are "
            f"{', '.join(map(repr, EVENT_DETECTORS))}, but got {method!r} instead."
        )
    detector = EVENT_DETECTORS[method]
    allowed = [
        name
        for name, p in inspect.signature(detector).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "sampling_rate_hz"
    ]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(
            f"Invalid option(s) {unknown} for method {method!r}. Allowed options are {allowed}."
        )
    return detector, options


def _converter(
    screen: Screen | None, px_per_deg: float | None
) -> Callable[[NDArray, NDArray], tuple[NDArray, NDArray]]:
    if (screen is None) == (px_per_deg is None):
        raise ValueError(
            "Event detection works in degrees of visual angle: pass exactly one of 'screen' "
            f"(a Screen) and 'px_per_deg' (a number), but got screen={screen!r} and "
            f"px_per_deg={px_per_deg!r}."
        )
    if screen is not None:
        if not isinstance(screen, Screen):
            raise ValueError(
                f"Invalid value for the 'screen' parameter: expected a Screen, but got "
                f"{type(screen).__name__} instead."
            )
        return screen.px_to_deg
    ok = (
        isinstance(px_per_deg, numbers.Real)
        and not isinstance(px_per_deg, bool)
        and np.isfinite(px_per_deg)
        and px_per_deg > 0
    )
    if not ok:
        raise ValueError(
            f"Invalid value for the 'px_per_deg' parameter. Allowed values are a finite number "
            f"> 0, but got {px_per_deg!r} instead."
        )
    scale = float(px_per_deg)  # type: ignore[arg-type]
    return lambda x, y: (x / scale, y / scale)


def _eyes(table: pd.DataFrame, eye: str | None) -> list[pd.DataFrame]:
    if "eye" not in table.columns:
        return [table]
    present = [e for e in pd.unique(table["eye"].dropna())]
    if eye is not None:
        if eye not in present:
            raise ValueError(
                f"Invalid value for the 'eye' parameter. Allowed values are the eyes in the "
                f"samples ({', '.join(map(repr, present))}), but got {eye!r} instead."
            )
        present = [eye]
    return [table[(table["eye"] == e).to_numpy(dtype=bool, na_value=False)] for e in present]


def _floats(column: pd.Series) -> NDArray[np.float64]:
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _eye_samples(
    part: pd.DataFrame, table: pd.DataFrame, eye: str | None, rate: float | None
) -> EyeSamples | None:
    label = part["eye"].iloc[0] if "eye" in table.columns and len(part) else eye
    time = _floats(part["time"])
    steps = np.diff(time)
    if np.any(steps[np.isfinite(steps)] <= 0):
        i = int(np.flatnonzero(steps <= 0)[0])
        raise ValueError(
            f"The samples of eye {label!r} are not in strictly increasing time order (time "
            f"{time[i + 1]} follows {time[i]}); pass one eye's samples in time order, or a table "
            "with an 'eye' column."
        )
    if rate is None:
        finite = steps[np.isfinite(steps)]
        if len(finite) == 0:
            return None
        rate = 1000.0 / float(np.median(finite))
    elif not (isinstance(rate, numbers.Real) and np.isfinite(rate) and rate > 0):
        raise ValueError(
            f"Invalid value for the 'sampling_rate_hz' parameter. Allowed values are a finite "
            f"number > 0, but got {rate!r} instead."
        )
    interval = 1000.0 / float(rate)
    x, y = _floats(part["x"]), _floats(part["y"])
    pupil = _floats(part["pupil"]) if "pupil" in part.columns else np.full(len(part), np.nan)
    trial = part["trial_id"].reset_index(drop=True) if "trial_id" in part.columns else None
    return EyeSamples(
        eye=label if label is not None else pd.NA,
        time=time,
        x=x,
        y=y,
        pupil=pupil,
        trial_id=trial,
        interval_ms=interval,
        segments=split_segments(time, x, y, interval),
    )
