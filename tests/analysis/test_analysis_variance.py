"""Tests of analysis.comparison's variance shares and the factors of ANN map sources."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.comparison import (
    RANDOM_TRAINING_SET,
    ann_source_factors,
    variance_share,
)

METHOD = {"gradcam": 2.0, "gradient": -1.0, "occlusion": -1.0}
ARCH = {"vgg16": 1.0, "resnet50": -1.0}
TRAIN = {"ImageNet-1k": 0.25, "Places365": -0.25}


def _planted(noise: float = 0.5) -> pd.DataFrame:
    """3 methods x 2 architectures x 2 training sets x 2 replicates, effects planted.

    score = 10 + method + architecture + training set + (+noise, -noise for the
    two replicates of a cell). The design is balanced and the replicate pattern
    is orthogonal to every effect, so the sums of squares are, by hand
    (n = 24; 8 rows per method, 12 per architecture and per training set):

    - method: 8 * (2² + 1² + 1²) = 48, df 2
    - architecture: 12 * (1² + 1²) = 24, df 1
    - training set: 12 * (0.25² + 0.25²) = 1.5, df 1
    - residual: 24 * 0.5² = 6, df 24 - 1 - 4 = 19
    - total: 79.5, so shares 60.377 %, 30.189 %, 1.887 %, 7.547 %.
    """
    rows = []
    for (m, a, t), rep in itertools.product(
        itertools.product(METHOD, ARCH, TRAIN), (noise, -noise)
    ):
        rows.append(
            {
                "source": f"{a}-{t}/{m}",
                "method": m,
                "architecture": a,
                "training_set": t,
                "score": 10 + METHOD[m] + ARCH[a] + TRAIN[t] + rep,
            }
        )
    return pd.DataFrame(rows)


def test_balanced_design_shares_by_hand() -> None:
    table = variance_share(_planted())
    assert table.factor.tolist() == ["method", "architecture", "training_set", "residual"]
    np.testing.assert_allclose(table.sum_sq, [48.0, 24.0, 1.5, 6.0])
    np.testing.assert_allclose(table.df, [2, 1, 1, 19])
    np.testing.assert_allclose(
        table.eta_sq_pct, [100 * 48 / 79.5, 100 * 24 / 79.5, 100 * 1.5 / 79.5, 100 * 6 / 79.5]
    )
    assert table.eta_sq_pct.sum() == pytest.approx(100.0)
    # F = (SS / df) / (6 / 19): 76, 76, 4.75; p from the F distribution.
    np.testing.assert_allclose(table.F[:3], [76.0, 76.0, 4.75])
    assert table.p_value[2] == pytest.approx(stats.f.sf(4.75, 1, 19))
    assert np.isnan(table.F[3]) and np.isnan(table.p_value[3])
    assert table.attrs["n"] == 24 and table.attrs["ss_total"] == pytest.approx(79.5)


def _rss(y: np.ndarray, data: pd.DataFrame, factors: list[str]) -> float:
    columns = [np.ones(len(y))]
    for f in factors:
        dummies = pd.get_dummies(data[f], drop_first=True, dtype=float)
        columns += [dummies[c].to_numpy() for c in dummies]
    x = np.column_stack(columns)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    return float(np.sum((y - x @ beta) ** 2))


def test_unbalanced_design_gives_type_ii_sums_of_squares() -> None:
    """Type II SS of a factor = RSS(model without it) - RSS(full model), by least squares."""
    rng = np.random.default_rng(0)
    data = _planted().drop(index=[0, 1, 5, 11, 17]).reset_index(drop=True)
    data["score"] += rng.normal(0, 0.3, len(data))
    table = variance_share(data, value="score").set_index("factor")
    factors = ["method", "architecture", "training_set"]
    y = data.score.to_numpy()
    full = _rss(y, data, factors)
    for f in factors:
        reduced = _rss(y, data, [g for g in factors if g != f])
        assert table.loc[f, "sum_sq"] == pytest.approx(reduced - full)
    assert table.loc["residual", "sum_sq"] == pytest.approx(full)
    assert table.loc["residual", "df"] == len(data) - 5
    total = float(np.sum((y - y.mean()) ** 2))
    assert table.loc["method", "eta_sq_pct"] == pytest.approx(
        100 * table.loc["method", "sum_sq"] / total
    )


def test_single_level_factor_warns_and_is_left_out() -> None:
    data = _planted()
    data = data[data.training_set == "ImageNet-1k"]
    with pytest.warns(UserWarning, match=r"'training_set' has a single level \('ImageNet-1k'\)"):
        table = variance_share(data)
    assert table.factor.tolist() == ["method", "architecture", "residual"]
    # The same model fitted without the factor: method 4 * 6 = 24, architecture 6 * 2 = 12,
    # residual 12 * 0.25 = 3 (n = 12).
    np.testing.assert_allclose(table.sum_sq, [24.0, 12.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = variance_share(data, ("method", "architecture"))
    pd.testing.assert_frame_equal(table, same)


def test_summary_with_another_value_column_and_missing_rows() -> None:
    data = _planted().rename(columns={"score": "mean"})
    data.loc[0, "mean"] = np.nan
    with pytest.warns(UserWarning, match="1 of 24 rows lack"):
        table = variance_share(data, value="mean")
    assert table.attrs["n"] == 23


def _five_cells(data: pd.DataFrame) -> pd.DataFrame:
    """Five rows that identify the five parameters exactly: no residual left."""
    cells = [
        ("gradcam", "vgg16", "ImageNet-1k"),
        ("gradient", "vgg16", "ImageNet-1k"),
        ("occlusion", "vgg16", "ImageNet-1k"),
        ("gradcam", "resnet50", "ImageNet-1k"),
        ("gradcam", "vgg16", "Places365"),
    ]
    keyed = data.set_index(["method", "architecture", "training_set"])
    return keyed.loc[cells].groupby(level=[0, 1, 2]).head(1).reset_index()


@pytest.mark.parametrize(
    ("change", "kwargs", "match"),
    [
        pytest.param(
            lambda d: d.drop(columns="training_set"),
            {},
            r"lack the columns \['training_set'\].* ann_source_factors",
            id="missing-column",
        ),
        pytest.param(
            lambda d: d.assign(metric=["cc", "nss"] * 12),
            {},
            r"mix 2 metrics .* select one",
            id="mixed-metrics",
        ),
        pytest.param(
            lambda d: d.assign(training_set=d.architecture),
            {},
            r"confounded .* only 3 can be told apart",
            id="confounded",
        ),
        pytest.param(
            lambda d: d.assign(method="gradcam", architecture="vgg16", training_set="x"),
            {},
            "No factor among",
            id="no-two-levels",
        ),
        pytest.param(lambda d: d.assign(score=1.0), {}, "constant", id="constant"),
        pytest.param(lambda d: d.assign(score="high"), {}, "must hold numbers", id="text-value"),
        pytest.param(_five_cells, {}, "no residual degrees of freedom", id="no-df"),
        pytest.param(lambda d: d, {"factors": "method"}, "'factors' parameter", id="str"),
        pytest.param(lambda d: d, {"factors": ("method", "method")}, "repeats", id="repeat"),
    ],
)
def test_errors(change: object, kwargs: dict[str, object], match: str) -> None:
    data = change(_planted())  # type: ignore[operator]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=match):
            variance_share(data, **kwargs)  # type: ignore[arg-type]


PROVENANCE = {
    "vgg16/gradcam": {
        "model": "vgg16",
        "method": "gradcam",
        "weights": "VGG16_Weights.IMAGENET1K_V1",
    },
    "vgg16/gradient": {"model": "vgg16", "method": "gradient", "weights": "IMAGENET1K_V2"},
    "resnet50-random/gradcam": {"model": "resnet50", "method": "gradcam", "weights": "random"},
    "vit/gradcam-l4": {
        "model": "vit_b_16",
        "method": "gradcam",
        "weights": "ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1",
    },
    "sin/gradient": {"model": "resnet50", "method": "gradient", "weights": "/w/stylized_in.pth"},
    "mine/occlusion": {"model": "lab.nets:build", "method": "occlusion", "weights": "callable"},
}


def test_ann_source_factors_from_provenance() -> None:
    table = ann_source_factors(PROVENANCE).set_index("source")
    assert table.loc["vgg16/gradcam", "training_set"] == "ImageNet-1k"
    assert table.loc["vgg16/gradient", "training_set"] == "ImageNet-1k"
    assert table.loc["resnet50-random/gradcam"].tolist() == [
        "resnet50",
        "gradcam",
        RANDOM_TRAINING_SET,
        "random",
    ]
    assert table.loc["vit/gradcam-l4", "training_set"] == "IG-3.6B + ImageNet-1k"
    assert table.loc["vit/gradcam-l4", "method"] == "gradcam"  # the method, not the suffix
    assert table.loc["sin/gradient", "training_set"] == "stylized_in"
    assert table.loc["mine/occlusion", "architecture"] == "lab.nets:build"
    assert table.loc["mine/occlusion", "training_set"] == "callable"
    # Without model and method in the provenance: the source's two parts.
    bare = ann_source_factors({"alexnet/smoothgrad": {"weights": None}})
    assert bare.iloc[0].tolist() == [
        "alexnet/smoothgrad",
        "alexnet",
        "smoothgrad",
        RANDOM_TRAINING_SET,
        None,
    ]


def test_ann_source_factors_from_a_stimulus_set_file_then_variance_share(tmp_path: Path) -> None:
    from stimuli.stimulus_set import add_maps, write_stimulus_set

    rng = np.random.default_rng(1)
    images = {f"im{k}": rng.integers(0, 255, (8, 8, 3), dtype=np.uint8) for k in range(3)}
    path = write_stimulus_set(tmp_path / "set.h5", images)
    maps = {k: rng.random((8, 8)) for k in images}
    for source, record in PROVENANCE.items():
        add_maps(
            path, source, maps, provenance={**record, "weights_sha256": None, "parameters": {}}
        )
    add_maps(path, "human/free-viewing", maps, provenance={"participants": 3})
    table = ann_source_factors(path)
    assert table.source.tolist() == sorted(PROVENANCE)  # the human source is not an ANN's
    expected = ann_source_factors(PROVENANCE)
    pd.testing.assert_frame_equal(table, expected)
    scores = pd.DataFrame(
        {"source": sorted(PROVENANCE) * 2, "score": np.arange(12.0), "image_id": "im0"}
    )
    joined = scores.merge(table, on="source")
    # Here every method-architecture pair has one training set: one factor at a time.
    result = variance_share(joined, ("method",))
    assert result.factor.tolist() == ["method", "residual"]
    assert result.df.tolist() == [2.0, 9.0]


def test_ann_source_factors_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="provenance of 'a/b' must be a dict"):
        ann_source_factors({"a/b": "vgg16"})
    with pytest.raises(ValueError, match="expected a stimulus-set path"):
        ann_source_factors(42)
    from stimuli.stimulus_set import write_stimulus_set

    images = {"im0": np.zeros((4, 4, 3), dtype=np.uint8)}
    path = write_stimulus_set(tmp_path / "set.h5", images)
    with pytest.raises(ValueError, match="has no ANN map source"):
        ann_source_factors(path)
