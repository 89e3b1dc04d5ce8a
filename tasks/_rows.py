"""Row pieces the search tasks share: the image's placement and a click, as table values."""

from __future__ import annotations

import math
from typing import Any

from eyetracking.protocol import ImagePlacement

from .runtime.responses import Response

__all__ = ["CLICK_COLUMNS", "PLACEMENT_COLUMNS", "click_values", "placement_values", "seconds"]

#: Where the image was drawn: screen pixels, origin top left (as in free viewing).
PLACEMENT_COLUMNS = ("image_left_px", "image_top_px", "image_width_px", "image_height_px")
#: A click: in image pixels (origin top left, integer = pixel centre; ``n/a`` without a
#: click or off the image) and in screen pixels (origin top left, y down).
CLICK_COLUMNS = ("response_x_px", "response_y_px", "click_x_px", "click_y_px")


def placement_values(place: ImagePlacement) -> dict[str, Any]:
    """The :data:`PLACEMENT_COLUMNS` of an image drawn at ``place``."""
    return dict(
        zip(
            PLACEMENT_COLUMNS,
            (place.left_px, place.top_px, place.width_px, place.height_px),
            strict=True,
        )
    )


def click_values(response: Response) -> dict[str, Any]:
    """The :data:`CLICK_COLUMNS` of a click response (None, written ``n/a``, where missing)."""
    screen = [None if v is None else round(float(v), 1) for v in (response.x_px, response.y_px)]
    return dict(
        zip(
            CLICK_COLUMNS,
            (response.image_x_px, response.image_y_px, *screen),
            strict=True,
        )
    )


def seconds(value: float, digits: int = 6) -> float | None:
    """A time rounded for the table, or None (``n/a``) when it is NaN."""
    return None if math.isnan(value) else round(float(value), digits)
