"""Speeded masked recognition: frames of target and mask as planned with no gap, recognition
following the planted mass the mask keeps, flagged trials repeated at the end, lab config."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from runtime_helpers import without_tracker

from tasks.config import ExperimentConfig, load_config
from tasks.masked_recognition import TASK, items, phase_refreshes, planted_kept, run
from tasks.runtime.display import FrameTiming
from tasks.runtime.task import FRAME_COLUMNS

SIZE = 48
IDS = ("a", "b", "c", "d")
#: Image k's planted map and its mask (condition "quadrant") are its own quadrant: a correct
#: mask keeps all of the planted mass, another image's (the next one's quadrant) none.
QUADRANTS = [(slice(r, r + 24), slice(c, c + 24)) for r in (0, 24) for c in (0, 24)]
REFRESH_HZ = 20.0  # 50 ms frames: the paced display drops none on a loaded machine
FRAME_S = 1 / REFRESH_HZ


def _quadrant_set(path: Path) -> Path:
    from stimuli import append_masks, write_stimulus_set

    rng = np.random.default_rng(0)
    images = {i: rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8) for i in IDS}
    maps = {}
    for image_id, quadrant in zip(IDS, QUADRANTS, strict=True):
        planted = np.zeros((SIZE, SIZE))
        planted[quadrant] = 1.0
        maps[image_id] = planted
    write_stimulus_set(
        path,
        images,
        labels={i: f"word-{i}" for i in IDS},
        maps={"simulation/truth": maps},
        provenance={"simulation/truth": {"method": "one quadrant"}},
    )
    append_masks(path, "quadrant", maps, provenance={"method": "the planted quadrant"})
    return path


def _config(repo_root: Path, stimulus_set: Path, name: str, **task: Any) -> ExperimentConfig:
    config = load_config(repo_root / "configs" / name)
    fast = {
        "stimulus_set": stimulus_set,
        "mask_sources": ("quadrant",),
        "fixation_duration_s": 0.05,
        "target_duration_s": 0.2,
        "backward_mask_duration_s": 0.1,
        "response_window_s": 1.2,
        "iti_s": 0.05,
        **task,
    }
    display = dataclasses.replace(config.lab.display, refresh_hz=REFRESH_HZ)
    return dataclasses.replace(
        config,
        task=dataclasses.replace(config.task, **fast),
        lab=dataclasses.replace(config.lab, display=display),
    )


@pytest.fixture(scope="module")
def session(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The shipped simulated configuration: 4 images x correct/incorrect x 2, 4 options."""
    tmp = tmp_path_factory.mktemp("masked")
    config = _config(
        repo_root,
        _quadrant_set(tmp / "quadrants.h5"),
        "masked_recognition_simulated.toml",
        n_options=4,
        repetitions=2,
    )
    yield run(config, participant="01", data_root=tmp / "data", windowed=True)


@pytest.mark.window
def test_target_and_mask_frames_equal_their_plan_with_no_gap(session: Path) -> None:
    """frames.tsv and the rows: 4 target frames (0.2 s at 20 Hz) and 2 mask frames, shown as
    planned; the mask's onset flip is the one right after the target's last flip (on the
    paced display, target onset + 4 frames: a gap frame would make it 5; half a frame
    tells them apart), and the choice comes right after the mask's 2 frames."""
    info = json.loads((session / "session.json").read_text())
    assert info["status"] == "completed"
    assert info["participant_model"]["response_model"] == TASK.response_model
    trials = pd.read_csv(session / "trials.tsv", sep="\t")
    assert list(trials.columns) == list(TASK.trial_columns)
    assert list(trials["trial_id"]) == list(range(1, 17))
    assert (trials["target_frames_planned"] == 4).all()
    assert (trials["target_frames_shown"] == 4).all()
    assert (trials["mask_frames_planned"] == 2).all()
    assert (trials["mask_frames_shown"] == 2).all()
    assert (trials["flagged"] == 0).all()
    frames = pd.read_csv(session / "frames.tsv", sep="\t")
    assert list(frames.columns) == list(FRAME_COLUMNS)
    assert list(frames["phase"][:5]) == ["fixation", "target", "mask", "choice", "iti"]
    for phase, planned in (("target", 4), ("mask", 2)):
        rows = frames[frames["phase"] == phase]
        assert (rows["frames_planned"] == planned).all() and (rows["frames_shown"] == planned).all()
        assert (rows["dropped_frames"] == 0).all()
    # in frames: the mask starts 4 frames after the target, the choice 2 after the mask
    gap = (trials["mask_onset_s"] - trials["target_onset_s"]) / FRAME_S
    assert np.abs(gap - 4).max() < 0.5, gap.tolist()
    gap = (trials["choice_onset_s"] - trials["mask_onset_s"]) / FRAME_S
    assert np.abs(gap - 2).max() < 0.5, gap.tolist()


