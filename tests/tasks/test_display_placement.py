"""Screenshots: the image appears exactly where the ImagePlacement sent to the tracker says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eyetracking.protocol import ImagePlacement, imgload_message
from tasks.config import load_config
from tasks.runtime.display import open_window
from tasks.runtime.trial import image_stim

pytestmark = pytest.mark.window

RED, BLUE, GREEN = (220, 20, 20), (20, 20, 220), (20, 200, 20)


def _test_image(width: int, height: int) -> np.ndarray:
    """Red with a green 2-px frame and a blue top-left corner block: orientation is visible."""
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    pixels[:] = RED
    pixels[:2], pixels[-2:], pixels[:, :2], pixels[:, -2:] = GREEN, GREEN, GREEN, GREEN
    pixels[:4, :4] = BLUE
    return pixels


@pytest.mark.parametrize(
    ("size", "scale"),
    [
        pytest.param((40, 30), 1.0, id="even-native"),
        pytest.param((41, 31), 1.0, id="odd-native"),
        pytest.param((41, 30), 1.5, id="odd-width-scaled-up"),
        pytest.param((40, 33), 0.75, id="odd-height-scaled-down"),
        pytest.param((57, 43), 2.0, id="odd-scaled-twice"),
    ],
)
def test_image_pixels_appear_where_the_placement_says(
    repo_root: Path, size: tuple[int, int], scale: float
) -> None:
    display = load_config(repo_root / "configs" / "free_viewing_simulated.toml").lab.display
    screen_px = display.resolution_px
    place = ImagePlacement.centered(screen_px, size, scale=scale)
    with open_window(display, windowed=True, check_timing=False) as win:
        assert tuple(win.size) == tuple(screen_px)
        stim = image_stim(win, _test_image(*size), place, screen_px)
        win.clearBuffer()
        stim.draw()
        shot = np.asarray(win.getMovieFrame(buffer="back"))[:, :, :3].astype(int)
        win.flip()
    assert shot.shape[:2] == (screen_px[1], screen_px[0])
    background = np.array(display.background)
    drawn = np.abs(shot - background).max(axis=2) > 40
    rows, cols = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    # screen pixel (col, row), integer = pixel centre: the placement's box, to the pixel
    box = (cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1)
    expected = (place.left_px, place.top_px, place.width_px, place.height_px)
    assert box == expected, imgload_message("img.png", place)
    assert drawn[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].all()  # one solid rectangle
    # upright, not mirrored: blue at the top-left corner, green on the frame, red inside
    top, left = int(place.top_px), int(place.left_px)
    bottom, right = top + int(place.height_px) - 1, left + int(place.width_px) - 1
    corners = {BLUE: shot[top, left], GREEN: shot[bottom, right]}
    corners[RED] = shot[(top + bottom) // 2, (left + right) // 2]
    for colour, got in corners.items():
        if scale == 1.0:
            assert tuple(got) == colour  # drawn one to one
        else:  # interpolated: the colour still dominates
            assert int(np.argmax(got)) == int(np.argmax(colour)), (colour, got)
