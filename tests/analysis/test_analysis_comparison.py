"""Tests of analysis.comparison: many ANN maps against many human maps, with statistics."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import gaussian_filter
from scipy.stats import spearmanr

from analysis import metrics
from analysis.comparison import compare_maps
from analysis.comparison._stats import _choose_sigmas, _derangements, _p_value
from analysis.fixations import fixation_counts

# Most tests use two-value grids whose largest value is chosen on purpose; the edge warning
# is tested in test_grid_edge_warns_on_a_too_small_grid_and_not_at_zero.
pytestmark = pytest.mark.filterwarnings("ignore:compare_maps.*of the grid:UserWarning")


def _smooth(a: np.ndarray, sigma: float) -> np.ndarray:
    return a if sigma == 0 else gaussian_filter(a, sigma, mode="reflect", truncate=4.0)


def _human(n: int, seed: int, shape: tuple[int, int] = (24, 24)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return gaussian_filter(rng.random((n, *shape)), (0, 2, 2))


def _summary_row(result: object, source: str, metric: str = "cc") -> pd.Series:
    summary = result.summary  # type: ignore[attr-defined]
    rows = summary[(summary.source == source) & (summary.metric == metric)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_matching_maps_score_best_and_shuffled_ones_do_not() -> None:
    n = 20
    human = _human(n, seed=0)
    rng = np.random.default_rng(1)
    match = human + 0.01 * rng.standard_normal(human.shape)
    shuffled = match[np.roll(np.arange(n), 1)]  # every image gets another image's map
    result = compare_maps(
        {"match": match, "shuffled": shuffled},
        {"human": human},
        smoothing_sigmas_px=(0.0, 1.0),
        cv_folds=4,
        n_bootstrap=200,
        n_permutations=200,
        rng=2,
        progress=False,
    )
    good, bad = _summary_row(result, "match"), _summary_row(result, "shuffled")
    assert good["mean"] > 0.95
    assert good["p_value"] == pytest.approx(1 / 201)  # no derangement comes close
    assert good["mean"] > bad["ci_high"]
    # Derangements can pair an image with its own map again (partner i+1), so the
    # shuffled source's null lies above its observed mean.
    assert bad["null_mean"] > bad["mean"]
    assert bad["p_value"] > 0.05
    assert len(result.null[("match", "human", "cc")]) == 200


def test_scores_equal_the_scalar_metrics_at_the_chosen_sigma() -> None:
    n = 6
    human = _human(n, seed=3)
    rng = np.random.default_rng(4)
    # Rounded (and clipped, as after a ReLU) so that unsmoothed maps have many ties.
    ann = {
        f"im{i}": np.maximum(np.round(human[i] + 0.2 * rng.standard_normal((24, 24)), 1), 0.3)
        for i in range(n)
    }
    fix = {f"im{i}": (rng.random((24, 24)) < 0.05).astype(float) for i in range(n)}
    hum = {f"im{i}": human[i] for i in range(n)}
    result = compare_maps(
        {"net": ann},
        {"dens": hum},
        fixations={"fix": fix},
        metrics=("cc", "spearman", "nss"),
        smoothing_sigmas_px=(0.0, 1.5, 3.0),
        cv_folds=[0, 1, 2, 0, 1, 2],
        n_bootstrap=0,
        n_permutations=0,
        progress=False,
    )
    assert len(result.scores) == 3 * n
    for row in result.scores.to_dict("records"):
        image = str(row["image_id"])
        pred = _smooth(ann[image], float(row["sigma_px"]))
        if row["metric"] == "cc":
            expected = metrics.cc(pred, hum[image])
        elif row["metric"] == "spearman":
            expected = spearmanr(pred.ravel(), hum[image].ravel()).statistic
        else:
            expected = metrics.nss(pred, fix[image])
        assert row["score"] == pytest.approx(expected, abs=1e-12)
        assert row["measure"] == ("fix" if row["metric"] == "nss" else "dens")
    summary = result.summary
    assert summary[["ci_low", "ci_high", "p_value", "null_mean"]].isna().all().all()
    assert set(summary.metric) == {"cc", "spearman", "nss"}


def test_ranks_average_ties_as_scipy() -> None:
    from scipy.stats import rankdata

    from analysis.comparison._kernels import _ranks

    rng = np.random.default_rng(40)
    stack = np.round(rng.random((4, 7, 9)) * 5)  # many ties
    stack[1] = rng.random((7, 9))  # none
    stack[2] = 1.0  # all tied
    expected = rankdata(stack.reshape(4, -1), axis=1).reshape(stack.shape)
    np.testing.assert_array_equal(_ranks(stack), expected)


def test_permutation_null_by_hand_with_two_images() -> None:
    # With two images the only derangement swaps them: every null value is the mean of
    # cc(ann_1, human_0) and cc(ann_0, human_1), each at its row's chosen sigma, and the
    # p-value is 1/(1 + n) when the matched mean beats it.
    human = _human(2, seed=6)
    rng = np.random.default_rng(7)
    ann = human + 0.3 * rng.standard_normal(human.shape)
    sigmas = (0.0, 2.0)
    result = compare_maps(
        {"net": ann},
        {"h": human},
        smoothing_sigmas_px=sigmas,
        cv_folds=2,
        n_bootstrap=50,
        n_permutations=25,
        rng=8,
        progress=False,
    )
    chosen = result.scores.set_index("image_id")["sigma_px"]
    swapped = np.mean([metrics.cc(_smooth(ann[1 - i], chosen[i]), human[i]) for i in (0, 1)])
    null = result.null[("net", "h", "cc")]
    np.testing.assert_allclose(null, np.full(25, swapped), atol=1e-12)
    row = _summary_row(result, "net")
    assert row["mean"] > swapped
    assert row["p_value"] == pytest.approx(1 / 26)
    # Each image's sigma was chosen on the other image alone.
    for i in (0, 1):
        other = [metrics.cc(_smooth(ann[1 - i], s), human[1 - i]) for s in sigmas]
        assert chosen[i] == sigmas[int(np.argmax(other))]


def _fixations(human: np.ndarray, n_fix: int, seed: int) -> np.ndarray:
    """Fixation counts drawn with probability exp(2 z), z the human map's z-scores."""
    rng = np.random.default_rng(seed)
    out = np.zeros_like(human)
    for i, density in enumerate(human):
        p = np.exp(2 * (density.ravel() - density.mean()) / density.std())
        out[i].flat[rng.choice(p.size, n_fix, p=p / p.sum())] += 1
    return out


