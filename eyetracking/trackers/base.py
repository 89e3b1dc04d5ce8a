"""The interface every tracker implements, and the tracker that records nothing."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from ..protocol import (
    ImagePlacement,
    imgload_message,
    trial_result_message,
    trial_var_message,
    trialid_message,
)

__all__ = ["TRACKER_KINDS", "NoTracker", "Tracker"]

#: Allowed values of ``tracker.kind`` in a lab configuration.
TRACKER_KINDS = ("eyelink", "simulated", "mouse", "none")


class Tracker(abc.ABC):
    """What a task needs from an eye tracker.

    A task opens the tracker in a ``with`` block; leaving the block, also
    through an exception or Escape, stops recording, closes the data file
    and brings it into the session's ``eye/`` folder.

    Subclasses implement :meth:`open`, :meth:`calibrate`, :meth:`drift_check`,
    :meth:`start_recording`, :meth:`stop_recording`, :meth:`send_message`,
    :meth:`time_ms` and :meth:`close`. The Data Viewer messages
    (``TRIALID``, ``!V IMGLOAD``, ``!V TRIAL_VAR``, ``TRIAL_RESULT``) are
    written here, once, on top of :meth:`send_message`.
    """

    #: ``"eyelink"``, ``"simulated"`` or ``"none"``.
    kind: str = ""

    def __enter__(self) -> Tracker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @abc.abstractmethod
    def open(self, eye_dir: Path, file_stem: str) -> None:
        """Connect, open the data file ``file_stem`` and send ``DISPLAY_COORDS``.

        Parameters
        ----------
        eye_dir : Path
            Folder where :meth:`close` puts the tracker's file(s).
        file_stem : str
            Base name of the data file, without extension. EyeLink allows at
            most 8 characters (letters, digits, underscore).
        """

    @abc.abstractmethod
    def calibrate(self, win: Any) -> dict[str, Any]:
        """Run camera setup, calibration and validation in the PsychoPy window ``win``.

        Returns
        -------
        dict
            What is known of the result (for ``session.json``), possibly empty.
        """

    @abc.abstractmethod
    def drift_check(self, win: Any, x_px: float, y_px: float) -> dict[str, Any]:
        """Drift check at screen position ``(x_px, y_px)`` (origin top-left, y down)."""

    @abc.abstractmethod
    def start_recording(self) -> None:
        """Start recording samples and events to the data file."""

    @abc.abstractmethod
    def stop_recording(self) -> None:
        """Stop recording; the data file then holds the finished block."""

    @abc.abstractmethod
    def send_message(self, text: str) -> None:
        """Write a message, stamped with the tracker clock now, into the data file."""

    @abc.abstractmethod
    def time_ms(self) -> float:
        """The tracker clock now, in ms (the clock of the data file's time stamps)."""

    @abc.abstractmethod
    def close(self) -> list[Path]:
        """Stop, close the data file and bring it into ``eye_dir``; safe to call twice.

        Returns
        -------
        list of Path
            The files now in ``eye_dir`` (empty when the tracker records none).
        """

    def settings(self) -> dict[str, Any]:
        """Tracker model and settings, for ``session.json``."""
        return {"kind": self.kind}

    def start_trial(self, trial_id: int | str) -> None:
        """Send ``TRIALID <trial_id>`` (before :meth:`start_recording`)."""
        self.send_message(trialid_message(trial_id))

    def log_image(self, image_id: str, path: str, placement: ImagePlacement) -> None:
        """Send ``!V IMGLOAD`` for the image about to be shown.

        Parameters
        ----------
        image_id : str
            Stimulus id in the stimulus set (used by the simulated tracker).
        path : str
            Image path as Data Viewer should find it, relative to the EDF
            file's folder; no white space.
        placement : ImagePlacement
            Where the image is drawn, in screen pixels.
        """
        self.send_message(imgload_message(path, placement))

    def log_trial_vars(self, values: Mapping[str, object]) -> None:
        """Send one ``!V TRIAL_VAR <name> <value>`` message per item."""
        for name, value in values.items():
            self.send_message(trial_var_message(name, value))

    def end_trial(self, code: int = 0) -> None:
        """Send ``TRIAL_RESULT <code>`` (after :meth:`stop_recording`)."""
        self.send_message(trial_result_message(code))


class NoTracker(Tracker):
    """For tasks run without eye tracking: every call succeeds and nothing is recorded.

    Its clock is the experiment's clock in ms, so ``onset_tracker_ms`` in
    ``trials.tsv`` is still filled, and equals ``onset_s * 1000``.
    """

    kind = "none"

    def __init__(self) -> None:
        from time import perf_counter

        self._clock = perf_counter

    def open(self, eye_dir: Path, file_stem: str) -> None:
        return None

    def calibrate(self, win: Any) -> dict[str, Any]:
        return {}

    def drift_check(self, win: Any, x_px: float, y_px: float) -> dict[str, Any]:
        return {}

    def start_recording(self) -> None:
        return None

    def stop_recording(self) -> None:
        return None

    def send_message(self, text: str) -> None:
        return None

    def time_ms(self) -> float:
        return self._clock() * 1000.0

    def close(self) -> list[Path]:
        return []
