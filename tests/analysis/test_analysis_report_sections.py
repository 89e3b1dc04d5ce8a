"""Tests of the study report's parts: sections, contents, embedded figures, charts, software."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
from html.parser import HTMLParser
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.report import (
    Chart,
    ChartLine,
    Panel,
    ReportRow,
    ReportTable,
    Section,
    software_versions,
    write_report,
)

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_DATA_URI = "data:image/png;base64,"


class _Page(HTMLParser):
    """Ids, links, sources and headings of a page, in document order."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.sources: list[str] = []
        self.tags: list[str] = []
        self.headings: list[tuple[str, str]] = []  # (tag, text)
        self._heading: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(str(values["id"]))
        for name in ("href", "src", "srcset", "data", "poster", "action"):
            if values.get(name) is not None:
                (self.hrefs if name == "href" else self.sources).append(str(values[name]))
        if tag in ("h1", "h2", "h3", "h4", "h5"):
            self._heading = tag
            self.headings.append((tag, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == self._heading:
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            tag, text = self.headings[-1]
            self.headings[-1] = (tag, text + data)


def _photo(height: int = 30, width: int = 40) -> np.ndarray:
    rows, cols = np.indices((height, width))
    return np.stack([rows * 8, cols * 6, np.full_like(rows, 128)], axis=-1).astype(np.uint8)


def _bars() -> Chart:
    return Chart.bars(
        "CC with the human maps",
        ["vgg/gradcam", "resnet/ig"],
        [0.4, 0.2],
        ci_low=[0.3, 0.1],
        ci_high=[0.5, 0.25],
        reference=[0.7, 0.6],
        reference_label="noise ceiling",
    )


def _study_sections() -> list[Section]:
    photo = _photo()
    heat = np.outer(np.hanning(15), np.hanning(20))
    recovery = Chart.lines(
        "Recovery",
        [
            ChartLine(
                "free viewing",
                [2, 4, 8],
                [0.3, 0.6, 0.9],
                low=[0.2, 0.5, 0.85],
                high=[0.4, 0.7, 0.95],
            )
        ],
        x_label="participants",
        y_label="CC",
        x_scale="log",
        reference=0.9,
    )
    return [
        Section(
            "Maps",
            paragraphs=["Per image the six maps."],
            rows=[ReportRow("img1", [Panel("photo", photo), Panel("map", heat, kind="heatmap")])],
        ),
        Section(
            "Comparison",
            charts=[_bars()],
            tables=[("Ranking", pd.DataFrame({"source": ["a"], "cc": [0.4]}))],
            subsections=[
                Section("Maps", paragraphs=["The same title again."]),
                Section("Recovery", charts=[recovery]),
            ],
        ),
        Section("Results", paragraphs=["A title the results table also has."]),
    ]


def test_sections_in_order_and_contents_links_resolve(tmp_path: Path) -> None:
    """Anchors, worked out by hand in page order: the legacy "Results" table takes
    ``results``; then sections "Maps" -> ``maps``, "Comparison" -> ``comparison``, its
    subsections "Maps" -> ``maps-2`` (taken) and "Recovery" -> ``recovery``, "Results" ->
    ``results-2``; then "Notes" -> ``notes`` and "Software" -> ``software``."""
    index = write_report(
        tmp_path,
        title="Study",
        table=pd.DataFrame({"v": [1.0]}),
        notes=["a note"],
        sections=_study_sections(),
    )
    page = _Page(index.read_text(encoding="utf-8"))
    expected = ["results", "maps", "comparison", "maps-2", "recovery", "results-2", "notes"]
    assert page.ids == [*expected, "software"]
    assert page.hrefs == ["#" + anchor for anchor in page.ids]  # every part, in page order
    assert len(set(page.ids)) == len(page.ids)
    headings = [(tag, text) for tag, text in page.headings if text != "img1"]
    assert headings == [
        ("h1", "Study"),
        ("h2", "Contents"),
        ("h2", "Results"),
        ("h2", "Maps"),
        ("h2", "Comparison"),
        ("h3", "Maps"),
        ("h3", "Recovery"),
        ("h2", "Results"),
        ("h2", "Notes"),
        ("h2", "Software"),
    ]
    assert ("h3", "img1") in page.headings  # a row in a section is a level below it


def test_contents_nest_subsections(tmp_path: Path) -> None:
    text = write_report(tmp_path, title="t", sections=_study_sections()).read_text("utf-8")
    nav = text[text.index("<nav") : text.index("</nav>")]
    comparison = nav[nav.index('href="#comparison"') : nav.index('href="#results"')]
    assert comparison.count("<ol>") == 1  # its subsections in a list inside its item
    assert 'href="#maps-2"' in comparison and 'href="#recovery"' in comparison


def test_no_contents_without_sections(tmp_path: Path) -> None:
    text = write_report(tmp_path, title="t", table=pd.DataFrame({"v": [1]})).read_text("utf-8")
    assert "<nav" not in text
    assert '<section id="software">' in text  # every report lists its software


def test_repeated_and_symbol_titles_get_unique_anchors(tmp_path: Path) -> None:
    sections = [Section("Software"), Section("???"), Section("!!!"), Section("A  b")]
    page = _Page(write_report(tmp_path, title="t", sections=sections).read_text("utf-8"))
    assert page.ids == ["software", "section", "section-2", "a-b", "software-2"]


def _decoded(src: str) -> bytes:
    assert src.startswith(_DATA_URI)
    return base64.b64decode(src.removeprefix(_DATA_URI), validate=True)


def test_embedded_report_is_one_file_referring_to_nothing_else(tmp_path: Path) -> None:
    from matplotlib.image import imread

    embedded = write_report(
        tmp_path / "embedded", title="t", sections=_study_sections(), embed=True
    )
    assert sorted(p.name for p in embedded.parent.iterdir()) == ["index.html"]
    text = embedded.read_text(encoding="utf-8")
    page = _Page(text)
    assert all(href.startswith("#") for href in page.hrefs)
    assert len(page.sources) == 4  # photo, map, bars, recovery curve
    assert all(src.startswith(_DATA_URI) for src in page.sources)
    assert "url(" not in text and not {"link", "script", "iframe", "object"} & set(page.tags)

    files = write_report(tmp_path / "files", title="t", sections=_study_sections())
    file_sources = _Page(files.read_text(encoding="utf-8")).sources
    assert len(file_sources) == 4
    for src, file_src in zip(page.sources, file_sources, strict=True):
        png = _decoded(src)
        assert png.startswith(_PNG_MAGIC)
        assert png == (files.parent / file_src).read_bytes()  # the same figure, inside the page
    photo = imread(io.BytesIO(_decoded(page.sources[0])))
    # The 30 x 40 photo's figure is 2.5 x 3.3 inches at 100 dpi; the axes take 0.77 of its
    # height (Matplotlib's default subplot box), so the picture is 192.5 px high and
    # 192.5 * 40 / 30 = 256.7 px wide, plus 0.03 inch (3 px) of padding on each side:
    # 198.5 x 262.7 px, give or take the pixels of the tight bounding box.
    assert photo.shape == (pytest.approx(198.5, abs=3), pytest.approx(262.7, abs=3), 4)
    assert (photo.shape[0] - 6) / (photo.shape[1] - 6) == pytest.approx(30 / 40, abs=0.01)


def test_figure_names_stay_unique_across_sections(tmp_path: Path) -> None:
    row = ReportRow("img", [Panel("p", np.eye(3))])
    chart = Chart("same", lambda ax: ax.plot([0, 1]))
    sections = [Section("A", charts=[chart], rows=[row]), Section("A", charts=[chart], rows=[row])]
    page = _Page(write_report(tmp_path, title="t", sections=sections).read_text("utf-8"))
    assert len(set(page.sources)) == 4
    assert len(list((tmp_path / "figures").iterdir())) == 4


def test_section_text_and_tables_are_escaped(tmp_path: Path) -> None:
    sections = [
        Section(
            "<script>alert(1)</script>",
            paragraphs=["a < b & c"],
            warnings=["<b>random weights</b>"],
            tables=[ReportTable("<i>cap</i>", pd.DataFrame({"<th>": ["<td>"]}))],
            subsections=[Section("x\"'><img src=x>")],
        )
    ]
    text = write_report(
        tmp_path, title="t", sections=sections, provenance={"<k>": "<v>", "nested": {"a": "<w>"}}
    ).read_text("utf-8")
    assert "<script>" not in text and "<b>" not in text and "<i>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # heading and contents entry
    assert text.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2
    assert "<p>a &lt; b &amp; c</p>" in text
    assert '<div class="warning" role="alert">&lt;b&gt;random weights&lt;/b&gt;</div>' in text
    assert "<caption>&lt;i&gt;cap&lt;/i&gt;</caption>" in text
    assert "&lt;th&gt;" in text and "&lt;td&gt;" in text
    assert "x&quot;&#x27;&gt;&lt;img src=x&gt;" in text
    assert '<th scope="row">&lt;k&gt;</th><td>&lt;v&gt;</td>' in text
    assert "&lt;w&gt;" in text
    assert _Page(text).sources == []


def test_table_row_limit_says_how_many_rows_are_shown(tmp_path: Path) -> None:
    frame = pd.DataFrame({"image": [f"img{i:02d}" for i in range(25)], "cc": np.arange(25) / 10})
    sections = [
        Section(
            "Tables",
            tables=[
                ReportTable("cut", frame, max_rows=10, full_table="comparison.tsv"),
                ReportTable("whole", frame.head(3), max_rows=10),
                ReportTable("p", pd.DataFrame({"p": [0.000123]}), float_format=".2g"),
            ],
        )
    ]
    text = write_report(tmp_path, title="t", sections=sections).read_text("utf-8")
    cut = text[text.index("<caption>cut") : text.index("<caption>whole")]
    assert "img09" in cut and "img10" not in cut
    assert cut.count("<tr") == 11  # header and the first ten rows
    assert '<p class="table-note">First 10 of 25 rows. The full table: comparison.tsv.</p>' in cut
    assert text.count("table-note") == 2  # the note and its CSS rule: none for "whole"
    assert "0.00012" in text and "0.000" not in text.split("<caption>p")[1].split("0.00012")[0]


def test_software_section_lists_the_versions(tmp_path: Path) -> None:
    versions = software_versions()
    names = ["selectivity", "Python", "platform", "numpy", "scipy", "pandas", "h5py"]
    assert list(versions)[:9] == [*names, "matplotlib", "statsmodels"]
    for name in ("numpy", "scipy", "pandas", "h5py", "matplotlib", "statsmodels"):
        assert versions[name] == version(name)
    assert versions["Python"] == ".".join(map(str, sys.version_info[:3]))
    for name in ("torch", "psychopy"):
        try:
            installed = version(name)
        except PackageNotFoundError:
            assert name not in versions or name in sys.modules
        else:
            assert versions[name] == installed
    text = write_report(tmp_path, title="t").read_text("utf-8")
    software = text[text.index('<section id="software">') :]
    for name, value in versions.items():
        assert f'<tr><th scope="row">{name}</th><td>' in software
        if name != "platform":
            assert f"<td>{value}</td>" in software


def test_software_versions_do_not_import_torch() -> None:
    code = (
        "import sys; from analysis.report import software_versions; software_versions(); "
        "print(' '.join(m for m in ('torch', 'psychopy', 'matplotlib', 'pandas') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_provenance_is_a_definition_table(tmp_path: Path) -> None:
    provenance = {
        "data root": "/data/study",
        "stimulus set": {"path": "stimuli.h5", "sha256": "ab12"},
        "tasks": ["free-viewing", "patch-rating"],
    }
    text = write_report(tmp_path, title="t", provenance=provenance).read_text("utf-8")
    part = text[text.index('<section id="provenance">') : text.index('<section id="software">')]
    assert part == (
        '<section id="provenance"><h2>Provenance</h2><table class="definitions">'
        '<tr><th scope="row">data root</th><td>/data/study</td></tr>'
        '<tr><th scope="row">stimulus set</th><td><table class="definitions">'
        '<tr><th scope="row">path</th><td>stimuli.h5</td></tr>'
        '<tr><th scope="row">sha256</th><td>ab12</td></tr></table></td></tr>'
        '<tr><th scope="row">tasks</th><td>free-viewing, patch-rating</td></tr>'
        "</table></section>\n"
    )


def _drawn(chart: Chart):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=chart.size_inches)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    chart.draw(ax)
    return ax


def _segments(collection) -> list[list[list[float]]]:
    return [np.round(s, 6).tolist() for s in collection.get_segments()]


def test_bars_draw_values_intervals_and_ceilings() -> None:
    """Bars at x = 0, 1, 2 of width 0.7. Bar 0's interval [0.25, 0.35] does not contain
    its value 0.2: the error bar still spans exactly 0.25..0.35 (centre 0.3, half-width
    0.05). Bar 2 has no interval (NaN); bar 1 no ceiling. Ceilings: dashes from x - 0.35
    to x + 0.35 at 0.8 (bar 0) and 0.6 (bar 2)."""
    chart = Chart.bars(
        "t",
        ["a", "b", "c"],
        [0.2, 0.5, 0.4],
        ci_low=[0.25, 0.3, np.nan],
        ci_high=[0.35, 0.6, np.nan],
        reference=[0.8, np.nan, 0.6],
        reference_label="noise ceiling",
        value_label="CC",
    )
    ax = _drawn(chart)
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.2, 0.5, 0.4])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    errors, ceilings = ax.collections
    assert _segments(errors) == [[[0.0, 0.25], [0.0, 0.35]], [[1.0, 0.3], [1.0, 0.6]]]
    assert _segments(ceilings) == [[[-0.35, 0.8], [0.35, 0.8]], [[1.65, 0.6], [2.35, 0.6]]]
    assert ax.get_ylabel() == "CC"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["noise ceiling"]


