"""The second round of metric fast paths equal the plain computations they replace.

CC and KL from sums (no centred copies, one log pass), Spearman against a
target ranked once per object and scored in threads, EMD in threads, the
exact shuffled AUC with fixated pixels given beforehand and its check of
the values it reads. Each reference is written out plainly here.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pytest
from scipy.stats import spearmanr

from analysis.metrics import (
    EPS,
    FixatedPixels,
    _per_image,
    auc_judd,
    auc_shuffled,
    cc,
    emd,
    fixated_pixels,
    kl_div,
    nss,
    score_batch,
    spearman,
)


def _plain_cc(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64).ravel() - a.astype(np.float64).mean()
    b = b.astype(np.float64).ravel() - b.astype(np.float64).mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def _plain_kl(s: np.ndarray, f: np.ndarray) -> float:
    # The MIT code's KLdiv, as the docstring states it.
    q = s.astype(np.float64) / s.sum(dtype=np.float64)
    p = f.astype(np.float64) / f.sum(dtype=np.float64)
    return float((p * np.log(EPS + p / (q + EPS))).sum())


def _pairs(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    shape = (30, 40)
    dens = rng.random(shape) ** 3
    dens[:5] = 0.0  # zero density: the 0 * log(eps) terms
    return [
        (rng.random(shape).astype(np.float32), dens),
        (rng.random(shape), rng.random(shape)),
        # Far from zero against the spread: the sums would cancel; the centred path runs.
        (1e4 + rng.random(shape) * 1e-3, dens),
        (rng.random(shape) * 1e-30, dens),  # tiny but fine
    ]


def test_cc_and_kl_from_sums_equal_the_plain_formulas():
    # Catches a sums formula that loses digits (the offset map) or a KL whose
    # single log pass differs from the MIT definition, single call and batch,
    # float32 and float64 maps, sequences and stacks.
    pairs = _pairs(np.random.default_rng(11))
    for a, b in pairs:
        assert cc(a, b) == pytest.approx(_plain_cc(a, b), abs=1e-12)
        assert kl_div(a, b) == pytest.approx(_plain_kl(a, b), abs=1e-12)
    maps, targets = [a for a, _ in pairs], [b for _, b in pairs]
    np.testing.assert_allclose(
        score_batch("cc", maps, targets), [_plain_cc(a, b) for a, b in pairs], rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        score_batch("kl_div", maps, targets),
        [_plain_kl(a, b) for a, b in pairs],
        rtol=0,
        atol=1e-12,
    )
    stack_a, stack_b = np.stack(maps).astype(np.float32), np.stack(targets)
    got = score_batch("cc", stack_a, stack_b)
    np.testing.assert_allclose(
        got, [_plain_cc(a, b) for a, b in zip(stack_a, stack_b, strict=True)], atol=1e-12
    )


@pytest.mark.parametrize(
    ("metric", "bad", "match"),
    [
        pytest.param("cc", "nan", r"'maps\[1\]'.*NaN", id="cc-nan"),
        pytest.param("cc", "constant", r"'maps\[1\]'.*constant", id="cc-constant"),
        pytest.param("kl_div", "negative", r"'maps\[1\]'.*non-negative", id="kl-negative"),
        pytest.param("kl_div", "inf", r"'maps\[1\]'.*NaN or infinite", id="kl-inf"),
        pytest.param("spearman", "constant", r"'maps\[1\]'.*constant", id="spearman-constant"),
        pytest.param("spearman", "nan", r"'maps\[1\]'.*NaN", id="spearman-nan"),
        pytest.param("emd", "negative", r"'maps\[1\]'.*non-negative", id="emd-negative"),
    ],
)
def test_sums_and_threaded_paths_name_the_first_bad_image(metric, bad, match):
    # The fast paths give up on odd input and leave the errors to the plain
    # path: the message still names the first bad image, also with threads
    # (image 3 is bad too, and must not be reported instead).
    rng = np.random.default_rng(12)
    maps = [rng.random((20, 30)).astype(np.float32) for _ in range(5)]
    for i in (1, 3):
        maps[i] = maps[i].copy()
        if bad == "nan":
            maps[i][4, 5] = np.nan
        elif bad == "inf":
            maps[i][4, 5] = np.inf
        elif bad == "constant":
            maps[i][:] = 0.5
        else:
            maps[i][4, 5] = -1.0
    targets = [rng.random((20, 30)) for _ in range(5)]
    options = {"downsample": 5} if metric == "emd" else {}
    with pytest.raises(ValueError, match=match):
        score_batch(metric, maps, targets, workers=3, **options)


class _FreshCopies(Sequence[np.ndarray]):
    """A sequence that returns a new array on every access: object ids get reused."""

    def __init__(self, pool: list[np.ndarray], n: int) -> None:
        self.pool, self.n = pool, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):  # type: ignore[override]
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self.pool[i % len(self.pool)].copy()


def test_spearman_batch_ranks_each_target_once_and_equals_scipy(monkeypatch):
    # Targets given again (the same object) are ranked once: counted here.
    # Scores equal scipy's whatever the number of threads, and a sequence of
    # fresh copies (ids recycled) is never served another map's ranks.
    rng = np.random.default_rng(13)
    humans = [np.round(rng.random((25, 35)), 2) for _ in range(3)]  # ties
    models = [rng.random((25, 35)).astype(np.float32) for _ in range(4)]
    maps = [models[i % 4] for i in range(12)]
    targets = [humans[i % 3] for i in range(12)]
    expected = [spearmanr(m.ravel(), h.ravel())[0] for m, h in zip(maps, targets, strict=True)]
    ranked = []
    plain = _per_image._mp.centred_ranks
    monkeypatch.setattr(
        _per_image._mp, "centred_ranks", lambda x: ranked.append(x.size) or plain(x)
    )
    for workers in (1, 4):
        ranked.clear()
        got = score_batch("spearman", maps, targets, workers=workers)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
        assert len(ranked) == 3
    fresh = score_batch("spearman", _FreshCopies(models, 12), _FreshCopies(humans, 12))
    np.testing.assert_allclose(fresh, expected, rtol=0, atol=1e-12)
    assert spearman(models[0], humans[0]) == pytest.approx(expected[0], abs=1e-12)


def test_emd_batch_with_threads_equals_single_calls():
    rng = np.random.default_rng(14)
    maps = [rng.random((40, 48)) ** 3 for _ in range(5)]
    targets = [rng.random((40, 48)) for _ in range(5)]
    expected = [emd(a, b, downsample=8) for a, b in zip(maps, targets, strict=True)]
    for workers in (1, 3):
        got = score_batch("emd", maps, targets, downsample=8, workers=workers)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_workers_must_be_a_positive_integer(workers):
    with pytest.raises(ValueError, match="'workers'"):
        score_batch("spearman", [np.eye(3)], [np.eye(3)], workers=workers)


def test_fixated_pixels_score_as_the_coordinates_they_came_from():
    # Pixels converted once give the scores of the coordinates (and of the
    # equivalent fixation map), single call and batch, every location metric.
    rng = np.random.default_rng(15)
    shape = (30, 40)
    xy = rng.uniform([-2, -2], [41, 31], size=(25, 2))  # a few outside
    other_xy = rng.uniform([0, 0], [39, 29], size=(60, 2))
    with pytest.warns(UserWarning, match="outside"):
        pixels = fixated_pixels(xy, shape)
    other = fixated_pixels(other_xy, shape)
    assert isinstance(pixels, FixatedPixels) and pixels.shape == shape and pixels.n_outside > 0
    assert not pixels.indices.flags.writeable
    fixation_map = np.zeros(shape)
    fixation_map.flat[pixels.indices] = 1
    np.testing.assert_array_equal(fixated_pixels(fixation_map).indices, pixels.indices)
    s = rng.random(shape).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert nss(s, pixels) == nss(s, xy, image_shape=shape)
        assert auc_judd(s, pixels) == auc_judd(s, fixation_map)
        exact = auc_shuffled(s, xy, other_xy, image_shape=shape, exact=True)
    assert auc_shuffled(s, pixels, other, exact=True) == exact
    got = score_batch(
        "auc_shuffled", [s, s], [pixels, fixation_map], other=[other, other], exact=True
    )
    np.testing.assert_array_equal(got, [exact, exact])
    with pytest.raises(ValueError, match=r"shape \(30, 40\).*image_shape is \(40, 30\)"):
        nss(s, pixels, image_shape=(40, 30))


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(np.nan, id="nan"),
        pytest.param(np.inf, id="inf"),
        pytest.param(-np.inf, id="minus-inf"),
    ],
)
def test_exact_shuffled_auc_reads_only_the_pixels_it_scores(value):
    # The score depends only on the values at the fixated and the other
    # pixels, and only those are checked: a NaN or infinity on a pixel that
    # is neither does not raise and leaves the score as it is with that
    # pixel finite. Fails if the whole map is checked (the old one-pass
    # check) or if the bad value leaks into the counts.
    s = np.arange(12, dtype=np.float32).reshape(3, 4)
    fix, other = np.zeros((3, 4)), np.zeros((3, 4))
    fix[0, 0] = fix[1, 1] = 1
    other[2, 3] = other[0, 3] = 1
    finite = auc_shuffled(s, fix, other, exact=True)
    s[2, 0] = value
    assert auc_shuffled(s, fix, other, exact=True) == finite
    got = score_batch("auc_shuffled", [s], [fixated_pixels(fix)], other=[other], exact=True)
    assert got[0] == finite


@pytest.mark.parametrize(
    "pixel", [pytest.param((1, 1), id="fixated"), pytest.param((0, 3), id="other")]
)
@pytest.mark.parametrize(
    "value", [pytest.param(np.nan, id="nan"), pytest.param(-np.inf, id="minus-inf")]
)
def test_exact_shuffled_auc_raises_for_a_bad_value_it_reads(pixel, value):
    # A NaN or infinity at a fixated or other pixel raises naming the map
    # and counting the whole map's bad values (here two: one more on a pixel
    # not read). Fails if only some of the values read are checked.
    s = np.arange(12, dtype=np.float32).reshape(3, 4)
    fix, other = np.zeros((3, 4)), np.zeros((3, 4))
    fix[0, 0] = fix[1, 1] = 1
    other[2, 3] = other[0, 3] = 1
    s[pixel] = s[2, 0] = value
    with pytest.raises(ValueError, match=r"'saliency_map'.*2 of its 12 values are NaN or infinite"):
        auc_shuffled(s, fix, other, exact=True)
    with pytest.raises(ValueError, match=r"'maps\[1\]'.*2 of its 12 values are NaN"):
        score_batch(
            "auc_shuffled",
            [np.ones((3, 4)) + np.eye(3, 4), s],
            [fixated_pixels(fix)] * 2,
            other=[fixated_pixels(other)] * 2,
            exact=True,
        )


def test_exact_shuffled_auc_constant_map_check():
    # Equal values at every pixel read but not everywhere: a valid map (AUC 0.5);
    # a map constant everywhere raises as before.
    s = np.full((3, 4), 0.25)
    fix, other = np.zeros((3, 4)), np.zeros((3, 4))
    fix[0, 0] = other[1, 1] = 1
    s[2, 3] = 0.9
    assert auc_shuffled(s, fix, other, exact=True) == 0.5
    with pytest.raises(ValueError, match="constant"):
        auc_shuffled(np.full((3, 4), 0.25), fix, other, exact=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_shuffled_auc_ties_at_the_largest_float(dtype):
    # The fixated value is the dtype's largest, tied with one other value and
    # above the other (-largest): (0.5 + 1) / 2 = 0.75. Catches a tie count
    # through "the next float above" that has none there (overflow warning,
    # the tie counted as a loss or a win).
    big = np.finfo(dtype).max
    s = np.array([[big, big, -big], [0, 1, 2]], dtype=dtype)
    fix, other = np.zeros((2, 3)), np.zeros((2, 3))
    fix[0, 0] = other[0, 1] = other[0, 2] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert auc_shuffled(s, fix, other, exact=True) == 0.75
