"""EyeLinkTracker through pylink's dummy connection, and its PsychoPy calibration display."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

pytest.importorskip(
    "pylink", reason="pylink (pip install sr-research-pylink) is needed to test the EyeLink tracker"
)
import pylink

from eyetracking import Screen, TrackerLinkLost, open_tracker
from eyetracking.trackers._eyelink_setup import (
    free_path,
    host_version,
    model_name,
    receive_edf,
    setup_commands,
)
from eyetracking.trackers.eyelink import MAX_MESSAGE_BYTES, EyeLinkTracker

REPO = Path(__file__).resolve().parents[2]
SCREEN = Screen(800, 600, width_cm=40.0, distance_cm=60.0)


class RecordingEyeLink(pylink.EyeLink):
    """pylink's real dummy connection, noting the calls the tracker makes after connecting."""

    fail: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def _note(self, name: str, *args: Any) -> None:
        if hasattr(self, "calls"):  # pylink's constructor sends commands before
            self.calls.append((name, args))
        if name == self.fail:
            raise RuntimeError(f"{name} failed on purpose")

    def sendCommand(self, text: str) -> Any:
        self._note("sendCommand", text)
        return super().sendCommand(text)

    def sendMessage(self, text: str, offset: int = 0) -> Any:
        self._note("sendMessage", text)
        return super().sendMessage(text, offset)

    def setOfflineMode(self) -> Any:
        self._note("setOfflineMode")
        return super().setOfflineMode()

    def openDataFile(self, name: str) -> Any:
        self._note("openDataFile", name)
        return super().openDataFile(name)

    def closeDataFile(self) -> Any:
        self._note("closeDataFile")
        return super().closeDataFile()

    def startRecording(self, *flags: int) -> Any:
        self._note("startRecording", *flags)
        return super().startRecording(*flags)

    def stopRecording(self) -> Any:
        self._note("stopRecording")
        return super().stopRecording()

    def close(self) -> Any:
        self._note("close")
        return super().close()


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[RecordingEyeLink]:
    """Make ``pylink.EyeLink`` a :class:`RecordingEyeLink`; the list gets each connection."""
    made: list[RecordingEyeLink] = []

    class Made(RecordingEyeLink):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(pylink, "EyeLink", Made)
    return made


