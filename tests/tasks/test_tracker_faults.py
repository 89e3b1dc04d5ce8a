"""Tracker faults in a real session, through the simulated tracker: link loss pauses the session
with everything kept and a resume completes it; a failed data-file transfer is recorded with
the command that fetches the file; a gaze-contingent start times out into a drift check."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tasks.runtime.setup as setup
from analysis.sessions import load_session
from eyetracking import read_asc
from eyetracking.protocol import IMAGE_OFFSET
from eyetracking.trackers import SimulatedFaults
from selectivity.tsv import read_table
from tasks.config import load_config
from tasks.free_viewing import run

pytestmark = pytest.mark.window


def _with_faults(monkeypatch: pytest.MonkeyPatch, faults: SimulatedFaults) -> None:
    """Open the session's simulated tracker with ``faults`` (the lab PC's cable, simulated)."""
    original = setup.open_tracker

    def open_with_faults(kind: str, **options: Any) -> Any:
        return original(kind, faults=faults, **options)

    monkeypatch.setattr(setup, "open_tracker", open_with_faults)


def test_link_loss_pauses_keeps_everything_and_resumes(
    tmp_path: Path, tiny_stimulus_set: Path, fast_config, monkeypatch, capsys
) -> None:
    config = fast_config(tiny_stimulus_set, repetitions=2)
    with monkeypatch.context() as patch:
        _with_faults(patch, SimulatedFaults(lose_link_at_trial=3))
        folder = run(config, participant="01", data_root=tmp_path / "d", windowed=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "paused"
    assert "link lost" in info["paused_because"]
    assert info["link_lost"]["after_trials"] == 2
    assert "continue with --resume" in capsys.readouterr().err
    assert list(read_table(folder / "trials.tsv")["trial_id"]) == [1, 2]
    first = read_asc(folder / "eye" / "01s1.asc")
    assert list(first.trials["trial_id"]) == [1, 2]  # the eye data of the finished trials

    run(config, participant="01", data_root=tmp_path / "d", resume=True, windowed=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    trials = read_table(folder / "trials.tsv")
    assert list(trials["trial_id"]) == [1, 2, 3, 4, 5, 6]
    assert [t["image_id"] for t in info["schedule"]] == list(trials["image_id"])
    assert info["eye_files"] == ["eye/01s1.asc", "eye/01s1r1.asc"]
    assert list(read_asc(folder / "eye" / "01s1r1.asc").trials["trial_id"]) == [3, 4, 5, 6]


def test_link_lost_during_the_stimulus_keeps_its_eye_data_and_resumes(
    tmp_path: Path, tiny_stimulus_set: Path, repo_root: Path, monkeypatch, capsys
) -> None:
    """Fault: the tracker's link is lost inside trial 3, while its image is on the screen
    (the simulated cable drops at the message that ends the image, so trial 3's gaze on the
    image was recorded). Catches: a session that crashes or hangs instead of ending
    ``paused``; the interrupted trial written to trials.tsv; the eye data recorded so far
    lost (trial 3's ``TRIALID`` and samples stay, without ``TRIAL_RESULT``); a reader or the
    analysis loader that fails on the trial without an end, or gives it to trials.tsv; a
    resume in a new process that does not complete the session."""
    original = setup.open_tracker

    def open_losing(kind: str, **options: Any) -> Any:
        tracker = original(kind, **options)
        send, started = tracker.send_message, []

        def send_message(text: str) -> None:
            if text.startswith("TRIALID"):
                started.append(text)
            if text == IMAGE_OFFSET and len(started) == 3:
                tracker.faults = SimulatedFaults(lose_link_at_message=1)  # this message
            send(text)

        tracker.send_message = send_message
        return tracker

    # a configuration file, so that the resume in a new process reads the same settings
    toml = tmp_path / "task.toml"
    toml.write_text(
        f'lab = "{repo_root / "configs" / "lab_simulated.toml"}"\n[task]\nname = "free-viewing"\n'
        f'stimulus_set = "{tiny_stimulus_set}"\nimage_duration_s = 0.3\n'
        "fixation_duration_s = 0.1\niti_s = 0.05\nrepetitions = 2\nseed = 3\n",
        encoding="utf-8",
    )
    with monkeypatch.context() as patch:
        patch.setattr(setup, "open_tracker", open_losing)
        folder = run(load_config(toml), participant="04", data_root=tmp_path / "d",
                     windowed=True)  # fmt: skip
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "paused" and "link lost" in info["paused_because"]
    assert info["link_lost"]["after_trials"] == 2
    assert "continue with --resume" in capsys.readouterr().err
    assert list(read_table(folder / "trials.tsv")["trial_id"]) == [1, 2]
    text = (folder / "eye" / "04s1.asc").read_text()
    assert "TRIALID 3" in text and text.count("TRIAL_RESULT") == 2
    recording = read_asc(folder / "eye" / "04s1.asc")
    assert list(recording.trials["trial_id"].astype(int)) == [1, 2, 3]
    third = recording.samples[recording.samples["trial_id"].astype("Int64") == 3]
    assert len(third) > 0  # the eye data of the interrupted trial, up to the loss
    assert list(load_session(folder).trials["trial_id"]) == [1, 2]

    # the resume, in a new process (a second tracker in this one is what a lab avoids too)
    resumed = subprocess.run(
        [sys.executable, "-m", "selectivity", "run", "free-viewing", "--config",
         str(toml), "--participant", "04", "--data", str(tmp_path / "d"), "--windowed",
         "--resume"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    assert list(read_table(folder / "trials.tsv")["trial_id"]) == [1, 2, 3, 4, 5, 6]
    assert list(read_asc(folder / "eye" / "04s1r1.asc").trials["trial_id"]) == [3, 4, 5, 6]
    assert list(load_session(folder).trials["trial_id"]) == [1, 2, 3, 4, 5, 6]


def test_failed_transfer_names_the_file_and_the_fetch_command(
    tmp_path: Path, tiny_stimulus_set: Path, fast_config, monkeypatch, capsys
) -> None:
    _with_faults(monkeypatch, SimulatedFaults(fail_transfer=True))
    folder = run(fast_config(tiny_stimulus_set), participant="02", data_root=tmp_path / "d",
                 windowed=True)  # fmt: skip
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    assert len(read_table(folder / "trials.tsv")) == 3  # the trials are kept all the same
    failure = info["eye_transfer_failure"]
    assert failure["fetch_command"] and failure["host_file"]
    assert failure["message"] in capsys.readouterr().err
    assert not (folder / "eye" / "02s1.asc").exists()
    # the recorded command brings the file where the session expects it
    subprocess.run(shlex.split(failure["fetch_command"]), check=True, cwd=folder)
    assert list(read_asc(folder / "eye" / "02s1.asc").trials["trial_id"]) == [1, 2, 3]


def test_gaze_start_timeout_runs_a_drift_check(
    tmp_path: Path, tiny_stimulus_set: Path, fast_config, monkeypatch
) -> None:
    _with_faults(monkeypatch, SimulatedFaults(fixation_timeouts=1))
    config = fast_config(tiny_stimulus_set, gaze_start=True, gaze_start_timeout_s=1.5)
    folder = run(config, participant="03", data_root=tmp_path / "d", windowed=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    starts = {s["trial_id"]: s["attempts"] for s in info["gaze_starts"]}
    assert sorted(starts) == [1, 2, 3]
    # trial 1: a timeout, a drift check, then the gaze held the fixation point
    assert [a.get("result") for a in starts[1] if "result" in a] == ["timeout", "fixated"]
    assert any("drift_check" in a for a in starts[1])
    assert all(a["result"] == "fixated" for a in starts[2] + starts[3])
