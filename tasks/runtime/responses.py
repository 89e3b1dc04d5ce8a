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
    "OptionLayout",
    "PersonResponder",
    "Responder",
    "Response",
    "ResponseRequest",
    "choice_options",
    "make_response",
    "option_boxes",
    "option_stims",
    "rating_scale",
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

    Keys are timed by their own key-down time (``KeyPress.tDown``, Psychtoolbox's
    event queue), on the clock of ``win.flip()`` time stamps, so a reaction time does
    not depend on the frame rate. Clicks are taken from the window's own mouse-press
    events (position of the press itself, every click however short) and timed when
    the window's events are dispatched, which PsychoPy does at the start of every
    flip: a click's time is late by at most one frame (on average half a frame),
    the resolution PsychoPy offers (``Mouse.getPressed(getTime=True)`` is timed the
    same way). A key or click whose time is before the onset flip is discarded, one
    after it is kept even when it came before :meth:`begin`.

    Parameters
    ----------
    win : psychopy.visual.Window
        The window (a pyglet window, as :func:`tasks.runtime.open_window` opens).
    keyboard : psychopy.hardware.keyboard.Keyboard
        The keyboard the presenter reads Escape from.
    """

    simulated = False

    def __init__(self, win: Any, keyboard: Any) -> None:
        from psychopy import logging

        self.win = win
        self.keyboard = keyboard
        self._clock = logging.defaultClock  # the clock win.flip() stamps with
        self._request: ResponseRequest | None = None
        self._onset = 0.0
        self._clicks: list[Answer] = []
        self._queue: list[Answer] = []
        self._seen: set[tuple[str, float]] = set()
        handle = getattr(win, "winHandle", None)
        if handle is None or not hasattr(handle, "push_handlers"):
            raise TypeError(
                "PersonResponder needs a pyglet window (winType='pyglet', as "
                "tasks.runtime.open_window opens), got a window without a pyglet handle."
            )
        self._handle = handle
        handle.push_handlers(on_mouse_press=self._on_mouse_press)

    def _on_mouse_press(self, x: int, y: int, button: int, modifiers: int) -> None:
        if button & 1:  # the left button
            # pyglet's press events: x from the left, y = window height - X11 row, so
            # the screen pixel (origin top left) is (x, height - y)
            height = float(self._handle.height)
            self._clicks.append(Answer(self._clock.getTime(), x_px=float(x), y_px=height - y))

    def close(self) -> None:
        """Stop listening to the window's mouse presses."""
        self._handle.remove_handlers(on_mouse_press=self._on_mouse_press)

    def begin(self, request: ResponseRequest, onset_s: float) -> None:
        """A response window opens at the onset flip ``onset_s``: keep only what follows it."""
        self._request, self._onset = request, onset_s
        self._queue = []
        self._seen = set()
        self._clicks = [c for c in self._clicks if c.time_s >= onset_s]
        visible = request.kind in ("click", "rating", "choice")
        if bool(self.win.mouseVisible) != visible:
            self.win.mouseVisible = visible

    def poll(self, now_s: float) -> Answer | None:
        """The oldest answer (a key of the request, a left click) not yet returned, or None.

        Call it until it returns None to get every answer given since the last frame.
        """
        request = self._request
        if request is None:
            return None
        if not self._queue:
            self._queue = self._collect(request)
        return self._queue.pop(0) if self._queue else None

    def _collect(self, request: ResponseRequest) -> list[Answer]:
        from .display import key_presses

        answers: list[Answer] = []
        keys = request.keys if request.kind == "keys" else request.option_keys
        for key in key_presses(self.keyboard, keys) if keys else []:
            seen = (str(key.name), float(key.tDown))
            if seen in self._seen or float(key.tDown) < self._onset:
                continue  # held and reported already, or pressed before the onset flip
            self._seen.add(seen)
            answers.append(Answer(time_s=float(key.tDown), key=str(key.name)))
        if request.kind in ("click", "rating", "choice"):
            self._handle.dispatch_events()
            answers.extend(c for c in self._clicks if c.time_s >= self._onset)
        self._clicks = []
        return sorted(answers, key=lambda a: a.time_s)


def make_response(
    request: ResponseRequest,
    answer: Answer,
    onset_s: float,
    image_size_px: tuple[int, int] | None = None,
) -> Response | None:
    """Turn a raw answer into a :class:`Response` timed from ``onset_s``.

    Parameters
    ----------
    request : ResponseRequest
        What was asked.
    answer : Answer
        What the responder gave.
    onset_s : float
        The onset flip of the phase that showed what is answered (s).
    image_size_px : (width, height), optional
        The image's own size, for a click in image pixels; default the placement's
        ``image_width_px`` and ``image_height_px`` (its drawn size when absent).

    Returns
    -------
    Response or None
        None when the answer does not answer the request: a key not asked for, a
        click outside every option box, a click for a key request (or a key for a
        click), or an answer timed before the onset flip.
    """
    if not answer.time_s >= onset_s:
        return None
    rt = answer.time_s - onset_s
    if request.kind == "keys":
        if answer.key is None or answer.key not in request.keys:
            return None
        return Response("keys", answer.key, rt, onset_s)
    if request.kind in ("rating", "choice"):
        if answer.key is not None:
            if answer.key not in request.option_keys:
                return None
            index = request.option_keys.index(answer.key)
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
    if request.placement is not None:
        size = image_size_px if image_size_px is not None else _image_size(request.placement)
        pixel = to_image_pixel(request.placement, answer.x_px, answer.y_px, size)
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


def _image_size(place: ImagePlacement) -> tuple[int, int]:
    """The image's own size as the placement records it (its drawn size when absent)."""
    width = place.image_width_px if place.image_width_px is not None else round(place.width_px)
    height = place.image_height_px if place.image_height_px is not None else round(place.height_px)
    return int(width), int(height)


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


