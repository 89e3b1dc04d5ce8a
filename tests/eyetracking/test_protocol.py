"""Data Viewer messages: the interest-area rectangle."""

from __future__ import annotations

import pytest

from eyetracking.protocol import iarea_rectangle_message


def test_iarea_rectangle_message() -> None:
    # SR Research's form: !V IAREA RECTANGLE <id> <left> <top> <right> <bottom> <label>
    assert (
        iarea_rectangle_message(1, 520, 392, 600, 472, "cup")
        == "!V IAREA RECTANGLE 1 520 392 600 472 cup"
    )
    assert iarea_rectangle_message(2, 0.0, 1.0, 2.0, 3.0, "x") == "!V IAREA RECTANGLE 2 0 1 2 3 x"


@pytest.mark.parametrize(
    ("args", "match"),
    [
        pytest.param((0, 1, 1, 2, 2, "a"), r"index must be >= 1, got 0", id="index"),
        pytest.param((1, 1.5, 1, 2, 2, "a"), r"left must be an integer, got 1\.5", id="fraction"),
        pytest.param((1, 5, 1, 5, 2, "a"), r"left < right and top < bottom", id="empty"),
        pytest.param((1, 1, 1, 2, 2, "red car"), r"label must be one word", id="label-space"),
        pytest.param((1, 1, 1, 2, 2, ""), r"label must be one word", id="label-empty"),
    ],
)
def test_iarea_rectangle_message_refuses(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        iarea_rectangle_message(*args)
