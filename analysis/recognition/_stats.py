"""Masked-recognition accuracy and d' per condition, bootstrapped over participants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..comparison._stats import _bootstrap_indices, _percentile_interval
from ._dprime import corrected_rate, dprime_mafc
from ._trials import check_trials, flagged_mask, is_repeat, options_per_trial

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RecognitionSummary", "recognition_summary"]

_WHAT = "recognition_summary"


@dataclass(frozen=True, eq=False)
class RecognitionSummary:
    """Results of :func:`recognition_summary`: three tidy tables.

    Attributes
    ----------
    conditions : pandas.DataFrame
        One row per condition (the ``by`` columns), with ``n_participants``,
        ``n_trials`` (kept), ``n_correct``, ``n_flagged_excluded``, ``n_repeats``
        (kept trials that repeat a flagged one), ``n_options`` (m),
        ``accuracy`` (pooled: correct / trials over all participants),
        ``accuracy_ci_low``, ``accuracy_ci_high``, ``dprime`` (m-AFC d' of the
        pooled counts, log-linear corrected), ``dprime_ci_low``, ``dprime_ci_high``.
    differences : pandas.DataFrame
        Correct minus incorrect mask, one row per value of the other ``by``
        columns (per ``mask_source`` by default): ``n_participants`` (with
        trials in both), ``accuracy_correct``, ``accuracy_incorrect``,
        ``accuracy_difference`` and its ``_ci_low``/``_ci_high``,
        ``dprime_correct``, ``dprime_incorrect``, ``dprime_difference`` and its
        interval. Empty when ``correct_mask`` is not a ``by`` column.
    participants : pandas.DataFrame
        One row per participant x condition: ``n_trials``, ``n_correct``,
        ``n_flagged_excluded``, ``n_options``, ``accuracy``, ``dprime``
        (log-linear corrected counts of that participant).
    by : tuple of str
        The condition columns.
    n_bootstrap : int
        Resamples of participants behind the intervals.
    confidence : float
        Coverage of the percentile intervals.
    """

    conditions: pd.DataFrame
    differences: pd.DataFrame
    participants: pd.DataFrame
    by: tuple[str, ...]
    n_bootstrap: int
    confidence: float

    def __repr__(self) -> str:
        return (
            f"RecognitionSummary({len(self.conditions)} conditions by {list(self.by)}, "
            f"{self.participants['participant'].nunique()} participants, "
            f"{int(self.conditions['n_trials'].sum())} trials kept, "
            f"{int(self.conditions['n_flagged_excluded'].sum())} flagged excluded)"
        )


def _check_options(n_bootstrap: Any, confidence: Any, correction: str) -> None:
    if not isinstance(n_bootstrap, (int, np.integer)) or isinstance(n_bootstrap, bool):
        raise ValueError(
            "Invalid value for the 'n_bootstrap' parameter: expected an integer >= 0, but got "
            f"{n_bootstrap!r} instead."
        )
    if n_bootstrap < 0:
        raise ValueError(f"The 'n_bootstrap' parameter must be >= 0, but got {n_bootstrap}.")
    if not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(
            "Invalid value for the 'confidence' parameter: expected a number in (0, 1), but got "
            f"{confidence!r} instead."
        )
    corrected_rate(0, 1, correction=correction)


def _interval(values: NDArray[np.float64], confidence: float) -> tuple[float, float]:
    """Percentile interval of the finite bootstrap values (NaN when none is)."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return float("nan"), float("nan")
    return _percentile_interval(finite, confidence)


def _dprime(k: Any, n: Any, m: Any, correction: str) -> NDArray[np.float64]:
    """m-AFC d' of counts, NaN where there are no trials."""
    k, n, m = np.broadcast_arrays(np.asarray(k, float), np.asarray(n, float), np.asarray(m, float))
    out = np.full(k.shape, np.nan)
    some = n > 0
    if some.any():
        rate = corrected_rate(k[some], n[some], correction=correction)
        out[some] = dprime_mafc(rate, m[some])
    return out


