"""Tracker faults in a real session, through the simulated tracker: link loss pauses the session
with everything kept and a resume completes it; a failed data-file transfer is recorded with
the command that fetches the file; a gaze-contingent start times out into a drift check."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

import tasks.runtime.setup as setup
from eyetracking import read_asc
from eyetracking.trackers import SimulatedFaults
from selectivity.tsv import read_table
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
