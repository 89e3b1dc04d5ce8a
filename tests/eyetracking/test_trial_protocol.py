"""The per-trial EyeLink protocol through the simulated tracker and NoTracker, read back."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from eyetracking import (
    IMAGE_ONSET,
    ImagePlacement,
    NoTracker,
    Screen,
    SimulatedFaults,
    SimulatedObserver,
    SimulatedTracker,
    TrackerLinkLost,
    open_tracker,
    read_asc,
)
from eyetracking.trackers import TrackerLinkLost as Lost2

SCREEN = Screen(1024, 768, width_cm=40.0, distance_cm=60.0)
OBSERVER = SimulatedObserver({"img": np.ones((3, 4))})
FRAME_S = 1 / 60
PLACEMENT = ImagePlacement.centered(SCREEN.size_px, (400, 300))


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class FakeWindow:
    """Stands for a PsychoPy window: each flip advances the fake clock by one 60 Hz frame."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.flips = clock, 0

    def flip(self) -> None:
        self.flips += 1
        self.clock.t += FRAME_S


def tracker(tmp_path: Path, *, eye: str = "LEFT", **faults) -> tuple[SimulatedTracker, FakeClock]:
    clock = FakeClock()
    t = SimulatedTracker(
        screen=SCREEN,
        observer=OBSERVER,
        eye=eye,
        seed=3,
        clock=clock,
        faults=SimulatedFaults(**faults),
    )
    t.open(tmp_path, "prot")
    return t, clock


def close_with_a_block(t: SimulatedTracker, clock: FakeClock) -> None:
    """Record 0.1 s, then close: ``read_asc`` wants samples in a file."""
    t.start_recording()
    clock.t += 0.1
    t.stop_recording()
    t.close()


def test_link_lost_is_exported_once() -> None:
    assert TrackerLinkLost is Lost2 and issubclass(TrackerLinkLost, RuntimeError)


def test_drift_failure_recalibrates_then_passes_and_reads_back(tmp_path: Path) -> None:
    t, clock = tracker(tmp_path, eye="BOTH", drift_failures=1)
    result = t.drift_check(None, 512.4, 383.6)
    close_with_a_block(t, clock)
    assert (result["x_px"], result["y_px"]) == (512, 384)
    assert result["result"] == "ok" and result["accepted"] is True
    assert result["attempts"] == 2 and result["recalibrated"] is True
    assert len(result["calibrations"]) == 1 and result["calibrations"][0]["accepted"]
    drift = read_asc(tmp_path / "prot.asc").drift_checks
    assert len(drift) == 4  # 2 attempts x 2 eyes, one DRIFTCORRECT line each
    first, last = drift.iloc[:2], drift.iloc[2:]
    assert (first["offset_deg"] > 2.0).all()  # the injected 3-degree failure
    for (_, row), eye in zip(last.iterrows(), ("LEFT", "RIGHT"), strict=True):
        want = result["eyes"][eye]
        assert row["eye"] == eye[0]
        assert row["offset_deg"] == want["offset_deg"]
        assert [row["offset_x_px"], row["offset_y_px"]] == want["offset_px"]
        assert (row["target_x_px"], row["target_y_px"]) == (512, 384)
    assert result["offset_deg"] == max(e["offset_deg"] for e in result["eyes"].values())
    assert result["message"].count("DRIFTCORRECT") == 2  # the last attempt's lines


def test_drift_check_gives_up_after_max_attempts(tmp_path: Path) -> None:
    t, clock = tracker(tmp_path, drift_failures=10)
    result = t.drift_check(None, 100, 100, max_attempts=3)
    close_with_a_block(t, clock)
    assert result["result"] == "failed" and result["accepted"] is False
    assert result["attempts"] == 3 and len(result["calibrations"]) == 2
    assert len(read_asc(tmp_path / "prot.asc").drift_checks) == 3


