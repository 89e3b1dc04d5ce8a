"""The one TSV format (selectivity.tsv): round trips of every writer and reader, old files."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eyetracking import read_tsv
from selectivity.tsv import (
    NA,
    TsvColumnsError,
    TsvCutLineWarning,
    TsvRowWriter,
    escape,
    format_value,
    read_table,
    unescape,
    write_table,
)
from tasks.runtime.session import completed_trial_ids

DATA = Path(__file__).parent / "data" / "tsv"

TEXTS = [
    pytest.param("plain", id="plain"),
    pytest.param("tab\there", id="tab"),
    pytest.param("two\nlines\r\n", id="newlines"),
    pytest.param("back\\slash\\t", id="backslash-then-t"),
    pytest.param("ends with \\", id="trailing-backslash"),
    pytest.param("n/a", id="literal-na"),
    pytest.param("n\\/a", id="escaped-na-lookalike"),
    pytest.param("nan", id="literal-nan"),
    pytest.param("café ÄÖÜ 視線 🙂", id="unicode"),
    pytest.param('"quoted", with comma', id="quotes"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("text", TEXTS)
def test_escape_round_trip(text: str) -> None:
    field = escape(text)
    assert "\t" not in field and "\n" not in field and "\r" not in field
    assert field != NA
    assert unescape(field) == text


@pytest.mark.parametrize(
    ("field", "text"),
    [("a\\tb", "a\tb"), ("a\\\\tb", "a\\tb"), ("n\\/a", "n/a"), ("a\\qb", "a\\qb"), ("a\\", "a\\")],
)
def test_unescape_by_hand(field: str, text: str) -> None:
    assert unescape(field) == text


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (None, "n/a"),
        (math.nan, "n/a"),
        (np.float32("nan"), "n/a"),
        (pd.NA, "n/a"),
        (True, "True"),
        (np.bool_(False), "False"),
        (7, "7"),
        (np.int64(-3), "-3"),
        (7196724.0, "7196724"),
        (0.1, "0.1"),
        (1 / 3, "0.3333333333333333"),
        (1e16, "1e+16"),
        ("n/a", "n\\/a"),
        ("007", "007"),
    ],
)
def test_format_value_by_hand(value: object, field: str) -> None:
    assert format_value(value) == field


@pytest.mark.parametrize("text", TEXTS)
def test_text_column_round_trip_through_every_writer(tmp_path: Path, text: str) -> None:
    """A text column with one awkward value (and a missing one) reads back exactly."""
    values = pd.array(["x", text, None], dtype="string")
    frame = pd.DataFrame({"s": values, "n": np.arange(3, dtype=np.int64)})
    dtypes = {"s": "string"}
    whole = read_table(write_table(frame, tmp_path / "frame.tsv"), dtypes=dtypes)
    pd.testing.assert_frame_equal(whole, frame)
    rows = [{"s": v, "n": k} for k, v in enumerate(["x", text, None])]
    by_rows = read_table(write_table(rows, tmp_path / "rows.tsv"), dtypes=dtypes)
    pd.testing.assert_frame_equal(by_rows, frame)
    with TsvRowWriter(tmp_path / "log.tsv", ["s", "n"]) as log:
        for row in rows:
            log.append(row)
    pd.testing.assert_frame_equal(read_table(tmp_path / "log.tsv", dtypes=dtypes), frame)


def test_types_are_inferred_without_dtypes(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": np.array([1, 2, 3], dtype=np.int64),
            "x": [0.5, math.nan, 2.25],
            "whole": [1.0, math.nan, 3.0],  # whole floats with a gap stay float64
            "ok": [True, False, True],
            "maybe": pd.array([True, None, False], dtype="boolean"),
            "image": pd.array(["007", "012", "100"], dtype="string"),  # identifiers
            "word": pd.array(["a", None, "1"], dtype="string"),
            "gone": [math.nan] * 3,
        }
    )
    pd.testing.assert_frame_equal(read_table(write_table(frame, tmp_path / "t.tsv")), frame)
    assert (tmp_path / "t.tsv").read_text(encoding="utf-8").splitlines()[2] == (
        "2\tn/a\tn/a\tFalse\tn/a\t012\tn/a\tn/a"
    )


def test_a_column_with_any_text_is_text(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\n1\tnan\nx\t2\n", encoding="utf-8")
    frame = read_table(path)
    assert frame["a"].dtype == "string" and list(frame["a"]) == ["1", "x"]
    assert frame["b"].dtype == np.float64 and math.isnan(frame["b"][0])


def test_empty_tables(tmp_path: Path) -> None:
    path = write_table([], tmp_path / "rows.tsv", columns=["a", "b"])
    assert path.read_text(encoding="utf-8") == "a\tb\n"
    empty = read_table(path)
    assert list(empty.columns) == ["a", "b"] and len(empty) == 0
    typed = pd.DataFrame({"a": pd.Series([], dtype="string"), "b": pd.Series([], dtype="int64")})
    back = read_table(write_table(typed, tmp_path / "f.tsv"), dtypes={"a": "string", "b": "int64"})
    pd.testing.assert_frame_equal(back, typed)
    with TsvRowWriter(tmp_path / "log.tsv", ["a", "b"]):
        pass
    assert (tmp_path / "log.tsv").read_text(encoding="utf-8") == "a\tb\n"


def test_column_names_are_escaped(tmp_path: Path) -> None:
    frame = pd.DataFrame({"tab\tname": [1], "n/a": [2]})
    back = read_table(write_table(frame, tmp_path / "t.tsv"))
    assert list(back.columns) == ["tab\tname", "n/a"]


def test_row_writer_writes_header_once_and_each_row_at_once(tmp_path: Path) -> None:
    path = tmp_path / "log.tsv"
    log = TsvRowWriter(path, ["trial_id", "rt_s"])
    log.append({"trial_id": 1, "rt_s": 0.25})
    # on disk before close: another reader sees the finished row
    assert path.read_text(encoding="utf-8") == "trial_id\trt_s\n1\t0.25\n"
    log.close()
    with TsvRowWriter(path, ["trial_id", "rt_s"]) as again:
        again.append({"trial_id": 2, "rt_s": None})
    assert path.read_text(encoding="utf-8") == "trial_id\trt_s\n1\t0.25\n2\tn/a\n"
    with pytest.raises(TsvColumnsError, match=r"existing columns \['trial_id', 'rt_s'\] differ"):
        TsvRowWriter(path, ["trial_id"])
    with pytest.raises(ValueError, match=r"row missing \['rt_s'\], unexpected \['x'\]"):
        TsvRowWriter(path, ["trial_id", "rt_s"]).append({"trial_id": 3, "x": 1})


def test_row_writer_moves_a_cut_line_aside(tmp_path: Path) -> None:
    path = tmp_path / "log.tsv"
    path.write_text("a\tb\n1\t2\n3", encoding="utf-8")
    with pytest.warns(TsvCutLineWarning, match=r"log\.tsv, line 3: the last line was cut short"):
        assert len(read_table(path, finished_rows_only=True)) == 1
    with pytest.raises(ValueError, match="line 3: expected 2 tab-separated values, got 1"):
        read_table(path)
    with pytest.warns(UserWarning, match="cut short"), TsvRowWriter(path, ["a", "b"]):
        pass
    assert path.read_text(encoding="utf-8") == "a\tb\n1\t2\n"


def test_trials_tsv_of_the_previous_writer_reads_with_missing_values() -> None:
    """``tests/data/tsv/trials_v0.tsv`` was written by the csv-module appender of 0.x.

    It wrote ``None`` as an empty field and NaN as ``nan``.
    """
    trials = read_table(DATA / "trials_v0.tsv")
    assert list(trials["trial_id"]) == [1, 2, 3]
    assert list(trials["image_id"]) == ["007", "012", "100"]
    assert trials["response"].isna().tolist() == [False, True, False]
    assert trials["rt_s"].dtype == np.float64
    assert trials["rt_s"].isna().tolist() == [False, True, False]
    assert trials["onset_tracker_ms"].isna().tolist() == [False, True, True]
    assert trials["correct"].tolist() == [True, False, True]
    assert completed_trial_ids(DATA / "trials_v0.tsv") == [1, 2, 3]


def test_eye_table_of_the_previous_writer_reads_back_as_before() -> None:
    """``tests/data/tsv/eye_table_v1.*`` came from the 0.x ``write_table_tsv`` of this frame."""
    expected = pd.DataFrame(
        {
            "text": pd.array(
                ["tab\there", "two\nlines", "back\\slash", "n/a", "", None, "café ÄÖÜ", '"q"'],
                dtype="string",
            ),
            "time": [1000.5, 2.0, -0.1, 1e16, np.nan, 1 / 3, 7196724.0, 0.0],
            "trial_id": pd.array([1, None, 3, 4, 5, 6, 7, 8], dtype="Int64"),
            "count": np.arange(8, dtype=np.int64),
            "flag": [True, False] * 4,
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd.testing.assert_frame_equal(read_tsv(DATA / "eye_table_v1.tsv"), expected)


@pytest.mark.parametrize(
    ("content", "dtypes", "match"),
    [
        pytest.param("", None, "is empty", id="empty-file"),
        pytest.param("a\tb\n1\n", None, "line 2: expected 2", id="short-row"),
        pytest.param("a\n1\n", {"a": "text"}, "Invalid dtype 'text' for column 'a'", id="dtype"),
        pytest.param("a\nx\n", {"a": "int64"}, "column 'a'", id="not-an-int"),
        pytest.param("a\nyes\n", {"a": "bool"}, "'yes' is not True or False", id="not-a-bool"),
    ],
)
def test_read_errors(tmp_path: Path, content: str, dtypes: dict | None, match: str) -> None:
    path = tmp_path / "t.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        read_table(path, dtypes=dtypes)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="TSV file not found"):
        read_table(tmp_path / "none.tsv")


def test_a_crash_cut_trial_is_not_a_finished_trial(tmp_path: Path) -> None:
    # The earlier reader split on tabs and counted trial 2 although its row was cut short.
    path = tmp_path / "trials.tsv"
    path.write_text("trial_id\timage_id\n1\ta\n2\tb", encoding="utf-8")
    assert completed_trial_ids(path) == [1]


def test_headerless_gzip_round_trip(tmp_path: Path) -> None:
    """BIDS ``.tsv.gz``: no header line, columns named by the reader; the gzip header holds
    neither a file name nor a time (the validator warns on both), so the bytes repeat."""
    import gzip

    table = pd.DataFrame({"t": [7196724.0, 7196726.0], "x": [512.5, np.nan], "m": ["a\tb", None]})
    first = write_table(table, tmp_path / "a.tsv.gz", header=False)
    second = write_table(table, tmp_path / "b.tsv.gz", header=False)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes()[3] == 0  # FLG: no FNAME, and MTIME (bytes 4-7) 0
    assert first.read_bytes()[4:8] == b"\0\0\0\0"
    assert (
        gzip.decompress(first.read_bytes()).decode() == "7196724\t512.5\ta\\tb\n7196726\tn/a\tn/a\n"
    )
    back = read_table(first, columns=["t", "x", "m"], dtypes={"t": "float64", "m": "string"})
    pd.testing.assert_frame_equal(back, table.astype({"m": "string"}))


def test_row_writer_takes_back_rows_written_together(tmp_path: Path) -> None:
    """A trial's frame rows are written in one write and taken back when its row cannot be
    written (a full disk). Catches rows of a failed trial left behind, to be written again."""
    path = tmp_path / "frames.tsv"
    with TsvRowWriter(path, ["trial_id", "phase"]) as log:
        log.append({"trial_id": 1, "phase": "image"})
        before = path.read_bytes()
        n = log.append_rows(
            [{"trial_id": 2, "phase": "fixation"}, {"trial_id": 2, "phase": "image"}]
        )
        assert path.read_bytes() == before + b"2\tfixation\n2\timage\n"
        log.take_back(n)
        assert path.read_bytes() == before
        assert log.append_rows([]) == 0
