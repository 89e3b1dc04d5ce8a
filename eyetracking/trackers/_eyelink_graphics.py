"""PsychoPy drawing and keys for pylink's camera setup, calibration and drift check."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pylink
from numpy.typing import NDArray
from PIL import Image, ImageDraw
from psychopy import colors, event, visual

__all__ = ["PsychoPyCalibrationDisplay"]

logger = logging.getLogger(__name__)

#: PsychoPy key names -> pylink key codes (others: letters and digits as themselves).
_KEYS = {
    "f1": pylink.F1_KEY,
    "f2": pylink.F2_KEY,
    "f3": pylink.F3_KEY,
    "f4": pylink.F4_KEY,
    "f5": pylink.F5_KEY,
    "f6": pylink.F6_KEY,
    "f7": pylink.F7_KEY,
    "f8": pylink.F8_KEY,
    "f9": pylink.F9_KEY,
    "f10": pylink.F10_KEY,
    "pageup": pylink.PAGE_UP,
    "pagedown": pylink.PAGE_DOWN,
    "up": pylink.CURS_UP,
    "down": pylink.CURS_DOWN,
    "left": pylink.CURS_LEFT,
    "right": pylink.CURS_RIGHT,
    "return": pylink.ENTER_KEY,
    "num_enter": pylink.ENTER_KEY,
    "escape": pylink.ESC_KEY,
    "space": ord(" "),
    "tab": ord("\t"),
    "backspace": ord("\b"),
    "equal": ord("+"),
    "plus": ord("+"),
    "num_add": ord("+"),
    "minus": ord("-"),
    "num_subtract": ord("-"),
}
#: Modifier codes as in SR Research's PsychoPy display.
_MODIFIERS = (("alt", 256), ("ctrl", 64), ("shift", 1))
#: Camera-image overlay colours (cross hairs, pupil box, search limits, mouse).
_OVERLAY_RGB = {
    pylink.CR_HAIR_COLOR: (255, 255, 255),
    pylink.PUPIL_HAIR_COLOR: (255, 255, 255),
    pylink.PUPIL_BOX_COLOR: (0, 255, 0),
    pylink.SEARCH_LIMIT_BOX_COLOR: (255, 0, 0),
    pylink.MOUSE_CURSOR_COLOR: (255, 0, 0),
}
#: Polls of the keyboard answered "no key" before dummy mode leaves the Setup
#: menu: pylink's dummy Setup menu spins forever on an immediate Esc.
_DUMMY_IDLE_POLLS = 3
#: Size of the camera image that pylink's cross-hair coordinates refer to.
_CROSSHAIR_BASE = (192, 160)

_HELP = (
    "Enter: camera image    Left/Right: camera view\n"
    "C: calibrate    V: validate    A: auto threshold\n"
    "Up/Down: pupil threshold    +/-: CR threshold\n"
    "O or Esc: leave setup"
)


class PsychoPyCalibrationDisplay(pylink.EyeLinkCustomDisplay):
    """Draws what pylink asks for during tracker setup into a PsychoPy window.

    Give an instance to ``pylink.openGraphicsEx``; pylink then calls its
    methods during ``doTrackerSetup`` and ``doDriftCorrect``.

    Parameters
    ----------
    win : psychopy.visual.Window
        The participant's window. Its units are left alone: everything here
        is drawn in ``"pix"`` units.
    screen_size_px : tuple of int
        ``(width, height)`` of the tracker's ``screen_pixel_coords``, in which
        pylink gives target positions (origin top-left, y down).
    target_size_px : float
        Diameter of the calibration target in pixels.
    dummy : bool
        pylink dummy mode: the keyboard reads "no key" a few times and then
        Esc, so that the Setup menu returns instead of spinning.
    """

    def __init__(
        self,
        win: Any,
        *,
        screen_size_px: tuple[int, int],
        target_size_px: float = 20.0,
        dummy: bool = False,
    ) -> None:
        super().__init__()
        self.win = win
        self.screen_size_px = (int(screen_size_px[0]), int(screen_size_px[1]))
        self.dummy = dummy
        self._dummy_polls = 0
        self.background = _window_rgb(win)
        self.foreground = "black" if float(np.mean(self.background)) >= 0.0 else "white"
        self._outer = visual.Circle(
            win,
            radius=target_size_px / 2.0,
            edges=64,
            units="pix",
            fillColor=self.foreground,
            lineColor=None,
        )
        self._inner = visual.Circle(
            win,
            radius=max(target_size_px / 8.0, 1.0),
            edges=32,
            units="pix",
            fillColor=self.background,
            colorSpace="rgb",
            lineColor=None,
        )
        height = max(14.0, win.size[1] / 40.0)
        self._help = visual.TextStim(
            win,
            text=_HELP,
            units="pix",
            height=height,
            color=self.foreground,
            wrapWidth=win.size[0],
        )
        self._help.pos = (0.0, win.size[1] / 2.0 - 3.0 * height)
        self._title = visual.TextStim(
            win, text="", units="pix", height=height, color=self.foreground, wrapWidth=win.size[0]
        )
        self._palette: NDArray[np.uint8] = np.zeros((256, 3), dtype=np.uint8)
        self._lines: NDArray[np.uint8] | None = None
        self._image_size = (384, 320)
        self._image: Image.Image | None = None
        self._overlay: ImageDraw.ImageDraw | None = None
        self._image_stim: Any = None
        self._mouse: Any = None

    def _to_window(self, x: float, y: float) -> tuple[float, float]:
        """Screen pixels (origin top-left, y down) to PsychoPy ``pix`` (centre, y up)."""
        width, height = self.screen_size_px
        return (float(x) - width / 2.0, height / 2.0 - float(y))

    def setup_cal_display(self) -> None:
        self._help.draw()
        self.win.flip()

    def exit_cal_display(self) -> None:
        self.win.flip()

    def clear_cal_display(self) -> None:
        self.win.flip()

    def record_abort_hide(self) -> None:
        return None

    def draw_cal_target(self, x: float, y: float) -> None:
        """Show the target at ``(x, y)`` in screen pixels."""
        pos = self._to_window(x, y)
        self._outer.pos = pos
        self._inner.pos = pos
        self._outer.draw()
        self._inner.draw()
        self.win.flip()

    def erase_cal_target(self) -> None:
        self.win.flip()

    def play_beep(self, beepid: int) -> None:
        """No sound: lab PCs may have no audio device, and PsychoPy sound is optional here."""
        return None

    def alert_printf(self, msg: str) -> None:
        logger.warning("EyeLink: %s", msg)

    def get_input_key(self) -> list[Any] | None:
        """Keys pressed since the last call, as ``pylink.KeyInput``; None when none."""
        if self.dummy:
            self._dummy_polls += 1
            if self._dummy_polls <= _DUMMY_IDLE_POLLS:
                return None
            self._dummy_polls = 0
            return [pylink.KeyInput(pylink.ESC_KEY, 0)]
        keys = []
        for name, modifiers in event.getKeys(modifiers=True):
            code = _KEYS.get(name)
            if code is None and len(name) == 1 and name.isascii() and name.isalnum():
                code = ord(name)
            if code is None:
                continue
            modifier = next((value for key, value in _MODIFIERS if modifiers.get(key)), 0)
            keys.append(pylink.KeyInput(code, modifier))
        return keys or None

    def get_mouse_state(self) -> tuple[tuple[float, float], int]:
        """Mouse position in camera-image pixels and whether the left button is down."""
        if self._mouse is None:
            self._mouse = event.Mouse(visible=False, win=self.win)
        x, y = self._mouse.getPos()
        scale = self._image_scale()
        width, height = self._image_size
        image_x = (x + width * scale / 2.0) / scale
        image_y = (height * scale / 2.0 - y) / scale
        return ((image_x, image_y), int(bool(self._mouse.getPressed()[0])))

    def setup_image_display(self, width: int, height: int) -> int:
        self._image_size = (int(width), int(height))
        self._lines = None
        return 1

    def exit_image_display(self) -> None:
        self._image_stim = None
        self._help.draw()
        self.win.flip()

    def image_title(self, text: str) -> None:
        self._title.text = str(text)

    def set_image_palette(self, red: Any, green: Any, blue: Any) -> None:
        """Palette of the camera image: entry i is ``(red[i], green[i], blue[i])``, 0-255."""
        self._palette = (
            np.column_stack([np.asarray(list(c), dtype=np.int64) for c in (red, green, blue)])
            .clip(0, 255)
            .astype(np.uint8)
        )

    def draw_image_line(self, width: int, line: int, totlines: int, buff: Any) -> None:
        """Store line ``line`` (1-based, top first) of palette indices; show a whole image."""
        width, line, totlines = int(width), int(line), int(totlines)
        if self._lines is None or self._lines.shape != (totlines, width):
            self._lines = np.zeros((totlines, width), dtype=np.uint8)
        if 1 <= line <= totlines:
            self._lines[line - 1] = _line_indices(buff, width)
        if line == totlines:
            self._show_image(self._lines)

    def _show_image(self, lines: NDArray[np.uint8]) -> None:
        indices = np.minimum(lines, len(self._palette) - 1)
        self._image = Image.fromarray(self._palette[indices])
        self._overlay = ImageDraw.Draw(self._image)
        self.draw_cross_hair()  # pylink calls back draw_line / draw_lozenge
        height, width = lines.shape
        scale = self._image_scale()
        size = (width * scale, height * scale)
        if self._image_stim is None or tuple(self._image_stim.size) != size:
            self._image_stim = visual.ImageStim(
                self.win, image=self._image, units="pix", size=size, interpolate=False
            )
        else:
            self._image_stim.image = self._image
        self._image_stim.draw()
        self._title.pos = (0.0, -size[1] / 2.0 - self._title.height)
        self._title.draw()
        self._help.draw()
        self.win.flip()

    def _image_scale(self) -> float:
        """Scale that fits the camera image in 60 % of the window, at most 2."""
        width, height = self._image_size
        win_w, win_h = self.win.size
        return float(min(2.0, 0.6 * win_w / max(width, 1), 0.6 * win_h / max(height, 1)))

    def _crosshair_xy(self, x: float, y: float) -> tuple[float, float]:
        # As in SR Research's PsychoPy display: pylink gives overlay positions
        # in a 192 x 160 image when the camera image is larger.
        width, height = self._image_size
        if width > _CROSSHAIR_BASE[0]:
            return (x * width / _CROSSHAIR_BASE[0], y * height / _CROSSHAIR_BASE[1])
        return (x, y)

    def draw_line(self, x1: float, y1: float, x2: float, y2: float, colorindex: int) -> None:
        """Overlay a line on the camera image (image pixels)."""
        if self._overlay is None or min(x1, y1, x2, y2) < 0:
            return
        start, end = self._crosshair_xy(x1, y1), self._crosshair_xy(x2, y2)
        self._overlay.line([start, end], fill=_OVERLAY_RGB.get(colorindex, (128, 128, 128)))

    def draw_lozenge(
        self, x: float, y: float, width: float, height: float, colorindex: int
    ) -> None:
        """Overlay a rounded box (the search limits) on the camera image."""
        if self._overlay is None:
            return
        x0, y0 = self._crosshair_xy(x, y)
        x1, y1 = self._crosshair_xy(x + width, y + height)
        if x1 <= x0 or y1 <= y0:
            return
        radius = min(x1 - x0, y1 - y0) / 2.0
        color = _OVERLAY_RGB.get(colorindex, (128, 128, 128))
        self._overlay.rounded_rectangle([x0, y0, x1, y1], radius=radius, outline=color)


def _line_indices(buff: Any, width: int) -> NDArray[np.uint8]:
    """The first ``width`` palette indices of one camera-image line."""
    try:
        values = np.frombuffer(buff, dtype=np.uint8, count=width)
    except (TypeError, ValueError):
        values = np.asarray(list(buff)[:width], dtype=np.int64).clip(0, 255).astype(np.uint8)
    out = np.zeros(width, dtype=np.uint8)
    out[: values.size] = values
    return out


def _window_rgb(win: Any) -> tuple[float, float, float]:
    """The window's background colour in PsychoPy ``rgb`` (-1..1); mid-grey if unreadable."""
    try:
        rgb = colors.Color(win.color, win.colorSpace).rgb
        return (float(rgb[0]), float(rgb[1]), float(rgb[2]))
    except (TypeError, ValueError, AttributeError, IndexError):
        return (0.0, 0.0, 0.0)
