"""Responses from real input: keys, clicks, ratings and choices sent by xdotool to a real window.

Each test opens the response phase through :meth:`TrialContext.respond` on a real
PsychoPy window under Xvfb, and a background thread sends real X input (``xdotool``)
once the phase's onset flip has happened. Times are checked for consistency with
when the input was sent (after the onset flip, after the sending started, before it
ended plus slack), never against a wall-clock threshold.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from runtime_helpers import DISPLAY, Scripted, Sender, context, flip_clock, window_id

from eyetracking.protocol import ImagePlacement
from tasks.runtime.display import Presenter, open_window
from tasks.runtime.responses import (
    Answer,
    PersonResponder,
    ResponseRequest,
    choice_options,
    make_response,
    rating_scale,
    to_image_pixel,
)

pytestmark = [
    pytest.mark.window,
    pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool sends the real input"),
]

SCREEN = DISPLAY.resolution_px
#: slack for the X server and Psychtoolbox's queue to deliver an event (s): a sanity bound
SLACK_S = 1.0


@pytest.fixture(scope="module")
def rig() -> Iterator[tuple[Any, Presenter, PersonResponder]]:
    with (
        open_window(DISPLAY, windowed=True, check_timing=False) as win,
        Presenter(win, refresh_hz=60, pace=True) as presenter,
    ):
        responder = PersonResponder(win, presenter.keyboard)
        for _ in range(5):
            presenter.flip()
        yield win, presenter, responder
        responder.close()


def _respond(rig: Any, request: ResponseRequest, actions: list[Any], stims=(), **frames: int):
    win, presenter, responder = rig
    ctx = context(win, presenter, responder, {})
    sender = Sender(actions)
    response = ctx.respond(
        "respond", list(stims), request, on_first_flip=[sender.started], **frames
    )
    ctx.end()
    sender.join()
    return ctx, response, sender.sent


def _check_time(response: Any, sent: tuple[float, float]) -> None:
    """The answer's time lies after the sending began, and not long after it ended."""
    assert 0 < response.rt_s < 5
    answer_time = response.onset_s + response.rt_s
    assert sent[0] <= answer_time <= sent[1] + SLACK_S


def test_key_with_a_deadline_is_named_and_timed_by_its_key_down(rig: Any) -> None:
    request = ResponseRequest("keys", keys=("space", "b"))
    ctx, response, sent = _respond(rig, request, [(0.1, ["key", "b"])], max_frames=180)
    assert response.answered and response.value == "b"
    _check_time(response, sent[0])
    row = ctx.frames[0]
    assert row["onset_s"] == round(response.onset_s, 6)
    # the answer ended the phase: planned = shown, and the phase was shorter than the deadline
    assert row["frames_planned"] == row["frames_shown"] < 180


def test_no_key_before_the_deadline_is_no_answer_and_the_phase_lasts_the_deadline(
    rig: Any,
) -> None:
    request = ResponseRequest("keys", keys=("space",))
    # a key that is not asked for does not answer
    ctx, response, _ = _respond(rig, request, [(0.02, ["key", "x"])], max_frames=12)
    assert not response.answered and response.value is None and math.isnan(response.rt_s)
    row = ctx.frames[0]
    assert row["frames_planned"] == row["frames_shown"] == 12
    assert row["nominal_duration_s"] == round(12 / 60, 6)


def test_a_quick_tap_within_one_frame_is_not_lost(rig: Any) -> None:
    """``xdotool key`` presses and releases at once: PsychoPy's ``getKeys(waitRelease=False)``
    alone reports only keys still down and missed it (fixed: held and released keys)."""
    request = ResponseRequest("keys", keys=("space",))
    for _ in range(3):
        _, response, sent = _respond(rig, request, [(0.05, ["key", "space"])], max_frames=120)
        assert response.answered and response.value == "space"
        _check_time(response, sent[0])


