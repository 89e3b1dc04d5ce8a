"""Tests of analysis.shared: the component several human measures share (the "human PC")."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from analysis.shared import SharedComponent, shared_component
from selectivity.resample import resample as _resample

LANGLOIS_MEASURES = ("freeFIX", "salFIX", "objFIX", "chainKDE", "discr", "patchRate")
LANGLOIS_IMAGES = ("img10", "img115", "img125")


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def test_two_measures_by_hand() -> None:
    # One 1 x 4 image. z-scores (population SD): m1 = [0, 0, 0, 4] has mean 1 and SD
    # sqrt(3), so z1 = [-1, -1, -1, 3] / sqrt(3); m2 = [0, 0, 4, 4] has mean 2 and SD 2,
    # so z2 = [-1, -1, 1, 1]. Their correlation r = mean(z1 * z2) = 4 / (4 sqrt 3) =
    # 1 / sqrt 3. The covariance [[1, r], [r, 1]] (times 4/3) has eigenvalues 1 +- r
    # with eigenvectors (1, 1)/sqrt 2 and (1, -1)/sqrt 2, so PC1 = (z1 + z2)/sqrt 2 and
    # explains (1 + r) / 2 of the variance.
    m1 = np.array([[0.0, 0.0, 0.0, 4.0]])
    m2 = np.array([[0.0, 0.0, 4.0, 4.0]])
    result = shared_component({"a": [m1], "b": [m2]}, size=(1, 4))
    r = 1 / math.sqrt(3)
    z1 = np.array([-1.0, -1.0, -1.0, 3.0]) / math.sqrt(3)
    z2 = np.array([-1.0, -1.0, 1.0, 1.0])
    np.testing.assert_allclose(result.loadings[:, 0], [1 / math.sqrt(2)] * 2)
    # Component 2 sums to 0: the tie rule makes its first entry positive.
    np.testing.assert_allclose(result.loadings[:, 1], [1 / math.sqrt(2), -1 / math.sqrt(2)])
    np.testing.assert_allclose(result.explained_variance_ratio, [(1 + r) / 2, (1 - r) / 2])
    np.testing.assert_allclose(result.explained_variance, [(1 + r) * 4 / 3, (1 - r) * 4 / 3])
    np.testing.assert_allclose(result.maps[0, 0, 0], (z1 + z2) / math.sqrt(2))
    np.testing.assert_allclose(result.maps[0, 1, 0], (z1 - z2) / math.sqrt(2))
    assert result.measures == ("a", "b")
    assert result.image_ids == (0,)


def _planted(n_images: int, seed: int) -> tuple[np.ndarray, dict[str, dict[str, np.ndarray]]]:
    """A common map per image, seen by four measures of different sizes, scales and noise."""
    rng = np.random.default_rng(seed)
    common = gaussian_filter(rng.standard_normal((n_images, 60, 60)), (0, 5, 5))
    common /= common.std(axis=(1, 2), keepdims=True)
    measures: dict[str, dict[str, np.ndarray]] = {}
    for name, size, scale, offset, noise in (
        ("fix", (60, 60), 3.0, 10.0, 0.3),
        ("rate", (45, 45), 0.01, 0.5, 0.5),
        ("kde", (90, 90), 200.0, -3.0, 0.4),
        ("discr", (60, 60), 1e-9, 1e-8, 0.6),
    ):
        per_image = {}
        for i in range(n_images):
            noisy = common[i] + noise * gaussian_filter(rng.standard_normal((60, 60)), 5)
            per_image[f"im{i}"] = _resample(scale * noisy + offset, size)
        measures[name] = per_image
    return common, measures


@pytest.mark.parametrize("normalize", ["image", "pooled"])
def test_planted_common_map_is_recovered(normalize: Literal["image", "pooled"]) -> None:
    common, measures = _planted(6, seed=1)
    # Offsets must keep the pooled mode's densities positive: shift every map up.
    if normalize == "pooled":
        measures = {
            m: {i: a - a.min() + a.std() for i, a in per.items()} for m, per in measures.items()
        }
    result = shared_component(measures, size=(30, 30), normalize=normalize)
    assert result.maps.shape == (6, 4, 30, 30)
    assert np.all(result.loadings[:, 0] > 0.3)
    assert result.explained_variance_ratio[0] > 0.6
    assert np.all(np.diff(result.explained_variance_ratio) <= 0)
    first = result.component(0)
    for i in range(6):
        planted = _resample(common[i], (30, 30))
        assert _corr(first[f"im{i}"], planted) > 0.93


def test_identical_measures_give_equal_loadings_and_all_variance() -> None:
    rng = np.random.default_rng(2)
    base = [rng.random((8, 8)) for _ in range(3)]
    # Positive affine copies: z-scoring within the image makes them identical.
    result = shared_component(
        {"a": base, "b": [3 * b + 1 for b in base], "c": [0.5 * b for b in base]}, size=(8, 8)
    )
    np.testing.assert_allclose(result.loadings[:, 0], np.full(3, 1 / math.sqrt(3)))
    np.testing.assert_allclose(result.explained_variance_ratio, [1, 0, 0], atol=1e-12)
    for i, b in enumerate(base):
        z = (b - b.mean()) / b.std()
        np.testing.assert_allclose(result.maps[i, 0], math.sqrt(3) * z, atol=1e-12)


def test_loadings_sum_positive_and_flipping_all_measures_flips_maps() -> None:
    rng = np.random.default_rng(3)
    maps = {name: rng.random((4, 10, 10)) for name in "abcde"}
    result = shared_component(maps, size=(10, 10))
    assert np.all(result.loadings.sum(axis=0) > 0)
    np.testing.assert_allclose(result.loadings.T @ result.loadings, np.eye(5), atol=1e-12)
    flipped = shared_component({k: -v for k, v in maps.items()}, size=(10, 10))
    np.testing.assert_allclose(flipped.loadings, result.loadings, atol=1e-10)
    np.testing.assert_allclose(flipped.maps, -result.maps, atol=1e-10)


def test_one_negated_measure_gets_a_negative_loading() -> None:
    _, measures = _planted(4, seed=4)
    measures["anti"] = {i: -a for i, a in measures["fix"].items()}
    result = shared_component(measures, size=(30, 30), n_components=1)
    names = list(result.measures)
    assert result.loadings[names.index("anti"), 0] < 0
    assert result.loadings[:, 0].sum() > 0
    assert result.maps.shape == (4, 1, 30, 30)


def test_project_reproduces_the_fit_and_applies_to_new_images() -> None:
    _, measures = _planted(5, seed=5)
    fit = shared_component(measures, size=(30, 30))
    again = fit.project(measures)
    np.testing.assert_allclose(again.maps, fit.maps, atol=1e-12)
    # Measures in another order, and a subset of the images.
    reordered = {m: {"im2": measures[m]["im2"]} for m in reversed(list(measures))}
    one = fit.project(reordered)
    assert one.image_ids == ("im2",)
    np.testing.assert_allclose(one.maps[0], fit.maps[2], atol=1e-12)


def test_pooled_projection_keeps_the_fitted_statistics() -> None:
    rng = np.random.default_rng(6)
    maps = {name: rng.random((3, 12, 12)) + 0.1 for name in "abc"}
    fit = shared_component(maps, size=(12, 12), normalize="pooled")
    one = fit.project({name: stack[1:2] for name, stack in maps.items()})
    np.testing.assert_allclose(one.maps[0], fit.maps[1], atol=1e-12)
    # Each density has mean 1 / n_pixels, so the pooled centre is that for every measure.
    np.testing.assert_allclose(fit.center, np.full(3, 1 / 144))


def test_result_is_read_only() -> None:
    result = shared_component({"a": [np.eye(3)], "b": [np.eye(3)[::-1]]}, size=(3, 3))
    with pytest.raises(ValueError, match="read-only"):
        result.maps[0, 0, 0, 0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.size = (1, 1)  # type: ignore[misc]


def _valid() -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    return {m: {i: rng.random((5, 5)) for i in ("x", "y")} for m in ("a", "b")}


def _with(measure: str, image: str, value: object) -> dict[str, dict[str, object]]:
    maps: dict[str, dict[str, object]] = {m: dict(v) for m, v in _valid().items()}
    maps[measure][image] = value
    return maps


@pytest.mark.parametrize(
    ("maps", "kwargs", "match"),
    [
        pytest.param({"a": _valid()["a"]}, {}, "at least 2 measures", id="one-measure"),
        pytest.param([np.eye(3)], {}, "expected a dict measure name", id="not-a-dict"),
        pytest.param(
            {"a": _valid()["a"], "b": {"x": np.eye(5), "z": np.eye(5)}},
            {},
            r"maps\['b'\] are not those of maps\['a'\]: it lacks \['y'\] and it has extra \['z'\]",
            id="mismatched-image-ids",
        ),
        pytest.param(
            {"a": [np.eye(3)] * 2, "b": [np.eye(3)] * 3},
            {},
            r"has extra \[2\]",
            id="unequal-lengths",
        ),
        pytest.param(
            _with("b", "y", np.full((5, 5), np.nan)), {}, "'b', image 'y' has 25 NaN", id="nan"
        ),
        pytest.param(
            _with("a", "x", np.ones((5, 5))), {}, "'a', image 'x' is constant", id="constant"
        ),
        pytest.param(_with("a", "x", np.ones(5)), {}, r"2-D array .* shape \(5,\)", id="1-d"),
        pytest.param(
            _with("a", "x", -np.ones((5, 5)) - np.eye(5)),
            {"normalize": "pooled"},
            "sums to",
            id="pooled-negative-sum",
        ),
        pytest.param(_valid(), {"size": (0, 5)}, "'size' parameter", id="size-zero"),
        pytest.param(_valid(), {"size": 5}, "'size' parameter", id="size-int"),
        pytest.param(_valid(), {"n_components": 3}, "'n_components'", id="too-many-components"),
        pytest.param(_valid(), {"n_components": 0}, "'n_components'", id="zero-components"),
        pytest.param(
            _valid(),
            {"normalize": "global"},
            "Allowed values are 'image' and 'pooled'",
            id="normalize",
        ),
        pytest.param({"a": {}, "b": {}}, {}, "has no images", id="no-images"),
    ],
)
def test_errors(maps: object, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        shared_component(maps, **kwargs)  # type: ignore[arg-type]


def test_pooled_constant_map_warns() -> None:
    maps = _with("a", "x", np.ones((5, 5)))
    with pytest.warns(UserWarning, match="'a', image 'x' is constant"):
        shared_component(maps, size=(5, 5), normalize="pooled")  # type: ignore[arg-type]


def test_component_index_is_checked() -> None:
    result = shared_component(_valid(), size=(5, 5), n_components=1)
    with pytest.raises(ValueError, match=r"'index' parameter: expected an integer in \[0, 0\]"):
        result.component(1)


def test_project_needs_the_fitted_measures() -> None:
    result = shared_component(_valid(), size=(5, 5))
    with pytest.raises(ValueError, match=r"expected the measures \['a', 'b'\]"):
        result.project({"a": _valid()["a"], "c": _valid()["b"]})


def test_import_stays_light(repo_root: Path) -> None:
    code = (
        "import sys, analysis.shared; "
        "print(sorted(m for m in ('torch', 'psychopy', 'pylink') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def langlois(shared_data: Path) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """The six released measures and the released humanPC of the three images."""
    from scipy.io import loadmat

    folder = shared_data / "langlois2021" / "human-maps"
    if not folder.is_dir():
        pytest.skip(f"Langlois et al. maps not found at {folder}")
    measures = {
        m: {i: loadmat(folder / f"{i}_{m}.mat")["map"] for i in LANGLOIS_IMAGES}
        for m in LANGLOIS_MEASURES
    }
    human_pc = {i: loadmat(folder / f"{i}_humanPC.mat")["map"] for i in LANGLOIS_IMAGES}
    return measures, human_pc


@pytest.mark.parametrize("normalize", ["image", "pooled"])
def test_released_human_pc_is_reproduced(
    langlois: tuple[dict[str, dict[str, np.ndarray]], dict[str, np.ndarray]],
    normalize: Literal["image", "pooled"],
) -> None:
    # Measured: r = 0.965, 0.983, 0.978 ("image") and 0.974, 0.975, 0.971 ("pooled") on
    # img10, img115, img125. The released PC was fitted on all 25 images, ours on 3, so
    # the loadings differ somewhat; 0.95 leaves room for that and still fails for a wrong
    # sign, component (the second correlates 0.15 to 0.27) or orientation (transposed
    # maps: 0.08 on img10).
    measures, human_pc = langlois
    result = shared_component(measures, size=(100, 100), normalize=normalize)
    first = result.component(0)
    for image in LANGLOIS_IMAGES:
        assert first[image].shape == (100, 100)
        assert _corr(first[image], human_pc[image]) > 0.95
    assert result.explained_variance_ratio[0] > 0.5


@pytest.mark.parametrize("normalize", ["image", "pooled"])
def test_released_human_pc_from_loadings_fitted_on_other_images(
    langlois: tuple[dict[str, dict[str, np.ndarray]], dict[str, np.ndarray]],
    normalize: Literal["image", "pooled"],
) -> None:
    # Loadings fitted on two images, applied to the third. Measured r: 0.964, 0.985, 0.974
    # ("image") and 0.980, 0.974, 0.965 ("pooled").
    measures, human_pc = langlois
    for held_out in LANGLOIS_IMAGES:
        train = {m: {i: a for i, a in per.items() if i != held_out} for m, per in measures.items()}
        fit = shared_component(train, n_components=1, normalize=normalize)
        test = fit.project({m: {held_out: per[held_out]} for m, per in measures.items()})
        assert _corr(test.maps[0, 0], human_pc[held_out]) > 0.95


def test_released_human_pc_is_one_combination_of_pooled_standardised_measures(
    langlois: tuple[dict[str, dict[str, np.ndarray]], dict[str, np.ndarray]],
) -> None:
    # Least-squares loadings fitted to the released maps, then applied with project():
    # with normalize="pooled" one set of loadings reproduces all three released maps to
    # 0.083 (measured; the maps span about -2 to 8; 0.054 with the triangle filter used
    # before the one resampling rule), so that is how they were made, up to the
    # resampling. With normalize="image" no common loadings come within 1.39: z-scoring
    # within each image rescales the measures image by image.
    measures, human_pc = langlois
    target = np.concatenate([human_pc[i].ravel() for i in LANGLOIS_IMAGES])
    worst = {}
    normalizations: tuple[Literal["image", "pooled"], ...] = ("image", "pooled")
    for normalize in normalizations:
        fit = shared_component(measures, normalize=normalize)
        standardised = dataclasses.replace(fit, loadings=np.eye(6)).project(measures).maps
        design = standardised.transpose(1, 0, 2, 3).reshape(6, -1).T
        loadings, *_ = np.linalg.lstsq(design, target, rcond=None)
        fitted = dataclasses.replace(fit, loadings=loadings[:, None]).project(measures)
        assert isinstance(fitted, SharedComponent)
        worst[normalize] = max(
            np.abs(fitted.maps[k, 0] - human_pc[i]).max() for k, i in enumerate(LANGLOIS_IMAGES)
        )
    assert worst["pooled"] < 0.1
    assert worst["image"] > 1.0
