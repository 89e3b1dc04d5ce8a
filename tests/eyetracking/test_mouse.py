"""MouseTracker under Xvfb: the pointer, moved with xdotool, read back from the ASC file."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from eyetracking import MouseTracker, Screen, read_asc

SCREEN = Screen(800, 600, width_cm=40.0, distance_cm=60.0)
pytestmark = [
    pytest.mark.window,
    pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool moves the pointer"),
]


@pytest.fixture(scope="module")
def win(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(tmp_path_factory.mktemp("home")))
        visual = pytest.importorskip("psychopy.visual", reason="PsychoPy is not installed")
        window = visual.Window(size=(800, 600), units="pix", fullscr=False, checkTiming=False)
        yield window
        window.close()


def _flips(win: Any, n: int) -> None:
    """``n`` flips, paced: Xvfb has no vsync, and samples share the tracker's 1 ms ticks."""
    for _ in range(n):
        win.flip()
        time.sleep(0.002)


def _move(win: Any, x: int, y: int) -> None:
    """Put the pointer at window pixel (x, y), origin top-left, and let pyglet see it."""
    handle = str(win.winHandle._window)
    subprocess.run(["xdotool", "mousemove", "--window", handle, str(x), str(y)], check=True)
    _flips(win, 5)


def test_samples_at_flips_read_back_where_the_pointer_was(win: Any, tmp_path: Path) -> None:
    tracker = MouseTracker(screen=SCREEN)
    tracker.open(tmp_path, "mouse")
    assert tracker.calibrate(win)["accepted"]  # attaches the window
    tracker.start_trial(1)
    _move(win, 100, 150)  # not recording: no samples yet
    tracker.start_recording()
    _flips(win, 10)
    _move(win, 600, 450)
    _flips(win, 10)
    tracker.stop_recording()
    tracker.end_trial(0)
    assert tracker.close() == [tmp_path / "mouse.asc"]
    rec = read_asc(tmp_path / "mouse.asc")
    samples = rec.samples
    assert len(samples) == tracker.settings()["n_samples"] >= 20
    assert samples["time"].is_monotonic_increasing
    # the pointer's two places, in order: every sample at the first until the move is seen
    # (on which flip pyglet sees it depends on the X server), then every one at the second
    positions = list(zip(samples["x"], samples["y"], strict=True))
    assert set(positions) == {(100.0, 150.0), (600.0, 450.0)}
    moved = positions.index((600.0, 450.0))
    assert moved >= 9 and positions[:moved] == [(100.0, 150.0)] * moved
    assert positions[moved:] == [(600.0, 450.0)] * (len(positions) - moved)
    assert len(positions) - moved >= 10
    assert rec.trials["trial_id"].astype(str).tolist() == ["1"]
    assert len(rec.fixations) == 0  # raw samples only, by design


def test_wait_for_fixation_follows_the_pointer(win: Any, tmp_path: Path) -> None:
    tracker = MouseTracker(screen=SCREEN)
    tracker.open(tmp_path, "fix")
    tracker.attach(win)
    tracker.start_recording()
    _move(win, 400, 300)
    result = tracker.wait_for_fixation(win, 405, 296, radius_px=20, duration_s=0.05, timeout_s=10.0)
    assert result["result"] == "fixated" and result["time_to_fixate_s"] == 0.0
    _move(win, 50, 50)
    away = tracker.wait_for_fixation(win, 400, 300, radius_px=20, duration_s=0.05, timeout_s=0.2)
    assert away["result"] == "timeout" and away["n_samples"] >= 1
    tracker.close()
