"""Human-map estimators: known answers by hand, planted recovery, bandwidth choice, reliability."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from analysis import fixation_map
from analysis.human_maps import (
    ESTIMATORS,
    DiscriminationSettings,
    FixationSettings,
    HumanMapsError,
    MapSettings,
    PatchRatingSettings,
    SerialReproductionSettings,
    accuracy_surface,
    chain_density,
    estimate_human_maps,
    fixation_density,
    load_map_settings,
    patch_rating_map,
    split_half_reliability,
)
from analysis.human_maps._bandwidth import Points, density_scores
from analysis.metrics import cc
from selectivity.config import ConfigError


def fixation_table(rows, *, task="free-viewing", px_per_deg=10.0):
    """Rows of (participant, image_id, x, y), one trial per participant and image, in order."""
    df = pd.DataFrame(rows, columns=["participant", "image_id", "x_img", "y_img"])
    df["task"] = task
    df["session"] = "1"
    df["trial_id"] = df.groupby(["participant", "image_id"]).ngroup()
    df["fixation_index"] = df.groupby(["participant", "image_id"]).cumcount() + 1
    df["duration_ms"] = 250.0
    df["px_per_deg_img"] = px_per_deg
    return df


def fixed(sigma_deg, **kw):
    return FixationSettings(sigma_deg=sigma_deg, bandwidth="fixed", exclude_first=False, **kw)


# ---------------------------------------------------------------- known answers by hand


def test_one_fixation_is_a_gaussian_whose_sigma_in_pixels_comes_from_degrees():
    """sigma = 1 deg at 3 image px/deg is 3 px: along the fixation's row the map falls as
    exp(-d^2 / (2 * 9)), e.g. d = 3 px -> exp(-0.5) = 0.6065 of the peak; the map sums to 1."""
    df = fixation_table([("01", "a", 15, 10)], px_per_deg=3.0)
    result = fixation_density(df, {"a": (21, 31)}, fixed(1.0))
    m = result.maps["a"]
    assert m.shape == (21, 31) and m.dtype == np.float64
    assert m.sum() == pytest.approx(1.0)
    assert np.unravel_index(np.argmax(m), m.shape) == (10, 15)
    for d in (1, 3, 6):
        assert m[10, 15 + d] / m[10, 15] == pytest.approx(math.exp(-(d**2) / 18), rel=1e-12)
        assert m[10 - d, 15] / m[10, 15] == pytest.approx(math.exp(-(d**2) / 18), rel=1e-12)
    assert result.parameters["sigma_px"] == {"a": 3.0}
    assert result.counts == {"a": 1}
    assert result.participants == ("01",)


def test_first_and_short_fixations_are_dropped_and_counted():
    df = fixation_table([("01", "a", 5, 5), ("01", "a", 20, 5), ("01", "a", 25, 5)])
    df["fixation_index"] = [0, 1, 2]
    df["duration_ms"] = [300.0, 50.0, 300.0]
    opts = FixationSettings(sigma_deg=0.1, exclude_first=True, min_duration_ms=100.0)
    result = fixation_density(df, {"a": (11, 31)}, opts)
    assert result.counts == {"a": 1}
    assert result.excluded == {"first_fixation": 1, "short_fixation": 1}
    assert np.unravel_index(np.argmax(result.maps["a"]), (11, 31)) == (5, 25)


def test_task_column_selects_the_measure():
    df = pd.concat(
        [
            fixation_table([("01", "a", 5, 5)], task="free-viewing"),
            fixation_table([("01", "a", 20, 5)], task="object-search"),
        ]
    )
    result = fixation_density(df, {"a": (11, 31)}, fixed(0.1), measure="object-search")
    assert result.measure == "object-search" and result.source == "human/object-search"
    assert np.unravel_index(np.argmax(result.maps["a"]), (11, 31)) == (5, 20)


def dot_trials(rows, px_per_deg=2.0):
    df = pd.DataFrame(rows, columns=["participant", "image_id", "dot_x_px", "dot_y_px", "correct"])
    df["px_per_deg_img"] = px_per_deg
    df["timed_out"] = 0
    return df


def test_accuracy_surface_of_two_dots_worked_out_by_hand():
    """s = 1 deg at 2 px/deg = 2 px; dots at x = 2 (correct) and x = 8 (wrong) on row 2; a = 1,
    p0 = 0.5. At the first dot: w1 = 1, w2 = exp(-36/8) = exp(-4.5), so A = (1 + 0.5) / (1 +
    exp(-4.5) + 1) = 0.74169. Half way (x = 5): w1 = w2 = exp(-9/8), so A = (w + 0.5) / (2 w + 1)
    = 0.5 exactly. At the second dot: A = (exp(-4.5) + 0.5) / (1 + exp(-4.5) + 1) = 0.25831."""
    df = dot_trials([("01", "a", 2, 2, 1), ("01", "a", 8, 2, 0)])
    opts = DiscriminationSettings(bandwidth="fixed", bandwidth_deg=1.0, pseudo_counts=1.0)
    m = accuracy_surface(df, {"a": (5, 11)}, opts).maps["a"]
    e = math.exp(-4.5)
    assert m[2, 2] == pytest.approx(1.5 / (2 + e), rel=1e-12)
    assert m[2, 5] == pytest.approx(0.5, rel=1e-12)
    assert m[2, 8] == pytest.approx((e + 0.5) / (2 + e), rel=1e-12)
    # One row up from the first dot: w1 = exp(-1/8), w2 = exp(-(36 + 1)/8).
    w1, w2 = math.exp(-1 / 8), math.exp(-37 / 8)
    assert m[1, 2] == pytest.approx((w1 + 0.5) / (w1 + w2 + 1), rel=1e-12)


def test_accuracy_surface_drops_timed_out_trials_and_is_chance_far_away():
    """Without a pseudo-count the lone answered dot gives 1 on its pixel; the timed-out wrong
    trial would have pulled it to 1 / 2. Beyond 4 sigma (8 px) of every dot the surface is p0."""
    df = dot_trials([("01", "a", 2, 2, 1), ("01", "a", 2, 2, 0), ("01", "a", 3, 3, np.nan)])
    df.loc[1, "timed_out"] = 1
    opts = DiscriminationSettings(bandwidth="fixed", bandwidth_deg=1.0, pseudo_counts=0.0)
    result = accuracy_surface(df, {"a": (5, 30)}, opts)
    assert result.excluded == {"timed_out": 1, "no_answer": 1}
    assert result.counts == {"a": 1}
    assert result.maps["a"][2, 2] == pytest.approx(1.0)
    assert result.maps["a"][2, 25] == 0.5


def patch_trials(rows, px_per_deg=4.0):
    cols = ["participant", "image_id", "patch_x_px", "patch_y_px", "patch_radius_px", "rating"]
    df = pd.DataFrame(rows, columns=cols)
    df["catch"] = 0
    df["px_per_deg_img"] = px_per_deg
    return df


def test_patch_map_of_two_overlapping_discs_worked_out_by_hand():
    """Disc A: centre (3, 2), r = 2, rating 2; disc B: centre (5, 2), r = 2, rating 6; image 5 x 9.
    Row 2: A covers columns 1-5, B columns 3-7: so 2, 2 at columns 1-2, (2 + 6)/2 = 4 at 3-5, 6 at
    6-7. Row 1: A covers 2-4, B 4-6: 2 at 2-3, 4 at 4, 6 at 5-6. Row 0: A covers 3, B covers 5.
    Uncovered pixels with "mean": the mean rating (2 + 6) / 2 = 4; with "nearest": (2, 0) takes
    (2, 1)'s 2 and (2, 8) takes (2, 7)'s 6. A catch patch (rating 1 over everything) is ignored.
    Each disc has 5 + 2 * 3 + 2 * 1 = 13 pixels, 5 shared (3 on row 2, 1 each on rows 1 and 3):
    45 - (26 - 5) = 24 pixels are uncovered."""
    df = patch_trials([("01", "a", 3, 2, 2, 2), ("02", "a", 5, 2, 2, 6), ("01", "a", 4, 2, 9, 1)])
    df.loc[2, "catch"] = 1
    opts = PatchRatingSettings(sigma_deg=0.0, uncovered="mean")
    result = patch_rating_map(df, {"a": (5, 9)}, opts)
    m = result.maps["a"]
    expected = np.full((5, 9), 4.0)
    expected[2, 1:3], expected[2, 3:6], expected[2, 6:8] = 2, 4, 6
    expected[1, 2:4], expected[1, 4], expected[1, 5:7] = 2, 4, 6
    expected[3] = expected[1]
    expected[0, 3], expected[0, 5] = 2, 6
    expected[4] = expected[0]
    np.testing.assert_array_equal(m, expected)
    assert result.excluded == {"catch": 1}
    assert result.counts == {"a": 2}
    assert result.parameters["uncovered_pixels"] == {"a": 45 - (2 * 13 - 5)}
    nearest = patch_rating_map(df, {"a": (5, 9)}, PatchRatingSettings(sigma_deg=0.0)).maps["a"]
    assert nearest[2, 0] == 2 and nearest[2, 8] == 6
    covered = expected != 4
    np.testing.assert_array_equal(nearest[covered], expected[covered])


def test_patch_map_smoothing_keeps_a_constant_map_and_the_mean():
    """Reflected edges: a map that is constant stays constant after smoothing."""
    df = patch_trials([("01", "a", 4, 4, 20, 3)])
    m = patch_rating_map(df, {"a": (9, 9)}, PatchRatingSettings(sigma_deg=1.0)).maps["a"]
    np.testing.assert_allclose(m, 3.0, rtol=1e-12)


def chain_trials(rows, px_per_deg=2.0):
    cols = ["participant", "image_id", "generation", "response_x_px", "response_y_px"]
    df = pd.DataFrame(rows, columns=cols)
    df["answered"] = 1
    df["accepted"] = 1
    df["px_per_deg_img"] = px_per_deg
    return df


def test_chain_density_ignores_early_generations_and_rejected_nodes():
    """Only the generation-3 node at (10, 6) counts: the map is one Gaussian of 1 deg x 2 px/deg
    = 2 px there, summing to 1 (exp(-1/8) of the peak one pixel away)."""
    df = chain_trials(
        [
            ("01", "a", 1, 2, 2),
            ("02", "a", 2, 18, 10),
            ("01", "a", 3, 10, 6),
            ("02", "a", 4, 3, 3),
        ]
    )
    df.loc[3, "accepted"] = 0
    opts = SerialReproductionSettings(from_generation=3, sigma_deg=1.0)
    result = chain_density(df, {"a": (13, 21)}, opts)
    m = result.maps["a"]
    assert result.counts == {"a": 1}
    assert result.excluded == {"not_accepted": 1, "early_generation": 2}
    assert result.participants == ("01",)
    assert m.sum() == pytest.approx(1.0)
    assert m[6, 11] / m[6, 10] == pytest.approx(math.exp(-1 / 8), rel=1e-12)
    np.testing.assert_allclose(
        m, fixation_map([[10, 6]], (13, 21), px_per_deg=2.0, sigma_deg=1.0), rtol=1e-12
    )
    assert result.parameters["from_generation"] == 3


# ---------------------------------------------------------------- bandwidth by likelihood


def test_held_out_density_equals_the_map_of_the_other_participants():
    """The LOPO score reads fixation_map's own density at held-out points: recomputed here
    from the maps (including mass lost at the border), the two agree to rounding."""
    rng = np.random.default_rng(0)
    shape = (30, 40)
    rows, cols = rng.integers(0, 30, 12), rng.integers(0, 40, 12)
    groups = np.repeat([0, 1, 2], 4)
    scores, n = density_scores([Points(rows, cols, groups, shape, 5.0)], [0.8])
    total = 0.0
    for g in range(3):
        others = np.column_stack([cols[groups != g], rows[groups != g]])
        m = fixation_map(others, shape, px_per_deg=5.0, sigma_deg=0.8)
        q = (1 - 1e-3) * m + 1e-3 / m.size
        total += np.log2(q[rows[groups == g], cols[groups == g]] * m.size).sum()
    assert n == 12
    assert scores[0] == pytest.approx(total / 12, rel=1e-10)


def paired_fixations(s_px, *, n_centres=200, seed=1):
    """Two participants each fixate every centre once, off by N(0, s^2) per axis."""
    rng = np.random.default_rng(seed)
    centres = np.array([(40 + 60 * i, 40 + 60 * j) for i in range(20) for j in range(10)])
    rows = []
    for who in ("01", "02"):
        xy = centres[:n_centres] + rng.normal(0, s_px, size=(n_centres, 2))
        rows += [(who, "a", x, y) for x, y in xy]
    return fixation_table(rows, px_per_deg=10.0), {"a": (640, 1240)}


def test_lopo_chooses_the_bandwidth_worked_out_by_hand():
    """With one other participant, the density at a held-out fixation is (1 / M) phi_h(d), d the
    offset between the two participants' fixations of that centre, d ~ N(0, 2 s^2 + 2/12) per
    axis (the 1/12: rounding to pixels). The mean log-likelihood -2 log h - E|d|^2 / (2 h^2)
    is largest at h^2 = E|d|^2 / 2 = 2 s^2 + 1/6: for s = 4 px, h = 5.67 px = 0.567 deg at 10
    px/deg. M = 200 centres give h to about 4 % (|d|^2 / (2 var) ~ Exp(1)): within 0.1 deg."""
    df, shapes = paired_fixations(4.0)
    candidates = tuple(np.round(np.arange(0.3, 0.951, 0.05), 2))
    opts = FixationSettings(bandwidth="lopo", candidates_deg=candidates, exclude_first=False)
    result = fixation_density(df, shapes, opts)
    chosen = result.parameters["sigma_deg"]
    assert abs(chosen - math.sqrt(2 * 16 + 1 / 6) / 10) <= 0.1
    assert result.parameters["candidates_deg"] == list(candidates)
    scores = result.parameters["scores_bits"]
    assert scores[candidates.index(chosen)] == max(scores)
    assert scores[-1] < max(scores) and scores[0] < max(scores)


def test_lopo_warns_when_the_choice_is_on_an_edge():
    df, shapes = paired_fixations(4.0)
    opts = FixationSettings(bandwidth="lopo", candidates_deg=(0.2, 0.3, 0.4), exclude_first=False)
    with pytest.warns(UserWarning, match=r"0\.4 deg, is the largest"):
        result = fixation_density(df, shapes, opts)
    assert result.parameters["sigma_deg"] == 0.4


def test_lopo_ties_go_to_the_smaller_candidate():
    """Participants fixating far apart give every candidate the same (uniform-floor) score."""
    df = fixation_table([("01", "a", 5, 5), ("02", "a", 195, 195)])
    opts = FixationSettings(bandwidth="lopo", candidates_deg=(0.1, 0.2), exclude_first=False)
    with pytest.warns(UserWarning, match="smallest"):
        result = fixation_density(df, {"a": (200, 200)}, opts)
    assert result.parameters["sigma_deg"] == 0.1


def test_lopo_needs_two_participants():
    df = fixation_table([("01", "a", 5, 5), ("01", "a", 8, 5)])
    opts = FixationSettings(bandwidth="lopo", exclude_first=False)
    with pytest.raises(HumanMapsError, match="two participants"):
        fixation_density(df, {"a": (20, 20)}, opts)


# ---------------------------------------------------------------- planted maps


def planted(shape=(60, 80)):
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    blob = lambda r, c, s: np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * s * s))  # noqa: E731
    return blob(20, 25, 8) + 0.6 * blob(40, 60, 6)


def test_fixation_density_recovers_a_planted_map():
    """3000 fixations drawn pixel-wise from the planted map, smoothed by 2 px. Without sampling
    noise the estimate is the planted map blurred by the kernel, whose CC with it is 0.99
    (computed below); the Poisson noise of 3000 points at 2 px costs a few hundredths more. The
    bound 0.9 is conservative."""
    truth = planted()
    rng = np.random.default_rng(3)
    p = truth.ravel() / truth.sum()
    idx = rng.choice(p.size, size=3000, p=p)
    r, c = np.divmod(idx, truth.shape[1])
    rows = [(f"{k % 10:02d}", "a", x, y) for k, (x, y) in enumerate(zip(c, r, strict=True))]
    df = fixation_table(rows)
    est = fixation_density(df, {"a": truth.shape}, fixed(0.2)).maps["a"]
    blurred = fixation_map(
        np.column_stack([np.tile(np.arange(80), 60), np.repeat(np.arange(60), 80)]),
        truth.shape,
        px_per_deg=10,
        sigma_deg=0.2,
        weights=truth.ravel(),
    )
    assert cc(blurred, truth) > 0.98
    assert cc(est, truth) > 0.9


def test_accuracy_surface_recovers_a_planted_map():
    """The simulated observer of dot discrimination: P(correct) = 1/2 + e/2, e the planted map
    over its maximum, at 10 x 10 dot positions (every 6 px), 30 participants. Each position's
    accuracy has binomial SD sqrt(0.25 / 30) = 0.09 against a signal of SD about 0.12 across
    positions; smoothing over neighbouring dots averages the noise of about 4 positions, so the
    CC with the planted surface is expected near 0.9; the bound 0.75 is conservative."""
    truth = planted((60, 60))
    truth = truth / truth.max()
    rng = np.random.default_rng(4)
    rows = []
    for who in range(30):
        for y in range(3, 60, 6):
            for x in range(3, 60, 6):
                correct = int(rng.random() < 0.5 + truth[y, x] / 2)
                rows.append((f"{who:02d}", "a", x, y, correct))
    df = dot_trials(rows, px_per_deg=6.0)
    result = accuracy_surface(df, {"a": (60, 60)}, DiscriminationSettings())
    assert result.parameters["cv_folds"] == "participant"
    assert cc(result.maps["a"], 0.5 + truth / 2) > 0.75
    assert result.maps["a"].min() > 0 and result.maps["a"].max() < 1


def test_accuracy_cv_with_one_participant_uses_trial_folds():
    rng = np.random.default_rng(5)
    rows = [("01", "a", x, y, int(rng.random() < 0.8)) for x in range(2, 40, 4) for y in (5, 15)]
    result = accuracy_surface(dot_trials(rows), {"a": (20, 40)}, DiscriminationSettings())
    assert result.parameters["cv_folds"] == "trial"
    assert len(result.parameters["scores_bits"]) == len(result.parameters["candidates_deg"])


# ---------------------------------------------------------------- split-half reliability


def test_split_half_reliability_is_near_zero_without_signal():
    """Dot discrimination answered at chance everywhere: each half's surface is 0.5 plus noise
    with no structure in common (E[A(x)] = p0 at every pixel), so the halves' CC is 0 on
    average. Its SD per image and split is about 1 / sqrt(effective cells) ~ 0.12 (60 x 60 px,
    kernel 3 px); SB (~2 r near 0) and the mean over 16 images and 5 splits leave an SD of
    about 0.05 for the mean: within 0.15 of 0."""
    rng = np.random.default_rng(6)
    shapes = {f"i{k}": (60, 60) for k in range(16)}
    rows = [
        (f"{who:02d}", image, x, y, int(rng.random() < 0.5))
        for who in range(10)
        for image in shapes
        for y in range(1, 60, 3)
        for x in range(1, 60, 3)
    ]
    settings = MapSettings(
        discrimination=DiscriminationSettings(bandwidth="fixed", bandwidth_deg=0.5)
    )
    none = split_half_reliability(
        "dot-discrimination", dot_trials(rows, 6.0), None, shapes, settings, n_splits=5, rng=0
    )
    assert abs(none.value) < 0.15


def test_split_half_reliability_is_high_with_strong_signal():
    """Every participant fixates the same blob: the halves' maps agree, CC near 1."""
    rng = np.random.default_rng(6)
    shapes = {f"i{k}": (40, 40) for k in range(8)}
    signal = [
        (f"{who:02d}", image, x, y)
        for who in range(10)
        for image in shapes
        for x, y in rng.normal((20, 20), 3, size=(30, 2))
    ]
    settings = MapSettings(fixations=fixed(0.2))
    strong = split_half_reliability(
        "free-viewing", None, fixation_table(signal), shapes, settings, n_splits=5, rng=0
    )
    assert strong.value > 0.95
    assert strong.ceiling.method == "split_half" and strong.ceiling.metric == "cc"
    assert strong.image_ids == tuple(shapes)
    frame = strong.to_frame()
    assert list(frame["image_id"]) == list(shapes)
    assert (frame["n_participants"] == 10).all()
    r = frame["cc"].to_numpy()
    np.testing.assert_allclose(frame["cc_sb"], 2 * r / (1 + r))