def test_calibration_values_equal_what_read_asc_reads(tmp_path: Path) -> None:
    t, clock = tracker(tmp_path, eye="BOTH", calibration_failures=1)
    poor = t.calibrate(None)
    clock.t += 1.0  # points belong to the latest validation at or before them
    good = t.calibrate(None)
    close_with_a_block(t, clock)
    assert (poor["accepted"], poor["result"]) == (False, "poor")
    assert (good["accepted"], good["result"]) == (True, "ok")
    rec = read_asc(tmp_path / "prot.asc")
    val, points = rec.validations, rec.validation_points
    assert len(val) == 4
    for i, result in enumerate((poor, good)):
        for j, eye in enumerate(("LEFT", "RIGHT")):
            row = val.iloc[2 * i + j]
            want = result["eyes"][eye]
            assert row["eye"] == eye[0] and row["result"] == want["validation"]
            assert (row["error_avg_deg"], row["error_max_deg"]) == (
                want["error_avg_deg"],
                want["error_max_deg"],
            )
            mine = points[points["validation"] == 2 * i + j]
            assert mine["offset_deg"].tolist() == [p["offset_deg"] for p in want["points"]]
            assert mine["target_x_px"].tolist() == [p["x_px"] for p in want["points"]]
            assert "!CAL VALIDATION" in result["message"]
    assert poor["eyes"]["LEFT"]["validation"] == "POOR"
    assert rec.calibrations["type"].tolist() == ["HV9"] * 4


def test_fixation_at_the_eyes_position_takes_the_duration(tmp_path: Path) -> None:
    t, clock = tracker(tmp_path)
    win = FakeWindow(clock)
    drawn: list[int] = []
    t.start_recording()
    result = t.wait_for_fixation(
        win, 512, 384, radius_px=40, duration_s=0.3, timeout_s=2.0, draw=lambda: drawn.append(1)
    )
    t.stop_recording()
    t.close()
    assert result["result"] == "fixated" and result["fixated"]
    assert result["time_to_fixate_s"] == 0.0  # the simulated eye starts on the centre
    # 0.3 s at 60 Hz: the first sample inside is at flip 1, the run completes at flip 19.
    assert win.flips == len(drawn) == result["n_frames"] == 19
    assert result["elapsed_s"] == pytest.approx(18 * FRAME_S)


def test_fixation_elsewhere_waits_for_the_saccade(tmp_path: Path) -> None:
    t, clock = tracker(tmp_path)
    t.start_recording()
    result = t.wait_for_fixation(
        FakeWindow(clock), 200, 200, radius_px=40, duration_s=0.1, timeout_s=5.0
    )
    # At least the shortest fixation (50 ms) plus the saccade's 21 ms intercept.
    assert result["result"] == "fixated" and result["time_to_fixate_s"] >= 0.071
    again = t.wait_for_fixation(
        FakeWindow(clock), 200, 200, radius_px=40, duration_s=0.1, timeout_s=5.0
    )
    assert again["time_to_fixate_s"] == 0.0  # the eye is now there
    t.close()


def test_fixation_fault_times_out(tmp_path: Path) -> None:
    t, clock = tracker(tmp_path, fixation_timeouts=1)
    win = FakeWindow(clock)
    t.start_recording()
    result = t.wait_for_fixation(win, 512, 384, radius_px=40, duration_s=0.2, timeout_s=1.0)
    assert result["result"] == "timeout" and not result["fixated"]
    assert result["time_to_fixate_s"] is None
    assert result["elapsed_s"] >= 1.0 and win.flips == 61  # 1 s of 60 Hz frames, then one
    assert t.wait_for_fixation(win, 512, 384, radius_px=40, duration_s=0.2, timeout_s=1.0)[
        "fixated"
    ]
    t.close()


def test_fixation_needs_recording(tmp_path: Path) -> None:
    t, clock = tracker(tmp_path)
    with pytest.raises(RuntimeError, match="start_recording"):
        t.wait_for_fixation(FakeWindow(clock), 1, 1, radius_px=4, duration_s=0.1, timeout_s=1)
    t.close()


@pytest.mark.parametrize(
    ("options", "match"),
    [
        pytest.param({"radius_px": 0}, "'radius_px'", id="radius"),
        pytest.param({"duration_s": -1}, "'duration_s'", id="duration"),
        pytest.param({"timeout_s": 0}, "'timeout_s'", id="timeout"),
    ],
)
def test_no_tracker_returns_at_once_and_checks_options(options: dict, match: str) -> None:
    win = FakeWindow(FakeClock())
    kwargs = {"radius_px": 10, "duration_s": 0.1, "timeout_s": 1.0}
    result = NoTracker().wait_for_fixation(win, 5, 6, **kwargs)
    assert result["result"] == "no tracker" and win.flips == 0
    with pytest.raises(ValueError, match=match):
        NoTracker().wait_for_fixation(win, 5, 6, **{**kwargs, **options})
    NoTracker().check_link()  # never raises