def test_registered_metrics_equal_their_functions() -> None:
    n = 5
    human = _human(n, seed=30, shape=(20, 20))
    fix = _fixations(human, 15, seed=31)
    rng = np.random.default_rng(32)
    ann = human + 0.05 * rng.standard_normal(human.shape)
    centre = np.exp(-((np.arange(20)[:, None] - 9.5) ** 2 + (np.arange(20) - 9.5) ** 2) / 50)
    result = compare_maps(
        {"net": ann},
        {"dens": human},
        fixations={"fix": fix},
        metrics=("similarity", "kl_div", "auc_judd", "info_gain", "nss"),
        metric_options={"nss": {"ddof": 0}},
        baseline=centre,
        smoothing_sigmas_px=(0.0, 2.0),
        cv_folds=n,
        n_bootstrap=0,
        n_permutations=0,
        progress=False,
    )
    functions = {
        "similarity": lambda p, i: metrics.similarity(p, human[i]),
        "kl_div": lambda p, i: metrics.kl_div(p, human[i]),
        "auc_judd": lambda p, i: metrics.auc_judd(p, fix[i]),
        "info_gain": lambda p, i: metrics.info_gain(p, fix[i], centre),
        "nss": lambda p, i: metrics.nss(p, fix[i], ddof=0),
    }
    assert len(result.scores) == 5 * n
    for row in result.scores.to_dict("records"):
        i = int(row["image_id"])
        pred = _smooth(ann[i], float(row["sigma_px"]))
        expected = functions[str(row["metric"])](pred, i)
        assert row["score"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    # KL is a distance: each fold takes the sigma with the lowest training mean.
    cv = result.cv[result.cv.metric == "kl_div"]
    for _, fold in cv.groupby("fold"):
        chosen = fold.chosen.to_numpy()
        assert chosen[np.argmin(fold.train_score.to_numpy())]
        assert chosen.sum() == 1
    higher = dict(zip(result.summary.metric, result.summary.higher_is_better, strict=True))
    assert not higher["kl_div"]
    assert higher["similarity"]


def test_registered_metric_null_by_hand_with_two_images() -> None:
    # The pairwise (non-matrix) path: SIM of each image's map against the other's ANN map.
    human = _human(2, seed=33)
    ann = human + 0.02 * np.random.default_rng(34).standard_normal(human.shape)
    result = compare_maps(
        {"net": ann},
        {"h": human},
        metrics=("similarity", "kl_div"),
        smoothing_sigmas_px=(0.0,),
        cv_folds=2,
        n_bootstrap=0,
        n_permutations=10,
        rng=35,
        progress=False,
    )
    swapped_sim = np.mean([metrics.similarity(ann[1 - i], human[i]) for i in (0, 1)])
    swapped_kl = np.mean([metrics.kl_div(ann[1 - i], human[i]) for i in (0, 1)])
    np.testing.assert_allclose(result.null[("net", "h", "similarity")], swapped_sim, rtol=1e-12)
    np.testing.assert_allclose(result.null[("net", "h", "kl_div")], swapped_kl, rtol=1e-12)
    summary = result.summary.set_index("metric")
    # Matched maps beat the swap on both: higher SIM, lower KL.
    assert summary.loc["similarity", "p_value"] == pytest.approx(1 / 11)
    assert summary.loc["kl_div", "p_value"] == pytest.approx(1 / 11)


def test_stochastic_metrics_are_seeded_and_shuffled_auc_uses_other_images() -> None:
    n = 6
    human = _human(n, seed=36)
    fix = _fixations(human, 20, seed=37)
    kwargs = {
        "metrics": ("auc_borji", "auc_shuffled"),
        "smoothing_sigmas_px": (0.0, 1.0),
        "cv_folds": 3,
        "n_bootstrap": 20,
        "n_permutations": 20,
        "progress": False,
    }
    a = compare_maps({"net": human}, fixations={"f": fix}, rng=38, **kwargs)  # type: ignore[arg-type]
    b = compare_maps({"net": human}, fixations={"f": fix}, rng=38, **kwargs)  # type: ignore[arg-type]
    c = compare_maps({"net": human}, fixations={"f": fix}, rng=39, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a.scores, b.scores)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    assert not np.array_equal(a.scores.score, c.scores.score)
    assert (a.summary["mean"] > 0.6).all()
    from analysis.comparison._kernels import _kernels

    (kernel,) = _kernels(
        ("auc_shuffled",),
        have_maps=False,
        have_fixations=True,
        options=None,
        baseline=None,
        seed=np.random.SeedSequence(0),
    )
    other = kernel.prepare_targets(fix, tuple(range(n)), "f").other
    assert other is not None
    for i in range(n):
        expected = sum((fix[j] > 0).astype(float) for j in range(n) if j != i)
        np.testing.assert_array_equal(other[i], expected)


def test_sigma_is_chosen_on_the_other_folds_only() -> None:
    # By construction: on images "a*" the human map is the ANN map itself (best sigma 0),
    # on images "b*" it is the ANN map blurred by 3 px (best sigma 3). With one fold per
    # group, the "a" images must be scored at sigma 3 and the "b" images at sigma 0: any
    # use of the scored images to choose would pick their own best.
    rng = np.random.default_rng(9)
    ann, human, folds = {}, {}, {}
    for group, blur in (("a", 0.0), ("b", 3.0)):
        for k in range(5):
            key = f"{group}{k}"
            ann[key] = rng.random((32, 32))
            human[key] = _smooth(ann[key], blur)
            folds[key] = group
    result = compare_maps(
        {"net": ann},
        {"h": human},
        smoothing_sigmas_px=(0.0, 3.0),
        cv_folds=folds,
        n_bootstrap=0,
        n_permutations=0,
        progress=False,
    )
    sigma = result.scores.set_index("image_id")["sigma_px"]
    assert all(sigma[f"a{k}"] == 3.0 for k in range(5))
    assert all(sigma[f"b{k}"] == 0.0 for k in range(5))
    cv = result.cv
    fold_a = result.folds[result.image_ids.index("a0")]
    train = cv[(cv.fold == fold_a)].set_index("sigma_px")["train_score"]
    b_scores = [metrics.cc(_smooth(ann[f"b{k}"], 3.0), human[f"b{k}"]) for k in range(5)]
    assert train[3.0] == pytest.approx(np.mean(b_scores))
    assert cv[(cv.fold == fold_a) & cv.chosen].sigma_px.tolist() == [3.0]
    summary = _summary_row(result, "net")
    assert sorted(summary["sigma_px_folds"]) == [0.0, 3.0]


def test_held_out_images_do_not_change_their_own_sigma() -> None:
    human = _human(12, seed=10, shape=(20, 20))
    rng = np.random.default_rng(11)
    ann = human + 0.5 * rng.standard_normal(human.shape)
    options = {
        "smoothing_sigmas_px": (0.0, 1.0, 2.0, 4.0),
        "cv_folds": 3,
        "n_bootstrap": 0,
        "n_permutations": 0,
        "rng": 12,
        "progress": False,
    }
    first = compare_maps({"net": ann}, {"h": human}, **options)  # type: ignore[arg-type]
    held = np.flatnonzero(first.folds == 0)
    changed = human.copy()
    changed[held] = _smooth(ann[held], 0) * -1  # destroy the held-out images' maps
    second = compare_maps({"net": ann}, {"h": changed}, **options)  # type: ignore[arg-type]
    np.testing.assert_array_equal(second.folds, first.folds)
    s1 = first.scores.sigma_px.to_numpy()[held]
    s2 = second.scores.sigma_px.to_numpy()[held]
    np.testing.assert_array_equal(s1, s2)


def test_bootstrap_interval_covers_the_mean_and_matches_the_normal_interval() -> None:
    n = 200
    human = _human(n, seed=13, shape=(16, 16))
    rng = np.random.default_rng(14)
    ann = human + rng.uniform(0.02, 0.3, size=(n, 1, 1)) * rng.standard_normal(human.shape)
    result = compare_maps(
        {"net": ann},
        {"h": human},
        smoothing_sigmas_px=(0.0,),
        cv_folds=2,
        n_bootstrap=4000,
        n_permutations=0,
        confidence=0.9,
        rng=15,
        progress=False,
    )
    row = _summary_row(result, "net")
    assert row["ci_low"] < row["mean"] < row["ci_high"]
    scores = result.scores.score.to_numpy()
    half = 1.6449 * scores.std(ddof=1) / np.sqrt(n)  # normal approximation, 90 %
    assert row["ci_high"] - row["ci_low"] == pytest.approx(2 * half, rel=0.1)
    assert row["mean"] == pytest.approx(scores.mean())


def test_same_seed_same_results_other_seed_other_draws() -> None:
    human = _human(10, seed=16, shape=(12, 12))
    ann = human[::-1] + human
    kwargs = {"n_bootstrap": 100, "n_permutations": 100, "progress": False}
    a = compare_maps({"net": ann}, {"h": human}, rng=17, **kwargs)  # type: ignore[arg-type]
    b = compare_maps({"net": ann}, {"h": human}, rng=17, **kwargs)  # type: ignore[arg-type]
    c = compare_maps({"net": ann}, {"h": human}, rng=18, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.scores, b.scores)
    pd.testing.assert_frame_equal(a.cv, b.cv)
    np.testing.assert_array_equal(a.null[("net", "h", "cc")], b.null[("net", "h", "cc")])
    assert not np.array_equal(a.null[("net", "h", "cc")], c.null[("net", "h", "cc")])
    generator = np.random.default_rng(17)
    d = compare_maps({"net": ann}, {"h": human}, rng=generator, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a.summary, d.summary)


def test_fixation_coordinates_equal_fixation_maps() -> None:
    rng = np.random.default_rng(19)
    ann = rng.random((4, 30, 40))
    coords = [np.column_stack([rng.uniform(0, 39, 8), rng.uniform(0, 29, 8)]) for _ in range(4)]
    maps = [fixation_counts(c, (30, 40)) for c in coords]
    kwargs = {"metrics": ("nss",), "n_permutations": 20, "cv_folds": 2, "rng": 0}
    a = compare_maps({"net": ann}, fixations={"free": coords}, fixation_shape=(30, 40), **kwargs)  # type: ignore[arg-type]
    b = compare_maps({"net": ann}, fixations={"free": maps}, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a.summary, b.summary)


def test_ann_maps_of_another_size_and_order_are_aligned() -> None:
    human = _human(3, seed=20, shape=(32, 32))
    small = {f"im{i}": human[i][::2, ::2] + human[i][1::2, 1::2] for i in (2, 0, 1)}
    result = compare_maps(
        {"net": small},
        {"h": {f"im{i}": human[i] for i in range(3)}},
        smoothing_sigmas_px=(0.0,),
        cv_folds=3,
        n_bootstrap=0,
        n_permutations=0,
        progress=False,
    )
    assert result.image_ids == ("im2", "im0", "im1")
    assert (result.scores.score > 0.9).all()


def test_human_maps_of_different_shapes_need_size() -> None:
    human = {"a": np.random.default_rng(0).random((20, 20)), "b": np.eye(10) + 0.1}
    ann = {"a": np.eye(8) + 0.1, "b": np.eye(8) + 0.2}
    with pytest.raises(ValueError, match=r"different shapes .* give size="):
        compare_maps({"net": ann}, {"h": human}, cv_folds=2, progress=False)
    result = compare_maps(
        {"net": ann}, {"h": human}, cv_folds=2, size=(10, 10), n_permutations=5, progress=False
    )
    assert result.summary.n_images.tolist() == [2]


def test_progress_bar_is_written_and_completes(capsys: pytest.CaptureFixture[str]) -> None:
    human = _human(40, seed=21, shape=(8, 8))
    fix = _fixations(human, 5, seed=22)
    compare_maps(
        {"net": human},
        {"h": human},
        fixations={"f": fix},
        metrics=("cc", "auc_judd"),
        cv_folds=2,
        n_permutations=10,
        progress=True,
    )
    err = capsys.readouterr().err
    assert "compare_maps" in err
    done, total = re.findall(r"(\d+)/(\d+)", err)[-1]
    assert done == total


def test_derangements_have_no_fixed_points_and_cover_all() -> None:
    perms = _derangements(5, 3000, np.random.default_rng(22))
    assert perms.shape == (3000, 5)
    assert not (perms == np.arange(5)).any()
    np.testing.assert_array_equal(np.sort(perms, axis=1), np.tile(np.arange(5), (3000, 1)))
    # 44 derangements of 5 items, each drawn about 3000 / 44 = 68 times.
    _, counts = np.unique(perms, axis=0, return_counts=True)
    assert len(counts) == 44
    assert counts.min() > 35


def test_lower_is_better_choice_and_p_value() -> None:
    scores = np.array([[1.0, 1.0, 5.0, 5.0], [2.0, 2.0, 0.5, 0.5]])
    folds = np.array([0, 0, 1, 1])
    best, means = _choose_sigmas(scores, folds, higher_is_better=False)
    np.testing.assert_array_equal(best, [1, 0])  # fold 0 trains on images 2, 3
    np.testing.assert_allclose(means, [[5.0, 0.5], [1.0, 2.0]])
    null = np.array([0.1, 0.5, 0.9])
    assert _p_value(0.5, null, higher_is_better=False) == pytest.approx(3 / 4)
    assert _p_value(0.5, null, higher_is_better=True) == pytest.approx(3 / 4)
    assert _p_value(0.05, null, higher_is_better=False) == pytest.approx(1 / 4)


def _inputs() -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict[str, np.ndarray]]]:
    rng = np.random.default_rng(23)
    ann = {"net": {f"im{i}": rng.random((6, 6)) for i in range(4)}}
    human = {"h": {f"im{i}": rng.random((6, 6)) for i in range(4)}}
    return ann, human


