"""Property tests of the one TSV format (:mod:`selectivity.tsv`) on bad input (hypothesis).

``read_table`` is given random bytes, random text with tabs, line ends, carriage returns,
escapes and ``n/a``, ragged rows and empty files, with and without declared dtypes. The
property: it reads (one column per header name, one row per line), or raises ``ValueError``
naming the file (and the line, for a line or a value), never another exception. A reader that
let ``UnicodeDecodeError`` or ``OverflowError`` escape, accepted a value its declared dtype
does not allow, or read duplicate column names in silence, fails here. Then the round trip:
whatever ``write_table`` and ``TsvRowWriter`` write (any text, numbers, booleans, missing
values) reads back equal.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from selectivity.tsv import DTYPES, TsvRowWriter, read_table, write_table  # noqa: E402

_FIELD_CHARS = st.sampled_from([*"ab1 0.-+eE\\/nNaTrueFls\"'é", "\\t", "n/a", "\x00"])
fields = st.lists(_FIELD_CHARS, max_size=6).map("".join) | st.sampled_from(
    ["", "n/a", "nan", "NaN", "inf", "-inf", "True", "False", "007", "1e999", "1_000", " 1",
     "99999999999999999999", "-9223372036854775809", "9223372036854775807", "\\", "\\n", "1.5"]
)  # fmt: skip


def _read(path: Path, **options: Any) -> pd.DataFrame | ValueError:
    """What read_table gives: the table, or its ValueError (never another exception)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return read_table(path, **options)
    except ValueError as error:
        assert type(error) is ValueError, f"{type(error).__name__} escaped: {error}"
        assert str(path) in str(error), f"the message does not name the file: {error}"
        return error


options = st.fixed_dictionaries(
    {},
    optional={"as_text": st.booleans(), "finished_rows_only": st.booleans()},
)


@given(data=st.binary(max_size=200), opts=options)
@example(data=b"a\tb\n\xff\t1\n", opts={})
@example(data=b"a\n99999999999999999999\n", opts={})
@example(data=b"", opts={})
def test_any_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes, opts: dict) -> None:
    """Any bytes: a table, or a ValueError naming the file (bad UTF-8: also the line)."""
    path = tmp_path_factory.mktemp("tsv") / "any.tsv"
    path.write_bytes(data)
    result = _read(path, **opts)
    if isinstance(result, ValueError) and "UTF-8" in str(result):
        assert ", line " in str(result)


@given(
    text=st.lists(st.sampled_from([*"ab1.\t\n\r\\/n", "n/a"]), max_size=60).map("".join),
    opts=options,
)
def test_any_text(tmp_path_factory: pytest.TempPathFactory, text: str, opts: dict) -> None:
    """Any text made of the format's special characters: a table or a ValueError."""
    path = tmp_path_factory.mktemp("tsv") / "text.tsv"
    path.write_bytes(text.encode("utf-8"))
    _read(path, **opts)


@st.composite
def tables(draw: Any) -> tuple[list[str], list[list[str]], dict[str, str]]:
    """A header, rows of fields (ragged or not) and declared dtypes for some columns."""
    width = draw(st.integers(1, 4))
    header = draw(st.lists(fields, min_size=width, max_size=width))
    ragged = draw(st.booleans())
    rows = draw(
        st.lists(
            st.lists(
                fields, min_size=1 if ragged else width, max_size=width + 1 if ragged else width
            ),
            max_size=5,
        )
    )
    declared = draw(st.dictionaries(st.sampled_from(header), st.sampled_from(DTYPES), max_size=2))
    return header, rows, declared


@given(table=tables(), crlf=st.booleans())
@example(table=(["a", "a"], [["1", "2"]], {}), crlf=False)
@example(table=(["a"], [["9223372036854775808"]], {"a": "Int64"}), crlf=False)
@example(table=(["a"], [["1_000"]], {"a": "float64"}), crlf=False)
@example(table=(["a"], [["1"], [""]], {"a": "int64"}), crlf=True)
def test_rows_read_or_the_line_is_named(
    tmp_path_factory: pytest.TempPathFactory, table: tuple, crlf: bool
) -> None:
    """Rows of random fields: the table read cell for cell, or a ValueError naming the line.

    A ragged row is refused with its line number; a value its declared dtype does not allow,
    with its line and column; a column name given twice, at line 1.
    """
    header, rows, declared = table
    end = "\r\n" if crlf else "\n"
    path = tmp_path_factory.mktemp("tsv") / "rows.tsv"
    path.write_bytes("".join("\t".join(row) + end for row in [header, *rows]).encode("utf-8"))
    result = _read(path, dtypes=declared)
    names = [_unescaped(name) for name in header]
    bad = next((n for n, row in enumerate(rows, start=2) if len(row) != len(header)), None)
    if len(set(names)) < len(names):
        assert isinstance(result, ValueError) and ", line 1:" in str(result)
    elif bad is not None:
        assert isinstance(result, ValueError) and f", line {bad}:" in str(result)
    elif isinstance(result, ValueError):
        assert declared and ", line " in str(result) and ", column " in str(result), result
    else:
        assert list(result.columns) == names
        assert len(result) == len(rows)
        for name, dtype in declared.items():
            assert str(result[name].dtype) == dtype
        text = read_table(path, as_text=True)
        for k, row in enumerate(rows):
            for j, field in enumerate(row):
                cell = text.iloc[k, j]
                assert (pd.isna(cell) and field in ("", "n/a")) or cell == _unescaped(field)


