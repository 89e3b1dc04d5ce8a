"""Tests of analysis.metrics.cc and analysis.metrics.nss."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import fixation_counts, fixation_map
from analysis.metrics import cc, nss

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

# A 3x3 map with one peak. mean = 3/9 = 1/3; deviations: 8/3 at the centre,
# -1/3 at the 8 others; sum of squares = 64/9 + 8/9 = 8; with ddof=1 the
# variance is 8/8 = 1, so std = 1 and the z-scores are the deviations.
PEAK = np.array([[0.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 0.0]])


def _random_map(seed: int, shape: tuple[int, int] = (7, 9)) -> np.ndarray:
    return np.random.default_rng(seed).random(shape)


def test_cc_by_hand_2x2():
    # a = [1 2 3 4], deviations [-1.5 -.5 .5 1.5]; b = [1 2 4 3], [-1.5 -.5 1.5 .5].
    # Sum of products 2.25 + .25 + .75 + .75 = 4; sums of squares 5 and 5: r = 4/5.
    assert cc([[1, 2], [3, 4]], [[1, 2], [4, 3]]) == pytest.approx(0.8, abs=1e-15)


def test_cc_of_map_with_itself_and_its_negative():
    a = _random_map(0)
    assert cc(a, a) == pytest.approx(1.0, abs=1e-12)
    assert cc(a, -a) == pytest.approx(-1.0, abs=1e-12)


def test_cc_is_symmetric_and_matches_scipy():
    from scipy.stats import pearsonr

    a, b = _random_map(1), _random_map(2)
    assert cc(a, b) == pytest.approx(cc(b, a), abs=1e-15)
    assert cc(a, b) == pytest.approx(pearsonr(a.ravel(), b.ravel())[0], abs=1e-12)


@pytest.mark.parametrize(
    ("scale", "offset", "sign"),
    [
        pytest.param(3.0, 7.0, 1, id="up"),
        pytest.param(1e-3, -100.0, 1, id="small-with-offset"),
        pytest.param(-2.0, 1.0, -1, id="negative-flips"),
    ],
)
def test_cc_affine_invariance(scale, offset, sign):
    a, b = _random_map(3), _random_map(4)
    assert cc(scale * a + offset, b) == pytest.approx(sign * cc(a, b), abs=1e-9)
    assert cc(a, scale * b + offset) == pytest.approx(sign * cc(a, b), abs=1e-9)


def test_cc_resizes_first_map_bilinearly():
    # [[0, 1], [0, 1]] resized bilinearly (pixel centres aligned) to 4x4 has
    # columns 0, .25, .75, 1 in every row: exactly the second map.
    ramp = np.array([[0.0, 1.0], [0.0, 1.0]])
    big = np.tile([0.0, 0.25, 0.75, 1.0], (4, 1))
    assert cc(ramp, big) == pytest.approx(1.0, abs=1e-12)
    assert cc(ramp, big[:, ::-1]) == pytest.approx(-1.0, abs=1e-12)
    # An integer map is read as float; uint8 images work the same.
    assert cc(np.array([[0, 255], [0, 255]], dtype=np.uint8), big) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        pytest.param(np.ones(4), np.eye(2), r"'map_a'.*shape \(4,\)", id="1-d"),
        pytest.param(np.ones((2, 2, 3)), np.eye(2), r"'map_a'.*\(2, 2, 3\)", id="3-d"),
        pytest.param(np.eye(2), np.empty((0, 3)), r"'map_b'.*non-empty", id="empty"),
        pytest.param(np.array([[np.nan, 1], [0, 1]]), np.eye(2), "1 of its 4 .* NaN", id="nan"),
        pytest.param(np.eye(2), np.array([[np.inf, 1], [0, 1]]), "'map_b'.*infinite", id="inf"),
        pytest.param(np.ones((3, 3)), np.eye(3), "'map_a'.*constant", id="constant-a"),
        pytest.param(np.eye(3), np.full((3, 3), 0.2), "'map_b'.*constant", id="constant-b"),
        pytest.param([["a", "b"]], np.eye(2), "'map_a'.*numeric", id="strings"),
    ],
)
def test_cc_invalid_maps(a, b, match):
    with pytest.raises(ValueError, match=match):
        cc(a, b)


@pytest.mark.parametrize(
    ("fixated", "expected"),
    [
        pytest.param([(1, 1)], 8 / 3, id="centre"),
        pytest.param([(0, 0)], -1 / 3, id="corner"),
        pytest.param([(1, 1), (0, 0)], (8 / 3 - 1 / 3) / 2, id="both"),
    ],
)
def test_nss_by_hand_3x3(fixated, expected):
    fix = np.zeros((3, 3))
    for row, col in fixated:
        fix[row, col] = 1
    assert nss(PEAK, fix) == pytest.approx(expected, abs=1e-12)


def test_nss_counts_each_fixated_pixel_once():
    # As the MIT code's logical(fixationMap): 5 fixations on the centre and 1
    # on a corner still give (8/3 - 1/3) / 2 = 7/6, not (5 * 8/3 - 1/3) / 6.
    fix = np.zeros((3, 3))
    fix[1, 1], fix[0, 0] = 5, 1
    assert nss(PEAK, fix) == pytest.approx(7 / 6, abs=1e-12)
    assert nss(PEAK, fix.astype(bool)) == pytest.approx(7 / 6, abs=1e-12)


def test_nss_population_std():
    # ddof=0: variance 8/9, std 2 sqrt(2)/3, so the centre scores (8/3) / std = 2 sqrt(2).
    fix = np.zeros((3, 3))
    fix[1, 1] = 1
    assert nss(PEAK, fix, ddof=0) == pytest.approx(2 * math.sqrt(2), abs=1e-12)


def test_nss_at_the_maximum_is_the_largest_z_score():
    s = _random_map(5)
    z = (s - s.mean()) / s.std(ddof=1)
    at_max = nss(s, s == s.max())
    assert at_max == pytest.approx(z.max(), abs=1e-12)
    others = [nss(s, np.eye(1, s.size, k).reshape(s.shape)) for k in range(s.size)]
    assert max(others) == pytest.approx(at_max, abs=1e-12)
    assert nss(s, np.ones_like(s)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("scale", "offset", "sign"),
    [pytest.param(2.0, 5.0, 1, id="up"), pytest.param(-0.5, 3.0, -1, id="negative-flips")],
)
def test_nss_affine_invariance(scale, offset, sign):
    s = _random_map(6)
    fix = _random_map(7) > 0.8
    assert nss(scale * s + offset, fix) == pytest.approx(sign * nss(s, fix), abs=1e-12)


def test_nss_resizes_saliency_to_fixation_map():
    # The 2x2 ramp becomes rows of [0, .25, .75, 1] (see the cc test): mean .5,
    # sum of squared deviations 4 * (.25 + .0625 + .0625 + .25) = 2.5, variance
    # 2.5 / 15 = 1/6; the last column scores .5 / sqrt(1/6) = sqrt(1.5).
    fix = np.zeros((4, 4))
    fix[:, 3] = 1
    assert nss([[0.0, 1.0], [0.0, 1.0]], fix) == pytest.approx(math.sqrt(1.5), abs=1e-12)


def test_nss_from_coordinates_uses_x_column_y_row():
    # The peak sits at row 0, column 2, i.e. (x=2, y=0).
    s = np.zeros((3, 3))
    s[0, 2] = 3.0
    assert nss(s, np.array([[2.0, 0.0]]), image_shape=(3, 3)) == pytest.approx(8 / 3)
    assert nss(s, np.array([[0.0, 2.0]]), image_shape=(3, 3)) == pytest.approx(-1 / 3)
    df = pd.DataFrame({"x_img": [2.0, 0.0], "y_img": [0.0, 2.0], "in_image": [True, False]})
    assert nss(s, df, image_shape=(3, 3)) == pytest.approx(8 / 3)


def test_nss_coordinates_on_a_larger_image_grid():
    # A 2x2 saliency map scored against fixations on a 4x4 image: it is
    # resized to 4x4 first (last column sqrt(1.5), see above).
    xy = np.array([[3.0, 0.0], [3.0, 2.0]])
    assert nss([[0.0, 1.0], [0.0, 1.0]], xy, image_shape=(4, 4)) == pytest.approx(math.sqrt(1.5))


def test_nss_warns_when_a_two_column_map_looks_like_coordinates():
    fix = np.zeros((5, 2))
    fix[0, 0] = 1
    with pytest.warns(UserWarning, match=r"shape \(5, 2\).*image_shape"):
        nss(_random_map(8, (10, 10)), fix)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nss(_random_map(8, (5, 2)), fix)  # same shape as the saliency map: a map


@pytest.mark.parametrize(
    ("saliency", "fixations", "kwargs", "match"),
    [
        pytest.param(PEAK, np.zeros((3, 3)), {}, "no pixel is fixated", id="empty-map"),
        pytest.param(PEAK, -np.eye(3), {}, "non-negative", id="negative"),
        pytest.param(PEAK, np.full((3, 3), np.nan), {}, "'fixation_map'.*NaN", id="nan-fix"),
        pytest.param(PEAK * np.nan, np.eye(3), {}, "'saliency_map'.*NaN", id="nan-sal"),
        pytest.param(np.ones((3, 3)), np.eye(3), {}, "'saliency_map'.*constant", id="constant"),
        pytest.param(np.ones((3, 3, 3)), np.eye(3), {}, "'saliency_map'.*2-D", id="3-d"),
        pytest.param(PEAK, np.ones(3), {}, "'fixation_map'.*2-D", id="fix-1-d"),
        pytest.param(PEAK, np.eye(3), {"ddof": 2}, "Allowed values are 1 and 0", id="ddof"),
        pytest.param(PEAK, np.eye(3), {"ddof": True}, "'ddof'", id="ddof-bool"),
        pytest.param(
            PEAK, pd.DataFrame({"x": [1.0], "y": [1.0]}), {}, "'image_shape'", id="df-no-shape"
        ),
        pytest.param(
            PEAK, [[10.0, 10.0]], {"image_shape": (3, 3)}, "lie outside", id="coords-outside"
        ),
    ],
)
def test_nss_invalid_input(saliency, fixations, kwargs, match):
    with pytest.raises(ValueError, match=match):
        nss(saliency, fixations, **kwargs)


def _langlois(image: str, measure: str) -> np.ndarray:
    from scipy.io import loadmat

    path = DATA / "langlois2021" / "human-maps" / f"{image}_{measure}.mat"
    if not path.exists():
        pytest.skip(f"shared test data not found: {path}")
    return np.asarray(loadmat(path)["map"], dtype=float)


@pytest.mark.parametrize("image", ["img10", "img115", "img125"])
def test_cc_real_maps_load_on_their_first_component(image):
    # humanPC is the first principal component of the six z-scored human maps
    # (data README), so each fixation density correlates strongly with it;
    # transposing the component breaks the pixel correspondence.
    pc = _langlois(image, "humanPC")
    for measure in ("freeFIX", "salFIX", "objFIX"):
        density = _langlois(image, measure)  # 251x251, resized to 100x100
        assert cc(density, pc) > 0.65
        assert cc(density, pc) > cc(density, pc.T)


def test_cc_real_maps_against_independent_implementations():
    # Reference: OpenCV's area averaging (cv2.INTER_AREA, the rule of
    # selectivity.resample for shrinking 251 -> 100) and scipy's Pearson r,
    # neither of which cc uses. (cc was 0.78514 with the earlier bilinear resize
    # without antialiasing; it is 0.78531 with area averaging.)
    import cv2
    from scipy.stats import pearsonr

    free, sal, pc = (_langlois("img10", m) for m in ("freeFIX", "salFIX", "humanPC"))
    assert cc(free, sal) == pytest.approx(pearsonr(free.ravel(), sal.ravel())[0], abs=1e-12)
    small = cv2.resize(free, pc.shape[::-1], interpolation=cv2.INTER_AREA)
    assert cc(free, pc) == pytest.approx(pearsonr(small.ravel(), pc.ravel())[0], abs=1e-9)


def test_nss_real_fixations_split_half():
    # OSIE (800x600 images, 15 observers, 1-based pixels): a fixation map from
    # observers 1-7 predicts where observers 8-15 look on the same image far
    # better than on other images.
    from scipy.io import loadmat

    path = DATA / "osie" / "fixations.mat"
    if not path.exists():
        pytest.skip(f"shared test data not found: {path}")
    records = loadmat(path, squeeze_me=True, struct_as_record=False)["fixations"][:20]

    def halves(record):
        xy = [
            np.column_stack([np.atleast_1d(s.fix_x), np.atleast_1d(s.fix_y)]) - 1.0
            for s in record.subjects
        ]
        durations = np.concatenate([np.atleast_1d(s.fix_duration) for s in record.subjects[:7]])
        return np.vstack(xy[:7]), np.vstack(xy[7:]), durations

    shape = (600, 800)
    same, other = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (x, y) swapped would put fixations outside
        split = [halves(r) for r in records]
        maps = [fixation_map(a, shape, px_per_deg=24.0, weights=d) for a, _, d in split]
        for i, (_, b, _) in enumerate(split):
            same.append(nss(maps[i], b, image_shape=shape))
            other.append(nss(maps[(i + 1) % len(maps)], b, image_shape=shape))
    # Seen: 3.38 on the same image, 0.32 on the next one (centre bias).
    assert np.mean(same) > 2.0
    assert np.mean(same) > np.mean(other) + 1.5
    # The counts nss reads are the same as fixation_counts gives.
    b = split[0][1]
    assert nss(maps[0], b, image_shape=shape) == nss(maps[0], fixation_counts(b, shape))


def test_nss_coordinate_warning_points_at_the_caller():
    with pytest.warns(UserWarning, match="lie outside") as record:
        nss(PEAK, [[1.0, 1.0], [7.0, 1.0]], image_shape=(3, 3))
    assert record[0].filename == __file__
