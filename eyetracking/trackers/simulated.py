"""A simulated observer and tracker that write an EyeLink-format ASC file of plausible gaze."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..protocol import IMAGE_OFFSET, IMAGE_ONSET, ImagePlacement, display_coords_message
from ..screen import Screen
from . import _asc_writer as asc
from ._eyelink_setup import check_message, transfer_failure_record
from ._faults import SimulatedFaults
from ._fixation import check_fixation_options, wait_loop
from ._gaze import (
    SACCADE_INTERCEPT_MS,
    SACCADE_MS_PER_DEG,
    GazeBlock,
    GazeParams,
    View,
    simulate_gaze,
)
from ._observer import SimulatedObserver, check_number, invalid_value
from .base import Tracker, TrackerLinkLost, set_aside

__all__ = [
    "CALIBRATION_TYPES",
    "SAMPLE_RATES_HZ",
    "SimulatedFaults",
    "SimulatedObserver",
    "SimulatedTracker",
]

#: Sample rates an EyeLink 1000 Plus records at (2000 Hz with one eye only).
SAMPLE_RATES_HZ = (250, 500, 1000, 2000)
#: EyeLink calibration types.
CALIBRATION_TYPES = ("H3", "HV3", "HV5", "HV9", "HV13")
_EYES = {"LEFT": ("L",), "RIGHT": ("R",), "BOTH": ("L", "R")}
_OFFSET_MESSAGE = re.compile(r"(?:(-?\d+) )?(\S+)")
_LOST = (
    "The link to the (simulated) eye tracker is lost. Finished trials and the data file are "
    "kept; resume the session."
)


def _calibration_targets(
    calibration_type: str, width_px: int, height_px: int
) -> list[tuple[int, int]]:
    """EyeLink's default target positions, in EyeLink's point order.

    Targets span ``calibration_area_proportion 0.88 0.83`` of the screen, and
    the corners of HV9/HV13 are pulled in by ``calibration_corner_scaling
    0.88`` (SR Research's defaults); positions are truncated to whole pixels.
    On a 1024 x 768 screen this gives EyeLink's own HV13 points (512,384),
    (512,65), (512,702), (61,384), (962,384), (115,103), ..., (737,543).
    HV3 is drawn here as a triangle (top centre, lower corners): SR Research
    does not document its layout.
    """
    cx, cy, hx, hy, c = width_px / 2, height_px / 2, 0.44 * width_px, 0.415 * height_px, 0.88
    cross = [(cx, cy), (cx, cy - hy), (cx, cy + hy), (cx - hx, cy), (cx + hx, cy)]
    corners = [(cx + sx * c * hx, cy + sy * c * hy) for sy in (-1, 1) for sx in (-1, 1)]
    inner = [(cx + sx * hx / 2, cy + sy * hy / 2) for sy in (-1, 1) for sx in (-1, 1)]
    points = {
        "H3": [cross[0], cross[3], cross[4]],
        "HV3": [cross[1], (cx - hx, cy + hy), (cx + hx, cy + hy)],
        "HV5": cross,
        "HV9": cross + corners,
        "HV13": cross + corners + inner,
    }[calibration_type]
    return [(int(x), int(y)) for x, y in points]


def _rating(avg_deg: float, max_deg: float) -> str:
    """EyeLink's validation rating thresholds."""
    if avg_deg <= 0.5 and max_deg <= 1.0:
        return "GOOD"
    return "FAIR" if avg_deg <= 1.0 and max_deg <= 1.5 else "POOR"


def _message_texts(lines: list[str]) -> list[str]:
    """The text of the ``MSG`` lines among ``lines``, without ``MSG``, tab and time."""
    return [line.split(" ", 1)[1] for line in lines if line.startswith("MSG\t")]


def _offset(screen: Screen, x: float, y: float, dx: float, dy: float) -> float:
    """Angle between screen points ``(x, y)`` and ``(x + dx, y + dy)``, in degrees."""
    xd, yd = screen.px_to_deg([x, x + dx], [y, y + dy])
    return round(float(np.hypot(xd[1] - xd[0], yd[1] - yd[0])), 2)


class SimulatedTracker(Tracker):
    """An EyeLink stand-in that writes an ASC file of simulated gaze into ``eye_dir``.

    Messages and the ``!CAL``/``DRIFTCORRECT`` lines take EyeLink's form; each
    recording block (``START`` ... ``END``) holds samples and parser events
    generated, at :meth:`stop_recording`, for the whole block from the
    observer: on the screen centre before the ``image_onset`` message and
    after ``image_offset``, on the image logged by :meth:`log_image` in
    between. Messages outside a block are written (flushed and synced) at
    once; messages inside a block are written with it, in time order, so a
    killed process loses at most the block in progress.

    Parameters
    ----------
    screen : Screen
        The display (``DISPLAY_COORDS``, degrees).
    observer : SimulatedObserver, optional
        Drives the gaze. Without it, targets are uniform over each image plus
        the default centre bias (a warning says so).
    sample_rate_hz : {250, 500, 1000, 2000}
        2000 Hz with one eye only, as on an EyeLink 1000 Plus.
    calibration_type : {"H3", "HV3", "HV5", "HV9", "HV13"}
    eye : {"LEFT", "RIGHT", "BOTH"}
    seed : int, optional
        Seed of everything random, clock offset included; without it one is
        drawn, and :meth:`settings` reports it.
    clock : callable, optional
        Returns seconds; default :func:`time.perf_counter`. Tests pass a fake.
    faults : SimulatedFaults, optional
        Failures to simulate (drift checks, calibrations, fixation timeouts,
        link loss, EDF transfer); none by default. Assign ``tracker.faults``
        to inject new ones mid-session (their counts start then).

    Attributes
    ----------
    transfer_failure : dict or None
        After :meth:`close` with ``fail_transfer``: what EyeLink's record
        would hold (see :class:`Tracker`), ``fetch_command`` renaming the
        pending file.

    Notes
    -----
    The tracker clock is a seeded offset of 1e6-9e6 ms (like EyeLink's time
    since boot) plus the elapsed ``clock()``. Messages are stamped with it
    floored to 1 ms (0.5 ms at 2000 Hz); samples fall on multiples of the
    sample interval. Calibration results are random but plausible; the
    simulated gaze itself carries no calibration error.

    The gaze of :meth:`wait_for_fixation` is simulated on its own: the eye
    stays where it last was (the screen centre at first) for one fixation
    duration (gamma, as in the gaze model) plus a main-sequence saccade, then
    holds the target with the observer's measurement noise. The recording
    block's samples still show the screen centre before ``image_onset``.
    """

    kind = "simulated"

    def __init__(
        self,
        *,
        screen: Screen,
        observer: SimulatedObserver | None = None,
        sample_rate_hz: int = 1000,
        calibration_type: str = "HV9",
        eye: str = "LEFT",
        seed: int | None = None,
        clock: Callable[[], float] | None = None,
        faults: SimulatedFaults | None = None,
    ) -> None:
        if not isinstance(screen, Screen):
            raise TypeError(f"screen must be an eyetracking.Screen, got {type(screen).__name__}")
        if observer is not None and not isinstance(observer, SimulatedObserver):
            raise TypeError(
                f"observer must be a SimulatedObserver or None, got {type(observer).__name__}"
            )
        if sample_rate_hz not in SAMPLE_RATES_HZ or isinstance(sample_rate_hz, bool):
            raise invalid_value("sample_rate_hz", str(SAMPLE_RATES_HZ), sample_rate_hz)
        if calibration_type not in CALIBRATION_TYPES:
            raise invalid_value("calibration_type", str(CALIBRATION_TYPES), calibration_type)
        if eye not in _EYES:
            raise invalid_value("eye", str(tuple(_EYES)), eye)
        if eye == "BOTH" and sample_rate_hz == 2000:
            raise ValueError("EyeLink records at 2000 Hz with one eye only; got eye='BOTH'")
        if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
            raise invalid_value("seed", "None or a non-negative integer", seed)
        if faults is not None and not isinstance(faults, SimulatedFaults):
            raise TypeError(f"faults must be a SimulatedFaults or None, got {faults!r}")
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be callable (returning seconds), got {clock!r}")
        if observer is None:
            warnings.warn(
                "SimulatedTracker without an observer: fixations are uniform over each image "
                "plus centre bias",
                stacklevel=2,
            )
        self.screen = screen
        self.observer = observer
        self.sample_rate_hz = int(sample_rate_hz)
        self.calibration_type = calibration_type
        self.eye = eye
        self.seed = int(np.random.SeedSequence(seed).entropy)  # type: ignore[arg-type]
        self._clock = clock if clock is not None else time.perf_counter
        self._clock0 = self._clock()
        self._eyes = _EYES[eye]
        self._fmt = asc.ClockFormat(self.sample_rate_hz)
        self._params = observer.params if observer is not None else GazeParams()
        rng = self._rng(0, 0)
        self._offset_ms = float(rng.integers(1_000_000, 9_000_000))
        vergence = rng.normal(0.0, [0.2, 0.1]) * screen.px_per_deg
        self._eye_offsets = [(0.0, 0.0)] if len(self._eyes) == 1 else [(0.0, 0.0), tuple(vergence)]
        pupil = observer.pupil_area if observer is not None else 1000.0
        self._pupil = list(pupil * rng.uniform(0.9, 1.1, len(self._eyes)))
        self._path: Path | None = None
        self._file: IO[str] | None = None
        self._closed = False
        self._counts = {"calibration": 0, "drift": 0, "block": 0}
        self._image: tuple[str, ImagePlacement] | None = None
        self._shown: tuple[str, ImagePlacement] | None = None
        self._warned: set[str] = set()
        self._rec: dict[str, Any] | None = None
        self._not_before = 0
        self._link_lost = False
        self._gaze_xy = (screen.width_px / 2, screen.height_px / 2)
        self._counts.update(fixation=0)
        self.transfer_failure: dict[str, Any] | None = None
        self.faults = faults if faults is not None else SimulatedFaults()

    @property
    def faults(self) -> SimulatedFaults:
        """The failures simulated from now on; assigning restarts their counts."""
        return self._faults

    @faults.setter
    def faults(self, faults: SimulatedFaults) -> None:
        if not isinstance(faults, SimulatedFaults):
            raise TypeError(f"faults must be a SimulatedFaults, got {faults!r}")
        self._faults = faults
        kinds = ("drift", "calibration", "fixation", "trial", "message")
        self._fault_counts = dict.fromkeys(kinds, 0)

    def _fault(self, kind: str, allowed: int) -> bool:
        """Count one more ``kind`` and say whether it is among the first ``allowed``."""
        self._fault_counts[kind] += 1
        return self._fault_counts[kind] <= allowed

    def _lose_link(self) -> TrackerLinkLost:
        """Lose the link now: the block in progress is written up to here."""
        self._link_lost = True
        self.stop_recording()
        return TrackerLinkLost(_LOST)

    def _rng(self, purpose: int, index: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(purpose, index)))

    def _write(self, lines: list[str]) -> None:
        assert self._file is not None
        self._file.write("\n".join(lines) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def _require_open(self, action: str, *, idle: bool = False) -> None:
        if self._link_lost:
            raise TrackerLinkLost(f"Cannot {action}: {_LOST}")
        if self._file is None:
            state = "closed" if self._closed else "not open: call open(eye_dir, file_stem) first"
            raise RuntimeError(f"Cannot {action}: the SimulatedTracker is {state}")
        if idle and self._rec is not None:
            raise RuntimeError(f"Cannot {action} while recording: call stop_recording() first")

    def _now(self) -> int:
        # Never before the END of the last block, which a block shorter than one
        # sample interval can place a moment in the future.
        return max(self._fmt.ticks(self.time_ms()), self._not_before)

    def time_ms(self) -> float:
        return self._offset_ms + (self._clock() - self._clock0) * 1000.0

    def open(self, eye_dir: Path, file_stem: str) -> None:
        if self._file is not None or self._closed:
            raise RuntimeError("This SimulatedTracker has already opened a file; make a new one")
        self._file, path = asc.open_new(eye_dir, file_stem, owner="the simulated tracker")
        self._path = path
        header = asc.header_lines(
            date=time.ctime(),
            file_stem=file_stem,
            sample_rate_hz=self.sample_rate_hz,
            eye=self.eye,
            seed=self.seed,
        )
        coords = display_coords_message(*self.screen.size_px)
        self._write([*header, asc.message_line(self._fmt, self._now(), coords)])

    def calibrate(self, win: Any) -> dict[str, Any]:
        """Simulate calibration and validation; write EyeLink's ``!CAL`` and ``VALIDATE`` lines.

        Returns
        -------
        dict
            The keys of :meth:`Tracker.calibrate`, equal to what
            ``read_asc`` reads back from the lines written (``calibrations``,
            ``validations``, ``validation_points``); ``message`` holds those
            lines' message texts. With a pending ``calibration_failures``
            fault the validation is ``POOR`` and not accepted.
        """
        self._require_open("calibrate", idle=True)
        rng = self._rng(1, self._counts["calibration"])
        self._counts["calibration"] += 1
        poor = self._fault("calibration", self.faults.calibration_failures)
        targets = _calibration_targets(self.calibration_type, *self.screen.size_px)
        ppd = self.screen.px_per_deg
        centre = (self.screen.width_px / 2, self.screen.height_px / 2)
        results = []
        for _ in self._eyes:
            # A systematic offset shared by the points, and scatter about it.
            bias = rng.normal(0.0, 0.1 * ppd, 2)
            if poor:  # a 2-degree bias: EyeLink rates it POOR
                angle = rng.uniform(0.0, 2.0 * math.pi)
                bias = 2.0 * ppd * np.array([math.cos(angle), math.sin(angle)])
            offsets = np.round(bias + rng.normal(0.0, 0.15 * ppd, (len(targets), 2)), 1)
            errors = [
                _offset(self.screen, x, y, dx, dy)
                for (x, y), (dx, dy) in zip(targets, offsets, strict=True)
            ]
            points = [
                {"x_px": x, "y_px": y, "offset_deg": err, "offset_px": [float(dx), float(dy)]}
                for (x, y), (dx, dy), err in zip(targets, offsets, errors, strict=True)
            ]
            mean_dx, mean_dy = (round(float(v), 1) for v in offsets.mean(axis=0))
            avg, worst = round(float(np.mean(errors)), 2), max(errors)
            results.append(
                {
                    "calibration": "GOOD",
                    "validation": _rating(avg, worst),
                    "error_avg_deg": avg,
                    "error_max_deg": worst,
                    "offset_deg": _offset(self.screen, *centre, mean_dx, mean_dy),
                    "offset_px": [mean_dx, mean_dy],
                    "points": points,
                }
            )
        lines = asc.calibration_lines(
            self._fmt,
            self._now(),
            calibration_type=self.calibration_type,
            eyes=self._eyes,
            results=results,
        )
        self._write(lines)
        names = [asc.EYE_NAMES[e] for e in self._eyes]
        accepted = all(r["validation"] in ("GOOD", "FAIR") for r in results)
        return {
            "calibration_type": self.calibration_type,
            "result": "ok" if accepted else "poor",
            "accepted": accepted,
            "eyes": dict(zip(names, results, strict=True)),
            "message": "\n".join(_message_texts(lines)),
            "result_code": 0 if accepted else 1,
        }

    def drift_check(
        self, win: Any, x_px: float, y_px: float, *, max_attempts: int = 3
    ) -> dict[str, Any]:
        """Simulate SR Research's drift-check loop; write a ``DRIFTCORRECT`` line per eye per try.

        Each try draws an offset per eye (SD 0.15 deg per axis); it is
        accepted when every eye's offset is at most the faults'
        ``max_drift_deg``. A rejected try (a pending ``drift_failures``
        fault) stands for the operator pressing Escape: :meth:`calibrate`
        runs, then the next try, at most ``max_attempts`` tries in all.

        Returns
        -------
        dict
            The keys of :meth:`Tracker.drift_check`, of the last try; the
            ``DRIFTCORRECT`` lines read back through ``read_asc`` as
            ``Recording.drift_checks`` (one row per eye per try).
        """
        self._require_open("drift check", idle=True)
        for name, v in (("x_px", x_px), ("y_px", y_px)):
            check_number(name, v, low=-math.inf, strict=False)
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise invalid_value("max_attempts", "integers >= 1", max_attempts)
        x, y = round(x_px), round(y_px)
        names = [asc.EYE_NAMES[e] for e in self._eyes]
        calibrations: list[dict[str, Any]] = []
        attempts, accepted, lines = 0, False, []
        offsets: list[dict[str, Any]] = []
        while attempts < max_attempts and not accepted:
            attempts += 1
            rng = self._rng(2, self._counts["drift"])
            self._counts["drift"] += 1
            failing = self._fault("drift", self.faults.drift_failures)
            offsets = []
            for _ in self._eyes:
                d = rng.normal(0.0, 0.15 * self.screen.px_per_deg, 2)
                if failing:
                    d = d / max(float(np.hypot(*d)), 1e-9) * self.faults.drift_failure_deg
                    d = d * self.screen.px_per_deg
                dx, dy = (round(float(v), 1) for v in d)
                offsets.append(
                    {"offset_deg": _offset(self.screen, x, y, dx, dy), "offset_px": [dx, dy]}
                )
            lines = asc.drift_correct_lines(
                self._fmt, self._now(), eyes=self._eyes, x_px=x, y_px=y, offsets=offsets
            )
            self._write(lines)
            accepted = all(o["offset_deg"] <= self.faults.max_drift_deg for o in offsets)
            if not accepted and attempts < max_attempts:
                calibrations.append(self.calibrate(win))
        return {
            "x_px": x,
            "y_px": y,
            "result": "ok" if accepted else "failed",
            "accepted": accepted,
            "attempts": attempts,
            "recalibrated": bool(calibrations),
            "calibrations": calibrations,
            "eyes": dict(zip(names, offsets, strict=True)),
            "offset_deg": max(o["offset_deg"] for o in offsets),
            "message": "\n".join(_message_texts(lines)),
            "result_code": 0 if accepted else 1,
        }

    def wait_for_fixation(
        self,
        win: Any,
        x_px: float,
        y_px: float,
        *,
        radius_px: float,
        duration_s: float,
        timeout_s: float,
        draw: Callable[[], object] | None = None,
    ) -> dict[str, Any]:
        """Simulate the gaze-contingent trial start (see :meth:`Tracker.wait_for_fixation`).

        The simulated eye leaves where it was one gamma-distributed fixation
        duration (the observer's ``mean_fixation_ms`` and
        ``fixation_shape``) plus a main-sequence saccade after the first
        flip, then rests on the target with the observer's noise; with a
        pending ``fixation_timeouts`` fault it stays 3 radii off the target
        and the wait times out. Time runs on the tracker clock; with ``win``
        None the loop paces itself at 60 Hz instead of flipping.

        Raises
        ------
        RuntimeError
            If not recording.
        """
        options = check_fixation_options(x_px, y_px, radius_px, duration_s, timeout_s)
        self._require_open("wait for fixation")
        if self._rec is None:
            raise RuntimeError("wait_for_fixation needs recording on: call start_recording() first")
        x, y, radius, duration, timeout = options
        rng = self._rng(4, self._counts["fixation"])
        self._counts["fixation"] += 1
        p = self._params
        ppd = self.screen.px_per_deg
        away = self._fault("fixation", self.faults.fixation_timeouts)
        # A participant who does not look: the eye stays 3 radii off the target.
        end_xy = (x + 3.0 * radius, y) if away else (x, y)
        start_xy = end_xy if away else self._gaze_xy
        distance_deg = math.hypot(end_xy[0] - start_xy[0], end_xy[1] - start_xy[1]) / ppd
        latency_ms = 0.0
        if math.hypot(start_xy[0] - x, start_xy[1] - y) > radius or away:
            dwell = rng.gamma(p.fixation_shape, p.mean_fixation_ms / p.fixation_shape)
            latency_ms = max(p.min_fixation_ms, float(dwell))
            latency_ms += SACCADE_MS_PER_DEG * distance_deg + SACCADE_INTERCEPT_MS
        first: list[float] = []

        def gaze(now_ms: float) -> tuple[float, float, float]:
            if not first:
                first.append(now_ms)
            gx, gy = end_xy if now_ms - first[0] >= latency_ms else start_xy
            nx, ny = rng.normal(0.0, p.noise_deg * ppd, 2)
            return now_ms, gx + float(nx), gy + float(ny)

        result = wait_loop(
            win,
            x_px=x,
            y_px=y,
            radius_px=radius,
            duration_s=duration,
            timeout_s=timeout,
            draw=draw,
            clock_ms=self.time_ms,
            gaze=gaze,
            idle=lambda: time.sleep(1 / 60),
        )
        if result["fixated"] or result["elapsed_s"] * 1000.0 >= latency_ms:
            self._gaze_xy = end_xy
        return result

    def check_link(self) -> None:
        """Raise :class:`TrackerLinkLost` once a simulated link loss happened."""
        if self._link_lost:
            raise TrackerLinkLost(_LOST)

    def start_trial(self, trial_id: int | str) -> None:
        """Send ``TRIALID``, unless the faults lose the link at this trial."""
        self._require_open("start a trial")
        n = self.faults.lose_link_at_trial
        self._fault_counts["trial"] += 1
        if n is not None and self._fault_counts["trial"] == n:
            raise self._lose_link()
        super().start_trial(trial_id)

    def start_recording(self) -> None:
        self._require_open("start recording", idle=True)
        call = self._now()
        iv = self._fmt.interval_ticks
        self._rec = {
            "call": call,
            "first": -(-call // iv) * iv,
            "messages": [],
            "changes": [],
            "shown": self._shown,
        }

    def stop_recording(self) -> None:
        if self._rec is None:
            return
        rec, self._rec = self._rec, None
        iv = self._fmt.interval_ticks
        first = rec["first"]
        last = max(first, self._now() // iv * iv)
        self._not_before = last + round(1.0 / self._fmt.tick_ms)
        lines = [asc.message_line(self._fmt, t, m) for t, m in rec["messages"]]
        try:
            block = self._simulate(first, (last - first) // iv + 1, rec)
            lines = asc.recording_lines(
                self._fmt,
                first_tick=first,
                call_tick=rec["call"],
                eyes=self._eyes,
                block=block,
                messages=rec["messages"],
                screen=self.screen,
            )
        finally:
            self._write(lines)  # on failure, at least the messages reach the file

    def _simulate(self, first: int, n: int, rec: dict[str, Any]) -> GazeBlock:
        iv = self._fmt.interval_ticks

        def index(tick: int) -> int:
            return min(n, max(0, -(-(tick - first) // iv)))

        views: list[View] = []
        shown, since = rec["shown"], 0
        for tick, new in [*sorted(rec["changes"], key=lambda c: c[0]), (None, None)]:
            until = n if tick is None else index(tick)
            if shown is not None and until > since:
                image_id, placement = shown
                prio = self.observer.priority(image_id) if self.observer is not None else None
                views.append(View(since, until, placement, prio))
            shown, since = new, until
        rng = self._rng(3, self._counts["block"])
        self._counts["block"] += 1
        return simulate_gaze(
            n,
            interval_ms=iv * self._fmt.tick_ms,
            screen=self.screen,
            views=views,
            params=self._params,
            rng=rng,
            eye_offsets_px=self._eye_offsets,
            pupil_bases=self._pupil,
        )

    def send_message(self, text: str) -> None:
        self._require_open("send a message")
        # the same limits as EyeLink, so a task that runs simulated also runs in the lab
        text = check_message(text)
        n = self.faults.lose_link_at_message
        self._fault_counts["message"] += 1
        if n is not None and self._fault_counts["message"] == n:
            raise self._lose_link()
        tick = self._now()
        match = _OFFSET_MESSAGE.fullmatch(text)
        if match and match[2] in (IMAGE_ONSET, IMAGE_OFFSET):
            # "-11 image_onset": EyeLink's offset convention, event time = stamp - offset.
            event = tick - round(int(match[1] or 0) / self._fmt.tick_ms)
            self._shown = self._image if match[2] == IMAGE_ONSET else None
            if match[2] == IMAGE_ONSET and self._image is None:
                self._warn_once(
                    "onset",
                    "image_onset before any log_image(): the simulated "
                    "eye stays on the screen centre",
                )
            if self._rec is not None:
                self._rec["changes"].append((event, self._shown))
        if self._rec is not None:
            self._rec["messages"].append((tick, text))
        else:
            self._write([asc.message_line(self._fmt, tick, text)])

    def log_image(self, image_id: str, path: str, placement: ImagePlacement) -> None:
        """Send ``!V IMGLOAD`` and remember the image for the gaze while it is shown."""
        if not isinstance(placement, ImagePlacement):
            raise TypeError(f"placement must be an ImagePlacement, got {placement!r}")
        if self.observer is not None:
            rows, cols = self.observer.priority(image_id).shape
            width, height = placement.native_size_px
            if abs(cols * height - rows * width) > 0.01 * rows * width:
                self._warn_once(
                    f"aspect:{image_id}",
                    (
                        f"The priority map of image {image_id!r} is {rows} x {cols} (rows x cols) "
                        f"but the image is {height} x {width}: the map is stretched over the image"
                    ),
                )
        super().log_image(image_id, path, placement)
        self._image = (image_id, placement)

    def _warn_once(self, key: str, text: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(text, stacklevel=3)

    def close(self) -> list[Path]:
        """Write the block in progress and close the ASC file; safe to call twice.

        After a simulated link loss this raises nothing and keeps the file as
        it stands. With the ``fail_transfer`` fault the file is renamed
        ``<stem>.asc.pending``, :attr:`transfer_failure` says so, and the list
        returned is empty (as EyeLink's, whose EDF stayed on the Host PC).
        """
        if self._file is None:
            return self._local_files()
        try:
            self.stop_recording()
        finally:
            self._file.close()
            self._file, self._closed = None, True
            if self.faults.fail_transfer and self._path is not None:
                self._withhold(self._path)
        return self._local_files()

    def _withhold(self, path: Path) -> None:
        pending = path.with_name(path.name + ".pending")
        os.replace(path, pending)
        self.transfer_failure = transfer_failure_record(
            host_file=path.with_suffix(".EDF").name,
            local_file=path,
            attempts=1,
            error="simulated transfer failure (SimulatedFaults.fail_transfer)",
            address=None,
        )

    def recover_file(self, host_file: str, local: Path) -> Path:
        """The file of an earlier run: ``<local>.pending`` when it was withheld (a cut
        or failed transfer; a partial ``local`` is moved aside), else ``local`` itself,
        which the simulated tracker wrote as the session went (see :meth:`Tracker.recover_file`).
        """
        local = Path(local)
        pending = local.with_name(local.name + ".pending")
        if pending.exists():
            set_aside(local)
            os.replace(pending, local)
            return local
        if local.exists():
            return local
        raise RuntimeError(
            f"The simulated tracker's file {local} (or {pending.name}) is not there: it was "
            "moved or deleted."
        )

    def _local_files(self) -> list[Path]:
        if self._path is None or self.transfer_failure is not None:
            return []
        return [self._path]

    def settings(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model": "selectivity SimulatedTracker (EyeLink-format ASC)",
            "sample_rate_hz": self.sample_rate_hz,
            "eye": self.eye,
            "calibration_type": self.calibration_type,
            "seed": self.seed,
            "clock_offset_ms": self._offset_ms,
            "observer": None if self.observer is None else self.observer.parameters(),
            "faults": dataclasses.asdict(self.faults),
            "link_lost": self._link_lost,
            "transfer_failure": self.transfer_failure,
        }
