"""Speeded masked recognition: an image seen through a mask, a backward mask, then a choice.

Each trial (Langlois et al. 2021's causal test) shows

1. a **fixation** cross for ``fixation_duration_s``;
2. the **target** for exactly ``round(target_duration_s * refresh_hz)`` frames: the image
   multiplied by a mask (``stimuli.render``: ``mask * image + (1 - mask) * background``),
   in greyscale or colour (``greyscale``);
3. the **backward mask** for exactly ``round(backward_mask_duration_s * refresh_hz)``
   frames, from the flip right after the target's last one (no gap frame);
4. the **choice** among ``n_options`` descriptors (words, or a row of images) in a fixed
   response window of ``response_window_s``: the last answer in the window counts, none
   gives ``response`` = ``n/a`` (and ``correct`` = 0);
5. a blank inter-trial interval.

**The masks** come from the stimulus set. Each name of ``mask_sources`` (a trial's
``mask_source``, a condition, e.g. a guided-backprop against a Grad-CAM source) is a mask
condition of the set (``/masks/<name>/<id>``, used as stored) or, failing that, a map
source (``/maps/<name>/<id>``, made a mask with ``stimuli.make_mask(kind=mask_kind,
percent=mask_percent)``). A **correct** mask is the image's own; an **incorrect** mask is
the one of the next image in the stimulus table (circularly; ``mask_image_id``), so every
image's mask serves once as another's. A mask of another size is resampled to the image
(:func:`selectivity.resample`). The stimulus is rendered with :func:`stimuli.render`
before the trial's first flip (the set's ``/rendered`` entries hold correct masks only,
not the incorrect pairs), and so is the backward mask: ``"phase-scrambled"``
(:func:`stimuli.render.phase_scrambled_mask` of the trial's image, seeded by the trial),
``"noise"`` (uniform pixel noise) or ``"stimulus-set"`` (the set's rendered condition
``backward_mask``, made by ``selectivity stimuli build``). Every stimulus exists before
the first flip, so target, mask and choice follow each other flip after flip.

**Frames shown.** ``target_frames_shown`` and ``mask_frames_shown`` count the display
refreshes each phase stayed on, from its onset flip to the next phase's onset flip
(its flips, plus one for each whole frame it ran over: :func:`phase_refreshes`): equal
to the planned frames unless a frame was dropped. A trial where either differs from its plan
is ``flagged`` (1); with ``repeat_flagged`` it is run once more at the end of the
session (:attr:`tasks.runtime.TrialContext.repeat_at_end`): the repeat is a copy of the
trial's schedule entry with the next free ``trial_id`` and ``repeat_of`` = the flagged
trial's id, appended to the schedule in ``session.json`` before the flagged trial's
row is written, so a resume runs it exactly once; a repeat is not repeated again.

**The descriptors.** Without a ``descriptors`` table the right answer is the image's
``label`` in the stimulus table and the ``n_options - 1`` foils are labels of other
images (distinct, drawn for each trial from the trial's random stream); with
``options = "images"`` the options are images instead, the target image unmasked among
other images of the set. A ``descriptors`` table (TSV or TOML, read with
:func:`tasks.runtime.schedule.read_conditions`) gives, per ``image_id``, the right
``descriptor`` and its foils in columns whose names start with ``foil`` (Langlois et
al.'s word pairs: one foil each); ``n_options - 1`` of them are drawn. Option order is
drawn for each trial.

``trials.tsv`` columns (besides the runtime's ``trial_id``, ``block``, ``practice``,
``eye_file``): see :data:`TRIAL_COLUMNS`. ``descriptors`` lists the options shown, in
screen order, separated by ``|``; ``response`` is the chosen option's text;
``planted_kept`` is the simulated participant's evidence (below; ``n/a`` for a set
without a planted map); ``mask_coverage`` the mask's mean.

``TRIAL_RESULT`` codes: :data:`RESULT_ANSWERED` (0); :data:`RESULT_NO_RESPONSE` (1) no
answer in the window; :data:`RESULT_FLAGGED` (3) target or mask frames not as planned.

**The simulated participant** (:data:`RESPONSE_MODEL`): recognition is better with
masks that keep the planted mass. Its evidence is the share of the image's planted map
(``simulation/truth``, resampled to the image) that the mask lets through,
``e = sum(planted * mask) / sum(planted)``; it picks the right one of the ``m`` options
with probability ``1/m + (1 - 1/m) e`` after the shared log-normal reaction time
(without a planted map: e = 1).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from selectivity.config import setting
from selectivity.resample import resample

from ._rows import PLACEMENT_COLUMNS, placement_values, seconds
from .config import TaskSettings
from .runtime.display import FrameTiming
from .runtime.loop import run_task
from .runtime.responses import choice_options
from .runtime.setup import SIMULATION_TRUTH_SOURCE
from .runtime.task import Task
from .runtime.trial import TrialContext, image_stim

__all__ = [
    "BACKWARD_MASKS",
    "MASK_MATCHES",
    "OPTION_KINDS",
    "RESPONSE_MODEL",
    "RESULT_ANSWERED",
    "RESULT_FLAGGED",
    "RESULT_NO_RESPONSE",
    "TASK",
    "TRIAL_COLUMNS",
    "MaskedRecognitionConfig",
    "phase_refreshes",
    "planted_kept",
    "run",
]

#: Backward masks: the trial image phase-scrambled, uniform noise, or the set's rendered one.
BACKWARD_MASKS = ("phase-scrambled", "noise", "stimulus-set")
#: The set's rendered condition that ``backward_mask = "stimulus-set"`` reads.
BACKWARD_MASK_CONDITION = "backward_mask"
#: Whose mask the image is seen through: its own, or the next image's.
MASK_MATCHES: tuple[Literal["correct", "incorrect"], ...] = ("correct", "incorrect")
#: What the options are: descriptors as words, or images.
OPTION_KINDS = ("words", "images")
#: ``make_mask`` kinds for map sources.
_MAP_MASK_KINDS = ("proportional", "median", "top_k")
RESULT_ANSWERED, RESULT_NO_RESPONSE, RESULT_FLAGGED = 0, 1, 3

TRIAL_COLUMNS = (
    "repetition",
    "image_id",
    "label",
    "mask_source",
    "mask_image_id",
    "correct_mask",
    "greyscale",
    "backward_mask",
    "mask_coverage",
    "planted_kept",
    "descriptors",
    "correct_option",
    "response",
    "correct",
    "rt_s",
    "target_frames_planned",
    "target_frames_shown",
    "mask_frames_planned",
    "mask_frames_shown",
    "flagged",
    "repeat_of",
    "target_onset_s",
    "mask_onset_s",
    "choice_onset_s",
    "onset_tracker_ms",
    *PLACEMENT_COLUMNS,
)

RESPONSE_MODEL = (
    "Evidence e = sum(planted x mask) / sum(planted): the share of the image's planted map "
    "(simulation/truth) that the mask keeps (e = 1 without a planted map); the right one "
    "of m options with probability 1/m + (1 - 1/m) e, else a wrong one uniformly, after "
    "the log-normal reaction time (median 0.8 s); an answer after the window is lost."
)


@dataclasses.dataclass(frozen=True)
class MaskedRecognitionConfig(TaskSettings):
    """The speeded masked-recognition task (the settings of :class:`TaskSettings`, and these).

    Attributes
    ----------
    mask_sources : tuple of str
        Mask conditions (``/masks/<name>``) or map sources (``/maps/<name>``) of the set;
        each is a condition of the design. Empty: every mask condition of the set.
    mask_matches : tuple of {"correct", "incorrect"}
        Which masks each image is seen through: its own, the next image's, or both.
    mask_kind : {"proportional", "median", "top_k"}
        How a map source becomes a mask (:func:`stimuli.make_mask`).
    mask_percent : float or None
        ``top_k``'s percentage of pixels revealed.
    greyscale : bool
        Show the target in luminance-preserving grey.
    background : str
        What the mask hides shows: a background of :func:`stimuli.render`
        (``"grey"``, ``"black"``, ``"white"``, ``"mean"``, ``"mean_rgb"``).
    target_duration_s : float
        The target's duration; ``round(s * refresh_hz)`` frames.
    backward_mask : {"phase-scrambled", "noise", "stimulus-set"}
        The backward mask (module docstring).
    backward_mask_duration_s : float
        The backward mask's duration; ``round(s * refresh_hz)`` frames.
    fixation_duration_s : float
        Fixation cross before each target.
    response_window_s : float
        The fixed response window of the choice.
    options : {"words", "images"}
        Descriptors as words, or images.
    n_options : int
        Options per trial (2: Langlois et al.'s word pairs).
    descriptors : Path or None
        A descriptors table (module docstring); relative to the configuration file.
    repeat_flagged : bool
        Run a trial whose target or mask frames were not as planned once more at the end.
    iti_s : float
        Blank inter-trial interval.
    image_scale : float
        Drawn size relative to the image's native pixel size.
    repetitions : int
        How many times each image x source x match is shown.
    """

    mask_sources: tuple[str, ...] = ()
    mask_matches: tuple[Literal["correct", "incorrect"], ...] = dataclasses.field(
        default=MASK_MATCHES, metadata=setting(min_items=1)
    )
    mask_kind: str = dataclasses.field(
        default="proportional", metadata=setting(choices=_MAP_MASK_KINDS)
    )
    mask_percent: float | None = dataclasses.field(default=None, metadata=setting(gt=0, le=100))
    greyscale: bool = False
    background: str = dataclasses.field(
        default="grey", metadata=setting(choices=("grey", "black", "white", "mean", "mean_rgb"))
    )
    target_duration_s: float = dataclasses.field(default=0.2, metadata=setting(gt=0))
    backward_mask: str = dataclasses.field(
        default="phase-scrambled", metadata=setting(choices=BACKWARD_MASKS)
    )
    backward_mask_duration_s: float = dataclasses.field(default=0.2, metadata=setting(gt=0))
    fixation_duration_s: float = dataclasses.field(default=0.5, metadata=setting(ge=0))
    response_window_s: float = dataclasses.field(default=2.0, metadata=setting(gt=0))
    options: str = dataclasses.field(default="words", metadata=setting(choices=OPTION_KINDS))
    n_options: int = dataclasses.field(default=2, metadata=setting(ge=2, le=9))
    descriptors: Path | None = None
    repeat_flagged: bool = False
    iti_s: float = dataclasses.field(default=0.5, metadata=setting(ge=0))
    image_scale: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    repetitions: int = dataclasses.field(default=1, metadata=setting(ge=1))
    instructions: str = (
        "Keep your eyes on the cross. A picture flashes briefly, seen through a mask,\n"
        "and is replaced by noise.\n\nThen choose what the picture showed: click an option "
        "or press its number, before the options disappear.\n\nPress SPACE to start."
    )


def _sources(settings: MaskedRecognitionConfig, stimuli: Any) -> list[str]:
    sources = list(settings.mask_sources) or list(stimuli.mask_conditions)
    if not sources:
        raise ValueError(
            f"The stimulus set {stimuli.path} has no mask conditions: name map sources or mask "
            f"conditions in [task] mask_sources (its map sources: {list(stimuli.map_sources)})."
        )
    unknown = [
        s for s in sources if s not in stimuli.mask_conditions and s not in stimuli.map_sources
    ]
    if unknown:
        raise ValueError(
            f"[task] mask_sources: {unknown} are neither mask conditions "
            f"{list(stimuli.mask_conditions)} nor map sources {list(stimuli.map_sources)} of "
            f"the stimulus set {stimuli.path}."
        )
    return sources


def _descriptor_table(settings: MaskedRecognitionConfig, ids: list[str]) -> dict[str, Any]:
    """``image_id`` -> (right descriptor, foils) from the descriptors table."""
    from .runtime.schedule import read_conditions

    if settings.descriptors is None:
        raise ValueError("[task] descriptors: no descriptors table is configured.")
    rows = read_conditions(settings.descriptors, required=("image_id", "descriptor"))
    table = {}
    for row in rows:
        foils = [str(v) for k, v in row.items() if k.startswith("foil") and v is not None]
        table[str(row["image_id"])] = (str(row["descriptor"]), foils)
    missing = [i for i in ids if i not in table]
    short = [i for i, (_, foils) in table.items() if len(foils) < settings.n_options - 1]
    if missing or short:
        raise ValueError(
            f"[task] descriptors ({settings.descriptors}): every image needs a row with a "
            f"descriptor and n_options - 1 = {settings.n_options - 1} foil columns; missing "
            f"images {missing[:10]}, too few foils for {short[:10]}."
        )
    return table


def items(settings: MaskedRecognitionConfig, stimuli: Any) -> list[dict[str, Any]]:
    """Every image x mask source x mask match (the runtime repeats and shuffles them)."""
    ids = [str(i) for i in stimuli.ids]
    labels = dict(zip(ids, (str(label) for label in stimuli.table["label"]), strict=True))
    if settings.descriptors is not None:
        _descriptor_table(settings, ids)
    else:
        pool = ids if settings.options == "images" else sorted(set(labels.values()))
        if len(pool) < settings.n_options:
            raise ValueError(
                f"[task] n_options = {settings.n_options}, but the stimulus set has "
                f"{len(pool)} distinct {'images' if settings.options == 'images' else 'labels'}"
                "; lower n_options or give a descriptors table."
            )
    if "incorrect" in settings.mask_matches and len(ids) < 2:
        raise ValueError("Incorrect masks need two or more images in the stimulus set.")
    out = []
    for index, image_id in enumerate(ids):
        for source in _sources(settings, stimuli):
            for match in settings.mask_matches:
                own = match == "correct"
                out.append(
                    {
                        "image_id": image_id,
                        "label": labels[image_id],
                        "mask_source": source,
                        "mask_image_id": image_id if own else ids[(index + 1) % len(ids)],
                        "correct_mask": int(own),
                    }
                )
    return out


def trial_mask(
    settings: MaskedRecognitionConfig, stimuli: Any, source: str, mask_image_id: str, shape: Any
) -> NDArray[np.float64]:
    """The mask of ``mask_image_id`` from ``source`` at ``shape`` (H, W), values in [0, 1]."""
    if source in stimuli.mask_conditions:
        mask = np.asarray(stimuli.mask(source, mask_image_id), dtype=np.float64)
    else:
        from stimuli.masks import make_mask

        mask = make_mask(
            stimuli.map(source, mask_image_id),
            kind=settings.mask_kind,
            percent=settings.mask_percent,
        )
    if mask.shape != tuple(shape):
        mask = resample(mask, tuple(shape))
    return np.clip(mask, 0.0, 1.0)


def planted_kept(planted: NDArray[np.floating], mask: NDArray[np.floating]) -> float:
    """The share of the planted map that the mask lets through: ``sum(p * m) / sum(p)``.

    Parameters
    ----------
    planted : ndarray of shape (H, W)
        The planted map (negative values count as 0), resampled to the mask's shape.
    mask : ndarray of shape (H, W)
        Values in [0, 1].
    """
    weights = np.clip(np.asarray(planted, dtype=np.float64), 0.0, None)
    if weights.shape != mask.shape:
        weights = np.clip(resample(weights, mask.shape), 0.0, None)
    total = weights.sum()
    return float((weights * mask).sum() / total) if total > 0 else 0.0


def phase_refreshes(timing: FrameTiming, end_s: float) -> int:
    """Display refreshes a phase stayed on: its flips, plus one per whole frame it overran.

    ``end_s`` is the next phase's onset flip. The phase lasted ``d = end_s - onset``;
    with n flips it was on for ``n + floor(d / frame - n + 1/4)`` refreshes (at least
    n): an extra refresh counts once the phase ran 3/4 of a frame past its flips. A
    real display's durations are whole refreshes, so this is its planned frames unless
    a frame was dropped; on a display without vertical sync whose flips are paced (the
    simulated display), a flip late by a fraction of a frame is not a dropped frame;
    where flips return at once, the flips made.
    """
    n = len(timing.flips)
    if n == 0:
        return 0
    overrun = (float(end_s) - timing.onset_s) / timing.frame_s - n
    return n + max(0, math.floor(overrun + 0.25))


def _backward_mask(ctx: TrialContext, image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    from stimuli.render import phase_scrambled_mask

    task: MaskedRecognitionConfig = ctx.settings
    if task.backward_mask == "stimulus-set":
        image_id = ctx.trial["image_id"]
        if BACKWARD_MASK_CONDITION not in ctx.stimuli.rendered_conditions:
            raise ValueError(
                "[task] backward_mask = 'stimulus-set', but the stimulus set has no rendered "
                f"condition {BACKWARD_MASK_CONDITION!r} (build it with [render] backward_masks)."
            )
        mask = np.asarray(ctx.stimuli.rendered(BACKWARD_MASK_CONDITION, image_id))
        if mask.shape[:2] != image.shape[:2]:
            mask = np.clip(np.rint(resample(mask.astype(np.float64), image.shape[:2])), 0, 255)
        return mask.astype(np.uint8)
    if task.backward_mask == "noise":
        return ctx.rng.integers(0, 256, image.shape, dtype=np.uint8)
    return phase_scrambled_mask(image, rng=ctx.rng, greyscale=task.greyscale)


def _options(ctx: TrialContext, trial: dict[str, Any]) -> tuple[list[str], int, list[Any] | None]:
    """The options in screen order, the right one's index, and their images (or None)."""
    task: MaskedRecognitionConfig = ctx.settings
    stimuli, rng, n = ctx.stimuli, ctx.rng, task.n_options
    image_id = trial["image_id"]
    if task.descriptors is not None:
        right, foils = _descriptor_table(task, [image_id])[image_id]
        picked = [foils[i] for i in rng.choice(len(foils), n - 1, replace=False)]
    elif task.options == "images":
        right = image_id
        others = [str(i) for i in stimuli.ids if str(i) != image_id]
        picked = [others[i] for i in rng.choice(len(others), n - 1, replace=False)]
    else:
        right = trial["label"]
        others = sorted({str(v) for v in stimuli.table["label"]} - {right})
        picked = [others[i] for i in rng.choice(len(others), n - 1, replace=False)]
    labels = [right, *picked]
    order = [int(i) for i in rng.permutation(n)]
    shown = [labels[i] for i in order]
    images = [stimuli.image(i) for i in shown] if task.options == "images" else None
    return shown, order.index(0), images


def run_trial(ctx: TrialContext, trial: dict[str, Any]) -> dict[str, Any]:
    """Fixation, the masked target, the backward mask (no gap), the choice, a blank."""
    from stimuli.render import render

    task: MaskedRecognitionConfig = ctx.settings
    image_id = trial["image_id"]
    image = ctx.stimuli.image(image_id)
    mask = trial_mask(
        task, ctx.stimuli, trial["mask_source"], trial["mask_image_id"], image.shape[:2]
    )
    target = render(image, mask, background=task.background, greyscale=task.greyscale)
    evidence = None
    if SIMULATION_TRUTH_SOURCE in ctx.stimuli.map_sources:
        evidence = planted_kept(ctx.stimuli.map(SIMULATION_TRUTH_SOURCE, image_id), mask)
    stim, place = ctx.image(image_id, scale=task.image_scale, pixels=target)
    noise = image_stim(ctx.win, _backward_mask(ctx, target), place, ctx.screen.size_px)
    labels, right, images = _options(ctx, trial)
    layout = choice_options(ctx.win, ctx.screen.size_px, labels, images=images)
    request = layout.request(image_id=image_id, correct=right, evidence=evidence, purpose="report")
    target_frames = ctx.frames_for(task.target_duration_s)
    mask_frames = ctx.frames_for(task.backward_mask_duration_s)

    ctx.show("fixation", [ctx.fixation_cross()], ctx.frames_for(task.fixation_duration_s))
    shown = ctx.show("target", [stim], target_frames)
    masked = ctx.show("mask", [noise], mask_frames)
    answer = ctx.respond(
        "choice", list(layout.stims), request, window_frames=ctx.frames_for(task.response_window_s)
    )
    ctx.show("iti", [], max(1, ctx.frames_for(task.iti_s)))

    target_shown = phase_refreshes(shown, masked.onset_s)
    mask_shown = phase_refreshes(masked, answer.onset_s)
    flagged = target_shown != target_frames or mask_shown != mask_frames
    ctx.repeat_at_end = bool(task.repeat_flagged and flagged)
    ctx.result_code = (
        RESULT_FLAGGED if flagged else RESULT_ANSWERED if answer.answered else RESULT_NO_RESPONSE
    )
    correct = answer.answered and answer.value == right
    if ctx.practice:
        ctx.feedback("Correct." if correct else f"It was: {labels[right]}.")
    return {
        "repetition": trial.get("repetition"),
        "image_id": image_id,
        "label": trial["label"],
        "mask_source": trial["mask_source"],
        "mask_image_id": trial["mask_image_id"],
        "correct_mask": trial["correct_mask"],
        "greyscale": int(task.greyscale),
        "backward_mask": task.backward_mask,
        "mask_coverage": round(float(mask.mean()), 6),
        "planted_kept": None if evidence is None else round(evidence, 6),
        "descriptors": "|".join(labels),
        "correct_option": labels[right],
        "response": labels[answer.value] if answer.answered else None,
        "correct": int(correct),
        "rt_s": seconds(answer.rt_s),
        "target_frames_planned": target_frames,
        "target_frames_shown": target_shown,
        "mask_frames_planned": mask_frames,
        "mask_frames_shown": mask_shown,
        "flagged": int(flagged),
        "repeat_of": trial.get("repeat_of"),
        "target_onset_s": seconds(shown.onset_s),
        "mask_onset_s": seconds(masked.onset_s),
        "choice_onset_s": seconds(answer.onset_s),
        "onset_tracker_ms": seconds(ctx.image_onset_tracker_ms, 3),
        **placement_values(place),
    }


TASK = Task(
    name="masked-recognition",
    settings=MaskedRecognitionConfig,
    columns=TRIAL_COLUMNS,
    items=items,
    run_trial=run_trial,
    response_model=RESPONSE_MODEL,
)


#: Run (or resume) a session of this task; returns the session folder:
#: :func:`tasks.runtime.loop.run_task` with ``task=TASK`` (everything but the trial).
run = functools.partial(run_task, task=TASK)
