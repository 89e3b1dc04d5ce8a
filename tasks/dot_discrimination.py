"""Dot-shift discrimination: an image with a red dot, a delay, then the dot again: shifted or not?

Each trial (Langlois et al. 2021) shows

1. a **fixation** cross for ``fixation_duration_s``;
2. the **first** display for ``first_duration_s`` (1000 ms): the image with a red dot of
   ``dot_diameter_deg`` at a grid position;
3. a **delay** of ``delay_duration_s`` (1000 ms): the blank background
   (``delay = "blank"``) or a mask of random grey-level noise the size of the image
   (``delay = "mask"``, drawn anew each trial);
4. the **second** display: the image with the dot at the same place (``shifted = 0``)
   or moved by ``shift_deg`` in a random direction (``shifted = 1``), until the
   participant presses ``shifted_key`` or ``unchanged_key`` or ``response_timeout_s``
   passes;
5. a blank inter-trial interval.

Every duration is counted in frames (``round(s * refresh_hz)``).

**Positions and balance.** The dot positions are the centres of a ``grid = [columns,
rows]`` of equal cells over each image (:func:`tasks._grid.grid_points`). The whole
design is every (image, position) pair, numbered ``i = 0, 1, ...`` image by image, row by
row; participant number ``n`` (the label's digits) sees every pair once, shifted when
``(i + n)`` is odd (:func:`tasks.runtime.schedule.assign_conditions` with the conditions
``(0, 1)``): half of each participant's trials are shifted (within one), and any two
participants with consecutive numbers see every position in both conditions.
``repetitions`` repeats a participant's pairs in the same conditions (new directions).

**Shift direction.** The direction is drawn uniformly (from the trial's random stream,
so a resume draws alike) among the 360 whole-degree directions whose shifted dot centre,
``(x + round(d cos a), y + round(d sin a))`` with ``d`` the shift in image pixels, lies on
the image: a shift that would leave the image is redrawn, never clipped, so every shift
has the configured length (to the rounding). A position from which no direction stays
on the image is refused with an error naming ``shift_deg``.

``trials.tsv`` columns (besides the runtime's ``trial_id``, ``block``, ``practice``,
``eye_file``): ``repetition``, ``image_id``, ``position`` (the grid cell, row by row from
0), ``dot_x_px``, ``dot_y_px`` (the first dot, image pixels, origin top left, integer =
pixel centre), ``shifted`` (0/1), ``shift_dx_px``, ``shift_dy_px`` (the second dot minus
the first, image pixels; 0 when unchanged), ``dot_radius_px`` (screen pixels), ``delay``,
``response`` (``"shifted"`` / ``"unchanged"``; ``n/a`` without an answer), ``correct``
(0/1; ``n/a`` without an answer), ``rt_s`` (from the onset flip of the second display),
``timed_out``, ``onset_s`` (the second display's onset flip), and the placement
``image_left_px``, ``image_top_px``, ``image_width_px``, ``image_height_px``.

``TRIAL_RESULT`` codes: :data:`RESULT_ANSWERED` (0) an answer; :data:`RESULT_TIMEOUT`
(1) none before ``response_timeout_s``. (2 is the runtime's: Escape.)

**The simulated participant** (:data:`RESPONSE_MODEL`): its evidence is the planted map
(``simulation/truth``, at the image's size) at the first dot's pixel relative to the
map's maximum, ``e = planted[y, x] / max(planted)`` (:func:`dot_evidence`), so its
accuracy is ``1/2 + e/2``: chance where the planted map is 0, always right at its
peak; the answer comes after the shared log-normal reaction time.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np
from numpy.typing import NDArray

from eyetracking.protocol import ImagePlacement
from selectivity.config import ConfigError, Location, setting
from selectivity.resample import resample

from ._grid import grid_points
from ._rows import PLACEMENT_COLUMNS, placement_values, seconds
from .config import TaskSettings
from .runtime.loop import run_task
from .runtime.responses import ResponseRequest
from .runtime.schedule import assign_conditions, by_participant_number
from .runtime.task import Task
from .runtime.trial import TrialContext, image_stim

__all__ = [
    "DELAY_KINDS",
    "RESPONSE_MODEL",
    "RESULT_ANSWERED",
    "RESULT_TIMEOUT",
    "TASK",
    "TRIAL_COLUMNS",
    "DotDiscriminationConfig",
    "dot_evidence",
    "participant_items",
    "run",
    "shift_offset",
]

#: What the delay between the two displays shows.
DELAY_KINDS = ("blank", "mask")
#: The dot's colour (RGB 0-255).
DOT_RGB = (255, 0, 0)
RESULT_ANSWERED, RESULT_TIMEOUT = 0, 1
#: Candidate shift directions: whole degrees.
_DIRECTIONS = np.deg2rad(np.arange(360))

TRIAL_COLUMNS = (
    "repetition",
    "image_id",
    "position",
    "dot_x_px",
    "dot_y_px",
    "shifted",
    "shift_dx_px",
    "shift_dy_px",
    "dot_radius_px",
    "delay",
    "response",
    "correct",
    "rt_s",
    "timed_out",
    "onset_s",
    *PLACEMENT_COLUMNS,
)

RESPONSE_MODEL = (
    "Evidence e = the planted map (simulation/truth) at the first dot's pixel over the map's "
    "maximum; the right answer (shifted / unchanged) with probability 1/2 + e/2, after the "
    "log-normal reaction time (median 0.8 s)."
)


@dataclasses.dataclass(frozen=True)
class DotDiscriminationConfig(TaskSettings):
    """The dot-shift discrimination task (the settings of :class:`TaskSettings`, and these).

    Attributes
    ----------
    grid : (columns, rows)
        Dot positions: the centres of this grid of cells over each image.
    dot_diameter_deg : float
        The red dot's diameter (degrees of visual angle).
    shift_deg : float
        How far a shifted dot moves (degrees; on the screen, at the image's scale).
    first_duration_s, delay_duration_s : float
        The first display and the delay (frames: ``round(s * refresh_hz)``).
    delay : {"blank", "mask"}
        The delay's screen: the background, or grey-level noise over the image.
    fixation_duration_s : float
        Fixation cross before the first display (0: none).
    response_timeout_s : float
        The second display's deadline for the answer.
    shifted_key, unchanged_key : str
        The answer keys (PsychoPy key names).
    iti_s : float
        Blank inter-trial interval.
    image_scale : float
        Drawn size relative to the image's native pixel size.
    repetitions : int
        Passes through the participant's (image, position) pairs.
    """

    grid: tuple[int, int] = dataclasses.field(default=(4, 4), metadata=setting(ge=1))
    dot_diameter_deg: float = dataclasses.field(default=0.4, metadata=setting(gt=0))
    shift_deg: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    first_duration_s: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    delay_duration_s: float = dataclasses.field(default=1.0, metadata=setting(ge=0))
    delay: str = dataclasses.field(default="blank", metadata=setting(choices=DELAY_KINDS))
    fixation_duration_s: float = dataclasses.field(default=0.5, metadata=setting(ge=0))
    response_timeout_s: float = dataclasses.field(default=5.0, metadata=setting(gt=0))
    shifted_key: str = "s"
    unchanged_key: str = "u"
    iti_s: float = dataclasses.field(default=0.5, metadata=setting(ge=0))
    image_scale: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    repetitions: int = dataclasses.field(default=1, metadata=setting(ge=1))
    instructions: str = (
        "Each picture shows a red dot. After a short pause the picture comes back with the "
        "dot at the same place or moved.\n\n"
        "Press S if the dot moved (shifted), U if it stayed (unchanged).\n\nPress SPACE to start."
    )

    def validate(self, at: Location) -> None:
        """The two answer keys differ."""
        if self.shifted_key == self.unchanged_key:
            raise at.error(
                "unchanged_key",
                f"must differ from shifted_key, but both are {self.shifted_key!r}.",
            )


def items(settings: DotDiscriminationConfig, stimuli: Any) -> list[dict[str, Any]]:
    """Every (image, grid position) pair of the design, image by image, row by row."""
    out = []
    for image_id in (str(i) for i in stimuli.table["id"]):
        height, width = stimuli.image(image_id).shape[:2]
        points = grid_points((width, height), settings.grid)
        for position, (x, y) in enumerate(points):
            out.append({"image_id": image_id, "position": position, "dot_x_px": x, "dot_y_px": y})
    return out


def participant_items(
    settings: DotDiscriminationConfig, stimuli: Any, index: int
) -> list[dict[str, Any]]:
    """Participant ``index``'s trials: every pair, ``shifted = (i + index) mod 2``."""
    return assign_conditions(items(settings, stimuli), (0, 1), index, field="shifted")


def shift_offset(
    rng: np.random.Generator, dot_px: tuple[int, int], shift_px: float, size_px: tuple[int, int]
) -> tuple[int, int]:
    """A shift of ``shift_px`` image pixels in a random direction that keeps the dot on the image.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws the direction.
    dot_px : (x, y)
        The first dot, image pixels.
    shift_px : float
        The shift's length, image pixels.
    size_px : (width, height)
        The image's size.

    Returns
    -------
    (dx, dy) : (int, int)
        ``(round(d cos a), round(d sin a))`` for a direction ``a`` drawn uniformly among
        the whole degrees whose shifted centre lies on the image (y down).

    Raises
    ------
    ConfigError
        When no direction keeps the shifted dot on the image.
    """
    x, y = dot_px
    width, height = size_px
    dx = np.rint(shift_px * np.cos(_DIRECTIONS)).astype(int)
    dy = np.rint(shift_px * np.sin(_DIRECTIONS)).astype(int)
    inside = np.flatnonzero((x + dx >= 0) & (x + dx < width) & (y + dy >= 0) & (y + dy < height))
    if inside.size == 0:
        raise ConfigError(
            f"[task] shift_deg: a shift of {shift_px:.1f} image px leaves the {width} x {height} "
            f"px image in every direction from the dot at ({x}, {y}); use a smaller shift_deg "
            "(or a larger image_scale)."
        )
    pick = int(inside[rng.integers(inside.size)])
    return int(dx[pick]), int(dy[pick])


def dot_evidence(planted: NDArray[np.float64], dot_px: tuple[int, int]) -> float:
    """The simulated participant's evidence: the planted map at the dot over the map's maximum.

    Parameters
    ----------
    planted : ndarray of shape (H, W)
        The planted map at the image's size, non-negative.
    dot_px : (x, y)
        The first dot, image pixels.

    Returns
    -------
    float
        In [0, 1]; 0 for a map without a positive value.
    """
    peak = float(np.max(planted))
    if not peak > 0:
        return 0.0
    x, y = dot_px
    return float(np.clip(planted[y, x] / peak, 0.0, 1.0))


def _dot(ctx: TrialContext, place: ImagePlacement, dot_px: tuple[int, int], radius: float) -> Any:
    """A red disc centred on the image pixel ``dot_px`` as the image is drawn at ``place``."""
    from psychopy import visual

    width, height = place.native_size_px
    # PsychoPy's positions are pixel edges from the window's centre: screen pixel j spans
    # [j, j + 1), image pixel i spans [left + i s, left + (i + 1) s), so its centre is at
    # left + (i + 0.5) s (as image_stim places the image by its centre)
    x = place.left_px + (dot_px[0] + 0.5) * place.width_px / width
    y = place.top_px + (dot_px[1] + 0.5) * place.height_px / height
    screen_w, screen_h = ctx.screen.size_px
    return visual.Circle(
        ctx.win,
        radius=radius,
        pos=(x - screen_w / 2.0, screen_h / 2.0 - y),
        units="pix",
        fillColor=DOT_RGB,
        lineColor=None,
        colorSpace="rgb255",
        edges=64,
    )


def _delay(ctx: TrialContext, place: ImagePlacement) -> list[Any]:
    if ctx.settings.delay == "blank":
        return []
    width, height = place.native_size_px
    noise = ctx.rng.integers(0, 256, (height, width), dtype=np.uint8)
    return [image_stim(ctx.win, np.repeat(noise[..., None], 3, axis=2), place, ctx.screen.size_px)]


def run_trial(ctx: TrialContext, trial: dict[str, Any]) -> dict[str, Any]:
    """Fixation, image + dot, the delay, image + the dot again or shifted until the answer."""
    task: DotDiscriminationConfig = ctx.settings
    image_id = trial["image_id"]
    dot = (int(trial["dot_x_px"]), int(trial["dot_y_px"]))
    image, place = ctx.image(image_id, scale=task.image_scale)
    size = place.native_size_px
    shift_px = ctx.deg(task.shift_deg) * size[0] / place.width_px
    dx, dy = shift_offset(ctx.rng, dot, shift_px, size) if trial["shifted"] else (0, 0)
    radius = ctx.deg(task.dot_diameter_deg) / 2.0
    keys = (task.shifted_key, task.unchanged_key)
    correct_key = keys[0] if trial["shifted"] else keys[1]
    evidence = None
    if ctx.participant is not None:
        planted = resample(ctx.participant.planted(image_id), (size[1], size[0]))
        evidence = dot_evidence(planted, dot)

    ctx.show("fixation", [ctx.fixation_cross()], ctx.frames_for(task.fixation_duration_s))
    ctx.show("first", [image, _dot(ctx, place, dot, radius)], ctx.frames_for(task.first_duration_s))
    ctx.show("delay", _delay(ctx, place), ctx.frames_for(task.delay_duration_s))
    answer = ctx.respond(
        "second",
        [image, _dot(ctx, place, (dot[0] + dx, dot[1] + dy), radius)],
        ResponseRequest(
            "keys",
            keys=keys,
            image_id=image_id,
            correct=correct_key,
            evidence=evidence,
            purpose="report",
        ),
        max_frames=ctx.frames_for(task.response_timeout_s),
    )
    ctx.show("iti", [], max(1, ctx.frames_for(task.iti_s)))
    ctx.result_code = RESULT_ANSWERED if answer.answered else RESULT_TIMEOUT
    response = None
    if answer.answered:
        response = "shifted" if answer.value == task.shifted_key else "unchanged"
    correct = None if response is None else int(answer.value == correct_key)
    if ctx.practice:
        ctx.feedback(
            "Please answer before the time runs out."
            if correct is None
            else ("Correct." if correct else "Wrong.")
        )
    return {
        "repetition": trial["repetition"],
        "image_id": image_id,
        "position": trial["position"],
        "dot_x_px": dot[0],
        "dot_y_px": dot[1],
        "shifted": int(trial["shifted"]),
        "shift_dx_px": dx,
        "shift_dy_px": dy,
        "dot_radius_px": round(radius, 3),
        "delay": task.delay,
        "response": response,
        "correct": correct,
        "rt_s": seconds(answer.rt_s),
        "timed_out": int(not answer.answered),
        "onset_s": seconds(answer.onset_s),
        **placement_values(place),
    }


TASK = Task(
    name="dot-discrimination",
    settings=DotDiscriminationConfig,
    columns=TRIAL_COLUMNS,
    items=items,
    run_trial=run_trial,
    response_model=RESPONSE_MODEL,
    participant_items=by_participant_number(participant_items),
)


#: Run (or resume) a session of this task; returns the session folder:
#: :func:`tasks.runtime.loop.run_task` with ``task=TASK`` (everything but the trial).
run = functools.partial(run_task, task=TASK)
