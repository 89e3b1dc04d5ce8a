"""A session of each task killed with SIGKILL keeps its finished trials and eye data; --resume
goes on without losing or repeating a trial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from eyetracking import read_asc

pytestmark = [pytest.mark.window, pytest.mark.slow]


#: Each task's short settings (the rest: the task's defaults); every task runs 2 x 3 trials.
_SETTINGS = {
    "dot-discrimination": (
        "grid = [1, 1]\nfirst_duration_s = 0.2\ndelay_duration_s = 0.1\n"
        "fixation_duration_s = 0.1\nresponse_timeout_s = 3.0\niti_s = 0.05\n"
    ),
    "free-viewing": "image_duration_s = 0.6\nfixation_duration_s = 0.2\niti_s = 0.1\n",
    "object-search": (
        "cue_duration_s = 0.2\nfixation_duration_s = 0.1\ntimeout_s = 3.0\n"
        "click_timeout_s = 3.0\niti_s = 0.05\n"
    ),
    "patch-rating": (
        "grid = [1, 1]\nsubsets = 1\ncatch_trials = 0\nfixation_duration_s = 0.1\n"
        "response_timeout_s = 3.0\niti_s = 0.05\n"
    ),
    "saliency-search": (
        "image_duration_s = 0.4\nfixation_duration_s = 0.1\nclick_timeout_s = 3.0\niti_s = 0.05\n"
    ),
    # a dynamic schedule: 6 chain slots, each filled by claiming a chain's head as it starts
    "serial-reproduction": (
        "trials = 6\ndot_duration_s = 0.3\ndelay_s = 0.1\nfixation_duration_s = 0.1\n"
        "click_timeout_s = 3.0\niti_s = 0.05\n"
    ),
    # the search set's planted map as the mask source; correct masks only: 3 items
    "masked-recognition": (
        'mask_sources = ["simulation/truth"]\nmask_matches = ["correct"]\n'
        "fixation_duration_s = 0.1\nresponse_window_s = 1.0\niti_s = 0.05\n"
    ),
    "similarity-rating": "fixation_duration_s = 0.1\nrating_timeout_s = 3.0\niti_s = 0.05\n",
}
#: How a task's settings make 6 trials (default: 2 repetitions of the 3 images).
_SIX_TRIALS = {"serial-reproduction": ""}
_REPEAT_TWICE = "repetitions = 2\n"


def _rows(path: Path) -> int:
    return max(0, len(path.read_text().splitlines()) - 1) if path.exists() else 0


@pytest.mark.parametrize("task", sorted(_SETTINGS))
def test_sigkill_after_trial_3_then_resume(
    repo_root: Path, search_stimulus_set: Path, tmp_path: Path, task: str
) -> None:
    """A real ``selectivity run`` process is killed once trial 3 is written; ``--resume``
    completes the session: trial ids 1..6 once each, in the order of the schedule in
    ``session.json``, and the eye files of both runs hold their own trials."""
    config = tmp_path / "task.toml"
    config.write_text(
        f'lab = "{repo_root / "configs" / "lab_simulated.toml"}"\n'
        "[task]\n"
        f'name = "{task}"\n'
        f'stimulus_set = "{search_stimulus_set}"\n'
        f"{_SETTINGS[task]}"
        f"{_SIX_TRIALS.get(task, _REPEAT_TWICE)}seed = 11\n",
        encoding="utf-8",
    )
    data = tmp_path / "data"
    command = [
        sys.executable,
        "-m",
        "selectivity",
        "run",
        task,
        "--config",
        str(config),
        "--participant",
        "01",
        "--data",
        str(data),
        "--windowed",
    ]
    folder = data / "sub-01" / "ses-1" / task
    trials_tsv = folder / "trials.tsv"

    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while _rows(trials_tsv) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        out = proc.communicate(timeout=30)[0].decode(errors="replace")
    assert proc.returncode == -signal.SIGKILL, out

    killed = pd.read_csv(trials_tsv, sep="\t")
    assert list(killed["trial_id"][:3]) == [1, 2, 3]
    assert json.loads((folder / "session.json").read_text())["status"] == "running"
    rec = read_asc(folder / "eye" / "01s1.asc")
    assert {1, 2, 3} <= set(rec.trials["trial_id"])
    assert len(rec.fixations) > 0

    done_before = len(killed)
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    trials = pd.read_csv(trials_tsv, sep="\t")
    assert list(trials["trial_id"]) == list(range(1, 7))
    assert trials["trial_id"].iloc[done_before] == done_before + 1  # went on at the next trial
    info = json.loads((folder / "session.json").read_text())
    # the rows follow the schedule recorded by the first run (the resume reused it)
    assert [t["trial_id"] for t in info["schedule"]] == list(range(1, 7))
    image = "image_a" if task == "similarity-rating" else "image_id"  # a pair's first image
    if image in info["schedule"][0]:  # a fixed schedule names its images in advance
        assert [t[image] for t in info["schedule"]] == list(trials[image])
    assert list(trials[image][:done_before]) == list(killed[image])
    assert info["status"] == "completed"
    assert info["resumes"][0]["after_trials"] == done_before
    assert info["eye_files"] == ["eye/01s1.asc", "eye/01s1r1.asc"]
    second = read_asc(folder / "eye" / "01s1r1.asc")
    assert set(second.trials["trial_id"]) == set(range(done_before + 1, 7))
    # the first run's tracker file is untouched by the resume
    assert set(rec.trials["trial_id"]) == set(
        read_asc(folder / "eye" / "01s1.asc").trials["trial_id"]
    )
