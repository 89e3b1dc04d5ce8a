"""The fast paths of the metrics give the values of the direct computations they replace.

Each test pins one shortcut against a reference written out plainly here
(or an independent library): the exact shuffled AUC (hand-worked and
pysaliency's ``general_roc`` on OSIE), AUC-Judd's histogram counts (the MIT
loop), NSS from sums, Spearman's integer-key ranks (``scipy.stats``), and
EMD transporting only the difference of the maps (POT on the full problem).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import rankdata, spearmanr

from analysis.metrics import _kernels, auc_judd, auc_shuffled, emd, nss, score_batch, spearman
from analysis.metrics._emd import _import_ot, _shrink
from analysis.metrics._rows import average_ranks

OSIE = Path(__file__).resolve().parents[3] / "shared" / "data" / "osie" / "fixations.mat"

# pysaliency 0.2.22 still calls numpy's deprecated trapz.
pytestmark = pytest.mark.filterwarnings("ignore:`trapz` is deprecated:DeprecationWarning")


def test_exact_shuffled_auc_by_hand():
    # The docstring's example: fixated values 0.8 and 0.4, other values 0.4,
    # 0.35 and 0.1. 0.8 beats all three (3); 0.4 beats two and ties one (2.5):
    # (3 + 2.5) / (2 * 3) = 11 / 12.
    s = np.array([[0.1, 0.4, 0.35], [0.8, 0.2, 0.4]])
    fix = np.zeros((2, 3))
    fix[1, 0] = fix[0, 1] = 1
    other = np.zeros((2, 3))
    other[1, 2] = other[0, 2] = other[0, 0] = 1
    assert auc_shuffled(s, fix, other, exact=True) == 11 / 12
    # The same through score_batch, with a float32 map read without a copy.
    got = score_batch("auc_shuffled", [s.astype(np.float32)], [fix], other=[other], exact=True)
    assert got[0] == 11 / 12
    # Deterministic: no draws, whatever the seed.
    assert auc_shuffled(s, fix, other, exact=True, rng=1) == auc_shuffled(s, fix, other, exact=True)


def test_exact_shuffled_auc_rejects_bad_input():
    s = np.array([[0.1, 0.4], [0.8, 0.2]])
    fix = np.eye(2)
    with pytest.raises(ValueError, match="'exact'"):
        auc_shuffled(s, fix, fix, exact=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'maps\[0\]'.*constant"):
        score_batch("auc_shuffled", [np.ones((2, 2))], [fix], other=[fix], exact=True)
    with pytest.raises(ValueError, match=r"maps\[0\].*NaN"):
        score_batch("auc_shuffled", [s * np.nan], [fix], other=[fix], exact=True)


def _osie(n_images: int):
    if not OSIE.exists():
        pytest.skip(f"OSIE fixations not found at {OSIE}")
    from scipy.io import loadmat

    records = loadmat(OSIE, squeeze_me=True, struct_as_record=False)["fixations"][:n_images]
    return [
        np.vstack(
            [
                np.column_stack([np.atleast_1d(s.fix_x), np.atleast_1d(s.fix_y)]) - 1.0
                for s in r.subjects
            ]
        )
        for r in records
    ]


def test_exact_shuffled_auc_equals_pysaliency_on_osie():
    # pysaliency's sAUC on a saliency map: general_roc (all thresholds) of the
    # values at the fixations against those at the other images' fixations.
    # analysis.metrics counts a pixel once, so pysaliency is given each
    # fixated pixel once as well.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pytest.importorskip("pysaliency")
        from pysaliency.roc import general_roc
    from analysis.baselines import other_image_fixations

    shape = (600, 800)
    fixations = _osie(8)
    others = other_image_fixations(fixations, shape, n_other=5, rng=0)
    rng = np.random.default_rng(3)
    maps = [rng.random(shape).astype(np.float32) for _ in fixations]
    ours = score_batch("auc_shuffled", maps, fixations, image_shape=shape, other=others, exact=True)

    def pixels(xy):
        cols, rows = np.floor(xy[:, 0] + 0.5).astype(int), np.floor(xy[:, 1] + 0.5).astype(int)
        inside = (cols >= 0) & (cols < shape[1]) & (rows >= 0) & (rows < shape[0])
        return np.unique(rows[inside] * shape[1] + cols[inside])

    for i, (m, f, o) in enumerate(zip(maps, fixations, others, strict=True)):
        flat = m.ravel().astype(np.float64)
        expected = general_roc(flat[pixels(f)], flat[pixels(o)], judd=0)[0]
        assert ours[i] == pytest.approx(expected, abs=1e-12)
        assert auc_shuffled(m, f, o, image_shape=shape, exact=True) == ours[i]


def _mit_auc_judd(saliency: np.ndarray, fixated: np.ndarray) -> float:
    """The MIT code's AUC_Judd loop (no jitter): one pass over the map per threshold."""
    s = ((saliency - saliency.min()) / (saliency.max() - saliency.min())).ravel()
    sth = np.sort(s[fixated.ravel() > 0])[::-1]
    n_fix, n_pix = len(sth), len(s)
    tp = [0.0] + [i / n_fix for i in range(1, n_fix + 1)] + [1.0]
    fp = [0.0] + [(int(np.sum(s >= t)) - i) / (n_pix - n_fix) for i, t in enumerate(sth, 1)]
    x, y = np.asarray([*fp, 1.0]), np.asarray(tp)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))


