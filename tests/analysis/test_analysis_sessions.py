"""analysis.load_session: trials joined on trial_id to the fixations made on each image."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import FIXATION_COLUMNS, SessionDataError, load_session

# A hand-written EyeLink ASC, 1024 x 768, left eye. Trial 1 shows "cat" (native 100 x 50 px)
# drawn at twice its size at (100, 200); trial 2 shows "dog" (80 x 60) at native size at (400, 300).
_ASC = """\
** CONVERTED FROM 01s1.EDF using edfapi 4.2
**
MSG\t900 DISPLAY_COORDS 0 0 1023 767
MSG\t990 TRIALID 1
MSG\t991 !V IMGLOAD TOP_LEFT images/cat.png 100 200 200 100
START\t995 \tLEFT\tSAMPLES\tEVENTS
SAMPLES\tGAZE\tLEFT\tRATE\t 500.00\tTRACKING\tCR\tFILTER\t2
EVENTS\tGAZE\tLEFT\tRATE\t 500.00\tTRACKING\tCR\tFILTER\t2
SFIX L   1000
MSG\t1100 image_onset
EFIX L   1000\t1150\t152\t  512.0\t  384.0\t  900
SFIX L   1200
EFIX L   1200\t1400\t202\t  100.0\t  200.0\t  900
SFIX L   1500
EFIX L   1500\t1800\t302\t  299.0\t  299.0\t  900
SFIX L   1900
EFIX L   1900\t2000\t102\t   50.0\t  250.0\t  900
MSG\t2100 image_offset
SFIX L   2150
EFIX L   2150\t2300\t152\t  200.0\t  250.0\t  900
END\t2400 \tSAMPLES\tEVENTS\tRES\t  26.81\t  26.81
MSG\t2401 !V TRIAL_VAR image_id cat
MSG\t2402 TRIAL_RESULT 0
MSG\t2990 TRIALID 2
MSG\t2991 !V IMGLOAD TOP_LEFT images/dog.png 400 300 80 60
START\t2995 \tLEFT\tSAMPLES\tEVENTS
SAMPLES\tGAZE\tLEFT\tRATE\t 500.00\tTRACKING\tCR\tFILTER\t2
EVENTS\tGAZE\tLEFT\tRATE\t 500.00\tTRACKING\tCR\tFILTER\t2
MSG\t3100 image_onset
SFIX L   3200
EFIX L   3200\t3500\t302\t  410.0\t  320.0\t  900
MSG\t4100 image_offset
END\t4200 \tSAMPLES\tEVENTS\tRES\t  26.81\t  26.81
MSG\t4201 !V TRIAL_VAR image_id dog
MSG\t4202 TRIAL_RESULT 0
"""
# trials.tsv lists trial 2 first: a join on row order would give the cat's fixations to the dog.
_TRIALS = [
    "trial_id\timage_id\tonset_tracker_ms\timage_left_px\timage_top_px\timage_width_px"
    "\timage_height_px\teye_file",
    "2\tdog\t3100.0\t400.0\t300.0\t80.0\t60.0\teye/01s1.asc",
    "1\tcat\t1100.0\t100.0\t200.0\t200.0\t100.0\teye/01s1.asc",
]


def _session(tmp_path: Path, asc: str = _ASC, trials: list[str] = _TRIALS) -> Path:
    folder = tmp_path / "sub-01" / "ses-1" / "free-viewing"
    (folder / "eye").mkdir(parents=True)
    (folder / "eye" / "01s1.asc").write_text(asc, encoding="utf-8")
    (folder / "trials.tsv").write_text("\n".join(trials) + "\n", encoding="utf-8")
    return folder


def test_hand_made_session(tmp_path: Path) -> None:
    session = load_session(_session(tmp_path), image_size_px={"cat": (100, 50)})
    fix = session.fixations
    assert list(fix.columns) == list(FIXATION_COLUMNS)
    # Worked by hand, x_img = (x - left + 0.5) * native_w / drawn_w - 0.5 (likewise y):
    # cat (scale 1/2): (100, 200) -> (0.5 * 0.5 - 0.5, 0.5 * 0.5 - 0.5) = (-0.25, -0.25), the
    # top-left pixel; (299, 299) -> (199.5 * 0.5 - 0.5, 99.5 * 0.5 - 0.5) = (99.25, 49.25);
    # dog (native size): (410, 320) -> (10, 20). The fixation at 1000 began on the cross before
    # the onset, the one at 2150 after the offset: neither is on the image.
    expected = pd.DataFrame(
        {
            "trial_id": [1, 1, 2],
            "image_id": ["cat", "cat", "dog"],
            "eye": ["L", "L", "L"],
            "start_tracker_ms": [1200.0, 1500.0, 3200.0],
            "end_tracker_ms": [1400.0, 1800.0, 3500.0],
            "duration_ms": [202.0, 302.0, 302.0],
            "x_img": [-0.25, 99.25, 10.0],
            "y_img": [-0.25, 49.25, 20.0],
            "x_screen": [100.0, 299.0, 410.0],
            "y_screen": [200.0, 299.0, 320.0],
        }
    )
    pd.testing.assert_frame_equal(fix, expected, check_dtype=False)
    # (50, 250) lies 25 image pixels left of the cat: dropped, and counted.
    assert session.n_outside == 1
    assert list(session.trials["trial_id"]) == [2, 1]  # trials.tsv as written
    assert session.recording.path.name == "01s1.asc"
    assert session.info == {}


def test_without_native_sizes_positions_are_in_drawn_pixels(tmp_path: Path) -> None:
    fix = load_session(_session(tmp_path)).fixations
    cat = fix[fix["image_id"] == "cat"]
    np.testing.assert_allclose(cat[["x_img", "y_img"]], [[0.0, 0.0], [199.0, 99.0]])


def test_an_eye_file_of_other_trials_is_refused(tmp_path: Path) -> None:
    swapped = [_TRIALS[0], "2\tcat" + _TRIALS[1][4:], "1\tdog" + _TRIALS[2][4:]]
    with pytest.raises(SessionDataError, match=r"records image 'dog' for trial 2, but trials\.tsv"):
        load_session(_session(tmp_path, trials=swapped))


def test_a_trial_the_eye_file_lacks_warns(tmp_path: Path) -> None:
    extra = [*_TRIALS, "3\tdog\t5100.0\t400.0\t300.0\t80.0\t60.0\teye/01s1.asc"]
    with pytest.warns(UserWarning, match=r"does not record the trials \[3\]"):
        session = load_session(_session(tmp_path, trials=extra))
    assert 3 not in set(session.fixations["trial_id"]) and len(session.fixations) == 3


def test_a_trial_that_showed_no_image_has_no_fixations(tmp_path: Path) -> None:
    """A serial-reproduction trial with no chain free shows no image: ``image_id`` is n/a (the
    eye file records the trial without one). It is kept as a trial, with no fixations, and
    is no disagreement between the files."""
    asc = _ASC + "MSG\t5000 TRIALID 3\nMSG\t5001 TRIAL_RESULT 3\n"
    extra = [*_TRIALS, "3\tn/a\tn/a\tn/a\tn/a\tn/a\tn/a\teye/01s1.asc"]
    session = load_session(_session(tmp_path, asc=asc, trials=extra))
    assert len(session.trials) == 3 and 3 not in set(session.fixations["trial_id"])
    assert len(session.fixations) == 3


def test_a_trial_without_eye_file_warns(tmp_path: Path) -> None:
    extra = [*_TRIALS, "3\tdog\t5100.0\t400.0\t300.0\t80.0\t60.0\tn/a"]
    with pytest.warns(UserWarning, match=r"the trials \[3\] name no eye file"):
        session = load_session(_session(tmp_path, trials=extra))
    assert len(session.fixations) == 3 and len(session.trials) == 3


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        pytest.param("no-trials", FileNotFoundError, "No trials.tsv in", id="no-trials"),
        pytest.param("no-eye", FileNotFoundError, r"eye file .*01s1\.asc named", id="no-eye"),
        pytest.param(
            "no-placement", SessionDataError, r"\['image_left_px'\] are missing", id="columns"
        ),
        pytest.param("repeated", SessionDataError, r"trial_id \[1\] appear more", id="repeat"),
    ],
)
def test_session_errors(tmp_path: Path, change: str, error: type, match: str) -> None:
    trials = list(_TRIALS)
    if change == "no-placement":
        trials = [line.replace("image_left_px", "left") for line in trials]
    if change == "repeated":
        trials.append(trials[-1])
    folder = _session(tmp_path, trials=trials)
    if change == "no-trials":
        (folder / "trials.tsv").unlink()
    if change == "no-eye":
        (folder / "eye" / "01s1.asc").unlink()
    with pytest.raises(error, match=match):
        load_session(folder)


@pytest.mark.window
def test_simulated_free_viewing_session(tmp_path: Path, repo_root: Path) -> None:
    """A real session: PsychoPy window, simulated tracker; checked against its own files."""
    from eyetracking import IMAGE_OFFSET, read_asc
    from stimuli import write_stimulus_set
    from tasks.config import load_config
    from tasks.free_viewing import run

    rng = np.random.default_rng(0)
    images = {
        "tall": rng.integers(0, 255, (120, 80, 3), dtype=np.uint8),
        "wide": rng.integers(0, 255, (80, 120, 3), dtype=np.uint8),
    }
    write_stimulus_set(tmp_path / "s.h5", images)
    config = load_config(repo_root / "configs" / "free_viewing_simulated.toml")
    task = dataclasses.replace(
        config.task,
        stimulus_set=tmp_path / "s.h5",
        image_duration_s=0.6,
        fixation_duration_s=0.1,
        iti_s=0.05,
        repetitions=2,
    )
    folder = run(
        dataclasses.replace(config, task=task),
        participant="01",
        session="1",
        data_root=tmp_path / "data",
        windowed=True,
    )
    session = load_session(folder)
    fix = session.fixations
    trials = session.trials.set_index("trial_id")
    assert len(trials) == 4 and len(fix) > 0
    assert (fix["image_id"].to_numpy() == trials.loc[fix["trial_id"], "image_id"].to_numpy()).all()

    # Independently: the ASC's fixations that start between each trial's onset and offset
    # messages, shifted by the trial's placement (images are drawn at native size).
    rec = read_asc(folder / "eye" / "01s1.asc")
    offsets = rec.messages[rec.messages["text"] == IMAGE_OFFSET].set_index("trial_id")["time"]
    expected, outside = [], 0
    for trial_id, row in trials.iterrows():
        onset = rec.trials.set_index("trial_id").loc[trial_id, "onset"]
        mine = rec.fixations[
            (rec.fixations["trial_id"] == trial_id)
            & (rec.fixations["start"] >= onset)
            & (rec.fixations["start"] < offsets[trial_id])
        ]
        width, height = images[row["image_id"]].shape[1::-1]
        for f in mine.itertuples():
            x, y = f.x - row["image_left_px"], f.y - row["image_top_px"]
            if -0.5 <= x < width - 0.5 and -0.5 <= y < height - 0.5:
                expected.append((trial_id, f.start, x, y))
            else:
                outside += 1
    got = fix[["trial_id", "start_tracker_ms", "x_img", "y_img"]].to_numpy(dtype=float)
    np.testing.assert_allclose(got, np.array(sorted(expected), dtype=float), atol=1e-9)
    assert session.n_outside == outside
