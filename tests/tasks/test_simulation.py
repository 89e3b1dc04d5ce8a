"""tasks.simulation: the shipped simulated configurations, changed for a simulated study."""

from __future__ import annotations

from pathlib import Path

import pytest

from selectivity.config import ConfigError
from tasks.simulation import simulate_study, simulated_config


def test_a_simulated_configuration_takes_the_changes(tmp_path: Path) -> None:
    config = simulated_config(
        "dot-discrimination",
        tmp_path / "set.h5",
        task_settings={"grid": (3, 2), "seed": 11},
        participant_settings={"rt_median_s": 0.3},
        display_settings={"resolution_px": (800, 600)},
    )
    assert config.task.stimulus_set == tmp_path / "set.h5"
    assert config.task.grid == (3, 2) and config.task.seed == 11
    assert config.lab.participant.kind == "simulated" and config.lab.participant.rt_median_s == 0.3
    assert config.lab.display.resolution_px == (800, 600)
    assert config.lab.tracker.kind == "simulated"


def test_wrong_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[task\] has no setting 'gird'"):
        simulated_config("dot-discrimination", tmp_path / "s.h5", task_settings={"gird": (3, 3)})
    with pytest.raises(ConfigError, match=r"\[participant\] has no setting 'speed'"):
        simulated_config("free-viewing", tmp_path / "s.h5", participant_settings={"speed": 2})
    with pytest.raises(ValueError, match="'free-view'"):
        simulated_config("free-view", tmp_path / "s.h5")
    with pytest.raises(FileNotFoundError, match="No simulated configuration of free-viewing"):
        simulated_config("free-viewing", tmp_path / "s.h5", configs=tmp_path)
    with pytest.raises(ValueError, match="at least 1"):
        simulate_study(tmp_path / "s.h5", tmp_path / "data", participants=0)
