"""The one resampling (selectivity.resample): values worked out by hand, and every caller alike."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import compare_maps, metrics, split_half_ceiling
from selectivity.resample import resample


def test_shrink_by_two_averages_blocks() -> None:
    values = np.arange(16.0).reshape(4, 4)
    expected = [[(0 + 1 + 4 + 5) / 4, (2 + 3 + 6 + 7) / 4], [(8 + 9 + 12 + 13) / 4, 12.5]]
    np.testing.assert_allclose(resample(values, (2, 2)), expected, rtol=0, atol=1e-15)


def test_shrink_by_a_fraction_weights_by_overlap() -> None:
    # 3 -> 2: output 0 covers input [0, 1.5): (2 * a0 + a1) / 3; output 1: (a1 + 2 * a2) / 3.
    np.testing.assert_allclose(resample([[0.0, 3.0, 6.0]], (1, 2)), [[1.0, 5.0]], atol=1e-15)
    # 5 -> 3 (each output covers 5/3 pixels): [0, 5/3), [5/3, 10/3), [10/3, 5).
    row = np.array([[3.0, 0.0, 6.0, 0.0, 9.0]])
    expected = [[3 * 0.6 + 0 * 0.4, 0 * 0.2 + 6 * 0.6 + 0 * 0.2, 0 * 0.4 + 9 * 0.6]]
    np.testing.assert_allclose(resample(row, (1, 3)), expected, atol=1e-14)


def test_enlarge_by_two_interpolates_between_centres() -> None:
    # 2 -> 4: output centres at input coordinates -0.25, 0.25, 0.75, 1.25, clamped to [0, 1].
    values = np.array([[0.0, 1.0], [2.0, 3.0]])
    position = np.array([0.0, 0.25, 0.75, 1.0])
    expected = 2 * position[:, None] + position[None, :]
    np.testing.assert_allclose(resample(values, (4, 4)), expected, atol=1e-15)


def test_enlarge_by_three_keeps_the_values_at_input_centres() -> None:
    rng = np.random.default_rng(0)
    values = rng.random((3, 4))
    out = resample(values, (9, 12))
    # output pixel 3k + 1 has its centre on input pixel k's centre
    np.testing.assert_array_equal(out[1::3, 1::3], values)


@pytest.mark.parametrize(
    ("shape_in", "shape_out"),
    [((5, 7), (3, 11)), ((1, 1), (4, 3)), ((6, 6), (1, 1)), ((9, 2), (9, 2)), ((2, 9), (7, 3))],
)
def test_constant_maps_stay_constant(shape_in: tuple[int, int], shape_out: tuple[int, int]) -> None:
    out = resample(np.full(shape_in, 2.5), shape_out)
    assert out.shape == shape_out
    np.testing.assert_allclose(out, 2.5, rtol=0, atol=1e-14)


def test_one_pixel_dimensions() -> None:
    values = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 7.0]])
    np.testing.assert_allclose(resample(values, (1, 1)), [[4.0]], atol=1e-15)
    np.testing.assert_allclose(resample(values, (3, 1)), [[1.5], [4.5], [6.0]], atol=1e-15)
    np.testing.assert_allclose(resample([[1.0, 3.0]], (3, 4)), [[1.0, 1.5, 2.5, 3.0]] * 3)


def test_shrinking_keeps_the_mean_and_both_keep_the_range() -> None:
    rng = np.random.default_rng(1)
    values = rng.random((10, 15))
    small = resample(values, (4, 6))
    assert small.mean() == pytest.approx(values.mean(), abs=1e-14)
    for shape in ((4, 6), (23, 31), (4, 31)):
        out = resample(values, shape)
        assert values.min() <= out.min() and out.max() <= values.max()


def test_agrees_with_opencv_area_and_linear() -> None:
    # OpenCV (not used by resample) as an independent implementation of both rules.
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(2)
    values = rng.random((37, 53))
    shrink = cv2.resize(values, (7, 10), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(resample(values, (10, 7)), shrink, atol=1e-7)
    grow = cv2.resize(values, (101, 80), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(resample(values, (80, 101)), grow, atol=1e-7)


def test_trailing_axes_are_carried() -> None:
    rng = np.random.default_rng(3)
    image = rng.random((8, 6, 3))
    out = resample(image, (3, 9))
    assert out.shape == (3, 9, 3)
    for c in range(3):
        np.testing.assert_allclose(out[:, :, c], resample(image[:, :, c], (3, 9)), atol=1e-15)


def test_dtypes_and_a_new_array() -> None:
    mask = np.array([[True, False], [False, False]])
    out = resample(mask, (1, 1))
    assert out.dtype == np.float64 and out[0, 0] == 0.25
    assert resample(np.array([[0, 255]], dtype=np.uint8), (1, 1))[0, 0] == 127.5
    values = np.ones((2, 2))
    same = resample(values, (2, 2))
    assert same is not values and np.shares_memory(same, values) is False


def test_nan_spreads_only_to_the_pixels_that_weigh_it() -> None:
    # 5 -> 3 has a zero-weight tap (output 0 reaches index 2 with weight 0): it must stay finite.
    row = np.array([[1.0, 1.0, np.nan, 1.0, 1.0]])
    np.testing.assert_array_equal(np.isnan(resample(row, (1, 3))), [[False, True, False]])
    # 2 -> 4: output 0 sits on input 0's centre (input 1 weighs 0).
    np.testing.assert_array_equal(
        np.isnan(resample([[1.0, np.nan]], (1, 4))), [[False, True, True, True]]
    )


@pytest.mark.parametrize(
    ("values", "shape", "match"),
    [
        pytest.param(np.ones(4), (2, 2), r"'values'.*got shape \(4,\)", id="1-d"),
        pytest.param(np.ones((0, 3)), (2, 2), r"'values'.*H, W >= 1", id="empty"),
        pytest.param(np.array([["a"]]), (1, 1), "expected real numbers", id="text"),
        pytest.param(np.ones((2, 2)) * 1j, (1, 1), "expected real numbers", id="complex"),
        pytest.param(np.ones((2, 2)), (0, 2), r"'shape'.*but got \(0, 2\)", id="zero"),
        pytest.param(np.ones((2, 2)), (2.0, 2), "two positive integers", id="float"),
        pytest.param(np.ones((2, 2)), (2, 2, 1), "two positive integers", id="three"),
    ],
)
def test_errors(values: np.ndarray, shape: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        resample(values, shape)


def _maps(seed: int, shapes: list[tuple[int, int]]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for height, width in shapes:
        y, x = np.mgrid[0:height, 0:width]
        spot = np.exp(-((x / width - rng.random()) ** 2 + (y / height - rng.random()) ** 2) * 9)
        out.append(spot + 0.3 * rng.random((height, width)))
    return out


def test_compare_maps_scores_equal_the_metrics_on_maps_of_other_sizes() -> None:
    # ANN maps larger (shrunk), smaller (enlarged) and of mixed sizes than the 24 x 30
    # human maps: compare_maps and metrics.cc resample them by the same rule.
    ann = _maps(0, [(48, 60), (13, 17), (50, 11), (24, 30)])
    human = _maps(1, [(24, 30)] * 4)
    result = compare_maps(
        {"net": dict(enumerate(ann))},
        {"dens": dict(enumerate(human))},
        metrics=("cc", "similarity", "kl_div"),
        smoothing_sigmas_px=(0.0,),
        cv_folds=2,
        n_bootstrap=0,
        n_permutations=0,
        progress=False,
    )
    assert len(result.scores) == 12
    for row in result.scores.to_dict("records"):
        metric = getattr(metrics, row["metric"])
        image = int(row["image_id"])
        expected = metric(ann[image], human[image])
        assert row["score"] == pytest.approx(expected, abs=1e-12), (row["metric"], image)


def test_a_score_and_its_ceiling_resample_a_fixed_baseline_alike() -> None:
    shape = (30, 40)
    rng = np.random.default_rng(5)
    fixations = [
        [np.clip(rng.normal([20, 15], 4, size=(8, 2)), 0, [39, 29]) for _ in range(6)]
        for _ in range(3)
    ]
    baseline = _maps(6, [(7, 90)])[0]  # shrinks along x, grows along y
    resampled = resample(baseline, shape)
    saliency = _maps(7, [shape])[0]
    fixation_map = np.zeros(shape)
    fixation_map[15, 20] = fixation_map[3, 5] = 1
    assert metrics.info_gain(saliency, fixation_map, baseline) == pytest.approx(
        metrics.info_gain(saliency, fixation_map, resampled), abs=1e-12
    )
    kw = {"metric": "info_gain", "px_per_deg": 2.0, "n_splits": 2, "rng": 0, "progress": False}
    own = split_half_ceiling(fixations, shape, baseline=baseline, **kw)
    given = split_half_ceiling(fixations, shape, baseline=resampled, **kw)
    np.testing.assert_allclose(own.per_image, given.per_image, rtol=0, atol=1e-12)
