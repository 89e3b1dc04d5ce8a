"""Mouse-as-gaze: pilot a task without an eye tracker, writing the simulated tracker's ASC files."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ..protocol import display_coords_message
from ..screen import Screen
from . import _asc_writer as asc
from ._eyelink_setup import check_message
from ._fixation import check_fixation_options, wait_loop
from .base import Tracker

__all__ = ["MouseTracker"]

#: The clock format of the file: 1 ms ticks, as EyeLink at 1000 Hz.
_RATE_HZ = 1000


class MouseTracker(Tracker):
    """The PsychoPy mouse stands for the gaze (one "LEFT" eye); writes an EyeLink-format ASC.

    Samples are taken at the flips the tracker sees, while recording: the
    window is hooked with ``win.callOnFlip`` (the callback registers itself
    again at every flip), so each ``win.flip()`` adds one sample stamped
    with the tracker clock just after the flip. :meth:`poll` adds one by
    hand. Give the window with :meth:`attach`, or through :meth:`calibrate`
    or :meth:`drift_check`, which attach it; a tracker that never saw a window
    records messages only.

    The file has the simulated tracker's layout (``MSG``, ``START``, samples
    ``<time> <x> <y> <pupil> ...``, ``END``), read back by ``read_asc``.
    It holds raw samples only, no parser events (``SFIX``/``EFIX``...):
    samples at the flips are irregular and a hand at rest is not an eye at
    rest, so fixations are left to ``eyetracking.detect_events`` (e.g.
    ``method="idt"``) on the samples read back. The header says ``RATE
    1000.00`` (the clock's 1 ms ticks), not the flip rate; pupil is a
    constant 1000.

    Parameters
    ----------
    screen : Screen
        The display; the mouse position is converted to its pixels (origin
        top-left, y down), assuming the window fills it.
    clock : callable, optional
        Returns seconds; default :func:`time.perf_counter`.
    """

    kind = "mouse"

    def __init__(self, *, screen: Screen, clock: Callable[[], float] | None = None) -> None:
        if not isinstance(screen, Screen):
            raise TypeError(f"screen must be an eyetracking.Screen, got {type(screen).__name__}")
        self.screen = screen
        self._clock = clock if clock is not None else time.perf_counter
        self._fmt = asc.ClockFormat(_RATE_HZ)
        self._file: IO[str] | None = None
        self._path: Path | None = None
        self._closed = False
        self._recording = False
        self._last_tick = -1
        self._win: Any = None
        self._mouse: Any = None
        self._n_samples = 0
        self._latest: tuple[float, float, float] | None = None

    def time_ms(self) -> float:
        """The clock in ms (``clock()`` * 1000)."""
        return self._clock() * 1000.0

    def _write(self, lines: list[str], *, sync: bool = False) -> None:
        if self._file is None:
            raise RuntimeError("The MouseTracker is not open: call open(eye_dir, file_stem) first")
        self._file.write("\n".join(lines) + "\n")
        self._file.flush()
        if sync:
            os.fsync(self._file.fileno())

    def _tick(self) -> int:
        # Strictly increasing, so that two flips within 1 ms do not share a time.
        tick = max(self._fmt.ticks(self.time_ms()), self._last_tick)
        return tick

    def open(self, eye_dir: Path, file_stem: str) -> None:
        """Open ``<eye_dir>/<file_stem>.asc`` (never overwritten) and write ``DISPLAY_COORDS``."""
        if self._file is not None or self._closed:
            raise RuntimeError("This MouseTracker has already opened a file; make a new one")
        self._file, path = asc.open_new(eye_dir, file_stem, owner="the mouse tracker")
        self._path = path
        header = [
            f"** DATE: {time.ctime()}",
            "** TYPE: ASC MOUSE SAMPLE TAGGED",
            "** SOURCE: MOUSE (selectivity MouseTracker: the mouse stands for the gaze)",
            "** RECORDED BY selectivity MouseTracker",
            f"** MOUSE: file {file_stem}, samples at window flips, no parser events",
            "**",
            "",
        ]
        coords = display_coords_message(*self.screen.size_px)
        self._write([*header, asc.message_line(self._fmt, self._tick(), coords)], sync=True)

    def attach(self, win: Any) -> None:
        """Sample the mouse in ``win`` at each of its flips (from now on, while recording).

        Parameters
        ----------
        win : psychopy.visual.Window
            The experiment's window; attaching another replaces it.
        """
        if win is None or win is self._win:
            return
        from psychopy import event

        self._win, self._mouse = win, event.Mouse(win=win)
        win.callOnFlip(self._on_flip, win)

    def _on_flip(self, win: Any) -> None:
        if win is not self._win or self._closed:
            return  # detached: let the hook lapse
        win.callOnFlip(self._on_flip, win)
        if self._recording:
            self.poll()

    def mouse_px(self) -> tuple[float, float]:
        """The mouse position now, in screen pixels (origin top-left, y down, pixel centres)."""
        if self._mouse is None:
            raise RuntimeError("The MouseTracker has no window: call attach(win) first")
        from psychopy.tools.monitorunittools import convertToPix

        pos = self._mouse.getPos()
        px = convertToPix(vertices=[0.0, 0.0], pos=pos, units=self._win.units, win=self._win)
        x, y = (float(v) for v in px)
        # PsychoPy counts pixels up from the bottom row's edge: bottom row 0 is row H-1.
        return x + self.screen.width_px / 2, self.screen.height_px / 2 - 1 - y

    def poll(self) -> tuple[float, float, float] | None:
        """Record one sample of the mouse now (while recording); ``(time_ms, x_px, y_px)``."""
        if not self._recording or self._mouse is None:
            return None
        x, y = self.mouse_px()
        tick = self._tick()
        if tick <= self._last_tick:
            return None
        self._last_tick = tick
        self._n_samples += 1
        self._write([asc.sample_line(self._fmt, tick, [round(x, 1), round(y, 1), 1000.0])])
        self._latest = (float(tick), x, y)
        return self._latest

    def calibrate(self, win: Any) -> dict[str, Any]:
        """Attach ``win``; there is nothing to calibrate (``accepted`` True)."""
        self.attach(win)
        return {
            "calibration_type": None,
            "result": "no result",
            "accepted": True,
            "eyes": {},
            "message": "mouse as gaze: no calibration",
            "result_code": None,
        }

    def drift_check(self, win: Any, x_px: float, y_px: float) -> dict[str, Any]:
        """Attach ``win``; a mouse does not drift: ``result`` ``"skipped"``."""
        self.attach(win)
        return {
            "x_px": round(x_px),
            "y_px": round(y_px),
            "result": "skipped",
            "accepted": True,
            "attempts": 0,
            "recalibrated": False,
            "calibrations": [],
            "eyes": {},
            "offset_deg": None,
            "message": "mouse as gaze: no drift check",
            "result_code": None,
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
        """Wait until the mouse rests on the target (see :meth:`Tracker.wait_for_fixation`).

        Attaches ``win``; recording must be on. The sample taken at each flip
        is the gaze.
        """
        options = check_fixation_options(x_px, y_px, radius_px, duration_s, timeout_s)
        if not self._recording:
            raise RuntimeError("wait_for_fixation needs recording on: call start_recording() first")
        self.attach(win)
        x, y, radius, duration, timeout = options
        return wait_loop(
            win,
            x_px=x,
            y_px=y,
            radius_px=radius,
            duration_s=duration,
            timeout_s=timeout,
            draw=draw,
            clock_ms=self.time_ms,
            gaze=lambda now_ms: self._latest,
        )

    def start_recording(self) -> None:
        """Start a recording block (``START``); flips then add samples."""
        if self._recording:
            raise RuntimeError("Cannot start recording while recording: call stop_recording()")
        tick = self._tick()
        eyes = ("L",)
        self._write(
            [
                asc.message_line(self._fmt, tick, f"RECCFG CR {_RATE_HZ} 0 1 L"),
                asc.message_line(
                    self._fmt,
                    tick,
                    f"GAZE_COORDS 0.00 0.00 {self.screen.width_px - 1:.2f} "
                    f"{self.screen.height_px - 1:.2f}",
                ),
                *asc.start_lines(self._fmt, tick, eyes),
                asc.message_line(self._fmt, tick, f"!MODE RECORD CR {_RATE_HZ} 0 1 L"),
            ]
        )
        self._last_tick = tick
        self._recording = True

    def stop_recording(self) -> None:
        """End the block (``END``); nothing happens when not recording."""
        if not self._recording:
            return
        self._recording = False
        tick = self._tick() + 1
        self._last_tick = tick
        ppd = self.screen.px_per_deg
        res_y = 2.0 * self.screen.distance_cm * math.tan(math.radians(0.5))
        res_y /= self.screen.cm_per_px[1]
        self._write([asc.end_line(self._fmt, tick, ppd, res_y)], sync=True)

    def send_message(self, text: str) -> None:
        """Write ``MSG <time> <text>`` (EyeLink's limits apply)."""
        text = check_message(text)
        tick = self._tick()
        self._last_tick = tick
        self._write([asc.message_line(self._fmt, tick, text)], sync=not self._recording)

    def close(self) -> list[Path]:
        """End the block in progress and close the file; safe to call twice."""
        if self._file is not None:
            try:
                self.stop_recording()
            finally:
                self._file.close()
                self._file, self._closed = None, True
        self._win = self._mouse = None
        return [self._path] if self._path is not None else []

    def settings(self) -> dict[str, Any]:
        """Kind and what the file holds, for ``session.json``."""
        return {
            "kind": self.kind,
            "model": "selectivity MouseTracker (mouse as gaze, EyeLink-format ASC)",
            "samples": "at window flips while recording, no parser events",
            "n_samples": self._n_samples,
            "transfer_failure": None,
        }
