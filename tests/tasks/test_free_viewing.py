"""A full free-viewing session in a real PsychoPy window with the simulated tracker."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from runtime_helpers import pressing_keys

from eyetracking import read_asc
from tasks.config import ExperimentConfig
from tasks.free_viewing import TASK, run
from tasks.runtime.task import FRAME_COLUMNS

pytestmark = pytest.mark.window


def test_full_session_files_agree(
    fast_config: Callable[..., ExperimentConfig], tiny_stimulus_set: Path, tmp_path: Path
) -> None:
    config = fast_config(tiny_stimulus_set, repetitions=2)
    folder = run(config, participant="01", session="1", data_root=tmp_path / "data", windowed=True)
    assert folder == tmp_path / "data" / "sub-01" / "ses-1" / "free-viewing"

    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    assert info["simulated"] is True
    assert info["tracker"]["kind"] == "simulated"
    assert info["eye_files"] == ["eye/01s1.asc"]
    assert info["screen"]["resolution_px"] == [1024, 768]
    assert len(info["calibrations"]) == 1

    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    assert list(trials.columns) == list(TASK.trial_columns)
    assert list(trials["trial_id"]) == [1, 2, 3, 4, 5, 6]
    assert sorted(trials["image_id"]) == ["square", "square", "tall", "tall", "wide", "wide"]
    assert [t["image_id"] for t in info["schedule"]] == list(trials["image_id"])
    assert (trials["duration_frames"] == round(0.3 * 60)).all()
    assert (trials["label"] == "label-" + trials["image_id"]).all()
    # measured on the flips: at least the planned frames went by (pacing never shows fewer)
    assert (trials["measured_duration_s"] >= 17 / 60).all()

    frames = pd.read_csv(folder / "frames.tsv", sep="\t")
    assert list(frames.columns) == list(FRAME_COLUMNS)
    # every phase of every trial: fixation, image, inter-trial interval
    assert len(frames) == 18
    assert list(frames["phase"][:3]) == ["fixation", "image", "iti"]
    assert (frames["frames_shown"] == frames["frames_planned"]).all()
    assert (trials["practice"] == 0).all() and (trials["block"] == 1).all()

    rec = read_asc(folder / "eye" / "01s1.asc")
    assert rec.display_size_px == (1024, 768)
    asc_trials = rec.trials.set_index("trial_id")
    assert list(asc_trials.index) == [1, 2, 3, 4, 5, 6]
    for row in trials.itertuples():
        asc = asc_trials.loc[row.trial_id]
        assert asc["image_id"] == row.image_id
        assert asc["result"] == 0
        assert (asc["img_left"], asc["img_top"], asc["img_width"], asc["img_height"]) == (
            row.image_left_px,
            row.image_top_px,
            row.image_width_px,
            row.image_height_px,
        )
        # the onset message and the tracker-clock reading are made on the same flip
        assert abs(asc["onset"] - row.onset_tracker_ms) <= 2.0
    # images are centred at native size
    wide = trials[trials["image_id"] == "wide"].iloc[0]
    assert (wide.image_left_px, wide.image_top_px, wide.image_width_px) == (452, 344, 120)
    assert len(rec.fixations) > 0


def test_refuses_to_overwrite(
    fast_config: Callable[..., ExperimentConfig], tiny_stimulus_set: Path, tmp_path: Path
) -> None:
    from tasks import SessionExistsError

    config = fast_config(tiny_stimulus_set)
    folder = run(config, participant="02", data_root=tmp_path, windowed=True)
    before = (folder / "trials.tsv").read_bytes()
    with pytest.raises(SessionExistsError, match="--resume"):
        run(config, participant="02", data_root=tmp_path, windowed=True)
    assert (folder / "trials.tsv").read_bytes() == before


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool not installed")
def test_escape_ends_cleanly(
    fast_config: Callable[..., ExperimentConfig], tiny_stimulus_set: Path, tmp_path: Path
) -> None:
    config = fast_config(tiny_stimulus_set, repetitions=4, image_duration_s=0.5)
    trials_tsv = tmp_path / "sub-03" / "ses-1" / "free-viewing" / "trials.tsv"

    finished = threading.Event()

    def press_escape_after_two_trials() -> None:
        # Under Xvfb the keyboard sometimes misses a key sent by xdotool, so keep pressing,
        # as a person would, until the session is over.
        deadline = time.monotonic() + 120
        while not finished.is_set() and time.monotonic() < deadline:
            if trials_tsv.exists() and len(trials_tsv.read_text().splitlines()) >= 3:
                subprocess.run(["xdotool", "key", "Escape"], check=False)
                time.sleep(0.1)
            time.sleep(0.02)

    presser = threading.Thread(target=press_escape_after_two_trials, daemon=True)
    presser.start()
    try:
        folder = run(config, participant="03", data_root=tmp_path, windowed=True)
    finally:
        finished.set()
        presser.join()
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "aborted"
    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    assert 2 <= len(trials) < 12
    # the tracker file was closed with every finished trial in it
    rec = read_asc(folder / "eye" / "03s1.asc")
    assert set(trials["trial_id"]) <= set(rec.trials["trial_id"])
    assert np.isfinite(
        rec.trials.set_index("trial_id").loc[list(trials["trial_id"]), "onset"]
    ).all()


def test_lab_config_runs_with_eyelink_in_dummy_mode(
    fast_config: Callable[..., ExperimentConfig], tiny_stimulus_set: Path, tmp_path: Path
) -> None:
    """configs/free_viewing.toml (EyeLink) runs end to end on pylink's dummy connection."""
    pytest.importorskip("pylink")
    config = fast_config(tiny_stimulus_set, name="free_viewing.toml")
    assert config.lab.tracker.kind == "eyelink"
    lab = dataclasses.replace(
        config.lab, tracker=dataclasses.replace(config.lab.tracker, dummy=True)
    )
    # Nobody presses SPACE in a test: the instructions wait for a key on a real tracker
    # run, so send it as soon as the window is up.
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is needed to press SPACE on the instructions screen")
    with pressing_keys("space"):
        folder = run(
            dataclasses.replace(config, lab=lab),
            participant="04",
            data_root=tmp_path,
            windowed=True,
        )
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed", info.get("aborted_because")
    assert info["simulated"] is False
    assert info["tracker"]["kind"] == "eyelink"
    assert info["tracker"]["dummy"] is True
    assert info["eye_files"] == []  # the dummy connection records no EDF
    trials = pd.read_csv(folder / "trials.tsv", sep="\t", keep_default_na=False)
    assert list(trials["trial_id"]) == [1, 2, 3]
    # no EDF was written, so the trial log names none (missing)
    assert set(trials["eye_file"].astype(str)) <= {"", "n/a"}