def recognition_summary(
    trials: pd.DataFrame,
    *,
    by: Sequence[str] = ("mask_source", "correct_mask"),
    n_options: int | None = None,
    correction: str = "loglinear",
    n_bootstrap: int = 2000,
    confidence: float = 0.95,
    rng: int | np.random.Generator | None = None,
) -> RecognitionSummary:
    """Accuracy and d' per condition of the masked-recognition task, with participant bootstraps.

    Flagged trials (``flagged`` = 1, or target or backward-mask frames shown not as
    planned) are excluded and counted in ``n_flagged_excluded``; a trial that
    repeats a flagged one (``repeat_of`` set) is an ordinary trial and counts. A
    trial without an answer counts as wrong (``correct`` = 0, as the task writes it).

    Parameters
    ----------
    trials : pandas.DataFrame
        The ``masked-recognition`` trials of ``load_study``: one row per trial with
        ``participant``, ``image_id``, ``mask_source``, ``correct_mask`` (1: the
        image's own mask, 0: another image's), ``correct`` (0/1), and where
        present ``flagged``, ``repeat_of``, ``descriptors`` (the options shown,
        ``|``-separated: m is their number), ``target_frames_planned`` /
        ``target_frames_shown``, ``mask_frames_planned`` / ``mask_frames_shown``.
    by : sequence of str
        Columns that define a condition (default: mask source x correct mask).
    n_options : int, optional
        The number of alternatives m of every trial; default: read from
        ``descriptors``. d' needs one m per condition.
    correction : {"loglinear", "1/2n", "none"}
        How counts become the proportion correct for d' (:func:`corrected_rate`):
        by default ``(k + 0.5) / (n + 1)`` (Hautus 1995), so a perfect score stays
        finite. Accuracy is always the plain ``k / n``.
    n_bootstrap : int
        Resamples of participants (with replacement; each resample keeps the
        participant count). In each, the pooled accuracy and d' of every
        condition are recomputed from the resampled participants' counts; the
        same resamples serve every condition, so differences are paired; a
        resample without trials in a condition (all its participants drawn lack
        them) is left out of that condition's interval. 0 gives no intervals (NaN).
    confidence : float
        Coverage of the equal-tailed percentile intervals.
    rng : int or numpy.random.Generator, optional
        Seed or generator of the resampling.

    Returns
    -------
    RecognitionSummary
        ``conditions``, ``differences`` (correct minus incorrect mask, the causal
        effect of the mask's source) and ``participants`` tables.

    Notes
    -----
    d' is that of an unbiased observer choosing among m alternatives
    (:func:`dprime_mafc`), from the pooled counts of a condition; it is not the
    mean of participants' d' (theirs are in ``participants``).
    """
    by = tuple(by)
    if not by or len(set(by)) != len(by) or "participant" in by:
        raise ValueError(
            "Invalid value for the 'by' parameter: expected distinct column names other than "
            f"'participant', but got {by!r}."
        )
    _check_options(n_bootstrap, confidence, correction)
    table = check_trials(trials, by, what=_WHAT)
    blank = table[list(by)].isna().any(axis=1)
    if blank.any():
        raise ValueError(
            f"{_WHAT}: the condition columns {list(by)} are missing (n/a) on rows "
            f"{list(table.index[blank][:5])}; every trial needs its condition."
        )
    flagged = flagged_mask(table)
    kept = ~flagged
    table["_kept"] = kept.astype(np.int64)
    table["_flagged"] = flagged.astype(np.int64)
    table["_correct"] = table["correct"] * table["_kept"]
    table["_repeat"] = (is_repeat(table) & kept).astype(np.int64)
    table["_m"] = options_per_trial(table, n_options, what=_WHAT).where(kept)
    per = _per_participant(table, by, correction)
    k = per.pivot_table(
        index="participant", columns=list(by), values="n_correct", aggfunc="sum", fill_value=0
    )
    n = per.pivot_table(
        index="participant", columns=list(by), values="n_trials", aggfunc="sum", fill_value=0
    )
    conditions = k.columns.to_frame(index=False)
    totals = per.groupby(list(by), sort=True).agg(
        n_flagged_excluded=("n_flagged_excluded", "sum"),
        n_repeats=("n_repeats", "sum"),
        n_options=("n_options", "max"),
    )
    conditions = conditions.merge(totals.reset_index(), on=list(by), how="left")
    generator = np.random.default_rng(rng)
    summary = _Bootstrap(
        k.to_numpy(np.float64),
        n.to_numpy(np.float64),
        conditions["n_options"].to_numpy(np.float64, na_value=np.nan),
        correction,
        _bootstrap_indices(k.shape[0], n_bootstrap, generator),
        confidence,
    )
    conditions = _condition_table(conditions, summary, by)
    differences = _difference_table(conditions, summary, by)
    participants = per[
        [
            "participant",
            *by,
            "n_trials",
            "n_correct",
            "n_flagged_excluded",
            "n_options",
            "accuracy",
            "dprime",
        ]
    ]
    return RecognitionSummary(
        conditions=conditions,
        differences=differences,
        participants=participants.reset_index(drop=True),
        by=by,
        n_bootstrap=int(n_bootstrap),
        confidence=float(confidence),
    )


def _per_participant(table: pd.DataFrame, by: tuple[str, ...], correction: str) -> pd.DataFrame:
    """Counts, accuracy and d' of each participant in each condition."""
    per = (
        table.groupby(["participant", *by], sort=True)
        .agg(
            n_trials=("_kept", "sum"),
            n_correct=("_correct", "sum"),
            n_flagged_excluded=("_flagged", "sum"),
            n_repeats=("_repeat", "sum"),
            m_low=("_m", "min"),
            n_options=("_m", "max"),
        )
        .reset_index()
    )
    mixed = per[per["m_low"].notna() & (per["m_low"] != per["n_options"])]
    by_condition = per.groupby(list(by))["n_options"].agg(["min", "max"])
    mixed_conditions = by_condition[by_condition["min"] != by_condition["max"]]
    if len(mixed) or len(mixed_conditions):
        raise ValueError(
            f"{_WHAT}: trials of one condition were shown with different numbers of options "
            f"(conditions {list(mixed_conditions.index[:5]) or list(mixed[list(by)].head())}); "
            "d' needs one m per condition: add the option count to 'by' or pass n_options=."
        )
    per["n_options"] = per.groupby(list(by))["n_options"].transform("max")
    per = per.drop(columns="m_low")
    trials = per["n_trials"].to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        per["accuracy"] = np.where(trials > 0, per["n_correct"] / trials, np.nan)
    per["dprime"] = _dprime(per["n_correct"], trials, per["n_options"], correction)
    per["n_options"] = per["n_options"].astype("Int64")
    return per


