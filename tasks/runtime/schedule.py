"""Trial schedules: blocks, practice, breaks and counterbalancing, seeded and JSON-ready.

A schedule is a list of plain dicts, one per trial in running order, stored in
``session.json`` so that a resume continues the same schedule. Every trial has
``trial_id`` (1, 2, ... in running order, practice first), ``block`` (0 for
practice, then 1, 2, ...), ``practice`` (1 or 0) and ``repetition`` (the pass
through the items it comes from, 1, 2, ...), followed by the task's own fields
(the item it shows). Everything in it follows from the items, the settings, the
seed and (with counterbalancing) the participant label: the same call gives the
same schedule.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from selectivity.config import ConfigError, choice_message, read_toml
from selectivity.errors import UserError

__all__ = [
    "COUNTERBALANCE_SCHEMES",
    "SHUFFLES",
    "ScheduleError",
    "assign_conditions",
    "break_text",
    "breaks",
    "build_schedule",
    "by_participant_number",
    "counterbalance",
    "is_break_before",
    "latin_square",
    "participant_index",
    "read_conditions",
]

#: How :func:`build_schedule` orders the main trials.
SHUFFLES = ("within-block", "all", "none")
#: Counterbalancing schemes of :func:`counterbalance`.
COUNTERBALANCE_SCHEMES = ("latin", "rotation")
#: Fields :func:`build_schedule` adds to every trial (an item may not carry them).
SCHEDULE_FIELDS = ("trial_id", "block", "practice", "repetition")

_T = TypeVar("_T")
_SCALARS = (str, int, float, bool)


class ScheduleError(UserError, ValueError):
    """A schedule cannot be built as asked: the message names the setting and what is allowed."""


def participant_index(label: str) -> int:
    """The participant number in a label: its digits (``"07"`` -> 7, ``"P12"`` -> 12).

    Raises
    ------
    ScheduleError
        If the label has no digits (counterbalancing needs a participant number).
    """
    digits = re.sub(r"[^0-9]", "", str(label))
    if not digits:
        raise ScheduleError(
            f"Invalid value for the participant label: counterbalancing needs a participant "
            f"number, but got {label!r} instead, which has no digits. Use labels such as "
            "'07' or 'P12'."
        )
    return int(digits)


def by_participant_number(
    items_for: Callable[[Any, Any, int], list[dict[str, Any]]],
) -> Callable[[Any, Any, str], list[dict[str, Any]]]:
    """A task's ``participant_items`` from a function of the participant *number*.

    ``items_for(settings, stimuli, number)`` gets :func:`participant_index` of the
    label, so a label without digits is refused (:class:`ScheduleError`) before the
    session opens.
    """

    def for_label(settings: Any, stimuli: Any, participant: str) -> list[dict[str, Any]]:
        return items_for(settings, stimuli, participant_index(participant))

    for_label.__doc__ = f"{items_for.__name__} for the number in the participant's label."
    return for_label


def latin_square(n: int, *, scheme: Literal["latin", "rotation"] = "latin") -> list[list[int]]:
    """The rows of a Latin square of ``n`` conditions (as indices 0 .. n-1).

    ``"latin"`` is Williams' (1949) balanced design: for an even ``n``, ``n`` rows
    in which every condition follows every other condition exactly once; for an
    odd ``n`` no square of ``n`` rows can do that, so the square is followed by its
    mirror image (``2 n`` rows, every ordered pair adjacent exactly twice).
    ``"rotation"`` is the cyclic square (row ``r`` is ``r, r+1, ...``): every
    condition once in every position, without balance of what follows what.

    Returns
    -------
    list of list of int
        ``n`` rows (``2 n`` for ``"latin"`` with odd ``n``), each a permutation of
        ``range(n)``.
    """
    if scheme not in COUNTERBALANCE_SCHEMES:
        raise ScheduleError(
            "Invalid value for the 'scheme' parameter. "
            f"Allowed values are {list(COUNTERBALANCE_SCHEMES)}, but got {scheme!r} instead."
        )
    if n < 1:
        raise ScheduleError(f"A Latin square needs at least one condition, but got {n}.")
    if scheme == "rotation":
        return [[(r + j) % n for j in range(n)] for r in range(n)]
    # first row 0, 1, n-1, 2, n-2, ...; row r adds r (mod n) to it
    first = [0]
    low, high = 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows = [[(c + r) % n for c in first] for r in range(n)]
    if n % 2:
        rows += [row[::-1] for row in rows]
    return rows


def counterbalance(
    conditions: Sequence[_T], index: int, *, scheme: Literal["latin", "rotation"] = "latin"
) -> list[_T]:
    """The order of ``conditions`` for participant number ``index``.

    Participant ``index`` takes row ``index mod rows`` of :func:`latin_square`, so
    any run of consecutive participant numbers as long as the square uses every
    row once (4 participants for 4 conditions, 6 for 3 with ``"latin"``).

    Parameters
    ----------
    conditions : sequence
        The conditions, in their declared order (row 0 keeps the first first).
    index : int
        The participant number (:func:`participant_index`).
    scheme : {"latin", "rotation"}
        Williams' balanced Latin square, or the cyclic one (see :func:`latin_square`).
    """
    items = list(conditions)
    rows = latin_square(len(items), scheme=scheme)
    return [items[i] for i in rows[int(index) % len(rows)]]


def assign_conditions(
    items: Sequence[Mapping[str, Any]],
    conditions: Sequence[Any],
    index: int,
    *,
    field: str = "condition",
) -> list[dict[str, Any]]:
    """Give each item a condition, rotated by participant (items counterbalanced over conditions).

    Item ``i`` gets ``conditions[(i + index) mod k]``: every participant sees every
    item once, in one condition, each condition on (nearly) the same number of
    items, and over ``k`` consecutive participant numbers every item appears in
    every condition once.

    Returns
    -------
    list of dict
        Copies of the items with ``field`` set.
    """
    if not conditions:
        raise ScheduleError("Invalid value for the 'conditions' parameter: it is empty.")
    k = len(conditions)
    return [{**dict(item), field: conditions[(i + int(index)) % k]} for i, item in enumerate(items)]


def _check_choice(name: str, value: Any, allowed: Sequence[Any]) -> None:
    if value not in allowed:
        raise ScheduleError(
            f"Invalid value for the {name!r} parameter. Allowed values are {list(allowed)}, "
            f"but got {value!r} instead."
        )


def _check_count(name: str, value: int, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ScheduleError(
            f"Invalid value for the {name!r} parameter: expected an integer of at least "
            f"{least}, but got {value!r} instead."
        )


def _passes(
    pool: Sequence[Mapping[str, Any]],
    repetitions: int,
    shuffle: str,
    rng: np.random.Generator,
) -> list[tuple[int, dict[str, Any]]]:
    """``(repetition, item)`` for ``repetitions`` passes through ``pool`` in the shuffle's order."""
    trials: list[tuple[int, dict[str, Any]]] = []
    for rep in range(1, repetitions + 1):
        # one permutation per pass, drawn in this order: the order shuffled_schedule made
        order = rng.permutation(len(pool)) if shuffle == "within-block" else range(len(pool))
        trials += [(rep, dict(pool[int(i)])) for i in order]
    if shuffle == "all":
        trials = [trials[int(i)] for i in rng.permutation(len(trials))]
    return trials


