"""Patch rating: subsets that cover the grid, the patch's pixels and mass, a simulated session
whose ratings follow the planted mass, the lab configuration without a tracker, the patch on
the screen."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from runtime_helpers import ImagesOnly, without_tracker

from tasks.config import ExperimentConfig
from tasks.patch_rating import (
    TASK,
    PatchRatingConfig,
    disc_mask,
    items,
    patch_masses,
    patch_pixels,
    run,
    subset_items,
)
from tasks.runtime.task import FRAME_COLUMNS

CONFIG = "patch_rating_simulated.toml"
SIZE = 60


def _stimuli() -> ImagesOnly:
    return ImagesOnly({i: np.zeros((40, 50, 3), np.uint8) for i in ("a", "b", "c")})


@pytest.mark.parametrize("subsets", [1, 3, 4, 7])
def test_consecutive_participants_rate_every_patch_once(subsets: int) -> None:
    settings = PatchRatingConfig(grid=(5, 4), subsets=subsets, catch_trials=3)
    design = items(settings, _stimuli())
    assert len(design) == 60 and not any(t["catch"] for t in design)
    keys = [(t["image_id"], t["position"]) for t in design]
    assert len(set(keys)) == 60
    rated: list[tuple[str, int]] = []
    for n in range(10, 10 + subsets):
        mine = subset_items(settings, _stimuli(), n)
        patches = [t for t in mine if not t["catch"]]
        # the same share for everyone (60 / subsets, within one), from every image
        assert len(patches) in (60 // subsets, -(-60 // subsets)), n
        if subsets <= 4:
            assert {t["image_id"] for t in patches} == {"a", "b", "c"}
        rated += [(t["image_id"], t["position"]) for t in patches]
        catch = [t for t in mine if t["catch"]]
        assert len(catch) == 3 and [t["image_id"] for t in catch] == ["a", "b", "c"]
        assert all(t["subset"] is None for t in catch)
    assert sorted(rated) == sorted(keys)  # every patch once over `subsets` participants
    # the participant number decides, modulo the subsets
    assert subset_items(settings, _stimuli(), 3) == subset_items(settings, _stimuli(), 3 + subsets)


def test_disc_and_patch_pixels() -> None:
    # the lattice points with x^2 + y^2 <= 4: 1 + 4 + 4 + 4 = 13
    disc = disc_mask((11, 9), (5, 4), 2.0)
    assert disc.shape == (9, 11) and disc.sum() == 13
    assert disc[4, 3] and disc[4, 7] and disc[2, 5] and not disc[3, 3]  # (-2, -1): 5 > 4
    assert not disc[2, 4]  # (1, 2): 1 + 4 > 4
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (9, 11, 3), dtype=np.uint8)
    rgba = patch_pixels(image, (5, 4), 2.0)
    assert (rgba[..., 3] == np.where(disc, 255, 0)).all()
    assert (rgba[..., :3] == image).all()
    scrambled = patch_pixels(image, (5, 4), 2.0, scramble=np.random.default_rng(1))
    # the disc's pixels shuffled among themselves, nothing else touched
    assert (scrambled[~disc] == rgba[~disc]).all()
    inside = sorted(map(tuple, rgba[disc, :3]))
    assert sorted(map(tuple, scrambled[disc, :3])) == inside
    assert not (scrambled[disc] == rgba[disc]).all()


def test_patch_masses_equal_the_disc_sums() -> None:
    rng = np.random.default_rng(4)
    planted = rng.random((30, 40))
    centres = [(0, 0), (20, 15), (39, 29), (3, 27)]
    expected = [planted[disc_mask((40, 30), c, 5.5)].sum() for c in centres]
    np.testing.assert_allclose(patch_masses(planted, centres, 5.5), expected, rtol=1e-12)


@pytest.fixture
def ramp_stimulus_set(tmp_path: Path) -> Path:
    """Two 60 x 60 images, the planted map rising from the left edge: planted[:, x] = x."""
    from stimuli import write_stimulus_set

    rng = np.random.default_rng(5)
    images = {i: rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8) for i in ("a", "b")}
    planted = np.tile(np.arange(SIZE, dtype=float), (SIZE, 1))
    path = tmp_path / "ramp.h5"
    write_stimulus_set(
        path,
        images,
        labels={"a": "a", "b": "b"},
        maps={"simulation/truth": dict.fromkeys(images, planted)},
        provenance={"simulation/truth": {"method": "planted ramp along x"}},
    )
    return path


@pytest.mark.window
def test_simulated_ratings_rise_with_the_planted_mass(
    fast_config: Callable[..., ExperimentConfig],
    ramp_stimulus_set: Path,
    tmp_path: Path,
    quick_answers: float,
) -> None:
    """The shipped simulated configuration rates 50 patches and 4 catch patches; the ratings'
    Spearman correlation with the planted mass in the patch passes a threshold.

    The 5 x 5 grid puts the patch centres at x = 6, 18, 30, 42, 54 on the ramp
    ``planted[:, x] = x``; the radius (0.2 deg, 5.5 image px) keeps the discs on the image, so
    a patch's mass is ``x`` times its area and the evidence is ``e = x / 54``: 0.11 ... 1, ten
    patches each. The model rates ``round(1 + 5 e + N(0, 0.6^2))`` clipped to 1..6: mean
    ratings about 1.6, 2.7, 3.8, 4.9 and 5.8, whose Spearman correlation with ``e`` is about
    0.9 (between-level variance 25 var(e) = 2.5 against noise and rounding 0.36 + 1/12).

    *Threshold.* For a participant ignoring the map, Spearman's rho over n = 50 patches is
    about N(0, 1/(n - 1)); the threshold ``4 / sqrt(n - 1)`` = 0.57 is passed with
    probability < 1e-4. The model's rho (0.9; Fisher z = 1.47, SD 1 / sqrt(n - 3) = 0.15)
    lies 5 SD above it (z(0.57) = 0.65). The same ratings against a decoy mass (a ramp down
    the rows, unrelated to the planted one) stay under it.

    *Catch patches* have e = 0: the rating is 1 unless the noise passes 0.5 (P = 0.2) and
    never above 2 unless it passes 1.5 (P = 0.006 each).
    """
    from scipy.stats import spearmanr

    config = fast_config(
        ramp_stimulus_set,
        name=CONFIG,
        grid=(5, 5),
        subsets=1,
        catch_trials=4,
        patch_radius_deg=0.2,
        fixation_duration_s=0.02,
        iti_s=0.02,
    )
    folder = run(config, participant="05", data_root=tmp_path / "data", windowed=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    assert info["participant_model"]["response_model"] == TASK.response_model

    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    assert list(trials.columns) == list(TASK.trial_columns)
    assert len(trials) == 54 and (trials["timed_out"] == 0).all()
    assert trials["rating"].between(1, 6).all() and trials["rt_s"].ge(0.15).all()
    radius = 0.2 * info["screen"]["px_per_deg"]
    assert np.allclose(trials["patch_radius_px"], radius, atol=1e-3)
    frames = pd.read_csv(folder / "frames.tsv", sep="\t")
    assert list(frames.columns) == list(FRAME_COLUMNS)
    assert list(frames["phase"][:3]) == ["fixation", "patch", "iti"]

    catch = trials[trials["catch"] == 1]
    assert len(catch) == 4 and (catch["rating"] <= 2).all(), list(catch["rating"])
    rated = trials[trials["catch"] == 0]
    assert len(rated) == 50
    grid = [(x, y) for y in (6, 18, 30, 42, 54) for x in (6, 18, 30, 42, 54)]
    assert set(zip(rated["patch_x_px"], rated["patch_y_px"], strict=True)) == set(grid)
    planted = np.tile(np.arange(SIZE, dtype=float), (SIZE, 1))
    centres = list(zip(rated["patch_x_px"], rated["patch_y_px"], strict=True))
    mass = patch_masses(planted, centres, radius)
    threshold = 4 / np.sqrt(len(rated) - 1)
    rho = spearmanr(rated["rating"], mass).statistic
    assert rho > threshold, (rho, threshold)
    decoy = patch_masses(planted.T, centres, radius)
    assert spearmanr(rated["rating"], decoy).statistic < threshold


@pytest.mark.window
def test_lab_config_runs_without_a_tracker(
    fast_config: Callable[..., ExperimentConfig],
    ramp_stimulus_set: Path,
    tmp_path: Path,
    quick_answers: float,
) -> None:
    """configs/patch_rating.toml with ``[tracker] kind = "none"`` and a simulated participant."""
    config = fast_config(ramp_stimulus_set, name="patch_rating.toml", grid=(2, 2), catch_trials=1)
    assert config.lab.tracker.kind == "eyelink"
    folder = run(without_tracker(config), participant="06", data_root=tmp_path, windowed=True)
    assert json.loads((folder / "session.json").read_text())["status"] == "completed"
    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    # participant 6 of 4 subsets rates subset 2 (one patch per image here), plus a catch patch
    main = trials[trials["practice"] == 0]
    assert len(main) == 3 and list(main["catch"]).count(1) == 1
    assert set(main["subset"].dropna()) == {2}


@pytest.mark.window
def test_the_patch_is_the_image_on_its_disc_alone(repo_root: Path) -> None:
    """Screenshot: on the screen, exactly the image pixels of the disc (centre, radius) show,
    each where it is in the image; the rest of the image's rectangle is the background."""
    from eyetracking.protocol import ImagePlacement
    from tasks.config import load_config
    from tasks.runtime.display import open_window
    from tasks.runtime.trial import image_stim

    display = load_config(repo_root / "configs" / CONFIG).lab.display
    rng = np.random.default_rng(7)
    # bright colours, far from the grey background
    image = rng.integers(160, 256, (30, 40, 3), dtype=np.uint8)
    place = ImagePlacement.centered(display.resolution_px, (40, 30), scale=1.0)
    with open_window(display, windowed=True, check_timing=False) as win:
        stim = image_stim(win, patch_pixels(image, (12, 17), 6.5), place, display.resolution_px)
        win.clearBuffer()
        stim.draw()
        shot = np.asarray(win.getMovieFrame(buffer="back"))[:, :, :3].astype(int)
        win.flip()
    top, left = int(place.top_px), int(place.left_px)
    drawn = shot[top : top + 30, left : left + 40]
    disc = disc_mask((40, 30), (12, 17), 6.5)
    assert (drawn[disc] == image[disc]).all()
    assert (drawn[~disc] == np.array(display.background)).all()
    # nothing outside the image's rectangle
    outside = np.abs(shot - np.array(display.background)).max(axis=2) > 0
    outside[top : top + 30, left : left + 40] = False
    assert not outside.any()
