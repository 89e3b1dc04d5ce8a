"""Eye trackers during a session: one interface, EyeLink through pylink, simulated, or none.

``base`` holds the interface (:class:`Tracker`) and :class:`NoTracker`;
``eyelink`` and ``simulated`` implement it; :func:`open_tracker`, here, picks
one from a lab configuration. Importing this package does not import pylink.
"""

from __future__ import annotations

from typing import Any

from ..screen import Screen
from ._faults import SimulatedFaults
from ._observer import SimulatedObserver
from .base import TRACKER_KINDS, NoTracker, Tracker, TrackerLinkLost
from .eyelink import EyeLinkTracker
from .mouse import MouseTracker
from .simulated import SimulatedTracker

__all__ = [
    "TRACKER_KINDS",
    "EyeLinkTracker",
    "MouseTracker",
    "NoTracker",
    "SimulatedFaults",
    "SimulatedObserver",
    "SimulatedTracker",
    "Tracker",
    "TrackerLinkLost",
    "open_tracker",
]


def open_tracker(
    kind: str,
    *,
    screen: Screen,
    address: str = "100.1.1.1",
    dummy: bool = False,
    sample_rate_hz: int = 1000,
    calibration_type: str = "HV9",
    eye: str = "LEFT",
    observer: Any = None,
    seed: int | None = None,
    faults: SimulatedFaults | None = None,
) -> Tracker:
    """Make the tracker a lab configuration asks for.

    Parameters
    ----------
    kind : {"eyelink", "simulated", "mouse", "none"}
        ``"eyelink"`` needs ``pylink`` (``pip install sr-research-pylink``);
        ``"simulated"`` writes an EyeLink-format ASC file from a simulated
        observer; ``"mouse"`` writes the same format with the mouse as the
        gaze (:class:`MouseTracker`: give it the window with ``attach`` or
        ``calibrate``); ``"none"`` records nothing.
    screen : Screen
        The display, for ``DISPLAY_COORDS`` and visual angles.
    address : str
        EyeLink Host PC address (EyeLink only).
    dummy : bool
        Use pylink's dummy connection, without hardware (EyeLink only).
    sample_rate_hz : int
        250, 500, 1000 or 2000.
    calibration_type : str
        EyeLink calibration type: ``"H3"``, ``"HV3"``, ``"HV5"``, ``"HV9"`` or ``"HV13"``.
    eye : {"LEFT", "RIGHT", "BOTH"}
        Eye(s) to record.
    observer : SimulatedObserver, optional
        Drives the simulated gaze (simulated only).
    seed : int, optional
        Seed of the simulated gaze (simulated only).
    faults : SimulatedFaults, optional
        Failures to simulate (simulated only).
    """
    if kind == "eyelink":
        return EyeLinkTracker(
            screen=screen,
            address=address,
            dummy=dummy,
            sample_rate_hz=sample_rate_hz,
            calibration_type=calibration_type,
            eye=eye,
        )
    if kind == "simulated":
        return SimulatedTracker(
            screen=screen,
            observer=observer,
            sample_rate_hz=sample_rate_hz,
            calibration_type=calibration_type,
            eye=eye,
            seed=seed,
            faults=faults,
        )
    if kind == "mouse":
        return MouseTracker(screen=screen)
    if kind == "none":
        return NoTracker()
    raise ValueError(
        f"Invalid value for the 'kind' parameter. Allowed values are {TRACKER_KINDS}, "
        f"but got {kind!r} instead."
    )