def _split(trials: list[_T], parts: int) -> list[list[_T]]:
    """``trials`` cut into ``parts`` consecutive blocks; the first ones take one more if needed."""
    size, extra = divmod(len(trials), parts)
    blocks, start = [], 0
    for b in range(parts):
        stop = start + size + (1 if b < extra else 0)
        blocks.append(trials[start:stop])
        start = stop
    return blocks


def build_schedule(
    items: Sequence[Mapping[str, Any]],
    *,
    seed: int,
    repetitions: int = 1,
    blocks: int = 1,
    practice: int = 0,
    practice_items: Sequence[Mapping[str, Any]] | None = None,
    shuffle: Literal["within-block", "all", "none"] = "within-block",
    counterbalance: str | None = None,
    scheme: Literal["latin", "rotation"] = "latin",
    participant: str | None = None,
) -> list[dict[str, Any]]:
    """The trials of a session, in running order: practice first, then the main blocks.

    Parameters
    ----------
    items : sequence of mapping
        The task's trial specifications (e.g. ``{"image_id": ..., "label": ...}``),
        JSON-ready values; none may carry a field of :data:`SCHEDULE_FIELDS`.
    seed : int
        Seed of ``numpy.random.default_rng``; the main trials' permutations are drawn
        first, so the practice trials never change the main order.
    repetitions : int
        Passes through the items; each pass is shuffled anew.
    blocks : int
        Main blocks, of (nearly) equal size, cut from the running order; with
        ``counterbalance``, blocks *per condition*.
    practice : int
        Practice trials (``practice=1``, ``block=0``) before the main blocks, drawn
        without replacement from ``practice_items`` (from ``items`` when None), in
        further shuffled passes when more are asked than there are.
    practice_items : sequence of mapping, optional
        Items reserved for practice.
    shuffle : {"within-block", "all", "none"}
        ``"within-block"``: each pass through the items in a fresh random order
        (no item comes back before every item was shown in that pass), blocks cut
        from that sequence, so trials never move across a block boundary and with
        ``blocks == repetitions`` each block is one pass; for ``blocks=1`` and no
        practice this is exactly :func:`tasks.runtime.shuffled_schedule`. ``"all"``:
        one permutation of every main trial (repetitions of an item may follow each
        other). ``"none"``: passes in the items' order.
    counterbalance : str, optional
        An item field whose values are conditions run in separate blocks: the
        conditions (in order of first appearance) are ordered for this participant
        by :func:`counterbalance`, that sequence is run ``blocks`` times, and each
        condition's trials (its items times ``repetitions``, shuffled as above) are
        split over its ``blocks`` blocks.
    scheme : {"latin", "rotation"}
        Counterbalancing scheme (:func:`latin_square`).
    participant : str, optional
        The participant label; needed with ``counterbalance`` (:func:`participant_index`).

    Returns
    -------
    list of dict
        One dict per trial: ``trial_id``, ``block``, ``practice``, ``repetition``,
        then the item's fields.

    Raises
    ------
    ScheduleError
        For settings out of range, an item with a schedule field, or
        counterbalancing without a participant number.
    """
    _check_choice("shuffle", shuffle, SHUFFLES)
    _check_choice("scheme", scheme, COUNTERBALANCE_SCHEMES)
    _check_count("repetitions", repetitions, 1)
    _check_count("blocks", blocks, 1)
    _check_count("practice", practice, 0)
    for name, pool in (("items", items), ("practice_items", practice_items or ())):
        for number, item in enumerate(pool, start=1):
            taken = [f for f in SCHEDULE_FIELDS if f in item]
            if taken:
                raise ScheduleError(
                    f"Invalid value for the {name!r} parameter: item {number} has the field "
                    f"{taken[0]!r}, which the schedule sets; rename it."
                )
    if not items:
        raise ScheduleError("Invalid value for the 'items' parameter: there are no items.")
    rng = np.random.default_rng(seed)

    main: list[list[tuple[int, dict[str, Any]]]]
    if counterbalance is None:
        main = _split(_passes(items, repetitions, shuffle, rng), blocks)
    else:
        if participant is None:
            raise ScheduleError(
                "Counterbalancing by participant needs the participant label "
                "('participant' parameter)."
            )
        missing = [n for n, item in enumerate(items, start=1) if counterbalance not in item]
        if missing:
            raise ScheduleError(
                f"Invalid value for the 'counterbalance' parameter: item {missing[0]} has no "
                f"field {counterbalance!r}. Allowed values are the items' fields, "
                f"{sorted(items[missing[0] - 1])}, but got {counterbalance!r} instead."
            )
        conditions = list(dict.fromkeys(item[counterbalance] for item in items))
        # condition trials are drawn in the declared order, whatever the participant's order
        per_condition = {
            c: _split(
                _passes([i for i in items if i[counterbalance] == c], repetitions, shuffle, rng),
                blocks,
            )
            for c in conditions
        }
        order = _counterbalance_order(conditions, participant_index(participant), scheme)
        main = [per_condition[c][b] for b in range(blocks) for c in order]

    trials: list[dict[str, Any]] = []
    if practice:
        pool = list(practice_items) if practice_items is not None else list(items)
        if not pool:
            raise ScheduleError(
                "Invalid value for the 'practice_items' parameter: there are no items, "
                f"but {practice} practice trials were asked."
            )
        passes = -(-practice // len(pool))
        drawn = _passes(pool, passes, "within-block", rng)[:practice]
        trials += [_trial(n, 0, 1, rep, item) for n, (rep, item) in enumerate(drawn, start=1)]
    for number, block in enumerate(main, start=1):
        for rep, item in block:
            trials.append(_trial(len(trials) + 1, number, 0, rep, item))
    return trials


def _counterbalance_order(conditions: list[Any], index: int, scheme: str) -> list[Any]:
    # (the parameter named counterbalance in build_schedule hides the function)
    return counterbalance(conditions, index, scheme=scheme)  # type: ignore[arg-type]


def _trial(
    trial_id: int, block: int, practice: int, repetition: int, item: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "trial_id": trial_id,
        "block": block,
        "practice": practice,
        "repetition": repetition,
        **item,
    }


def break_text(done: int, total: int, *, key: str = "space") -> str:
    """``"Break: 40 of 120 trials done. Press SPACE to go on."``"""
    return f"Break: {done} of {total} trials done. Press {key.upper()} to go on."


def breaks(
    schedule: Sequence[Mapping[str, Any]], *, every: int | None = None, key: str = "space"
) -> dict[int, str]:
    """Where the breaks fall, and what each shows.

    A break comes before the first trial of every main block after the first, and
    after every ``every`` main trials; never before the first main trial (the end
    of practice is the task's own message), never inside practice, never after
    the last trial. Counts are of main trials only.

    Parameters
    ----------
    schedule : sequence of mapping
        From :func:`build_schedule` (running order).
    every : int, optional
        Main trials between breaks; None: breaks between blocks only.
    key : str
        The key named in the text.

    Returns
    -------
    dict of int to str
        ``trial_id`` of the trial each break comes before -> its text
        (:func:`break_text`).
    """
    if every is not None:
        _check_count("every", every, 1)
    main = [t for t in schedule if not t["practice"]]
    out: dict[int, str] = {}
    for done, trial in enumerate(main):
        if done == 0:
            continue
        new_block = trial["block"] != main[done - 1]["block"]
        if new_block or (every is not None and done % every == 0):
            out[int(trial["trial_id"])] = break_text(done, len(main), key=key)
    return out


def is_break_before(
    trial: Mapping[str, Any],
    schedule: Sequence[Mapping[str, Any]],
    *,
    every: int | None = None,
) -> bool:
    """Whether a break comes before ``trial`` (see :func:`breaks`)."""
    return int(trial["trial_id"]) in breaks(schedule, every=every)


def read_conditions(
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    *,
    where: str = "[[task.conditions]]",
    required: Sequence[str] = (),
    choices: Mapping[str, Sequence[Any]] | None = None,
) -> list[dict[str, Any]]:
    """A conditions table: one dict per row, the same columns in every row.

    Parameters
    ----------
    source : path-like or sequence of mapping
        A TSV file (read by :func:`selectivity.tsv.read_table`: ``n/a`` is missing,
        columns typed by their values), a TOML file with ``[[conditions]]`` tables,
        or the tables of ``[[task.conditions]]`` already parsed from a configuration.
    where : str
        Where parsed tables come from, for messages (``"lab.toml: [[task.conditions]]"``).
    required : sequence of str
        Columns every table must have.
    choices : mapping of str to sequence, optional
        Allowed values of some columns.

    Returns
    -------
    list of dict
        Rows in file order; values are ``str``, ``int``, ``float``, ``bool`` (None
        for a missing TSV value), JSON-ready.

    Raises
    ------
    ConfigError
        Naming the file, the row and the column: no rows, a row with other
        columns than the first, a missing required column, a value that is not a
        plain value or not among the allowed ones.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.suffix.lower() == ".toml":
            where = f"{path}: [[conditions]]"
            rows = read_toml(path).get("conditions")
            if not isinstance(rows, list):
                raise ConfigError(
                    f"{where}: expected an array of tables [[conditions]], found none."
                )
        else:
            where = str(path)
            rows = _read_tsv_rows(path)
    else:
        rows = list(source)
    return _check_rows(rows, where, required, dict(choices or {}))


def _read_tsv_rows(path: Path) -> list[dict[str, Any]]:
    from selectivity.tsv import read_table

    try:
        table = read_table(path)
    except (FileNotFoundError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the conditions table: {exc}") from None
    rows = []
    for record in table.astype(object).to_dict(orient="records"):
        rows.append({str(k): _plain(v) for k, v in record.items()})
    return rows


def _plain(value: Any) -> Any:
    """A pandas / numpy cell as a JSON-ready Python value (None when missing)."""
    if value is None or value is _pd_na():
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _pd_na() -> Any:
    import pandas as pd

    return pd.NA


def _row_name(where: str, number: int) -> str:
    # a TSV's first data row is its line 2
    if where.endswith("]]"):
        return f"{where} {number}"
    return f"{where}: row {number} (line {number + 1})"


def _check_rows(
    rows: list[Any], where: str, required: Sequence[str], choices: dict[str, Sequence[Any]]
) -> list[dict[str, Any]]:
    if not rows:
        raise ConfigError(f"{where}: the conditions table has no rows.")
    out: list[dict[str, Any]] = []
    columns: list[str] | None = None
    for number, row in enumerate(rows, start=1):
        at = _row_name(where, number)
        if not isinstance(row, Mapping):
            raise ConfigError(f"{at}: expected a table of column = value, but got {row!r}.")
        row = {str(k): v for k, v in row.items()}
        if columns is None:
            columns = list(row)
            missing = [c for c in required if c not in row]
            if missing:
                raise ConfigError(
                    f"{at}: missing column {missing[0]!r}; the conditions table needs the "
                    f"columns {list(required)}."
                )
        elif set(row) != set(columns):
            gone = [c for c in columns if c not in row]
            if gone:
                raise ConfigError(
                    f"{at}: missing column {gone[0]!r}; every row needs the columns of row "
                    f"1, {columns}."
                )
            extra = next(c for c in row if c not in columns)
            raise ConfigError(
                f"{at}: column {extra!r} is not in row 1; every row needs the columns of "
                f"row 1, {columns}."
            )
        for column, value in row.items():
            if value is not None and not isinstance(value, _SCALARS):
                raise ConfigError(
                    f"{at}, column {column!r}: expected a text, number or boolean, but got "
                    f"{value!r}."
                )
            if column in choices and value not in choices[column]:
                raise ConfigError(
                    f"{at}, column {column!r}: {choice_message(choices[column], value)}"
                )
        out.append(row)
    return out
