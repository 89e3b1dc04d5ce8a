"""Checks of the parameters that maps, masks and rendering share (numbers, sizes)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_size", "is_number"]


def is_number(value: Any) -> bool:
    """Whether ``value`` is a real number (bool excluded)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_size(size: Any) -> tuple[int, int] | None:
    """A ``size`` parameter: None, or (height, width) as two positive integers."""
    if size is None:
        return None
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in size
        )
    ):
        raise ValueError(
            "Invalid value for the 'size' parameter: expected (height, width) as two positive "
            f"integers, but got {size!r} instead."
        )
    return int(size[0]), int(size[1])