def _names(calls: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    return [name for name, _ in calls]


@pytest.mark.parametrize(
    ("eye", "eye_commands"),
    [
        pytest.param("LEFT", ["binocular_enabled = NO", "active_eye = LEFT"], id="left"),
        pytest.param("RIGHT", ["binocular_enabled = NO", "active_eye = RIGHT"], id="right"),
        pytest.param("BOTH", ["binocular_enabled = YES"], id="both"),
    ],
)
def test_open_goes_offline_then_configures(
    spy: list[RecordingEyeLink], tmp_path: Path, eye: str, eye_commands: list[str]
) -> None:
    tracker = EyeLinkTracker(screen=SCREEN, dummy=True, sample_rate_hz=500, eye=eye)
    tracker.open(tmp_path / "eye", "S01_T1")
    calls = spy[0].calls
    names = _names(calls)
    assert names[0] == "setOfflineMode"
    assert ("openDataFile", ("S01_T1.EDF",)) in calls
    assert names.index("openDataFile") < names.index("sendCommand")
    commands = [args[0] for name, args in calls if name == "sendCommand"]
    assert commands[0].startswith("add_file_preamble_text ")
    for expected in [
        "screen_pixel_coords = 0 0 799 599",
        "calibration_type = HV9",
        "sample_rate 500",
        "file_sample_data = LEFT,RIGHT,GAZE,HREF,RAW,AREA,GAZERES,BUTTON,STATUS,INPUT",
        "file_event_filter = LEFT,RIGHT,FIXATION,SACCADE,BLINK,MESSAGE,BUTTON,INPUT",
        "link_sample_data = LEFT,RIGHT,GAZE,GAZERES,AREA,STATUS,INPUT",
        *eye_commands,
    ]:
        assert expected in commands
    assert sum(c.startswith("active_eye") for c in commands) == (eye != "BOTH")
    assert ("sendMessage", ("DISPLAY_COORDS 0 0 799 599",)) in calls
    assert tracker.close() == []


def test_dummy_session_runs_and_close_is_idempotent(
    spy: list[RecordingEyeLink], tmp_path: Path
) -> None:
    eye_dir = tmp_path / "eye"
    tracker = EyeLinkTracker(screen=SCREEN, dummy=True)
    tracker.open(eye_dir, "T01")
    tracker.start_trial(1)
    tracker.log_trial_vars({"image": "img10", "condition": "free"})
    tracker.start_recording()
    tracker.send_message("image_onset")
    tracker.stop_recording()
    tracker.stop_recording()  # already stopped: nothing happens
    tracker.end_trial()
    assert tracker.close() == []
    assert tracker.close() == []
    calls = spy[0].calls
    names = _names(calls)
    assert ("startRecording", (1, 1, 1, 1)) in calls
    assert names.count("stopRecording") == 1
    assert names.count("close") == 1
    messages = [args[0] for name, args in calls if name == "sendMessage"]
    assert messages[-5:] == [
        "TRIALID 1",
        "!V TRIAL_VAR image img10",
        "!V TRIAL_VAR condition free",
        "image_onset",
        "TRIAL_RESULT 0",
    ]
    assert eye_dir.is_dir()
    assert list(eye_dir.iterdir()) == []  # dummy mode records no EDF
    settings = tracker.settings()
    assert settings["kind"] == "eyelink"
    assert settings["dummy"] is True
    assert settings["edf_file"] is None
    assert "no EDF" in settings["note"]
    assert (settings["sample_rate_hz"], settings["calibration_type"], settings["eye"]) == (
        1000,
        "HV9",
        "LEFT",
    )
    with pytest.raises(RuntimeError, match="closed"):
        tracker.send_message("late")


def test_close_after_an_exception_in_the_with_block(
    spy: list[RecordingEyeLink], tmp_path: Path
) -> None:
    tracker = EyeLinkTracker(screen=SCREEN, dummy=True)
    with pytest.raises(KeyError, match="trial went wrong"), tracker:
        tracker.open(tmp_path, "T01")
        tracker.start_recording()
        raise KeyError("trial went wrong")
    names = _names(spy[0].calls)
    tail = names[names.index("stopRecording") :]
    assert [n for n in tail if n != "sendCommand"] == [
        "stopRecording",
        "setOfflineMode",
        "closeDataFile",
        "close",
    ]
    with pytest.raises(RuntimeError, match="closed"):
        tracker.time_ms()


def test_close_tries_every_step_and_raises_the_first_error(
    spy: list[RecordingEyeLink], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RecordingEyeLink, "fail", "closeDataFile")
    tracker = EyeLinkTracker(screen=SCREEN, dummy=True)
    tracker.open(tmp_path, "T01")
    tracker.start_recording()
    with pytest.raises(RuntimeError, match="closeDataFile failed on purpose"):
        tracker.close()
    names = _names(spy[0].calls)
    assert names[-2:] == ["closeDataFile", "close"]  # the disconnect still ran
    assert "stopRecording" in names
    assert tracker.close() == []  # second call: nothing left to do, no error


@pytest.mark.parametrize(
    "stem",
    [
        pytest.param("TOOLONG12", id="nine-characters"),
        pytest.param("bad-name", id="hyphen"),
        pytest.param("T01.EDF", id="extension"),
        pytest.param("", id="empty"),
        pytest.param("naïve", id="non-ascii"),
        pytest.param("a b", id="space"),
    ],
)
def test_invalid_edf_name_raises(stem: str, tmp_path: Path) -> None:
    tracker = EyeLinkTracker(screen=SCREEN, dummy=True)
    with pytest.raises(ValueError, match=r"'file_stem' parameter.*1 to 8 letters, digits"):
        tracker.open(tmp_path, stem)
    assert tracker.close() == []


@pytest.mark.parametrize("stem", ["A", "S01_T1", "abcdefgh", "12345678"])
def test_valid_edf_names_open(spy: list[RecordingEyeLink], stem: str, tmp_path: Path) -> None:
    with EyeLinkTracker(screen=SCREEN, dummy=True) as tracker:
        tracker.open(tmp_path, stem)
        assert ("openDataFile", (f"{stem}.EDF",)) in spy[0].calls
        assert tracker.settings()["dummy"] is True
    # after the block the file was closed on the Host PC; dummy mode brings no copy
    assert _names(spy[0].calls)[-2:] == ["closeDataFile", "close"]
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"sample_rate_hz": 300}, "'sample_rate_hz'.*300", id="sample-rate"),
        pytest.param({"calibration_type": "HV7"}, "'calibration_type'.*HV7", id="calibration"),
        pytest.param({"eye": "left"}, "'eye'.*'left'", id="eye-lower-case"),
        pytest.param({"address": "localhost"}, "'address'.*localhost", id="address"),
    ],
)
def test_invalid_options_raise(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        EyeLinkTracker(screen=SCREEN, **kwargs)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("x" * (MAX_MESSAGE_BYTES + 1), "at most 130 bytes.*131", id="too-long"),
        pytest.param("é" * 66, "at most 130 bytes.*132", id="too-many-utf8-bytes"),
        pytest.param("two\nlines", "one line", id="newline"),
        pytest.param("", "non-empty", id="empty"),
    ],
)
def test_invalid_messages_raise(text: str, match: str, tmp_path: Path) -> None:
    with EyeLinkTracker(screen=SCREEN, dummy=True) as tracker:
        tracker.open(tmp_path, "T01")
        tracker.send_message("x" * MAX_MESSAGE_BYTES)  # the longest allowed
        with pytest.raises(ValueError, match=match):
            tracker.send_message(text)


