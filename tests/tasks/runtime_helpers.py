"""Test helpers for the task runtime: a real window, a recording tracker, real input by xdotool."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tasks.config import DisplayConfig

#: A small windowed display (windowed, no timing check: Xvfb has no vertical sync).
DISPLAY = DisplayConfig(
    resolution_px=(400, 300), fullscreen=False, check_timing=False, pace_flips=True
)


def flip_clock() -> float:
    """Now, on the clock of ``win.flip()`` time stamps (s)."""
    from psychopy import logging

    return float(logging.defaultClock.getTime())


@dataclass
class RecordingTracker:
    """A tracker that records each message with the flip it was sent on (``win._frameTime``)."""

    win: Any
    messages: list[tuple[str, float]] = field(default_factory=list)
    images: list[tuple[str, Any]] = field(default_factory=list)

    def send_message(self, text: str) -> None:
        self.messages.append((text, float(self.win._frameTime)))

    def time_ms(self) -> float:
        return 1000.0 * flip_clock()

    def log_image(self, image_id: str, path: str, placement: Any) -> None:
        self.images.append((image_id, placement))


@dataclass
class Stimuli:
    """The part of a stimulus set a TrialContext reads: images by id."""

    images: dict[str, np.ndarray]

    def image(self, image_id: str) -> np.ndarray:
        return self.images[image_id]


def context(win: Any, presenter: Any, responder: Any, images: dict[str, np.ndarray]) -> Any:
    """A TrialContext on the real window with a recording tracker."""
    from tasks.runtime.trial import TrialContext

    return TrialContext(
        win=win,
        presenter=presenter,
        tracker=RecordingTracker(win),
        responder=responder,
        participant=None,
        screen=DISPLAY.geometry,
        settings=None,
        stimuli=Stimuli(images),
        trial={"trial_id": 1},
        rng=np.random.default_rng(0),
    )


class Sender:
    """Real X input (``xdotool``) from a background thread, once the response phase is on.

    Pass :meth:`started` in ``on_first_flip`` of the phase; each action waits
    ``after_s`` after the previous one (the first after the onset flip), then records
    the flip-clock time just before and just after running ``xdotool``.
    """

    def __init__(self, actions: Sequence[tuple[float, Sequence[str]]]) -> None:
        self.actions = list(actions)
        self.sent: list[tuple[float, float]] = []
        self._on = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def started(self) -> None:
        self._on.set()

    def _run(self) -> None:
        if not self._on.wait(timeout=20):
            return
        for after_s, argv in self.actions:
            threading.Event().wait(after_s)
            before = flip_clock()
            subprocess.run(["xdotool", *argv], check=True)
            self.sent.append((before, flip_clock()))

    def join(self) -> None:
        self._thread.join(timeout=20)


def window_id(win: Any) -> str:
    """The X window id of a PsychoPy pyglet window (for ``xdotool ... --window``)."""
    return str(win.winHandle._window)


@dataclass
class Scripted:
    """A responder giving scripted answers, each at ``onset + delay`` (on the flip clock)."""

    script: Sequence[Callable[[float], Any]]
    simulated: bool = True
    onsets: list[float] = field(default_factory=list)
    _due: list[Any] = field(default_factory=list)

    def begin(self, request: Any, onset_s: float) -> None:
        self.onsets.append(onset_s)
        self._due = sorted((make(onset_s) for make in self.script), key=lambda a: a.time_s)

    def poll(self, now_s: float) -> Any:
        if self._due and self._due[0].time_s <= now_s:
            return self._due.pop(0)
        return None


def without_tracker(config: Any, **display: Any) -> Any:
    """``config`` run in its lab without a tracker by the simulated participant, on Xvfb.

    The frame grid is kept and the refresh check skipped (no vertical sync); ``display``
    replaces further display settings (e.g. ``resolution_px``, ``fullscreen``).
    """
    import dataclasses

    lab = config.lab
    return dataclasses.replace(
        config,
        lab=dataclasses.replace(
            lab,
            tracker=dataclasses.replace(lab.tracker, kind="none"),
            participant=dataclasses.replace(lab.participant, kind="simulated"),
            display=dataclasses.replace(
                lab.display, pace_flips=True, check_timing=False, **display
            ),
        ),
    )


@dataclass
class ImagesOnly:
    """The part of a stimulus set that a task's ``items`` reads: ids and images."""

    images: dict[str, np.ndarray]

    @property
    def table(self) -> Any:
        import pandas as pd

        return pd.DataFrame({"id": list(self.images)})

    def image(self, image_id: str) -> np.ndarray:
        return self.images[image_id]


@contextlib.contextmanager
def pressing_keys(key: str, *, click: bool = False) -> Iterator[None]:
    """Press ``key`` (and click the left button where the mouse is) every 0.2 s until the block
    ends: a person answering in a test with a real tracker on its dummy connection."""
    stop = threading.Event()

    def press() -> None:
        deadline = time.monotonic() + 90
        while not stop.is_set() and time.monotonic() < deadline:
            subprocess.run(["xdotool", "key", key], check=False)
            if click:
                subprocess.run(["xdotool", "click", "1"], check=False)
            time.sleep(0.2)

    presser = threading.Thread(target=press, daemon=True)
    presser.start()
    try:
        yield
    finally:
        stop.set()
        presser.join()
