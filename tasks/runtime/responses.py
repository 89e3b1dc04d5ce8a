"""Responses timed from the flip that shows what is answered: keys, clicks, ratings, choices.

A task asks for a response with a :class:`ResponseRequest`; the trial's frame loop
(:meth:`tasks.runtime.TrialContext.respond`) draws the stimuli every frame and polls
the participant, a :class:`Responder`: :class:`PersonResponder` reads PsychoPy's
keyboard and mouse, :class:`tasks.runtime.SimulatedParticipant` answers from its
model. Reaction times are the answer's own time stamp (the key-down time of the
keyboard event, the time of the click) minus the onset flip of the phase that shows
what is answered, never the start of a loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from eyetracking.protocol import ImagePlacement

__all__ = [
    "RESPONSE_KINDS",
    "Answer",
    "PersonResponder",
    "Responder",
    "Response",
    "ResponseRequest",
    "to_image_pixel",
]

#: Kinds of response a task can ask for.
RESPONSE_KINDS = ("keys", "click", "rating", "choice")


@dataclass(frozen=True)
class ResponseRequest:
    """What a phase asks of the participant.

    Attributes
    ----------
    kind : {"keys", "click", "rating", "choice"}
        ``"keys"``: one of ``keys``; ``"click"``: a mouse click, anywhere or on the
        image at ``placement``; ``"rating"``: a point of ``options`` (labels, lowest
        first) by number key ``1..n`` or by a click on its box; ``"choice"``: one of
        ``options`` by a click on its box (or key ``1..n``).
    keys : tuple of str
        Keys that answer (``"keys"``), in PsychoPy's key names.
    placement : ImagePlacement or None
        The image on the screen: clicks are also given in its pixels.
    image_id : str or None
        The image answered about (for the simulated participant and the records).
    options : tuple of str
        Labels of the rating points or of the choices.
    boxes : tuple of (left, top, width, height)
        Screen-pixel boxes (origin top left) a click selects option ``i`` in; a click
        outside every box is ignored. Empty: options by key only.
    correct : object
        The right answer when there is one (a key name, an option index), for the
        simulated participant's model and for feedback.
    evidence : float or None
        How much the stimulus supports the right answer, 0 (none: chance) to 1
        (all), as the task's documented response model computes it from the planted
        map; the simulated participant's accuracy and ratings follow it.
    target : ndarray of shape (H, W) or None
        Where a simulated click falls, as a non-negative map in image pixels (e.g. the
        searched object's region); None: the planted map of ``image_id``.
    purpose : str
        What the response is for (``"continue"``, ``"report"``, ``"locate"``...): shown
        in the records, and ``"continue"`` tells the simulated participant to go on.
    """

    kind: Literal["keys", "click", "rating", "choice"]
    keys: tuple[str, ...] = ()
    placement: ImagePlacement | None = None
    image_id: str | None = None
    options: tuple[str, ...] = ()
    boxes: tuple[tuple[float, float, float, float], ...] = ()
    correct: Any = None
    evidence: float | None = None
    target: NDArray[np.float64] | None = field(default=None, compare=False, repr=False)
    purpose: str = ""

    def __post_init__(self) -> None:
        if self.kind not in RESPONSE_KINDS:
            raise ValueError(
                f"Invalid value for the 'kind' parameter. Allowed values are "
                f"{list(RESPONSE_KINDS)}, but got {self.kind!r} instead."
            )
        if self.kind == "keys" and not self.keys:
            raise ValueError("A 'keys' response needs the keys that answer (keys=...).")
        if self.kind in ("rating", "choice") and len(self.options) < 2:
            raise ValueError(f"A {self.kind!r} response needs two or more options.")
        if self.boxes and len(self.boxes) != len(self.options):
            raise ValueError(
                f"boxes: one box per option expected ({len(self.options)}), got {len(self.boxes)}."
            )

    @property
    def option_keys(self) -> tuple[str, ...]:
        """The number keys that pick an option (``"1"`` ... ``"n"``, n <= 9)."""
        return tuple(str(i + 1) for i in range(min(len(self.options), 9)))


@dataclass(frozen=True)
class Answer:
    """A raw answer as a responder gives it.

    Attributes
    ----------
    time_s : float
        When it was given, on the experiment clock (s): the key-down time, the click.
    key : str or None
        The key pressed.
    x_px, y_px : float or None
        Where the mouse was clicked, screen pixels (origin top left, y down).
    """

    time_s: float
    key: str | None = None
    x_px: float | None = None
    y_px: float | None = None


@dataclass(frozen=True)
class Response:
    """A response, timed from the onset flip of the phase that showed what is answered.

    Attributes
    ----------
    kind : str
        The request's kind.
    value : object
        The key (``"keys"``), the option index from 0 (``"rating"``, ``"choice"``),
        or None (``"click"``; and when there was no answer).
    rt_s : float
        Reaction time (s) from the onset flip; NaN without an answer.
    onset_s : float
        The onset flip, experiment clock (s).
    x_px, y_px : float or None
        The click in screen pixels (origin top left, y down).
    image_x_px, image_y_px : int or None
        The click in image pixels (origin top left; integer = pixel centre), None
        without a click or off the image.
    answered : bool
        Whether an answer came before the deadline.
    """

    kind: str
    value: Any
    rt_s: float
    onset_s: float
    x_px: float | None = None
    y_px: float | None = None
    image_x_px: int | None = None
    image_y_px: int | None = None
    answered: bool = True

    @classmethod
    def none(cls, request: ResponseRequest, onset_s: float) -> Response:
        """No answer within the response window."""
        return cls(request.kind, None, math.nan, onset_s, answered=False)


class Responder(Protocol):
    """Who answers: a person at the keyboard and mouse, or a simulated participant."""

    simulated: bool

    def begin(self, request: ResponseRequest, onset_s: float) -> None:
        """A response window opens; ``onset_s`` is the onset flip (experiment clock, s)."""

    def poll(self, now_s: float) -> Answer | None:
        """The answer given since the last poll, if any (called once per frame)."""


def to_image_pixel(
    placement: ImagePlacement, x_px: float, y_px: float, image_size_px: tuple[int, int]
) -> tuple[int, int] | None:
    """The image pixel (column, row) under a screen point, or None off the image.

    Parameters
    ----------
    placement : ImagePlacement
        Where the image is drawn (screen pixels, origin top left).
    x_px, y_px : float
        The screen point; integer coordinates are pixel centres.
    image_size_px : (width, height)
        The image's own size in pixels.

    Returns
    -------
    (int, int) or None
        ``(x, y)`` in image pixels (integer = pixel centre, origin top left).
    """
    width, height = image_size_px
    # screen pixel j covers [j - 0.5, j + 0.5); the drawn image spans
    # [left - 0.5, left - 0.5 + width_px) and image pixel i spans [i - 0.5, i + 0.5) * scale
    u = (x_px - (placement.left_px - 0.5)) * width / placement.width_px
    v = (y_px - (placement.top_px - 0.5)) * height / placement.height_px
    if not (0 <= u < width and 0 <= v < height):
        return None
    return math.floor(u), math.floor(v)


def option_at(request: ResponseRequest, x_px: float, y_px: float) -> int | None:
    """The option whose box holds the screen point, or None."""
    for index, (left, top, width, height) in enumerate(request.boxes):
        if left <= x_px < left + width and top <= y_px < top + height:
            return index
    return None


class PersonResponder:
    """A person: PsychoPy's keyboard (Psychtoolbox key-down times) and mouse.

    Parameters
    ----------
    win : psychopy.visual.Window
        The window (mouse positions are read in it).
    keyboard : psychopy.hardware.keyboard.Keyboard
        The keyboard the presenter reads Escape from.
    """

    simulated = False

    def __init__(self, win: Any, keyboard: Any) -> None:
        from psychopy import event

        self.win = win
        self.keyboard = keyboard
        self.mouse = event.Mouse(win=win, visible=True)
        self._request: ResponseRequest | None = None
        self._onset = 0.0
        self._was_down = False

    def begin(self, request: ResponseRequest, onset_s: float) -> None:
        """Clear what was pressed before the onset flip."""
        self._request, self._onset = request, onset_s
        self.keyboard.clearEvents()
        self._was_down = bool(self.mouse.getPressed()[0])
        self.win.mouseVisible = request.kind in ("click", "rating", "choice")

    def poll(self, now_s: float) -> Answer | None:
        """A key of the request, or a left click (on its release edge), since the last frame."""
        request = self._request
        if request is None:
            return None
        keys = request.keys if request.kind == "keys" else request.option_keys
        if keys:
            for key in self.keyboard.getKeys(keyList=list(keys), waitRelease=False):
                # key.tDown is the key-down time on the Psychtoolbox clock, the clock of
                # win.flip() time stamps: the reaction time does not depend on the frame rate
                return Answer(time_s=float(key.tDown), key=str(key.name))
        if request.kind in ("click", "rating", "choice"):
            down = bool(self.mouse.getPressed()[0])
            clicked = down and not self._was_down
            self._was_down = down
            if clicked:
                x, y = self.mouse.getPos()
                width, height = self.win.size
                # PsychoPy pix units: origin at the centre, y up
                return Answer(time_s=now_s, x_px=x + width / 2.0, y_px=height / 2.0 - y)
        return None


def make_response(
    request: ResponseRequest,
    answer: Answer,
    onset_s: float,
    image_size_px: tuple[int, int] | None,
) -> Response | None:
    """Turn a raw answer into a :class:`Response`; None when it does not answer the request
    (a click outside every option box)."""
    rt = answer.time_s - onset_s
    if request.kind == "keys":
        return Response("keys", answer.key, rt, onset_s)
    if request.kind in ("rating", "choice"):
        if answer.key is not None:
            index = int(answer.key) - 1
        elif answer.x_px is not None and answer.y_px is not None:
            found = option_at(request, answer.x_px, answer.y_px)
            if found is None:
                return None
            index = found
        else:
            return None
        return Response(request.kind, index, rt, onset_s, answer.x_px, answer.y_px)
    if answer.x_px is None or answer.y_px is None:
        return None
    pixel = None
    if request.placement is not None and image_size_px is not None:
        pixel = to_image_pixel(request.placement, answer.x_px, answer.y_px, image_size_px)
    return Response(
        "click",
        None,
        rt,
        onset_s,
        answer.x_px,
        answer.y_px,
        None if pixel is None else pixel[0],
        None if pixel is None else pixel[1],
    )


def option_boxes(
    screen_px: tuple[int, int], n: int, *, y_px: float, width_px: float, height_px: float
) -> tuple[tuple[float, float, float, float], ...]:
    """``n`` equal boxes side by side, centred on the screen at height ``y_px``.

    Returns
    -------
    tuple of (left, top, width, height)
        Screen pixels, origin top left.
    """
    total = n * width_px
    left = screen_px[0] / 2.0 - total / 2.0
    return tuple(
        (left + i * width_px, y_px - height_px / 2.0, width_px, height_px) for i in range(n)
    )


def option_stims(
    win: Any, request: ResponseRequest, screen_px: tuple[int, int], *, text_height_px: float
) -> list[Any]:
    """PsychoPy stimuli drawing each option's box and label (and its key number)."""
    from psychopy import visual

    stims: list[Any] = []
    for index, (label, (left, top, width, height)) in enumerate(
        zip(request.options, request.boxes, strict=True)
    ):
        cx = left + width / 2.0 - screen_px[0] / 2.0
        cy = screen_px[1] / 2.0 - (top + height / 2.0)
        stims.append(
            visual.Rect(
                win,
                width=width - 6,
                height=height,
                pos=(cx, cy),
                units="pix",
                lineColor="black",
                fillColor=None,
            )
        )
        stims.append(
            visual.TextStim(
                win,
                text=f"{index + 1}\n{label}",
                pos=(cx, cy),
                units="pix",
                height=text_height_px,
                color="black",
                wrapWidth=width - 10,
            )
        )
    return stims


def answer_options(labels: Sequence[str]) -> tuple[str, ...]:
    """Option labels as a tuple of text (for a request)."""
    return tuple(str(label) for label in labels)