def test_calls_before_open_raise() -> None:
    tracker = EyeLinkTracker(screen=SCREEN, dummy=True)
    with pytest.raises(RuntimeError, match="call open"):
        tracker.start_recording()
    assert tracker.close() == []


def test_open_twice_raises(tmp_path: Path) -> None:
    with EyeLinkTracker(screen=SCREEN, dummy=True) as tracker:
        tracker.open(tmp_path, "T01")
        with pytest.raises(RuntimeError, match="already opened"):
            tracker.open(tmp_path, "T02")


def test_dummy_clock_is_pylinks_local_clock(tmp_path: Path) -> None:
    with EyeLinkTracker(screen=SCREEN, dummy=True) as tracker:
        tracker.open(tmp_path, "T01")
        before = pylink.currentDoubleUsec() / 1000.0
        now = tracker.time_ms()
        after = pylink.currentDoubleUsec() / 1000.0
    assert before <= now <= after


def test_open_tracker_route(tmp_path: Path) -> None:
    tracker = open_tracker(
        "eyelink", screen=SCREEN, dummy=True, calibration_type="HV13", eye="BOTH"
    )
    assert isinstance(tracker, EyeLinkTracker)
    with tracker:
        tracker.open(tmp_path, "T01")
        tracker.send_message("hello")
    settings = tracker.settings()
    assert (settings["kind"], settings["calibration_type"], settings["eye"]) == (
        "eyelink",
        "HV13",
        "BOTH",
    )


def test_connection_failure_names_address_and_dummy_mode(tmp_path: Path) -> None:
    # Nothing answers EyeLink's protocol on the loopback address; pylink gives up after ~3 s.
    tracker = EyeLinkTracker(screen=SCREEN, address="127.0.0.1")
    with pytest.raises(RuntimeError, match=r"127\.0\.0\.1.*cable.*dummy=True"):
        tracker.open(tmp_path, "T01")
    assert tracker.close() == []


def test_free_path_never_reuses_a_name(tmp_path: Path) -> None:
    wanted = tmp_path / "T01.edf"
    assert free_path(wanted) == wanted
    wanted.write_bytes(b"first")
    (tmp_path / "T01_1.edf").write_bytes(b"second")
    assert free_path(wanted) == tmp_path / "T01_2.edf"