class _Bootstrap:
    """Pooled accuracy and d' of every condition, observed and in each participant resample."""

    def __init__(
        self,
        k: NDArray[np.float64],
        n: NDArray[np.float64],
        m: NDArray[np.float64],
        correction: str,
        resamples: NDArray[np.int64],
        confidence: float,
    ) -> None:
        self.confidence = confidence
        self.k, self.n = k.sum(axis=0), n.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.accuracy = np.where(self.n > 0, self.k / self.n, np.nan)
        self.dprime = _dprime(self.k, self.n, m, correction)
        # weights[b, p]: how often participant p is drawn in resample b.
        weights = np.zeros((len(resamples), k.shape[0]))
        rows = np.repeat(np.arange(len(resamples)), resamples.shape[1])
        np.add.at(weights, (rows, resamples.ravel()), 1.0)
        self.k_boot, self.n_boot = weights @ k, weights @ n
        with np.errstate(divide="ignore", invalid="ignore"):
            self.accuracy_boot = np.where(self.n_boot > 0, self.k_boot / self.n_boot, np.nan)
        self.dprime_boot = _dprime(self.k_boot, self.n_boot, m[None, :], correction)
        self.n_participants = (n > 0).sum(axis=0)
        self.both = n > 0

    def interval(self, values: NDArray[np.float64]) -> tuple[float, float]:
        return _interval(values, self.confidence)


def _condition_table(
    conditions: pd.DataFrame, boot: _Bootstrap, by: tuple[str, ...]
) -> pd.DataFrame:
    out = conditions[list(by)].copy()
    out["n_participants"] = boot.n_participants.astype(np.int64)
    out["n_trials"] = boot.n.astype(np.int64)
    out["n_correct"] = boot.k.astype(np.int64)
    out["n_flagged_excluded"] = conditions["n_flagged_excluded"].astype(np.int64)
    out["n_repeats"] = conditions["n_repeats"].astype(np.int64)
    out["n_options"] = conditions["n_options"].astype("Int64")
    out["accuracy"] = boot.accuracy
    acc = [boot.interval(boot.accuracy_boot[:, j]) for j in range(len(out))]
    out["accuracy_ci_low"] = [a for a, _ in acc]
    out["accuracy_ci_high"] = [b for _, b in acc]
    out["dprime"] = boot.dprime
    dp = [boot.interval(boot.dprime_boot[:, j]) for j in range(len(out))]
    out["dprime_ci_low"] = [a for a, _ in dp]
    out["dprime_ci_high"] = [b for _, b in dp]
    return out


def _difference_table(
    conditions: pd.DataFrame, boot: _Bootstrap, by: tuple[str, ...]
) -> pd.DataFrame:
    """Correct minus incorrect mask within each value of the other condition columns."""
    import pandas as pd

    others = [c for c in by if c != "correct_mask"]
    columns = [
        *others,
        "n_participants",
        "accuracy_correct",
        "accuracy_incorrect",
        "accuracy_difference",
        "accuracy_difference_ci_low",
        "accuracy_difference_ci_high",
        "dprime_correct",
        "dprime_incorrect",
        "dprime_difference",
        "dprime_difference_ci_low",
        "dprime_difference_ci_high",
    ]
    if "correct_mask" not in by:
        return pd.DataFrame(columns=columns)
    rows = []
    groups = conditions.groupby(others, sort=True) if others else [((), conditions)]
    for key, group in groups:
        own = group.index[group["correct_mask"] == 1]
        other = group.index[group["correct_mask"] == 0]
        if len(own) != 1 or len(other) != 1:
            continue
        i, j = int(own[0]), int(other[0])
        key = key if isinstance(key, tuple) else (key,)
        acc_diff = boot.accuracy_boot[:, i] - boot.accuracy_boot[:, j]
        dp_diff = boot.dprime_boot[:, i] - boot.dprime_boot[:, j]
        rows.append(
            [
                *key,
                int((boot.both[:, i] & boot.both[:, j]).sum()),
                boot.accuracy[i],
                boot.accuracy[j],
                boot.accuracy[i] - boot.accuracy[j],
                *boot.interval(acc_diff),
                boot.dprime[i],
                boot.dprime[j],
                boot.dprime[i] - boot.dprime[j],
                *boot.interval(dp_diff),
            ]
        )
    return pd.DataFrame(rows, columns=columns)
