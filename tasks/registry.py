"""The one list of tasks: the command line's choices, the ``[task] name`` values and the docs."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["TASKS", "get_task", "task_settings", "task_summaries"]

#: Task name (on the command line, in ``[task] name`` and as the session sub-folder) ->
#: the module that defines it as ``TASK`` (a :class:`tasks.runtime.task.Task`). A new
#: task is a module with its ``TASK`` and one line here.
TASKS: dict[str, str] = {
    "dot-discrimination": "tasks.dot_discrimination",
    "free-viewing": "tasks.free_viewing",
    "masked-recognition": "tasks.masked_recognition",
    "object-search": "tasks.object_search",
    "patch-rating": "tasks.patch_rating",
    "saliency-search": "tasks.saliency_search",
    "serial-reproduction": "tasks.serial_reproduction",
    "similarity-rating": "tasks.similarity_rating",
}


def get_task(name: str) -> Any:
    """The :class:`~tasks.runtime.task.Task` called ``name``.

    Raises
    ------
    ValueError
        When no task has that name (the message lists the names).
    """
    if name not in TASKS:
        raise ValueError(
            f"Invalid value for the 'task' parameter. Allowed values are {sorted(TASKS)}, "
            f"but got {name!r} instead."
        )
    return importlib.import_module(TASKS[name]).TASK


def task_settings(name: str) -> type:
    """The settings dataclass of the task called ``name`` (see :func:`get_task`)."""
    return get_task(name).settings


def task_summaries() -> dict[str, str]:
    """Each task's one-line summary (the first line of its module's docstring), for help texts."""
    out = {}
    for name, module in TASKS.items():
        doc = importlib.import_module(module).__doc__ or ""
        out[name] = doc.strip().splitlines()[0] if doc.strip() else ""
    return out