@pytest.mark.parametrize(
    ("text", "major", "model"),
    [
        ("EYELINK CL 5.12", 5, "EyeLink 1000 Plus"),
        ("EYELINK II 2.31", 2, "EyeLink II"),
        ("EYELINK CL 4.594", 4, "EyeLink 1000"),
        ("", 0, None),
    ],
)
def test_host_version_and_model(text: str, major: int, model: str | None) -> None:
    assert host_version(text) == major
    assert model_name(major) == model


def test_setup_commands_for_a_newer_tracker_without_rate() -> None:
    commands = setup_commands(
        Screen(1920, 1080, width_cm=53.0, distance_cm=70.0),
        calibration_type="HV13",
        sample_rate_hz=None,
        eye="RIGHT",
        htarget=True,
    )
    assert commands[1:] == [
        "screen_pixel_coords = 0 0 1919 1079",
        "calibration_type = HV13",
        "file_event_filter = LEFT,RIGHT,FIXATION,SACCADE,BLINK,MESSAGE,BUTTON,INPUT,HTARGET",
        "file_sample_data = LEFT,RIGHT,GAZE,HREF,RAW,AREA,HTARGET,GAZERES,BUTTON,STATUS,INPUT",
        "link_event_filter = LEFT,RIGHT,FIXATION,SACCADE,BLINK,BUTTON,FIXUPDATE,INPUT,HTARGET",
        "link_sample_data = LEFT,RIGHT,GAZE,GAZERES,AREA,HTARGET,STATUS,INPUT",
        "binocular_enabled = NO",
        "active_eye = RIGHT",
    ]


class SendingEyeLink(pylink.EyeLink):
    """pylink's dummy connection whose Host PC 'sends' a file, as a real one would."""

    def receiveDataFile(self, src: str, dest: str) -> int:
        Path(dest).write_bytes(b"EDF " + src.encode())
        return 4 + len(src)


def test_receive_edf_keeps_an_existing_file(tmp_path: Path) -> None:
    connection = SendingEyeLink(None)
    try:
        (tmp_path / "S01.edf").write_bytes(b"earlier session")
        with pytest.warns(UserWarning, match=r"S01\.edf exists and is kept.*S01_1\.edf"):
            local = receive_edf(connection, "S01.EDF", tmp_path)
    finally:
        connection.close()
    assert local == tmp_path / "S01_1.edf"
    assert local.read_bytes() == b"EDF S01.EDF"
    assert (tmp_path / "S01.edf").read_bytes() == b"earlier session"


def test_receive_edf_says_where_the_file_still_is(tmp_path: Path) -> None:
    connection = pylink.EyeLink(None)  # dummy mode transfers nothing
    try:
        with pytest.raises(RuntimeError, match=r"S01\.EDF.*still on the Host PC"):
            receive_edf(connection, "S01.EDF", tmp_path / "eye")
    finally:
        connection.close()


# --- The trial protocol in dummy mode ------------------------------------------------------
# Before the window tests: in one process, pylink's pumpDelay (start_recording) crashes
# after an earlier tracker's closeGraphics (seen with pylink 2.2.596.0).


class ProtocolEyeLink(RecordingEyeLink):
    """Dummy connection whose Host PC answers are scripted by the test (dummy mode has none)."""

    drift_codes: ClassVar[list[int]] = []
    message = ""
    connected = -1
    send_code = 0
    receive_ok_at = 0  # attempt that writes the file; 0 = never

    def doDriftCorrect(self, *args: Any) -> Any:
        self._note("doDriftCorrect", *args)
        return self.drift_codes.pop(0)

    def doTrackerSetup(self, *args: Any) -> Any:  # dummy's own spins without keys
        self._note("doTrackerSetup")
        return 0

    def getCalibrationResult(self) -> Any:
        return 0

    def getCalibrationMessage(self) -> Any:
        return self.message

    def isConnected(self) -> Any:
        return self.connected

    def sendMessage(self, text: str, offset: int = 0) -> Any:
        self._note("sendMessage", text)
        return self.send_code

    def receiveDataFile(self, host: str, local: str) -> Any:
        self._note("receiveDataFile", host, local)
        if sum(name == "receiveDataFile" for name, _ in self.calls) == self.receive_ok_at:
            Path(local).write_bytes(b"EDF")
            return 3
        raise RuntimeError("link timeout")


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> list[ProtocolEyeLink]:
    made: list[ProtocolEyeLink] = []

    class Made(ProtocolEyeLink):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(pylink, "EyeLink", Made)
    return made


