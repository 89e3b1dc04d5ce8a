"""Result containers of the AIS analysis: scores per map and image, and pruning folds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, eq=False)
class AISResult:
    """Alignment importance scores of every feature map of one layer.

    Attributes
    ----------
    set_scores : ndarray of shape (maps,)
        Set-level AIS_k = ``baseline_fit - ablated_fits[k]``.
    image_scores : ndarray of shape (N, maps)
        Per-image AIS_(i,k) = ``image_baseline[i] - image_ablated[i, k]``.
    baseline_fit : float
        fit(X, H) of the unablated network.
    ablated_fits : ndarray of shape (maps,)
        fit(X^(-k), H).
    image_baseline, image_ablated : ndarray of shape (N,) and (N, maps)
        r_i and r_(i,k).
    activations : ndarray of shape (N, maps, h, w), float32
        The layer's output (the feature maps A_(i,k)), indexed [row, col].
    rsm : ndarray of shape (N, N)
        RSM(X) of the unablated network.
    ablated_rsm : ndarray of shape (maps, N, N) or None
        RSM(X^(-k)) for each k (None from ``method="naive"``).
    similarity, pair_mask : ndarray of shape (N, N)
        H as used (negated for a dissimilarity; NaN on the diagonal and at
        missing pairs) and the pairs that enter the fits.
    ids : tuple of str or None
        Image ids, when the similarity matrix carried them.
    layer, readout, method : str
        Module names and the engine that computed the scores
        (``"linear"``, ``"batched"``, ``"hooks"`` or ``"naive"``).
    input_size : tuple of int
        ``(height, width)`` of the network input in pixels.
    """

    set_scores: NDArray[np.float64]
    image_scores: NDArray[np.float64]
    baseline_fit: float
    ablated_fits: NDArray[np.float64]
    image_baseline: NDArray[np.float64]
    image_ablated: NDArray[np.float64]
    activations: NDArray[np.float32]
    rsm: NDArray[np.float64]
    ablated_rsm: NDArray[np.float64] | None
    similarity: NDArray[np.float64]
    pair_mask: NDArray[np.bool_]
    ids: tuple[str, ...] | None
    layer: str
    readout: str
    method: str
    input_size: tuple[int, int]

    @property
    def image_labels(self) -> list[str]:
        """Image ids, or ``"0"``, ``"1"``, ... when there are none."""
        return list(self.ids) if self.ids is not None else [str(i) for i in range(len(self.rsm))]

    def set_table(self) -> pd.DataFrame:
        """One row per map: ``map``, ``ais``, ``ablated_fit``, ``rank`` (1 = highest AIS)."""
        import pandas as pd

        from ._pairs import rank_order

        ranks = np.empty(len(self.set_scores), dtype=np.int64)
        ranks[rank_order(self.set_scores)] = np.arange(1, len(self.set_scores) + 1)
        return pd.DataFrame(
            {
                "map": np.arange(len(self.set_scores)),
                "ais": self.set_scores,
                "ablated_fit": self.ablated_fits,
                "rank": ranks,
            }
        )

    def image_table(self) -> pd.DataFrame:
        """Tidy per-image scores: ``image``, ``map``, ``ais``, ``r_ablated``, ``r``."""
        import pandas as pd

        n, k = self.image_scores.shape
        return pd.DataFrame(
            {
                "image": np.repeat(self.image_labels, k),
                "map": np.tile(np.arange(k), n),
                "ais": self.image_scores.ravel(),
                "r_ablated": self.image_ablated.ravel(),
                "r": np.repeat(self.image_baseline, k),
            }
        )


@dataclass(frozen=True, eq=False)
class PruningResult:
    """Cross-validated pruning: keep the top-n maps ranked on training images.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per fold and n: ``fold``, ``seed``, ``split``, ``n``,
        ``train_fit``, ``test_fit``.
    folds : pandas.DataFrame
        One row per fold: ``fold``, ``seed``, ``split``, ``n_train``,
        ``n_test``, ``n_star`` (argmax of the training fit, smallest n on
        ties), ``train_fit_star``, ``test_fit_star``, ``train_fit_full``,
        ``test_fit_full`` (the unablated network).
    rankings : ndarray of shape (folds, maps)
        Map indices by decreasing training-set AIS, per fold.
    train_scores : ndarray of shape (folds, maps)
        Set-level AIS on each fold's training images.
    statistic, pvalue : float
        Paired t-test over folds of ``test_fit_star`` against
        ``test_fit_full``, one-sided (alternative: pruned > full). Folds
        share images, so they are not independent; the test is the paper's.
    """

    table: pd.DataFrame
    folds: pd.DataFrame
    rankings: NDArray[np.intp]
    train_scores: NDArray[np.float64]
    statistic: float
    pvalue: float

    @property
    def summary(self) -> pd.DataFrame:
        """One row: folds, mean and median n*, mean test fits, mean difference, t, p."""
        import pandas as pd

        diff = self.folds["test_fit_star"] - self.folds["test_fit_full"]
        return pd.DataFrame(
            {
                "n_folds": [len(self.folds)],
                "n_star_mean": [float(self.folds["n_star"].mean())],
                "n_star_median": [float(self.folds["n_star"].median())],
                "test_fit_star_mean": [float(self.folds["test_fit_star"].mean())],
                "test_fit_full_mean": [float(self.folds["test_fit_full"].mean())],
                "difference_mean": [float(diff.mean())],
                "difference_sd": [float(diff.std(ddof=1)) if len(diff) > 1 else float("nan")],
                "t": [self.statistic],
                "p_one_sided": [self.pvalue],
            }
        )


def pruning_result(folds: list[dict[str, Any]]) -> PruningResult:
    """Tables, rankings and the paired one-sided t-test from per-fold records."""
    import pandas as pd
    from scipy import stats

    k_maps = len(folds[0]["train_fit"])
    table = pd.DataFrame(
        {
            "fold": np.repeat(np.arange(len(folds)), k_maps),
            "seed": np.repeat([f["seed"] for f in folds], k_maps),
            "split": np.repeat([f["split"] for f in folds], k_maps),
            "n": np.tile(np.arange(1, k_maps + 1), len(folds)),
            "train_fit": np.concatenate([f["train_fit"] for f in folds]),
            "test_fit": np.concatenate([f["test_fit"] for f in folds]),
        }
    )
    per_fold = pd.DataFrame(
        {
            "fold": np.arange(len(folds)),
            "seed": [f["seed"] for f in folds],
            "split": [f["split"] for f in folds],
            "n_train": [len(f["train"]) if "train" in f else np.nan for f in folds],
            "n_test": [len(f["test"]) if "test" in f else np.nan for f in folds],
            "n_star": [f["n_star"] for f in folds],
            "train_fit_star": [f["train_fit"][f["n_star"] - 1] for f in folds],
            "test_fit_star": [f["test_fit"][f["n_star"] - 1] for f in folds],
            "train_fit_full": [f.get("train_fit_full", np.nan) for f in folds],
            "test_fit_full": [f["test_fit_full"] for f in folds],
        }
    )
    star, full = per_fold["test_fit_star"].to_numpy(), per_fold["test_fit_full"].to_numpy()
    if len(folds) > 1 and np.ptp(star - full) > 0:
        test = stats.ttest_rel(star, full, alternative="greater")
        statistic, pvalue = float(test.statistic), float(test.pvalue)
    else:
        statistic = pvalue = float("nan")
    return PruningResult(
        table=table,
        folds=per_fold,
        rankings=np.stack([f["order"] for f in folds]),
        train_scores=np.stack([f["train_scores"] for f in folds]),
        statistic=statistic,
        pvalue=pvalue,
    )
