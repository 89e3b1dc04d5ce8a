"""Similarity rating: two images, side by side or one after the other, rated on a scale.

Each trial (Truong, Pesenti & Hasson 2024's pairwise ratings) shows

1. a **fixation** cross for ``fixation_duration_s``;
2. ``presentation = "side-by-side"``: both images, left and right of the centre
   (``image_gap_deg`` apart), with the **rating** scale under them until the rating or
   ``rating_timeout_s``; ``presentation = "sequence"``: the first image for
   ``image_duration_s``, a blank ``isi_s``, the second for ``image_duration_s``, then
   the scale alone until the rating or the timeout;
3. a blank inter-trial interval.

The scale's points are ``rating_scale`` (labels, least similar first; keys ``1..n`` or
a click on a point); ``rating`` is the point's number, 1 .. n, ``n/a`` after a
timeout. ``rt_s`` is timed from the onset flip of the phase showing the scale.

**Pairs.** ``image_a``, ``image_b`` are the pair in stimulus-table order (analysis
treats ``(a, b)`` and ``(b, a)`` alike). With ``pairs_per_participant = 0`` each
participant rates all N (N - 1) / 2 pairs. With ``k > 0`` a balanced subset: the P
pairs are put in one fixed order (a permutation drawn with ``pair_seed``, the same for
every participant), and participant number i (the digits of its label) rates the k
pairs from position ``(i - 1) k`` on, cyclically; over every ``P / gcd(P, k)``
consecutive participant numbers each pair is rated exactly ``k / gcd(P, k)`` times
(e.g. when k divides P, every P / k participants rate every pair once).

**Sides.** Within a participant's pairs (in that order), image_a is on the left (or
first) for every other pair; each next repetition and each next participant number
swaps the sides, so every pair is seen both ways over two participants (or two
repetitions). ``left_image`` is the image on the left (or shown first), ``order``
``"ab"`` or ``"ba"``.

``trials.tsv`` columns (besides the runtime's ``trial_id``, ``block``, ``practice``,
``eye_file``): see :data:`TRIAL_COLUMNS`; ``planted_similarity`` is the simulated
participant's evidence (below; ``n/a`` without planted embeddings). The rows are what
:func:`analysis.similarity.read_similarity` reads (a session folder, or a data root of
them), and so ``selectivity analyze ais`` (``similarity = "<folder>"``).

``TRIAL_RESULT`` codes: :data:`RESULT_ANSWERED` (0); :data:`RESULT_TIMEOUT` (1).

**The simulated participant** (:data:`RESPONSE_MODEL`): similarity follows the planted
embedding with noise. The stimulus set's map source ``simulation/embedding``
(:data:`EMBEDDING_SOURCE`) holds one (1, D) array per image; the evidence is their
cosine similarity mapped to [0, 1], ``e = (1 + cos(u, v)) / 2``, and the rating
``1 + (n - 1) e`` plus Gaussian noise (SD 0.6 points), rounded and clipped to the scale.
Without the source, e = 0.5 (the middle of the scale, plus noise).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import Any

import numpy as np

from selectivity.config import setting

from ._rows import seconds
from .config import TaskSettings
from .runtime.loop import run_task
from .runtime.responses import rating_scale
from .runtime.schedule import participant_index
from .runtime.task import Task
from .runtime.trial import TrialContext

__all__ = [
    "EMBEDDING_SOURCE",
    "PRESENTATIONS",
    "RESPONSE_MODEL",
    "RESULT_ANSWERED",
    "RESULT_TIMEOUT",
    "TASK",
    "TRIAL_COLUMNS",
    "SimilarityRatingConfig",
    "embedding_similarity",
    "participant_pairs",
    "run",
]

#: Map source of the planted embeddings: one (1, D) array per image.
EMBEDDING_SOURCE = "simulation/embedding"
#: How the two images are shown.
PRESENTATIONS = ("side-by-side", "sequence")
RESULT_ANSWERED, RESULT_TIMEOUT = 0, 1

_SIDES = ("left", "top", "width", "height")
TRIAL_COLUMNS = (
    "repetition",
    "image_a",
    "image_b",
    "left_image",
    "order",
    "presentation",
    "rating",
    "rt_s",
    "timed_out",
    "planted_similarity",
    "onset_s",
    "rating_onset_s",
    "onset_tracker_ms",
    *(f"image_a_{side}_px" for side in _SIDES),
    *(f"image_b_{side}_px" for side in _SIDES),
)

RESPONSE_MODEL = (
    "Evidence e = (1 + cos(u, v)) / 2 of the two images' planted embeddings "
    f"({EMBEDDING_SOURCE}; e = 0.5 without them); rating 1 + (n - 1) e plus Gaussian noise "
    "(SD 0.6 points), rounded and clipped to the n-point scale, after the log-normal "
    "reaction time (median 0.8 s)."
)


@dataclasses.dataclass(frozen=True)
class SimilarityRatingConfig(TaskSettings):
    """The similarity-rating task (the settings of :class:`TaskSettings`, and these).

    Attributes
    ----------
    presentation : {"side-by-side", "sequence"}
        Both images at once, or one after the other.
    rating_scale : tuple of str
        The scale's point labels, least similar first (2 to 9 points).
    pairs_per_participant : int
        0: every pair; k: a balanced subset of k pairs (module docstring).
    pair_seed : int
        Seed of the pairs' fixed order for the subsets (the same for every participant).
    image_duration_s : float
        Each image's duration in the sequence.
    isi_s : float
        Blank between the two images of the sequence.
    rating_timeout_s : float
        Deadline for the rating.
    fixation_duration_s : float
        Fixation cross before each pair.
    image_gap_deg : float
        Gap between the two images side by side (degrees of visual angle).
    iti_s : float
        Blank inter-trial interval.
    image_scale : float
        Drawn size relative to the image's native pixel size.
    repetitions : int
        How many times each pair is rated.
    """

    presentation: str = dataclasses.field(
        default="side-by-side", metadata=setting(choices=PRESENTATIONS)
    )
    rating_scale: tuple[str, ...] = dataclasses.field(
        default=(
            "very dissimilar",
            "dissimilar",
            "somewhat dissimilar",
            "neither",
            "somewhat similar",
            "similar",
            "very similar",
        ),
        metadata=setting(min_items=2),
    )
    pairs_per_participant: int = dataclasses.field(default=0, metadata=setting(ge=0))
    pair_seed: int = dataclasses.field(default=0, metadata=setting(ge=0))
    image_duration_s: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    isi_s: float = dataclasses.field(default=0.5, metadata=setting(ge=0))
    rating_timeout_s: float = dataclasses.field(default=10.0, metadata=setting(gt=0))
    fixation_duration_s: float = dataclasses.field(default=0.5, metadata=setting(ge=0))
    image_gap_deg: float = dataclasses.field(default=2.0, metadata=setting(ge=0))
    iti_s: float = dataclasses.field(default=0.5, metadata=setting(ge=0))
    image_scale: float = dataclasses.field(default=1.0, metadata=setting(gt=0))
    repetitions: int = dataclasses.field(default=1, metadata=setting(ge=1))
    instructions: str = (
        "You will see two pictures at a time.\n\nRate how similar they are: press a number "
        "or click a point of the scale.\n\nPress SPACE to start."
    )


def participant_pairs(n_pairs: int, k: int, index: int, *, seed: int) -> list[int]:
    """The positions (into the pairs in table order) of participant ``index``'s pairs.

    Parameters
    ----------
    n_pairs : int
        P, the number of pairs.
    k : int
        Pairs per participant; 0 (or >= P): all, in table order.
    index : int
        The participant number (from 1).
    seed : int
        Seed of the pairs' fixed order.

    Returns
    -------
    list of int
        k positions: those from ``(index - 1) k`` on, cyclically, in a fixed permutation.
    """
    if k == 0 or k >= n_pairs:
        return list(range(n_pairs))
    order = np.random.default_rng(seed).permutation(n_pairs)
    start = ((index - 1) * k) % n_pairs
    return [int(order[(start + j) % n_pairs]) for j in range(k)]


def participant_items(
    settings: SimilarityRatingConfig, stimuli: Any, participant: str
) -> list[dict[str, Any]]:
    """The participant's pairs (all, or its balanced share), each with its side."""
    ids = [str(i) for i in stimuli.ids]
    if len(ids) < 2:
        raise ValueError(f"Similarity rating needs two or more images; {stimuli.path} has {ids}.")
    if not 2 <= len(settings.rating_scale) <= 9:
        raise ValueError(
            f"[task] rating_scale: 2 to 9 points (keys 1..9), got {len(settings.rating_scale)}."
        )
    pairs = list(itertools.combinations(ids, 2))
    k = settings.pairs_per_participant
    # a subset needs the participant number; all pairs use it (when there is one) for the sides
    subset = 0 < k < len(pairs)
    number = (
        participant_index(participant) if subset or any(c.isdigit() for c in participant) else 1
    )
    positions = participant_pairs(len(pairs), k, number, seed=settings.pair_seed)
    return [
        {"image_a": pairs[p][0], "image_b": pairs[p][1], "swap": (j + number) % 2}
        for j, p in enumerate(positions)
    ]