def _opened(tmp_path: Path, **kwargs: Any) -> EyeLinkTracker:
    tracker = EyeLinkTracker(screen=SCREEN, dummy=True, transfer_pause_s=0, **kwargs)
    tracker.open(tmp_path, "T01")
    tracker._use_window = lambda win: None  # type: ignore[method-assign]  # no PsychoPy here
    return tracker


def test_drift_check_escape_recalibrates_then_repeats(
    host: list[ProtocolEyeLink], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ProtocolEyeLink, "drift_codes", [pylink.ESC_KEY, 0])
    monkeypatch.setattr(
        ProtocolEyeLink,
        "message",
        "DRIFTCORRECT L LEFT  at 400,300  OFFSET 0.45 deg.  -3.0,12.5 pix.",
    )
    tracker = _opened(tmp_path)
    result = tracker.drift_check(None, 400, 300)
    names = _names(host[0].calls)
    assert names.count("doDriftCorrect") == 2 and names.count("doTrackerSetup") == 1
    assert ("doDriftCorrect", (400, 300, 1, 0)) in host[0].calls
    assert result["accepted"] and result["result"] == "ok" and result["attempts"] == 2
    assert result["recalibrated"] and len(result["calibrations"]) == 1
    assert result["eyes"] == {"LEFT": {"offset_deg": 0.45, "offset_px": [-3.0, 12.5]}}
    assert result["offset_deg"] == 0.45
    monkeypatch.setattr(ProtocolEyeLink, "drift_codes", [pylink.ESC_KEY] * 2)
    failed = tracker.drift_check(None, 400, 300, max_attempts=2)
    assert failed["result"] == "failed" and not failed["accepted"] and failed["attempts"] == 2
    tracker.close()


def test_calibration_message_becomes_values(
    host: list[ProtocolEyeLink], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        "!CAL VALIDATION HV9 R RIGHT POOR ERROR 1.41 avg. 2.87 max  OFFSET 0.20 deg. 3.1,-4.2 pix."
    )
    monkeypatch.setattr(ProtocolEyeLink, "message", text)
    tracker = _opened(tmp_path, eye="RIGHT")
    tracker.dummy = False  # judge the scripted answer as a real tracker's
    result = tracker.calibrate(None)
    tracker.dummy = True
    right = result["eyes"]["RIGHT"]
    assert (right["validation"], right["error_avg_deg"], right["error_max_deg"]) == (
        "POOR",
        1.41,
        2.87,
    )
    assert right["offset_px"] == [3.1, -4.2] and result["message"] == text
    assert result["result"] == "ok" and result["accepted"] is False  # a POOR validation
    tracker.close()


def test_wait_for_fixation_in_dummy_mode_returns_at_once(host: list, tmp_path: Path) -> None:
    tracker = _opened(tmp_path)
    with pytest.raises(RuntimeError, match="start_recording"):
        tracker.wait_for_fixation(None, 400, 300, radius_px=30, duration_s=0.2, timeout_s=5)
    tracker.start_recording()
    result = tracker.wait_for_fixation(None, 400, 300, radius_px=30, duration_s=0.2, timeout_s=5)
    assert result["result"] == "no samples (dummy mode)" and result["n_frames"] == 0
    tracker.close()


