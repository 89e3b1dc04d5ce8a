"""The gaze-contingent wait of a trial start, shared by every tracker that has gaze."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ._observer import check_number

__all__ = ["FIXATION_RESULTS", "check_fixation_options", "fixation_result", "wait_loop"]

#: Values of ``result`` in :meth:`Tracker.wait_for_fixation`'s dict.
FIXATION_RESULTS = ("fixated", "timeout", "no samples (dummy mode)", "no tracker")


def check_fixation_options(
    x_px: object, y_px: object, radius_px: object, duration_s: object, timeout_s: object
) -> tuple[float, float, float, float, float]:
    """The options of a fixation wait as floats, or a ValueError naming the bad one."""
    x = check_number("x_px", x_px, low=-math.inf, strict=False)
    y = check_number("y_px", y_px, low=-math.inf, strict=False)
    radius = check_number("radius_px", radius_px, low=0, strict=True)
    duration = check_number("duration_s", duration_s, low=0, strict=False)
    timeout = check_number("timeout_s", timeout_s, low=0, strict=True)
    return x, y, radius, duration, timeout


def fixation_result(
    result: str,
    x_px: float,
    y_px: float,
    radius_px: float,
    duration_s: float,
    timeout_s: float,
    **values: Any,
) -> dict[str, Any]:
    """The result dict of a fixation wait, with every key present."""
    out: dict[str, Any] = {
        "result": result,
        "fixated": result == "fixated",
        "x_px": x_px,
        "y_px": y_px,
        "radius_px": radius_px,
        "duration_s": duration_s,
        "timeout_s": timeout_s,
        "time_to_fixate_s": None,
        "elapsed_s": 0.0,
        "n_frames": 0,
        "n_samples": 0,
    }
    out.update(values)
    return out


def wait_loop(
    win: Any,
    *,
    x_px: float,
    y_px: float,
    radius_px: float,
    duration_s: float,
    timeout_s: float,
    draw: Callable[[], object] | None,
    clock_ms: Callable[[], float],
    gaze: Callable[[float], tuple[float, float, float] | None],
    idle: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Draw and flip each frame until the gaze held within the radius for the duration.

    Parameters
    ----------
    win : psychopy.visual.Window or None
        Flipped once per frame (after ``draw``); None only where ``idle``
        paces the loop instead.
    clock_ms : callable
        The tracker clock, in ms; the wait and its timeout are measured on it,
        from the first flip.
    gaze : callable
        ``gaze(now_ms)`` -> ``(time_ms, x_px, y_px)`` of the newest sample, or
        None when there is no new valid sample (lost signal, blink).
    idle : callable, optional
        Called instead of ``win.flip()`` when ``win`` is None.

    Notes
    -----
    The gaze must stay within ``radius_px`` of the target on every new sample
    from the first one inside it until ``duration_s`` later; one sample outside
    starts the run again, while frames without a new sample (a blink, lost
    signal) neither break nor extend it. ``time_to_fixate_s`` is the time
    from the first flip to the first sample of the run that completed.
    """
    duration_ms, timeout_ms = duration_s * 1000.0, timeout_s * 1000.0
    start: float | None = None
    since: float | None = None
    n_frames = n_samples = 0
    last_t = -math.inf
    while True:
        if draw is not None:
            draw()
        if win is not None:
            win.flip()
        elif idle is not None:
            idle()
        n_frames += 1
        now = clock_ms()
        if start is None:
            start = now
        sample = gaze(now)
        if sample is not None and sample[0] > last_t:
            t, gx, gy = sample
            last_t = t
            n_samples += 1
            if math.hypot(gx - x_px, gy - y_px) <= radius_px:
                since = t if since is None else since
                if t - since >= duration_ms:
                    return fixation_result(
                        "fixated",
                        x_px,
                        y_px,
                        radius_px,
                        duration_s,
                        timeout_s,
                        time_to_fixate_s=max(0.0, (since - start) / 1000.0),
                        elapsed_s=(now - start) / 1000.0,
                        n_frames=n_frames,
                        n_samples=n_samples,
                    )
            else:
                since = None
        if now - start >= timeout_ms:
            return fixation_result(
                "timeout",
                x_px,
                y_px,
                radius_px,
                duration_s,
                timeout_s,
                elapsed_s=(now - start) / 1000.0,
                n_frames=n_frames,
                n_samples=n_samples,
            )