def items(settings: SimilarityRatingConfig, stimuli: Any) -> list[dict[str, Any]]:
    """Every pair (participant 1's sides)."""
    return participant_items(settings, stimuli, "1")


def embedding_similarity(u: Any, v: Any) -> float:
    """``(1 + cos(u, v)) / 2`` of two embeddings (any shapes with D values each), in [0, 1]."""
    a = np.asarray(u, dtype=np.float64).ravel()
    b = np.asarray(v, dtype=np.float64).ravel()
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    if a.shape != b.shape or not norm > 0:
        raise ValueError(
            f"Embeddings need the same number of values and a non-zero norm; got {a.size} "
            f"and {b.size} values (norm product {norm})."
        )
    return float(min(max((1.0 + float(a @ b) / norm) / 2.0, 0.0), 1.0))


def _placements(ctx: TrialContext, first: str, second: str, side_by_side: bool) -> list[Any]:
    """``(stim, placement)`` of the two images: left and right of the centre, or centred."""
    task: SimilarityRatingConfig = ctx.settings
    if not side_by_side:
        return [ctx.image(i, scale=task.image_scale) for i in (first, second)]
    widths = [round(ctx.stimuli.image(i).shape[1] * task.image_scale) for i in (first, second)]
    gap = ctx.deg(task.image_gap_deg)
    up = -round(0.1 * ctx.screen.height_px)  # above the centre, to leave room for the scale
    left = -round(gap / 2 + widths[0] / 2)
    right = round(gap / 2 + widths[1] / 2)
    return [
        ctx.image(first, scale=task.image_scale, offset_px=(left, up)),
        ctx.image(second, scale=task.image_scale, offset_px=(right, up)),
    ]