def test_failed_edf_transfer_is_retried_then_recorded(
    host: list[ProtocolEyeLink], tmp_path: Path
) -> None:
    tracker = _opened(tmp_path, transfer_attempts=3)
    tracker.dummy = False  # dummy mode makes no file and skips the transfer
    assert tracker.close() == []  # raises nothing
    assert _names(host[0].calls).count("receiveDataFile") == 3
    failure = tracker.transfer_failure
    assert failure is not None and tracker.settings()["transfer_failure"] == failure
    assert failure["host_file"] == "T01.EDF" and failure["attempts"] == 3
    assert failure["local_file"] == str(tmp_path / "T01.edf")
    assert "link timeout" in failure["error"]
    command = failure["fetch_command"]
    assert "pylink.EyeLink('100.1.1.1')" in command
    assert f"receiveDataFile('T01.EDF', '{tmp_path / 'T01.edf'}')" in command
    assert command in failure["message"] and "Data Viewer" in failure["message"]


def test_edf_transfer_succeeding_on_a_retry(
    host: list[ProtocolEyeLink], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ProtocolEyeLink, "receive_ok_at", 2)
    tracker = _opened(tmp_path)
    tracker.dummy = False
    assert tracker.close() == [tmp_path / "T01.edf"]
    assert tracker.transfer_failure is None


