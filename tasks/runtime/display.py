"""The PsychoPy window and frame-counted presentation that every task shares."""

from __future__ import annotations

import contextlib
import importlib.util
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import DisplayConfig
from .session import SessionAborted

__all__ = ["FrameTiming", "Presenter", "key_presses", "n_frames", "open_window"]


def n_frames(duration_s: float, refresh_hz: float) -> int:
    """Whole frames nearest ``duration_s`` at ``refresh_hz`` (at least 1 if positive)."""
    if duration_s <= 0:
        return 0
    return max(1, round(duration_s * refresh_hz))


def key_presses(keyboard: Any, keys: Sequence[str]) -> list[Any]:
    """Every press of ``keys`` since the last call, held or already released, oldest first.

    PsychoPy's ``Keyboard.getKeys(waitRelease=False)`` returns only keys that are still
    down when it is called: a key pressed and released within one frame (a quick tap)
    is left out, and ``waitRelease=True`` would report a held key only once released.
    Both are asked for here. A key still held is reported once now and may come back
    (the same press, same ``tDown``) once released: callers that must not count it
    twice remember the presses they have seen.

    Parameters
    ----------
    keyboard : psychopy.hardware.keyboard.Keyboard
        The keyboard.
    keys : sequence of str
        PsychoPy key names.

    Returns
    -------
    list of psychopy.hardware.keyboard.KeyPress
        With ``name`` and ``tDown`` (key-down time on the clock of ``win.flip()``).
    """
    held = keyboard.getKeys(keyList=list(keys), waitRelease=False, clear=True)
    released = keyboard.getKeys(keyList=list(keys), waitRelease=True, clear=True)
    unique = {id(k): k for k in [*held, *released]}
    return sorted(unique.values(), key=lambda k: float(k.tDown))


def _load_triton_before_opengl() -> None:
    """Load triton (torch's kernel compiler), when it is installed, before OpenGL starts.

    Mesa's software renderer (llvmpipe: Xvfb, and PCs without a GPU driver) brings
    its own LLVM; triton's, loaded later in the same process (``import
    torchvision.ops`` does), then crashes it with a segmentation fault. Loaded in
    this order, both work.
    """
    if importlib.util.find_spec("triton") is not None:
        import triton  # noqa: F401


@contextlib.contextmanager
def open_window(
    display: DisplayConfig, *, windowed: bool = False, check_timing: bool = True
) -> Iterator[Any]:
    """Open the PsychoPy window the lab configuration describes, closed on exit.

    Parameters
    ----------
    display : DisplayConfig
        Resolution, screen index, fullscreen and background.
    windowed : bool
        Force a window instead of fullscreen (development and tests).
    check_timing : bool
        Let PsychoPy measure the refresh rate on opening and warn when it differs
        from ``display.refresh_hz`` by more than 5 %. Turn off on virtual displays
        (Xvfb), which have no vertical sync.
    """
    _load_triton_before_opengl()
    from psychopy import visual

    win = visual.Window(
        size=list(display.resolution_px),
        fullscr=display.fullscreen and not windowed,
        screen=display.screen,
        color=list(display.background),
        colorSpace="rgb255",
        units="pix",
        allowGUI=windowed,
        checkTiming=check_timing,
        winType="pyglet",
    )
    try:
        if check_timing:
            measured = win.getActualFrameRate(nIdentical=20, nMaxFrames=120, nWarmUpFrames=10)
            if measured is None:
                warnings.warn(
                    "Could not measure the refresh rate: durations assume "
                    f"{display.refresh_hz} Hz from the lab configuration.",
                    stacklevel=3,
                )
            elif abs(measured - display.refresh_hz) > 0.05 * display.refresh_hz:
                warnings.warn(
                    f"Measured refresh rate {measured:.1f} Hz differs from refresh_hz = "
                    f"{display.refresh_hz} in the lab configuration: fix the configuration or "
                    "the monitor settings, or every duration will be wrong.",
                    stacklevel=3,
                )
        if win.fullscr:
            # (setting it on a window without a window manager, as under Xvfb, moves the
            # keyboard focus away from the window)
            win.mouseVisible = False
        yield win
    finally:
        win.close()


@dataclass
class FrameTiming:
    """Flip times of one presentation phase.

    Attributes
    ----------
    flips : ndarray of shape (n,)
        Experiment-clock time (s) of each flip that showed the phase.
    frames_planned : int
        Frames the phase should have lasted.
    frame_s : float
        Nominal frame duration (s).
    """

    flips: np.ndarray
    frames_planned: int
    frame_s: float

    @property
    def onset_s(self) -> float:
        """Time of the first flip (NaN if no frame was shown)."""
        return float(self.flips[0]) if len(self.flips) else float("nan")

    @property
    def dropped(self) -> int:
        """Frames lost: flip intervals longer than 1.5 frames count as the frames they spanned."""
        if len(self.flips) < 2:
            return 0
        intervals = np.diff(self.flips) / self.frame_s
        return int(np.sum(np.maximum(np.round(intervals) - 1, 0)[intervals > 1.5]))

    def row(self, end_s: float) -> dict[str, Any]:
        """Summary for ``frames.tsv``, ``end_s`` being the flip that ended the phase."""
        return {
            "frames_planned": self.frames_planned,
            "frames_shown": len(self.flips),
            "dropped_frames": self.dropped,
            "onset_s": round(self.onset_s, 6),
            "measured_duration_s": round(end_s - self.onset_s, 6),
            "nominal_duration_s": round(self.frames_planned * self.frame_s, 6),
        }