def test_split_half_of_the_accuracy_surface_keeps_the_chosen_bandwidth():
    truth = planted((60, 60))
    truth = truth / truth.max()
    rng = np.random.default_rng(7)
    rows = [
        (f"{who:02d}", "a", x, y, int(rng.random() < 0.5 + truth[y, x] / 2))
        for who in range(20)
        for y in range(3, 60, 6)
        for x in range(3, 60, 6)
    ]
    rel = split_half_reliability(
        "dot-discrimination",
        {"dot-discrimination": dot_trials(rows, 6.0)},
        None,
        {"a": (60, 60)},
        n_splits=4,
        rng=1,
    )
    assert rel.value > 0.6
    assert rel.parameters["bandwidth"] == "cv"


def test_split_half_needs_two_participants():
    df = fixation_table([("01", "a", 5, 5)])
    with pytest.raises(HumanMapsError, match="at least two participants"):
        split_half_reliability("free-viewing", None, df, {"a": (10, 10)})


# ---------------------------------------------------------------- dispatch, settings, provenance


def test_registry_dispatch_equals_the_direct_call():
    df = chain_trials([("01", "a", 5, 4, 4), ("02", "a", 6, 8, 2)])
    settings = MapSettings()
    direct = chain_density(df, {"a": (10, 12)}, settings)
    via = estimate_human_maps(
        "serial-reproduction", {"serial-reproduction": df}, None, {"a": (10, 12)}, settings
    )
    np.testing.assert_array_equal(direct.maps["a"], via.maps["a"])
    assert set(ESTIMATORS) == {
        "free-viewing",
        "object-search",
        "saliency-search",
        "dot-discrimination",
        "serial-reproduction",
        "patch-rating",
    }


