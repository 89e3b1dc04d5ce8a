"""Masked recognition: d', accuracy per condition, a mixed-effects model, and the reverse test.

- :func:`dprime` (yes/no), :func:`dprime_mafc` and :func:`proportion_correct_mafc`
  (m-alternative forced choice), :func:`corrected_rate` (log-linear and 1/(2n)
  corrections of counts).
- :func:`recognition_summary`: accuracy and d' per mask source x correct mask from the
  ``masked-recognition`` trials, flagged trials excluded and counted, intervals by
  resampling participants, and the correct-minus-incorrect difference per source.
- :func:`recognition_model`: logistic regression with participant and image random
  intercepts (statsmodels' variational Bayes).
- :func:`reverse_test`: a network's recognition of images masked by human maps
  (Langlois et al. 2021), scored by :func:`rank_score`.

Importing this package loads neither SciPy, statsmodels nor torch; they load when a
function needs them.
"""

from __future__ import annotations

from ._dprime import (
    CORRECTIONS,
    corrected_rate,
    dprime,
    dprime_mafc,
    proportion_correct_mafc,
)
from ._model import RecognitionModel, recognition_model
from ._reverse import RANK_SCORES, TARGETS, ReverseTest, rank_score, reverse_test
from ._stats import RecognitionSummary, recognition_summary

__all__ = [
    "CORRECTIONS",
    "RANK_SCORES",
    "TARGETS",
    "RecognitionModel",
    "RecognitionSummary",
    "ReverseTest",
    "corrected_rate",
    "dprime",
    "dprime_mafc",
    "proportion_correct_mafc",
    "rank_score",
    "recognition_model",
    "recognition_summary",
    "reverse_test",
]
