"""One trial's view of the runtime: phases counted in frames, responses, images, tracker messages.

A task's ``run_trial(ctx, trial)`` gets a :class:`TrialContext`. Every phase it shows
(:meth:`TrialContext.show`, :meth:`TrialContext.respond`) becomes a ``frames.tsv`` row
with its planned and shown frames, its onset flip and its dropped frames; an image
made with :meth:`TrialContext.image` is announced to the tracker (``!V IMGLOAD``),
and ``image_onset`` / ``image_offset`` are sent on the flips that put it on and take it
off the screen, so a task cannot forget them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eyetracking.protocol import IMAGE_OFFSET, IMAGE_ONSET, ImagePlacement
from eyetracking.screen import Screen

from .display import FrameTiming, Presenter, n_frames
from .responses import Responder, Response, ResponseRequest, make_response

__all__ = ["TrialContext", "image_stim"]


def image_stim(win: Any, pixels: Any, place: ImagePlacement, screen_px: tuple[int, int]) -> Any:
    """A PsychoPy image drawn where ``place`` says, to the pixel.

    Parameters
    ----------
    win : psychopy.visual.Window
        The window (``pix`` units: origin at the centre, y up).
    pixels : ndarray of shape (H, W) or (H, W, 3), uint8
        The image.
    place : ImagePlacement
        Screen pixels, origin top left, y down.
    screen_px : (width, height)
        The window's size.
    """
    from PIL import Image
    from psychopy import visual

    cx, cy = place.center_px
    return visual.ImageStim(
        win,
        image=Image.fromarray(np.asarray(pixels)),
        size=(place.width_px, place.height_px),
        pos=(cx - screen_px[0] / 2.0, screen_px[1] / 2.0 - cy),
        units="pix",
        interpolate=True,
    )


@dataclass
class _Phase:
    name: str
    timing: FrameTiming
    shows_image: bool


@dataclass
class TrialContext:
    """What a task's trial function works with.

    Attributes
    ----------
    win : psychopy.visual.Window
        The window.
    presenter : Presenter
        Frame loops (Escape checked every frame).
    tracker : Tracker
        The session's tracker (recording during the trial).
    responder : Responder
        Who answers (a person, or the simulated participant).
    participant : SimulatedParticipant or None
        The simulated participant, when one takes part (its gaze can be steered).
    screen : Screen
        Display geometry (pixels per degree, size).
    settings : dataclass
        The task's settings.
    stimuli : StimulusSet
        The stimulus set.
    trial : dict
        This trial's schedule entry (``trial_id``, ``block``, ``practice`` and the
        task's fields).
    rng : numpy.random.Generator
        This trial's random stream (seeded by the session seed and the trial id, so a
        resumed session draws alike).
    result_code : int
        ``TRIAL_RESULT`` code sent after the trial (0: finished normally); set it to a
        task-documented code (e.g. 1: no response before the deadline). Code 2 is the
        runtime's: the trial was cut short by Escape (and is not in ``trials.tsv``).
    state : object
        What the task's :attr:`tasks.runtime.task.Task.open_state` yielded (None without).
    seed : int
        The session's seed.
    repeat_at_end : bool
        Set it to run this trial once more at the end of the session (e.g. its frames
        were not shown as planned): :func:`tasks.runtime.run_task` appends a copy of its
        schedule entry with the next free ``trial_id`` and ``repeat_of`` = this trial's
        id to the schedule in ``session.json`` before this trial's row is written, so a
        resume runs it exactly once. Practice trials and repeats are not repeated.
    """

    win: Any
    presenter: Presenter
    tracker: Any
    responder: Responder
    participant: Any
    screen: Screen
    settings: Any
    stimuli: Any
    trial: dict[str, Any]
    rng: np.random.Generator
    result_code: int = 0
    state: Any = None
    seed: int = 0
    repeat_at_end: bool = False
    frames: list[dict[str, Any]] = field(default_factory=list)
    image_onset_s: float = math.nan
    image_onset_tracker_ms: float = math.nan
    image_offset_s: float = math.nan
    _pending: _Phase | None = None
    # the image stimuli by id (kept alive, so that no other stimulus can take an id)
    _image_stims: dict[int, Any] = field(default_factory=dict)
    _image_on: bool = False

    @property
    def refresh_hz(self) -> float:
        """The display's nominal refresh rate (Hz)."""
        return self.presenter.refresh_hz

    @property
    def practice(self) -> bool:
        """Whether this is a practice trial (feedback; not analysed)."""
        return bool(self.trial.get("practice", 0))

    def frames_for(self, seconds: float) -> int:
        """Whole frames nearest ``seconds`` at the display's refresh rate."""
        return n_frames(seconds, self.refresh_hz)

    def deg(self, degrees: float) -> float:
        """Degrees of visual angle in screen pixels (at the screen centre)."""
        return float(degrees) * self.screen.px_per_deg

    # stimuli ---------------------------------------------------------------------------
    def image(
        self,
        image_id: str,
        *,
        scale: float = 1.0,
        pixels: Any = None,
        offset_px: tuple[int, int] = (0, 0),
    ) -> tuple[Any, ImagePlacement]:
        """The image ``image_id`` centred on the screen (or shifted), announced to the tracker.

        Parameters
        ----------
        image_id : str
            Stimulus id.
        scale : float
            Drawn size relative to the image's native pixel size.
        pixels : ndarray of shape (H, W) or (H, W, 3), optional
            What to draw instead of the stored image (e.g. a masked version), at the
            image's size.
        offset_px : (int, int)
            Shift from the centred position in whole screen pixels, ``(x right, y down)``
            (e.g. two images side by side).

        Returns
        -------
        stim : psychopy.visual.ImageStim
            Drawn where ``placement`` says (to the pixel; a screenshot test checks it).
        placement : ImagePlacement
            Screen pixels, origin top left.
        """
        data = self.stimuli.image(image_id) if pixels is None else pixels
        height, width = data.shape[:2]
        place = ImagePlacement.centered(self.screen.size_px, (width, height), scale=scale)
        if offset_px != (0, 0):
            dx, dy = (round(v) for v in offset_px)
            place = dataclasses.replace(place, left_px=place.left_px + dx, top_px=place.top_px + dy)
        stim = image_stim(self.win, data, place, self.screen.size_px)
        self.tracker.log_image(image_id, f"images/{image_id}.png", place)
        self._image_stims[id(stim)] = stim
        return stim, place

    def fixation_cross(self, *, size_deg: float = 0.5) -> Any:
        """A black fixation cross at the screen centre."""
        from psychopy import visual

        return visual.ShapeStim(
            self.win,
            vertices="cross",
            size=round(self.deg(size_deg)),
            fillColor="black",
            lineColor="black",
            units="pix",
        )

    def text(self, text: str, *, height_px: float = 24, y_px: float = 0.0) -> Any:
        """Black text centred on the screen (``y_px`` up from the centre)."""
        from psychopy import visual

        return visual.TextStim(
            self.win,
            text=text,
            color="black",
            height=height_px,
            pos=(0, y_px),
            units="pix",
            wrapWidth=0.8 * self.screen.width_px,
        )

    # phases ----------------------------------------------------------------------------
    def _first_flip(self, stims: Sequence[Any], extra: Sequence[Callable[[], Any]]) -> list[Any]:
        """Callables for the first flip of a phase: image on/off messages, the caller's."""
        shows_image = self._shows_image(stims)
        calls: list[Callable[[], Any]] = []
        if shows_image and not self._image_on:
            calls.append(self._image_onset)
        elif not shows_image and self._image_on:
            calls.append(self._image_offset)
        self._image_on = shows_image
        return [*calls, *extra]

    def _image_onset(self) -> None:
        self.tracker.send_message(IMAGE_ONSET)
        self.image_onset_tracker_ms = self.tracker.time_ms()

    def _image_offset(self) -> None:
        self.tracker.send_message(IMAGE_OFFSET)

    def _close_pending(self, end_s: float, *, image_stays: bool = False) -> None:
        """Write the pending phase's row, ended by the flip at ``end_s``.

        ``image_stays``: the phase starting at ``end_s`` shows the image too, so the
        image did not go off.
        """
        if self._pending is not None:
            row = {"trial_id": self.trial["trial_id"], "phase": self._pending.name}
            self.frames.append({**row, **self._pending.timing.row(end_s)})
            if self._pending.shows_image and not image_stays:
                self.image_offset_s = end_s
            self._pending = None

    def _shows_image(self, stims: Sequence[Any]) -> bool:
        return any(id(s) in self._image_stims for s in stims)

    def _opened(self, name: str, stims: Sequence[Any], timing: FrameTiming) -> None:
        shows_image = self._shows_image(stims)
        if shows_image and math.isnan(self.image_onset_s):
            self.image_onset_s = timing.onset_s
        self._pending = _Phase(name, timing, shows_image)

    def show(
        self,
        phase: str,
        stims: Sequence[Any],
        frames: int,
        *,
        on_first_flip: Sequence[Callable[[], Any]] = (),
    ) -> FrameTiming:
        """Show ``stims`` for exactly ``frames`` frames as the phase ``phase``.

        ``on_first_flip`` callables run on the flip that puts the phase on the screen
        (``win.callOnFlip``): tracker messages and clock readings tied to it.
        """
        if frames <= 0:
            return FrameTiming(flips=np.empty(0), frames_planned=0, frame_s=self.presenter.frame_s)
        calls = self._first_flip(stims, on_first_flip)
        timing = self.presenter.show(stims, frames, on_first_flip=calls)
        self._close_pending(timing.onset_s, image_stays=self._shows_image(stims))
        self._opened(phase, stims, timing)
        return timing

    def respond(
        self,
        phase: str,
        stims: Sequence[Any],
        request: ResponseRequest,
        *,
        max_frames: int | None = None,
        window_frames: int | None = None,
        on_first_flip: Sequence[Callable[[], Any]] = (),
    ) -> Response:
        """Show ``stims`` and collect a response timed from this phase's onset flip.

        Parameters
        ----------
        phase : str
            Name of the phase in ``frames.tsv``.
        stims : sequence
            Drawn every frame.
        request : ResponseRequest
            What is asked.
        max_frames : int, optional
            Deadline: without an answer after this many frames the phase ends with
            no response (``answered=False``). None: wait for the answer.
        window_frames : int, optional
            A fixed response window of this many frames instead (Geirhos et al.
            2018): the phase always lasts the window, the last answer in it counts,
            and none gives ``answered=False``.
        """
        if max_frames is not None and window_frames is not None:
            raise ValueError("Give max_frames (a deadline) or window_frames, not both.")
        for name, value in (("max_frames", max_frames), ("window_frames", window_frames)):
            if value is not None and (isinstance(value, bool) or int(value) != value or value < 1):
                raise ValueError(
                    f"respond(): {name} must be a whole number of frames >= 1 (or None), "
                    f"got {value!r}."
                )
        # a click's image pixels come from the placement's image size (ImagePlacement.centered)
        image_size = None
        calls = self._first_flip(stims, on_first_flip)
        limit = window_frames if window_frames is not None else max_frames
        presenter = self.presenter
        flips: list[float] = []
        answer: Response | None = None
        onset = math.nan
        while limit is None or len(flips) < limit:
            for stim in stims:
                stim.draw()
            if not flips:
                for call in calls:
                    self.win.callOnFlip(call)
            now = presenter.flip()
            flips.append(now)
            if len(flips) == 1:
                onset = now
                self._close_pending(onset, image_stays=self._shows_image(stims))
                self.responder.begin(request, onset)
            presenter.check_escape()
            answered = False
            # every answer given since the last frame: the first ends a deadline phase,
            # the last one in a fixed window counts
            while (raw := self.responder.poll(now)) is not None:
                made = make_response(request, raw, onset, image_size)
                if made is not None:
                    answer, answered = made, True
                    if window_frames is None:
                        break
            if answered and window_frames is None:
                break
        # a fixed window and a deadline that passed were planned to last ``limit`` frames;
        # a phase that the answer ended, the frames up to it
        ended_by_answer = window_frames is None and answer is not None
        planned = len(flips) if limit is None or ended_by_answer else limit
        timing = FrameTiming(
            flips=np.asarray(flips), frames_planned=planned, frame_s=presenter.frame_s
        )
        self._opened(phase, stims, timing)
        return answer if answer is not None else Response.none(request, onset)

    def feedback(self, text: str, *, seconds: float = 1.0) -> FrameTiming:
        """Show feedback text (practice trials) as the phase ``feedback``."""
        return self.show("feedback", [self.text(text)], self.frames_for(seconds))

    def end(self) -> float:
        """Clear the screen with one flip, ending the trial's last phase; returns its time.

        The flip takes the image off (``image_offset``) when the last phase showed it.
        """
        calls = self._first_flip([], [])
        for call in calls:
            self.win.callOnFlip(call)
        stamp = self.presenter.flip()
        self._close_pending(stamp)
        return stamp