def test_provenance_is_json_ready_and_complete():
    df = dot_trials([("01", "a", 2, 2, 1), ("02", "a", 8, 2, 0), ("02", "a", 4, 2, np.nan)])
    opts = DiscriminationSettings(bandwidth="fixed")
    result = accuracy_surface(df, {"a": (5, 11)}, opts)
    record = json.loads(json.dumps(result.provenance()))
    assert record["measure"] == "dot-discrimination"
    assert record["participants"] == ["01", "02"] and record["n_participants"] == 2
    assert record["counts"] == {"a": 2} and record["unit"] == "trials"
    assert record["excluded"] == {"no_answer": 1}
    assert record["parameters"]["settings"]["pseudo_counts"] == 1.0
    assert record["parameters"]["bandwidth_deg"] == 1.0


def test_map_settings_load_from_a_maps_table(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(
        "[other]\nx = 1\n[maps.fixations]\nsigma_deg = 2\nbandwidth = 'lopo'\n"
        "[maps.discrimination]\npseudo_counts = 0.5\n"
    )
    settings = load_map_settings(path)
    assert settings.fixations.sigma_deg == 2.0 and settings.fixations.bandwidth == "lopo"
    assert settings.discrimination.pseudo_counts == 0.5
    assert settings.patch_rating == PatchRatingSettings()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("[maps.fixations]\nsigma = 1\n", "unknown key 'sigma'", id="unknown-key"),
        pytest.param(
            "[maps.fixations]\nbandwidth = 'cv'\n", r"\[maps\]\[fixations\] bandwidth", id="value"
        ),
        pytest.param("[maps.patch_rating]\nsigma_deg = -1\n", ">= 0", id="range"),
    ],
)
def test_map_settings_errors_name_the_key(tmp_path, text, match):
    path = tmp_path / "study.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_map_settings(path)


