"""Sessions of each task killed with SIGKILL, at seeded random moments and at the exact points
that matter, keep every finished trial and their eye data; ``--resume`` completes them."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from analysis.sessions import load_session, read_frames
from analysis.study import load_study
from eyetracking import read_asc
from selectivity.tsv import read_table

pytestmark = [pytest.mark.window, pytest.mark.slow]

HERE = Path(__file__).resolve().parent

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

#: Per task: the seed of the first, random kill (k finished trials, then a delay), and the exact
#: point (tests/tasks/_kill_at.py) and call number at which the first resume is killed, or None:
#: that task's first resume completes. Each exact point is taken by one task (CI time: a third
#: process per task costs about 20 s); a failure names its seed here, so it reproduces.
_CHAINS: dict[str, tuple[int, str | None, int]] = {
    "dot-discrimination": (101, None, 0),
    "free-viewing": (202, "eye-transfer", 1),
    "masked-recognition": (303, "final-status", 1),
    "object-search": (404, "trial-row-cut", 2),
    "patch-rating": (505, None, 0),
    "saliency-search": (606, None, 0),
    "serial-reproduction": (707, "trial-row", 1),
    "similarity-rating": (808, None, 0),
}


def _rows(path: Path) -> int:
    return max(0, path.read_bytes().count(b"\n") - 1) if path.exists() else 0


def _finished(path: Path) -> list[str]:
    """The finished lines of a session TSV (header first), as written."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    return text.split("\n")[:-1]


def _kill_randomly(command: list[str], trials_tsv: Path, seed: int) -> tuple[int, float]:
    """Start ``command`` and SIGKILL it ``delay`` s after trials.tsv has k rows (both drawn
    from ``seed``: k in 1..4 of 6, delay in [0, 1.2) s, so inside a trial or between two)."""
    draw = random.Random(seed)
    k, delay = draw.randint(1, 4), draw.uniform(0.0, 1.2)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while _rows(trials_tsv) < k and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        out = proc.communicate(timeout=60)[0].decode(errors="replace")
    assert proc.returncode == -signal.SIGKILL, f"seed {seed}: {out}"
    return k, delay


def _check_killed(folder: Path, before: list[str], what: str) -> list[str]:
    """After a kill: the rows finished before are still there, unchanged; the session is not
    completed; each run's eye file is readable, or session.json says where the tracker keeps
    it (``eye_files_pending``) and the file is there. Returns the finished lines now."""
    lines = _finished(folder / "trials.tsv")
    assert lines[: len(before)] == before, f"{what}: a finished trial changed or was lost"
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "running", what
    rows = read_table(folder / "trials.tsv", finished_rows_only=True)
    pending = {p["file"]: p for p in info.get("eye_files_pending", [])}
    for name in set(info["eye_files"]) | set(rows["eye_file"].dropna()):
        mine = set(rows["trial_id"][rows["eye_file"] == name].astype(int))
        path = folder / name
        assert path.exists(), f"{what}: {name} is not on disk"
        if not mine:  # a run killed before its first trial: no samples yet to read
            continue
        withheld = path.with_name(path.name + ".pending")
        if withheld.exists():  # cut in the transfer: the session says where the file is
            assert name in pending, f"{what}: {withheld} is not in eye_files_pending"
            path = withheld
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a block cut by the kill is reported, not an error
            recorded = set(read_asc(path).trials["trial_id"].astype(int))
        assert mine <= recorded, f"{what}: {name} lacks the trials {mine - recorded}"
    return lines


