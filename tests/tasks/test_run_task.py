"""run_task's generic parts through a real free-viewing session: practice, blocks, breaks,
conditions, the tracker messages of every row, and the records of a simulated participant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eyetracking import read_asc
from selectivity.tsv import read_table
from tasks.free_viewing import TASK, run

pytestmark = pytest.mark.window


def test_practice_blocks_and_breaks(tmp_path: Path, tiny_stimulus_set: Path, fast_config) -> None:
    config = fast_config(
        tiny_stimulus_set, repetitions=2, practice_trials=2, blocks=2, break_every=2
    )
    folder = run(config, participant="03", data_root=tmp_path / "data", windowed=True)
    trials = read_table(folder / "trials.tsv")
    info = json.loads((folder / "session.json").read_text())
    assert list(trials.columns) == list(TASK.trial_columns)
    # 2 practice trials first (block 0), then 6 main trials in 2 blocks of 3
    assert list(trials["trial_id"]) == list(range(1, 9))
    assert list(trials["practice"]) == [1, 1, 0, 0, 0, 0, 0, 0]
    assert list(trials["block"]) == [0, 0, 1, 1, 1, 2, 2, 2]
    assert [t["trial_id"] for t in info["schedule"]] == list(range(1, 9))
    # each image once per repetition in the main trials
    main = trials[trials["practice"] == 0]
    assert sorted(main["image_id"]) == sorted(["square", "tall", "wide"] * 2)
    assert info["participant_kind"] == "simulated"
    assert info["participant_model"]["kind"] == "simulated"
    assert "planted map" in info["participant_model"]["response_model"]


def test_every_row_field_is_a_trial_var(tmp_path: Path, tiny_stimulus_set: Path, fast_config):
    """Data Viewer gets ``!V TRIAL_VAR`` for every field of the row and ``TRIAL_RESULT 0``."""
    folder = run(
        fast_config(tiny_stimulus_set), participant="04", data_root=tmp_path / "d", windowed=True
    )
    trials = read_table(folder / "trials.tsv")
    rec = read_asc(folder / "eye" / "04s1.asc")
    messages = rec.messages
    for row in trials.itertuples():
        texts = set(messages.loc[messages["trial_id"] == row.trial_id, "text"])
        for column in TASK.columns:
            assert any(t.startswith(f"!V TRIAL_VAR {column} ") for t in texts), column
        assert "TRIAL_RESULT 0" in texts
    assert (rec.trials["result"] == 0).all()


def test_a_conditions_table_crosses_the_items(
    tmp_path: Path, tiny_stimulus_set: Path, fast_config
) -> None:
    table = tmp_path / "conditions.tsv"
    table.write_text("contrast\nlow\nhigh\n", encoding="utf-8")
    folder = run(
        fast_config(tiny_stimulus_set, conditions=table, image_duration_s=0.05),
        participant="05",
        data_root=tmp_path / "d",
        windowed=True,
    )
    info = json.loads((folder / "session.json").read_text())
    pairs = sorted((t["image_id"], t["contrast"]) for t in info["schedule"])
    assert pairs == sorted((i, c) for i in ("square", "tall", "wide") for c in ("low", "high"))