def test_a_key_pressed_before_the_onset_flip_is_discarded_one_after_it_kept(rig: Any) -> None:
    """Keys are kept by their own key-down time, not by when begin() runs (begin used to
    clear the keyboard, losing a key pressed between the onset flip and begin)."""
    import subprocess

    from psychopy import core

    _win, presenter, responder = rig
    request = ResponseRequest("keys", keys=("a", "b"))
    subprocess.run(["xdotool", "key", "a"], check=True)
    core.wait(0.2)  # delivered before the onset flip
    onset = presenter.flip()
    subprocess.run(["xdotool", "key", "b"], check=True)
    core.wait(0.2)  # delivered after the onset flip, before begin()
    responder.begin(request, onset)
    answers = []
    for _ in range(30):
        now = presenter.flip()
        while (answer := responder.poll(now)) is not None:
            answers.append(answer)
    assert [a.key for a in answers] == ["b"]
    assert onset < answers[0].time_s < flip_clock()


@pytest.mark.parametrize(
    ("x", "y"),
    [(0, 0), (SCREEN[0] - 1, SCREEN[1] - 1), (130, 100), (287, 11), (5, 250)],
)
def test_a_click_is_at_its_screen_pixel_and_image_pixel(rig: Any, x: int, y: int) -> None:
    win, *_ = rig
    place = ImagePlacement.centered(SCREEN, (80, 60), scale=2.0)  # 160 x 120 at (120, 90)
    assert (place.left_px, place.top_px) == (120, 90)
    request = ResponseRequest("click", placement=place, purpose="locate")
    action = ["mousemove", "--window", window_id(win), str(x), str(y), "click", "1"]
    _, response, sent = _respond(rig, request, [(0.05, action)], max_frames=180)
    assert response.answered and response.kind == "click"
    assert (response.x_px, response.y_px) == (x, y)  # exactly the pixel clicked
    _check_time(response, sent[0])
    # image pixel worked out by hand: screen pixel c covers [c - 0.5, c + 0.5), the image
    # [left - 0.5, left - 0.5 + 160), two screen pixels per image pixel
    inside = 120 <= x < 280 and 90 <= y < 210
    expected = ((x - 120) // 2, (y - 90) // 2) if inside else (None, None)
    assert (response.image_x_px, response.image_y_px) == expected
    assert to_image_pixel(place, x, y, (80, 60)) == (expected if inside else None)


def test_rating_by_number_key_and_by_a_click_on_a_point(rig: Any) -> None:
    win, *_ = rig
    labels = ("not at all", "a little", "somewhat", "much", "very much")
    scale = rating_scale(win, SCREEN, labels, box_width_px=70, box_height_px=60)
    assert scale.options == labels and len(scale.stims) == 2 * len(labels)
    # five boxes of 70 px centred on the 400 px screen: lefts 25, 95, 165, 235, 305
    assert [b[0] for b in scale.boxes] == [25, 95, 165, 235, 305]
    request = scale.request(purpose="rate")
    assert request.kind == "rating" and request.option_keys == ("1", "2", "3", "4", "5")
    _, by_key, sent = _respond(rig, request, [(0.05, ["key", "4"])], scale.stims, max_frames=180)
    assert by_key.answered and by_key.value == 3
    _check_time(by_key, sent[0])
    left, top, width, height = scale.boxes[1]
    x, y = int(left + width / 2), int(top + height / 2)
    click = ["mousemove", "--window", window_id(win), str(x), str(y), "click", "1"]
    _, by_click, sent = _respond(rig, request, [(0.05, click)], scale.stims, max_frames=180)
    assert by_click.answered and by_click.value == 1 and (by_click.x_px, by_click.y_px) == (x, y)
    _check_time(by_click, sent[0])


def test_choice_window_the_last_click_counts_and_the_window_lasts(rig: Any) -> None:
    """Geirhos et al. (2018): a fixed response window; the last click in it counts."""
    win, *_ = rig
    layout = choice_options(win, SCREEN, ("cat", "dog", "car", "boat"), box_width_px=90)
    request = layout.request(purpose="categorise")
    centres = [(int(b[0] + b[2] / 2), int(b[1] + b[3] / 2)) for b in layout.boxes]
    wid = window_id(win)
    actions = [
        (0.05, ["mousemove", "--window", wid, *map(str, centres[2]), "click", "1"]),
        (0.1, ["mousemove", "--window", wid, "2", "2", "click", "1"]),  # outside every box
        (0.1, ["mousemove", "--window", wid, *map(str, centres[0]), "click", "1"]),
    ]
    ctx, response, sent = _respond(rig, request, actions, layout.stims, window_frames=90)
    assert len(sent) == 3  # all sent within the window's 1.5 s
    assert response.answered and response.value == 0
    _check_time(response, sent[2])
    row = ctx.frames[0]
    assert row["frames_planned"] == row["frames_shown"] == 90


def test_choice_window_without_an_answer_is_missing(rig: Any) -> None:
    win, *_ = rig
    layout = choice_options(win, SCREEN, ("cat", "dog"))
    ctx, response, _ = _respond(rig, layout.request(), [], layout.stims, window_frames=10)
    assert not response.answered and response.value is None and math.isnan(response.rt_s)
    assert ctx.frames[0]["frames_shown"] == 10


def test_choice_among_images_by_click(rig: Any) -> None:
    win, *_ = rig
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (40, 60, 3), dtype=np.uint8) for _ in range(3)]
    layout = choice_options(win, SCREEN, ("a", "b", "c"), images=images, box_width_px=100)
    assert len(layout.stims) == 3 * 3  # a box, an image and a key number each
    left, top, _width, _height = layout.boxes[2]
    click = ["mousemove", "--window", window_id(win), str(int(left + 10)), str(int(top + 10))]
    _, response, sent = _respond(
        rig, layout.request(), [(0.05, [*click, "click", "1"])], layout.stims, max_frames=180
    )
    assert response.answered and response.value == 2
    _check_time(response, sent[0])