@pytest.mark.window
def test_recognition_follows_the_planted_mass_the_mask_keeps(session: Path) -> None:
    """Accuracy (among answered trials) with masks keeping all of the planted mass (the
    correct masks, ``planted_kept`` = 1) exceeds that with masks keeping none (the incorrect
    ones, 0) by a margin worked out from the model.

    With m = 4 options the model answers right with probability 1/4 + 3/4 e: always at
    e = 1, p = 1/4 at e = 0. So acc_high = 1 and acc_low has mean 1/4 and SD
    sqrt(p (1 - p) / n_low); the test asks for a difference of at least
    ``0.75 - 3 SD``, above 0, what a participant ignoring the planted map gets (same
    evidence in both groups). Scored against a decoy planted map (each image's next
    quadrant: high for the incorrect masks) the same answers fall far below it.
    """
    trials = pd.read_csv(session / "trials.tsv", sep="\t")
    assert set(trials["planted_kept"]) == {0.0, 1.0}
    assert (trials["planted_kept"] == trials["correct_mask"]).all()
    answered = trials[trials["response"].notna()]
    high = answered[answered["planted_kept"] >= 0.5]["correct"]
    low = answered[answered["planted_kept"] < 0.5]["correct"]
    assert len(high) >= 4 and len(low) >= 4, (len(high), len(low))
    p = 0.25
    margin = 0.75 - 3 * np.sqrt(p * (1 - p) / len(low))
    assert margin > 0
    assert high.mean() - low.mean() >= margin, (high.mean(), low.mean(), margin)
    # a participant following another map (decoy coverage = 1 - planted_kept here) fails
    decoy_high, decoy_low = low, high
    assert decoy_high.mean() - decoy_low.mean() < margin
    # unanswered trials are n/a, never correct
    missed = trials[trials["response"].isna()]
    assert (missed["correct"] == 0).all() and missed["rt_s"].isna().all()


def test_items_pair_each_image_with_its_own_and_the_next_images_mask(tmp_path: Path) -> None:
    from stimuli import read_stimulus_set
    from tasks.masked_recognition import MaskedRecognitionConfig

    stimuli = read_stimulus_set(_quadrant_set(tmp_path / "q.h5"))
    settings = MaskedRecognitionConfig(mask_sources=("quadrant", "simulation/truth"))
    got = [(t["image_id"], t["mask_source"], t["mask_image_id"], t["correct_mask"])
           for t in items(settings, stimuli)]  # fmt: skip
    assert got[:4] == [
        ("a", "quadrant", "a", 1),
        ("a", "quadrant", "b", 0),
        ("a", "simulation/truth", "a", 1),
        ("a", "simulation/truth", "b", 0),
    ]
    assert ("d", "quadrant", "a", 0) in got and len(got) == 16
    with pytest.raises(ValueError, match=r"mask_sources: \['nope'\] are neither"):
        items(MaskedRecognitionConfig(mask_sources=("nope",)), stimuli)
    with pytest.raises(ValueError, match="n_options = 5"):
        items(MaskedRecognitionConfig(mask_sources=("quadrant",), n_options=5), stimuli)


def test_planted_kept_by_hand() -> None:
    planted = np.array([[1.0, 3.0], [0.0, -2.0]])  # negative counts as 0: total 4
    mask = np.array([[1.0, 0.5], [1.0, 1.0]])
    assert planted_kept(planted, mask) == pytest.approx((1 + 1.5) / 4)
    assert planted_kept(np.zeros((2, 2)), mask) == 0.0


@pytest.mark.parametrize(
    ("flips", "end", "expected"),
    [
        pytest.param([0.0, 0.1, 0.2], 0.3, 3, id="as-planned"),
        pytest.param([0.0, 0.1, 0.3], 0.4, 4, id="a-dropped-frame"),
        pytest.param([0.0, 0.001, 0.002], 0.003, 3, id="no-vsync"),
        pytest.param([0.0, 0.16, 0.2], 0.3, 3, id="late-then-caught-up"),
        pytest.param([0.0, 0.1, 0.2], 0.37, 3, id="late-next-onset"),
        pytest.param([0.0, 0.1, 0.2], 0.38, 4, id="overran-by-3/4-frame"),
    ],
)
def test_phase_refreshes(flips: list[float], end: float, expected: int) -> None:
    timing = FrameTiming(flips=np.array(flips), frames_planned=3, frame_s=0.1)
    assert phase_refreshes(timing, end) == expected