@dataclass(frozen=True)
class OptionLayout:
    """Options laid out on the screen: what a rating or choice request needs, and its stimuli.

    Attributes
    ----------
    kind : {"rating", "choice"}
        The request's kind.
    options : tuple of str
        Labels, in order (key ``"1"`` picks the first).
    boxes : tuple of (left, top, width, height)
        Each option's box, screen pixels, origin top left.
    stims : tuple
        PsychoPy stimuli drawing the boxes, labels and key numbers (and the images).
    """

    kind: Literal["rating", "choice"]
    options: tuple[str, ...]
    boxes: tuple[tuple[float, float, float, float], ...]
    stims: tuple[Any, ...] = field(compare=False, repr=False)

    def request(self, **fields: Any) -> ResponseRequest:
        """A :class:`ResponseRequest` for these options (``fields``: the rest of it)."""
        return ResponseRequest(self.kind, options=self.options, boxes=self.boxes, **fields)


def rating_scale(
    win: Any,
    screen_px: tuple[int, int],
    labels: Sequence[str],
    *,
    y_px: float | None = None,
    box_width_px: float | None = None,
    box_height_px: float = 80.0,
    text_height_px: float = 18.0,
) -> OptionLayout:
    """A rating scale of labelled points side by side (keys ``1..n`` or a click on a box).

    Parameters
    ----------
    win : psychopy.visual.Window
        The window.
    screen_px : (width, height)
        The window's size in pixels.
    labels : sequence of str
        The points' labels, lowest first (two or more).
    y_px : float, optional
        Height of the boxes' centres, screen pixels from the top; default 3/4 down.
    box_width_px : float, optional
        Width of each box; default the screen's width shared out, at most 160 px.
    box_height_px, text_height_px : float
        Box height and label text height (pixels).

    Returns
    -------
    OptionLayout
        ``layout.request(...)`` is the rating request; draw ``layout.stims``.
    """
    return _layout(
        "rating", win, screen_px, labels, None, y_px, box_width_px, box_height_px, text_height_px
    )


def choice_options(
    win: Any,
    screen_px: tuple[int, int],
    labels: Sequence[str],
    *,
    images: Sequence[Any] | None = None,
    y_px: float | None = None,
    box_width_px: float | None = None,
    box_height_px: float = 80.0,
    text_height_px: float = 18.0,
) -> OptionLayout:
    """n options to choose among, as words or images side by side (a click, or keys ``1..n``).

    Parameters
    ----------
    win, screen_px, labels, y_px, box_width_px, box_height_px, text_height_px
        As for :func:`rating_scale` (``labels`` are recorded, and drawn under images).
    images : sequence of ndarray of shape (H, W) or (H, W, 3), uint8, optional
        One image per option, drawn in its box (aspect ratio kept).

    Returns
    -------
    OptionLayout
        ``layout.request(...)`` is the choice request; draw ``layout.stims``.
    """
    return _layout(
        "choice", win, screen_px, labels, images, y_px, box_width_px, box_height_px, text_height_px
    )


def _layout(
    kind: Literal["rating", "choice"],
    win: Any,
    screen_px: tuple[int, int],
    labels: Sequence[str],
    images: Sequence[Any] | None,
    y_px: float | None,
    box_width_px: float | None,
    box_height_px: float,
    text_height_px: float,
) -> OptionLayout:
    options = answer_options(labels)
    if len(options) < 2:
        raise ValueError(f"A {kind} needs two or more labels, got {list(options)}.")
    if images is not None and len(images) != len(options):
        raise ValueError(f"images: one per label expected ({len(options)}), got {len(images)}.")
    width = (
        box_width_px if box_width_px is not None else min(160.0, 0.9 * screen_px[0] / len(options))
    )
    if width * len(options) > screen_px[0]:
        raise ValueError(
            f"{len(options)} boxes of {width} px do not fit the screen's {screen_px[0]} px width."
        )
    centre_y = y_px if y_px is not None else 0.75 * screen_px[1]
    boxes = option_boxes(
        screen_px, len(options), y_px=centre_y, width_px=width, height_px=box_height_px
    )
    request = ResponseRequest(kind, options=options, boxes=boxes)
    stims = option_stims(win, request, screen_px, text_height_px=text_height_px)
    if images is not None:  # the boxes (not the labels, the images say it) and the images
        stims = [*stims[::2], *_option_images(win, images, boxes, screen_px, text_height_px)]
    return OptionLayout(kind, options, boxes, tuple(stims))


def _option_images(
    win: Any,
    images: Sequence[Any],
    boxes: Sequence[tuple[float, float, float, float]],
    screen_px: tuple[int, int],
    text_height_px: float,
) -> list[Any]:
    from PIL import Image
    from psychopy import visual

    stims = []
    for pixels, (left, top, width, height) in zip(images, boxes, strict=True):
        data = np.asarray(pixels)
        scale = min((width - 10) / data.shape[1], (height - 10) / data.shape[0])
        cx = left + width / 2.0 - screen_px[0] / 2.0
        cy = screen_px[1] / 2.0 - (top + height / 2.0)
        stims.append(
            visual.ImageStim(
                win,
                image=Image.fromarray(data),
                size=(round(data.shape[1] * scale), round(data.shape[0] * scale)),
                pos=(cx, cy),
                units="pix",
            )
        )
        stims.append(  # the key number above the box
            visual.TextStim(
                win,
                text=str(len(stims) // 2 + 1),
                pos=(cx, cy + height / 2.0 + text_height_px),
                units="pix",
                height=text_height_px,
                color="black",
            )
        )
    return stims