def test_horizontal_bars_put_the_first_label_on_top() -> None:
    chart = Chart.bars(
        "t",
        ["a", "b"],
        [1.0, 2.0],
        ci_low=[0.5, 1.5],
        ci_high=[1.5, 3.0],
        reference=2.5,
        horizontal=True,
    )
    ax = _drawn(chart)
    assert [p.get_width() for p in ax.patches] == [1.0, 2.0]
    assert ax.yaxis_inverted()
    (errors,) = ax.collections
    assert _segments(errors) == [[[0.5, 0.0], [1.5, 0.0]], [[1.5, 1.0], [3.0, 1.0]]]
    *caps, ceiling = ax.lines
    assert len(caps) == 2  # the error bars' two ends
    assert list(ceiling.get_xdata()) == [2.5, 2.5]  # one number: a line across


def test_lines_draw_series_bands_and_reference() -> None:
    chart = Chart.lines(
        "recovery",
        [
            ChartLine(
                "free viewing",
                [2, 4, 8],
                [0.3, 0.6, 0.9],
                low=[0.2, 0.5, 0.8],
                high=[0.4, 0.7, 1.0],
            ),
            ChartLine("search", [2, 4, 8], [0.1, 0.2, 0.4]),
        ],
        x_label="participants",
        y_label="CC with the planted map",
        x_scale="log",
        reference=0.9,
        reference_label="aim",
    )
    ax = _drawn(chart)
    first, second, aim = ax.lines
    assert list(first.get_xdata()) == [2, 4, 8] and list(first.get_ydata()) == [0.3, 0.6, 0.9]
    assert list(second.get_ydata()) == [0.1, 0.2, 0.4]
    assert list(aim.get_ydata()) == [0.9, 0.9]
    (band,) = ax.collections  # only the first line has a band
    vertices = band.get_paths()[0].vertices
    assert vertices[:, 1].min() == pytest.approx(0.2) and vertices[:, 1].max() == pytest.approx(1.0)
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "4", "8"]  # the sizes drawn
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["free viewing", "search", "aim"]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        pytest.param(lambda: Chart.bars("t", "ab", [1, 2]), "single str", id="labels-str"),
        pytest.param(lambda: Chart.bars("t", ["a"], [1, 2]), r"'values'.*\(1,\)", id="values"),
        pytest.param(
            lambda: Chart.bars("t", ["a"], [1], ci_low=[0]), "both or neither", id="ci-one"
        ),
        pytest.param(
            lambda: Chart.bars("t", ["a", "b"], [1, 2], ci_low=[0, 3], ci_high=[1, 2]),
            "position 1 they are 3.0 and 2.0",
            id="ci-order",
        ),
        pytest.param(
            lambda: Chart.bars("t", ["a"], [1], reference=[1, 2]), "'reference'", id="ref"
        ),
        pytest.param(
            lambda: Chart.lines("t", []), "non-empty sequence of ChartLine", id="no-lines"
        ),
        pytest.param(
            lambda: Chart.lines("t", [ChartLine("a", [1], [1])], x_scale="symlog"),
            "Allowed values are 'linear' and 'log'",
            id="x-scale",
        ),
        pytest.param(
            lambda: ChartLine("a", [1, 2], [1]), r"'y' parameter of line 'a'.*\(2,\)", id="y"
        ),
        pytest.param(lambda: ChartLine("a", [1], [1], high=[2]), "both or neither", id="band"),
        pytest.param(lambda: Section(""), "non-empty str", id="title"),
        pytest.param(
            lambda: Section("s", paragraphs="text"), "'paragraphs'.*single str", id="para"
        ),
        pytest.param(lambda: Section("s", tables=[pd.DataFrame()]), "'tables'.*pairs", id="tables"),
        pytest.param(lambda: Section("s", charts=[1]), "'charts'.*Chart objects", id="charts"),
        pytest.param(
            lambda: Section(
                "a",
                subsections=[Section("b", subsections=[Section("c", subsections=[Section("d")])])],
            ),
            "4 levels deep; at most 3",
            id="depth",
        ),
        pytest.param(
            lambda: ReportTable("c", pd.DataFrame(), max_rows=0), "'max_rows'", id="max-rows"
        ),
        pytest.param(lambda: ReportTable("c", {"a": [1]}), "'frame'.*got dict", id="frame"),
        pytest.param(
            lambda: ReportTable("c", pd.DataFrame(), float_format="%d"), "'float_format'", id="ff"
        ),
    ],
)
def test_report_parts_invalid(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"sections": ["Maps"]}, "'sections'.*Section objects", id="sections"),
        pytest.param({"provenance": ["a"]}, "'provenance'.*mapping", id="provenance"),
        pytest.param(
            {"provenance": {"a": {1: "x"}}}, r"'provenance\['a'\]'.*keys must be str", id="key"
        ),
        pytest.param({"embed": "yes"}, "'embed'.*True or False", id="embed"),
    ],
)
def test_write_report_refuses_bad_study_parts(tmp_path: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        write_report(tmp_path / "out", title="t", **kwargs)
    assert not (tmp_path / "out").exists()
