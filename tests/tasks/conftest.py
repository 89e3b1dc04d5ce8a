"""Fixtures for the task tests: a small stimulus set and fast task configurations."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tasks.config import ExperimentConfig, load_config

# the runtime's test helpers (tests/tasks/runtime_helpers.py): importable by the tests
# (pytest runs with --import-mode=importlib, which does not put test folders on the path)
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def tiny_stimulus_set(tmp_path: Path) -> Path:
    """Three small images (one portrait, one landscape, one square) with planted maps."""
    from stimuli import write_stimulus_set

    rng = np.random.default_rng(0)
    images = {
        "tall": rng.integers(0, 255, (120, 80, 3), dtype=np.uint8),
        "wide": rng.integers(0, 255, (80, 120, 3), dtype=np.uint8),
        "square": rng.integers(0, 255, (100, 100, 3), dtype=np.uint8),
    }
    truth = {}
    for key, image in images.items():
        planted = np.zeros(image.shape[:2])
        planted[: image.shape[0] // 3, : image.shape[1] // 3] = 1.0
        truth[key] = planted
    path = tmp_path / "stimuli.h5"
    write_stimulus_set(
        path,
        images,
        labels={k: f"label-{k}" for k in images},
        maps={"simulation/truth": truth},
        provenance={"simulation/truth": {"method": "planted top-left third"}},
    )
    return path


@pytest.fixture
def fast_config(repo_root: Path) -> Callable[..., ExperimentConfig]:
    """Make a shipped configuration fast: ``fast_config(stimulus_set, name=..., **task)``."""

    def make(
        stimulus_set: Path, name: str = "free_viewing_simulated.toml", **task: object
    ) -> ExperimentConfig:
        return _fast_config(repo_root, stimulus_set, name, **task)

    return make


def _fast_config(
    repo_root: Path, stimulus_set: Path, name: str = "free_viewing_simulated.toml", **task: object
) -> ExperimentConfig:
    """A shipped configuration with short durations and the test's stimulus set."""
    config = load_config(repo_root / "configs" / name)
    values = {"image_duration_s": 0.3, "fixation_duration_s": 0.1, "iti_s": 0.05, **task}
    return dataclasses.replace(
        config,
        task=dataclasses.replace(config.task, stimulus_set=stimulus_set, **values),  # type: ignore[arg-type]
    )