def test_link_loss_is_detected_and_closing_keeps_quiet(
    host: list[ProtocolEyeLink], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = _opened(tmp_path)
    tracker.dummy = False
    tracker.check_link()  # connected
    monkeypatch.setattr(ProtocolEyeLink, "connected", 0)
    monkeypatch.setattr(ProtocolEyeLink, "send_code", -1)
    with pytest.raises(TrackerLinkLost, match="Ethernet"):
        tracker.check_link()
    with pytest.raises(TrackerLinkLost):
        tracker.send_message("TRIALID 4")
    monkeypatch.setattr(RecordingEyeLink, "fail", "closeDataFile")  # would raise, link up
    assert tracker.close() == []  # raises nothing after link loss
    assert tracker.settings()["link_lost"] is True
    assert tracker.transfer_failure is not None


# --- In a real PsychoPy window (Xvfb under pytest-xvfb) -----------------------------------


@pytest.fixture(scope="module")
def win(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(tmp_path_factory.mktemp("home")))  # PsychoPy writes ~/.psychopy3
        visual = pytest.importorskip("psychopy.visual", reason="PsychoPy is not installed")
        window = visual.Window(
            size=(800, 600), units="pix", fullscr=False, checkTiming=False, color=(0, 0, 0)
        )
        yield window
        window.close()


@pytest.fixture
def display(win: Any) -> Any:
    from eyetracking.trackers._eyelink_graphics import PsychoPyCalibrationDisplay

    return PsychoPyCalibrationDisplay(win, screen_size_px=(800, 600), target_size_px=40)


@pytest.fixture
def frames(win: Any, monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    """Back buffer at each ``win.flip()``, as ``(600, 800, 3)`` uint8 arrays, row 0 on top."""
    shots: list[np.ndarray] = []
    flip = win.flip

    def capture(*args: Any, **kwargs: Any) -> Any:
        shots.append(np.asarray(win.getMovieFrame(buffer="back"))[..., :3].copy())
        win.movieFrames.clear()
        return flip(*args, **kwargs)

    win.flip()  # start from a cleared back buffer
    monkeypatch.setattr(win, "flip", capture)
    return shots


@pytest.mark.window
def test_calibration_target_is_drawn_where_pylink_asks(display: Any, frames: list) -> None:
    display.draw_cal_target(200, 150)
    (frame,) = frames
    background = frame[590, 790].astype(int)
    assert abs(background - 128).max() <= 1  # mid-grey window
    ring = frame[150, 200 + 14]  # inside the 40 px disc, outside its 10 px hole
    assert ring.tolist() == [0, 0, 0]  # black on a light background
    assert abs(frame[150, 200].astype(int) - background).max() <= 1  # the hole
    assert frame[450, 214].astype(int).tolist() == background.tolist()  # y is not flipped
    assert frame[150, 614].astype(int).tolist() == background.tolist()  # x is not mirrored
    display.erase_cal_target()
    assert abs(frames[-1][150, 214].astype(int) - background).max() <= 1


@pytest.mark.window
def test_camera_image_is_drawn_from_palette_lines(display: Any, frames: list) -> None:
    width, height = 64, 48
    assert display.setup_image_display(width, height) == 1
    display.set_image_palette([0, 255, 0], [0, 0, 255], [0, 0, 0])  # black, red, green
    display.image_title("camera: left eye")
    for line in range(1, height + 1):
        index = 1 if line <= height // 2 else 2  # top half red, bottom half green
        display.draw_image_line(width, line, height, bytes([index] * width))
    frame = frames[-1]
    assert frame[300 - 20, 400].tolist() == [255, 0, 0]  # above the centre: top half
    assert frame[300 + 20, 400].tolist() == [0, 255, 0]
    assert abs(frame[5, 5].astype(int) - 128).max() <= 1  # outside the image


@pytest.mark.window
def test_dummy_keyboard_reads_nothing_then_escape(win: Any) -> None:
    from eyetracking.trackers._eyelink_graphics import PsychoPyCalibrationDisplay

    display = PsychoPyCalibrationDisplay(win, screen_size_px=(800, 600), dummy=True)
    for _ in range(2):  # twice: a second Setup menu must return too
        polls = [display.get_input_key() for _ in range(4)]
        assert polls[:3] == [None, None, None]
        escape = polls[3]
        assert escape is not None
        (key,) = escape
        assert (key.__key__, key.__mod__) == (pylink.ESC_KEY, 0)


@pytest.mark.window
@pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool injects the key presses")
def test_keys_reach_pylink_codes(win: Any, display: Any) -> None:
    win.flip()
    keys = ["c", "Return", "Escape", "Up", "shift+v"]
    subprocess.run(
        ["xdotool", "key", "--window", str(win.winHandle._window), *keys], check=True, timeout=30
    )
    got: list[tuple[int, int]] = []
    for _ in range(200):  # bounded polling, not a timing assertion
        got += [(k.__key__, k.__mod__) for k in display.get_input_key() or []]
        if len(got) >= len(keys):
            break
        win.flip()
        time.sleep(0.01)
    assert got == [
        (ord("c"), 0),
        (pylink.ENTER_KEY, 0),
        (pylink.ESC_KEY, 0),
        (pylink.CURS_UP, 0),
        (ord("v"), 1),
    ]


@pytest.mark.window
def test_drift_check_is_skipped_in_dummy_mode(win: Any, tmp_path: Path, caplog: Any) -> None:
    with EyeLinkTracker(screen=SCREEN, dummy=True) as tracker:
        tracker.open(tmp_path, "T01")
        with caplog.at_level("INFO", logger="eyetracking.trackers.eyelink"):
            result = tracker.drift_check(win, 400.4, 299.6)
    assert result["result"] == "skipped"
    assert (result["x_px"], result["y_px"]) == (400, 300)
    assert "Invalid tracker mode" in result["message"]
    assert "drift check skipped" in caplog.text


_CALIBRATE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from psychopy import visual
    from eyetracking import Screen, TrackerLinkLost, open_tracker

    win = visual.Window(size=(800, 600), units="pix", fullscr=False, checkTiming=False)
    screen = Screen(800, 600, width_cm=40.0, distance_cm=60.0)
    with open_tracker("eyelink", screen=screen, dummy=True) as tracker:
        tracker.open(Path(sys.argv[1]), "CAL")
        results = [tracker.calibrate(win), tracker.calibrate(win)]
    win.close()
    print("RESULT " + json.dumps(results))
    """
)


@pytest.mark.window
def test_calibrate_returns_in_dummy_mode(tmp_path: Path) -> None:
    # pylink's dummy Setup menu can spin forever in C, where no thread can stop
    # it; a child process with a generous timeout turns a hang into a failure.
    env = {**os.environ, "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", _CALIBRATE, str(tmp_path / "eye")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("RESULT "))
    results = json.loads(line.removeprefix("RESULT "))
    for result in results:
        assert result["calibration_type"] == "HV9"
        assert result["result"] == "no result"
        assert "dummy" in result["note"]
