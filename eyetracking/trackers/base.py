"""The interface every tracker implements, and the tracker that records nothing."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
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
from ._fixation import check_fixation_options, fixation_result

__all__ = ["TRACKER_KINDS", "NoTracker", "Tracker", "TrackerLinkLost"]

#: Allowed values of ``tracker.kind`` in a lab configuration.
TRACKER_KINDS = ("eyelink", "simulated", "mouse", "none")


class TrackerLinkLost(RuntimeError):  # noqa: N818 (the name the runtime reads)
    """The connection to the eye tracker is gone (cable, Host PC, or a simulated fault).

    Raised by :meth:`Tracker.check_link` and by the calls that talk to the
    tracker once the link is lost. The data recorded so far stays where it is
    (the EDF on the Host PC); :meth:`Tracker.close` still runs without raising
    and records what it could not bring over in ``transfer_failure``.
    """


class Tracker(abc.ABC):
    """What a task needs from an eye tracker.

    A task opens the tracker in a ``with`` block; leaving the block, also
    through an exception or Escape, stops recording, closes the data file
    and brings it into the session's ``eye/`` folder.

    Subclasses implement :meth:`open`, :meth:`calibrate`, :meth:`drift_check`,
    :meth:`start_recording`, :meth:`stop_recording`, :meth:`send_message`,
    :meth:`time_ms` and :meth:`close`; trackers with gaze also
    :meth:`wait_for_fixation`, and those with a link :meth:`check_link`. The
    Data Viewer messages (``TRIALID``, ``!V IMGLOAD``, ``!V TRIAL_VAR``,
    ``TRIAL_RESULT``) are written here, once, on top of :meth:`send_message`.

    Per trial, a runtime calls (as in SR Research's examples)::

        tracker.check_link()                  # raises TrackerLinkLost
        tracker.drift_check(win, x, y)        # before every (n-th) trial, not recording
        tracker.start_trial(trial_id)         # TRIALID
        tracker.start_recording()
        tracker.wait_for_fixation(win, x, y, radius_px=..., duration_s=..., timeout_s=...)
        ...                                   # the trial: image_onset etc.
        tracker.stop_recording()
        tracker.log_trial_vars(row)           # !V TRIAL_VAR
        tracker.end_trial(code)               # TRIAL_RESULT

    and on a ``"timeout"`` from :meth:`wait_for_fixation`: stop recording, a
    drift check, :meth:`calibrate` when the drift check is not accepted, and
    the trial again.

    Attributes
    ----------
    transfer_failure : dict or None
        Set by :meth:`close` when the data file could not be brought into
        ``eye_dir``: ``host_file`` (its name on the Host PC), ``local_file``
        (where it should have gone), ``attempts``, ``error``,
        ``fetch_command`` (a shell command that fetches it later) and
        ``message`` (all of it in words, to print and to write into
        ``session.json``). None when the transfer worked or there was none.
    """

    #: ``"eyelink"``, ``"simulated"``, ``"mouse"`` or ``"none"``.
    kind: str = ""
    transfer_failure: dict[str, Any] | None = None

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
            The result as values, for ``session.json`` (empty for
            :class:`NoTracker`):

            - ``calibration_type`` : str, e.g. ``"HV9"``.
            - ``result`` : str, ``"ok"``, ``"poor"``, ``"failed"``,
              ``"aborted"`` or ``"no result"``.
            - ``accepted`` : bool, whether the calibration can be used (a
              ``GOOD`` or ``FAIR`` validation, or ``"ok"`` without one).
            - ``eyes`` : dict, per eye (``"LEFT"``, ``"RIGHT"``) where known:
              ``calibration`` and ``validation`` (EyeLink's ratings ``GOOD``,
              ``FAIR``, ``POOR``, or None), ``error_avg_deg`` and
              ``error_max_deg`` (float, degrees), ``offset_deg`` and
              ``offset_px`` (the mean offset, ``[dx, dy]`` in pixels) and
              ``points``, a list of ``{"x_px", "y_px", "offset_deg",
              "offset_px"}`` per validation target (empty where the tracker
              does not report them over the link).
            - ``message`` : str, the tracker's own text (``!CAL`` and
              ``VALIDATE`` lines where it writes them).
            - ``result_code`` : int or None, the tracker's code.
        """

    @abc.abstractmethod
    def drift_check(self, win: Any, x_px: float, y_px: float) -> dict[str, Any]:
        """Drift check at screen position ``(x_px, y_px)`` (origin top-left, y down).

        Call it while not recording. Escape during the check (the operator's
        key) opens camera setup for a recalibration, after which the check is
        repeated, a bounded number of times.

        Returns
        -------
        dict
            The result as values (empty for :class:`NoTracker`):

            - ``x_px``, ``y_px`` : int, the target.
            - ``result`` : str, ``"ok"``, ``"failed"`` (offset too large or
              every attempt ended in Escape), or ``"skipped"`` (pylink dummy
              mode, which has no drift check).
            - ``accepted`` : bool, whether the last attempt was accepted.
            - ``attempts`` : int, drift checks tried.
            - ``recalibrated`` : bool, whether camera setup ran in between;
              ``calibrations`` : list of the :meth:`calibrate` results made then.
            - ``eyes`` : dict, per eye where known: ``offset_deg`` (float,
              degrees) and ``offset_px`` (``[dx, dy]``, pixels) of the gaze from
              the target, from the tracker's ``DRIFTCORRECT`` text.
            - ``offset_deg`` : float or None, the largest offset of the eyes.
            - ``message`` : str, the tracker's text; ``result_code`` : int or None.
        """

    def wait_for_fixation(
        self,
        win: Any,
        x_px: float,
        y_px: float,
        *,
        radius_px: float,
        duration_s: float,
        timeout_s: float,
        draw: Callable[[], object] | None = None,
    ) -> dict[str, Any]:
        """Wait, flipping ``win`` each frame, until the gaze rests on ``(x_px, y_px)``.

        The gaze-contingent start of a trial: returns once the gaze has stayed
        within ``radius_px`` of the target for ``duration_s``, or after
        ``timeout_s``. Recording must be on (call :meth:`start_recording`
        first, after :meth:`start_trial`): the gaze comes from the samples.
        This base implementation, for trackers without gaze
        (:class:`NoTracker`), returns at once with ``result`` ``"no tracker"``.

        Parameters
        ----------
        win : psychopy.visual.Window
            Flipped once per frame, after ``draw``.
        x_px, y_px : float
            The fixation target, screen pixels (origin top-left, y down).
        radius_px : float
            Largest distance of the gaze from the target, pixels (> 0).
        duration_s : float
            How long the gaze must stay within it, seconds (>= 0).
        timeout_s : float
            When to give up, seconds from the first flip (> 0).
        draw : callable, optional
            Draws the fixation target; called before every flip.

        Returns
        -------
        dict
            ``result`` (``"fixated"``, ``"timeout"``, ``"no samples (dummy
            mode)"`` or ``"no tracker"``), ``fixated`` (bool),
            ``time_to_fixate_s`` (first flip to the start of the gaze that
            held, seconds; None unless fixated), ``elapsed_s``, ``n_frames``,
            ``n_samples``, and the options ``x_px``, ``y_px``, ``radius_px``,
            ``duration_s``, ``timeout_s``.
        """
        options = check_fixation_options(x_px, y_px, radius_px, duration_s, timeout_s)
        return fixation_result("no tracker", *options)

    def check_link(self) -> None:
        """Raise :class:`TrackerLinkLost` if the connection to the tracker is gone.

        Cheap enough to call before every trial. Trackers without a link
        (:class:`NoTracker`, the mouse) never raise.

        Raises
        ------
        TrackerLinkLost
            With a message for the experimenter saying what to check.
        """
        return None

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

        A transfer that fails (after retries) raises nothing: it is recorded in
        :attr:`transfer_failure` (and :meth:`settings`) with the command that
        fetches the file later. After a lost link, closing raises nothing and
        keeps what exists.

        Returns
        -------
        list of Path
            The files now in ``eye_dir`` (empty when the tracker records none).
        """

    def settings(self) -> dict[str, Any]:
        """Tracker model and settings, for ``session.json``."""
        return {"kind": self.kind}

    def recover_file(self, host_file: str, local: Path) -> Path:
        """Bring the data file of an earlier, interrupted run to ``local`` (after :meth:`open`).

        For a session killed before or while :meth:`close` copied its file: the
        tracker still holds ``host_file``. A partial copy at ``local`` is moved
        aside to ``<name>.partial-<n>`` first; nothing is overwritten.

        Returns
        -------
        Path
            The recovered file.

        Raises
        ------
        RuntimeError
            When the file cannot be brought (the message says where it is).
        """
        raise RuntimeError(f"The {self.kind} tracker cannot fetch {host_file} to {local}.")

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


def set_aside(path: Path) -> Path | None:
    """Move ``path`` (a partial copy) to a free ``<name>.partial-<n>``; None when absent."""
    import os

    if not path.exists():
        return None
    n = 1
    while (aside := path.with_name(f"{path.name}.partial-{n}")).exists():
        n += 1
    os.replace(path, aside)
    return aside


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
