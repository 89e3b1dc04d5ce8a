"""The EyeLink / Data Viewer message protocol that our tasks send and our reader parses."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "IMAGE_OFFSET",
    "IMAGE_ONSET",
    "ImagePlacement",
    "display_coords_message",
    "iarea_rectangle_message",
    "imgload_message",
    "trial_result_message",
    "trial_var_message",
    "trialid_message",
]

#: Message sent on the flip that first shows the stimulus image.
IMAGE_ONSET = "image_onset"
#: Message sent on the flip that removes the stimulus image.
IMAGE_OFFSET = "image_offset"


@dataclass(frozen=True)
class ImagePlacement:
    """Where an image was drawn on the screen.

    Parameters
    ----------
    left_px, top_px : float
        Screen position of the image's top-left corner, in screen pixels
        (origin top-left, y down).
    width_px, height_px : float
        Size of the drawn image on the screen, in screen pixels.
    image_width_px, image_height_px : int, optional
        Native size of the image file. When the drawn size differs, screen
        positions are scaled to native image pixels by
        :func:`eyetracking.to_image_coords`. Default: the drawn size.

    Notes
    -----
    Throughout the project, as in EyeLink's ``DISPLAY_COORDS 0 0 W-1 H-1``,
    integer coordinates are pixel centres: pixel column ``j`` covers
    ``[j - 0.5, j + 0.5)``. An image drawn at ``left_px`` has its first
    column centred on screen pixel ``left_px``, so it covers screen ``x`` in
    ``[left_px - 0.5, left_px + width_px - 0.5)``.
    """

    left_px: float
    top_px: float
    width_px: float
    height_px: float
    image_width_px: int | None = None
    image_height_px: int | None = None

    def __post_init__(self) -> None:
        for name in ("left_px", "top_px", "width_px", "height_px"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"ImagePlacement {name} must be a finite number, got {value!r}")
        if self.width_px <= 0 or self.height_px <= 0:
            raise ValueError(
                f"ImagePlacement size must be positive, got {self.width_px} x {self.height_px}"
            )

    @classmethod
    def centered(
        cls, screen_size_px: tuple[int, int], image_size_px: tuple[int, int], *, scale: float = 1.0
    ) -> ImagePlacement:
        """An image of ``image_size_px = (width, height)`` drawn at the screen centre.

        The drawn size is ``scale`` times the native size, rounded to whole pixels.
        """
        width = round(image_size_px[0] * scale)
        height = round(image_size_px[1] * scale)
        return cls(
            left_px=float((screen_size_px[0] - width) // 2),
            top_px=float((screen_size_px[1] - height) // 2),
            width_px=float(width),
            height_px=float(height),
            image_width_px=int(image_size_px[0]),
            image_height_px=int(image_size_px[1]),
        )

    @property
    def center_px(self) -> tuple[float, float]:
        """Centre of the drawn image in screen pixels, ``(x, y)``."""
        return (self.left_px + self.width_px / 2.0, self.top_px + self.height_px / 2.0)

    @property
    def native_size_px(self) -> tuple[int, int]:
        """Native image size ``(width, height)`` in image pixels."""
        return (
            int(self.image_width_px if self.image_width_px is not None else round(self.width_px)),
            int(
                self.image_height_px if self.image_height_px is not None else round(self.height_px)
            ),
        )


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def display_coords_message(width_px: int, height_px: int) -> str:
    """``DISPLAY_COORDS 0 0 W-1 H-1``: the screen's pixel range, as Data Viewer expects."""
    return f"DISPLAY_COORDS 0 0 {width_px - 1} {height_px - 1}"


def trialid_message(trial_id: int | str) -> str:
    """``TRIALID <n>``: starts a trial in Data Viewer and in our reader."""
    return f"TRIALID {trial_id}"


def imgload_message(path: str, placement: ImagePlacement) -> str:
    """``!V IMGLOAD TOP_LEFT <path> <left> <top> <width> <height>``.

    TOP_LEFT with an explicit drawn size is the least ambiguous of the
    ``IMGLOAD`` forms: Data Viewer draws the image where it was shown, and a
    reader needs no access to the image file to recover the placement. Spaces
    in ``path`` are not allowed by the protocol and raise ``ValueError``.
    """
    if any(ch.isspace() for ch in path):
        raise ValueError(f"IMGLOAD path must not contain white space, got {path!r}")
    return (
        f"!V IMGLOAD TOP_LEFT {path} {_fmt(placement.left_px)} {_fmt(placement.top_px)} "
        f"{_fmt(placement.width_px)} {_fmt(placement.height_px)}"
    )


def trial_var_message(name: str, value: object) -> str:
    """``!V TRIAL_VAR <name> <value>``; names without spaces, values on one line."""
    if not name or any(ch.isspace() for ch in name):
        raise ValueError(f"TRIAL_VAR name must be one word, got {name!r}")
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError(f"TRIAL_VAR {name} value must be on one line, got {text!r}")
    return f"!V TRIAL_VAR {name} {text}"


def iarea_rectangle_message(
    index: int, left: int, top: int, right: int, bottom: int, label: str
) -> str:
    """``!V IAREA RECTANGLE <index> <left> <top> <right> <bottom> <label>``: an interest area.

    Data Viewer's static rectangular interest area for the current trial, in screen
    pixels (origin top left, y down), integers. ``right`` and ``bottom`` are one past
    the last pixel inside (``left + width``), as in SR Research's examples: the area
    holds screen pixels ``left .. right - 1`` and ``top .. bottom - 1``.

    Parameters
    ----------
    index : int
        The interest area's number in the trial (1, 2, ...).
    left, top, right, bottom : int
        Its edges in screen pixels; ``left < right`` and ``top < bottom``.
    label : str
        Its name in Data Viewer: one word (no white space).

    Raises
    ------
    ValueError
        For a non-positive index, an empty rectangle, non-integer edges or a label
        that is empty or holds white space.
    """
    edges = {"left": left, "top": top, "right": right, "bottom": bottom}
    for name, value in {"index": index, **edges}.items():
        if isinstance(value, bool) or not float(value).is_integer():
            raise ValueError(f"IAREA {name} must be an integer, got {value!r}")
    if int(index) < 1:
        raise ValueError(f"IAREA index must be >= 1, got {index!r}")
    if not (left < right and top < bottom):
        raise ValueError(
            f"IAREA rectangle must have left < right and top < bottom, got left={left}, "
            f"top={top}, right={right}, bottom={bottom}"
        )
    if not label or any(ch.isspace() for ch in label):
        raise ValueError(f"IAREA label must be one word, got {label!r}")
    return (
        f"!V IAREA RECTANGLE {int(index)} {int(left)} {int(top)} {int(right)} {int(bottom)} {label}"
    )


def trial_result_message(code: int = 0) -> str:
    """``TRIAL_RESULT <code>``: ends a trial in Data Viewer (0 = completed)."""
    return f"TRIAL_RESULT {code}"
