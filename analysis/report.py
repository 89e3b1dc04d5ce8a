"""A short self-contained HTML report: per-image rows of map panels, a table and notes."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .fixations import _is_dataframe

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PANEL_KINDS", "Chart", "Panel", "ReportRow", "write_report"]

#: Allowed values of :attr:`Panel.kind`.
PANEL_KINDS = ("image", "heatmap")

_FIGURES_DIR = "figures"
_PANEL_INCHES = 3.2
_DPI = 100
_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; } h3 { font-size: 1em; }
.panels { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
figure { margin: 0; } figure img { max-width: 20em; height: auto; display: block; }
figcaption { font-size: 0.9em; text-align: center; margin-top: 0.3em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 0.25em 0.75em; border-bottom: 1px solid #ccc; text-align: right; }
.notes li { margin-bottom: 0.3em; }
.warning { border: 2px solid #b00020; background: #fde7ea; color: #b00020; font-weight: bold;
  padding: 0.6em 1em; margin: 1em 0; border-radius: 4px; }
footer { margin-top: 3em; font-size: 0.8em; color: #777; }
"""


@dataclass(frozen=True, eq=False)
class Panel:
    """One picture in a report row.

    Parameters
    ----------
    title : str
        Caption shown under the picture (plain text; it is escaped).
    array : array_like of shape (H, W), (H, W, 3) or (H, W, 4)
        What to show, indexed ``[row, col]``. ``kind="image"``: a grey-level
        (H, W) or RGB(A) image, uint8 or float in ``[0, 1]``.
        ``kind="heatmap"``: a 2-D map shown with ``cmap`` and a colour bar;
        NaN pixels are left transparent.
    kind : {"image", "heatmap"}
        How to show ``array``.
    overlay : array_like of shape (P, Q) or (P, Q, 3|4), optional
        A photo drawn underneath ``array``; ``array`` is stretched over it
        (a map at another resolution than the photo is fine) and drawn with
        transparency ``alpha``.
    alpha : float, optional
        Opacity of ``array`` in ``[0, 1]``; default 0.5 over an overlay, else 1.
    cmap : str, optional
        Matplotlib colour map; default ``"inferno"`` for heatmaps and
        ``"gray"`` for grey-level images.
    """

    title: str
    array: NDArray
    kind: Literal["image", "heatmap"] = "image"
    overlay: NDArray | None = None
    alpha: float | None = None
    cmap: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in PANEL_KINDS:
            raise ValueError(
                "Invalid value for the 'kind' parameter. Allowed values are 'image' and "
                f"'heatmap', but got {self.kind!r} instead."
            )
        if not isinstance(self.title, str):
            raise ValueError(f"Panel title must be a str, got {type(self.title).__name__}.")
        array = _check_picture(self.array, "array", allow_rgb=self.kind == "image")
        object.__setattr__(self, "array", array)
        if self.overlay is not None:
            overlay = _check_picture(self.overlay, "overlay", allow_rgb=True)
            object.__setattr__(self, "overlay", overlay)
        if self.alpha is not None and not (
            isinstance(self.alpha, (int, float)) and 0.0 <= self.alpha <= 1.0
        ):
            raise ValueError(
                "Invalid value for the 'alpha' parameter: expected a number in [0, 1], but "
                f"got {self.alpha!r} instead."
            )


@dataclass(frozen=True, eq=False)
class Chart:
    """A summary figure drawn by a function on one Matplotlib ``Axes``.

    Parameters
    ----------
    title : str
        Caption shown under the figure (plain text; it is escaped).
    draw : callable
        ``draw(ax)`` draws on a ``matplotlib.axes.Axes`` (histogram, lines,
        ...); it must not use pyplot. Its return value is ignored.
    size_inches : tuple of float
        ``(width, height)`` of the figure.
    """

    title: str
    draw: Callable[[Any], object]
    size_inches: tuple[float, float] = (5.0, 3.5)

    def __post_init__(self) -> None:
        if not isinstance(self.title, str):
            raise ValueError(f"Chart title must be a str, got {type(self.title).__name__}.")
        if not callable(self.draw):
            raise ValueError(
                "Invalid value for the 'draw' parameter: expected a callable draw(ax), but got "
                f"{type(self.draw).__name__} instead."
            )
        size = self.size_inches
        if len(size) != 2 or not all(isinstance(v, (int, float)) and v > 0 for v in size):
            raise ValueError(
                "Invalid value for the 'size_inches' parameter: expected (width, height) > 0, "
                f"but got {size!r} instead."
            )