@pytest.mark.parametrize("task", sorted(_SETTINGS))
def test_random_and_exact_kills_then_resume(
    repo_root: Path, search_stimulus_set: Path, tmp_path: Path, task: str
) -> None:
    """Faults: SIGKILL of a real ``selectivity run`` at a seeded random moment (k trials
    written, then a random delay: inside a trial or between two), then, for four tasks, of
    its ``--resume`` at an exact point (``_CHAINS``: the last trial's frames written but not
    its row, a row cut in half, the tracker's file transfer cut, the final status write cut).
    Catches: a finished trial lost or changed by a kill or a resume; an eye file unreadable
    or not named when its transfer was cut, or not recovered by the resume; a trial run
    twice or out of schedule order; frames.tsv rows of an interrupted attempt read as the
    trial's; a session the analysis loader cannot read."""
    seed, point, nth = _CHAINS[task]
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
    args = ["run", task, "--config", str(config), "--participant", "01", "--data", str(data),
            "--windowed"]  # fmt: skip
    folder = data / "sub-01" / "ses-1" / task
    trials_tsv = folder / "trials.tsv"

    k, delay = _kill_randomly([sys.executable, "-m", "selectivity", *args], trials_tsv, seed)
    first = _check_killed(folder, [], f"seed {seed} (k={k}, delay={delay:.2f} s)")
    assert len(first) - 1 >= k

    second = first
    if point is not None:
        launcher = [sys.executable, str(HERE / "_kill_at.py"), point, str(nth), "--"]
        killed = subprocess.run(
            [*launcher, *args, "--resume"], capture_output=True, text=True, timeout=300
        )
        assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
        second = _check_killed(folder, first, f"{point} {nth}")
    info = json.loads((folder / "session.json").read_text())
    frames_before = read_table(folder / "frames.tsv", finished_rows_only=True)
    if point in ("trial-row", "trial-row-cut"):
        # the trial's frames are on disk, its row is not (or cut): the resume runs it again
        assert len(second) == len(first) + nth - 1
        if point == "trial-row-cut":
            assert not trials_tsv.read_bytes().endswith(b"\n")
    if point == "eye-transfer":
        # the run's file stays on the tracker side, named in session.json; a half copy is local
        pending = info["eye_files_pending"][-1]
        assert pending["file"] == "eye/01s1r1.asc"
        assert (folder / "eye" / "01s1r1.asc.pending").exists()
        cut = (folder / "eye" / "01s1r1.asc").stat().st_size
    if point == "final-status":
        assert len(second) - 1 == 6 and (folder / "session.json.tmp").exists()

    resumed = subprocess.run(
        [sys.executable, "-m", "selectivity", *args, "--resume"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    assert _finished(trials_tsv)[: len(second)] == second
    trials = read_table(trials_tsv)
    scheduled = [t["trial_id"] for t in info["schedule"]]
    assert list(trials["trial_id"]) == scheduled == [1, 2, 3, 4, 5, 6]
    image = "image_a" if task == "similarity-rating" else "image_id"  # a pair's first image
    if image in info["schedule"][0]:  # a fixed schedule names its images in advance
        assert [t[image] for t in info["schedule"]] == list(trials[image])
    after = [len(first) - 1] + ([] if point is None else [len(second) - 1])
    assert [r["after_trials"] for r in info["resumes"]] == after
    runs = ["eye/01s1.asc", "eye/01s1r1.asc", "eye/01s1r2.asc"][: len(after) + 1]
    assert info["eye_files"] == runs
    assert info["eye_files_pending"] == []
    for name in info["eye_files"]:  # every run's file, complete, holding that run's trials
        mine = set(trials["trial_id"][trials["eye_file"] == name])
        assert (folder / name).exists()
        if mine:  # (the last run of a session whose trials were all done shows none)
            assert mine <= set(read_asc(folder / name).trials["trial_id"].astype(int)), name
    if point == "eye-transfer":
        assert info["eye_files_recovered"][-1] == pending
        assert (folder / "eye" / "01s1r1.asc").stat().st_size > cut
        assert (folder / "eye" / "01s1r1.asc.partial-1").stat().st_size == cut
    # frames.tsv: each finished trial's rows once, those of the attempt that finished it
    frames = read_frames(folder)
    assert frames is not None and set(frames["trial_id"]) == set(range(1, 7))
    raw = read_table(folder / "frames.tsv")
    if point in ("trial-row", "trial-row-cut"):
        repeated = len(second)  # the trial the exact kill interrupted (its id: rows so far)
        interrupted = frames_before[frames_before["trial_id"] == repeated]
        rerun = raw[raw["trial_id"] == repeated].iloc[len(interrupted) :]
        assert len(interrupted) > 0
        kept = frames[frames["trial_id"] == repeated]
        if task == "serial-reproduction":  # the answer reached the database: restored, not rerun
            assert len(rerun) == 0 and len(kept) == len(interrupted)
        else:
            assert list(kept["onset_s"]) == list(rerun["onset_s"])
    for _, rows in frames.groupby("trial_id"):  # one attempt: one contiguous stretch
        assert list(rows.index) == list(range(rows.index[0], rows.index[-1] + 1))
    # the analysis reads the session
    if {"image_id", "image_left_px"} <= set(trials.columns):
        session = load_session(folder)
        assert list(session.trials["trial_id"]) == [1, 2, 3, 4, 5, 6]
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = load_study(data, stimulus_set=search_stimulus_set, progress=False)
        assert len(study.sessions) == 1
