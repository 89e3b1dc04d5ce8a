"""Tests of analysis.ais: planted structure, invariances, module defaults and errors."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from analysis.ais import (
    ais_protocol,
    alignment_importance,
    default_modules,
)
from analysis.ais._graph import split
from analysis.similarity import SimilarityMatrix


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> object:
    """Tiny networks: one thread avoids the cost of thread hand-offs on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


PLANTED = [2, 5, 9]
N_MAPS, N_IMAGES = 12, 24


class Head(nn.Module):
    """The input is the feature maps themselves: layer = the ReLU that passes them on."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Linear(N_MAPS * 4, 256), nn.ReLU(), nn.Linear(256, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def _planted(seed: int = 4) -> tuple[nn.Module, torch.Tensor, np.ndarray]:
    """Maps 2, 5 and 9 encode a latent position per image; H is minus the latent distance.

    The other maps are small constants that vary at random between images, so
    they carry no similarity structure.
    """
    rng = np.random.default_rng(seed)
    latent = rng.uniform(0, 1, size=(N_IMAGES, len(PLANTED)))
    similarity = -np.linalg.norm(latent[:, None] - latent[None], axis=-1)
    maps = 0.2 * rng.uniform(0, 1, size=(N_IMAGES, N_MAPS, 1, 1)) * np.ones((1, 1, 4, 4))
    maps[:, PLANTED] = latent[:, :, None, None] * np.ones((1, 1, 4, 4))
    torch.manual_seed(seed)
    return Head().double(), torch.as_tensor(maps), similarity


MODULES: dict[str, Any] = {"layer": "features.0", "readout": "classifier.1"}


@pytest.fixture(scope="module")
def planted() -> tuple:
    net, images, similarity = _planted()
    return ais_protocol(net, images, similarity, n_folds=4, seeds=(1, 2), **MODULES)


def test_planted_maps_rank_first(planted: tuple) -> None:
    result, pruned = planted
    assert set(np.argsort(-result.set_scores)[:3]) == set(PLANTED)
    others = np.delete(result.set_scores, PLANTED)
    assert result.set_scores[PLANTED].min() > 3 * max(others.max(), 0)
    mean_image = result.image_scores.mean(axis=0)
    assert mean_image[PLANTED].min() > np.delete(mean_image, PLANTED).max()
    for order in pruned.rankings:
        assert set(order[:3]) == set(PLANTED)


def test_planted_result_tables(planted: tuple) -> None:
    result, pruned = planted
    table = result.set_table()
    assert list(table.columns) == ["map", "ais", "ablated_fit", "rank"]
    assert set(table.loc[table["rank"] <= 3, "map"]) == set(PLANTED)
    np.testing.assert_allclose(table["ais"], result.baseline_fit - table["ablated_fit"])
    tidy = result.image_table()
    assert len(tidy) == N_IMAGES * N_MAPS
    np.testing.assert_allclose(tidy["ais"], tidy["r"] - tidy["r_ablated"])
    assert len(pruned.table) == 8 * N_MAPS and len(pruned.folds) == 8
    assert list(pruned.folds["n_test"]) == [6] * 8
    folds = pruned.folds
    for fold, n_star, star in zip(
        folds["fold"], folds["n_star"], folds["test_fit_star"], strict=True
    ):
        rows = pruned.table[pruned.table["fold"] == fold]
        assert n_star == int(np.nanargmax(rows["train_fit"].to_numpy())) + 1
        assert star == rows["test_fit"].iloc[int(n_star) - 1]
    # n = all maps is the unablated network.
    full = pruned.table[pruned.table["n"] == N_MAPS]
    np.testing.assert_allclose(full["test_fit"], pruned.folds["test_fit_full"], atol=1e-12)


def test_pruning_t_test_is_the_paired_one_sided_test(planted: tuple) -> None:
    stats = pytest.importorskip("scipy.stats")
    _, pruned = planted
    diff = (pruned.folds["test_fit_star"] - pruned.folds["test_fit_full"]).to_numpy()
    t = diff.mean() / (diff.std(ddof=1) / np.sqrt(len(diff)))
    assert pruned.statistic == pytest.approx(t)
    assert pruned.pvalue == pytest.approx(stats.t.sf(t, len(diff) - 1))
    assert pruned.summary["p_one_sided"].iloc[0] == pruned.pvalue


def test_fit_is_invariant_to_the_scale_of_h() -> None:
    net, images, similarity = _planted()
    base = alignment_importance(net, images, similarity, **MODULES)
    scaled = alignment_importance(net, images, 7.5 * similarity + 3.0, **MODULES)
    np.testing.assert_allclose(scaled.set_scores, base.set_scores, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(scaled.image_scores, base.image_scores, rtol=1e-10, atol=1e-14)
    assert scaled.baseline_fit == pytest.approx(base.baseline_fit, rel=1e-12)
    # A dissimilarity matrix with the flag gives the same scores as the similarity.
    flipped = alignment_importance(net, images, -2.0 * similarity, dissimilarity=True, **MODULES)
    np.testing.assert_allclose(flipped.image_scores, base.image_scores, rtol=1e-10, atol=1e-14)
    # Without the flag, per-image r changes sign (fit, a square, does not).
    wrong = alignment_importance(net, images, -similarity, **MODULES)
    np.testing.assert_allclose(wrong.image_baseline, -base.image_baseline, rtol=1e-10)


def test_missing_pairs_are_left_out_of_every_fit() -> None:
    net, images, similarity = _planted()
    masked = similarity.copy()
    masked[0, 1] = masked[1, 0] = masked[3, 7] = masked[7, 3] = np.nan
    ids = tuple(f"img{i}" for i in range(N_IMAGES))
    counts = np.isfinite(masked).astype(np.int64)
    matrix = SimilarityMatrix(ids, masked, counts, "test")
    fast = alignment_importance(net, images, matrix, **MODULES)
    naive = alignment_importance(net, images, matrix, method="naive", **MODULES)
    assert fast.ids == ids and not fast.pair_mask[0, 1] and fast.pair_mask[0, 2]
    np.testing.assert_allclose(fast.set_scores, naive.set_scores, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast.image_scores, naive.image_scores, rtol=1e-9, atol=1e-12)
    full = alignment_importance(net, images, similarity, **MODULES)
    assert not np.allclose(full.image_scores[0], fast.image_scores[0])


def test_model_modes_are_restored() -> None:
    net, images, similarity = _planted()
    net.train()
    alignment_importance(net, images, similarity, **MODULES)
    assert all(module.training for module in net.modules())


def test_loaded_model_with_raw_images() -> None:
    from stimuli import models as stimuli_models

    with pytest.warns(UserWarning, match="randomly initialised"):
        loaded = stimuli_models.load_model("resnet18", weights=None, input_size=32)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, size=(40, 30, 3), dtype=np.uint8) for _ in range(5)]
    latent = rng.normal(size=(5, 2))
    similarity = -np.linalg.norm(latent[:, None] - latent[None], axis=-1)
    result = alignment_importance(loaded, images, similarity)
    assert (result.layer, result.readout, result.method) == ("layer4", "avgpool", "linear")
    assert result.activations.shape == (5, 512, 1, 1) and result.input_size == (32, 32)


@pytest.mark.parametrize(
    ("builder", "expected"),
    [
        (torchvision.models.vgg16, ("features.29", "classifier.4")),
        (torchvision.models.vgg19, ("features.35", "classifier.4")),
        (torchvision.models.vgg16_bn, ("features.42", "classifier.4")),
        (torchvision.models.alexnet, ("features.11", "classifier.5")),
        (torchvision.models.resnet50, ("layer4", "avgpool")),
    ],
)
def test_default_modules_and_exact_shortcut(builder: object, expected: tuple) -> None:
    with torch.device("meta"):
        model = builder()  # type: ignore[operator]
    assert default_modules(model) == expected
    cut = split(model.eval(), *expected)
    assert cut is not None and cut.linear is not None
    # VGG and AlexNet: channelwise pools, then fc6; ResNet: the global average is the readout.
    assert (cut.linear.linear is None) == (expected[1] == "avgpool")


def test_default_modules_unknown_architecture() -> None:
    with pytest.raises(ValueError, match="No default layer and readout for a Head model"):
        default_modules(Head())


def _errors_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 8), nn.ReLU()
    ).double()


_IMAGES = torch.randn(5, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
_H = -np.abs(np.arange(5.0)[:, None] - np.arange(5.0)[None])


@pytest.mark.parametrize(
    ("kwargs", "similarity", "error", "match"),
    [
        pytest.param({}, _H[:, :4], ValueError, "square N x N matrix", id="not-square"),
        pytest.param({}, _H + np.triu(np.ones((5, 5))), ValueError, "not symmetric", id="asym"),
        pytest.param({}, _H[:4, :4], ValueError, "4 x 4, but there are 5 images", id="n"),
        pytest.param(
            {},
            np.where(np.eye(5, k=1) + np.eye(5, k=-1), np.nan, _H),
            ValueError,
            "missing='mask'",
            id="nan",
        ),
        pytest.param({}, np.ones((5, 5)), ValueError, "different values", id="constant-h"),
        pytest.param(
            {"layer": "1x"}, _H, ValueError, "no module '1x'. Close names: '1'", id="unknown-layer"
        ),
        pytest.param(
            {"readout": "relu"}, _H, ValueError, "'readout' parameter", id="unknown-readout"
        ),
        pytest.param(
            {"layer": "4", "readout": "1"},
            _H,
            ValueError,
            "layer '4' runs after the readout '1'",
            id="layer-after-readout",
        ),
        pytest.param(
            {"layer": "1", "readout": "1"}, _H, ValueError, "must be different", id="same-module"
        ),
        pytest.param(
            {"layer": "3", "readout": "4"},
            _H,
            ValueError,
            "expected feature maps",
            id="layer-not-maps",
        ),
        pytest.param(
            {"method": "fast"}, _H, ValueError, "'method' parameter. Allowed values", id="method"
        ),
        pytest.param({"chunk_size": 0}, _H, ValueError, "'chunk_size' parameter", id="chunk"),
    ],
)
def test_errors(kwargs: dict, similarity: np.ndarray, error: type, match: str) -> None:
    options = {"layer": "1", "readout": "4", **kwargs}
    with pytest.raises(error, match=match):
        alignment_importance(_errors_net(), _IMAGES, similarity, **options)


def test_layer_after_readout_in_the_graph() -> None:
    """Caught in the traced graph too (a module that runs once, after the readout)."""
    from analysis.ais._graph import split as cut

    with pytest.raises(ValueError, match="comes after the readout"):
        cut(_errors_net(), "4", "1")


def test_shared_module_running_twice_is_refused() -> None:
    relu = nn.ReLU()
    net = nn.Sequential(nn.Conv2d(3, 4, 3), relu, nn.Conv2d(4, 4, 3), relu, nn.Flatten()).double()
    with pytest.raises(ValueError, match="runs 2 times in one forward pass"):
        alignment_importance(net, _IMAGES, _H, layer="1", readout="4")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"n_folds": 1}, "'n_folds' parameter", id="one-fold"),
        pytest.param({"n_folds": 3}, "has 2 test images with 1 rated pairs", id="small-folds"),
        pytest.param({"seeds": ()}, "'seeds' parameter", id="no-seeds"),
    ],
)
def test_pruning_errors(kwargs: dict, match: str) -> None:
    options = {"layer": "1", "readout": "4", "n_folds": 2, "seeds": (1,), **kwargs}
    with pytest.raises(ValueError, match=match):
        ais_protocol(_errors_net(), _IMAGES, _H, **options)


def test_importing_ais_does_not_import_torch() -> None:
    code = (
        "import sys, analysis.ais, analysis.similarity; "
        "print(sorted(m for m in ('torch', 'psychopy', 'pylink') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("n", "folds", "seed"), [(120, 5, 111), (23, 5, 888), (9, 3, 4)])
def test_folds_are_scikit_learns_shuffled_kfold(n: int, folds: int, seed: int) -> None:
    model_selection = pytest.importorskip("sklearn.model_selection")
    from analysis.ais._pairs import kfold_splits

    ours = kfold_splits(n, folds, (seed,))
    theirs = model_selection.KFold(folds, shuffle=True, random_state=seed).split(np.arange(n))
    for (_, part, train, test), (their_train, their_test) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(train, their_train, err_msg=f"split {part}")
        np.testing.assert_array_equal(test, their_test, err_msg=f"split {part}")