def _unescaped(field: str) -> str:
    from selectivity.tsv import unescape

    return unescape(field)


# --- Round trip: what the writers write reads back equal --------------------------------------

texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["n/a", "nan", "", "007", "1", "True", "\\", "\\n", "\t", "\r\n", "a\\tb"]
)
_COLUMNS = {
    "string": st.none() | texts,
    "float64": st.none() | st.floats(allow_nan=True, allow_infinity=True),
    "int64": st.integers(-(2**63), 2**63 - 1),
    "Int64": st.none() | st.integers(-(2**63), 2**63 - 1),
    "bool": st.booleans(),
    "boolean": st.none() | st.booleans(),
}


@st.composite
def frames(draw: Any) -> tuple[list[str], list[str], list[list[Any]]]:
    """Column names (any text, unique), their dtypes, and rows of values (None: missing)."""
    names = draw(st.lists(texts, min_size=1, max_size=4, unique=True))
    kinds = [draw(st.sampled_from(sorted(_COLUMNS))) for _ in names]
    rows = draw(st.lists(st.tuples(*(_COLUMNS[k] for k in kinds)).map(list), max_size=5))
    return names, kinds, rows


def _same(value: Any, read: Any, kind: str) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return bool(pd.isna(read))
    if kind == "string" and value == "":
        return read == ""
    if kind == "float64":
        return float(read) == value and math.copysign(1, float(read)) == math.copysign(1, value)
    return bool(read == value)


@settings(max_examples=40)
@given(frame=frames(), by_rows=st.booleans())
@example(
    frame=(["n/a", "x"], ["string", "float64"], [["n/a", -0.0], [None, 7196724.0]]), by_rows=True
)
def test_writers_round_trip(
    tmp_path_factory: pytest.TempPathFactory, frame: tuple, by_rows: bool
) -> None:
    """write_table (rows, or a DataFrame) and TsvRowWriter: read back equal, cell for cell."""
    names, kinds, rows = frame
    folder = tmp_path_factory.mktemp("round")
    records = [dict(zip(names, row, strict=True)) for row in rows]
    if by_rows:
        write_table(records, folder / "t.tsv", columns=names)
    else:
        write_table(pd.DataFrame(records, columns=names), folder / "t.tsv")
    with TsvRowWriter(folder / "appended.tsv", names) as writer:
        for record in records:
            writer.append(record)
    declared = dict(zip(names, kinds, strict=True))
    for name in ("t.tsv", "appended.tsv"):
        read = read_table(folder / name, dtypes=declared)
        assert list(read.columns) == names
        assert len(read) == len(rows)
        for j, kind in enumerate(kinds):
            assert str(read.iloc[:, j].dtype) == kind
            for k, row in enumerate(rows):
                if by_rows or name == "appended.tsv" or not _pandas_changes(kind, row[j]):
                    assert _same(row[j], read.iloc[k, j], kind), (
                        name,
                        kind,
                        row[j],
                        read.iloc[k, j],
                    )


def _pandas_changes(kind: str, value: Any) -> bool:
    """Whether a DataFrame made from records stores ``value`` as something else.

    pandas turns a column of ints with None into floats (past 2**53 no longer exact) and a
    column of booleans with None into objects; only the rows writer sees the values as given.
    """
    return kind in ("Int64", "int64") and value is not None and abs(value) > 2**53


def test_inferred_types_of_numbers_beyond_int64(tmp_path: Path) -> None:
    """Integers too large for int64 make a float64 column (it used to raise OverflowError)."""
    path = tmp_path / "big.tsv"
    path.write_text("a\tb\n99999999999999999999\t1\n-5\t2\n", encoding="utf-8")
    table = read_table(path)
    assert str(table["a"].dtype) == "float64" and table["a"].tolist() == [1e20, -5.0]
    assert str(table["b"].dtype) == "int64"
    np.testing.assert_array_equal(table["b"].to_numpy(), [1, 2])