@dataclass(frozen=True, eq=False)
class ReportRow:
    """The panels of one image, shown side by side under its id.

    Parameters
    ----------
    image_id : str
        Heading of the row (plain text; it is escaped).
    panels : sequence of Panel
        At least one panel, shown left to right.
    """

    image_id: str
    panels: Sequence[Panel]

    def __post_init__(self) -> None:
        if not isinstance(self.image_id, str):
            raise ValueError(
                f"ReportRow image_id must be a str, got {type(self.image_id).__name__}."
            )
        panels = tuple(self.panels)
        if not panels or not all(isinstance(p, Panel) for p in panels):
            raise ValueError(
                f"ReportRow {self.image_id!r} needs a non-empty sequence of Panel objects, "
                f"but got {self.panels!r}."
            )
        object.__setattr__(self, "panels", panels)


def write_report(
    out_dir: str | os.PathLike[str],
    *,
    title: str,
    rows: Iterable[ReportRow],
    table: pd.DataFrame | None,
    notes: Iterable[str] = (),
    float_format: str = ".3f",
    charts: Iterable[Chart] = (),
    summary: pd.DataFrame | None = None,
    warnings: Iterable[str] = (),
) -> Path:
    """Write an HTML report: warnings, summary charts, rows of panels per image, tables, notes.

    Parameters
    ----------
    out_dir : path-like
        Folder to write into (created when missing): ``index.html`` and one
        PNG per panel in ``figures/``. Files of the same names are replaced;
        others are left alone.
    title : str
        Title of the page.
    rows : iterable of ReportRow
        One row of panels per image, in order; may be empty.
    table : pandas.DataFrame or None
        A table of results (e.g. one metric per column, one image per row),
        shown after the rows; its index is shown unless it is a plain range.
    notes : iterable of str
        Lines shown last as a list, e.g. provenance warnings such as "maps
        from randomly initialised weights".
    float_format : str
        Format spec applied to the table's float cells, e.g. ``".3f"``.
    charts : iterable of Chart
        Summary figures (distributions, curves) shown first, side by side.
    summary : pandas.DataFrame or None
        A short table shown with the charts (e.g. one row of test results).
    warnings : iterable of str
        Lines shown under the title, each in a red box (``<div class="warning"
        role="alert">``), for what a reader must not miss, e.g. maps from a
        randomly initialised network.

    Returns
    -------
    Path
        Path of ``index.html``. The page refers to its figures by relative
        paths, so the folder can be moved or archived as a whole.

    Notes
    -----
    All text (title, ids, captions, table cells, notes, warnings) is HTML-escaped.
    Figures are drawn on Matplotlib ``Figure`` objects with the Agg canvas,
    without pyplot, so the caller's backend and open figures are untouched
    and nothing is left open.
    """
    if isinstance(notes, str):
        raise ValueError(
            "Invalid value for the 'notes' parameter: expected an iterable of strings, but "
            "got a single str; wrap it in a list."
        )
    rows = list(rows)
    notes = list(notes)
    alerts = [warnings] if isinstance(warnings, str) else list(warnings)
    charts = list(charts)
    if not all(isinstance(chart, Chart) for chart in charts):
        raise ValueError("Invalid value for the 'charts' parameter: expected Chart objects.")
    if not all(isinstance(row, ReportRow) for row in rows):
        raise ValueError("Invalid value for the 'rows' parameter: expected ReportRow objects.")
    if not all(isinstance(note, str) for note in notes):
        raise ValueError("Invalid value for the 'notes' parameter: expected strings.")
    if not all(isinstance(alert, str) for alert in alerts):
        raise ValueError("Invalid value for the 'warnings' parameter: expected strings.")
    for name, frame in (("table", table), ("summary", summary)):
        if frame is not None and not _is_dataframe(frame):
            raise ValueError(
                f"Invalid value for the '{name}' parameter: expected a pandas DataFrame or None, "
                f"but got {type(frame).__name__} instead."
            )
    try:
        format(1.5, float_format)
    except (TypeError, ValueError):
        raise ValueError(
            "Invalid value for the 'float_format' parameter: expected a format spec such as "
            f"'.3f', but got {float_format!r} instead."
        ) from None

    out = Path(out_dir)
    (out / _FIGURES_DIR).mkdir(parents=True, exist_ok=True)
    parts = [f"<h1>{_esc(title)}</h1>"]
    parts.extend(f'<div class="warning" role="alert">{_esc(alert)}</div>' for alert in alerts)
    if charts or summary is not None:
        parts.append("<section><h2>Summary</h2>")
        if summary is not None:
            parts.append(_table_html(summary, float_format))
        if charts:
            parts.append(_charts_html(charts, out))
        parts.append("</section>")
    if rows:
        parts.append("<section>")
        for i, row in enumerate(rows):
            parts.append(_row_html(row, i, out))
        parts.append("</section>")
    if table is not None:
        parts.append("<section><h2>Results</h2>")
        parts.append(_table_html(table, float_format))
        parts.append("</section>")
    if notes:
        items = "".join(f"<li>{_esc(note)}</li>" for note in notes)
        parts.append(f'<section class="notes"><h2>Notes</h2><ul>{items}</ul></section>')
    parts.append(f"<footer>Written by selectivity {_esc(_version())}.</footer>")
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body>\n</html>\n"
    )
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def _row_html(row: ReportRow, i: int, out: Path) -> str:
    figures = []
    for j, panel in enumerate(row.panels):
        name = f"row{i:03d}-{_slug(row.image_id)}-panel{j:02d}.png"
        _render_panel(panel, out / _FIGURES_DIR / name)
        caption = _esc(panel.title)
        figures.append(
            f'<figure><img src="{_FIGURES_DIR}/{name}" alt="{caption}">'
            f"<figcaption>{caption}</figcaption></figure>"
        )
    return (
        f'<div class="row"><h3>{_esc(row.image_id)}</h3>'
        f'<div class="panels">{"".join(figures)}</div></div>'
    )