def test_settings_made_in_code_are_checked_as_a_file():
    with pytest.raises(ConfigError, match=r"MapSettings: \[fixations\] sigma_deg"):
        fixation_density(
            fixation_table([("01", "a", 1, 1)]), {"a": (5, 5)}, FixationSettings(sigma_deg=0)
        )
    with pytest.raises(ConfigError, match="expected a MapSettings or a DiscriminationSettings"):
        accuracy_surface(dot_trials([("01", "a", 1, 1, 1)]), {"a": (5, 5)}, fixed(1.0))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        pytest.param(
            lambda: estimate_human_maps("free-view", None, None, {"a": (5, 5)}),
            r"Allowed values are \['free-viewing'",
            id="bad-task",
        ),
        pytest.param(
            lambda: fixation_density(
                fixation_table([("01", "a", 1, 1)]), {"a": (5, 5)}, measure="patch-rating"
            ),
            "'measure' parameter",
            id="bad-measure",
        ),
        pytest.param(
            lambda: accuracy_surface(
                dot_trials([("01", "a", 1, 1, 1)]).drop(columns="dot_x_px"), {"a": (5, 5)}
            ),
            r"lacks the column\(s\) \['dot_x_px'\]",
            id="missing-column",
        ),
        pytest.param(
            lambda: patch_rating_map(patch_trials([("01", "b", 1, 1, 1, 3)]), {"a": (5, 5)}),
            r"image\(s\) \['b'\] that 'image_shapes' lacks",
            id="unknown-image",
        ),
        pytest.param(
            lambda: chain_density(chain_trials([("01", "a", 5, 1, 1)]), {"a": (5, 0)}),
            "two positive integers",
            id="bad-shape",
        ),
        pytest.param(
            lambda: chain_density(chain_trials([("01", "a", 1, 1, 1)]), {"a": (5, 5)}),
            "No usable rows",
            id="nothing-left",
        ),
        pytest.param(
            lambda: fixation_density(
                fixation_table([("01", "a", 1, 1)]).assign(px_per_deg_img=np.nan),
                {"a": (5, 5)},
                fixed(1.0),
            ),
            "px_per_deg_img",
            id="no-px-per-deg",
        ),
        pytest.param(
            lambda: estimate_human_maps(
                "patch-rating", {"free-viewing": None}, None, {"a": (5, 5)}
            ),
            "no table for task 'patch-rating'",
            id="no-trials-of-task",
        ),
        pytest.param(
            lambda: fixation_density({"a": [[1, 1]]}, {"a": (5, 5)}),
            "expected a pandas DataFrame",
            id="not-a-frame",
        ),
    ],
)
def test_errors_name_what_was_wrong(call, match):
    with pytest.raises(HumanMapsError, match=match):
        call()


def test_images_without_data_warn_and_get_no_map():
    df = fixation_table([("01", "a", 1, 1)])
    with pytest.warns(UserWarning, match=r"1 image\(s\) have no usable fixations rows"):
        result = fixation_density(df, {"a": (5, 5), "b": (5, 5)}, fixed(0.1))
    assert list(result.maps) == ["a"]


def test_warnings_point_at_the_caller():
    df, shapes = paired_fixations(4.0)
    opts = FixationSettings(bandwidth="lopo", candidates_deg=(0.2, 0.3), exclude_first=False)
    with pytest.warns(UserWarning, match="largest") as record:
        fixation_density(df, shapes, opts)
    assert record[0].filename == __file__