def test_fixations_concentrate_on_the_planted_map(
    fast_config: Callable[..., ExperimentConfig], tiny_stimulus_set: Path, tmp_path: Path
) -> None:
    """Fixations made while an image is shown fall on its planted map as the observer says.

    The planted map is 1 on the top-left third of each image and 0 elsewhere, so its
    mean is ``m = (h // 3) * (w // 3) / (h * w)``, about 1/9. The simulated observer
    (``center_bias`` c = 0.3) draws each target with probability 1 - c from the map,
    landing inside the planted third (value 1), and with probability c from a
    Gaussian (SD 3 deg, 80 px here) around the image centre truncated to the image,
    nearly uniform over these 80-120 px images, so landing there with probability
    q close to m. The expected planted value at a fixation is ``(1 - c) + c q``,
    at least 1 - c = 0.7, i.e. a ratio to the map mean of at least 0.7 * 9 = 6.3;
    an observer that ignored the map (or a placement that put the image elsewhere)
    gives a ratio near 1. Values are 0 or 1, so the mean of N fixations has SD at
    most sqrt(0.21 / N); the test allows 4 SD below 1 - c (drift and noise of a few
    pixels move a few fixations off the third's edge, well within that).
    """
    from stimuli import read_stimulus_set
    from tasks.runtime import simulated_observer

    config = fast_config(tiny_stimulus_set, repetitions=2, image_duration_s=1.5)
    folder = run(config, participant="06", data_root=tmp_path, windowed=True)
    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    fixations = read_asc(folder / "eye" / "06s1.asc").fixations
    truth = read_stimulus_set(tiny_stimulus_set)
    values, map_means = [], []
    for row in trials.itertuples():
        planted = truth.map("simulation/truth", row.image_id)
        onset = row.onset_tracker_ms
        offset = onset + 1000.0 * row.measured_duration_s
        during = fixations[(fixations["start"] >= onset) & (fixations["start"] < offset)]
        for fix in during.itertuples():
            col = round(fix.x - row.image_left_px)  # integer image coordinate = pixel centre
            row_px = round(fix.y - row.image_top_px)
            inside = 0 <= row_px < planted.shape[0] and 0 <= col < planted.shape[1]
            values.append(float(planted[row_px, col]) if inside else 0.0)
            map_means.append(float(planted.mean()))
    n = len(values)
    assert n >= 20, f"only {n} fixations on images"
    # the centre bias of the observer the simulated sessions use (tasks.runtime)
    c = simulated_observer(truth, ids=["tall"]).params.center_bias
    assert c == pytest.approx(0.3)
    ratio = float(np.mean(values)) / float(np.mean(map_means))
    lowest = ((1 - c) - 4 * np.sqrt((1 - c) * c / n)) / float(np.mean(map_means))
    assert ratio >= lowest > 3.0, (ratio, lowest, n)