def _replace(groups: dict, name: str, image: str, value: object) -> dict:
    out = {k: dict(v) for k, v in groups.items()}
    out[name][image] = value
    return out


_ANN, _HUMAN = _inputs()


@pytest.mark.parametrize(
    ("ann", "human", "kwargs", "match"),
    [
        pytest.param(
            _ANN,
            _HUMAN,
            {"metrics": ("cc", "auc_magic")},
            "Allowed values are",
            id="unknown-metric",
        ),
        pytest.param(_ANN, _HUMAN, {"metrics": "cc"}, "sequence of metric names", id="str"),
        pytest.param(_ANN, _HUMAN, {"metrics": ("cc", "cc")}, "repeats", id="repeated"),
        pytest.param(_ANN, None, {}, "no human_maps were given", id="no-human-maps"),
        pytest.param(
            _ANN, _HUMAN, {"metrics": ("nss",)}, "no fixations were given", id="no-fixations"
        ),
        pytest.param(
            {"net": {"im0": np.eye(6)}},
            _HUMAN,
            {},
            r"human_maps\['h'\] are not those of the ANN maps: it has extra \['im1', 'im2', 'im3'",
            id="mismatched-ids",
        ),
        pytest.param(
            _replace(_ANN, "net", "im1", np.full((6, 6), np.nan)),
            _HUMAN,
            {},
            "'net', image 'im1' has 36 NaN",
            id="nan-ann",
        ),
        pytest.param(
            _ANN,
            _replace(_HUMAN, "h", "im2", np.ones(6)),
            {},
            r"2-D array .* shape \(6,\)",
            id="1-d-human",
        ),
        pytest.param(
            _replace(_ANN, "net", "im3", np.zeros((6, 6))),
            _HUMAN,
            {},
            "source 'net', image 'im3' is constant",
            id="constant-ann",
        ),
        pytest.param(
            _ANN,
            _replace(_HUMAN, "h", "im0", np.ones((6, 6))),
            {},
            "measure 'h', image 'im0' is constant",
            id="constant-human",
        ),
        pytest.param(
            _ANN,
            None,
            {"metrics": ("nss",), "fixations": {"f": dict.fromkeys(_HUMAN["h"], np.zeros((6, 6)))}},
            "is empty: no pixel is fixated",
            id="empty-fixations",
        ),
        pytest.param(
            _ANN,
            None,
            {"metrics": ("nss",), "fixations": {"f": dict.fromkeys(_HUMAN["h"], -np.ones((6, 6)))}},
            "negative values",
            id="negative-fixations",
        ),
        pytest.param(
            _ANN, _HUMAN, {"cv_folds": 1}, "from 2 to the number of images", id="one-fold"
        ),
        pytest.param(
            _ANN, _HUMAN, {"cv_folds": 5}, r"number of images \(4\), .* but got 5", id="many-folds"
        ),
        pytest.param(_ANN, _HUMAN, {"cv_folds": [0, 0, 0, 0]}, "single fold", id="single-label"),
        pytest.param(
            _ANN, _HUMAN, {"cv_folds": [0, 1]}, "one fold label per image", id="short-labels"
        ),
        pytest.param(
            _ANN, _HUMAN, {"smoothing_sigmas_px": (0, -1)}, "non-negative", id="negative-sigma"
        ),
        pytest.param(
            _ANN, _HUMAN, {"smoothing_sigmas_px": (1, 1.0)}, "distinct", id="duplicate-sigma"
        ),
        pytest.param(_ANN, _HUMAN, {"smoothing_sigmas_px": ()}, "non-empty", id="no-sigma"),
        pytest.param(_ANN, _HUMAN, {"confidence": 1.5}, "'confidence'", id="confidence"),
        pytest.param(_ANN, _HUMAN, {"n_bootstrap": -1}, "'n_bootstrap'", id="n-bootstrap"),
        pytest.param(_ANN, _HUMAN, {"n_permutations": 2.5}, "'n_permutations'", id="n-perm"),
        pytest.param(_ANN, _HUMAN, {"size": (0, 3)}, "'size' parameter", id="size"),
        pytest.param(
            _ANN,
            None,
            {"metrics": ("info_gain",), "fixations": {"f": dict.fromkeys(_HUMAN["h"], np.eye(6))}},
            "needs a baseline map",
            id="info-gain-without-baseline",
        ),
        pytest.param(
            _ANN,
            _HUMAN,
            {"baseline": {"im0": np.eye(6)}},
            r"no baseline map for the images",
            id="baseline-missing-image",
        ),
        pytest.param(
            _ANN,
            _HUMAN,
            {"metric_options": {"cc": {"ddof": 0}}},
            "not options of the metric 'cc'",
            id="unknown-option",
        ),
        pytest.param(
            _ANN,
            _HUMAN,
            {"metric_options": {"nss": {"ddof": 0}}},
            "for metrics among",
            id="option-for-unrequested-metric",
        ),
        pytest.param(
            _replace(_ANN, "net", "im2", -np.eye(6)),
            _HUMAN,
            {"metrics": ("kl_div",)},
            r"Scoring source 'net' against measure 'h' with 'kl_div': .* ANN map of image 'im2'",
            id="registered-metric-names-the-image",
        ),
        pytest.param(
            _ANN,
            _HUMAN,
            {"metrics": ("similarity",), "fixation_shape": (6, 6.5)},
            "'fixation_shape'",
            id="fixation-shape",
        ),
        pytest.param({}, _HUMAN, {}, "'ann_maps' parameter", id="no-sources"),
        pytest.param(
            _ANN,
            None,
            {
                "metrics": ("nss",),
                "fixations": dict.fromkeys(_HUMAN["h"], np.full((140, 2), 2.0)),
                "fixation_shape": (6, 6),
            },
            r"'fixations' parameter: the mapping has the wrong shape: fixations\['im0'\] holds "
            r"one array of shape \(140, 2\), as one image's data would.* Expected a dict "
            r"measure name -> per-image fixations",
            id="fixations-by-image",
        ),
        pytest.param(
            _ANN,
            None,
            {
                "metrics": ("nss",),
                "fixations": dict.fromkeys(_HUMAN["h"], [np.full((3, 2), 2.0)] * 2),
                "fixation_shape": (6, 6),
            },
            r"wrong shape: its keys \['im0', 'im1', 'im2', 'im3'\] are image ids of the ANN "
            r"maps.* fixations=\{'<measure>': \.\.\.\}",
            id="fixations-by-image-per-observer",
        ),
        pytest.param(
            _ANN,
            _HUMAN["h"],
            {},
            r"'human_maps' parameter: the mapping has the wrong shape: human_maps\['im0'\] "
            r"holds one array of shape \(6, 6\).* Expected a dict measure name -> per-image maps",
            id="human-maps-by-image",
        ),
        pytest.param(
            _ANN["net"],
            _HUMAN,
            {},
            r"ann_maps\['im0'\] holds one array .* ann_maps=\{'<source>'",
            id="ann-maps-by-image",
        ),
    ],
)
def test_errors(ann: object, human: object, kwargs: dict[str, object], match: str) -> None:
    kwargs = dict(kwargs)
    with pytest.raises(ValueError, match=match):
        compare_maps(ann, human, progress=False, cv_folds=kwargs.pop("cv_folds", 2), **kwargs)  # type: ignore[arg-type]


