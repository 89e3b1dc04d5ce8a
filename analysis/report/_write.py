"""The report page: title, warnings, contents, sections of charts, tables and panels, software."""

from __future__ import annotations

import html
import itertools
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ..fixations import is_dataframe
from ._charts import Chart
from ._figures import FigureSink
from ._items import ReportRow, ReportTable, Section, check_float_format, strings
from ._software import software_versions

if TYPE_CHECKING:
    import pandas as pd

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; } h3 { font-size: 1em; }
h4, h5 { font-size: 0.95em; }
.panels { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
figure { margin: 0; } figure img { max-width: 20em; height: auto; display: block; }
.charts figure img { max-width: 36em; }
figcaption { font-size: 0.9em; text-align: center; margin-top: 0.3em; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
caption { font-weight: bold; text-align: left; padding-bottom: 0.3em; }
th, td { padding: 0.25em 0.75em; border-bottom: 1px solid #ccc; text-align: right; }
table.definitions th, table.definitions td { text-align: left; vertical-align: top; }
.table-note { font-size: 0.85em; color: #555; margin-top: 0; }
nav.contents ol { margin: 0.2em 0; }
.notes li { margin-bottom: 0.3em; }
.warning { border: 2px solid #b00020; background: #fde7ea; color: #b00020; font-weight: bold;
  padding: 0.6em 1em; margin: 1em 0; border-radius: 4px; }
footer { margin-top: 3em; font-size: 0.8em; color: #777; }
"""

_Entry = tuple[str, str, list["_Entry"]]  # (anchor, title, sub-entries) of the contents


def write_report(
    out_dir: str | os.PathLike[str],
    *,
    title: str,
    rows: Iterable[ReportRow] = (),
    table: pd.DataFrame | None = None,
    notes: Iterable[str] = (),
    float_format: str = ".3f",
    charts: Iterable[Chart] = (),
    summary: pd.DataFrame | None = None,
    warnings: Iterable[str] = (),
    sections: Iterable[Section] = (),
    provenance: Mapping[str, object] | None = None,
    embed: bool = False,
) -> Path:
    """Write an HTML report: warnings, contents, summary, panels, results, sections, software.

    Parameters
    ----------
    out_dir : path-like
        Folder to write into (created when missing): ``index.html`` and, unless
        ``embed``, one PNG per figure in ``figures/``. Files of the same names
        are replaced; others are left alone.
    title : str
        Title of the page.
    rows : iterable of ReportRow
        One row of panels per image, in order, shown after the summary.
    table : pandas.DataFrame or None
        A table of results (e.g. one metric per column, one image per row),
        shown after the rows under "Results"; its index is shown unless it is
        a plain range.
    notes : iterable of str
        Lines shown after the sections as a list, e.g. how the data were made.
    float_format : str
        Format spec applied to the float cells of every table, e.g. ``".3f"``
        (a :class:`ReportTable` may have its own).
    charts : iterable of Chart
        Summary figures (distributions, curves) shown first, side by side.
    summary : pandas.DataFrame or None
        A short table shown with the charts (e.g. one row of test results).
    warnings : iterable of str
        Lines shown under the title, each in a red box (``<div class="warning"
        role="alert">``), for what a reader must not miss, e.g. maps from a
        randomly initialised network.
    sections : iterable of Section
        The body of a study report, in order, after the results. With any
        section the page opens with a table of contents linking to every
        heading with an anchor (sections, subsections, and the summary,
        results, notes, provenance and software parts present).
    provenance : mapping of str to object, optional
        Where the results come from (data root, stimulus set and its checksum,
        configuration, ...), shown as a two-column table under "Provenance";
        a mapping value becomes a nested table, a list or tuple is joined
        with commas, anything else is shown as ``str(value)``.
    embed : bool
        True: every figure is a PNG data URI inside ``index.html``, no
        ``figures/`` folder is written and the page refers to no other file:
        one file to mail or archive. False: PNG files in ``figures/``.

    Returns
    -------
    Path
        Path of ``index.html``. Without ``embed`` the page refers to its
        figures by relative paths, so the folder can be moved as a whole.

    Notes
    -----
    Every page ends with a "Software" part: the versions of selectivity,
    Python and the packages of :func:`software_versions`.
    All text (title, headings, ids, captions, paragraphs, table cells, notes,
    warnings, provenance) is HTML-escaped. Figures are drawn on Matplotlib
    ``Figure`` objects with the Agg canvas, without pyplot, so the caller's
    backend and open figures are untouched and nothing is left open.
    """
    rows = list(rows)
    notes = strings(notes, "notes")
    alerts = (warnings,) if isinstance(warnings, str) else strings(warnings, "warnings")
    charts = list(charts)
    sections = list(sections)
    if not all(isinstance(chart, Chart) for chart in charts):
        raise ValueError("Invalid value for the 'charts' parameter: expected Chart objects.")
    if not all(isinstance(row, ReportRow) for row in rows):
        raise ValueError("Invalid value for the 'rows' parameter: expected ReportRow objects.")
    if not all(isinstance(section, Section) for section in sections):
        raise ValueError("Invalid value for the 'sections' parameter: expected Section objects.")
    for name, frame in (("table", table), ("summary", summary)):
        if frame is not None and not is_dataframe(frame):
            raise ValueError(
                f"Invalid value for the '{name}' parameter: expected a pandas DataFrame or None, "
                f"but got {type(frame).__name__} instead."
            )
    check_float_format(float_format)
    if provenance is not None:
        _check_definitions(provenance, "provenance")
    if not isinstance(embed, bool):
        raise ValueError(
            f"Invalid value for the 'embed' parameter: expected True or False, but got "
            f"{embed!r} instead."
        )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sink = FigureSink(out, embed=embed)
    anchors = _Anchors()
    contents: list[_Entry] = []

    def part(heading: str, body: str, css_class: str = "") -> str:
        anchor = anchors.make(heading)
        contents.append((anchor, heading, []))
        attrs = f' id="{anchor}"' + (f' class="{css_class}"' if css_class else "")
        return f"<section{attrs}><h2>{_esc(heading)}</h2>{body}</section>"

    body = []
    if charts or summary is not None:
        shown = _table_html(ReportTable("", summary), float_format) if summary is not None else ""
        body.append(part("Summary", shown + _charts_html(charts, "", sink)))
    if rows:
        shown = "".join(_row_html(row, f"row{i:03d}", 3, sink) for i, row in enumerate(rows))
        body.append(f"<section>{shown}</section>")
    if table is not None:
        body.append(part("Results", _table_html(ReportTable("", table), float_format)))
    numbers = itertools.count()
    for section in sections:
        text, entry = _section_html(section, 2, anchors, sink, numbers, float_format)
        body.append(text)
        contents.append(entry)
    if notes:
        items = "".join(f"<li>{_esc(note)}</li>" for note in notes)
        body.append(part("Notes", f"<ul>{items}</ul>", "notes"))
    if provenance is not None:
        body.append(part("Provenance", _definitions_html(provenance)))
    versions = software_versions()
    body.append(part("Software", _definitions_html(versions)))

    head = [f"<h1>{_esc(title)}</h1>"]
    head.extend(f'<div class="warning" role="alert">{_esc(alert)}</div>' for alert in alerts)
    if sections:
        head.append(
            '<nav class="contents" aria-label="Contents"><h2>Contents</h2>'
            f"{_contents_html(contents)}</nav>"
        )
    footer = f"<footer>Written by selectivity {_esc(versions['selectivity'])}.</footer>"
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join([*head, *body, footer])
        + "\n</body>\n</html>\n"
    )
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def _section_html(
    section: Section,
    level: int,
    anchors: _Anchors,
    sink: FigureSink,
    numbers: Iterator[int],
    float_format: str,
) -> tuple[str, _Entry]:
    """One section and its subsections; ``numbers`` keeps figure names unique."""
    anchor = anchors.make(section.title)
    prefix = f"sec{next(numbers):02d}-"
    parts = [f'<section id="{anchor}"><h{level}>{_esc(section.title)}</h{level}>']
    parts.extend(f'<div class="warning" role="alert">{_esc(w)}</div>' for w in section.warnings)
    parts.extend(f"<p>{_esc(paragraph)}</p>" for paragraph in section.paragraphs)
    parts.append(_charts_html(list(section.charts), prefix, sink))
    tables = cast("tuple[ReportTable, ...]", section.tables)  # pairs became tables on the way in
    parts.extend(_table_html(table, float_format) for table in tables)
    parts.extend(
        _row_html(row, f"{prefix}row{i:03d}", level + 1, sink) for i, row in enumerate(section.rows)
    )
    children: list[_Entry] = []
    for sub in section.subsections:
        text, entry = _section_html(sub, level + 1, anchors, sink, numbers, float_format)
        parts.append(text)
        children.append(entry)
    parts.append("</section>")
    return "".join(parts), (anchor, section.title, children)


def _row_html(row: ReportRow, prefix: str, level: int, sink: FigureSink) -> str:
    figures = []
    for j, panel in enumerate(row.panels):
        src = sink.panel(panel, f"{prefix}-{_slug(row.image_id)}-panel{j:02d}.png")
        figures.append(_figure_html(src, panel.title))
    return (
        f'<div class="row"><h{level}>{_esc(row.image_id)}</h{level}>'
        f'<div class="panels">{"".join(figures)}</div></div>'
    )


def _charts_html(charts: list[Chart], prefix: str, sink: FigureSink) -> str:
    if not charts:
        return ""
    figures = [
        _figure_html(
            sink.chart(chart, f"{prefix}chart{i:02d}-{_slug(chart.title)}.png"), chart.title
        )
        for i, chart in enumerate(charts)
    ]
    return f'<div class="panels charts">{"".join(figures)}</div>'


def _figure_html(src: str, caption: str) -> str:
    text = _esc(caption)
    return f'<figure><img src="{src}" alt="{text}"><figcaption>{text}</figcaption></figure>'


def _table_html(table: ReportTable, float_format: str) -> str:
    import pandas as pd

    spec = table.float_format or float_format
    frame = table.frame
    total = len(frame)
    limit = table.max_rows
    cut = limit is not None and total > limit
    if limit is not None and cut:
        frame = frame.head(limit)
    text = str(
        frame.to_html(
            float_format=lambda value: format(value, spec),
            escape=True,
            border=0,
            index=not isinstance(frame.index, pd.RangeIndex),
            na_rep="",
        )
    )
    if table.caption:
        # The first ">" closes the <table ...> tag (its attributes hold none).
        text = text.replace(">", f"><caption>{_esc(table.caption)}</caption>", 1)
    if cut:
        note = f"First {limit} of {total} rows."
        if table.full_table:
            note += f" The full table: {table.full_table}."
        text += f'<p class="table-note">{_esc(note)}</p>'
    return text


def _check_definitions(mapping: object, name: str) -> None:
    if not isinstance(mapping, Mapping):
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected a mapping of str to values, "
            f"but got {type(mapping).__name__} instead."
        )
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise ValueError(
                f"Invalid value for the '{name}' parameter: keys must be str, but got {key!r}."
            )
        if isinstance(value, Mapping):
            _check_definitions(value, f"{name}[{key!r}]")


def _definitions_html(mapping: Mapping[str, object]) -> str:
    cells = []
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            shown = _definitions_html(value)
        elif isinstance(value, (list, tuple)):
            shown = _esc(", ".join(str(item) for item in value))
        else:
            shown = _esc(str(value))
        cells.append(f'<tr><th scope="row">{_esc(key)}</th><td>{shown}</td></tr>')
    return f'<table class="definitions">{"".join(cells)}</table>'


def _contents_html(entries: list[_Entry]) -> str:
    items = []
    for anchor, title, children in entries:
        nested = _contents_html(children) if children else ""
        items.append(f'<li><a href="#{anchor}">{_esc(title)}</a>{nested}</li>')
    return f"<ol>{''.join(items)}</ol>"


class _Anchors:
    """Unique ``id`` values made from headings: ``results``, ``results-2``, ..."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def make(self, heading: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")[:60].strip("-")
        base = base or "section"
        anchor, n = base, 1
        while anchor in self.used:
            n += 1
            anchor = f"{base}-{n}"
        self.used.add(anchor)
        return anchor


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _slug(text: str) -> str:
    """A short file-name-safe version of an id (the row index keeps names unique)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:40].strip("._") or "image"
