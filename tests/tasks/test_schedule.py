"""Schedules: blocks, practice, breaks, counterbalancing and conditions tables."""

from __future__ import annotations

import itertools
import json
from collections import Counter

import pytest

from selectivity.config import ConfigError
from tasks.runtime import shuffled_schedule
from tasks.runtime.schedule import (
    ScheduleError,
    assign_conditions,
    break_text,
    breaks,
    build_schedule,
    counterbalance,
    is_break_before,
    latin_square,
    participant_index,
    read_conditions,
)

ITEMS = [{"image_id": f"img{i}", "label": f"label{i % 3}"} for i in range(10)]


def _strip(trials):
    return [{k: v for k, v in t.items() if k not in ("block", "practice")} for t in trials]


@pytest.mark.parametrize("repetitions", [1, 3])
def test_one_block_without_practice_is_the_free_viewing_order(repetitions):
    built = build_schedule(ITEMS, seed=11, repetitions=repetitions)
    assert _strip(built) == shuffled_schedule(ITEMS, repetitions=repetitions, seed=11)
    assert {(t["block"], t["practice"]) for t in built} == {(1, 0)}


def test_same_settings_same_schedule_other_seed_other_schedule():
    kwargs = dict(repetitions=2, blocks=3, practice=4, counterbalance="label", participant="P05")
    first = build_schedule(ITEMS, seed=1, **kwargs)
    assert first == build_schedule(ITEMS, seed=1, **kwargs)
    assert first != build_schedule(ITEMS, seed=2, **kwargs)
    assert json.loads(json.dumps(first)) == first  # stored in session.json as it is


def test_trial_ids_blocks_and_practice():
    built = build_schedule(ITEMS, seed=3, repetitions=2, blocks=3, practice=4)
    assert [t["trial_id"] for t in built] == list(range(1, 25))
    assert [t["practice"] for t in built] == [1] * 4 + [0] * 20
    # 20 main trials in 3 blocks: 7, 7, 6
    assert [t["block"] for t in built] == [0] * 4 + [1] * 7 + [2] * 7 + [3] * 6
    main = [t for t in built if not t["practice"]]
    assert Counter(t["image_id"] for t in main) == {i["image_id"]: 2 for i in ITEMS}
    # each pass shows every item once before the next pass begins
    assert {t["image_id"] for t in main[:10]} == {i["image_id"] for i in ITEMS}
    assert [t["repetition"] for t in main] == [1] * 10 + [2] * 10


def test_practice_does_not_change_the_main_order():
    without = build_schedule(ITEMS, seed=5, blocks=2)
    with_practice = build_schedule(ITEMS, seed=5, blocks=2, practice=3)
    key = ("image_id", "block")
    assert [tuple(t[k] for k in key) for t in with_practice[3:]] == [
        tuple(t[k] for k in key) for t in without
    ]


def test_practice_items_and_more_practice_than_items():
    pool = [{"image_id": "p1", "label": "x"}, {"image_id": "p2", "label": "x"}]
    built = build_schedule(ITEMS, seed=0, practice=5, practice_items=pool)
    practice = [t for t in built if t["practice"]]
    assert len(practice) == 5 and {t["block"] for t in practice} == {0}
    ids = [t["image_id"] for t in practice]
    # drawn in passes: each pair of trials holds both practice images
    assert sorted(ids[:2]) == sorted(ids[2:4]) == ["p1", "p2"]
    assert ids[4] in ("p1", "p2")
    assert all(t["image_id"].startswith("img") for t in built if not t["practice"])


def test_shuffle_none_and_all():
    none = build_schedule(ITEMS, seed=0, repetitions=2, shuffle="none")
    assert [t["image_id"] for t in none] == [i["image_id"] for i in ITEMS] * 2
    every = build_schedule(ITEMS, seed=0, repetitions=2, shuffle="all")
    assert Counter(t["image_id"] for t in every) == Counter(t["image_id"] for t in none)
    assert [t["image_id"] for t in every] != [t["image_id"] for t in none]


def test_blocks_equal_to_repetitions_give_one_pass_per_block():
    built = build_schedule(ITEMS, seed=9, repetitions=3, blocks=3)
    for block in (1, 2, 3):
        shown = [t["image_id"] for t in built if t["block"] == block]
        assert sorted(shown) == sorted(i["image_id"] for i in ITEMS)


