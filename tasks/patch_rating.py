"""Patch recognizability: a circular patch of an image alone on the background, rated 1 to 6.

Each trial (Langlois et al. 2021) shows

1. a **fixation** cross for ``fixation_duration_s``;
2. the **patch**: the pixels of the image inside a circle of ``patch_radius_deg``
   centred on a grid position, where they are in the image as it is drawn, alone on
   the background, with a 6-point scale from "very low" to "very high"
   recognizability (:data:`RATING_LABELS`; keys 1-6 or a click on a box), until the
   rating or ``response_timeout_s``;
3. a blank inter-trial interval.

**The patch on the screen.** The patch is the image with an alpha channel: opaque
(255) on the image pixels ``(col, row)`` with ``(col - x)^2 + (row - y)^2 <= r^2``,
transparent elsewhere, drawn by the image's own ``ImageStim`` at the image's placement
(:meth:`tasks.runtime.TrialContext.image`), so every pixel of the patch is where it is
in the whole image, to the pixel (a screenshot test checks the centre and radius).

**Positions and subsets.** The patch centres are the centres of a ``grid = [columns,
rows]`` (default 20 x 20, as Langlois) of equal cells over each image
(:func:`tasks._grid.grid_points`). The design's patches are numbered ``i = 0, 1, ...``
image by image, row by row; patch ``i`` belongs to subset ``i mod subsets``, and
participant number ``n`` (the label's digits) rates subset ``n mod subsets``
(:func:`subset_items`): ``subsets`` participants with consecutive numbers rate every
patch once, each the same number of patches (within one) spread over every image.

**Catch patches** (``catch = 1``): ``catch_trials`` per participant, whose pixels are
those of a patch of the design (images in turn, positions spread over the grid) shuffled
across the disc (from the trial's random stream): no object can be recognised, so an
attentive participant rates them lowest; ratings above the lowest flag inattention.

``trials.tsv`` columns (besides the runtime's ``trial_id``, ``block``, ``practice``,
``eye_file``): ``repetition``, ``image_id``, ``position`` (the grid cell, row by row from
0), ``subset``, ``patch_x_px``, ``patch_y_px`` (the centre, image pixels, origin top left,
integer = pixel centre), ``patch_radius_px`` (image pixels), ``catch`` (0/1), ``rating``
(1..6; ``n/a`` without one), ``rt_s`` (from the patch's onset flip), ``timed_out``,
``onset_s``, and the placement ``image_left_px``, ``image_top_px``, ``image_width_px``,
``image_height_px``.

``TRIAL_RESULT`` codes: :data:`RESULT_ANSWERED` (0) a rating; :data:`RESULT_TIMEOUT` (1)
none before ``response_timeout_s``. (2 is the runtime's: Escape.)

**The simulated participant** (:data:`RESPONSE_MODEL`): its evidence is the planted
mass (``simulation/truth`` at the image's size) inside the patch's disc over the largest
such mass among the image's grid patches (:func:`patch_masses`), 0 for a catch patch;
its rating is ``1 + 5 e`` plus Gaussian noise (SD 0.6 points), rounded and clipped to
1..6, after the shared log-normal reaction time.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np
from numpy.typing import NDArray

from selectivity.config import setting
from selectivity.resample import resample

from ._grid import grid_points
from ._rows import PLACEMENT_COLUMNS, placement_values, seconds
from .config import TaskSettings
from .runtime.loop import run_task
from .runtime.responses import rating_scale
from .runtime.schedule import by_participant_number
from .runtime.task import Task
from .runtime.trial import TrialContext

__all__ = [
    "RATING_LABELS",
    "RESPONSE_MODEL",
    "RESULT_ANSWERED",
    "RESULT_TIMEOUT",
    "TASK",
    "TRIAL_COLUMNS",
    "PatchRatingConfig",
    "disc_mask",
    "patch_masses",
    "patch_pixels",
    "run",
    "subset_items",
]

#: The rating scale's points, lowest first (rating 1 .. 6).
RATING_LABELS = ("very low", "low", "rather low", "rather high", "high", "very high")
RESULT_ANSWERED, RESULT_TIMEOUT = 0, 1

TRIAL_COLUMNS = (
    "repetition",
    "image_id",
    "position",
    "subset",
    "patch_x_px",
    "patch_y_px",
    "patch_radius_px",
    "catch",
    "rating",
    "rt_s",
    "timed_out",
    "onset_s",
    *PLACEMENT_COLUMNS,
)

RESPONSE_MODEL = (
    "Evidence e = the planted mass (simulation/truth) inside the patch over the largest "
    "patch mass of the image's grid (0 for a catch patch); rating 1 + 5 e + Gaussian noise "
    "(SD 0.6), rounded and clipped to 1..6, after the log-normal reaction time (median 0.8 s)."
)


@dataclasses.dataclass(frozen=True)
class PatchRatingConfig(TaskSettings):
    """The patch-recognizability task (the settings of :class:`TaskSettings`, and these).

    Attributes
    ----------
    grid : (columns, rows)
        Patch centres: the centres of this grid of cells over each image.
    patch_radius_deg : float
        The patch's radius (degrees of visual angle, on the screen).
    subsets : int
        The design's patches are split into this many subsets; each participant rates one.
    catch_trials : int
        Catch patches (scrambled pixels) per participant.
    fixation_duration_s : float
        Fixation cross before each patch (0: none).
    response_timeout_s : float
        Deadline for the rating.
    iti_s : float
        Blank inter-trial interval.
    image_scale : float
        Drawn size relative to the image's native pixel size.
    repetitions : int
        Passes through the participant's patches.
    """

    grid: tuple[int, int] = dataclasses.field(default=(20, 20), metadata=setting(ge=1))
    patch_radius_deg: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    subsets: int = dataclasses.field(default=4, metadata=setting(ge=1))
    catch_trials: int = dataclasses.field(default=4, metadata=setting(ge=0))
    fixation_duration_s: float = dataclasses.field(default=0.5, metadata=setting(ge=0))
    response_timeout_s: float = dataclasses.field(default=10.0, metadata=setting(gt=0))
    iti_s: float = dataclasses.field(default=0.5, metadata=setting(ge=0))
    image_scale: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    repetitions: int = dataclasses.field(default=1, metadata=setting(ge=1))
    instructions: str = (
        "You will see small round pieces of pictures.\n\n"
        "Rate how well you could recognise what the piece shows, from 1 (very low) to "
        "6 (very high), with the number keys or by clicking a box.\n\nPress SPACE to start."
    )


def items(settings: PatchRatingConfig, stimuli: Any) -> list[dict[str, Any]]:
    """Every patch of the design (image by image, row by row) with its subset (no catch patch)."""
    out: list[dict[str, Any]] = []
    for image_id in (str(i) for i in stimuli.table["id"]):
        height, width = stimuli.image(image_id).shape[:2]
        points = grid_points((width, height), settings.grid)
        for position, (x, y) in enumerate(points):
            out.append(
                {
                    "image_id": image_id,
                    "position": position,
                    "subset": len(out) % settings.subsets,
                    "patch_x_px": x,
                    "patch_y_px": y,
                    "catch": 0,
                }
            )
    return out


def subset_items(settings: PatchRatingConfig, stimuli: Any, index: int) -> list[dict[str, Any]]:
    """Participant ``index``'s patches: subset ``index mod subsets``, then the catch patches."""
    design = items(settings, stimuli)
    mine = [item for item in design if item["subset"] == index % settings.subsets]
    ids = list(dict.fromkeys(item["image_id"] for item in design))
    per_image = len(design) // len(ids)
    catch = []
    for j in range(settings.catch_trials):
        image = j % len(ids)
        # the catch patches' sources spread over the grid, away from its first cell
        position = (j * per_image // max(settings.catch_trials, 1) + per_image // 2) % per_image
        source = design[image * per_image + position]
        catch.append({**source, "subset": None, "catch": 1})
    return mine + catch


def disc_mask(size_px: tuple[int, int], centre_px: tuple[int, int], radius_px: float) -> Any:
    """The image pixels of a disc: ``(col - x)^2 + (row - y)^2 <= r^2``.

    Returns
    -------
    ndarray of shape (H, W), bool
    """
    width, height = size_px
    rows, cols = np.ogrid[:height, :width]
    x, y = centre_px
    return (cols - x) ** 2 + (rows - y) ** 2 <= radius_px**2


def patch_pixels(
    image: NDArray[np.uint8],
    centre_px: tuple[int, int],
    radius_px: float,
    *,
    scramble: np.random.Generator | None = None,
) -> NDArray[np.uint8]:
    """The image as an RGBA array, opaque on the patch's disc only.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, 3), uint8
        The image.
    centre_px : (x, y)
        The patch's centre, image pixels.
    radius_px : float
        Its radius, image pixels.
    scramble : numpy.random.Generator, optional
        Shuffle the disc's pixels among themselves (a catch patch).

    Returns
    -------
    ndarray of shape (H, W, 4), uint8
        RGB of the image, alpha 255 on the disc and 0 elsewhere.
    """
    rgb = np.asarray(image, dtype=np.uint8)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    height, width = rgb.shape[:2]
    inside = disc_mask((width, height), centre_px, radius_px)
    out = np.zeros((height, width, 4), dtype=np.uint8)
    out[..., :3] = rgb[..., :3]
    if scramble is not None:
        out[inside, :3] = scramble.permutation(out[inside, :3])
    out[inside, 3] = 255
    return out


def patch_masses(
    planted: NDArray[np.float64], centres_px: list[tuple[int, int]], radius_px: float
) -> NDArray[np.float64]:
    """The planted mass inside each patch's disc.

    Parameters
    ----------
    planted : ndarray of shape (H, W)
        The planted map at the image's size, non-negative.
    centres_px : list of (x, y)
        The patches' centres, image pixels.
    radius_px : float
        Their radius, image pixels.

    Returns
    -------
    ndarray of shape (len(centres_px),)
    """
    reach = int(np.floor(radius_px))
    out = np.empty(len(centres_px))
    for n, (x, y) in enumerate(centres_px):
        top, left = max(0, y - reach), max(0, x - reach)
        window = planted[top : y + reach + 1, left : x + reach + 1]
        rows, cols = np.ogrid[top : top + window.shape[0], left : left + window.shape[1]]
        out[n] = float(window[(cols - x) ** 2 + (rows - y) ** 2 <= radius_px**2].sum())
    return out


def _evidence(ctx: TrialContext, trial: dict[str, Any], radius_px: float) -> float | None:
    if ctx.participant is None:
        return None
    if trial["catch"]:
        return 0.0
    image_id = trial["image_id"]
    height, width = ctx.stimuli.image(image_id).shape[:2]
    planted = resample(ctx.participant.planted(image_id), (height, width))
    points = grid_points((width, height), ctx.settings.grid)
    peak = float(patch_masses(planted, points, radius_px).max())
    if not peak > 0:
        return 0.0
    mine = patch_masses(planted, [(trial["patch_x_px"], trial["patch_y_px"])], radius_px)[0]
    return float(min(mine / peak, 1.0))


def run_trial(ctx: TrialContext, trial: dict[str, Any]) -> dict[str, Any]:
    """Fixation, then the patch alone with the rating scale until the rating, a blank interval."""
    task: PatchRatingConfig = ctx.settings
    image_id = trial["image_id"]
    centre = (int(trial["patch_x_px"]), int(trial["patch_y_px"]))
    pixels = ctx.stimuli.image(image_id)
    # degrees on the screen, in image pixels at the drawn scale
    radius = ctx.deg(task.patch_radius_deg) / task.image_scale
    scramble = ctx.rng if trial["catch"] else None
    patch, place = ctx.image(
        image_id,
        scale=task.image_scale,
        pixels=patch_pixels(pixels, centre, radius, scramble=scramble),
    )
    box_height = 60.0
    below = place.top_px + place.height_px + box_height / 2 + 20
    scale = rating_scale(
        ctx.win,
        ctx.screen.size_px,
        RATING_LABELS,
        y_px=min(below, ctx.screen.height_px - box_height / 2 - 5),
        box_height_px=box_height,
    )
    ctx.show("fixation", [ctx.fixation_cross()], ctx.frames_for(task.fixation_duration_s))
    answer = ctx.respond(
        "patch",
        [patch, *scale.stims],
        scale.request(image_id=image_id, evidence=_evidence(ctx, trial, radius), purpose="rate"),
        max_frames=ctx.frames_for(task.response_timeout_s),
    )
    ctx.show("iti", [], max(1, ctx.frames_for(task.iti_s)))
    ctx.result_code = RESULT_ANSWERED if answer.answered else RESULT_TIMEOUT
    if ctx.practice:
        ctx.feedback("Thank you." if answer.answered else "Please rate before the time runs out.")
    return {
        "repetition": trial["repetition"],
        "image_id": image_id,
        "position": trial["position"],
        "subset": trial["subset"],
        "patch_x_px": centre[0],
        "patch_y_px": centre[1],
        "patch_radius_px": round(radius, 3),
        "catch": int(trial["catch"]),
        "rating": int(answer.value) + 1 if answer.answered else None,
        "rt_s": seconds(answer.rt_s),
        "timed_out": int(not answer.answered),
        "onset_s": seconds(answer.onset_s),
        **placement_values(place),
    }


TASK = Task(
    name="patch-rating",
    settings=PatchRatingConfig,
    columns=TRIAL_COLUMNS,
    items=items,
    run_trial=run_trial,
    response_model=RESPONSE_MODEL,
    participant_items=by_participant_number(subset_items),
)


#: Run (or resume) a session of this task; returns the session folder:
#: :func:`tasks.runtime.loop.run_task` with ``task=TASK`` (everything but the trial).
run = functools.partial(run_task, task=TASK)
