"""The study analysis: every recorded session of a data root, from tidy tables to a report.

:func:`load_study` reads ``<root>/sub-<participant>/ses-<session>/<task>/`` folders into
one table of trials per task, one table of fixations, a per-session quality table and the
exclusions that :class:`ExclusionRules` made, each counted. :func:`run_study` goes on from
there as a :class:`StudyConfig` (``configs/study.toml``) says: the human maps of every task
and their shared component into the stimulus set, the comparison of every ANN map with
them, masked recognition, the reverse test, AIS and one HTML report
(:func:`write_study_report`); each step is also a function of its own
(:func:`study_maps`, :func:`study_comparison`, :func:`study_recognition`,
:func:`study_reverse`).
"""

from __future__ import annotations

from ._load import EXCLUSION_COLUMNS, STUDY_FIXATION_COLUMNS, Study, load_study
from ._quality import QUALITY_COLUMNS, ExclusionRules
from ._run import HUMAN_PREFIX, SHARED_SOURCE, StudyAnalysisError, StudyRun, ann_sources
from .config import (
    AISSettings,
    ComparisonSettings,
    DataSettings,
    RecognitionSettings,
    ReverseSettings,
    SharedSettings,
    StudyConfig,
    load_study_config,
)
from .pipeline import (
    run_study,
    study_comparison,
    study_maps,
    study_recognition,
    study_reverse,
)
from .report import write_study_report

__all__ = [
    "EXCLUSION_COLUMNS",
    "HUMAN_PREFIX",
    "QUALITY_COLUMNS",
    "SHARED_SOURCE",
    "STUDY_FIXATION_COLUMNS",
    "AISSettings",
    "ComparisonSettings",
    "DataSettings",
    "ExclusionRules",
    "RecognitionSettings",
    "ReverseSettings",
    "SharedSettings",
    "Study",
    "StudyAnalysisError",
    "StudyConfig",
    "StudyRun",
    "ann_sources",
    "load_study",
    "load_study_config",
    "run_study",
    "study_comparison",
    "study_maps",
    "study_recognition",
    "study_reverse",
    "write_study_report",
]
