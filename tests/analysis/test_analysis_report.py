"""Tests of analysis.report: the HTML report writer."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis import Panel, ReportRow, write_report


def _photo(height: int = 30, width: int = 40) -> np.ndarray:
    rows, cols = np.indices((height, width))
    return np.stack([rows * 8, cols * 6, np.full_like(rows, 128)], axis=-1).astype(np.uint8)


def _rows() -> list[ReportRow]:
    photo = _photo()
    heat = np.outer(np.hanning(15), np.hanning(20))  # lower resolution than the photo
    return [
        ReportRow(
            "img10",
            [
                Panel("photo", photo),
                Panel("ANN map", heat, kind="heatmap"),
                Panel("ANN map on photo", heat, kind="heatmap", overlay=photo),
            ],
        ),
        ReportRow("<img onerror=x>", [Panel("fixations <b>", heat > 0.5)]),
    ]


def _sources(page: str) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', page)


def test_report_written_with_figures_table_and_notes(tmp_path):
    table = pd.DataFrame({"image": ["img10", "<i>x</i>"], "cc": [0.123456, -0.5], "n_fix": [12, 7]})
    index = write_report(
        tmp_path / "report",
        title="Humans & <ANNs>",
        rows=_rows(),
        table=table,
        notes=["Maps from random weights <script>alert(1)</script>", "seed 3"],
    )
    assert index == tmp_path / "report" / "index.html"
    page = index.read_text(encoding="utf-8")

    sources = _sources(page)
    assert len(sources) == 4  # one PNG per panel
    assert len(set(sources)) == 4
    from matplotlib.image import imread

    for src in sources:
        assert src.startswith("figures/")
        png = index.parent / src
        assert png.is_file()
        picture = imread(png)
        assert picture.ndim == 3
        assert picture.shape[0] > 50
    # The rows come in order, then the table, then the notes.
    assert page.index("img10") < page.index("<table") < page.index("seed 3")

    assert "0.123" in page
    assert "0.123456" not in page  # formatted with the default ".3f"
    assert "-0.500" in page
    assert ">12<" in page  # integers stay integers

    assert "<title>Humans &amp; &lt;ANNs&gt;</title>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page
    assert "&lt;img onerror=x&gt;" in page
    assert "fixations &lt;b&gt;" in page
    assert "&lt;i&gt;x&lt;/i&gt;" in page
    assert "<i>" not in page and "<b>" not in page


def test_report_figure_names_stay_inside_the_figures_folder(tmp_path):
    rows = [ReportRow("../../etc/passwd", [Panel("a", np.eye(3))])]
    index = write_report(tmp_path, title="t", rows=rows, table=None)
    (src,) = _sources(index.read_text(encoding="utf-8"))
    assert "/" not in src.removeprefix("figures/")
    assert (tmp_path / src).resolve().parent == (tmp_path / "figures").resolve()


def test_report_table_index_and_float_format(tmp_path):
    table = pd.DataFrame({"nss": [1.23456, 2.0]}, index=pd.Index(["img1", "img2"], name="image"))
    page = write_report(tmp_path, title="t", rows=[], table=table, float_format=".2f").read_text(
        encoding="utf-8"
    )
    assert "1.23" in page and "1.235" not in page
    assert "img2" in page  # a named index is shown
    assert "<img" not in page and "<h2>Notes</h2>" not in page
    plain = write_report(tmp_path, title="t", rows=[], table=pd.DataFrame({"v": [1.5]}))
    assert "<th>0</th>" not in plain.read_text(encoding="utf-8")  # a range index is not


def test_report_leaves_pyplot_alone(tmp_path):
    import matplotlib
    import matplotlib.pyplot as plt

    backend = matplotlib.get_backend()
    open_before = plt.get_fignums()
    write_report(tmp_path, title="t", rows=_rows(), table=None)
    assert plt.get_fignums() == open_before
    assert matplotlib.get_backend() == backend


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"kind": "contour"}, "Allowed values are 'image' and 'heatmap'", id="kind"),
        pytest.param(
            {"array": np.ones((4, 4, 3)), "kind": "heatmap"}, r"\(H, W\), but", id="rgb-h"
        ),
        pytest.param({"array": np.ones((2, 2, 2))}, r"\(H, W, 3\)", id="2-channels"),
        pytest.param({"array": np.ones(5)}, r"got shape \(5,\)", id="1-d"),
        pytest.param({"array": np.empty((0, 3))}, "non-empty", id="empty"),
        pytest.param({"array": np.array([["a"]])}, "numeric", id="strings"),
        pytest.param({"overlay": np.ones(3)}, "'overlay'", id="overlay-1-d"),
        pytest.param({"alpha": 1.5}, r"'alpha'.*\[0, 1\]", id="alpha"),
        pytest.param({"title": 3}, "title must be a str", id="title"),
    ],
)
def test_panel_invalid(kwargs, match):
    args = {"title": "t", "array": np.eye(3)} | kwargs
    with pytest.raises(ValueError, match=match):
        Panel(**args)


@pytest.mark.parametrize(
    ("image_id", "panels", "match"),
    [
        pytest.param("a", [], "non-empty sequence of Panel", id="no-panels"),
        pytest.param("a", [np.eye(3)], "Panel objects", id="not-panels"),
        pytest.param(10, [Panel("t", np.eye(3))], "image_id must be a str", id="id"),
    ],
)
def test_report_row_invalid(image_id, panels, match):
    with pytest.raises(ValueError, match=match):
        ReportRow(image_id, panels)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"table": [[1, 2]]}, "'table'.*got list", id="table"),
        pytest.param({"rows": [Panel("t", np.eye(2))]}, "'rows'", id="rows"),
        pytest.param({"notes": [1]}, "'notes'.*strings", id="notes"),
        pytest.param({"notes": "one note"}, "'notes'.*single str", id="notes-str"),
        pytest.param({"float_format": "%.3f"}, "'float_format'", id="float-format"),
    ],
)
def test_write_report_invalid(tmp_path, kwargs, match):
    args = {"title": "t", "rows": [], "table": None} | kwargs
    with pytest.raises(ValueError, match=match):
        write_report(tmp_path, **args)
    assert not (tmp_path / "index.html").exists()


def test_importing_analysis_stays_light():
    code = (
        "import sys, analysis, analysis.metrics, analysis.report; "
        "print(' '.join(m for m in ('torch', 'psychopy', 'pylink', 'matplotlib', 'cv2', "
        "'pandas', 'scipy') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_warnings_are_red_boxes_under_the_title(tmp_path) -> None:
    page = write_report(
        tmp_path,
        title="t",
        rows=_rows(),
        table=None,
        notes=["a plain note"],
        warnings=["random <weights>"],
    ).read_text(encoding="utf-8")
    box = '<div class="warning" role="alert">random &lt;weights&gt;</div>'
    assert page.index("<h1>t</h1>") < page.index(box) < page.index("<figure")
    style = re.search(r"\.warning \{([^}]*)\}", page)
    assert style is not None and "color: #b00020" in style.group(1)
    assert "border: 2px solid #b00020" in style.group(1)
    assert "<li>a plain note</li>" in page and "random" not in page.split("Notes")[1]
