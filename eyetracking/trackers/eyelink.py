"""The EyeLink tracker through SR Research's ``pylink``, behind the :class:`Tracker` interface."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..protocol import display_coords_message
from ..screen import Screen
from ._eyelink_setup import (
    CALIBRATION_RESULTS,
    MAX_MESSAGE_BYTES,
    check_edf_stem,
    check_message,
    check_options,
    host_version,
    import_pylink,
    model_name,
    receive_edf,
    receive_edf_retrying,
    setup_commands,
)
from ._fixation import check_fixation_options, fixation_result, wait_loop
from ._host_text import calibration_values, drift_values, validation_accepted
from ._observer import check_number
from .base import Tracker, TrackerLinkLost, set_aside

__all__ = ["MAX_MESSAGE_BYTES", "EyeLinkTracker"]

logger = logging.getLogger(__name__)

#: ms of data recorded before the first stimulus and after the last one, so
#: that the tracker's parser sees whole fixations (as in SR Research's examples).
_PAD_MS = 100
#: ``trackerTime()`` returns 2**32 - 1 when there is no tracker clock.
_NO_TIME = 4294967295.0
#: pylink's value of a gaze coordinate that is missing (blink, lost pupil).
_MISSING = -32768.0
_LOST = (
    "The link to the EyeLink Host PC is lost: check the Ethernet cable and that the Host PC "
    "is on and in the EyeLink software. Finished trials and the EDF file on the Host PC are "
    "kept; resume the session once the tracker is back."
)


class EyeLinkTracker(Tracker):
    """An EyeLink eye tracker controlled through ``pylink``.

    Parameters
    ----------
    screen : Screen
        The participant's display; its resolution is sent as
        ``screen_pixel_coords`` and ``DISPLAY_COORDS``.
    address : str
        IPv4 address of the EyeLink Host PC.
    dummy : bool
        Use pylink's dummy connection (no hardware). Every call runs, nothing
        is recorded: no EDF file is made, drift checks are skipped, and
        :meth:`time_ms` reads pylink's local clock.
    sample_rate_hz : {250, 500, 1000, 2000}
        Sampling rate, sent where the model accepts ``sample_rate`` (EyeLink
        1000 and later).
    calibration_type : {"H3", "HV3", "HV5", "HV9", "HV13"}
        EyeLink calibration type.
    eye : {"LEFT", "RIGHT", "BOTH"}
        Eye(s) to record.
    transfer_attempts : int
        Tries of ``receiveDataFile`` in :meth:`close` before giving up (>= 1).
    transfer_pause_s : float
        Pause between those tries, seconds.

    Attributes
    ----------
    transfer_failure : dict or None
        After :meth:`close`, when the EDF file stayed on the Host PC: its name,
        the error and the command that fetches it (see :class:`Tracker`).

    Notes
    -----
    The sequence follows SR Research's PsychoPy examples: connect, go offline,
    open the EDF file, configure, calibrate in the experiment's window,
    ``startRecording(1, 1, 1, 1)`` per trial with 100 ms of data before the
    stimulus and after it, and on closing bring the EDF file to ``eye_dir``.
    """

    kind = "eyelink"

    def __init__(
        self,
        *,
        screen: Screen,
        address: str = "100.1.1.1",
        dummy: bool = False,
        sample_rate_hz: int = 1000,
        calibration_type: str = "HV9",
        eye: str = "LEFT",
        transfer_attempts: int = 3,
        transfer_pause_s: float = 2.0,
    ) -> None:
        if not isinstance(screen, Screen):
            raise TypeError(f"The 'screen' parameter must be a Screen, got {type(screen).__name__}")
        if not isinstance(transfer_attempts, int) or transfer_attempts < 1:
            raise ValueError(
                "Invalid value for the 'transfer_attempts' parameter. Allowed values are "
                f"integers >= 1, but got {transfer_attempts!r} instead."
            )
        self.transfer_attempts = transfer_attempts
        self.transfer_pause_s = check_number(
            "transfer_pause_s", transfer_pause_s, low=0, strict=False
        )
        check_options(
            address=address,
            dummy=dummy,
            sample_rate_hz=sample_rate_hz,
            calibration_type=calibration_type,
            eye=eye,
        )
        self.screen = screen
        self.address = address
        self.dummy = bool(dummy)
        self.sample_rate_hz = sample_rate_hz
        self.calibration_type = calibration_type
        self.eye = eye
        self._pylink: Any = None
        self._el: Any = None
        self._graphics: Any = None
        self._graphics_win: Any = None
        self._eye_dir: Path | None = None
        self._edf_name: str | None = None
        self._data_file_open = False
        self._recording = False
        self._closed = False
        self._files: list[Path] = []
        self._version_string = ""
        self._host_version = 0
        self._sample_rate_set = False
        self._link_lost = False
        self.transfer_failure: dict[str, Any] | None = None

    def open(self, eye_dir: Path, file_stem: str) -> None:
        """Connect, open ``<file_stem>.EDF`` on the Host PC and configure the tracker.

        Parameters
        ----------
        eye_dir : Path
            Folder where :meth:`close` puts the EDF file (created if missing).
        file_stem : str
            1 to 8 letters, digits or underscores (an EyeLink Host PC limit).

        Raises
        ------
        ValueError
            If ``file_stem`` is not a valid EDF name.
        RuntimeError
            If the Host PC cannot be reached or refuses the data file.
        """
        check_edf_stem(file_stem)
        if self._el is not None or self._closed:
            raise RuntimeError("This EyeLinkTracker was already opened or closed; make a new one.")
        self._pylink = import_pylink()
        self._eye_dir = Path(eye_dir)
        self._eye_dir.mkdir(parents=True, exist_ok=True)
        self._connect()
        el = self._connection()
        el.setOfflineMode()
        edf_name = f"{file_stem}.EDF"
        try:
            code = el.openDataFile(edf_name)
        except RuntimeError as err:
            raise RuntimeError(
                f"The EyeLink Host PC could not open the data file {edf_name!r}: {err}"
            ) from err
        if code:
            raise RuntimeError(
                f"The EyeLink Host PC could not open the data file {edf_name!r} (error {code})."
            )
        self._edf_name = edf_name
        self._data_file_open = True
        self._configure()

    def _connect(self) -> None:
        pylink = self._pylink
        if self.dummy:
            self._el = pylink.EyeLink(None)
            logger.info("EyeLink dummy mode: nothing is recorded and no EDF file is made.")
            return
        try:
            self._el = pylink.EyeLink(self.address)
        except RuntimeError as err:
            raise RuntimeError(
                f"Could not connect to the EyeLink Host PC at {self.address}: {err}. Check "
                "that the Host PC is on and running the EyeLink software, that the Ethernet "
                "cable is plugged in and that this computer's address is on the tracker's "
                "network (e.g. 100.1.1.2); or open the tracker with dummy=True to run "
                "without one."
            ) from err
        self._version_string = str(self._el.getTrackerVersionString() or "")
        self._host_version = host_version(self._version_string)

    def _configure(self) -> None:
        width, height = self.screen.size_px
        # EyeLink I and II take no sample_rate command; dummy mode takes any.
        self._sample_rate_set = self.dummy or self._host_version >= 3
        for command in setup_commands(
            self.screen,
            calibration_type=self.calibration_type,
            sample_rate_hz=self.sample_rate_hz if self._sample_rate_set else None,
            eye=self.eye,
            htarget=self._host_version > 3,
        ):
            self._command(command)
        self.send_message(display_coords_message(width, height))
        if not self._sample_rate_set:
            warnings.warn(
                f"The tracker ({self._version_string!r}) takes no sample_rate command: it "
                f"records at its own setting, not necessarily {self.sample_rate_hz} Hz.",
                stacklevel=3,
            )
        self._pylink.flushGetkeyQueue()

    def _command(self, text: str) -> None:
        code = self._connection().sendCommand(text)
        logger.debug("EyeLink command %r -> %r", text, code)
        if code:
            warnings.warn(f"EyeLink command {text!r} failed (error {code}).", stacklevel=3)

    def _connection(self) -> Any:
        if self._el is None:
            state = "closed" if self._closed else "not open: call open() first"
            raise RuntimeError(f"The EyeLink tracker is {state}.")
        return self._el

    def _use_window(self, win: Any) -> None:
        """Hand pylink a calibration display drawing into ``win`` (once per window)."""
        if self._graphics is not None and self._graphics_win is win:
            return
        from ._eyelink_graphics import PsychoPyCalibrationDisplay

        self._release_graphics()
        if tuple(int(v) for v in win.size) != self.screen.size_px:
            warnings.warn(
                f"The window is {tuple(win.size)} px but the screen is {self.screen.size_px} "
                "px: calibration targets are placed in screen pixels.",
                stacklevel=3,
            )
        target_px = max(8, round(0.7 * self.screen.px_per_deg))
        graphics = PsychoPyCalibrationDisplay(
            win,
            screen_size_px=self.screen.size_px,
            target_size_px=target_px,
            dummy=self.dummy,
        )
        self._pylink.openGraphicsEx(graphics)
        self._graphics, self._graphics_win = graphics, win

    def calibrate(self, win: Any) -> dict[str, Any]:
        """Camera setup, calibration and validation in ``win`` (``doTrackerSetup``).

        The operator drives the Setup menu from the keyboard: Enter shows the
        camera image, C calibrates, V validates, Esc or O leaves. In dummy
        mode the Setup menu opens and is left at once.

        Returns
        -------
        dict
            The keys of :meth:`Tracker.calibrate`. ``result`` and
            ``result_code`` come from ``getCalibrationResult()``; ``message``
            is ``getCalibrationMessage()``, the Host PC's text on the last
            calibration or validation, and ``eyes`` holds what that text says
            (ratings, average and maximum error, offset, and per-point
            offsets when it lists ``VALIDATE`` lines). The full ``!CAL`` and
            ``VALIDATE`` lines are always in the EDF file (``read_edf`` ->
            ``Recording.validations`` and ``validation_points``).
            ``accepted`` is True when the result is ``"ok"`` and no eye's
            validation is ``POOR``; in dummy mode, where nothing can be
            calibrated, it is True and ``note`` says why.
        """
        el = self._connection()
        self._use_window(win)
        self._pylink.flushGetkeyQueue()
        try:
            el.doTrackerSetup()
        except RuntimeError as err:
            el.exitCalibration()
            self._raise_if_lost()
            raise RuntimeError(f"EyeLink camera setup / calibration failed: {err}") from err
        code = int(el.getCalibrationResult())
        message = str(el.getCalibrationMessage() or "")
        eyes = calibration_values(message)
        validated = validation_accepted(eyes)
        result: dict[str, Any] = {
            "calibration_type": self.calibration_type,
            "result": CALIBRATION_RESULTS.get(code, "unknown"),
            "accepted": self.dummy or (code == 0 and validated is not False),
            "eyes": eyes,
            "message": message,
            "result_code": code,
        }
        if self.dummy:
            result["note"] = "dummy mode: no calibration was made"
        return result

    def drift_check(
        self, win: Any, x_px: float, y_px: float, *, max_attempts: int = 3
    ) -> dict[str, Any]:
        """Drift check on a target at ``(x_px, y_px)`` (screen pixels, origin top-left).

        SR Research's loop: ``doDriftCorrect(x, y, 1, 0)`` draws the target and
        waits for the operator to accept the fixation (Space or Enter on the
        Host PC or here). Escape returns ``27``: camera setup then opens
        (:meth:`calibrate`, whose result is kept) and the check is repeated,
        at most ``max_attempts`` checks in all. ``allow_setup`` is 0 so that
        this method, not pylink, opens the Setup menu and so knows the
        recalibration's result. As on the EyeLink 1000 and later by default,
        the offset is checked, not applied.

        Dummy mode has no drift check (pylink raises "Invalid tracker mode"):
        it is skipped, ``result`` is ``"skipped"`` and ``accepted`` True.

        Returns
        -------
        dict
            The keys of :meth:`Tracker.drift_check`; ``eyes`` and
            ``offset_deg`` are read from ``getCalibrationMessage()`` (the
            Host PC's ``DRIFTCORRECT ... OFFSET <deg> deg. <dx>,<dy> pix.``
            text) and are empty / None where it holds no offset.

        Raises
        ------
        TrackerLinkLost
            If the link to the Host PC is gone.
        """
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(
                "Invalid value for the 'max_attempts' parameter. Allowed values are integers "
                f">= 1, but got {max_attempts!r} instead."
            )
        el = self._connection()
        self._use_window(win)
        x, y = round(float(x_px)), round(float(y_px))
        out: dict[str, Any] = {
            "x_px": x,
            "y_px": y,
            "attempts": 0,
            "recalibrated": False,
            "calibrations": [],
            "eyes": {},
            "offset_deg": None,
            "result_code": None,
        }
        code = self._pylink.ESC_KEY
        while out["attempts"] < max_attempts:
            out["attempts"] += 1
            try:
                code = int(el.doDriftCorrect(x, y, 1, 0))
            except RuntimeError as err:
                if self.dummy:
                    logger.info("EyeLink dummy mode: drift check skipped (%s).", err)
                    return {**out, "result": "skipped", "accepted": True, "message": str(err)}
                self._raise_if_lost()
                raise RuntimeError(f"EyeLink drift check at ({x}, {y}) failed: {err}") from err
            if code != self._pylink.ESC_KEY:
                break
            if out["attempts"] < max_attempts:
                out["calibrations"].append(self.calibrate(win))
                out["recalibrated"] = True
        if code not in (0, self._pylink.ESC_KEY):
            self._raise_if_lost()
        message = str(el.getCalibrationMessage() or "")
        eyes = drift_values(message, default_eye=None if self.eye == "BOTH" else self.eye)
        offsets = [e["offset_deg"] for e in eyes.values()]
        return {
            **out,
            "result": "ok" if code == 0 else "failed",
            "accepted": code == 0,
            "eyes": eyes,
            "offset_deg": max(offsets) if offsets else None,
            "result_code": code,
            "message": message,
        }

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
        """Wait until the gaze rests on ``(x_px, y_px)``: the gaze-contingent trial start.

        See :meth:`Tracker.wait_for_fixation`. The gaze is that of the newest
        link sample (``getNewestSample()``) of the recorded eye, the left one
        when both are recorded, in screen pixels, timed on the tracker clock.
        Recording must be on. In dummy mode pylink has no samples: this
        returns at once with ``result`` ``"no samples (dummy mode)"``.

        Raises
        ------
        RuntimeError
            If not recording.
        """
        options = check_fixation_options(x_px, y_px, radius_px, duration_s, timeout_s)
        el = self._connection()
        if not self._recording:
            raise RuntimeError("wait_for_fixation needs recording on: call start_recording() first")
        if self.dummy:
            return fixation_result("no samples (dummy mode)", *options)
        right = int(el.eyeAvailable()) == 1

        def gaze(now_ms: float) -> tuple[float, float, float] | None:
            sample = el.getNewestSample()
            if sample is None:
                return None
            if right and sample.isRightSample():
                data = sample.getRightEye()
            elif not right and sample.isLeftSample():
                data = sample.getLeftEye()
            else:
                return None
            gx, gy = (float(v) for v in data.getGaze())
            if _MISSING in (gx, gy) or abs(gx) > 1e7 or abs(gy) > 1e7:
                return None
            return float(sample.getTime()), gx, gy

        x, y, radius, duration, timeout = options
        return wait_loop(
            win,
            x_px=x,
            y_px=y,
            radius_px=radius,
            duration_s=duration,
            timeout_s=timeout,
            draw=draw,
            clock_ms=self.time_ms,
            gaze=gaze,
        )

    def check_link(self) -> None:
        """Raise :class:`TrackerLinkLost` if ``isConnected()`` says the Host PC is gone.

        Dummy mode is always connected.
        """
        if self._link_lost:
            raise TrackerLinkLost(_LOST)
        if self._el is None:
            return
        self._raise_if_lost()

    def _raise_if_lost(self) -> None:
        if self._el is not None and not self.dummy:
            try:
                connected = self._el.isConnected()
            except RuntimeError:
                connected = 0
            if not connected:
                self._link_lost = True
        if self._link_lost:
            raise TrackerLinkLost(_LOST)

    def start_recording(self) -> None:
        """Record samples and events to the file and the link, with 100 ms lead-in.

        Raises
        ------
        TrackerLinkLost
            If the link to the Host PC is gone.
        RuntimeError
            If the tracker refuses to record or sends no data within 1 s.
        """
        el = self._connection()
        pylink = self._pylink
        el.setOfflineMode()
        try:
            code = el.startRecording(1, 1, 1, 1)
        except RuntimeError as err:
            self._raise_if_lost()
            raise RuntimeError(f"EyeLink could not start recording: {err}") from err
        if code:
            self._raise_if_lost()
            raise RuntimeError(f"EyeLink could not start recording (error {code}).")
        self._recording = True
        if not el.waitForBlockStart(1000, 1, 0):
            self.stop_recording()
            raise RuntimeError(
                "EyeLink started recording but sent no samples within 1 s: check the camera "
                "image and the link."
            )
        pylink.pumpDelay(_PAD_MS)

    def stop_recording(self) -> None:
        """Record 100 ms more, then stop (nothing happens when not recording)."""
        if not self._recording:
            return
        el = self._connection()
        self._recording = False
        self._pylink.pumpDelay(_PAD_MS)
        el.stopRecording()

    def send_message(self, text: str) -> None:
        """Write ``text`` into the EDF file, stamped with the tracker clock.

        Raises
        ------
        ValueError
            If ``text`` is empty, spans lines or is longer than
            :data:`MAX_MESSAGE_BYTES` (130) bytes in UTF-8, which EyeLink
            would cut.
        TrackerLinkLost
            If the message was refused because the link is gone.
        """
        code = self._connection().sendMessage(check_message(text))
        if code:
            self._raise_if_lost()
            warnings.warn(f"EyeLink message {text!r} was not sent (error {code}).", stacklevel=2)

    def time_ms(self) -> float:
        """The tracker clock now, in ms (``trackerTime()``).

        In dummy mode there is no tracker clock (pylink returns 2**32 - 1):
        this returns pylink's local clock instead, in ms since pylink was
        loaded (``currentDoubleUsec() / 1000``). With a real tracker whose
        clock cannot be read (link lost), it warns and returns NaN.
        """
        el = self._connection()
        if self.dummy:
            return float(self._pylink.currentDoubleUsec()) / 1000.0
        now = float(el.trackerTime())
        if now >= _NO_TIME or now < 0:
            warnings.warn("The EyeLink tracker clock could not be read.", stacklevel=2)
            return float("nan")
        return now

    def close(self) -> list[Path]:
        """Stop recording, close the EDF file, copy it into ``eye_dir`` and disconnect.

        Every step is tried even when an earlier one fails; the first error is
        raised at the end, unless the link is lost: then every failure is
        logged and nothing is raised. An existing local file is never
        overwritten: the copy then gets a free name ``<stem>_<n>.edf`` and a
        warning says so. Safe to call more than once.

        ``receiveDataFile`` is tried ``transfer_attempts`` times,
        ``transfer_pause_s`` apart. When the EDF file still could not be
        copied, nothing is raised: :attr:`transfer_failure` (also in
        :meth:`settings`) names the file on the Host PC and holds the pylink
        one-liner that fetches it later, and an error is logged.

        Returns
        -------
        list of Path
            The EDF file in ``eye_dir``; empty in dummy mode, which records none.
        """
        if self._closed:
            return list(self._files)
        self._closed = True
        with contextlib.suppress(TrackerLinkLost):  # only to note the loss
            self._raise_if_lost()
        steps: list[Callable[[], None]] = [
            self._stop_for_close,
            self._close_data_file,
            self._receive_data_file,
            self._disconnect,
            self._release_graphics,
        ]
        errors: list[BaseException] = []
        for step in steps:
            try:
                step()
            except BaseException as err:
                logger.error("Closing the EyeLink tracker: %s failed: %r", step.__name__, err)
                errors.append(err)
        if errors and self._link_lost:
            logger.warning("The EyeLink link was lost: %d closing step(s) failed.", len(errors))
        elif errors:
            first = errors[0]
            for other in errors[1:]:
                if hasattr(first, "add_note"):
                    first.add_note(f"Also failed while closing the EyeLink tracker: {other!r}")
            raise first
        return list(self._files)

    def _stop_for_close(self) -> None:
        if self._el is None:
            return
        try:
            if self._recording:
                self.stop_recording()
        finally:
            self._el.setOfflineMode()

    def _close_data_file(self) -> None:
        if not self._data_file_open or self._el is None:
            return
        self._data_file_open = False
        if not self.dummy:
            # SR Research's examples let the Host PC settle before closing the file.
            self._pylink.pumpDelay(500)
        self._el.closeDataFile()

    def _receive_data_file(self) -> None:
        if self.dummy or self._edf_name is None or self._el is None or self._eye_dir is None:
            return
        pylink = self._pylink
        local, failure = receive_edf_retrying(
            self._el,
            self._edf_name,
            self._eye_dir,
            attempts=self.transfer_attempts,
            pause_s=self.transfer_pause_s,
            address=self.address,
            sleep=lambda s: pylink.pumpDelay(round(s * 1000)),
        )
        if local is not None:
            self._files.append(local)
        else:
            self.transfer_failure = failure
            logger.error("%s", failure["message"] if failure else "EDF transfer failed")

    def recover_file(self, host_file: str, local: Path) -> Path:
        """Copy an earlier run's EDF ``host_file`` from the Host PC to ``local`` (a partial
        copy there is moved aside first; see :meth:`Tracker.recover_file`)."""
        if self.dummy or self._el is None:
            raise RuntimeError(
                f"Cannot fetch {host_file}: the EyeLink tracker is not connected (or in dummy "
                "mode). It is still on the Host PC."
            )
        set_aside(Path(local))
        got = receive_edf(self._el, host_file, Path(local).parent)
        if got != Path(local):
            os.replace(got, local)
        return Path(local)

    def _disconnect(self) -> None:
        el, self._el = self._el, None
        if el is not None:
            el.close()

    def _release_graphics(self) -> None:
        graphics, self._graphics, self._graphics_win = self._graphics, None, None
        if graphics is not None:
            self._pylink.closeGraphics()

    def settings(self) -> dict[str, Any]:
        """Model, connection and recording settings, for ``session.json``."""
        settings = super().settings()
        settings.update(
            model=None if self.dummy else model_name(self._host_version),
            tracker_version=self._version_string or None,
            address=None if self.dummy else self.address,
            dummy=self.dummy,
            sample_rate_hz=self.sample_rate_hz,
            sample_rate_set=self._sample_rate_set,
            calibration_type=self.calibration_type,
            eye=self.eye,
            edf_file=None if self.dummy else self._edf_name,
            local_files=[str(p) for p in self._files],
            transfer_failure=self.transfer_failure,
            link_lost=self._link_lost,
        )
        if self.dummy:
            settings["note"] = "pylink dummy mode: no eye data and no EDF file were recorded"
        return settings
