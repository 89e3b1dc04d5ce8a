"""Eye trackers during a session, and reading what they recorded into tidy tables.

Importing this package never imports ``pylink`` or ``psychopy``: the EyeLink
tracker loads them only when one is opened.
"""

from __future__ import annotations

from .asc import read_asc
from .coords import to_image_coords
from .eyelink import EyeLinkTracker
from .protocol import IMAGE_OFFSET, IMAGE_ONSET, ImagePlacement
from .recording import Recording
from .screen import Screen
from .simulated import SimulatedObserver, SimulatedTracker
from .tracker import TRACKER_KINDS, NoTracker, Tracker, open_tracker

__all__ = [
    "IMAGE_OFFSET",
    "IMAGE_ONSET",
    "TRACKER_KINDS",
    "EyeLinkTracker",
    "ImagePlacement",
    "NoTracker",
    "Recording",
    "Screen",
    "SimulatedObserver",
    "SimulatedTracker",
    "Tracker",
    "open_tracker",
    "read_asc",
    "to_image_coords",
]
