"""analysis.load_study: a data root of hand-made sessions read into tidy tables, with exclusions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.sessions import SessionDataError
from analysis.study import STUDY_FIXATION_COLUMNS, ExclusionRules, load_study

# A hand-written EyeLink ASC, 1024 x 768, left eye: trial 1 shows "cat" (native 100 x 50 px)
# drawn at twice its size at (100, 200); trial 2 (a practice trial) shows "dog" (80 x 60) at
# native size at (400, 300). 10 samples in trial 1, 2 of them without a position.
_ASC = """\
** CONVERTED FROM 01s1.EDF using edfapi 4.2
MSG\t900 DISPLAY_COORDS 0 0 1023 767
MSG\t990 TRIALID 1
MSG\t991 !V IMGLOAD TOP_LEFT images/cat.png 100 200 200 100
START\t995 \tLEFT\tSAMPLES\tEVENTS
SAMPLES\tGAZE\tLEFT\tRATE\t 500.00\tTRACKING\tCR\tFILTER\t2
EVENTS\tGAZE\tLEFT\tRATE\t 500.00\tTRACKING\tCR\tFILTER\t2
1000\t  512.0\t  384.0\t  900.0\t...
1002\t  512.0\t  384.0\t  900.0\t...
1004\t   .\t   .\t    0.0\t...
1006\t   .\t   .\t    0.0\t...
1008\t  512.0\t  384.0\t  900.0\t...
1010\t  512.0\t  384.0\t  900.0\t...
1012\t  512.0\t  384.0\t  900.0\t...
1014\t  512.0\t  384.0\t  900.0\t...
1016\t  512.0\t  384.0\t  900.0\t...
1018\t  512.0\t  384.0\t  900.0\t...
MSG\t1100 image_onset
SFIX L   1200
EFIX L   1200\t1400\t202\t  100.0\t  200.0\t  900
SFIX L   1500
EFIX L   1500\t1800\t302\t  299.0\t  299.0\t  900
SFIX L   1850
EFIX L   1850\t1890\t42\t  200.0\t  250.0\t  900
MSG\t2100 image_offset
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
_HEADER = (
    "trial_id\tblock\tpractice\timage_id\tonset_tracker_ms\timage_left_px\timage_top_px"
    "\timage_width_px\timage_height_px\teye_file"
)
_TRIALS = [
    _HEADER,
    "2\t0\t1\tdog\t3100.0\t400.0\t300.0\t80.0\t60.0\teye/01s1.asc",
    "1\t1\t0\tcat\t1100.0\t100.0\t200.0\t200.0\t100.0\teye/01s1.asc",
]
_FRAMES = [
    "trial_id\tphase\tframes_planned\tframes_shown\tdropped_frames\tonset_s"
    "\tmeasured_duration_s\tnominal_duration_s",
    "2\timage\t60\t61\t1\t1.0\t1.017\t1.0",
    "1\timage\t60\t60\t0\t3.0\t1.0\t1.0",
]
PX_PER_DEG = 26.81


@pytest.fixture
def stimulus_set(tmp_path: Path) -> Path:
    from stimuli import write_stimulus_set

    images = {
        "cat": np.zeros((50, 100, 3), dtype=np.uint8),
        "dog": np.zeros((60, 80, 3), dtype=np.uint8),
    }
    path = tmp_path / "stimuli.h5"
    write_stimulus_set(path, images, labels={"cat": "cat", "dog": "dog"})
    return path


def _session(
    root: Path,
    participant: str,
    stimulus_set: Path,
    *,
    task: str = "free-viewing",
    error_deg: float = 0.3,
    status: str = "completed",
) -> Path:
    folder = root / f"sub-{participant}" / "ses-1" / task
    (folder / "eye").mkdir(parents=True)
    (folder / "eye" / "01s1.asc").write_text(_ASC, encoding="utf-8")
    (folder / "trials.tsv").write_text("\n".join(_TRIALS) + "\n", encoding="utf-8")
    (folder / "frames.tsv").write_text("\n".join(_FRAMES) + "\n", encoding="utf-8")
    info = {
        "task": task,
        "status": status,
        "simulated": False,
        "stimulus_set": str(stimulus_set),
        "screen": {"px_per_deg": PX_PER_DEG},
        "calibrations": [
            {"accepted": False, "eyes": {"LEFT": {"error_avg_deg": 3.0}}},
            {"accepted": True, "eyes": {"LEFT": {"error_avg_deg": error_deg}}},
        ],
    }
    (folder / "session.json").write_text(json.dumps(info), encoding="utf-8")
    return folder


