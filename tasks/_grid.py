"""Positions on a grid of cells over an image (the dot and patch tasks)."""

from __future__ import annotations

__all__ = ["grid_points"]


def grid_points(size_px: tuple[int, int], grid: tuple[int, int]) -> list[tuple[int, int]]:
    """The centres of a ``columns x rows`` grid of equal cells over an image, row by row.

    Parameters
    ----------
    size_px : (width, height)
        The image's size in pixels.
    grid : (columns, rows)
        Cells across and down.

    Returns
    -------
    list of (int, int)
        ``(x, y)`` in image pixels (origin top left, integer = pixel centre): cell
        ``(c, r)`` gives ``(floor((c + 1/2) W / columns), floor((r + 1/2) H / rows))``,
        the pixel holding the cell's centre (the right/lower one of two on a tie).
        Rows top to bottom, each left to right.
    """
    width, height = size_px
    columns, rows = grid
    if columns < 1 or rows < 1 or columns > width or rows > height:
        raise ValueError(
            f"Invalid value for the 'grid' parameter: expected 1..{width} columns and "
            f"1..{height} rows on a {width} x {height} px image, but got {list(grid)} instead."
        )
    return [
        (int((c + 0.5) * width / columns), int((r + 0.5) * height / rows))
        for r in range(rows)
        for c in range(columns)
    ]
