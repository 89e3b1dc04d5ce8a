"""A whole simulated study: every task for several simulated participants, on one data root.

The demo and the planted-map recovery benchmark run the real tasks (PsychoPy windows, the
simulated tracker writing ASC files, ``trials.tsv``, the chain database) for simulated
participants. Each participant is one process that runs its tasks one after the other,
as a participant at a station would; several participants run at once, as several
stations do (serial-reproduction chains are shared through the data root's database).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from .config import ExperimentConfig, load_config
from .registry import TASKS

__all__ = ["CONFIGS", "simulate_study", "simulated_config"]

#: The folder of the shipped configurations (``configs/<task>_simulated.toml``).
CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def simulated_config(
    task: str,
    stimulus_set: str | os.PathLike[str],
    *,
    configs: str | os.PathLike[str] | None = None,
    task_settings: Mapping[str, Any] | None = None,
    participant_settings: Mapping[str, Any] | None = None,
    display_settings: Mapping[str, Any] | None = None,
) -> ExperimentConfig[Any]:
    """The simulated configuration of ``task`` (``<configs>/<task>_simulated.toml``), changed.

    Parameters
    ----------
    task : str
        A name of :data:`tasks.TASKS`.
    stimulus_set : path-like
        Replaces ``[task] stimulus_set``.
    configs : path-like, optional
        Folder of the configurations (default: the repository's ``configs/``).
    task_settings, participant_settings, display_settings : mapping, optional
        Fields of ``[task]``, ``[participant]`` and ``[display]`` to replace.

    Raises
    ------
    FileNotFoundError
        The folder has no simulated configuration for ``task``.
    tasks.ConfigError
        A replaced value is not a field of its section.
    """
    from selectivity.config import ConfigError

    if task not in TASKS:
        raise ValueError(
            f"Invalid value for the 'task' parameter. Allowed values are {sorted(TASKS)}, "
            f"but got {task!r} instead."
        )
    path = Path(configs if configs is not None else CONFIGS) / (
        f"{task.replace('-', '_')}_simulated.toml"
    )
    if not path.is_file():
        raise FileNotFoundError(f"No simulated configuration of {task} at {path}.")
    config = load_config(path)
    changes = {"stimulus_set": Path(stimulus_set), **(task_settings or {})}
    lab = config.lab
    for section, values in (
        ("task", changes),
        ("participant", participant_settings or {}),
        ("display", display_settings or {}),
    ):
        target = config.task if section == "task" else getattr(lab, section)
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(target)})
        if unknown:
            raise ConfigError(
                f"{path}: [{section}] has no setting {unknown[0]!r} "
                f"(settings: {sorted(f.name for f in dataclasses.fields(target))})."
            )
    lab = dataclasses.replace(
        lab,
        participant=dataclasses.replace(lab.participant, **(participant_settings or {})),
        display=dataclasses.replace(lab.display, **(display_settings or {})),
    )
    return dataclasses.replace(config, task=dataclasses.replace(config.task, **changes), lab=lab)


def _run_participant(
    configs: list[tuple[str, ExperimentConfig[Any]]], participant: str, data_root: Path
) -> list[tuple[str, str, Path]]:
    """Run one participant's sessions in order (in a worker process)."""
    from .registry import get_task
    from .runtime.loop import run_task

    done = []
    for name, config in configs:
        folder = run_task(
            config,
            participant=participant,
            data_root=data_root,
            windowed=True,
            task=get_task(name),
        )
        done.append((participant, name, folder))
    return done


def simulate_study(
    stimulus_set: str | os.PathLike[str],
    data_root: str | os.PathLike[str],
    *,
    participants: int = 4,
    tasks: Iterable[str] | None = None,
    configs: str | os.PathLike[str] | None = None,
    task_settings: Mapping[str, Mapping[str, Any]] | None = None,
    participant_settings: Mapping[str, Any] | None = None,
    display_settings: Mapping[str, Any] | None = None,
    seed: int = 1,
    workers: int = 2,
    first_participant: int = 1,
    log: Callable[[str], None] | None = print,
) -> list[Path]:
    """Run every task for ``participants`` simulated participants; return the session folders.

    Participant ``p`` (labelled ``sim<p:02d>``) runs the tasks in the order given, each
    with the task seed ``seed * 1000 + p`` and the participant seed ``seed * 1000 + p``
    (so schedules, counterbalancing and answers differ between participants and are
    reproducible). ``workers`` participants run at once, each in its own process with its
    own window.

    Parameters
    ----------
    stimulus_set : path-like
        The stimulus-set file (with the planted map ``simulation/truth``).
    data_root : path-like
        Where the sessions go (``sub-sim01/ses-1/<task>/``, ...).
    participants : int
        How many simulated participants.
    tasks : iterable of str, optional
        Task names in the order each participant runs them (default: every task).
    configs : path-like, optional
        Folder of the simulated configurations (default: the repository's ``configs/``).
    task_settings : mapping, optional
        Task name -> ``[task]`` fields to replace (e.g. shorter durations).
    participant_settings, display_settings : mapping, optional
        ``[participant]`` and ``[display]`` fields to replace, for every task.
    seed : int
        Seed of the study (see above).
    workers : int
        Participants run at once (processes); 1 runs them in this process.
    first_participant : int
        Number of the first participant (to add participants to a data root).
    log : callable, optional
        Called with a line per finished participant.

    Returns
    -------
    list of Path
        The session folders, participant by participant, in task order.
    """
    names = list(tasks) if tasks is not None else list(TASKS)
    if participants < 1 or workers < 1:
        raise ValueError(
            f"participants and workers must be at least 1, got {participants} and {workers}."
        )
    root = Path(data_root)
    plans = []
    for p in range(first_participant, first_participant + participants):
        person = {**(participant_settings or {}), "seed": seed * 1000 + p}
        configs_p = [
            (
                name,
                simulated_config(
                    name,
                    stimulus_set,
                    configs=configs,
                    task_settings={**(task_settings or {}).get(name, {}), "seed": seed * 1000 + p},
                    participant_settings=person,
                    display_settings=display_settings,
                ),
            )
            for name in names
        ]
        plans.append((configs_p, f"sim{p:02d}"))
    results: dict[str, list[tuple[str, str, Path]]] = {}
    if workers == 1:
        for configs_p, label in plans:
            results[label] = _run_participant(configs_p, label, root)
            if log:
                log(f"participant {label}: {len(results[label])} sessions")
    else:
        import multiprocessing

        # PsychoPy makes its user folders (~/.psychopy3/packages/...) on first import, with
        # os.makedirs that fails when another process made one a moment before: make them
        # here, once, before several participants import PsychoPy at the same time.
        from psychopy import prefs  # noqa: F401

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {
                pool.submit(_run_participant, configs_p, label, root): label
                for configs_p, label in plans
            }
            for future in as_completed(futures):
                label = futures[future]
                results[label] = future.result()
                if log:
                    log(f"participant {label}: {len(results[label])} sessions")
    return [folder for _, label in plans for *_, folder in results[label]]
