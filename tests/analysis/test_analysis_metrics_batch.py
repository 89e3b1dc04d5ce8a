"""Tests of the metric registry and of batched scoring (score_batch)."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
import pytest

from analysis.fixations import fixation_counts, fixation_map
from analysis.metrics import METRICS, MetricSpec, _batch, score_batch

SHAPE = (24, 32)
N = 5

NAMES = (
    "auc_judd",
    "auc_borji",
    "auc_shuffled",
    "nss",
    "cc",
    "similarity",
    "kl_div",
    "info_gain",
    "emd",
    "spearman",
    "topk_iou",
    "topk_dice",
)


@pytest.fixture(scope="module")
def data():
    """Maps, fixation coordinates, fixation maps, densities, other fixations, baselines."""
    rng = np.random.default_rng(0)
    maps = rng.random((N, *SHAPE)).astype(np.float32)
    xy = [
        np.column_stack([rng.uniform(0, SHAPE[1] - 1, k), rng.uniform(0, SHAPE[0] - 1, k)])
        for k in rng.integers(5, 20, N)
    ]
    fixmaps = np.stack([fixation_counts(p, SHAPE) for p in xy])
    dens = np.stack([fixation_map(p, SHAPE, px_per_deg=2.0) for p in xy])
    other = [np.vstack([xy[j] for j in range(N) if j != i]) for i in range(N)]
    baselines = rng.random((N, 6, 8))
    return maps, xy, fixmaps, dens, other, baselines


def test_registry_lists_every_metric_with_its_needs():
    assert sorted(METRICS) == sorted(NAMES)
    for name, spec in METRICS.items():
        assert isinstance(spec, MetricSpec)
        assert spec.name == name == spec.func.__name__
        params = inspect.signature(spec.func).parameters
        for option in spec.options:
            assert params[option].kind is inspect.Parameter.KEYWORD_ONLY
    assert METRICS["auc_shuffled"].needs == "other_fixations"
    assert METRICS["info_gain"].needs == "baseline"
    assert {n for n, s in METRICS.items() if not s.higher_is_better} == {"kl_div", "emd"}
    assert {n for n, s in METRICS.items() if s.stochastic} == {"auc_borji", "auc_shuffled"}
    assert {n for n, s in METRICS.items() if s.target == "fixations"} == {
        "auc_judd",
        "auc_borji",
        "auc_shuffled",
        "nss",
        "info_gain",
    }


def _single(name, maps, targets, other, baselines, i, rng, image_shape=None, **options):
    spec = METRICS[name]
    kwargs = dict(options)
    if spec.target == "fixations" and image_shape is not None:
        kwargs["image_shape"] = image_shape
    if spec.stochastic:
        kwargs["rng"] = rng
    args = [maps[i], targets[i]]
    if spec.needs == "other_fixations":
        args.append(other[i])
    if spec.needs == "baseline":
        args.append(baselines[i])
    return spec.func(*args, **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_batch_equals_single_image_calls(data, name):
    maps, xy, fixmaps, dens, other, baselines = data
    spec = METRICS[name]
    options: dict[str, Any] = {"downsample": 4} if name == "emd" else {}
    if spec.target == "fixations":
        other_maps = np.stack([fixation_counts(o, SHAPE) for o in other])
        got = score_batch(
            name, maps, xy, image_shape=SHAPE, other=other, baseline=baselines, rng=1, **options
        )
        gen = np.random.default_rng(1)
        expected = [
            _single(name, maps, xy, other, baselines, i, gen, image_shape=SHAPE, **options)
            for i in range(N)
        ]
        # The same with dense fixation maps instead of coordinates.
        dense = score_batch(
            name, maps, fixmaps, other=other_maps, baseline=list(baselines), rng=1, **options
        )
        np.testing.assert_allclose(dense, got, rtol=0, atol=1e-12)
    else:
        got = score_batch(name, maps, dens, **options)
        expected = [_single(name, maps, dens, None, None, i, None, **options) for i in range(N)]
    assert got.shape == (N,)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["cc", "similarity", "kl_div", "spearman", "topk_dice"])
def test_batch_chunks_and_sequences_agree(data, name, monkeypatch):
    maps, _, _, dens, _, _ = data
    whole = score_batch(name, maps, dens)
    monkeypatch.setattr(_batch, "CHUNK_ELEMENTS", 2 * SHAPE[0] * SHAPE[1])
    np.testing.assert_allclose(score_batch(name, maps, dens), whole, rtol=0, atol=1e-13)
    # A list of maps of another size: each is resized to its target's shape.
    small = [m[::2, ::2] for m in maps]
    expected = [METRICS[name].func(m, d) for m, d in zip(small, dens, strict=True)]
    np.testing.assert_allclose(score_batch(name, small, list(dens)), expected, atol=1e-12)


def test_batch_single_baseline_for_all_images(data):
    maps, xy, _, _, _, baselines = data
    shared = score_batch("info_gain", maps, xy, image_shape=SHAPE, baseline=baselines[0])
    each = score_batch("info_gain", maps, xy, image_shape=[SHAPE] * N, baseline=[baselines[0]] * N)
    np.testing.assert_array_equal(shared, each)


def test_batch_warns_once_for_fixations_outside(data):
    maps, xy, *_ = data
    extra = [np.vstack([p, [[100.0, 5.0]]]) if i % 2 else p for i, p in enumerate(xy)]
    with pytest.warns(UserWarning, match=r"2 fixations on 2 of 5 images lie outside") as record:
        scores = score_batch("nss", maps, extra, image_shape=SHAPE)
    assert len(record) == 1
    assert record[0].filename == __file__
    np.testing.assert_array_equal(scores, score_batch("nss", maps, xy, image_shape=SHAPE))


def test_batch_progress_bar(data, capsys):
    maps, xy, *_ = data
    score_batch("nss", maps, xy, image_shape=SHAPE, progress=True)
    assert "nss" in capsys.readouterr().err
    score_batch("nss", maps, xy, image_shape=SHAPE)
    assert capsys.readouterr().err == ""


def test_batch_names_the_bad_image(data):
    maps, xy, _, dens, _, _ = data
    bad = maps.copy()
    bad[3, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"'maps\[3\]'.*NaN"):
        score_batch("cc", bad, dens)
    with pytest.raises(ValueError, match=r"'maps\[3\]'.*NaN"):
        score_batch("auc_judd", bad, xy, image_shape=SHAPE)
    flat = maps.copy()
    flat[2] = 0.5
    with pytest.raises(ValueError, match=r"'maps\[2\]'.*constant"):
        score_batch("similarity", flat, dens)
    with pytest.raises(ValueError, match=r"'maps\[2\]'.*constant"):
        score_batch("nss", flat, xy, image_shape=SHAPE)
    empty = dens.copy()
    empty[4] = 0.0
    with pytest.raises(ValueError, match=r"'targets\[4\]'.*all zeros"):
        score_batch("kl_div", maps, empty)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        pytest.param(("auc",), {}, "Allowed values are 'auc_judd'", id="unknown-metric"),
        pytest.param(("nss",), {"jitter": True}, r"Invalid option\(s\) \['jitter'\]", id="opt"),
        pytest.param(("nss",), {"ddof": 2}, "Allowed values are 1 and 0", id="ddof"),
        pytest.param(("auc_borji",), {"n_splits": -1}, "'n_splits'", id="splits"),
        pytest.param(("emd",), {"downsample": 0}, "'downsample'", id="downsample"),
        pytest.param(("auc_shuffled",), {}, "needs the 'other' parameter", id="no-other"),
        pytest.param(("info_gain",), {}, "needs the 'baseline' parameter", id="no-baseline"),
        pytest.param(("cc",), {"image_shape": SHAPE}, "compares two maps", id="shape-for-map"),
        pytest.param(("cc",), {"targets_len": 3}, r"one item per image \(5\)", id="lengths"),
    ],
)
def test_batch_invalid_input(data, args, kwargs, match):
    maps, xy, _, dens, _, _ = data
    name = args[0]
    by_fixations = name in METRICS and METRICS[name].target == "fixations"
    targets = xy if by_fixations else dens
    n_targets = kwargs.pop("targets_len", None)
    if n_targets is not None:
        targets = targets[:n_targets]
    if by_fixations:
        kwargs.setdefault("image_shape", SHAPE)
    with pytest.raises(ValueError, match=match):
        score_batch(name, maps, targets, **kwargs)


def test_batch_rejects_non_stacks():
    with pytest.raises(ValueError, match=r"stack of shape \(n_images, height, width\)"):
        score_batch("cc", np.ones((3, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="sequence with one item per image"):
        score_batch("cc", 5, [np.eye(2)])  # type: ignore[arg-type]


def test_batch_float32_input_is_scored_in_float64(data):
    maps, _, _, dens, _, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = score_batch("cc", maps, dens.astype(np.float32))
    expected = score_batch("cc", maps.astype(np.float64), dens.astype(np.float32).astype(float))
    np.testing.assert_array_equal(got, expected)
