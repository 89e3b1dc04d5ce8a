"""Mixed-effects logistic regression of masked-recognition accuracy (statsmodels, VB)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._trials import check_trials, flagged_mask

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RecognitionModel", "recognition_model"]

_WHAT = "recognition_model"


@dataclass(frozen=True, eq=False)
class RecognitionModel:
    """Results of :func:`recognition_model`.

    Attributes
    ----------
    fixed : pandas.DataFrame
        One row per fixed effect: ``term`` (statsmodels' name), ``kind``
        (``"intercept"``: log-odds of a correct answer with an incorrect mask;
        ``"correct_mask"``: the log-odds ratio of the image's own mask against
        another image's, i.e. the causal effect), ``mask_source``, ``mean``,
        ``sd`` (variational posterior mean and standard deviation, log-odds),
        ``ci_low``, ``ci_high`` (``mean -+ z sd``, z for ``confidence``),
        ``odds_ratio`` (``exp(mean)``), ``odds_ratio_ci_low``, ``odds_ratio_ci_high``.
    variance : pandas.DataFrame
        One row per random effect (``participant``, ``image``): ``log_sd_mean``,
        ``log_sd_sd`` (posterior of the log standard deviation), ``sd``
        (``exp(log_sd_mean)``: the standard deviation of the random intercepts,
        log-odds), ``sd_ci_low``, ``sd_ci_high``.
    n_trials, n_participants, n_images, n_flagged_excluded : int
        What went into the fit.
    formula : str
        The fixed-effects formula.
    result : object
        statsmodels' ``BayesMixedGLMResults``.
    """

    fixed: pd.DataFrame
    variance: pd.DataFrame
    n_trials: int
    n_participants: int
    n_images: int
    n_flagged_excluded: int
    formula: str
    result: Any

    def __repr__(self) -> str:
        return (
            f"RecognitionModel({self.formula!r}, {self.n_trials} trials, "
            f"{self.n_participants} participants, {self.n_images} images)"
        )


def recognition_model(
    trials: pd.DataFrame,
    *,
    fe_prior_sd: float = 2.0,
    vcp_prior_sd: float = 1.0,
    confidence: float = 0.95,
) -> RecognitionModel:
    """Mixed-effects logistic regression of ``correct`` on mask source x correct mask.

    The model, for trial t of participant p on image i with mask source s::

        logit P(correct) = a_s + b_s * correct_mask + u_p + v_i,
        u_p ~ N(0, sd_participant^2),  v_i ~ N(0, sd_image^2)

    (formula ``correct ~ 0 + C(mask_source) + C(mask_source):correct_mask``), so
    ``a_s`` is the log-odds of a correct answer through another image's mask and
    ``b_s`` the log-odds ratio of the image's own mask: the causal effect of the
    map ``s``. It is fitted with
    ``statsmodels.genmod.bayes_mixed_glm.BinomialBayesMixedGLM.fit_vb`` (mean-field
    variational Bayes, Gaussian priors on the fixed effects and on the log standard
    deviations of the random effects). Reported are the **variational posterior
    means and standard deviations**; the intervals are ``mean -+ z sd``. Mean-field
    VB tends to understate posterior uncertainty, so these intervals can be
    narrower than the participant bootstrap of :func:`recognition_summary`.

    Flagged trials are excluded, as in :func:`recognition_summary`.

    Parameters
    ----------
    trials : pandas.DataFrame
        The ``masked-recognition`` trials (columns as for :func:`recognition_summary`).
    fe_prior_sd : float
        Prior standard deviation of the fixed effects (log-odds; statsmodels' ``fe_p``).
    vcp_prior_sd : float
        Prior standard deviation of the log random-effect standard deviations
        (statsmodels' ``vcp_p``).
    confidence : float
        Coverage of the reported intervals, in (0, 1).

    Returns
    -------
    RecognitionModel
        Tidy ``fixed`` and ``variance`` tables and the statsmodels result.
    """
    for name, value in (("fe_prior_sd", fe_prior_sd), ("vcp_prior_sd", vcp_prior_sd)):
        if not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
            raise ValueError(
                f"Invalid value for the '{name}' parameter: expected a finite number > 0, but "
                f"got {value!r} instead."
            )
    if not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(
            "Invalid value for the 'confidence' parameter: expected a number in (0, 1), but got "
            f"{confidence!r} instead."
        )
    table = check_trials(trials, (), what=_WHAT)
    flagged = flagged_mask(table)
    data = table.loc[~flagged, ["participant", "image_id", "mask_source", "correct_mask"]].copy()
    data["correct"] = table.loc[~flagged, "correct"].astype(np.float64)
    data["mask_source"] = data["mask_source"].astype(str)
    data["correct_mask"] = data["correct_mask"].astype(np.float64)
    for column, what in (("participant", "participants"), ("image_id", "images")):
        if data[column].nunique() < 2:
            raise ValueError(
                f"{_WHAT} needs at least 2 {what} for a random intercept of {column!r}, but the "
                f"kept trials have {data[column].nunique()}."
            )
    lacking = [s for s, g in data.groupby("mask_source") if g["correct_mask"].nunique() < 2]
    if lacking:
        raise ValueError(
            f"{_WHAT}: the mask sources {lacking} have trials with only one of correct and "
            "incorrect masks; the correct-mask effect needs both."
        )
    from scipy.special import ndtri
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    formula = "correct ~ 0 + C(mask_source) + C(mask_source):correct_mask"
    model = BinomialBayesMixedGLM.from_formula(
        formula,
        {"participant": "0 + C(participant)", "image": "0 + C(image_id)"},
        data,
        vcp_p=float(vcp_prior_sd),
        fe_p=float(fe_prior_sd),
    )
    result = model.fit_vb()
    z = float(ndtri(0.5 + confidence / 2.0))
    return RecognitionModel(
        fixed=_fixed_table(model.exog_names, result.fe_mean, result.fe_sd, z),
        variance=_variance_table(model.vcp_names, result.vcp_mean, result.vcp_sd, z),
        n_trials=len(data),
        n_participants=int(data["participant"].nunique()),
        n_images=int(data["image_id"].nunique()),
        n_flagged_excluded=int(flagged.sum()),
        formula=formula,
        result=result,
    )


def _source_of(term: str) -> str:
    """``"C(mask_source)[human/x]:correct_mask"`` -> ``"human/x"``."""
    inner = term.split(":", 1)[0]
    return inner[len("C(mask_source)[") : -1]


def _fixed_table(names: list[str], mean: Any, sd: Any, z: float) -> pd.DataFrame:
    import pandas as pd

    mean, sd = np.asarray(mean, dtype=np.float64), np.asarray(sd, dtype=np.float64)
    table = pd.DataFrame(
        {
            "term": names,
            "kind": ["correct_mask" if n.endswith(":correct_mask") else "intercept" for n in names],
            "mask_source": [_source_of(n) for n in names],
            "mean": mean,
            "sd": sd,
            "ci_low": mean - z * sd,
            "ci_high": mean + z * sd,
        }
    )
    table["odds_ratio"] = np.exp(table["mean"])
    table["odds_ratio_ci_low"] = np.exp(table["ci_low"])
    table["odds_ratio_ci_high"] = np.exp(table["ci_high"])
    return table


def _variance_table(names: list[str], mean: Any, sd: Any, z: float) -> pd.DataFrame:
    import pandas as pd

    mean, sd = np.asarray(mean, dtype=np.float64), np.asarray(sd, dtype=np.float64)
    return pd.DataFrame(
        {
            "effect": names,
            "log_sd_mean": mean,
            "log_sd_sd": sd,
            "sd": np.exp(mean),
            "sd_ci_low": np.exp(mean - z * sd),
            "sd_ci_high": np.exp(mean + z * sd),
        }
    )