def test_a_data_root_read_into_tidy_tables(tmp_path: Path, stimulus_set: Path) -> None:
    root = tmp_path / "data"
    _session(root, "01", stimulus_set)
    _session(root, "02", stimulus_set, error_deg=1.5)  # over the 1.0 deg default limit
    study = load_study(root)
    assert study.stimulus_set == stimulus_set
    assert study.image_shapes == {"cat": (50, 100), "dog": (60, 80)}

    sessions = study.sessions.set_index("participant")
    # the last *accepted* validation counts (0.3, not the rejected 3.0)
    assert sessions.loc["01", "validation_error_deg"] == pytest.approx(0.3)
    # 2 of the 10 samples have no position
    assert sessions.loc["01", "samples_lost"] == pytest.approx(0.2)
    # only the practice trial dropped a frame, and it does not count: 0 of 1
    assert sessions.loc["01", "dropped_frame_trials"] == 0.0
    assert sessions.loc["01", "n_trials"] == 1 and sessions.loc["01", "n_practice"] == 1
    assert not sessions.loc["01", "excluded"] and sessions.loc["02", "excluded"]
    assert "validation error 1.50 deg > 1" in sessions.loc["02", "reasons"]

    trials = study.trials["free-viewing"]
    assert list(trials["participant"]) == ["01"] and list(trials["trial_id"]) == [1]
    # the cat is drawn at twice its native size: half the screen's px/deg in image pixels
    assert trials["px_per_deg_img"].iloc[0] == pytest.approx(PX_PER_DEG / 2)

    fix = study.fixations
    assert list(fix.columns) == list(STUDY_FIXATION_COLUMNS)
    # x_img = (x - left + 0.5) * native / drawn - 0.5: (100, 200) -> (-0.25, -0.25);
    # (299, 299) -> (99.25, 49.25); (200, 250) -> (49.75, 24.75)
    np.testing.assert_allclose(fix["x_img"], [-0.25, 99.25, 49.75])
    np.testing.assert_allclose(fix["y_img"], [-0.25, 49.25, 24.75])
    assert list(fix["fixation_index"]) == [0, 1, 2]
    assert (fix["participant"] == "01").all() and (fix["task"] == "free-viewing").all()

    counts = study.exclusion_counts().set_index("rule")
    assert counts.loc["practice", "n_trials"] == 2  # one per session
    assert counts.loc["practice", "n_fixations"] == 2  # the dog's fixation, twice
    rule = next(r for r in counts.index if r.startswith("validation error"))
    assert counts.loc[rule, "n_sessions"] == 1 and counts.loc[rule, "n_trials"] == 1


def test_dropped_frames_exclude_a_session(tmp_path: Path, stimulus_set: Path) -> None:
    root = tmp_path / "data"
    folder = _session(root, "01", stimulus_set)
    frames = [_FRAMES[0], _FRAMES[1], "1\timage\t60\t62\t2\t3.0\t1.033\t1.0"]
    (folder / "frames.tsv").write_text("\n".join(frames) + "\n", encoding="utf-8")
    study = load_study(root)
    assert study.sessions["dropped_frame_trials"].tolist() == [1.0]
    assert study.sessions["reasons"].tolist() == ["trials dropping frames 100.0% > 0.1"]
    assert study.participants() == ()


def test_rules_that_are_off_exclude_nothing(tmp_path: Path, stimulus_set: Path) -> None:
    root = tmp_path / "data"
    _session(root, "02", stimulus_set, error_deg=1.5)
    rules = ExclusionRules(max_validation_error_deg=None)
    study = load_study(root, rules=rules)
    assert not study.sessions["excluded"].any()
    assert study.participants() == ("02",)