def test_rt_is_from_the_onset_flip_not_from_when_it_was_polled(rig: Any) -> None:
    """A scripted answer 0.25 s after the onset flip, noticed frames later, has rt 0.25."""
    win, presenter, _ = rig
    responder = Scripted([lambda onset: Answer(time_s=onset + 0.25, key="space")])
    ctx = context(win, presenter, responder, {})
    ctx.show("before", [], 3)
    response = ctx.respond("respond", [], ResponseRequest("keys", keys=("space",)))
    ctx.end()
    assert responder.onsets == [response.onset_s]  # begin() got the phase's onset flip
    assert ctx.frames[1]["onset_s"] == round(response.onset_s, 6)
    # (onset + 0.25) - onset in floating point: 0.25 to the last bits
    assert response.rt_s == pytest.approx(0.25, abs=1e-12)
    # the phase went on until the frame that noticed it: at or after the 0.25 s
    assert ctx.frames[1]["measured_duration_s"] >= 0.25


def test_make_response_refuses_what_does_not_answer() -> None:
    keys = ResponseRequest("keys", keys=("left", "right"))
    assert make_response(keys, Answer(1.0, key="up"), 0.5) is None
    assert make_response(keys, Answer(1.0, x_px=3, y_px=4), 0.5) is None
    assert make_response(keys, Answer(0.4, key="left"), 0.5) is None  # before the onset
    choice = ResponseRequest("choice", options=("a", "b"))
    assert make_response(choice, Answer(1.0, key="space"), 0.5) is None
    assert make_response(choice, Answer(1.0, key="3"), 0.5) is None
    got = make_response(choice, Answer(1.0, key="2"), 0.5)
    assert got is not None and got.value == 1 and got.rt_s == 0.5
    place = ImagePlacement.centered((100, 100), (10, 10), scale=2.0)  # 20 x 20 at (40, 40)
    click = ResponseRequest("click", placement=place)
    made = make_response(click, Answer(1.0, x_px=59.0, y_px=40.0), 0.5)  # image size from place
    assert made is not None and (made.image_x_px, made.image_y_px) == (9, 0)


def test_a_quick_escape_tap_aborts(rig: Any) -> None:
    """Escape pressed and released within a frame ends the session (was missed)."""
    import subprocess

    from psychopy import core

    from tasks.runtime.session import SessionAborted

    _, presenter, _ = rig
    presenter.flip()
    subprocess.run(["xdotool", "key", "Escape"], check=True)
    core.wait(0.1)
    with pytest.raises(SessionAborted):
        presenter.show([], 30)
