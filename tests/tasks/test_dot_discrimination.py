"""Dot-shift discrimination: grid and balance, shift directions, a simulated session whose
accuracy follows the planted map, the lab configuration without a tracker and on EyeLink's
dummy connection, the dot on the screen."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from runtime_helpers import ImagesOnly, without_tracker

from selectivity.config import ConfigError
from tasks._grid import grid_points
from tasks.config import ExperimentConfig
from tasks.dot_discrimination import (
    TASK,
    DotDiscriminationConfig,
    dot_evidence,
    items,
    participant_items,
    run,
    shift_offset,
)
from tasks.runtime.task import FRAME_COLUMNS

CONFIG = "dot_discrimination_simulated.toml"
#: The session's set: 64 x 64 px images, the planted map 1 on the left half, 0 on the right.
SIZE = 64


def _stimuli() -> ImagesOnly:
    return ImagesOnly({"a": np.zeros((48, 64, 3), np.uint8), "b": np.zeros((30, 90, 3), np.uint8)})


def test_grid_points_are_the_cells_centres() -> None:
    # 64 px in 4 columns: cells of 16 px, centres at 8, 24, 40, 56; 48 px in 3 rows likewise
    assert grid_points((64, 48), (4, 3))[:5] == [(8, 8), (24, 8), (40, 8), (56, 8), (8, 24)]
    assert grid_points((64, 48), (4, 3))[-1] == (56, 40)
    # 5 px in 2 columns: centres at 1.25 and 3.75, in pixels 1 and 3 (integer = pixel centre)
    assert grid_points((5, 1), (2, 1)) == [(1, 0), (3, 0)]
    with pytest.raises(ValueError, match=r"'grid' parameter.*1\.\.5 columns.*\[6, 1\]"):
        grid_points((5, 1), (6, 1))


def test_every_position_gets_both_conditions_across_two_participants() -> None:
    settings = DotDiscriminationConfig(grid=(3, 3))
    design = items(settings, _stimuli())
    assert len(design) == 18
    by_participant = {n: participant_items(settings, _stimuli(), n) for n in (6, 7)}
    for n, mine in by_participant.items():
        # every participant sees every (image, position) once, half of them shifted (9 of 18)
        assert [(t["image_id"], t["position"]) for t in mine] == [
            (t["image_id"], t["position"]) for t in design
        ]
        assert sum(t["shifted"] for t in mine) == 9, n
        # within an image too (within one): 5 + 4
        for image in ("a", "b"):
            assert sum(t["shifted"] for t in mine if t["image_id"] == image) in (4, 5)
    # consecutive numbers: each position shifted for one and unchanged for the other
    for even, odd in zip(by_participant[6], by_participant[7], strict=True):
        assert {even["shifted"], odd["shifted"]} == {0, 1}
    # the parity decides: participant 8 repeats participant 6
    assert participant_items(settings, _stimuli(), 8) == by_participant[6]


def test_a_shift_that_would_leave_the_image_is_redrawn() -> None:
    rng = np.random.default_rng(3)
    # from the top-left corner pixel only directions into the image (dx, dy >= 0) are drawn
    corner = [shift_offset(rng, (0, 0), 10.0, (100, 100)) for _ in range(300)]
    assert all(dx >= 0 and dy >= 0 for dx, dy in corner)
    assert all(abs(np.hypot(dx, dy) - 10.0) <= np.sqrt(0.5) for dx, dy in corner)
    # in the middle every quadrant comes up
    middle = [shift_offset(rng, (50, 50), 10.0, (100, 100)) for _ in range(300)]
    assert {(np.sign(dx), np.sign(dy)) for dx, dy in middle} >= {(1, 1), (1, -1), (-1, 1), (-1, -1)}
    # from the middle of the left edge: only the right half-plane
    edge = [shift_offset(rng, (0, 50), 20.0, (100, 100)) for _ in range(200)]
    assert all(dx >= 0 for dx, _ in edge) and {np.sign(dy) for _, dy in edge} == {-1, 0, 1}
    with pytest.raises(ConfigError, match=r"shift_deg: a shift of 150\.0 image px leaves"):
        shift_offset(rng, (50, 50), 150.0, (100, 100))


def test_dot_evidence_is_the_planted_value_over_the_maximum() -> None:
    planted = np.array([[0.0, 1.0], [2.0, 4.0]])
    assert dot_evidence(planted, (0, 1)) == 0.5  # (x, y) = column 0, row 1
    assert dot_evidence(planted, (1, 1)) == 1.0
    assert dot_evidence(planted, (0, 0)) == 0.0
    assert dot_evidence(np.zeros((2, 2)), (0, 0)) == 0.0


def test_same_keys_are_refused(tmp_path: Path) -> None:
    from tasks.config import load_config

    path = tmp_path / "task.toml"
    path.write_text(
        '[task]\nname = "dot-discrimination"\nshifted_key = "x"\nunchanged_key = "x"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"unchanged_key: must differ from shifted_key"):
        load_config(path)


@pytest.fixture
def halves_stimulus_set(tmp_path: Path) -> Path:
    """Two 64 x 64 images, the planted map 1 on the left half (columns 0-31), 0 on the right."""
    from stimuli import write_stimulus_set

    rng = np.random.default_rng(2)
    images = {i: rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8) for i in ("a", "b")}
    planted = np.zeros((SIZE, SIZE))
    planted[:, : SIZE // 2] = 1.0
    path = tmp_path / "halves.h5"
    write_stimulus_set(
        path,
        images,
        labels={"a": "a", "b": "b"},
        maps={"simulation/truth": dict.fromkeys(images, planted)},
        provenance={"simulation/truth": {"method": "planted left half"}},
    )
    return path


@pytest.mark.window
def test_simulated_accuracy_is_higher_on_the_planted_map(
    fast_config: Callable[..., ExperimentConfig],
    halves_stimulus_set: Path,
    tmp_path: Path,
    quick_answers: float,
) -> None:
    """The shipped simulated configuration runs 64 trials; accuracy is higher where the
    planted map is.

    The grid is 8 x 4 over the 64 x 64 px images: dots at x = 4, 12, ..., 60, the 4 left
    columns on the planted half (evidence e = 1: always right) and the 4 right columns off
    it (e = 0: right with probability 1/2). With n_low = 32 trials off the map, the
    accuracy difference high - low is 1 - p_low, p_low ~ Binomial(32, 1/2) / 32: mean 1/2,
    SD 0.5 / sqrt(32) = 0.088. The test asks for more than 1/2 - 3 SD (0.235).

    *A participant ignoring the map fails*: with any accuracy p the same everywhere, the
    difference has mean 0 and SD sqrt(p (1 - p) (1/32 + 1/32)) <= 0.125, so it passes with
    probability < 3 %; with a uniform planted map (e = 1 everywhere) the difference is 0.
    The same rows split by a decoy (top half vs bottom half, both half on the map) stay
    under the threshold.
    """
    config = fast_config(
        halves_stimulus_set,
        name=CONFIG,
        grid=(8, 4),
        fixation_duration_s=0.02,
        first_duration_s=0.05,
        delay_duration_s=0.05,
        iti_s=0.02,
        image_scale=2.0,
        shift_deg=0.5,
    )
    folder = run(config, participant="03", data_root=tmp_path / "data", windowed=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    assert info["participant_model"]["response_model"] == TASK.response_model
    assert info["participant_model"]["rt_median_s"] == quick_answers

    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    assert list(trials.columns) == list(TASK.trial_columns)
    assert list(trials["trial_id"]) == list(range(1, 65))
    assert (trials["timed_out"] == 0).all() and trials["rt_s"].ge(0.15).all()
    # participant 3 (odd): item i = (image, position) is shifted when i + 3 is odd
    i = np.where(trials["image_id"] == "a", 0, 32) + trials["position"]
    assert ((i + 3) % 2 == trials["shifted"]).all()
    assert trials["shifted"].sum() == 32
    # shifted dots moved by shift_deg (in image pixels at scale 2), and stayed on the image
    shift_px = 0.5 * info["screen"]["px_per_deg"] / 2.0
    moved = trials[trials["shifted"] == 1]
    length = np.hypot(moved["shift_dx_px"], moved["shift_dy_px"])
    assert (abs(length - shift_px) <= np.sqrt(0.5)).all(), (length, shift_px)
    for axis, d in (("dot_x_px", "shift_dx_px"), ("dot_y_px", "shift_dy_px")):
        assert ((trials[axis] + trials[d]) >= 0).all() and ((trials[axis] + trials[d]) < SIZE).all()
    still = trials[trials["shifted"] == 0]
    assert (still["shift_dx_px"] == 0).all() and (still["shift_dy_px"] == 0).all()
    assert (
        ((trials["response"] == "shifted").astype(int) == trials["shifted"])
        .eq(trials["correct"] == 1)
        .all()
    )

    frames = pd.read_csv(folder / "frames.tsv", sep="\t")
    assert list(frames.columns) == list(FRAME_COLUMNS)
    assert list(frames["phase"][:5]) == ["fixation", "first", "delay", "second", "iti"]
    planned = frames.groupby("phase")["frames_planned"].unique()
    assert list(planned["first"]) == [3] and list(planned["delay"]) == [3]  # 0.05 s at 60 Hz

    on_map = trials["dot_x_px"] < SIZE // 2
    n_low = int((~on_map).sum())
    assert n_low == 32
    threshold = 0.5 - 3 * 0.5 / np.sqrt(n_low)
    difference = trials["correct"][on_map].mean() - trials["correct"][~on_map].mean()
    assert trials["correct"][on_map].mean() == 1.0  # e = 1: always right
    assert difference > threshold, (difference, threshold)
    top = trials["dot_y_px"] < SIZE // 2
    decoy = trials["correct"][top].mean() - trials["correct"][~top].mean()
    assert decoy < threshold, decoy


@pytest.mark.window
def test_lab_config_runs_without_a_tracker(
    fast_config: Callable[..., ExperimentConfig],
    halves_stimulus_set: Path,
    tmp_path: Path,
    quick_answers: float,
) -> None:
    """configs/dot_discrimination.toml with ``[tracker] kind = "none"`` and a simulated
    participant: the lab's task settings (drift checks, practice with feedback) run."""
    config = fast_config(
        halves_stimulus_set,
        name="dot_discrimination.toml",
        grid=(2, 1),
        first_duration_s=0.05,
        delay_duration_s=0.05,
        delay="mask",
    )
    assert config.lab.tracker.kind == "eyelink"
    folder = run(without_tracker(config), participant="02", data_root=tmp_path, windowed=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    assert list(trials["practice"]) == [1, 1, 0, 0, 0, 0]
    assert set(trials["delay"]) == {"mask"}
    assert trials["response"].isin(["shifted", "unchanged"]).all()
    frames = pd.read_csv(folder / "frames.tsv", sep="\t")
    assert "feedback" in set(frames["phase"])


@pytest.mark.window
def test_lab_config_runs_with_eyelink_in_dummy_mode(
    fast_config: Callable[..., ExperimentConfig],
    halves_stimulus_set: Path,
    tmp_path: Path,
    pressing: Callable[..., object],
) -> None:
    """configs/dot_discrimination.toml on pylink's dummy connection, a person answering:
    xdotool presses SPACE, which is made the "shifted" key here, so it answers too."""
    pytest.importorskip("pylink")
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is needed to answer in the window")
    config = fast_config(
        halves_stimulus_set,
        name="dot_discrimination.toml",
        grid=(1, 1),
        first_duration_s=0.05,
        delay_duration_s=0.05,
        practice_trials=0,
        shifted_key="space",
    )
    lab = dataclasses.replace(
        config.lab, tracker=dataclasses.replace(config.lab.tracker, dummy=True)
    )
    with pressing("space"):  # type: ignore[attr-defined]
        folder = run(
            dataclasses.replace(config, lab=lab),
            participant="04",
            data_root=tmp_path,
            windowed=True,
        )
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    assert info["simulated"] is False and info["tracker"]["dummy"] is True
    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    assert list(trials["trial_id"]) == [1, 2]
    assert (trials["response"] == "shifted").all()
    assert (trials["correct"] == trials["shifted"]).all()


@pytest.mark.window
def test_the_dot_is_drawn_on_its_image_pixel(repo_root: Path) -> None:
    """Screenshot: the red disc's centroid is the screen position of the dot's image pixel
    (image drawn at scale 2: pixel (x, y) covers screen [left + 2x, left + 2x + 2))."""
    from eyetracking.protocol import ImagePlacement
    from tasks.config import load_config
    from tasks.dot_discrimination import _dot
    from tasks.runtime.display import open_window

    display = load_config(repo_root / "configs" / CONFIG).lab.display
    place = ImagePlacement.centered(display.resolution_px, (40, 30), scale=2.0)
    with open_window(display, windowed=True, check_timing=False) as win:
        ctx = dataclasses.make_dataclass("Ctx", ["win", "screen"])(win, display.geometry)
        stim = _dot(ctx, place, (10, 20), 6.0)  # type: ignore[arg-type]
        win.clearBuffer()
        stim.draw()
        shot = np.asarray(win.getMovieFrame(buffer="back"))[:, :, :3].astype(int)
        win.flip()
    red = (shot[..., 0] > 200) & (shot[..., 1] < 60) & (shot[..., 2] < 60)
    rows, cols = np.nonzero(red)
    # the centre of image pixel 10 at scale 2: screen pixels left + 20 and left + 21, so x =
    # left + 20.5 (and y = top + 40.5)
    assert abs(cols.mean() - (place.left_px + 20.5)) <= 0.25
    assert abs(rows.mean() - (place.top_px + 40.5)) <= 0.25
    # a disc of radius 6 px: about pi 36 = 113 pixels
    assert abs(red.sum() - np.pi * 36) <= 12


def test_a_label_without_a_number_is_refused(
    fast_config: Callable[..., ExperimentConfig], halves_stimulus_set: Path, tmp_path: Path
) -> None:
    """The positions' conditions follow the participant number: a label needs digits (the
    runtime asks Task.participant_items before it opens anything)."""
    from tasks.runtime.schedule import ScheduleError

    config = fast_config(halves_stimulus_set, name=CONFIG)
    with pytest.raises(ScheduleError, match=r"no digits"):
        run(config, participant="abc", data_root=tmp_path / "data", windowed=True)
    assert not (tmp_path / "data").exists()