class Presenter:
    """Draw-and-flip loops counted in frames, with Escape checked on every frame.

    Parameters
    ----------
    win : psychopy.visual.Window
        The window.
    refresh_hz : float
        Nominal refresh rate (from the lab configuration).
    pace : bool
        Wait for each frame's time before flipping. Needed only on displays
        without vertical sync (Xvfb, some virtual machines), where flips return
        at once; with vertical sync the flip itself keeps time, so leave it off.
    keyboard : object, optional
        A ``psychopy.hardware.keyboard.Keyboard``; made here by default.
    """

    def __init__(
        self, win: Any, *, refresh_hz: float, pace: bool = False, keyboard: Any = None
    ) -> None:
        from psychopy import core
        from psychopy.hardware import keyboard as psychopy_keyboard

        self.win = win
        self.frame_s = 1.0 / refresh_hz
        self.refresh_hz = refresh_hz
        self.pace = pace
        self.keyboard = keyboard if keyboard is not None else psychopy_keyboard.Keyboard()
        # PsychoPy shares one keyboard device per process: a queue stopped by an earlier
        # Presenter (an earlier session in the same process) must be started again
        start = getattr(self.keyboard, "start", None)
        if start is not None:
            start()
        self._core = core
        self._last_flip: float | None = None
        self._target: float | None = None
        # keys pressed before this presenter existed (an earlier session in the same
        # process, a key hit while the window opened) are not this session's
        self._started = float(core.getTime())
        clear = getattr(self.keyboard, "clearEvents", None)
        if clear is not None:
            clear()

    def __enter__(self) -> Presenter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the keyboard's event queue (Psychtoolbox runs it in a background thread)."""
        stop = getattr(self.keyboard, "stop", None)
        if stop is not None:
            stop()

    def flip(self) -> float:
        """Flip once; returns the flip time on the experiment clock (s)."""
        if self.pace:
            # keep to a fixed frame grid, so the cost of drawing and flipping does not add up
            now = self._core.getTime()
            target = now if self._target is None else self._target + self.frame_s
            if now > target + self.frame_s:  # fell behind: a dropped frame, as on a real display
                target = now
            if target > now:
                self._core.wait(target - now, hogCPUperiod=min(target - now, 0.002))
            self._target = target
        try:
            stamp = self.win.flip()
        except BaseException:
            # a call registered for this flip failed (the tracker's link lost on an onset
            # message): PsychoPy keeps the calls queued, and the next flip (the message to the
            # experimenter) would run them again; drop them
            pending = getattr(self.win, "_toCall", None)
            if isinstance(pending, list):
                pending.clear()
            raise
        if stamp is None:  # flip timestamps are off in some PsychoPy window setups
            stamp = self._core.getTime()
        self._last_flip = float(stamp)
        return self._last_flip

    def check_escape(self) -> None:
        """Raise :class:`SessionAborted` when Escape was pressed (since the presenter began)."""
        if any(float(k.tDown) >= self._started for k in key_presses(self.keyboard, ["escape"])):
            raise SessionAborted("Escape pressed")

    def show(
        self,
        stims: Sequence[Any],
        n: int,
        *,
        on_first_flip: Sequence[Callable[[], Any]] = (),
    ) -> FrameTiming:
        """Show ``stims`` for ``n`` frames; ``on_first_flip`` callables run on the first flip.

        Each callable is registered with ``win.callOnFlip``, so the tracker messages
        and clock readings it makes are tied to the flip that put the stimulus on
        the screen.
        """
        flips = np.empty(n)
        for i in range(n):
            for stim in stims:
                stim.draw()
            if i == 0:
                for func in on_first_flip:
                    self.win.callOnFlip(func)
            flips[i] = self.flip()
            self.check_escape()
        return FrameTiming(flips=flips, frames_planned=n, frame_s=self.frame_s)

    def wait_keys(self, keys: Sequence[str], stims: Sequence[Any] = ()) -> str:
        """Redraw ``stims`` each frame until one of ``keys`` (or Escape) is pressed."""
        self.keyboard.clearEvents()
        while True:
            for stim in stims:
                stim.draw()
            self.flip()
            for key in key_presses(self.keyboard, [*keys, "escape"]):
                if key.name == "escape":
                    raise SessionAborted("Escape pressed")
                return str(key.name)
