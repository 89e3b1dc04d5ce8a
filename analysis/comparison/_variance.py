"""Share of the variance of ANN-human agreement explained by method, architecture, training set."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_FACTORS", "RANDOM_TRAINING_SET", "ann_source_factors", "variance_share"]

#: The factors of Langlois et al. (2021): attribution method, architecture, training set.
DEFAULT_FACTORS = ("method", "architecture", "training_set")

#: ``training_set`` of a network with randomly initialised weights.
RANDOM_TRAINING_SET = "none (random init)"

#: Datasets of torchvision weights names (``<DATASET>[_<RECIPE>]_V<k>``), by first token.
_DATASETS = {"IMAGENET1K": "ImageNet-1k", "IMAGENET22K": "ImageNet-22k"}

#: Columns of the variance_share table.
_COLUMNS = ["factor", "df", "sum_sq", "eta_sq_pct", "F", "p_value"]


def variance_share(
    scores: pd.DataFrame,
    factors: Sequence[str] = DEFAULT_FACTORS,
    *,
    value: str = "score",
) -> pd.DataFrame:
    """How much of the variance of the agreement scores each factor explains (ANOVA).

    Fits the main-effects linear model ``value ~ C(factor_1) + C(factor_2) +
    ...`` by ordinary least squares (statsmodels) and partitions its sums of
    squares with :func:`statsmodels.stats.anova.anova_lm` (type II: each
    factor's sum of squares given all the others), as Langlois et al. (2021)
    did for the agreement of ANN attribution maps with human maps (42.8 % of
    the variance explained by the attribution method, 15.9 % by the
    architecture, 1.0 % by the training set).

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per observation (e.g. per source, or per source x image),
        with a column per factor and the ``value`` column: e.g.
        ``MapComparison.scores`` (or ``.summary`` with ``value="mean"``) for
        one measure and metric, merged on ``source`` with
        :func:`ann_source_factors`.
    factors : sequence of str
        Columns whose levels (any values; compared as strings) are the
        factors. A factor with a single level explains nothing and cannot be
        estimated: it warns and is left out of the model and of the table.
        Columns ``measure`` and ``metric``, when present with more than one
        value and not among the factors, are refused: scores of different
        measures or metrics are not one variable.
    value : str
        Column of the scores (numbers). Rows where it or a factor is missing
        are dropped, with a warning.

    Returns
    -------
    pandas.DataFrame
        One row per fitted factor, in the order given, then ``"residual"``:
        ``factor, df, sum_sq`` (type II sum of squares), ``eta_sq_pct``
        (eta-squared, ``100 * sum_sq / SS_total`` with ``SS_total`` the sum
        of squared deviations of ``value`` from its mean), ``F`` and
        ``p_value`` (NaN for the residual). In a balanced design the
        percentages add up to 100; in an unbalanced one type II sums of
        squares need not add up to ``SS_total``. ``attrs`` holds ``n`` (rows
        used), ``ss_total`` and ``value``.

    Raises
    ------
    ValueError
        When a column is missing, ``value`` is not numeric or is constant,
        scores mix measures or metrics, no factor has two levels, factors are
        confounded (e.g. every architecture with its own training set), or
        there are no residual degrees of freedom.

    References
    ----------
    Langlois, T., Zhao, H., Grant, E., Dasgupta, I., Griffiths, T., & Jacoby,
    N. (2021). Passive attention in artificial neural networks predicts human
    visual selectivity. NeurIPS 34.
    """
    import pandas as pd

    names = _check_factors(factors)
    if not isinstance(scores, pd.DataFrame):
        raise ValueError(
            "Invalid value for the 'scores' parameter: expected a pandas DataFrame with one "
            f"column per factor and a {value!r} column, but got {type(scores).__name__}."
        )
    missing = [c for c in (*names, value) if c not in scores.columns]
    if missing:
        hint = (
            " Merge the scores with ann_source_factors(stimulus_set) on 'source' first."
            if "source" in scores.columns
            else ""
        )
        raise ValueError(
            f"The scores lack the columns {missing}; they have {list(scores.columns)}.{hint}"
        )
    for column in ("measure", "metric"):
        if column in scores.columns and column not in names and scores[column].nunique() > 1:
            raise ValueError(
                f"The scores mix {scores[column].nunique()} {column}s "
                f"({sorted(map(str, scores[column].unique()))[:5]}): select one "
                f"(scores[scores.{column} == ...]) or name {column!r} among the factors."
            )
    data = _complete_rows(scores, names, value)
    kept = _informative(data, names)
    y = data[value].to_numpy(dtype=np.float64)
    ss_total = float(np.sum((y - y.mean()) ** 2))
    if not ss_total > 0:
        raise ValueError(
            f"The {value!r} column is constant over the {len(y)} rows: there is no variance to "
            "share out."
        )
    table = _anova(data, kept, value)
    rows = []
    for k, name in enumerate([*kept, "residual"]):
        term = "Residual" if name == "residual" else f"C(f{k})"
        values = table[["df", "sum_sq", "F", "PR(>F)"]].loc[term].to_numpy(dtype=np.float64)
        df, sum_sq, f_value, p_value = (float(v) for v in values)
        rows.append(
            {
                "factor": name,
                "df": df,
                "sum_sq": sum_sq,
                "eta_sq_pct": 100.0 * sum_sq / ss_total,
                "F": f_value,
                "p_value": p_value,
            }
        )
    out = pd.DataFrame(rows, columns=_COLUMNS)
    out.attrs.update(n=len(y), ss_total=ss_total, value=value)
    return out


def _check_factors(factors: Sequence[str]) -> list[str]:
    if (
        isinstance(factors, str)
        or not isinstance(factors, Sequence)
        or not factors
        or not all(isinstance(f, str) for f in factors)
    ):
        raise ValueError(
            "Invalid value for the 'factors' parameter: expected a non-empty sequence of column "
            f"names, such as {DEFAULT_FACTORS}, but got {factors!r} instead."
        )
    if len(set(factors)) != len(factors):
        raise ValueError(f"Invalid value for the 'factors' parameter: {factors!r} repeats a name.")
    return list(factors)


def _complete_rows(scores: pd.DataFrame, names: list[str], value: str) -> pd.DataFrame:
    """The factor and value columns of the rows where none is missing; values as floats."""
    import pandas as pd

    data = scores[[*names, value]].copy()
    numeric = pd.to_numeric(data[value], errors="coerce")
    bad = data[value].notna() & numeric.isna()
    if bad.any():
        raise ValueError(
            f"The {value!r} column must hold numbers, but holds {data[value][bad].iloc[0]!r}."
        )
    data[value] = numeric.astype(np.float64).where(np.isfinite(numeric))
    incomplete = data.isna().any(axis=1)
    if incomplete.any():
        warnings.warn(
            f"variance_share: {int(incomplete.sum())} of {len(data)} rows lack a value or a "
            f"factor level ({[*names, value]}) and are left out.",
            UserWarning,
            stacklevel=3,
        )
        data = data[~incomplete]
    for name in names:
        data[name] = data[name].astype(str)
    return data


def _informative(data: pd.DataFrame, names: list[str]) -> list[str]:
    """The factors with at least two levels; the others warn."""
    kept = []
    for name in names:
        levels = data[name].unique()
        if len(levels) > 1:
            kept.append(name)
        else:
            warnings.warn(
                f"variance_share: the factor {name!r} has a single level "
                f"({', '.join(map(repr, levels)) or 'none'}) in the scores, so it explains no "
                "variance and cannot be estimated; it is left out of the model and the table.",
                UserWarning,
                stacklevel=3,
            )
    if not kept:
        raise ValueError(
            f"No factor among {names} has two levels in the scores: there is nothing to share "
            "the variance out between."
        )
    return kept


def _anova(data: pd.DataFrame, kept: list[str], value: str) -> pd.DataFrame:
    """Type II ANOVA table of the main-effects OLS model (terms ``C(f0)``, ``C(f1)``, ...)."""
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    # Neutral names: any column name (spaces, dots) works in the formula.
    frame = data[kept].copy()
    frame.columns = [f"f{k}" for k in range(len(kept))]
    frame["y"] = data[value].to_numpy(dtype=np.float64)
    formula = "y ~ " + " + ".join(f"C(f{k})" for k in range(len(kept)))
    fit = smf.ols(formula, data=frame).fit()
    wanted = sum(frame[f"f{k}"].nunique() - 1 for k in range(len(kept)))
    rank = round(float(fit.df_model))
    if rank < wanted:
        raise ValueError(
            f"The factors {kept} are confounded in the scores: the model has {wanted} effects "
            f"but only {rank} can be told apart (e.g. every architecture "
            "comes with its own training set). Leave a factor out, or add observations that "
            "cross them."
        )
    if fit.df_resid < 1:
        raise ValueError(
            f"The scores have {len(frame)} rows for {wanted + 1} model parameters: no residual "
            "degrees of freedom are left to test the factors. Score more images or sources."
        )
    table: pd.DataFrame = anova_lm(fit, typ=2)
    return table


def ann_source_factors(
    stimulus_set: str | os.PathLike[str] | Any | Mapping[str, Mapping[str, Any]],
) -> pd.DataFrame:
    """Architecture, attribution method and training set of each ANN map source.

    Parameters
    ----------
    stimulus_set : path, StimulusSet, or dict
        A stimulus-set file (path or :class:`stimuli.StimulusSet`): its ANN
        sources are those whose provenance names a ``model``, ``method`` and
        ``weights`` (as ``LoadedModel.map_provenance`` writes them; human,
        simulation and target sources have none). Or a dict source name ->
        provenance, every source of which is taken.

    Returns
    -------
    pandas.DataFrame
        One row per source, sorted: ``source``, ``architecture`` (the
        provenance's ``model``, e.g. ``"vgg16"`` or ``"mylab.nets:build"``;
        else the source's part before its last ``/``), ``method`` (the
        provenance's attribution ``method``, e.g. ``"gradcam"``; else the
        part after the last ``/``), ``training_set`` (from ``weights``, see
        Notes) and ``weights`` (as recorded).

    Notes
    -----
    ``training_set`` from the recorded ``weights``:

    - torchvision weights (``"VGG16_Weights.IMAGENET1K_V1"`` or
      ``"IMAGENET1K_V1"``): the dataset of the name, ``IMAGENET1K_*`` ->
      ``"ImageNet-1k"`` (recipes V1, V2 and FEATURES share the dataset),
      ``IMAGENET1K_SWAG_*`` -> ``"IG-3.6B + ImageNet-1k"`` (SWAG weights are
      pretrained on Instagram images, then trained on ImageNet-1k),
      ``IMAGENET22K_*`` -> ``"ImageNet-22k"``; another dataset token as it is;
    - ``"random"`` (or none) -> :data:`RANDOM_TRAINING_SET`
      ``"none (random init)"``;
    - ``"callable"`` (a user's network with the weights its callable gives)
      -> ``"callable"``;
    - a file path (a ``/`` or ``\\`` in it, or a ``.pth``, ``.pt``, ``.bin``,
      ``.ckpt``, ``.safetensors`` suffix) -> the file's stem, e.g.
      ``"stylized_imagenet"`` for ``/weights/stylized_imagenet.pth``: name
      the files after their training sets.

    Raises
    ------
    ValueError
        When a provenance is not a dict, or a file has no ANN source.
    """
    import pandas as pd

    records = _provenances(stimulus_set)
    rows = []
    for source in sorted(records):
        record = records[source]
        if not isinstance(record, Mapping):
            raise ValueError(
                f"Invalid value for the 'stimulus_set' parameter: the provenance of {source!r} "
                f"must be a dict, but is {type(record).__name__}."
            )
        prefix, _, suffix = source.rpartition("/")
        weights = record.get("weights")
        rows.append(
            {
                "source": source,
                "architecture": str(record.get("model") or prefix or source),
                "method": str(record.get("method") or suffix),
                "training_set": _training_set(weights),
                "weights": None if weights is None else str(weights),
            }
        )
    return pd.DataFrame(
        rows, columns=["source", "architecture", "method", "training_set", "weights"]
    )


def _provenances(stimulus_set: Any) -> dict[str, Mapping[str, Any]]:
    """Source -> provenance of the ANN sources of a file or set, or the dict as given."""
    if isinstance(stimulus_set, Mapping):
        return {str(k): v for k, v in stimulus_set.items()}
    if isinstance(stimulus_set, (str, os.PathLike)):
        from stimuli.stimulus_set import read_stimulus_set

        stimulus_set = read_stimulus_set(stimulus_set)
    if not (hasattr(stimulus_set, "map_sources") and hasattr(stimulus_set, "provenance")):
        raise ValueError(
            "Invalid value for the 'stimulus_set' parameter: expected a stimulus-set path, a "
            "StimulusSet, or a dict source -> provenance, but got "
            f"{type(stimulus_set).__name__}."
        )
    out = {}
    for source in stimulus_set.map_sources:
        record = stimulus_set.provenance(source)
        if all(key in record for key in ("model", "method", "weights")):
            out[source] = record
    if not out:
        raise ValueError(
            f"The stimulus set {getattr(stimulus_set, 'path', stimulus_set)} has no ANN map "
            f"source (a provenance with model, method and weights) among "
            f"{list(stimulus_set.map_sources)}."
        )
    return out


_WEIGHTS_FILE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".safetensors")


def _training_set(weights: object) -> str:
    """The training set that recorded ``weights`` stand for (see :func:`ann_source_factors`)."""
    if weights is None or weights == "random":
        return RANDOM_TRAINING_SET
    text = str(weights)
    if text == "callable":
        return "callable"
    if "/" in text or "\\" in text or text.lower().endswith(_WEIGHTS_FILE_SUFFIXES):
        return Path(text.replace("\\", "/")).stem
    name = text.rsplit(".", 1)[-1]
    if re.fullmatch(r"IMAGENET1K_SWAG_[A-Z0-9]+_V\d+", name):
        return "IG-3.6B + ImageNet-1k"
    dataset = name.split("_", 1)[0]
    if re.fullmatch(r"[A-Z0-9]+", dataset) and "_" in name:
        return _DATASETS.get(dataset, dataset)
    return text