def _trial(t: SimulatedTracker, clock: FakeClock, trial_id: int) -> None:
    t.check_link()
    t.start_trial(trial_id)
    t.log_image("img", "images/img.png", PLACEMENT)
    t.start_recording()
    clock.t += 0.2
    t.send_message(IMAGE_ONSET)
    clock.t += 0.5
    t.stop_recording()
    t.end_trial(0)


def test_link_lost_at_a_trial_keeps_the_finished_trials(tmp_path: Path) -> None:
    t, clock = tracker(tmp_path, lose_link_at_trial=3)
    _trial(t, clock, 1)
    _trial(t, clock, 2)
    with pytest.raises(TrackerLinkLost, match="resume"):
        _trial(t, clock, 3)
    with pytest.raises(TrackerLinkLost):
        t.check_link()
    with pytest.raises(TrackerLinkLost):
        t.send_message("after the loss")
    assert t.close() == [tmp_path / "prot.asc"]  # closing raises nothing
    assert t.settings()["link_lost"] is True
    rec = read_asc(tmp_path / "prot.asc")
    assert rec.trials["trial_id"].astype(str).tolist() == ["1", "2"]
    assert "after the loss" not in (tmp_path / "prot.asc").read_text()


def test_link_lost_mid_recording_writes_the_block_so_far(tmp_path: Path) -> None:
    # DISPLAY_COORDS, written by open(), is not a sent message: TRIALID is the 1st, the 4th is lost.
    t, clock = tracker(tmp_path, lose_link_at_message=4)
    t.start_trial(1)
    t.log_image("img", "images/img.png", PLACEMENT)  # !V IMGLOAD, the 2nd
    t.start_recording()
    clock.t += 0.2
    t.send_message(IMAGE_ONSET)
    clock.t += 0.3
    with pytest.raises(TrackerLinkLost):
        t.send_message("lost")
    t.stop_recording()  # nothing left to stop: no error
    t.close()
    rec = read_asc(tmp_path / "prot.asc")
    assert len(rec.samples) == pytest.approx(500, abs=2)  # 0.5 s at 1000 Hz
    assert "lost" not in rec.messages["text"].tolist()


def test_failed_transfer_withholds_the_file_and_says_how_to_fetch_it(tmp_path: Path) -> None:
    t, clock = tracker(tmp_path, fail_transfer=True)
    _trial(t, clock, 1)
    assert t.close() == []
    failure = t.transfer_failure
    assert failure is not None and t.settings()["transfer_failure"] == failure
    assert failure["host_file"] == "prot.EDF"
    assert failure["local_file"] == str(tmp_path / "prot.asc")
    assert not (tmp_path / "prot.asc").exists()
    assert (tmp_path / "prot.asc.pending").exists()
    assert failure["fetch_command"] in failure["message"]
    subprocess.run(failure["fetch_command"], shell=True, check=True)
    assert read_asc(tmp_path / "prot.asc").trials["trial_id"].astype(str).tolist() == ["1"]


def test_faults_can_be_injected_mid_session(tmp_path: Path) -> None:
    t, _ = tracker(tmp_path)
    assert t.drift_check(None, 512, 384)["attempts"] == 1
    t.faults = SimulatedFaults(drift_failures=1)
    assert t.drift_check(None, 512, 384)["attempts"] == 2
    assert t.settings()["faults"]["drift_failures"] == 1
    t.close()


@pytest.mark.parametrize(
    ("faults", "match"),
    [
        pytest.param({"drift_failures": -1}, "'drift_failures'", id="negative"),
        pytest.param({"lose_link_at_trial": 0}, "'lose_link_at_trial'", id="zeroth"),
        pytest.param({"drift_failure_deg": 1.0}, "'drift_failure_deg'", id="below-limit"),
        pytest.param({"fail_transfer": "yes"}, "'fail_transfer'", id="not-bool"),
    ],
)
def test_bad_faults_raise(faults: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SimulatedFaults(**faults)


def test_open_tracker_passes_faults_and_makes_a_mouse(tmp_path: Path) -> None:
    t = open_tracker(
        "simulated", screen=SCREEN, observer=OBSERVER, faults=SimulatedFaults(fail_transfer=True)
    )
    assert t.faults.fail_transfer  # type: ignore[attr-defined]
    assert open_tracker("mouse", screen=SCREEN).kind == "mouse"