@pytest.mark.window
def test_a_flagged_trial_runs_again_at_the_end_once_even_across_a_resume(
    repo_root: Path, tmp_path: Path
) -> None:
    """Trial 2 asks for a repeat (as a flagged trial does): the schedule in session.json gets
    trial 4 = trial 2's entry with ``repeat_of = 2``; Escape at trial 4 leaves it unfinished,
    and the resume runs it once (not trial 2 again, nor a second repeat)."""
    from tasks.runtime.loop import run_task
    from tasks.runtime.session import SessionAborted

    def flag_second(ctx: Any, trial: dict[str, Any]) -> dict[str, Any]:
        if trial.get("repeat_of") is not None and escape:
            raise SessionAborted("Escape pressed")
        row = TASK.run_trial(ctx, trial)
        ctx.repeat_at_end = ctx.repeat_at_end or trial["trial_id"] == 2
        return row

    task = dataclasses.replace(TASK, run_trial=flag_second)
    config = _config(
        repo_root,
        _three(_quadrant_set(tmp_path / "q.h5")),
        "masked_recognition_simulated.toml",
        mask_matches=("correct",),
        response_window_s=0.3,
    )
    escape = True
    folder = run_task(config, task=task, participant="01", data_root=tmp_path / "d", windowed=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "aborted"
    schedule = info["schedule"]
    assert [t["trial_id"] for t in schedule] == [1, 2, 3, 4]
    assert schedule[3] == {**schedule[1], "trial_id": 4, "repeat_of": 2}
    escape = False
    run_task(
        config, task=task, participant="01", data_root=tmp_path / "d", windowed=True, resume=True
    )
    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    assert list(trials["trial_id"]) == [1, 2, 3, 4]
    assert trials["repeat_of"].isna().sum() == 3 and trials["repeat_of"].iloc[3] == 2
    assert trials["image_id"].iloc[3] == trials["image_id"].iloc[1]
    assert json.loads((folder / "session.json").read_text())["status"] == "completed"


def _three(path: Path) -> Path:
    """A set of three quadrant images (a, b, c) beside ``path``."""
    from stimuli import append_masks, read_stimulus_set, write_stimulus_set

    full = read_stimulus_set(path)
    ids = IDS[:3]
    target = path.with_name("three.h5")
    write_stimulus_set(
        target,
        {i: full.image(i) for i in ids},
        labels={i: f"word-{i}" for i in ids},
        maps={"simulation/truth": {i: full.map("simulation/truth", i) for i in ids}},
        provenance={"simulation/truth": {"method": "one quadrant"}},
    )
    append_masks(target, "quadrant", {i: full.mask("quadrant", i) for i in ids},
                 provenance={"method": "the planted quadrant"})  # fmt: skip
    return target


@pytest.mark.window
def test_lab_config_runs_without_a_tracker(repo_root: Path, tmp_path: Path) -> None:
    """configs/masked_recognition.toml with ``[tracker] kind = "none"`` (and a simulated
    participant answering): completes, images as options, greyscale, noise backward mask."""
    config = _config(
        repo_root,
        _three(_quadrant_set(tmp_path / "q.h5")),
        "masked_recognition.toml",
        mask_matches=("incorrect",),
        options="images",
        greyscale=True,
        backward_mask="noise",
        response_window_s=0.3,
    )
    assert config.lab.tracker.kind == "eyelink"
    lab_free = without_tracker(config, fullscreen=False, resolution_px=(800, 600))
    folder = run(lab_free, participant="02", data_root=tmp_path / "d", windowed=True)
    assert json.loads((folder / "session.json").read_text())["status"] == "completed"
    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    assert list(trials["trial_id"]) == [1, 2, 3]
    assert (trials["greyscale"] == 1).all() and (trials["correct_mask"] == 0).all()
    assert set(trials["correct_option"]) == {"a", "b", "c"}  # image options: the image ids
    assert all(len(d.split("|")) == 2 for d in trials["descriptors"])
