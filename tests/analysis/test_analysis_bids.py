"""analysis.bids: session folders exported to BIDS with eye tracking, checked by the validator.

Tiny hand-made sessions give onsets worked out by hand; the real EyeLink recordings of
../shared/data give the physio round trip (samples and events as ``read_asc`` reads them).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from analysis.bids import BidsExportError, bids_label, export_bids
from selectivity.tsv import read_table, write_table

# A hand-written EyeLink ASC, left eye, 500 Hz. Trial 1: TRIALID at 1990, image_onset at 2004,
# TRIAL_RESULT at 2010; trial 2: TRIALID 2990, image_onset 3100, TRIAL_RESULT 3110. The
# first sample is at 2000 ms: the run's time zero.
_ASC = """\
** DATE: Wed Aug 20 07:00:45 2014
** VERSION: EYELINK II 1
** SOURCE: EYELINK CL
** EYELINK II CL v5.03 Jul  3 2014
**
MSG\t1000 DISPLAY_COORDS 0 0 1023 767
MSG\t1500 !CAL VALIDATION HV9 L LEFT  GOOD ERROR 0.30 avg. 0.70 max  OFFSET 0.10 deg. 1.0,-1.0 pix.
MSG\t1990 TRIALID 1
START\t2000 \tLEFT\tSAMPLES\tEVENTS
PUPIL\tAREA
SAMPLES\tGAZE\tLEFT\tRATE\t 500.00\tTRACKING\tCR\tFILTER\t2
EVENTS\tGAZE\tLEFT\tRATE\t 500.00\tTRACKING\tCR\tFILTER\t2
SFIX L   2000
2000\t  512.0\t  384.0\t 1000.0\t...
2002\t  512.5\t  384.5\t 1001.0\t...
MSG\t2004 image_onset
2004\t  513.0\t  385.0\t 1002.0\t...
2006\t  513.5\t  385.5\t 1003.0\t...
EFIX L   2000\t2006\t8\t  512.8\t  384.8\t 1002
2008\t  .\t  .\t    0.0\t...
MSG\t2010 TRIAL_RESULT 0
END\t2010 \tSAMPLES\tEVENTS\tRES\t  26.81\t  26.81
MSG\t2990 TRIALID 2
START\t3000 \tLEFT\tSAMPLES\tEVENTS
PUPIL\tAREA
SAMPLES\tGAZE\tLEFT\tRATE\t 500.00\tTRACKING\tCR\tFILTER\t2
EVENTS\tGAZE\tLEFT\tRATE\t 500.00\tTRACKING\tCR\tFILTER\t2
3000\t  400.0\t  300.0\t  990.0\t...
3002\t  401.0\t  301.0\t  991.0\t...
MSG\t3100 image_onset
MSG\t3110 TRIAL_RESULT 0
END\t3110 \tSAMPLES\tEVENTS\tRES\t  26.81\t  26.81
"""
_SCREEN = {"resolution_px": [1024, 768], "width_cm": 40.0, "distance_cm": 60.0, "refresh_hz": 60.0}


def _session(
    root: Path,
    subject: str,
    session: str,
    task: str,
    trials: list[dict],
    *,
    eye_files: tuple[str, ...] = ("eye/01s1.asc",),
    stimulus_set: Path | None = None,
    resumes: list[dict] | None = None,
) -> Path:
    folder = root / f"sub-{subject}" / f"ses-{session}" / task
    (folder / "eye").mkdir(parents=True)
    for name in eye_files:
        (folder / name).write_text(_ASC, encoding="utf-8")
    info = {
        "task": task,
        "screen": _SCREEN,
        "participant_kind": "person",
        "tracker": {"kind": "eyelink" if eye_files else "none"},
        "eye_files": list(eye_files),
        "stimulus_set": str(stimulus_set) if stimulus_set else None,
        "software": {"selectivity": "0.1.0.dev0", "psychopy": "2024.1.0"},
        "status": "completed",
    }
    if resumes is not None:
        info["resumes"] = resumes
    (folder / "session.json").write_text(json.dumps(info), encoding="utf-8")
    write_table(trials, folder / "trials.tsv")
    return folder


@pytest.fixture(scope="module")
def stimulus_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from stimuli import write_stimulus_set

    path = tmp_path_factory.mktemp("set") / "stimuli.h5"
    rng = np.random.default_rng(0)
    images = {i: rng.integers(0, 255, (6, 8, 3), dtype=np.uint8) for i in ("a", "b")}
    write_stimulus_set(path, images, labels={"a": "apple", "b": "boat"})
    return path


#: Trial 1 has no onset_tracker_ms (n/a): its onset comes from the image_onset message.
_TRIALS = [
    {"trial_id": 1, "image_id": "a", "onset_s": 10.0, "onset_tracker_ms": None, "rt_s": 0.5},
    {"trial_id": 2, "image_id": "b", "onset_s": 11.1, "onset_tracker_ms": 3101.5, "rt_s": 0.4},
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, stimulus_set: Path) -> Path:
    """One data root: a tracked session, a resumed tracked one (two eye files), and a
    resumed session without a tracker; exported once."""
    root = tmp_path_factory.mktemp("data")
    _session(root, "01", "1", "free-viewing", _TRIALS, stimulus_set=stimulus_set)
    resumed = [{**t, "eye_file": f"eye/01s{k}.asc"} for k, t in enumerate(_TRIALS, start=1)]
    _session(
        root,
        "01",
        "2",
        "free-viewing",
        resumed,
        eye_files=("eye/01s1.asc", "eye/01s2.asc"),
        stimulus_set=stimulus_set,
    )
    untracked = [
        {"trial_id": 1, "image_id": "a", "onset_s": 3.25, "offset_s": 4.0, "rating": 5},
        {"trial_id": 2, "image_id": "b", "onset_s": 1.5, "offset_s": 2.25, "rating": 2},
    ]
    _session(
        root,
        "02",
        "1",
        "patch-rating",
        untracked,
        eye_files=(),
        stimulus_set=stimulus_set,
        resumes=[{"after_trials": 1}],
    )
    out = tmp_path_factory.mktemp("bids") / "dataset"
    export_bids(root, out, authors=("A. Tester", "B. Tester"), license="CC0-1.0")
    return out


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("free-viewing", "freeviewing"),
        ("dot-discrimination", "dotdiscrimination"),
        ("similarity_rating", "similarityrating"),
        ("01", "01"),
    ],
)
def test_bids_label(name: str, label: str) -> None:
    assert bids_label(name) == label


def test_bids_label_refuses_a_name_without_letters() -> None:
    with pytest.raises(BidsExportError, match="letters and digits"):
        bids_label("--")


def test_events_onsets_worked_out_by_hand(exported: Path) -> None:
    """Onsets count from the first sample (2000 ms): trial 1 from its image_onset message
    (2004 ms -> 0.004 s, to TRIAL_RESULT 2010: 0.006 s), trial 2 from onset_tracker_ms
    (3101.5 ms -> 1.1015 s, to 3110: 0.0085 s). Catches a wrong time zero, unit or join."""
    beh = exported / "sub-01" / "ses-1" / "beh"
    events = read_table(beh / "sub-01_ses-1_task-freeviewing_events.tsv")
    assert list(events.columns[:3]) == ["onset", "duration", "stim_file"]
    np.testing.assert_allclose(events["onset"], [0.004, 1.1015])
    np.testing.assert_allclose(events["duration"], [0.006, 0.0085])
    assert list(events["stim_file"]) == ["a.png", "b.png"]
    assert "eye_file" not in events.columns and list(events["rt_s"]) == [0.5, 0.4]
    assert (exported / "stimuli" / "a.png").is_file()
    sidecar = json.loads((beh / "sub-01_ses-1_task-freeviewing_events.json").read_text())
    assert sidecar["TaskName"] == "free-viewing"
    assert sidecar["StimulusPresentation"]["ScreenSize"] == [0.4, 0.3]
    assert sidecar["StimulusPresentation"]["ScreenDistance"] == 0.6
    physio = json.loads(
        (beh / "sub-01_ses-1_task-freeviewing_recording-eye1_physio.json").read_text()
    )
    assert physio["StartTime"] == 0 and physio["SamplingFrequency"] == 500.0
    assert physio["RecordedEye"] == "left" and physio["Manufacturer"] == "SR Research"
    assert (physio["AverageCalibrationError"], physio["MaximalCalibrationError"]) == (0.3, 0.7)
    samples = read_table(
        beh / "sub-01_ses-1_task-freeviewing_recording-eye1_physio.tsv.gz",
        columns=physio["Columns"],
    )
    assert samples["timestamp"].tolist() == [2000, 2002, 2004, 2006, 2008, 3000, 3002]
    assert np.isnan(samples["x_coordinate"].iloc[4])  # the lost sample stays missing


def test_runs_of_resumed_sessions_and_untracked_sessions(exported: Path) -> None:
    """A session with two eye files gives run-1 and run-2, each with its own trials and
    physio; a resumed session without a tracker splits where the resume started and keeps
    the experiment clock (onset_s, duration to offset_s); it has no physio."""
    beh = exported / "sub-01" / "ses-2" / "beh"
    for run, trial in ((1, 1), (2, 2)):
        events = read_table(beh / f"sub-01_ses-2_task-freeviewing_run-{run}_events.tsv")
        assert events["trial_id"].tolist() == [trial]
        assert (
            beh / f"sub-01_ses-2_task-freeviewing_run-{run}_recording-eye1_physio.tsv.gz"
        ).is_file()
    beh = exported / "sub-02" / "ses-1" / "beh"
    first = read_table(beh / "sub-02_ses-1_task-patchrating_run-1_events.tsv")
    second = read_table(beh / "sub-02_ses-1_task-patchrating_run-2_events.tsv")
    assert (first["onset"].tolist(), first["duration"].tolist()) == ([3.25], [0.75])
    assert (second["onset"].tolist(), second["duration"].tolist()) == ([1.5], [0.75])
    assert not list(beh.glob("*physio*"))
    participants = read_table(exported / "participants.tsv")
    assert participants["participant_id"].tolist() == ["sub-01", "sub-02"]


def test_the_validator_accepts_the_export(exported: Path, bids_validator) -> None:  # type: ignore[no-untyped-def]
    bids_validator(exported)


def test_refuses_to_overwrite(tmp_path: Path, stimulus_set: Path) -> None:
    """An existing non-empty OUT is never replaced unless asked; --overwrite replaces an
    earlier export only; OUT inside the data root is refused."""
    root = tmp_path / "data"
    _session(root, "01", "1", "free-viewing", _TRIALS, stimulus_set=stimulus_set)
    out = tmp_path / "out"
    export_bids(root, out)
    with pytest.raises(BidsExportError, match=r"not empty.*--overwrite"):
        export_bids(root, out)
    export_bids(root, out, overwrite=True)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(BidsExportError, match="earlier BIDS export only"):
        export_bids(root, other, overwrite=True)
    assert (other / "notes.txt").read_text() == "mine"
    with pytest.raises(BidsExportError, match="inside the data root"):
        export_bids(root, root / "bids")


def test_a_missing_eye_file_is_named(tmp_path: Path, stimulus_set: Path) -> None:
    folder = _session(
        tmp_path / "data", "01", "1", "free-viewing", _TRIALS, stimulus_set=stimulus_set
    )
    (folder / "eye" / "01s1.asc").unlink()
    with pytest.raises(BidsExportError, match=r"free-viewing: the eye file eye/01s1\.asc"):
        export_bids(tmp_path / "data", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written


@pytest.mark.parametrize(
    ("recording", "eyes", "n_samples", "n_messages"),
    [("mono500.asc", ("L",), 1834, 151), ("bino250.asc", ("L", "R"), 910, 196)],
)
def test_real_eyelink_recordings_round_trip(
    tmp_path: Path,
    shared_data: Path,
    stimulus_set: Path,
    bids_validator,  # type: ignore[no-untyped-def]
    recording: str,
    eyes: tuple[str, ...],
    n_samples: int,
    n_messages: int,
) -> None:
    """A session folder holding a real EyeLink ASC (cili: 4 trials, TRIALID 0-3) exports
    to a dataset the validator accepts, one physio file per eye (bino250: eye1 left, eye2
    right); the samples read back equal read_asc's (counts from the file's blocks) and
    the events file holds every fixation, saccade and blink of the eye and every message."""
    from eyetracking import read_asc

    source = shared_data / "eyelink" / "cili" / recording
    trials = [{"trial_id": t, "image_id": "a", "onset_s": float(t)} for t in range(4)]
    folder = _session(
        tmp_path / "data",
        "01",
        "1",
        "free-viewing",
        trials,
        eye_files=(),
        stimulus_set=stimulus_set,
    )
    shutil.copy(source, folder / "eye" / recording)
    info = json.loads((folder / "session.json").read_text())
    info |= {"eye_files": [f"eye/{recording}"], "tracker": {"kind": "eyelink"}}
    (folder / "session.json").write_text(json.dumps(info))
    export_bids(tmp_path / "data", tmp_path / "out")
    bids_validator(tmp_path / "out")

    expected = read_asc(source)
    beh = tmp_path / "out" / "sub-01" / "ses-1" / "beh"
    stem = "sub-01_ses-1_task-freeviewing"
    assert sorted(p.name for p in beh.glob("*_physio.tsv.gz")) == [
        f"{stem}_recording-eye{k}_physio.tsv.gz" for k in range(1, len(eyes) + 1)
    ]
    for k, eye in enumerate(eyes, start=1):
        sidecar = json.loads((beh / f"{stem}_recording-eye{k}_physio.json").read_text())
        assert sidecar["RecordedEye"] == {"L": "left", "R": "right"}[eye]
        assert sidecar["ManufacturersModelName"] and sidecar["CalibrationType"] == "HV13"
        samples = read_table(
            beh / f"{stem}_recording-eye{k}_physio.tsv.gz", columns=sidecar["Columns"]
        )
        mine = expected.samples[expected.samples["eye"] == eye]
        assert len(samples) == n_samples
        for column, source_column in (
            ("timestamp", "time"),
            ("x_coordinate", "x"),
            ("y_coordinate", "y"),
        ):
            np.testing.assert_array_equal(
                samples[column].to_numpy(), mine[source_column].to_numpy()
            )
        events_sidecar = json.loads(
            (beh / f"{stem}_recording-eye{k}_physioevents.json").read_text()
        )
        events = read_table(
            beh / f"{stem}_recording-eye{k}_physioevents.tsv.gz",
            columns=events_sidecar["Columns"],
            dtypes={"trial_type": "string", "message": "string"},
        )
        counts = events["trial_type"].value_counts(dropna=False)
        for kind, table in (
            ("fixation", expected.fixations),
            ("saccade", expected.saccades),
            ("blink", expected.blinks),
        ):
            assert counts.get(kind, 0) == int((table["eye"] == eye).sum()), kind
        assert int(events["message"].notna().sum()) == len(expected.messages) == n_messages
    events = read_table(beh / f"{stem}_events.tsv")
    # no onset_tracker_ms and no image_onset message: the TRIALID message times, from the
    # first sample
    starts = expected.trials["start"].to_numpy()
    np.testing.assert_allclose(events["onset"], (starts - expected.samples["time"].min()) / 1000.0)


def test_an_unreadable_edf_is_named(tmp_path: Path, stimulus_set: Path) -> None:
    """An EDF eye file goes through read_edf; when it cannot be read (here: a corrupt file;
    without edf2asc or eyelinkio: read_edf's error saying what to install) the export stops
    with a message naming the session folder and the file."""
    folder = _session(
        tmp_path / "data",
        "01",
        "1",
        "free-viewing",
        _TRIALS,
        eye_files=(),
        stimulus_set=stimulus_set,
    )
    (folder / "eye" / "01s1.edf").write_bytes(b"SR_RESEARCH_1000FILE" + bytes(200))
    info = json.loads((folder / "session.json").read_text())
    info |= {"eye_files": ["eye/01s1.edf"], "tracker": {"kind": "eyelink"}}
    (folder / "session.json").write_text(json.dumps(info))
    with pytest.raises(
        BidsExportError, match=r"free-viewing: cannot read the eye file eye/01s1\.edf"
    ):
        export_bids(tmp_path / "data", tmp_path / "out")
