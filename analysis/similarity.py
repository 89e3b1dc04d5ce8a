"""Pairwise similarity ratings: N x N matrix files and long-format rating tables to one matrix.

Two layouts are read (CSV or TSV):

- **matrix**: a header row of image ids, then one row per image whose first
  cell is its id and whose other cells are the ratings, e.g.::

      id      img1  img2  img3
      img1          0.8   0.1
      img2    0.8         0.4
      img3    0.1   0.4

  Rows and columns may list the ids in different orders (columns are put in
  row order). Empty cells are missing. A pair given in one order only (a
  triangular matrix) takes that value; a pair given in both orders must
  agree unless ``asymmetric="average"``. The diagonal is ignored.
- **long**: one rating per row, in the columns of :data:`LONG_COLUMNS`, as the
  pairwise similarity-rating task writes its ``trials.tsv``::

      image_a   image_b   rating   [participant  trial_id  response_time_s ...]

  ``(a, b)`` and ``(b, a)`` are the same pair; all ratings of a pair (both
  orders, repeats, participants, sessions) are averaged. Rows whose rating
  is empty (no response) are dropped with a warning; rows rating an image
  against itself are dropped with a warning. Extra columns are ignored.

A session folder (holding ``trials.tsv``), a data root or any folder above
rating sessions (every ``.../similarity-rating/trials.tsv`` under it, as
``selectivity run similarity-rating`` writes them), or several files/folders may
be given; they are pooled, and rows with ``practice = 1`` are left out. Ratings
are similarities; ``dissimilarity=True`` negates them (H = -D), so larger always means more similar.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from selectivity.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "LAYOUTS",
    "LONG_COLUMNS",
    "RatingsError",
    "SimilarityMatrix",
    "read_similarity",
    "write_similarity",
]

#: Columns a long-format rating table must have: the two images' ids and the rating (a number,
#: larger = more similar, on any scale). The rating task writes these in its trials.tsv.
LONG_COLUMNS = ("image_a", "image_b", "rating")
#: Allowed values of ``layout`` in :func:`read_similarity`.
LAYOUTS = ("auto", "matrix", "long")
_SYMMETRY_RTOL = 1e-9


class RatingsError(UserError, ValueError):
    """Rating files that cannot be read as similarity ratings, or that cannot serve as asked."""


@dataclass(frozen=True, eq=False)
class SimilarityMatrix:
    """A symmetric N x N matrix of pairwise similarities with its image ids.

    Attributes
    ----------
    ids : tuple of str
        Image ids, the order of rows and columns.
    values : ndarray of shape (N, N), float64
        Similarities (negated dissimilarities); NaN at missing pairs and on
        the diagonal, which is never used.
    counts : ndarray of shape (N, N), int64
        Ratings averaged into each pair (1 per rated pair of a matrix file).
    source : str
        Where the ratings came from (file names).
    """

    ids: tuple[str, ...]
    values: NDArray[np.float64]
    counts: NDArray[np.int64]
    source: str = ""

    @property
    def mask(self) -> NDArray[np.bool_]:
        """Rated pairs, shape (N, N): symmetric, False on the diagonal."""
        return np.isfinite(self.values)

    @property
    def complete(self) -> bool:
        """Whether every pair of different images has a rating."""
        n = len(self.ids)
        return bool(self.mask.sum() == n * (n - 1))

    def reorder(self, ids: Sequence[str]) -> SimilarityMatrix:
        """The matrix for ``ids`` in that order (e.g. a stimulus set's); every id must be known."""
        index = {sid: i for i, sid in enumerate(self.ids)}
        unknown = [sid for sid in ids if sid not in index]
        if unknown:
            raise KeyError(
                f"The similarity ratings ({self.source}) have no image {unknown[:10]}; they have "
                f"{list(self.ids)[:20]}."
            )
        order = np.array([index[sid] for sid in ids], dtype=np.intp)
        return SimilarityMatrix(
            tuple(ids),
            self.values[np.ix_(order, order)],
            self.counts[np.ix_(order, order)],
            self.source,
        )

    def to_frame(self) -> pd.DataFrame:
        """The matrix as a DataFrame with ids as index and columns."""
        import pandas as pd

        return pd.DataFrame(self.values, index=list(self.ids), columns=list(self.ids))


#: The rating task's session sub-folder (``<root>/sub-*/ses-*/similarity-rating/``).
_TASK_FOLDER = "similarity-rating"


def _files(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise ValueError("Invalid value for the 'path' parameter: no file given.")
    files = []
    for item in items:
        path = Path(item)
        if path.is_dir() and not (path / "trials.tsv").is_file():
            # a data root (or a participant's folder): every rating session under it
            found = sorted(path.glob(f"**/{_TASK_FOLDER}/trials.tsv"))
            if not found:
                raise FileNotFoundError(
                    f"No similarity-rating file at {path}: it holds no trials.tsv and no "
                    f"session folders .../{_TASK_FOLDER}/trials.tsv."
                )
            files.extend(found)
            continue
        if path.is_dir():
            path = path / "trials.tsv"
        if not path.is_file():
            raise FileNotFoundError(f"No similarity-rating file at {path}.")
        files.append(path)
    return files


def _read_table(path: Path) -> pd.DataFrame:
    """Every cell as text, missing cells (``n/a`` or empty) as ``""``."""
    import pandas as pd

    from selectivity.tsv import read_table

    try:
        if path.suffix.lower() != ".csv":
            # a session's trials.tsv: a last line cut by a power loss is left out, with a warning
            text = read_table(path, as_text=True, finished_rows_only=path.name == "trials.tsv")
            return text.astype(object).where(text.notna(), "")
        return pd.read_csv(path, sep=",", dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError) as error:
        kind = "comma-separated" if path.suffix.lower() == ".csv" else "tab-separated"
        raise RatingsError(f"Could not read {path} as a {kind} table: {error}") from None


def _numbers(cells: pd.DataFrame, path: Path, what: str) -> NDArray[np.float64]:
    """Cells as float64: empty cells are NaN; text or infinity raises, naming the cell."""
    import pandas as pd

    text = cells.apply(lambda column: column.str.strip())
    numeric = text.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().to_numpy() & (text != "").to_numpy()
    values = np.asarray(numeric, dtype=np.float64)
    bad |= np.isinf(values)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        where = (
            f"data row {row + 1}"
            if cells.shape[1] == 1
            else f"data row {row + 1}, column {column + 2}"
        )
        raise RatingsError(
            f"{path}: the {what} in {where} is {text.iloc[row, column]!r}, not a finite number."
        )
    return values


def _from_long(frame: pd.DataFrame, path: Path, pooled: dict) -> None:
    missing = [c for c in LONG_COLUMNS if c not in frame.columns]
    if missing:
        raise RatingsError(
            f"{path}: a long-format rating table needs the columns {list(LONG_COLUMNS)}; "
            f"{missing} are missing (columns: {list(frame.columns)})."
        )
    if "practice" in frame.columns:  # a rating session's practice trials are not data
        frame = frame[frame["practice"].str.strip() != "1"]
    ratings = _numbers(frame[["rating"]], path, "rating")[:, 0]
    a = frame["image_a"].str.strip().to_numpy()
    b = frame["image_b"].str.strip().to_numpy()
    empty_id = (a == "") | (b == "")
    if empty_id.any():
        raise RatingsError(
            f"{path}: data row {int(np.argmax(empty_id)) + 1} has an empty image id."
        )
    unrated = np.isnan(ratings)
    if unrated.any():
        warnings.warn(
            f"{path}: {int(unrated.sum())} rows have no rating (no response); they are dropped.",
            stacklevel=3,
        )
    self_pairs = (a == b) & ~unrated
    if self_pairs.any():
        warnings.warn(
            f"{path}: {int(self_pairs.sum())} rows rate an image against itself; they are "
            "dropped (the diagonal is not used).",
            stacklevel=3,
        )
    for first, second, value in zip(a[~unrated], b[~unrated], ratings[~unrated], strict=True):
        if first != second:
            key = (first, second) if first < second else (second, first)
            total, count = pooled.get(key, (0.0, 0))
            pooled[key] = (total + float(value), count + 1)


def _from_matrix(
    frame: pd.DataFrame, path: Path, asymmetric: str
) -> tuple[list[str], NDArray[np.float64]]:
    if frame.shape[1] < 2:
        raise RatingsError(f"{path}: a similarity matrix needs a column of ids and rating columns.")
    rows = [str(v).strip() for v in frame.iloc[:, 0]]
    columns = [str(c).strip() for c in frame.columns[1:]]
    for what, ids in (("row", rows), ("column", columns)):
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated or "" in ids:
            raise RatingsError(
                f"{path}: {what} ids must be unique and non-empty; got {duplicated}."
            )
    if set(rows) != set(columns):
        raise RatingsError(
            f"{path}: the row ids and the column ids differ: only in rows "
            f"{sorted(set(rows) - set(columns))[:10]}, only in columns "
            f"{sorted(set(columns) - set(rows))[:10]}."
        )
    values = _numbers(frame.iloc[:, 1:], path, "rating")
    order = [columns.index(r) for r in rows]
    values = values[:, order]
    upper, lower = values, values.T
    both = np.isfinite(upper) & np.isfinite(lower)
    gap = np.where(both, np.abs(upper - lower), 0.0)
    np.fill_diagonal(gap, 0.0)
    scale = np.nanmax(np.abs(values)) if np.isfinite(values).any() else 1.0
    if gap.max(initial=0.0) > _SYMMETRY_RTOL * max(scale, 1e-300) and asymmetric == "error":
        i, j = np.unravel_index(int(np.argmax(gap)), gap.shape)
        raise RatingsError(
            f"{path}: the matrix is not symmetric: ({rows[i]}, {rows[j]}) = "
            f"{float(upper[i, j])!r} but ({rows[j]}, {rows[i]}) = {float(upper[j, i])!r}. Pass "
            "asymmetric='average' to average the two orders."
        )
    merged = np.where(both, (upper + lower) / 2, np.where(np.isfinite(upper), upper, lower))
    return rows, merged


def read_similarity(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    layout: Literal["auto", "matrix", "long"] = "auto",
    ids: Sequence[str] | None = None,
    dissimilarity: bool = False,
    missing: Literal["error", "mask"] = "error",
    asymmetric: Literal["error", "average"] = "error",
) -> SimilarityMatrix:
    """Read pairwise similarity ratings into a symmetric N x N matrix.

    Parameters
    ----------
    path : path-like or sequence of path-like
        ``.csv`` (comma) or any other suffix (tab, e.g. ``.tsv``); a folder
        means its ``trials.tsv`` (a rating session) or, without one, every
        ``similarity-rating/trials.tsv`` under it (a data root). Several are
        pooled (long layout only).
    layout : {"auto", "matrix", "long"}
        "auto": long when the header has the columns ``image_a`` and
        ``image_b``, else matrix.
    ids : sequence of str, optional
        The images and their order (e.g. a stimulus set's ids). Default: the
        matrix file's row order, or the sorted ids of a long table. Ratings
        of other images are dropped with a warning.
    dissimilarity : bool
        The ratings are dissimilarities (distances): they are negated.
    missing : {"error", "mask"}
        What to do when pairs of different images have no rating: raise,
        naming some; or keep them as NaN, which
        :func:`analysis.ais.alignment_importance` leaves out of every fit.
    asymmetric : {"error", "average"}
        Matrix layout: what to do when ``(a, b)`` and ``(b, a)`` differ.

    Returns
    -------
    SimilarityMatrix
    """
    for name, value, allowed in (
        ("layout", layout, LAYOUTS),
        ("missing", missing, ("error", "mask")),
        ("asymmetric", asymmetric, ("error", "average")),
    ):
        if value not in allowed:
            raise ValueError(
                f"Invalid value for the '{name}' parameter. Allowed values are "
                f"{', '.join(map(repr, allowed))}, but got {value!r} instead."
            )
    files = _files(path)
    pooled: dict[tuple[str, str], tuple[float, int]] = {}
    matrix: tuple[list[str], NDArray[np.float64]] | None = None
    for file in files:
        frame = _read_table(file)
        is_long = {"image_a", "image_b"} <= set(frame.columns)
        kind = layout if layout != "auto" else ("long" if is_long else "matrix")
        if kind == "matrix":
            if len(files) > 1:
                raise RatingsError(
                    "Only long-format rating tables can be pooled; got several files."
                )
            matrix = _from_matrix(frame, file, asymmetric)
        else:
            _from_long(frame, file, pooled)
    if matrix is not None:
        known, values = matrix
    else:
        known = sorted({sid for pair in pooled for sid in pair})
        index = {sid: i for i, sid in enumerate(known)}
        values = np.full((len(known), len(known)), np.nan)
        counts_long = np.zeros((len(known), len(known)), dtype=np.int64)
        for (a, b), (total, count) in pooled.items():
            values[index[a], index[b]] = values[index[b], index[a]] = total / count
            counts_long[index[a], index[b]] = counts_long[index[b], index[a]] = count
    counts = counts_long if matrix is None else np.isfinite(values).astype(np.int64)
    source = ", ".join(str(f) for f in files)
    result = _select(known, values, counts, ids, source)
    np.fill_diagonal(result.values, np.nan)
    np.fill_diagonal(result.counts, 0)
    if dissimilarity:
        result.values[:] = -result.values
    _check_missing(result, missing)
    return result


def _select(
    known: list[str], values: NDArray, counts: NDArray, ids: Sequence[str] | None, source: str
) -> SimilarityMatrix:
    if ids is None:
        return SimilarityMatrix(tuple(known), values, counts, source)
    ids = [str(i) for i in ids]
    if len(set(ids)) != len(ids):
        raise ValueError("Invalid value for the 'ids' parameter: ids must be unique.")
    extra = sorted(set(known) - set(ids))
    if extra:
        warnings.warn(
            f"Ratings of {len(extra)} images not in 'ids' are dropped: {extra[:10]}.", stacklevel=3
        )
    index = {sid: i for i, sid in enumerate(known)}
    n = len(ids)
    out = np.full((n, n), np.nan)
    out_counts = np.zeros((n, n), dtype=np.int64)
    present = [i for i, sid in enumerate(ids) if sid in index]
    source_index = [index[ids[i]] for i in present]
    out[np.ix_(present, present)] = values[np.ix_(source_index, source_index)]
    out_counts[np.ix_(present, present)] = counts[np.ix_(source_index, source_index)]
    return SimilarityMatrix(tuple(ids), out, out_counts, source)


def _check_missing(result: SimilarityMatrix, missing: str) -> None:
    n = len(result.ids)
    if n < 3:
        raise RatingsError(f"The similarity ratings ({result.source}) cover {n} images; need 3.")
    absent = np.argwhere(np.triu(~result.mask, k=1))
    if len(absent) and missing == "error":
        examples = ", ".join(f"({result.ids[i]}, {result.ids[j]})" for i, j in absent[:5])
        raise RatingsError(
            f"{len(absent)} of {n * (n - 1) // 2} image pairs have no rating in "
            f"{result.source}, e.g. {examples}. Pass missing='mask' to leave them out of the "
            "fits."
        )


def write_similarity(path: str | os.PathLike[str], matrix: SimilarityMatrix) -> Path:
    """Write ``matrix`` in the matrix layout (``.csv``: commas, NaN as empty cells; else TSV).

    Any suffix but ``.csv`` gives the project's TSV format
    (:mod:`selectivity.tsv`, NaN as ``n/a``).

    Values are written as stored (similarities: a matrix read with
    ``dissimilarity=True`` is written negated) with 17 significant digits,
    so :func:`read_similarity` gives the same numbers back.
    """
    from selectivity.tsv import write_table

    target = Path(path)
    frame = matrix.to_frame()
    frame.index.name = "id"
    if target.suffix.lower() != ".csv":
        return write_table(frame.reset_index(), target)
    frame.to_csv(target, sep=",", na_rep="", float_format="%.17g")
    return target
