"""Tab-separated export of a recording's event and trial tables, readable back without loss."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from selectivity.tsv import read_table, unescape, write_table

from .recording import SCHEMA, Recording

__all__ = ["EXPORT_TABLES", "TSV_FORMAT", "read_tsv", "write_table_tsv", "write_tsv"]

#: Tables :func:`write_tsv` writes by default.
EXPORT_TABLES = ("fixations", "saccades", "blinks", "messages", "trials")
#: ``format`` and ``version`` written to every sidecar.
TSV_FORMAT = {"format": "selectivity-eye-table", "version": 1}
_DTYPES = ("float64", "int64", "Int64", "string", "bool")


def write_tsv(
    recording: Recording,
    folder: str | os.PathLike[str],
    *,
    tables: Iterable[str] = EXPORT_TABLES,
    stem: str | None = None,
) -> dict[str, Path]:
    """Write tables of a recording as ``<folder>/<stem>_<table>.tsv``, each with a JSON sidecar.

    Parameters
    ----------
    recording : Recording
        What :func:`eyetracking.read_asc` returned.
    folder : path-like
        Created if needed.
    tables : iterable of str
        Names of :class:`Recording` tables: ``fixations``, ``saccades``,
        ``blinks``, ``messages``, ``trials`` by default; any other table
        (``samples``, ``validations``, ...) may be named.
    stem : str, optional
        File name prefix; by default the stem of the recording's file.

    Returns
    -------
    dict of str to Path
        The TSV file written for each table.

    Raises
    ------
    ValueError
        If a name in ``tables`` is not a table of :class:`Recording`.

    Notes
    -----
    Times stay in the tracker's ms, written in full (Python's shortest
    round-trip form of each float, ``7196724`` rather than ``7196724.0``).
    See :func:`write_table_tsv` for the format.
    """
    tables = list(tables)
    unknown = [name for name in tables if name not in SCHEMA]
    if unknown:
        raise ValueError(
            f"Invalid value for the 'tables' parameter. Allowed values are "
            f"{', '.join(SCHEMA)}, but got {unknown[0]!r} instead."
        )
    if stem is None:
        stem = recording.path.stem if recording.path is not None else "recording"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    source = str(recording.path) if recording.path is not None else None
    return {
        name: write_table_tsv(
            getattr(recording, name), folder / f"{stem}_{name}.tsv", source=source, table=name
        )
        for name in tables
    }


def write_table_tsv(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    source: str | None = None,
    table: str | None = None,
) -> Path:
    """Write one table as TSV, and its column dtypes to a JSON sidecar next to it.

    Parameters
    ----------
    frame : DataFrame
        Columns of dtype ``float64``, ``int64``, ``Int64``, ``bool``,
        ``string`` or ``object`` (written as text; read back as ``string``).
    path : path-like
        The ``.tsv`` file; the sidecar is the same path with ``.json``.
    source, table : str, optional
        Recorded in the sidecar.

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    The format of :mod:`selectivity.tsv` (missing ``n/a``, text escaped so
    every value reads back exactly); the sidecar keeps each column's dtype.
    """
    path = Path(path)
    dtypes = {str(col): _dtype_name(frame[col]) for col in frame.columns}
    write_table(frame, path)
    sidecar = {**TSV_FORMAT, "table": table, "source": source, "time_unit": "ms"}
    sidecar["columns"] = dtypes
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=1) + "\n", encoding="utf-8")
    return path


def read_tsv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table written by :func:`write_tsv` or :func:`write_table_tsv`.

    Column dtypes come from the JSON sidecar; without one, they are inferred
    as :func:`selectivity.tsv.read_table` does (a column whose values are all
    numbers, or ``n/a``, is read as ``int64`` or ``float64``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the sidecar is not one of this format, or the columns of the file
        and of its sidecar differ.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"TSV file not found: {path}")
    with open(path, encoding="utf-8", newline="") as file:
        first = file.readline()
    if not first:
        raise ValueError(f"{path} is empty; expected a header line of column names.")
    header = [unescape(name) for name in first.rstrip("\r\n").split("\t")]
    return read_table(path, dtypes=_sidecar_dtypes(path, header))


def _sidecar_dtypes(path: Path, header: list[str]) -> dict[str, str]:
    sidecar = path.with_suffix(".json")
    if not sidecar.is_file():
        return {}
    info = json.loads(sidecar.read_text(encoding="utf-8"))
    if info.get("format") != TSV_FORMAT["format"]:
        raise ValueError(
            f"{sidecar} is not a {TSV_FORMAT['format']} sidecar (format {info.get('format')!r})."
        )
    if info.get("version", 0) > TSV_FORMAT["version"]:
        raise ValueError(
            f"{sidecar} has format version {info['version']}; this reader knows versions up to "
            f"{TSV_FORMAT['version']}."
        )
    columns = info.get("columns", {})
    if list(columns) != header:
        raise ValueError(
            f"The columns of {path} ({header}) and of its sidecar {sidecar.name} "
            f"({list(columns)}) differ."
        )
    return dict(columns)


def _dtype_name(series: pd.Series) -> str:
    name = str(series.dtype)
    if name in _DTYPES:
        return name
    if pd.api.types.is_float_dtype(series.dtype):
        return "float64"
    if pd.api.types.is_integer_dtype(series.dtype):
        return "Int64" if pd.api.types.is_extension_array_dtype(series.dtype) else "int64"
    return "string"