def test_statuses_and_participants_by_hand(tmp_path: Path, stimulus_set: Path) -> None:
    root = tmp_path / "data"
    _session(root, "01", stimulus_set, status="aborted")
    _session(root, "02", stimulus_set)
    rules = ExclusionRules(statuses=("completed",), exclude_participants=("02",))
    study = load_study(root, rules=rules)
    reasons = study.sessions.set_index("participant")["reasons"]
    assert "status 'aborted' not in ['completed']" in reasons["01"]
    assert reasons["02"] == "participant excluded by hand"
    assert study.trials == {}


def test_sessions_naming_different_sets_need_one(tmp_path: Path, stimulus_set: Path) -> None:
    root = tmp_path / "data"
    _session(root, "01", stimulus_set)
    other = tmp_path / "other.h5"
    stimulus_set_copy = other.write_bytes(stimulus_set.read_bytes())
    assert stimulus_set_copy
    _session(root, "02", other)
    with pytest.raises(SessionDataError, match="name 2 stimulus sets"):
        load_study(root)
    assert load_study(root, stimulus_set=other).stimulus_set == other


def test_errors_name_what_is_wrong(tmp_path: Path, stimulus_set: Path) -> None:
    with pytest.raises(FileNotFoundError, match="No data root"):
        load_study(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=re.escape("sub-<participant>/ses-<session>")):
        load_study(tmp_path / "empty")
    root = tmp_path / "data"
    folder = _session(root, "01", stimulus_set)
    (folder / "session.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SessionDataError, match=r"session\.json: not valid JSON"):
        load_study(root)


def test_folders_that_are_not_sessions_are_left_out_with_a_warning(
    tmp_path: Path, stimulus_set: Path
) -> None:
    root = tmp_path / "data"
    _session(root, "01", stimulus_set)
    stray = root / "sub-01" / "ses-1" / "notes"
    stray.mkdir()
    (stray / "trials.tsv").write_text("a\n1\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="notes: not a task's session folder"):
        study = load_study(root)
    assert list(study.sessions["task"]) == ["free-viewing"]


def test_exclusion_rules_load_from_toml(tmp_path: Path) -> None:
    from selectivity.config import ConfigError, load_toml

    path = tmp_path / "rules.toml"
    path.write_text('max_samples_lost = "none"\nstatuses = ["completed"]\n', encoding="utf-8")
    rules = load_toml(path, ExclusionRules)
    assert rules.max_samples_lost is None and rules.statuses == ("completed",)
    path.write_text('statuses = ["finished"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"statuses.*'finished'"):
        load_toml(path, ExclusionRules)


def test_quality_table_has_one_row_per_session(tmp_path: Path, stimulus_set: Path) -> None:
    root = tmp_path / "data"
    _session(root, "01", stimulus_set)
    _session(root, "01", stimulus_set, task="saliency-search")
    study = load_study(root)
    assert isinstance(study.sessions, pd.DataFrame)
    assert sorted(study.sessions["task"]) == ["free-viewing", "saliency-search"]
    assert study.tasks == ("free-viewing", "saliency-search")


def test_the_shipped_study_configuration_states_the_defaults(repo_root: Path) -> None:
    """configs/study.toml says "the values below are the defaults": every section but [data]
    and [output] (paths) equals the built-in default."""
    import dataclasses

    from analysis.study import StudyConfig, load_study_config

    shipped = load_study_config(repo_root / "configs" / "study.toml")
    default = StudyConfig()
    for field in dataclasses.fields(StudyConfig):
        if field.name in ("path", "data", "folder"):
            continue
        assert getattr(shipped, field.name) == getattr(default, field.name), field.name
    assert shipped.data.root == repo_root / "configs" / ".." / "data"


def test_a_wrong_key_in_a_study_configuration_is_named(tmp_path: Path) -> None:
    from analysis.study import load_study_config
    from selectivity.config import ConfigError

    path = tmp_path / "study.toml"
    path.write_text("[comparison]\nsigmas = [1.0]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"study\.toml.*\[comparison\].*sigmas"):
        load_study_config(path)
    path.write_text('[maps.fixations]\nbandwidth = "wide"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bandwidth.*'wide'"):
        load_study_config(path)
