"""Eye trackers during a session, and reading what they recorded into tidy tables.

Importing this package never imports ``pylink`` or ``psychopy``: the EyeLink
tracker loads them only when one is opened.
"""

from __future__ import annotations

from .asc import read_asc
from .coords import to_image_coords
from .edf import EDF_CONVERTERS, read_edf
from .events import EVENT_DETECTORS, DetectedEvents, detect_events
from .export import EXPORT_TABLES, read_tsv, write_table_tsv, write_tsv
from .protocol import IMAGE_OFFSET, IMAGE_ONSET, ImagePlacement
from .quality import QUALITY_LEVELS, data_quality
from .recording import Recording
from .screen import Screen
from .trackers import (
    TRACKER_KINDS,
    EyeLinkTracker,
    MouseTracker,
    NoTracker,
    SimulatedFaults,
    SimulatedObserver,
    SimulatedTracker,
    Tracker,
    TrackerLinkLost,
    open_tracker,
)

__all__ = [
    "EDF_CONVERTERS",
    "EVENT_DETECTORS",
    "EXPORT_TABLES",
    "IMAGE_OFFSET",
    "IMAGE_ONSET",
    "QUALITY_LEVELS",
    "TRACKER_KINDS",
    "DetectedEvents",
    "EyeLinkTracker",
    "ImagePlacement",
    "MouseTracker",
    "NoTracker",
    "Recording",
    "Screen",
    "SimulatedFaults",
    "SimulatedObserver",
    "SimulatedTracker",
    "Tracker",
    "TrackerLinkLost",
    "data_quality",
    "detect_events",
    "open_tracker",
    "read_asc",
    "read_edf",
    "read_tsv",
    "to_image_coords",
    "write_table_tsv",
    "write_tsv",
]