def run_trial(ctx: TrialContext, trial: dict[str, Any]) -> dict[str, Any]:
    """Fixation, the pair (side by side or in sequence), the rating, a blank."""
    task: SimilarityRatingConfig = ctx.settings
    a, b = trial["image_a"], trial["image_b"]
    swap = (int(trial.get("swap", 0)) + int(trial.get("repetition", 1)) - 1) % 2
    first, second = (b, a) if swap else (a, b)
    side_by_side = task.presentation == "side-by-side"
    (first_stim, first_place), (second_stim, second_place) = _placements(
        ctx, first, second, side_by_side
    )
    evidence = None
    if EMBEDDING_SOURCE in ctx.stimuli.map_sources:
        evidence = embedding_similarity(
            ctx.stimuli.map(EMBEDDING_SOURCE, a), ctx.stimuli.map(EMBEDDING_SOURCE, b)
        )
    scale = rating_scale(ctx.win, ctx.screen.size_px, task.rating_scale)
    request = scale.request(image_id=a, evidence=evidence, purpose="rate")
    prompt = ctx.text("How similar are the two pictures?", y_px=-0.1 * ctx.screen.height_px)
    timeout = ctx.frames_for(task.rating_timeout_s)

    ctx.show("fixation", [ctx.fixation_cross()], ctx.frames_for(task.fixation_duration_s))
    if side_by_side:
        rating = ctx.respond(
            "rating", [first_stim, second_stim, *scale.stims], request, max_frames=timeout
        )
        onset = rating.onset_s
    else:
        shown = ctx.show("first", [first_stim], ctx.frames_for(task.image_duration_s))
        ctx.show("isi", [], ctx.frames_for(task.isi_s))
        ctx.show("second", [second_stim], ctx.frames_for(task.image_duration_s))
        rating = ctx.respond("rating", [prompt, *scale.stims], request, max_frames=timeout)
        onset = shown.onset_s
    ctx.show("iti", [], max(1, ctx.frames_for(task.iti_s)))
    ctx.result_code = RESULT_ANSWERED if rating.answered else RESULT_TIMEOUT
    if ctx.practice:
        ctx.feedback("Thank you." if rating.answered else "Please rate before the time runs out.")
    places = {first: first_place, second: second_place}
    return {
        "repetition": trial.get("repetition"),
        "image_a": a,
        "image_b": b,
        "left_image": first,
        "order": "ba" if swap else "ab",
        "presentation": task.presentation,
        "rating": int(rating.value) + 1 if rating.answered else None,
        "rt_s": seconds(rating.rt_s),
        "timed_out": int(not rating.answered),
        "planted_similarity": None if evidence is None else round(evidence, 6),
        "onset_s": seconds(onset),
        "rating_onset_s": seconds(rating.onset_s),
        "onset_tracker_ms": seconds(ctx.image_onset_tracker_ms, 3),
        **{
            f"image_{name}_{side}_px": getattr(places[image], f"{side}_px")
            for name, image in (("a", a), ("b", b))
            for side in _SIDES
        },
    }


TASK = Task(
    name="similarity-rating",
    settings=SimilarityRatingConfig,
    columns=TRIAL_COLUMNS,
    items=items,
    run_trial=run_trial,
    response_model=RESPONSE_MODEL,
    participant_items=participant_items,
)


#: Run (or resume) a session of this task; returns the session folder:
#: :func:`tasks.runtime.loop.run_task` with ``task=TASK`` (everything but the trial).
run = functools.partial(run_task, task=TASK)