# Williams (1949) square for 4 conditions, as printed in the literature
# (e.g. Bradley 1958; ABDC / BCAD / CDBA / DACB).
WILLIAMS_4 = ["ABDC", "BCAD", "CDBA", "DACB"]


def test_williams_square_of_four_is_the_published_one():
    rows = ["".join("ABCD"[i] for i in row) for row in latin_square(4)]
    assert rows == WILLIAMS_4
    assert ["".join(counterbalance("ABCD", p)) for p in range(4, 8)] == WILLIAMS_4


def _adjacent_pairs(rows):
    return Counter(pair for row in rows for pair in itertools.pairwise(row))


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_williams_square_is_balanced(n):
    rows = latin_square(n)
    assert len(rows) == (n if n % 2 == 0 else 2 * n)
    # every condition once per row, and equally often in every position
    assert all(sorted(row) == list(range(n)) for row in rows)
    for position in range(n):
        assert Counter(row[position] for row in rows) == {c: len(rows) // n for c in range(n)}
    # every ordered pair of different conditions adjacent equally often (once, twice for odd)
    expected = {pair: len(rows) // n for pair in itertools.permutations(range(n), 2)}
    assert _adjacent_pairs(rows) == expected


def test_three_conditions_square_and_its_mirror():
    rows = ["".join("ABC"[i] for i in row) for row in latin_square(3)]
    assert rows == ["ABC", "BCA", "CAB", "CBA", "ACB", "BAC"]


def test_rotation_is_cyclic_and_unbalanced_for_four():
    rows = latin_square(4, scheme="rotation")
    assert rows == [[0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 0, 1], [3, 0, 1, 2]]
    # (0, 1) follows in every row, (1, 0) in none: why "latin" is the default
    assert _adjacent_pairs(rows)[(0, 1)] == 3 and _adjacent_pairs(rows)[(1, 0)] == 0
    assert counterbalance(["a", "b", "c"], 5, scheme="rotation") == ["c", "a", "b"]


@pytest.mark.parametrize(
    ("label", "index"), [("07", 7), ("P12", 12), ("sub3x", 3), ("0", 0), ("A1B2", 12)]
)
def test_participant_index(label, index):
    assert participant_index(label) == index


def test_participant_without_digits_is_refused_when_counterbalancing():
    with pytest.raises(ScheduleError, match="got 'pilot' instead, which has no digits"):
        participant_index("pilot")
    with pytest.raises(ScheduleError, match="no digits"):
        build_schedule(ITEMS, seed=0, counterbalance="label", participant="pilot")
    # without counterbalancing the label does not matter
    assert build_schedule(ITEMS, seed=0, participant="pilot")


def test_counterbalanced_blocks_follow_the_participants_row():
    items = [{"image_id": f"i{k}", "condition": c} for k, c in enumerate("ABCD" * 3)]
    for participant, row in zip(("P04", "P05", "P06", "P07"), WILLIAMS_4, strict=True):
        built = build_schedule(
            items, seed=0, counterbalance="condition", participant=participant, blocks=2
        )
        blocks = {}
        for t in built:
            blocks.setdefault(t["block"], set()).add(t["condition"])
        assert all(len(c) == 1 for c in blocks.values())
        assert "".join(blocks[b].pop() for b in sorted(blocks)) == row * 2
        # the 3 items of a condition are split over its 2 blocks: 2 then 1
        assert [sum(1 for t in built if t["block"] == b) for b in (1, 5)] == [2, 1]


def test_assign_conditions_rotates_items_over_conditions():
    items = [{"image_id": f"i{k}"} for k in range(4)]
    got = [[t["condition"] for t in assign_conditions(items, "xy", p)] for p in (0, 1)]
    assert got == [list("xyxy"), list("yxyx")]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"shuffle": "random"}, r"Allowed values are \['within-block'", id="shuffle"),
        pytest.param(
            {"blocks": 0}, "'blocks' parameter: expected an integer of at least 1", id="b"
        ),
        pytest.param({"counterbalance": "label"}, "needs the participant label", id="no-label"),
        pytest.param(
            {"counterbalance": "cond", "participant": "1"}, "item 1 has no field 'cond'", id="field"
        ),
    ],
)
def test_bad_settings(kwargs, match):
    with pytest.raises(ScheduleError, match=match):
        build_schedule(ITEMS, seed=0, **kwargs)