@pytest.mark.parametrize("bins", [4, 1 << 16])
def test_auc_judd_histogram_counts_equal_the_mit_loop(bins, monkeypatch):
    # Values on a coarse grid (many ties) plus a range where float rounding
    # merges neighbours; with 4 bins nearly every value shares a bin with a
    # threshold, so the exact comparison of the near values carries the count.
    monkeypatch.setattr(_kernels, "COUNT_BINS", bins)
    rng = np.random.default_rng(7)
    s = np.round(rng.random((60, 70)), 2) - 3.0
    s.flat[:50] = -2.5 + np.arange(50) * 2.0**-52
    fix = np.zeros(s.shape)
    fix.flat[rng.choice(s.size, 40, replace=False)] = 1
    fix.flat[[10, 20]] = 1
    expected = _mit_auc_judd(s, fix)
    assert auc_judd(s, fix) == pytest.approx(expected, abs=1e-14)
    s32 = s.astype(np.float32)
    got = score_batch("auc_judd", [s32], [fix])[0]
    assert got == pytest.approx(_mit_auc_judd(s32.astype(np.float64), fix), abs=1e-14)


def test_nss_from_sums_equals_the_centred_formula():
    # NSS = mean over fixated pixels of (s - mean) / std, computed on a
    # centred copy; the sums path must agree, also for a far-from-zero mean
    # where it falls back to that copy.
    rng = np.random.default_rng(2)
    fix = np.zeros((50, 40))
    fix.flat[rng.choice(fix.size, 30, replace=False)] = 1
    for s in (rng.random((50, 40)), 1e3 + rng.random((50, 40)) * 1e-2):
        z = (s - s.mean()) / s.std(ddof=1)
        assert nss(s, fix) == pytest.approx(z[fix > 0].mean(), rel=1e-12)
        got = score_batch("nss", [s.astype(np.float32)], [fix], ddof=0)[0]
        s32 = s.astype(np.float32).astype(np.float64)
        z32 = (s32 - s32.mean()) / s32.std()
        assert got == pytest.approx(z32[fix > 0].mean(), rel=1e-9)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(lambda r: r.random(5000), id="random"),
        pytest.param(lambda r: np.round(r.normal(size=5000), 1), id="ties"),
        pytest.param(lambda r: r.random(5000).astype(np.float32).astype(float), id="float32"),
        # Distinct values closer than the bits the keys give up, zeros of both signs.
        pytest.param(
            lambda r: r.permutation(
                np.r_[
                    1 + np.arange(300) * 2.0**-52,
                    -1 - np.arange(300) * 2.0**-52,
                    -np.zeros(9),
                    np.zeros(9),
                ]
            ),
            id="near-ties",
        ),
    ],
)
def test_average_ranks_equal_scipy(values):
    x = values(np.random.default_rng(5))
    np.testing.assert_array_equal(average_ranks(x), rankdata(x))


def test_spearman_equals_scipy_on_maps():
    rng = np.random.default_rng(6)
    a = rng.random((60, 80)).astype(np.float32)
    b = np.round(rng.random((60, 80)), 2)  # many ties
    b[:20] = 0.0
    assert spearman(a, b) == pytest.approx(spearmanr(a.ravel(), b.ravel())[0], abs=1e-12)
    got = score_batch("spearman", np.stack([a, a]), np.stack([b, a]))
    np.testing.assert_allclose(got, [spearman(a, b), 1.0], rtol=0, atol=1e-12)


def test_emd_equals_the_full_transport_problem():
    # Before: POT on every nonzero cell of both maps. Now only the difference
    # moves; for a metric ground distance both optima are equal.
    ot = _import_ot()
    rng = np.random.default_rng(8)
    for downsample in (4, 8):
        a = rng.random((48, 64)) ** 4
        b = rng.random((48, 64))
        b[:10] = 0.0
        small = (math.ceil(48 / downsample), math.ceil(64 / downsample))
        pa, pb = _shrink(a, small), _shrink(b, small)
        pa, pb = pa / pa.sum(), pb / pb.sum()
        rows, cols = np.divmod(np.arange(pa.size), small[1])
        cost = np.hypot(rows[:, None] - rows[None, :], cols[:, None] - cols[None, :])
        full = float(ot.emd2(pa, pb, cost, numItermax=10_000_000))
        assert emd(a, b, downsample=downsample) == pytest.approx(full, rel=1e-9)
