"""Saliency search: a simulated session, where its gaze and clicks go; EyeLink in dummy mode."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eyetracking import read_asc
from stimuli import read_stimulus_set
from tasks.config import ExperimentConfig
from tasks.runtime.task import FRAME_COLUMNS
from tasks.saliency_search import RESULT_ANSWERED, TASK, run

pytestmark = pytest.mark.window

CONFIG = "saliency_search_simulated.toml"


def test_simulated_session_gaze_and_clicks_concentrate_on_the_planted_map(
    fast_config: Callable[..., ExperimentConfig],
    search_stimulus_set: Path,
    tmp_path: Path,
    scene_shares: Callable[..., tuple[list[float], list[float]]],
    inside_share: Callable[[float, float], float],
) -> None:
    """The shipped simulated configuration runs; fixations on the scene and clicks on its
    outline fall on the planted map as the participant's model says.

    The planted map is 1 on the top-left 32 x 32 px of the 96 x 96 px images (area share
    a = 1/9), drawn at scale 2.

    *Fixations.* The observer (centre bias c = 0.3) draws each fixation target with
    probability 1 - c from the planted map, so a fixation lands on it with probability at
    least ``1 - c = 0.7`` (the central Gaussian adds a little: ignored). The share of N
    0/1 outcomes has SD at most ``0.5 / sqrt(N)``; the test allows 4 SD:
    ``share >= (1 - c) - 2 / sqrt(N)``.

    *Clicks.* A click is aimed uniformly on the planted square (64 x 64 screen px) plus
    motor noise of SD ``0.3 deg x px_per_deg`` (8 px) per axis, so it stays on it with
    probability ``p = P(axis)^2`` (``inside_share``: 0.90, p = 0.81); with n clicks the
    test allows 4 binomial SD: ``share >= p - 4 sqrt(p (1 - p) / n)``.

    *A participant ignoring the map fails.* Both thresholds are above the area share
    (what a uniform looker and clicker gets), and the same data scored against a decoy of
    the same size (the bottom-right 32 x 32 px, where the planted map is 0) falls below
    them: a participant following another map would fail this test.
    """
    config = fast_config(
        search_stimulus_set, name=CONFIG, repetitions=3, image_scale=2.0, image_duration_s=1.2
    )
    folder = run(config, participant="01", data_root=tmp_path / "data", windowed=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    assert info["participant_model"]["response_model"] == TASK.response_model

    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    assert list(trials.columns) == list(TASK.trial_columns)
    assert list(trials["trial_id"]) == list(range(1, 10))
    assert (trials["timed_out"] == 0).all() and trials["rt_s"].gt(0.1).all()
    assert (trials["duration_frames"] == 72).all()
    # the scene is shown for its planned frames, then replaced by the outline
    assert (trials["measured_duration_s"] >= 71 / 60).all()
    frames = pd.read_csv(folder / "frames.tsv", sep="\t")
    assert list(frames.columns) == list(FRAME_COLUMNS)
    assert list(frames["phase"][:4]) == ["fixation", "image", "click", "iti"]

    rec = read_asc(folder / "eye" / "01s1.asc")
    asc = rec.trials.set_index("trial_id")
    assert set(asc["result"]) == {RESULT_ANSWERED}
    # image_offset is sent on the outline's onset flip: the scene's interval is the viewing
    offsets = rec.messages[rec.messages["text"] == "image_offset"].set_index("trial_id")["time"]
    for row in trials.itertuples():
        shown_ms = offsets.loc[row.trial_id] - asc.loc[row.trial_id, "onset"]
        assert abs(shown_ms - 1000 * row.measured_duration_s) <= 2.0

    stimuli = read_stimulus_set(search_stimulus_set)
    planted = {i: stimuli.map("simulation/truth", i) > 0 for i in stimuli.ids}
    decoy = {i: m[::-1, ::-1] for i, m in planted.items()}
    assert not any((planted[i] & decoy[i]).any() for i in planted)
    area = float(np.mean(planted["beach"]))

    fixations, clicks = scene_shares(folder, planted)
    n_fix, n_click = len(fixations), len(clicks)
    assert n_fix >= 20, n_fix
    c = info["participant_model"]["observer"]["center_bias"]
    fix_threshold = (1 - c) - 2 / np.sqrt(n_fix)
    sd_px = info["participant_model"]["click_sd_deg"] * info["screen"]["px_per_deg"]
    p = inside_share(2 * 32, sd_px) ** 2
    click_threshold = p - 4 * np.sqrt(p * (1 - p) / n_click)
    assert fix_threshold > area and click_threshold > area, (fix_threshold, click_threshold)
    assert np.mean(fixations) >= fix_threshold, (np.mean(fixations), fix_threshold, n_fix)
    assert np.mean(clicks) >= click_threshold, (np.mean(clicks), click_threshold)

    decoy_fixations, decoy_clicks = scene_shares(folder, decoy)
    assert np.mean(decoy_fixations) < fix_threshold
    assert np.mean(decoy_clicks) < click_threshold


def test_lab_config_runs_with_eyelink_in_dummy_mode(
    fast_config: Callable[..., ExperimentConfig],
    search_stimulus_set: Path,
    tmp_path: Path,
    pressing: Callable[..., object],
) -> None:
    """configs/saliency_search.toml (EyeLink) runs end to end on pylink's dummy connection.

    A person answers: xdotool presses SPACE on the instructions and clicks where the
    mouse is; a trial without a click ends at its deadline.
    """
    pytest.importorskip("pylink")
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is needed to answer in the window")
    config = fast_config(search_stimulus_set, name="saliency_search.toml", click_timeout_s=0.5)
    assert config.lab.tracker.kind == "eyelink"
    lab = dataclasses.replace(
        config.lab, tracker=dataclasses.replace(config.lab.tracker, dummy=True)
    )
    with pressing("space", click=True):  # type: ignore[attr-defined]
        config = dataclasses.replace(config, lab=lab)
        folder = run(config, participant="04", data_root=tmp_path, windowed=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    assert info["simulated"] is False and info["tracker"]["dummy"] is True
    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    assert list(trials["trial_id"]) == [1, 2, 3]
    assert (trials["rt_s"].notna() | (trials["timed_out"] == 1)).all()
