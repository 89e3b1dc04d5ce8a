"""PsychoPy tasks, one module per task, and the runtime they share.

Importing this package does not import PsychoPy; a task imports it when it runs.
:data:`TASKS` (in :mod:`tasks.registry`) lists the tasks; :func:`run_task` runs one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import ConfigError, ExperimentConfig, LabConfig, load_config, load_lab_config
from .registry import TASKS, get_task
from .runtime.session import SessionAborted, SessionError, SessionExistsError, SessionLockedError
from .runtime.stimulus_check import StimulusCheckError

__all__ = [
    "TASKS",
    "ConfigError",
    "ExperimentConfig",
    "LabConfig",
    "SessionAborted",
    "SessionError",
    "SessionExistsError",
    "SessionLockedError",
    "StimulusCheckError",
    "get_task",
    "load_config",
    "load_lab_config",
    "run_task",
    "simulate_study",
]


def simulate_study(*args: Any, **options: Any) -> list[Path]:
    """Every task for several simulated participants: :func:`tasks.simulation.simulate_study`."""
    from .simulation import simulate_study as simulate

    return simulate(*args, **options)


def run_task(config: ExperimentConfig[Any], **options: Any) -> Path:
    """Run (or resume) a session of ``config``'s task: :func:`tasks.runtime.loop.run_task`."""
    from .runtime.loop import run_task as run

    return run(config, **options)
