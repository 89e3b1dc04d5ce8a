"""Human selectivity maps, their comparison with ANN maps, alignment importance, and reports.

Importing this package never imports psychopy, pylink or torch (the network
parts of :mod:`analysis.ais` load torch when called); SciPy, OpenCV, POT,
pandas and Matplotlib load only when a function needs them.
"""

from __future__ import annotations

from . import baselines, bids, ceilings, human_maps, metrics, recognition
from .ais import (
    AISResult,
    AISRun,
    PruningResult,
    ais_heatmaps,
    ais_protocol,
    ais_pruning_cv,
    alignment_importance,
    run_ais,
    saliency_overlap,
)
from .ceilings import Ceiling, leave_one_subject_out_ceiling, split_half_ceiling
from .comparison import MapComparison, ann_source_factors, compare_maps, variance_share
from .fixations import fixation_counts, fixation_map
from .human_maps import (
    HumanMaps,
    MapSettings,
    estimate_human_maps,
    split_half_reliability,
)
from .recognition import (
    RecognitionModel,
    RecognitionSummary,
    ReverseTest,
    dprime,
    dprime_mafc,
    recognition_model,
    recognition_summary,
    reverse_test,
)
from .report import Chart, ChartLine, Panel, ReportRow, ReportTable, Section, write_report
from .sessions import FIXATION_COLUMNS, Session, SessionDataError, load_session
from .shared import SharedComponent, shared_component
from .similarity import RatingsError, SimilarityMatrix, read_similarity, write_similarity

__all__ = [
    "FIXATION_COLUMNS",
    "AISResult",
    "AISRun",
    "Ceiling",
    "Chart",
    "ChartLine",
    "HumanMaps",
    "MapComparison",
    "MapSettings",
    "Panel",
    "PruningResult",
    "RatingsError",
    "RecognitionModel",
    "RecognitionSummary",
    "ReportRow",
    "ReportTable",
    "ReverseTest",
    "Section",
    "Session",
    "SessionDataError",
    "SharedComponent",
    "SimilarityMatrix",
    "ais_heatmaps",
    "ais_protocol",
    "ais_pruning_cv",
    "alignment_importance",
    "ann_source_factors",
    "baselines",
    "bids",
    "ceilings",
    "compare_maps",
    "dprime",
    "dprime_mafc",
    "estimate_human_maps",
    "fixation_counts",
    "fixation_map",
    "human_maps",
    "leave_one_subject_out_ceiling",
    "load_session",
    "metrics",
    "read_similarity",
    "recognition",
    "recognition_model",
    "recognition_summary",
    "reverse_test",
    "run_ais",
    "saliency_overlap",
    "shared_component",
    "split_half_ceiling",
    "split_half_reliability",
    "variance_share",
    "write_report",
    "write_similarity",
]
