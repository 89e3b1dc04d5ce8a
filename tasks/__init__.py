"""PsychoPy experiment scripts, one module per task, and the small runtime they share.

Importing this package does not import PsychoPy; a task imports it when it runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import ConfigError, ExperimentConfig, LabConfig, load_config, load_lab_config
from .runtime.session import SessionAborted, SessionError, SessionExistsError

__all__ = [
    "TASKS",
    "ConfigError",
    "ExperimentConfig",
    "LabConfig",
    "SessionAborted",
    "SessionError",
    "SessionExistsError",
    "get_task",
    "load_config",
    "load_lab_config",
]

#: Task name (as on the command line and in ``[task] name``) -> module running it.
TASKS: dict[str, str] = {"free-viewing": "tasks.free_viewing"}


def get_task(name: str) -> Callable[..., Path]:
    """The ``run`` function of the task called ``name``."""
    if name not in TASKS:
        raise ValueError(
            f"Invalid value for the 'task' parameter. Allowed values are {sorted(TASKS)}, "
            f"but got {name!r} instead."
        )
    module: Any = importlib.import_module(TASKS[name])
    return module.run
