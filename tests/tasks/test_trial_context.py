"""TrialContext on a real paced window: frames.tsv rows, image on/off messages on their flips."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from runtime_helpers import DISPLAY, Scripted, context

from eyetracking.protocol import IMAGE_OFFSET, IMAGE_ONSET
from tasks.runtime.display import Presenter, open_window
from tasks.runtime.responses import Answer, ResponseRequest

pytestmark = pytest.mark.window

IMAGES = {"pic": np.full((60, 80, 3), 200, dtype=np.uint8)}


@pytest.fixture(scope="module")
def rig() -> Iterator[tuple[Any, Presenter]]:
    with (
        open_window(DISPLAY, windowed=True, check_timing=False) as win,
        Presenter(win, refresh_hz=60, pace=True) as presenter,
    ):
        yield win, presenter


def _no_answer() -> Scripted:
    return Scripted([])


def _check_rows(rows: list[dict[str, Any]], end_s: float) -> None:
    """Planned = shown; each duration is the next onset minus this one (the last: the end)."""
    onsets = [r["onset_s"] for r in rows] + [round(end_s, 6)]
    for row, (onset, following) in zip(rows, itertools.pairwise(onsets), strict=True):
        assert row["frames_planned"] == row["frames_shown"]
        assert row["measured_duration_s"] == pytest.approx(following - onset, abs=2e-6)


def test_phases_rows_and_image_messages_on_their_flips(rig: Any) -> None:
    win, presenter = rig
    responder = Scripted([lambda onset: Answer(onset + 0.05, key="space")])
    ctx = context(win, presenter, responder, IMAGES)
    image, place = ctx.image("pic")
    assert ctx.tracker.images == [("pic", place)]
    ctx.show("fixation", [ctx.fixation_cross()], 3)
    ctx.show("nothing", [], 0)  # zero frames: skipped, no row, no flip
    shown = ctx.show("image", [image], 5)
    response = ctx.respond(
        "respond", [image], ResponseRequest("keys", keys=("space",)), max_frames=60
    )
    blank = ctx.show("blank", [], 2)
    end = ctx.end()
    rows = ctx.frames
    assert [r["phase"] for r in rows] == ["fixation", "image", "respond", "blank"]
    assert [r["frames_shown"] for r in rows[:2] + rows[3:]] == [3, 5, 2]
    _check_rows(rows, end)
    # the image stayed on across "image" and "respond": one onset, one offset
    messages = ctx.tracker.messages
    assert [m for m, _ in messages] == [IMAGE_ONSET, IMAGE_OFFSET]
    assert messages[0][1] == shown.onset_s == ctx.image_onset_s
    assert messages[1][1] == blank.onset_s == ctx.image_offset_s  # was the respond onset
    assert response.answered and rows[2]["onset_s"] == round(response.onset_s, 6)


def test_end_closes_the_last_phase_and_takes_the_image_off(rig: Any) -> None:
    win, presenter = rig
    ctx = context(win, presenter, _no_answer(), IMAGES)
    image, _ = ctx.image("pic")
    ctx.show("image", [image], 4)
    end = ctx.end()
    assert [r["phase"] for r in ctx.frames] == ["image"]
    _check_rows(ctx.frames, end)
    assert ctx.tracker.messages == [(IMAGE_ONSET, ctx.image_onset_s), (IMAGE_OFFSET, end)]
    assert ctx.image_offset_s == end


def test_a_response_phase_ending_the_trial_and_a_deadline(rig: Any) -> None:
    win, presenter = rig
    ctx = context(win, presenter, _no_answer(), IMAGES)
    image, place = ctx.image("pic")
    request = ResponseRequest("click", placement=place, image_id="pic")
    response = ctx.respond("locate", [image], request, max_frames=7)
    end = ctx.end()
    assert not response.answered
    assert ctx.frames[0]["frames_planned"] == ctx.frames[0]["frames_shown"] == 7
    _check_rows(ctx.frames, end)
    assert [m for m, _ in ctx.tracker.messages] == [IMAGE_ONSET, IMAGE_OFFSET]
    assert ctx.tracker.messages[0][1] == response.onset_s


def test_the_image_shown_twice_is_announced_twice(rig: Any) -> None:
    win, presenter = rig
    ctx = context(win, presenter, _no_answer(), IMAGES)
    image, _ = ctx.image("pic")
    first = ctx.show("first", [image], 2)
    gap = ctx.show("gap", [], 2)
    again = ctx.show("again", [image], 2)
    end = ctx.end()
    stamps = [(IMAGE_ONSET, first.onset_s), (IMAGE_OFFSET, gap.onset_s)]
    assert ctx.tracker.messages == [*stamps, (IMAGE_ONSET, again.onset_s), (IMAGE_OFFSET, end)]
    assert ctx.image_onset_s == first.onset_s and ctx.image_offset_s == end


@pytest.mark.parametrize("frames", [{"max_frames": 0}, {"window_frames": -1}, {"max_frames": 2.5}])
def test_a_response_phase_needs_frames(rig: Any, frames: dict[str, Any]) -> None:
    win, presenter = rig
    ctx = context(win, presenter, _no_answer(), IMAGES)
    with pytest.raises(ValueError, match="whole number of frames"):
        ctx.respond("r", [], ResponseRequest("keys", keys=("space",)), **frames)
    assert ctx.frames == []
