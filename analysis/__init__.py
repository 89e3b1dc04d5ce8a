"""Human selectivity maps, their comparison with ANN maps, and reports.

Importing this package never imports psychopy, pylink or torch; SciPy,
OpenCV, pandas and Matplotlib load only when a function needs them.
"""

from __future__ import annotations

from . import metrics
from .fixations import fixation_counts, fixation_map
from .report import Panel, ReportRow, write_report

__all__ = [
    "Panel",
    "ReportRow",
    "fixation_counts",
    "fixation_map",
    "metrics",
    "write_report",
]
