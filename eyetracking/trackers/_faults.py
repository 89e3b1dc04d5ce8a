"""What a simulated tracker can be told to get wrong, to test a task's protocol."""

from __future__ import annotations

import dataclasses

from ._observer import check_number, invalid_value

__all__ = ["SimulatedFaults"]


def _count(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise invalid_value(name, "integers >= 0", value)
    return value


def _nth(name: str, value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise invalid_value(name, "None or integers >= 1", value)
    return value


@dataclasses.dataclass(frozen=True)
class SimulatedFaults:
    """Failures a :class:`SimulatedTracker` simulates; the default is none.

    Counts run from the moment the faults are given (the constructor's
    ``faults=``, or assigning ``tracker.faults``), so a test can break the
    session at any point.

    Parameters
    ----------
    drift_failures : int
        The next n drift-check attempts find the gaze ``drift_failure_deg``
        off the target: each is rejected, and the simulated operator presses
        Escape, which recalibrates before the next attempt.
    drift_failure_deg : float
        Offset of a failed drift check, degrees; above ``max_drift_deg``.
    max_drift_deg : float
        Largest offset a drift check accepts, degrees (EyeLink's
        ``drift_correction_rpt_error`` default is 2.0).
    calibration_failures : int
        The next n calibrations validate ``POOR`` (not accepted).
    fixation_timeouts : int
        In the next n :meth:`~SimulatedTracker.wait_for_fixation` calls the
        gaze never reaches the target: they time out.
    lose_link_at_trial : int, optional
        The link is lost at the n-th :meth:`~SimulatedTracker.start_trial`
        (its ``TRIALID`` is not written).
    lose_link_at_message : int, optional
        The link is lost at the n-th message sent (that message is not
        written); ``TRIALID``, ``!V`` and ``TRIAL_RESULT`` messages count.
    fail_transfer : bool
        :meth:`~SimulatedTracker.close` cannot "copy the file from the Host
        PC": the ASC file stays as ``<stem>.asc.pending`` and
        ``transfer_failure`` says so.
    """

    drift_failures: int = 0
    drift_failure_deg: float = 3.0
    max_drift_deg: float = 2.0
    calibration_failures: int = 0
    fixation_timeouts: int = 0
    lose_link_at_trial: int | None = None
    lose_link_at_message: int | None = None
    fail_transfer: bool = False

    def __post_init__(self) -> None:
        for name in ("drift_failures", "calibration_failures", "fixation_timeouts"):
            _count(name, getattr(self, name))
        for name in ("lose_link_at_trial", "lose_link_at_message"):
            _nth(name, getattr(self, name))
        check_number("max_drift_deg", self.max_drift_deg, low=0, strict=True)
        check_number(
            "drift_failure_deg", self.drift_failure_deg, low=self.max_drift_deg, strict=True
        )
        if not isinstance(self.fail_transfer, bool):
            raise invalid_value("fail_transfer", "True or False", self.fail_transfer)