def test_an_item_may_not_carry_a_schedule_field():
    with pytest.raises(ScheduleError, match="item 2 has the field 'block'"):
        build_schedule([{"a": 1}, {"a": 2, "block": 1}], seed=0)


def test_breaks_between_blocks_and_every_n_main_trials():
    built = build_schedule(ITEMS, seed=0, repetitions=3, blocks=2, practice=2)
    # 30 main trials (ids 3..32) in blocks of 15; a break every 10 main trials
    got = breaks(built, every=10)
    assert got == {
        13: break_text(10, 30),
        18: break_text(15, 30),
        23: break_text(20, 30),
    }
    assert got[13] == "Break: 10 of 30 trials done. Press SPACE to go on."
    assert breaks(built) == {18: break_text(15, 30)}
    # never before the first trial, in practice, or before the first main trial
    assert not any(is_break_before(t, built, every=1) for t in built[:3])
    assert is_break_before(built[3], built, every=1)


def test_a_break_that_falls_on_a_block_boundary_comes_once():
    built = build_schedule(ITEMS, seed=0, repetitions=2, blocks=2)
    assert breaks(built, every=10) == {11: break_text(10, 20)}


def test_conditions_from_toml_tables():
    rows = [
        {"image_id": "a", "condition": "cue", "soa_s": 0.5},
        {"image_id": "b", "condition": "no-cue", "soa_s": 1},
    ]
    assert read_conditions(rows) == rows


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        pytest.param([], r"\[\[task.conditions\]\]: the conditions table has no rows", id="empty"),
        pytest.param(
            [{"a": 1, "b": 2}, {"a": 1}],
            r"\[\[task.conditions\]\] 2: missing column 'b'; every row needs",
            id="missing",
        ),
        pytest.param(
            [{"a": 1}, {"a": 1, "c": 2}],
            r"\[\[task.conditions\]\] 2: column 'c' is not in row 1",
            id="extra",
        ),
        pytest.param(
            [{"a": [1, 2]}], r"\[\[task.conditions\]\] 1, column 'a': expected a text", id="list"
        ),
        pytest.param(
            [{"condition": "cue"}, {"condition": "nope"}],
            r"2, column 'condition': invalid value. Allowed values are \['cue', 'no-cue'\], "
            r"but got 'nope' instead.",
            id="choice",
        ),
    ],
)
def test_bad_conditions_tables(rows, match):
    with pytest.raises(ConfigError, match=match):
        read_conditions(rows, choices={"condition": ["cue", "no-cue"]})


def test_conditions_tsv_through_the_one_reader(tmp_path):
    from selectivity.tsv import write_table

    rows = [
        {"image_id": "007", "condition": "cue", "soa_s": 0.25, "practice_ok": True},
        {"image_id": "012", "condition": "no-cue", "soa_s": None, "practice_ok": False},
    ]
    path = write_table(rows, tmp_path / "conditions.tsv")
    got = read_conditions(path, required=["image_id", "condition"])
    assert got == rows  # leading zeros kept as text, n/a read as None
    assert json.loads(json.dumps(got)) == got


def test_conditions_tsv_errors_name_the_file_row_and_column(tmp_path):
    path = tmp_path / "conditions.tsv"
    path.write_text("image_id\tcondition\na\tcue\nb\tnope\n")
    with pytest.raises(
        ConfigError, match=r"conditions.tsv: row 2 \(line 3\), column 'condition': invalid value"
    ):
        read_conditions(path, choices={"condition": ["cue"]})
    path.write_text("image_id\tcondition\na\n")
    with pytest.raises(ConfigError, match=r"conditions.tsv: cannot read .* line 2"):
        read_conditions(path)
    with pytest.raises(ConfigError, match=r"conditions.tsv: row 1 \(line 2\): missing column 'x'"):
        path.write_text("image_id\ta\nb\tc\n")
        read_conditions(path, required=["x"])
    with pytest.raises(ConfigError, match="not found"):
        read_conditions(tmp_path / "missing.tsv")


def test_conditions_toml_file(tmp_path):
    path = tmp_path / "conditions.toml"
    path.write_text('[[conditions]]\nimage_id = "a"\n\n[[conditions]]\nimage_id = "b"\n')
    assert read_conditions(path) == [{"image_id": "a"}, {"image_id": "b"}]
    path.write_text('[task]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"conditions.toml: \[\[conditions\]\]: expected"):
        read_conditions(path)
