"""Panels and charts drawn to PNG (Agg canvas, no pyplot), as files or embedded data URIs."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

from ._charts import Chart
from ._items import Panel

FIGURES_DIR = "figures"
_PANEL_INCHES = 3.2
_DPI = 100


class FigureSink:
    """Where a report's figures go: PNG files in ``figures/`` or data URIs in the page.

    Parameters
    ----------
    out : Path
        The report's folder.
    embed : bool
        True: :meth:`add` returns a ``data:image/png;base64,...`` URI and
        writes nothing. False: it writes ``figures/<name>`` and returns that
        relative path.
    """

    def __init__(self, out: Path, *, embed: bool) -> None:
        self.out = out
        self.embed = embed
        if not embed:
            (out / FIGURES_DIR).mkdir(parents=True, exist_ok=True)

    def add(self, fig: Any, name: str, *, pad_inches: float) -> str:
        """Save ``fig`` as PNG; return the ``src`` of its ``<img>``."""
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", bbox_inches="tight", pad_inches=pad_inches)
        png = buffer.getvalue()
        if self.embed:
            return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        (self.out / FIGURES_DIR / name).write_bytes(png)
        return f"{FIGURES_DIR}/{name}"

    def chart(self, chart: Chart, name: str) -> str:
        """Draw ``chart`` on a fresh figure and save it."""
        fig = _figure(chart.size_inches)
        chart.draw(fig.add_subplot())
        return self.add(fig, name, pad_inches=0.05)

    def panel(self, panel: Panel, name: str) -> str:
        """Draw ``panel`` (under its overlay, with a colour bar for heatmaps) and save it."""
        base = panel.overlay if panel.overlay is not None else panel.array
        height, width = base.shape[:2]
        side = _PANEL_INCHES / max(height, width)
        fig = _figure((width * side + 0.1, height * side + 0.1))
        ax = fig.add_subplot()
        ax.set_axis_off()
        extent = (-0.5, width - 0.5, height - 0.5, -0.5)
        if panel.overlay is not None:
            grey = panel.overlay.ndim == 2
            ax.imshow(panel.overlay, cmap="gray" if grey else None, extent=extent)
        alpha = panel.alpha
        if alpha is None:
            alpha = 0.5 if panel.overlay is not None else 1.0
        cmap: str | None
        if panel.kind == "heatmap":
            cmap = panel.cmap or "inferno"
        else:
            cmap = panel.cmap or ("gray" if panel.array.ndim == 2 else None)
        image = ax.imshow(panel.array, cmap=cmap, alpha=alpha, extent=extent)
        if panel.kind == "heatmap":
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
        return self.add(fig, name, pad_inches=0.03)


def _figure(size_inches: tuple[float, float]) -> Any:
    """A Matplotlib Figure on its own Agg canvas: no pyplot, nothing left open."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size_inches, dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig
