"""The runtime every task shares: session folder, window, tracker, schedule, responses, the loop."""

from __future__ import annotations

from .setup import (
    EDF_STEM_MAX,
    SIMULATION_TRUTH_SOURCE,
    check_eye_file_names,
    eye_file_stem,
    open_session,
    open_session_tracker,
    resolve_seed,
    shuffled_schedule,
    simulated_observer,
)

__all__ = [
    "EDF_STEM_MAX",
    "SIMULATION_TRUTH_SOURCE",
    "check_eye_file_names",
    "eye_file_stem",
    "open_session",
    "open_session_tracker",
    "resolve_seed",
    "shuffled_schedule",
    "simulated_observer",
]
