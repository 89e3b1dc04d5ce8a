"""A self-contained HTML report: sections of charts, tables and map panels, software versions.

:func:`write_report` writes ``index.html`` (figures as PNG files beside it, or
embedded with ``embed=True``). A page is built from :class:`Section` objects
(text, :class:`ReportTable` tables, :class:`Chart` figures, rows of
:class:`Panel` pictures per image, nested sections), or from the flat
``rows``/``table``/``charts`` arguments of the first reports.
"""

from __future__ import annotations

from ._charts import Chart, ChartLine
from ._items import MAX_SECTION_DEPTH, PANEL_KINDS, Panel, ReportRow, ReportTable, Section
from ._software import software_versions
from ._write import write_report

__all__ = [
    "MAX_SECTION_DEPTH",
    "PANEL_KINDS",
    "Chart",
    "ChartLine",
    "Panel",
    "ReportRow",
    "ReportTable",
    "Section",
    "software_versions",
    "write_report",
]
