"""Cued object search: a simulated session, where its gaze and clicks go; EyeLink in dummy mode."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eyetracking import ImagePlacement, read_asc
from stimuli import read_stimulus_set
from stimuli.stimulus_set import StimulusSetError
from tasks.config import ExperimentConfig
from tasks.object_search import (
    RESULT_ANSWERED,
    TARGET_GAZE_WEIGHT,
    TASK,
    items,
    region_box,
    run,
    screen_box,
)

CONFIG = "object_search_simulated.toml"


def test_screen_box_of_a_region_drawn_twice_as_large() -> None:
    # image pixels 52..91 (right edge 92) of a 96-pixel image drawn at 192 px from screen
    # pixel 416: screen pixels 416 + 2 * 52 = 520 up to (not including) 416 + 2 * 92 = 600
    mask = np.zeros((96, 96), dtype=bool)
    mask[52:92, 10:20] = True
    assert region_box(mask) == (10, 52, 20, 92)
    place = ImagePlacement.centered((1024, 768), (96, 96), scale=2.0)
    assert (place.left_px, place.top_px) == (416.0, 288.0)
    assert screen_box(region_box(mask), place) == (436, 392, 456, 472)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        pytest.param({"labels": ""}, r"label, but 3 image\(s\) have none", id="no-target-name"),
        pytest.param({"cue": "image"}, r"cue = 'image'.*'target/region'", id="picture-no-region"),
    ],
)
def test_a_set_that_cannot_name_the_target_is_refused(
    tiny_stimulus_set: Path, tmp_path: Path, change: dict[str, str], match: str
) -> None:
    from stimuli import write_stimulus_set
    from tasks.object_search import ObjectSearchConfig

    stimuli = read_stimulus_set(tiny_stimulus_set)
    if "labels" in change:
        path = write_stimulus_set(
            tmp_path / "unlabelled.h5", {i: stimuli.image(i) for i in stimuli.ids}
        )
        stimuli = read_stimulus_set(path)
    settings = ObjectSearchConfig(cue=change.get("cue", "text"))
    with pytest.raises(StimulusSetError, match=match):
        items(settings, stimuli)


@pytest.mark.window
def test_simulated_session_gaze_and_clicks_concentrate_on_the_target(
    fast_config: Callable[..., ExperimentConfig],
    search_stimulus_set: Path,
    tmp_path: Path,
    scene_shares: Callable[..., tuple[list[float], list[float]]],
    inside_share: Callable[[float, float], float],
) -> None:
    """The shipped simulated configuration runs, and the searcher's fixations and clicks fall
    on the target region as its model says, far above an observer who ignores the target.

    The set's images are 96 x 96 px, drawn at scale 2; the target region is a 40 x 40 px
    square (area share a = 1600 / 9216 = 0.17), away from the planted map (top-left third).

    *Fixations.* The observer (centre bias c = 0.3) draws each fixation target with
    probability 1 - c from the search priority, which puts ``w`` = 0.8 of its mass on the
    region, so a fixation lands in the region with probability at least
    ``(1 - c) w = 0.56`` (the centre-bias share adds to it: ignored). Fixations are 0/1
    outcomes with SD at most 0.5, so the share of N fixations has SD at most
    ``0.5 / sqrt(N)``; the test allows 4 SD: ``share >= (1 - c) w - 2 / sqrt(N)``.
    An observer ignoring the target lands on it only through the centre bias and by
    chance: about ``a`` for a uniform looker, ``c q`` (q about 0.2, the central
    Gaussian's mass on the region) for this one, both below the threshold (checked,
    and checked on the decoy region below).

    *Clicks.* A click is aimed uniformly in the region (80 x 80 screen px) plus motor
    noise of SD ``s = 0.3 deg x px_per_deg`` (8 px here) per axis, so it stays inside with
    probability ``p = P(axis)^2``, P(axis) computed exactly for a uniform aim plus
    Gaussian noise (``inside_share``; 0.92 here, p = 0.85). With n clicks (every trial
    is answered: RTs of median 0.8 s come well before the 5 s timeout) the test allows
    4 binomial SD: ``found share >= p - 4 sqrt(p (1 - p) / n)``.

    *A participant ignoring the map fails.* The same data scored against a decoy region of
    the same size (the region mirrored left-right, disjoint from it and from the planted
    map) is what a searcher who ignored the decoy target would produce: its shares must
    fall below both thresholds.
    """
    config = fast_config(search_stimulus_set, name=CONFIG, repetitions=3, image_scale=2.0)
    folder = run(config, participant="01", data_root=tmp_path / "data", windowed=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    assert info["participant_model"]["response_model"] == TASK.response_model

    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    assert list(trials.columns) == list(TASK.trial_columns)
    assert list(trials["trial_id"]) == list(range(1, 10))
    expected_target = {"beach": "umbrella", "kitchen": "cup", "street": "red car"}
    assert (trials["target"] == trials["image_id"].map(expected_target)).all()
    assert (trials["timed_out"] == 0).all() and trials["rt_s"].gt(0.1).all()
    # the region (image px 52..91) drawn at scale 2 from (416, 288): screen 520..599, 392..471
    assert set(trials["target_left_px"]) == {520} and set(trials["target_right_px"]) == {600}
    assert set(trials["target_top_px"]) == {392} and set(trials["target_bottom_px"]) == {472}

    rec = read_asc(folder / "eye" / "01s1.asc")
    texts = rec.messages["text"]
    iareas = texts[texts.str.startswith("!V IAREA")]
    expected_iareas = {
        f"!V IAREA RECTANGLE 1 520 392 600 472 {t.replace(' ', '_')}"
        for t in expected_target.values()
    }
    assert set(iareas) == expected_iareas and len(iareas) == 9
    assert set(rec.trials["result"]) == {RESULT_ANSWERED}

    stimuli = read_stimulus_set(search_stimulus_set)
    region = {i: stimuli.map("target/region", i) >= 0.5 for i in stimuli.ids}
    decoy = {i: m[:, ::-1] for i, m in region.items()}
    assert not any((region[i] & decoy[i]).any() for i in region)
    area = float(np.mean(region["beach"]))

    fixations, clicks = scene_shares(folder, region)
    # found is the click in the region, as the table says
    assert clicks == list(trials["found"].astype(float))
    n_fix, n_click = len(fixations), len(clicks)
    assert n_fix >= 30, n_fix
    c = info["participant_model"]["observer"]["center_bias"]
    fix_threshold = (1 - c) * TARGET_GAZE_WEIGHT - 2 / np.sqrt(n_fix)
    sd_px = info["participant_model"]["click_sd_deg"] * info["screen"]["px_per_deg"]
    p = inside_share(2 * 40, sd_px) ** 2
    click_threshold = p - 4 * np.sqrt(p * (1 - p) / n_click)
    assert fix_threshold > area and click_threshold > area, (fix_threshold, click_threshold)
    assert np.mean(fixations) >= fix_threshold, (np.mean(fixations), fix_threshold, n_fix)
    assert np.mean(clicks) >= click_threshold, (np.mean(clicks), click_threshold)

    decoy_fixations, decoy_clicks = scene_shares(folder, decoy)
    assert np.mean(decoy_fixations) < fix_threshold
    assert np.mean(decoy_clicks) < click_threshold


@pytest.mark.window
def test_lab_config_runs_with_eyelink_in_dummy_mode(
    fast_config: Callable[..., ExperimentConfig],
    search_stimulus_set: Path,
    tmp_path: Path,
    pressing: Callable[..., object],
) -> None:
    """configs/object_search.toml (EyeLink) runs end to end on pylink's dummy connection.

    A person answers: xdotool presses SPACE (instructions, the report) and clicks where
    the mouse is, so every trial ends with a report, and with a click or its deadline.
    """
    pytest.importorskip("pylink")
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is needed to answer in the window")
    config = fast_config(
        search_stimulus_set,
        name="object_search.toml",
        practice_trials=1,
        cue="image",  # the target's picture, cut out of the scene by its region
        timeout_s=3.0,
        click_timeout_s=0.5,
    )
    assert config.lab.tracker.kind == "eyelink"
    lab = dataclasses.replace(
        config.lab, tracker=dataclasses.replace(config.lab.tracker, dummy=True)
    )
    with pressing("space", click=True):
        config = dataclasses.replace(config, lab=lab)
        folder = run(config, participant="04", data_root=tmp_path, windowed=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    assert info["simulated"] is False and info["tracker"]["dummy"] is True
    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    assert list(trials["trial_id"]) == [1, 2, 3, 4]
    assert list(trials["practice"]) == [1, 0, 0, 0]
    assert len(info["drift_checks"]) == 4  # drift_check_every = 1 in the lab example
    # rt_s where SPACE came, else a timeout; found is 0 or 1 (the region is known)
    assert (trials["rt_s"].notna() | (trials["timed_out"] == 1)).all()
    assert set(trials["found"]) <= {0, 1}
    assert set(trials["cue"]) == {"image"}
