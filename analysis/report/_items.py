"""What a report shows: panels, rows of panels, tables and sections (validated on the way in)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..fixations import is_dataframe
from ._charts import Chart

if TYPE_CHECKING:
    import pandas as pd

#: Allowed values of :attr:`Panel.kind`.
PANEL_KINDS = ("image", "heatmap")

#: Deepest nesting of :class:`Section` objects (headings ``h2`` to ``h4``).
MAX_SECTION_DEPTH = 3


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


@dataclass(frozen=True, eq=False)
class ReportTable:
    """A table with a caption, optionally cut to its first rows.

    Parameters
    ----------
    caption : str
        Shown above the table (plain text; it is escaped).
    frame : pandas.DataFrame
        The table; its index is shown unless it is a plain range. Cells are
        escaped, NaN is shown empty.
    max_rows : int, optional
        Show at most this many rows (the first ones) and say so under the
        table: "First N of M rows." Default: every row.
    full_table : str, optional
        Where the whole table is, e.g. ``"comparison.tsv"`` (a TSV written
        beside the report by the caller); named in that note, as text, not a
        link, so an embedded report still refers to no other file.
    float_format : str, optional
        Format spec of the float cells; default the report's ``float_format``.
    """

    caption: str
    frame: pd.DataFrame
    max_rows: int | None = None
    full_table: str | None = None
    float_format: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.caption, str):
            raise ValueError(
                f"ReportTable caption must be a str, got {type(self.caption).__name__}."
            )
        if not is_dataframe(self.frame):
            raise ValueError(
                f"Invalid value for the 'frame' parameter of table {self.caption!r}: expected "
                f"a pandas DataFrame, but got {type(self.frame).__name__} instead."
            )
        if self.max_rows is not None and (
            isinstance(self.max_rows, bool)
            or not isinstance(self.max_rows, (int, np.integer))
            or self.max_rows < 1
        ):
            raise ValueError(
                f"Invalid value for the 'max_rows' parameter of table {self.caption!r}: "
                f"expected a positive integer or None, but got {self.max_rows!r} instead."
            )
        if self.full_table is not None and not isinstance(self.full_table, str):
            raise ValueError(
                f"Invalid value for the 'full_table' parameter of table {self.caption!r}: "
                f"expected a str or None, but got {type(self.full_table).__name__} instead."
            )
        if self.float_format is not None:
            check_float_format(self.float_format)


@dataclass(frozen=True, eq=False)
class Section:
    """One section of a report, with a heading, an anchor and an entry in the contents.

    Its parts are shown in this order: ``warnings`` (red boxes),
    ``paragraphs``, ``charts`` (side by side), ``tables``, ``rows``, then
    ``subsections``. To interleave text and figures, use subsections.

    Parameters
    ----------
    title : str
        Heading, and the text of its entry in the table of contents (plain
        text; escaped). Its anchor is made from it, unique within the page
        (``#results``, ``#results-2``, ...).
    paragraphs : sequence of str
        Plain-text paragraphs (escaped; no markup).
    tables : sequence of ReportTable or (caption, pandas.DataFrame) pairs
        Pairs become ``ReportTable(caption, frame)`` (every row shown).
    charts : sequence of Chart
        Summary figures (:meth:`Chart.bars`, :meth:`Chart.lines`, or any
        ``draw(ax)``).
    rows : sequence of ReportRow
        Rows of panels, e.g. per image the maps.
    warnings : sequence of str
        Lines a reader must not miss, each in a red box under the heading.
    subsections : sequence of Section
        Nested sections, listed under this one in the contents. At most
        ``MAX_SECTION_DEPTH`` (3) levels in all: headings ``h2`` to ``h4``.
    """

    title: str
    paragraphs: Sequence[str] = ()
    tables: Sequence[ReportTable | tuple[str, pd.DataFrame]] = ()
    charts: Sequence[Chart] = ()
    rows: Sequence[ReportRow] = ()
    warnings: Sequence[str] = ()
    subsections: Sequence[Section] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.title, str) or not self.title.strip():
            raise ValueError(f"Section title must be a non-empty str, got {self.title!r}.")
        where = f"of section {self.title!r}"
        object.__setattr__(self, "paragraphs", strings(self.paragraphs, "paragraphs", where))
        object.__setattr__(self, "warnings", strings(self.warnings, "warnings", where))
        object.__setattr__(self, "tables", tuple(_table(t, where) for t in self.tables))
        for name, kind in (("charts", Chart), ("rows", ReportRow), ("subsections", Section)):
            items = tuple(getattr(self, name))
            if not all(isinstance(item, kind) for item in items):
                raise ValueError(
                    f"Invalid value for the '{name}' parameter {where}: expected "
                    f"{kind.__name__} objects."
                )
            object.__setattr__(self, name, items)
        depth = self.depth
        if depth > MAX_SECTION_DEPTH:
            raise ValueError(
                f"Section {self.title!r} nests sections {depth} levels deep; at most "
                f"{MAX_SECTION_DEPTH} are allowed (headings h2 to h4)."
            )

    @property
    def depth(self) -> int:
        """Levels of sections in this one's tree: 1 without subsections."""
        return 1 + max((sub.depth for sub in self.subsections), default=0)


def strings(values: Iterable[str], name: str, where: str = "") -> tuple[str, ...]:
    """Check an iterable of strings (a single str is refused: wrap it in a list)."""
    where = f" {where}" if where else ""
    if isinstance(values, str):
        raise ValueError(
            f"Invalid value for the '{name}' parameter{where}: expected an iterable of "
            "strings, but got a single str; wrap it in a list."
        )
    items = tuple(values)
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"Invalid value for the '{name}' parameter{where}: expected strings.")
    return items


def check_float_format(float_format: str) -> None:
    """Refuse a format spec that ``format(1.5, spec)`` does not take."""
    try:
        format(1.5, float_format)
    except (TypeError, ValueError):
        raise ValueError(
            "Invalid value for the 'float_format' parameter: expected a format spec such as "
            f"'.3f', but got {float_format!r} instead."
        ) from None


def _table(value: object, where: str) -> ReportTable:
    if isinstance(value, ReportTable):
        return value
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return ReportTable(value[0], value[1])
    raise ValueError(
        f"Invalid value for the 'tables' parameter {where}: expected ReportTable objects or "
        f"(caption, DataFrame) pairs, but got {type(value).__name__} instead."
    )


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