def _charts_html(charts: list[Chart], out: Path) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figures = []
    for i, chart in enumerate(charts):
        name = f"chart{i:02d}-{_slug(chart.title)}.png"
        fig = Figure(figsize=chart.size_inches, dpi=_DPI)
        FigureCanvasAgg(fig)
        chart.draw(fig.add_subplot())
        fig.savefig(out / _FIGURES_DIR / name, bbox_inches="tight", pad_inches=0.05)
        caption = _esc(chart.title)
        figures.append(
            f'<figure><img src="{_FIGURES_DIR}/{name}" alt="{caption}">'
            f"<figcaption>{caption}</figcaption></figure>"
        )
    return f'<div class="panels">{"".join(figures)}</div>'


def _table_html(table: pd.DataFrame, float_format: str) -> str:
    import pandas as pd

    return str(
        table.to_html(
            float_format=lambda value: format(value, float_format),
            escape=True,
            border=0,
            index=not isinstance(table.index, pd.RangeIndex),
            na_rep="",
        )
    )


def _render_panel(panel: Panel, path: Path) -> None:
    """Draw one panel to a PNG with the Agg canvas (no pyplot, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    base = panel.overlay if panel.overlay is not None else panel.array
    height, width = base.shape[:2]
    side = _PANEL_INCHES / max(height, width)
    fig = Figure(figsize=(width * side + 0.1, height * side + 0.1), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_axis_off()
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)
    if panel.overlay is not None:
        ax.imshow(panel.overlay, cmap="gray" if panel.overlay.ndim == 2 else None, extent=extent)
    alpha = panel.alpha if panel.alpha is not None else (0.5 if panel.overlay is not None else 1.0)
    cmap: str | None
    if panel.kind == "heatmap":
        cmap = panel.cmap or "inferno"
    else:
        cmap = panel.cmap or ("gray" if panel.array.ndim == 2 else None)
    image = ax.imshow(panel.array, cmap=cmap, alpha=alpha, extent=extent)
    if panel.kind == "heatmap":
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    fig.savefig(path, bbox_inches="tight", pad_inches=0.03)


def _check_picture(value: ArrayLike, name: str, *, allow_rgb: bool) -> NDArray:
    arr = np.asarray(value)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if not (np.issubdtype(arr.dtype, np.number)):
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected a numeric array, but got "
            f"dtype {arr.dtype}."
        )
    rgb_ok = allow_rgb and arr.ndim == 3 and arr.shape[2] in (3, 4)
    if not (arr.ndim == 2 or rgb_ok) or arr.size == 0:
        allowed = "(H, W), (H, W, 3) or (H, W, 4)" if allow_rgb else "(H, W)"
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected a non-empty array of shape "
            f"{allowed}, but got shape {arr.shape} instead."
        )
    return arr


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _slug(text: str) -> str:
    """A short file-name-safe version of an id (the row index keeps names unique)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:40].strip("._") or "image"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("selectivity")
    except PackageNotFoundError:
        return "(version unknown)"