def test_one_image_cannot_be_cross_validated_or_permuted() -> None:
    one = {"net": [np.eye(4) + 0.1]}
    with pytest.raises(ValueError, match=r"from 2 to the number of images \(1\)"):
        compare_maps(one, {"h": [np.eye(4)]}, cv_folds=2, progress=False)
    with pytest.raises(ValueError, match=r"at least 2 images .* n_permutations=0"):
        _derangements(1, 10, np.random.default_rng(0))


def test_import_stays_light(repo_root: Path) -> None:
    code = (
        "import sys, analysis.comparison; "
        "heavy = ('torch', 'psychopy', 'pylink', 'pandas', 'statsmodels'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def _blurred_pairs(
    px_per_deg: dict[str, float], ann_deg: float, human_deg: float, shape: tuple[int, int]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """ANN and human maps of one white-noise field per image, blurred ``ann_deg`` / ``human_deg``.

    Gaussians compose by adding variances, so smoothing the ANN map by
    ``sqrt(human_deg**2 - ann_deg**2)`` degrees gives the human map (up to the
    pixel grid and the reflected edges) and scores best.
    """
    rng = np.random.default_rng(30)
    ann, human = {}, {}
    for image_id, ppd in px_per_deg.items():
        field = rng.standard_normal(shape)
        ann[image_id] = _smooth(field, ann_deg * ppd)
        human[image_id] = _smooth(field, human_deg * ppd)
    return ann, human


def test_sigma_in_degrees_is_found_for_each_images_pixels_per_degree() -> None:
    """ANN 0.75 deg, human 1.25 deg: the best extra blur is sqrt(1.25² - 0.75²) = 1.0 deg.

    Half the images have 3 px/deg and half 6 px/deg, so the chosen 1 degree is
    3 px on the first and 6 px on the others; one pixel sigma for all would miss
    on one half (the grid's 0.5 and 1.5 deg are 1.5 / 4.5 px and 3 / 9 px).
    """
    ppd = {f"a{k}": 3.0 for k in range(5)} | {f"b{k}": 6.0 for k in range(5)}
    ann, human = _blurred_pairs(ppd, 0.75, 1.25, (60, 60))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default grid reaches 3 deg: no edge warning
        result = compare_maps(
            {"net": ann},
            {"h": human},
            px_per_deg=ppd,
            cv_folds=5,
            n_bootstrap=0,
            n_permutations=0,
            rng=0,
            progress=False,
        )
    assert result.smoothing_sigmas_deg == (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
    assert result.smoothing_sigmas_px == ()  # pixels per degree differ per image
    scores = result.scores.set_index("image_id")
    assert list(result.scores.columns) == [
        "source", "measure", "metric", "image_id", "fold", "sigma_px", "sigma_deg", "score"
    ]  # fmt: skip
    assert (scores.sigma_deg == 1.0).all()
    assert scores.sigma_px.to_dict() == {i: 1.0 * p for i, p in ppd.items()}
    row = _summary_row(result, "net")
    assert row["sigma_deg"] == 1.0 and row["sigma_deg_folds"] == (1.0,) * 5
    assert np.isnan(row["sigma_px"])
    cv = result.cv
    assert "sigma_deg" in cv.columns and cv[cv.chosen].sigma_deg.tolist() == [1.0] * 5


def test_sigma_in_degrees_with_one_px_per_deg_and_resampled_maps() -> None:
    """Maps given at 8 px/deg on 96 x 96 px and resampled to 48 x 48 are smoothed at 4 px/deg.

    The ANN map is blurred 0.6 deg and the human map 1.0 deg: best extra
    sqrt(1 - 0.36) = 0.8 deg, on the grid (0.4, 0.8, 1.6): 3.2 px on the 48 x 48
    maps, 0.8 * 8 * sqrt(48 * 48 / (96 * 96)).
    """
    ppd = {f"im{k}": 8.0 for k in range(6)}
    ann, human = _blurred_pairs(ppd, 0.6, 1.0, (96, 96))
    result = compare_maps(
        {"net": ann},
        {"h": human},
        px_per_deg=8,
        smoothing_sigmas_deg=(0.8, 0.4, 1.6),
        size=(48, 48),
        cv_folds=3,
        n_bootstrap=0,
        n_permutations=0,
        rng=0,
        progress=False,
    )
    assert result.smoothing_sigmas_deg == (0.4, 0.8, 1.6)
    assert result.smoothing_sigmas_px == pytest.approx((1.6, 3.2, 6.4))
    assert (result.scores.sigma_deg == 0.8).all()
    assert result.scores.sigma_px.to_numpy() == pytest.approx(3.2)
    assert _summary_row(result, "net")["sigma_px"] == pytest.approx(3.2)


def test_grid_edge_warns_on_a_too_small_grid_and_not_at_zero() -> None:
    """Best extra blur 1 deg (as above) with the grid (0, 0.25, 0.5) deg: 0.5 deg, the edge."""
    ppd = {f"im{k}": 4.0 for k in range(6)}
    ann, human = _blurred_pairs(ppd, 0.75, 1.25, (48, 48))
    kwargs: dict[str, Any] = {
        "px_per_deg": 4.0,
        "cv_folds": 3,
        "n_bootstrap": 0,
        "n_permutations": 0,
        "progress": False,
    }
    message = (
        r"source 'net', measure 'h', metric 'cc' the smoothing chosen in 3 of 3 folds, sigma = "
        r"0.5 deg, is the largest of the grid \(0, 0.25, 0.5\) deg"
    )
    with pytest.warns(UserWarning, match=message):
        small = compare_maps(
            {"net": ann}, {"h": human}, smoothing_sigmas_deg=(0, 0.25, 0.5), **kwargs
        )
    assert (small.scores.sigma_deg == 0.5).all()
    # The ANN map blurred more than the human map: no smoothing (0) is best, and no warning.
    more, less = _blurred_pairs(ppd, 1.25, 0.75, (48, 48))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        none = compare_maps({"net": more}, {"h": less}, **kwargs)
    assert (none.scores.sigma_deg == 0.0).all()
    # A grid that starts above 0 has a lower edge too.
    with pytest.warns(UserWarning, match=r"is the smallest of the grid \(0.5, 1\) deg"):
        compare_maps({"net": more}, {"h": less}, smoothing_sigmas_deg=(0.5, 1.0), **kwargs)


def test_pixel_grid_stays_as_before() -> None:
    human = _human(4, seed=31, shape=(12, 12))
    result = compare_maps(
        {"net": human}, {"h": human}, cv_folds=2, n_bootstrap=0, n_permutations=0, progress=False
    )
    assert result.smoothing_sigmas_px == (0.0, 1.0, 2.0, 4.0, 8.0)
    assert result.smoothing_sigmas_deg is None
    assert "sigma_deg" not in result.scores.columns
    assert "sigma_deg" not in result.summary.columns and "sigma_deg" not in result.cv.columns
    assert (result.scores.sigma_px == 0.0).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param(
            {"smoothing_sigmas_px": (0, 1), "smoothing_sigmas_deg": (0, 1), "px_per_deg": 4},
            r"one unit: 'smoothing_sigmas_px' .* or 'smoothing_sigmas_deg' .* not both",
            id="both-grids",
        ),
        pytest.param({"smoothing_sigmas_deg": (0, 1)}, "needs 'px_per_deg'", id="deg-no-ppd"),
        pytest.param(
            {"smoothing_sigmas_px": (0, 1), "px_per_deg": 4},
            "with 'smoothing_sigmas_px' leave it out",
            id="px-with-ppd",
        ),
        pytest.param({"px_per_deg": 0}, r"positive number .* but got 0", id="ppd-zero"),
        pytest.param({"px_per_deg": "30"}, r"but got '30'", id="ppd-str"),
        pytest.param(
            {"px_per_deg": {"im0": 4.0}},
            r"no value for the images \['im1', 'im2', 'im3'\]",
            id="ppd-missing",
        ),
        pytest.param(
            {"px_per_deg": {"im0": 4.0, "im1": 4.0, "im2": np.nan, "im3": 4.0}},
            r"image 'im2' has nan",
            id="ppd-nan",
        ),
        pytest.param(
            {"smoothing_sigmas_deg": (0, -1), "px_per_deg": 4},
            r"'smoothing_sigmas_deg' parameter: .* non-negative",
            id="negative-deg",
        ),
    ],
)
def test_smoothing_grid_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        compare_maps(_ANN, _HUMAN, cv_folds=2, progress=False, **kwargs)
