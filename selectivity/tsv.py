"""The one tab-separated table format of the project: writer, appending row writer, reader.

Every TSV the project writes (``trials.tsv``, ``frames.tsv``, the eye tables,
analysis scores and tables, AIS outputs, the demo's scores) and every TSV it
reads goes through this module.

Format
------
- UTF-8, one header line of column names, fields separated by one tab, lines
  ended by ``\\n``. No quoting: a ``"`` is an ordinary character.
- A missing value (``None``, NaN, ``pd.NA``, ``NaT``) is written ``n/a`` (as in
  BIDS).
- Inside a text value (and a column name), backslash, tab, newline and carriage
  return are written ``\\\\``, ``\\t``, ``\\n`` and ``\\r``; a text that is
  literally ``n/a`` is written ``n\\/a``, so it reads back as the text ``n/a``
  and not as missing. ``\\/`` reads as ``/``; a backslash before any other
  character is kept as it is.
- Numbers: integers as digits; floats in Python's shortest form that reads back
  to the same float, a whole float without ``.0`` (``7196724``, as EyeLink
  writes times); booleans ``True`` / ``False``.
- An empty text is written as an empty field.

Reading
-------
:func:`read_table` gives a DataFrame. ``n/a`` is missing. Files written before
this format (``trials.tsv`` of earlier versions) wrote missing values as empty
fields or ``nan``; so an empty field is read as missing (except in a column
that ``dtypes`` declares ``string``, where it is the empty text), and ``nan``
is NaN in a numeric column. Without ``dtypes``, a column is ``int64`` when
every value is an integer, ``float64`` when every present value is a number,
``bool`` (``boolean`` with missing values) when every present value is
``True``/``False``, and ``string`` otherwise (integers beyond the range of
``int64`` make a ``float64`` column). A value with a leading zero
(``007``, as :mod:`eyetracking.asc` treats ``TRIAL_VAR`` values) keeps the
whole column as text: such values are identifiers.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from .errors import utf8_text

__all__ = [
    "DTYPES",
    "NA",
    "TsvColumnsError",
    "TsvCutLineWarning",
    "TsvRowWriter",
    "cut_last_line",
    "escape",
    "format_value",
    "read_table",
    "unescape",
    "write_table",
]

#: The missing value, as written.
NA = "n/a"
#: Column dtypes :func:`read_table` accepts in ``dtypes``.
DTYPES = ("float64", "int64", "Int64", "bool", "boolean", "string")

_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r", "/": "/"}
_INT = re.compile(r"[-+]?[0-9]+")
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]")
_NUMBER = re.compile(
    r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?|[-+]?(nan|inf|infinity)", re.IGNORECASE
)


class TsvColumnsError(ValueError):
    """An existing TSV file has other columns than the ones asked for."""


def escape(text: str) -> str:
    """``text`` as written in a field (see the module docstring for the rule)."""
    if text == NA:
        return "n\\/a"
    if any(ch in text for ch in _ESCAPES):
        text = "".join(_ESCAPES.get(ch, ch) for ch in text)
    return text


def unescape(field: str) -> str:
    """The text a field written by :func:`escape` stands for."""
    if "\\" not in field:
        return field
    out, chars = [], iter(field)
    for ch in chars:
        if ch != "\\":
            out.append(ch)
            continue
        nxt = next(chars, "")
        out.append(_UNESCAPES[nxt] if nxt in _UNESCAPES else "\\" + nxt)
    return "".join(out)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    return isinstance(value, np.datetime64) and bool(np.isnat(value))


def _number(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def format_value(value: Any) -> str:
    """One value as a field: ``n/a`` when missing, numbers in full, text escaped."""
    if _is_missing(value):
        return NA
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return _number(float(value))
    return escape(str(value))


def _format_column(series: pd.Series) -> list[str]:
    if pd.api.types.is_float_dtype(series.dtype) and not pd.api.types.is_extension_array_dtype(
        series.dtype
    ):
        return [NA if math.isnan(v) else _number(v) for v in series.to_numpy(np.float64).tolist()]
    return [format_value(v) for v in series.astype(object).tolist()]


def _line(fields: Iterable[str]) -> str:
    return "\t".join(fields) + "\n"


def write_table(
    table: pd.DataFrame | Iterable[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    header: bool = True,
) -> Path:
    """Write a whole table as TSV (replacing ``path``).

    A ``path`` ending in ``.gz`` is written gzip-compressed, with neither a time stamp nor
    a file name in the gzip header (the same table gives the same bytes).

    Parameters
    ----------
    table : DataFrame or iterable of mappings
        A DataFrame (its index is not written; reset it first to keep it), or
        rows as mappings of column name to value.
    path : path-like
        The file to write.
    columns : sequence of str, optional
        Columns, in order. For rows, the default is the keys of the first row
        (an empty table then needs ``columns``); for a DataFrame, its columns.
    header : bool
        Write the header line of column names (default). BIDS ``.tsv.gz`` files
        (physiological recordings) have none: their columns are named in the JSON
        sidecar.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If a row lacks a column or has one not in ``columns``.
    """
    path = Path(path)
    if isinstance(table, pd.DataFrame):
        frame = table if columns is None else table.loc[:, list(columns)]
        names = [str(c) for c in frame.columns]
        cells = [_format_column(frame.iloc[:, k]) for k in range(frame.shape[1])]
        body = ["\t".join(row) + "\n" for row in zip(*cells, strict=True)]
    else:
        rows = list(table)
        names = list(columns) if columns is not None else list(rows[0]) if rows else []
        body = [_line(format_value(v) for v in _ordered(row, names, path)) for row in rows]
    text = (_line(escape(n) for n in names) if header else "") + "".join(body)
    if path.name.endswith(".gz"):
        import gzip

        with (
            open(path, "wb") as raw,
            gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f,
        ):
            f.write(text.encode("utf-8"))
    else:
        path.write_text(text, encoding="utf-8", newline="\n")
    return path


def _ordered(row: Mapping[str, Any], columns: Sequence[str], path: Path) -> list[Any]:
    missing = [c for c in columns if c not in row]
    extra = [k for k in row if k not in columns]
    if missing or extra:
        raise ValueError(f"{path.name}: row missing {missing}, unexpected {extra}")
    return [row[c] for c in columns]


class TsvCutLineWarning(UserWarning):
    """A TSV file's last line has no line end: a row cut short (a crash, a power loss, a full
    disk), never a finished row; the message names the file and the line."""


def cut_last_line(path: str | os.PathLike[str]) -> tuple[int, str] | None:
    """The last line of ``path`` when it has no line end: ``(line number, text)``, else None.

    Line numbers count from 1 (the header); an empty file has no cut line.
    """
    data = Path(path).read_bytes()
    if not data or data.endswith(b"\n"):
        return None
    return data.count(b"\n") + 1, data[data.rfind(b"\n") + 1 :].decode("utf-8", "replace")


class TsvRowWriter:
    """Append rows to a TSV file, each written and fsync'ed to disk before returning.

    Made for logs that must survive a crash (``trials.tsv``): every row written
    is on disk. The header is written once, when the file is new; an existing
    file must have the same columns. A last line cut short by a crash (no line
    end) was never a finished row: it is moved aside to
    ``<name>.partial-<time>`` with a :class:`TsvCutLineWarning` before appending,
    and :attr:`cut` says so. A row whose write fails (a full disk: ``OSError``
    ``ENOSPC``) is taken back off the file before the error is raised, so the
    file keeps its finished rows only; should that fail too, the cut line is
    what the next writer moves aside.

    Parameters
    ----------
    path : path-like
        The TSV file; created when it does not exist.
    columns : sequence of str
        Column names, in order.

    Attributes
    ----------
    cut : dict or None
        The cut line moved aside on opening: ``file``, ``line`` (its number),
        ``text`` and ``moved_to``; None when there was none.

    Raises
    ------
    TsvColumnsError
        If the file exists with other columns.
    """

    def __init__(self, path: str | os.PathLike[str], columns: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self.cut: dict[str, Any] | None = None
        exists = self.path.exists() and self.path.stat().st_size > 0
        if exists:
            self._check_existing()
        # unbuffered: a row is on disk, or (after a failed write) taken back, never half in a buffer
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if exists else os.O_TRUNC)
        self._fd: int | None = os.open(self.path, flags, 0o644)
        if not exists:
            self._write(_line(escape(c) for c in self.columns))

    def _check_existing(self) -> None:
        cut = cut_last_line(self.path)
        if cut is not None:
            number, text = cut
            data = self.path.read_bytes()
            stamp = _dt.datetime.now().strftime("%Y%m%dT%H%M%S")
            aside = self.path.with_name(f"{self.path.name}.partial-{stamp}")
            aside.write_bytes(data[data.rfind(b"\n") + 1 :])
            with open(self.path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)
            self.cut = {
                "file": str(self.path),
                "line": number,
                "text": text,
                "moved_to": str(aside),
            }
            warnings.warn(
                f"{self.path}, line {number}: the last line was cut short (a crash, a power loss "
                f"or a full disk) and is not a finished row; moved it to {aside}",
                TsvCutLineWarning,
                stacklevel=3,
            )
        with open(self.path, encoding="utf-8", newline="") as f:
            header = [unescape(n) for n in f.readline().rstrip("\r\n").split("\t")]
        if header != self.columns:
            raise TsvColumnsError(
                f"{self.path}: existing columns {header} differ from the columns asked for "
                f"{self.columns}"
            )

    def _write(self, text: str) -> None:
        if self._fd is None:
            raise ValueError(f"{self.path}: the row writer is closed.")
        data = text.encode("utf-8")
        size = os.fstat(self._fd).st_size
        try:
            done = 0
            while done < len(data):
                done += os.write(self._fd, data[done:])
            os.fsync(self._fd)
        except OSError:
            with contextlib.suppress(OSError):  # shrinking a file needs no free space
                os.ftruncate(self._fd, size)
                os.fsync(self._fd)
            raise

    def append(self, row: Mapping[str, Any]) -> None:
        """Write one row (keys exactly the columns) and fsync it.

        Raises
        ------
        ValueError
            If the keys of ``row`` are not the columns.
        OSError
            If the row cannot be written (e.g. ``ENOSPC``: the disk is full); the
            file then holds the rows written before.
        """
        self._write(_line(format_value(v) for v in _ordered(row, self.columns, self.path)))

    def append_rows(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Write several rows in one write and fsync them: all on disk, or (after an
        ``OSError``) none; returns the bytes written (for :meth:`take_back`)."""
        text = "".join(
            _line(format_value(v) for v in _ordered(row, self.columns, self.path)) for row in rows
        )
        if text:
            self._write(text)
        return len(text.encode("utf-8"))

    def take_back(self, n_bytes: int) -> None:
        """Remove the last ``n_bytes`` written (rows of a trial whose other file could not
        be written); shrinking a file needs no free space."""
        if self._fd is None:
            raise ValueError(f"{self.path}: the row writer is closed.")
        os.ftruncate(self._fd, os.fstat(self._fd).st_size - n_bytes)
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file (every row is already on disk); safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> TsvRowWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_table(
    path: str | os.PathLike[str],
    *,
    dtypes: Mapping[str, str] | None = None,
    as_text: bool = False,
    finished_rows_only: bool = False,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read a TSV file of this format (or of the project's earlier versions) as a DataFrame.

    Parameters
    ----------
    path : path-like
        The file.
    dtypes : mapping of str to str, optional
        Column name -> one of :data:`DTYPES`, for columns whose type is known
        (e.g. from a sidecar); other columns are inferred (module docstring).
    as_text : bool
        Read every column as ``string`` (missing as ``<NA>``), for callers that
        parse cells themselves and report bad ones.
    finished_rows_only : bool
        Leave out a last line without a line end (a row cut short by a crash,
        a power loss or a full disk, in a file written by
        :class:`TsvRowWriter`), with a :class:`TsvCutLineWarning` naming the
        file and the line; without it such a line is read as a row when its
        fields fit the header (a file from another tool may lack the final
        line end), and raises when they do not.
    columns : sequence of str, optional
        The column names of a file without a header line (BIDS ``.tsv.gz``: the
        names are in its JSON sidecar); every line is then a row. A ``path`` ending
        in ``.gz`` is read gzip-compressed.

    Returns
    -------
    DataFrame
        One column per header name, in file order; index ``0..n-1``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is empty or not UTF-8, a column name appears twice, a line
        has another number of fields than the header, a value does not fit its
        declared dtype (the message names the line and the column), or
        ``dtypes`` names a dtype not in :data:`DTYPES`.

    Warns
    -----
    TsvCutLineWarning
        With ``finished_rows_only``, when a cut last line was left out.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"TSV file not found: {path}")
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        import gzip

        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise ValueError(f"{path}: not a readable gzip file ({error}).") from None
    try:
        text = utf8_text(data)
    except ValueError as error:
        raise ValueError(f"{path}, {error}; TSV files of this format are UTF-8 text.") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    elif finished_rows_only and len(lines) > 1:
        cut = lines.pop()
        warnings.warn(
            f"{path}, line {len(lines) + 1}: the last line was cut short (a crash, a power loss "
            f"or a full disk) and is not a finished row; left out: {cut[:80]!r}",
            TsvCutLineWarning,
            stacklevel=2,
        )
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    if columns is not None:
        header, first = [str(c) for c in columns], 1
    elif not lines:
        raise ValueError(f"{path} is empty; expected a header line of column names.")
    else:
        header, first = [unescape(name) for name in lines[0].split("\t")], 2
        lines = lines[1:]
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise ValueError(
            f"{path}, line 1: the column {twice[0]!r} is named more than once; column names "
            "must be unique."
        )
    rows = [line.split("\t") for line in lines]
    for number, row in enumerate(rows, start=first):
        if len(row) != len(header):
            raise ValueError(
                f"{path}, line {number}: expected {len(header)} tab-separated values, "
                f"got {len(row)}."
            )
    dtypes = dict(dtypes or {})
    bad = {k: v for k, v in dtypes.items() if v not in DTYPES}
    if bad:
        name, value = next(iter(bad.items()))
        raise ValueError(
            f"Invalid dtype {value!r} for column {name!r}. Allowed values are {', '.join(DTYPES)}."
        )
    values = list(zip(*rows, strict=True)) if rows else [()] * len(header)
    decoded: dict[int, Any] = {}
    for k, (name, column) in enumerate(zip(header, values, strict=True)):
        dtype = "string" if as_text else dtypes.get(name)
        try:
            decoded[k] = _decode(list(column), dtype, empty_text=name in dtypes and not as_text)
        except _CellError as error:
            raise ValueError(
                f"{path}, line {error.row + first}, column {name!r}: {error}"
            ) from None
    frame = pd.DataFrame(decoded)
    frame.columns = pd.Index(header)
    return frame


class _CellError(ValueError):
    """A value that does not fit its column's dtype; ``row`` counts data rows from 0."""

    def __init__(self, row: int, message: str) -> None:
        super().__init__(message)
        self.row = row


_INT64 = (-(2**63), 2**63 - 1)


def _cells(values: list[str], parse: Any, what: str) -> list[Any]:
    """``parse`` of each value, or a :class:`_CellError` naming the first that is not ``what``."""
    out = []
    for row, value in enumerate(values):
        parsed = parse(value)
        if parsed is _BAD:
            shown = "a missing value" if value in ("", NA) else repr(value)
            raise _CellError(row, f"{shown} is not {what}.")
        out.append(parsed)
    return out


_BAD = object()


def _integer(value: str, *, missing: bool) -> Any:
    if value in ("", NA):
        return None if missing else _BAD
    if not _INT.fullmatch(value):
        return _BAD
    number = int(value)
    return number if _INT64[0] <= number <= _INT64[1] else _BAD


def _float(value: str) -> Any:
    if value in ("", NA):
        return math.nan
    return float(value) if _NUMBER.fullmatch(value) else _BAD


def _boolean(value: str, *, missing: bool) -> Any:
    if value in ("", NA):
        return None if missing else _BAD
    return value == "True" if value in ("True", "False") else _BAD


def _decode(values: list[str], dtype: str | None, *, empty_text: bool) -> Any:
    if dtype is None:
        dtype = _infer(values)
    if dtype == "string":
        missing = (NA,) if empty_text else (NA, "")
        return pd.array([None if v in missing else unescape(v) for v in values], dtype="string")
    if dtype == "float64":
        return np.array(_cells(values, _float, "a number"), dtype=np.float64)
    if dtype == "int64":
        cells = _cells(values, lambda v: _integer(v, missing=False), "an integer of int64")
        return np.array(cells, dtype=np.int64)
    if dtype == "Int64":
        cells = _cells(values, lambda v: _integer(v, missing=True), "an integer of Int64")
        return pd.array(cells, dtype="Int64")
    if dtype == "bool":
        cells = _cells(values, lambda v: _boolean(v, missing=False), "True or False")
        return np.array(cells, dtype=bool)
    cells = _cells(values, lambda v: _boolean(v, missing=True), "True, False or missing")
    return pd.array(cells, dtype="boolean")


def _infer(values: list[str]) -> str:
    present = [v for v in values if v not in (NA, "")]
    if not present:
        return "float64"
    if any(_LEADING_ZERO.match(v) for v in present):
        return "string"
    if all(_INT.fullmatch(v) for v in present):
        fits = all(_INT64[0] <= int(v) <= _INT64[1] for v in present)
        return "int64" if fits and len(present) == len(values) else "float64"
    if all(_NUMBER.fullmatch(v) for v in present):
        return "float64"
    if all(v in ("True", "False") for v in present):
        return "bool" if len(present) == len(values) else "boolean"
    return "string"
