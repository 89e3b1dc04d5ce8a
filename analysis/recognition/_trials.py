"""The masked-recognition trials table: checks, flagged-trial exclusion, options per trial."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__: list[str] = []

REQUIRED = ("participant", "image_id", "mask_source", "correct_mask", "correct")
# Frame counts that must match their plan for a trial to count (the task's ``flagged`` rule).
FRAME_PAIRS = (
    ("target_frames_shown", "target_frames_planned"),
    ("mask_frames_shown", "mask_frames_planned"),
)


def check_trials(trials: Any, by: Sequence[str], *, what: str) -> pd.DataFrame:
    """A copy of ``trials`` with the needed columns checked and ``correct``/``correct_mask`` int."""
    import pandas as pd

    if not isinstance(trials, pd.DataFrame):
        raise TypeError(
            f"Invalid value for the 'trials' parameter of {what}: expected a pandas DataFrame "
            f"(the masked-recognition trials table), but got {type(trials).__name__}."
        )
    by = tuple(by)
    missing = [c for c in (*REQUIRED, *by) if c not in trials.columns]
    if missing:
        raise ValueError(
            f"The trials table given to {what} lacks the columns {missing}; it has "
            f"{list(trials.columns)}. Expected the masked-recognition table of load_study "
            f"(at least {list(REQUIRED)} and the 'by' columns)."
        )
    table = trials.copy()
    for column in ("correct", "correct_mask"):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = ~values.isin([0, 1])
        if bad.any():
            raise ValueError(
                f"The trials table given to {what}: column {column!r} must be 0 or 1 on every "
                f"row, but rows {list(table.index[bad][:5])} hold "
                f"{list(table.loc[bad, column][:5])}."
            )
        table[column] = values.astype(np.int64)
    table["participant"] = table["participant"].astype(str)
    table["image_id"] = table["image_id"].astype(str)
    return table


def flagged_mask(table: pd.DataFrame) -> Any:
    """Boolean Series: the trial's ``flagged`` is 1, or a phase's frames shown != planned.

    A missing frame count (NaN) is no evidence of a dropped frame and does not flag.
    """
    import pandas as pd

    flagged = pd.Series(False, index=table.index)
    if "flagged" in table.columns:
        flagged |= pd.to_numeric(table["flagged"], errors="coerce").fillna(0).astype(float) != 0
    for shown, planned in FRAME_PAIRS:
        if shown in table.columns and planned in table.columns:
            a = pd.to_numeric(table[shown], errors="coerce")
            b = pd.to_numeric(table[planned], errors="coerce")
            flagged |= a.notna() & b.notna() & (a != b)
    return flagged


def is_repeat(table: pd.DataFrame) -> Any:
    """Boolean Series: the trial repeats a flagged one (``repeat_of`` set)."""
    import pandas as pd

    if "repeat_of" not in table.columns:
        return pd.Series(False, index=table.index)
    values = table["repeat_of"]
    blank = values.astype(str).str.strip().isin(["", "n/a", "nan", "None"])
    return values.notna() & ~blank


def options_per_trial(table: pd.DataFrame, fixed: int | None, *, what: str) -> Any:
    """Options per trial: ``fixed``, else the number of ``|``-separated ``descriptors``."""
    import pandas as pd

    if fixed is not None:
        if not isinstance(fixed, (int, np.integer)) or isinstance(fixed, bool) or fixed < 2:
            raise ValueError(
                "Invalid value for the 'n_options' parameter: expected None (read from the "
                f"'descriptors' column) or an integer >= 2, but got {fixed!r} instead."
            )
        return pd.Series(int(fixed), index=table.index, dtype=np.int64)
    if "descriptors" not in table.columns:
        raise ValueError(
            f"{what} needs the number of options per trial: the trials table has no "
            "'descriptors' column (the options shown, separated by '|'); pass n_options=."
        )
    counts = table["descriptors"].map(
        lambda v: len(str(v).split("|")) if isinstance(v, str) and v.strip() else 0
    )
    bad = counts < 2
    if bad.any():
        raise ValueError(
            f"{what}: the 'descriptors' column must list the options shown (at least 2, "
            f"separated by '|'), but rows {list(table.index[bad][:5])} hold "
            f"{list(table.loc[bad, 'descriptors'][:5])}; pass n_options= to set m."
        )
    return counts.astype(np.int64)
