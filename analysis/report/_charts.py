"""Summary figures of a report: any ``draw(ax)``, bars with intervals, lines with bands."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

_BAR_COLOUR = "#4a6fa5"
_BAR_WIDTH = 0.7


@dataclass(frozen=True, eq=False)
class ChartLine:
    """One series of a line chart: y against x, with an optional band.

    Parameters
    ----------
    label : str
        Legend entry (plain text); ``""`` for none.
    x, y : array_like of shape (N,)
        The points, joined in the order given; NaN leaves a gap.
    low, high : array_like of shape (N,), optional
        A band drawn around the line (e.g. a 95 % interval or mean +- SD);
        both or neither, ``low <= high`` where both are finite.
    """

    label: str
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    low: NDArray[np.float64] | None = None
    high: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.label, str):
            raise ValueError(f"ChartLine label must be a str, got {type(self.label).__name__}.")
        where = f"of line {self.label!r}"
        x = _vector(self.x, "x", where)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", _vector(self.y, "y", where, size=x.size))
        low, high = _interval(self.low, self.high, ("low", "high"), where, x.size)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)


@dataclass(frozen=True, eq=False)
class Chart:
    """A summary figure drawn by a function on one Matplotlib ``Axes``.

    :meth:`bars` and :meth:`lines` make the usual ones; any other figure is
    a ``draw`` function.

    Parameters
    ----------
    title : str
        Caption shown under the figure (plain text; it is escaped).
    draw : callable
        ``draw(ax)`` draws on a ``matplotlib.axes.Axes`` (histogram, lines,
        ...); it must not use pyplot. Its return value is ignored.
    size_inches : tuple of float
        ``(width, height)`` of the figure.
    """

    title: str
    draw: Callable[[Any], object]
    size_inches: tuple[float, float] = (5.0, 3.5)

    def __post_init__(self) -> None:
        if not isinstance(self.title, str):
            raise ValueError(f"Chart title must be a str, got {type(self.title).__name__}.")
        if not callable(self.draw):
            raise ValueError(
                "Invalid value for the 'draw' parameter: expected a callable draw(ax), but got "
                f"{type(self.draw).__name__} instead."
            )
        size = self.size_inches
        if len(size) != 2 or not all(isinstance(v, (int, float)) and v > 0 for v in size):
            raise ValueError(
                "Invalid value for the 'size_inches' parameter: expected (width, height) > 0, "
                f"but got {size!r} instead."
            )

    @classmethod
    def bars(
        cls,
        title: str,
        labels: Sequence[str],
        values: ArrayLike,
        *,
        ci_low: ArrayLike | None = None,
        ci_high: ArrayLike | None = None,
        reference: float | ArrayLike | None = None,
        reference_label: str = "reference",
        value_label: str = "",
        horizontal: bool = False,
        size_inches: tuple[float, float] | None = None,
    ) -> Chart:
        """A bar per label, with an interval and a reference mark per bar.

        Parameters
        ----------
        title : str
            Caption of the figure.
        labels : sequence of str, length K
            One bar each, in this order (left to right, or top to bottom
            when ``horizontal``).
        values : array_like of shape (K,)
            Bar lengths; NaN draws no bar.
        ci_low, ci_high : array_like of shape (K,), optional
            Interval of each value (e.g. a bootstrap 95 % interval), drawn
            as an error bar from ``ci_low`` to ``ci_high`` (it need not
            contain the value); both or neither, ``ci_low <= ci_high``.
        reference : float or array_like of shape (K,), optional
            A dashed mark: one number, a line across the chart; K numbers, a
            short line across each bar (e.g. its noise ceiling); NaN, none.
        reference_label : str
            Legend entry of the reference mark.
        value_label : str
            Label of the value axis.
        horizontal : bool
            Horizontal bars (long labels, many bars), first label on top.
        size_inches : tuple of float, optional
            ``(width, height)``; default grows with K.

        Returns
        -------
        Chart
        """
        labels = _labels(labels)
        k = len(labels)
        vals = _vector(values, "values", f"of chart {title!r}", size=k)
        low, high = _interval(ci_low, ci_high, ("ci_low", "ci_high"), f"of chart {title!r}", k)
        ref: float | NDArray[np.float64] | None = None
        if reference is not None:
            if np.ndim(reference) == 0:
                ref = _number(reference, "reference", f"of chart {title!r}")
            else:
                ref = _vector(reference, "reference", f"of chart {title!r}", size=k)
        if size_inches is None and horizontal:
            size_inches = (5.0, max(2.0, 0.3 * k + 0.8))
        elif size_inches is None:
            size_inches = (max(4.0, 0.5 * k + 1.5), 3.5)
        draw = functools.partial(
            _draw_bars,
            labels=labels,
            values=vals,
            low=low,
            high=high,
            reference=ref,
            reference_label=str(reference_label),
            value_label=str(value_label),
            horizontal=bool(horizontal),
        )
        return cls(title, draw, size_inches)

    @classmethod
    def lines(
        cls,
        title: str,
        lines: Sequence[ChartLine],
        *,
        x_label: str = "",
        y_label: str = "",
        x_scale: Literal["linear", "log"] = "linear",
        reference: float | None = None,
        reference_label: str = "reference",
        size_inches: tuple[float, float] = (5.0, 3.5),
    ) -> Chart:
        """Several series against a shared x axis, each with an optional band.

        Parameters
        ----------
        title : str
            Caption of the figure.
        lines : sequence of ChartLine
            At least one; drawn in order with Matplotlib's colour cycle, a
            legend when any has a label.
        x_label, y_label : str
            Axis labels (with units).
        x_scale : {"linear", "log"}
            Scale of the x axis (e.g. log for numbers of participants).
        reference : float, optional
            A dashed horizontal line, e.g. the aim ``0.9`` of a recovery curve.
        reference_label : str
            Its legend entry.
        size_inches : tuple of float
            ``(width, height)``.

        Returns
        -------
        Chart
        """
        series = tuple(lines)
        if not series or not all(isinstance(line, ChartLine) for line in series):
            raise ValueError(
                f"Invalid value for the 'lines' parameter of chart {title!r}: expected a "
                f"non-empty sequence of ChartLine objects, but got {lines!r}."
            )
        if x_scale not in ("linear", "log"):
            raise ValueError(
                "Invalid value for the 'x_scale' parameter. Allowed values are 'linear' and "
                f"'log', but got {x_scale!r} instead."
            )
        ref = None if reference is None else _number(reference, "reference", f"of {title!r}")
        draw = functools.partial(
            _draw_lines,
            lines=series,
            x_label=str(x_label),
            y_label=str(y_label),
            x_scale=x_scale,
            reference=ref,
            reference_label=str(reference_label),
        )
        return cls(title, draw, size_inches)


def _draw_bars(
    ax: Any,
    *,
    labels: tuple[str, ...],
    values: NDArray[np.float64],
    low: NDArray[np.float64] | None,
    high: NDArray[np.float64] | None,
    reference: float | NDArray[np.float64] | None,
    reference_label: str,
    value_label: str,
    horizontal: bool,
) -> None:
    pos = np.arange(len(labels), dtype=np.float64)
    half = _BAR_WIDTH / 2
    if horizontal:
        ax.barh(pos, values, height=_BAR_WIDTH, color=_BAR_COLOUR)
        ax.set_yticks(pos, labels)
        ax.invert_yaxis()
        ax.set_xlabel(value_label)
    else:
        ax.bar(pos, values, width=_BAR_WIDTH, color=_BAR_COLOUR)
        long = max(len(label) for label in labels) * len(labels) > 40
        ax.set_xticks(pos, labels, rotation=30 if long else 0, ha="right" if long else "center")
        ax.set_ylabel(value_label)
    if low is not None and high is not None:
        # Centre and half-width, so the bar spans exactly [low, high] wherever the value is.
        centre, spread = (low + high) / 2, (high - low) / 2
        keep = np.isfinite(centre)
        style = {"fmt": "none", "ecolor": "k", "elinewidth": 1, "capsize": 3}
        if horizontal:
            ax.errorbar(centre[keep], pos[keep], xerr=spread[keep], **style)
        else:
            ax.errorbar(pos[keep], centre[keep], yerr=spread[keep], **style)
    if reference is not None:
        if np.ndim(reference) == 0:
            across = ax.axvline if horizontal else ax.axhline
            across(reference, color="k", ls="--", lw=1.0, label=reference_label)
        else:
            ref = np.asarray(reference)
            keep = np.isfinite(ref)
            marks = ax.vlines if horizontal else ax.hlines
            marks(
                ref[keep],
                pos[keep] - half,
                pos[keep] + half,
                colors="k",
                linestyles="--",
                linewidths=1.2,
                label=reference_label,
            )
        ax.legend(fontsize=8)


def _draw_lines(
    ax: Any,
    *,
    lines: tuple[ChartLine, ...],
    x_label: str,
    y_label: str,
    x_scale: str,
    reference: float | None,
    reference_label: str,
) -> None:
    for line in lines:
        (drawn,) = ax.plot(line.x, line.y, marker="o", ms=3, lw=1.5, label=line.label or None)
        if line.low is not None:
            ax.fill_between(line.x, line.low, line.high, color=drawn.get_color(), alpha=0.2, lw=0)
    if reference is not None:
        ax.axhline(reference, color="k", ls="--", lw=1.0, label=reference_label)
    ax.set_xscale(x_scale)
    ticks = np.unique(np.concatenate([line.x for line in lines]))
    ticks = ticks[np.isfinite(ticks) & (ticks > 0)]
    if x_scale == "log" and 0 < ticks.size <= 12:
        # Ticks at the sizes drawn (2, 4, 8, ...), not powers of ten written as 2 x 10^0.
        from matplotlib.ticker import NullFormatter

        ax.set_xticks(ticks, [f"{tick:g}" for tick in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    if any(line.label for line in lines) or reference is not None:
        ax.legend(fontsize=8)


def _labels(labels: Sequence[str]) -> tuple[str, ...]:
    if isinstance(labels, str):
        raise ValueError(
            "Invalid value for the 'labels' parameter: expected a sequence of strings, but got "
            "a single str; wrap it in a list."
        )
    items = tuple(labels)
    if not items or not all(isinstance(label, str) for label in items):
        raise ValueError(
            "Invalid value for the 'labels' parameter: expected a non-empty sequence of "
            f"strings, but got {labels!r}."
        )
    return items


def _vector(
    value: ArrayLike, name: str, where: str, *, size: int | None = None
) -> NDArray[np.float64]:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"Invalid value for the '{name}' parameter {where}: expected numbers, but got "
            f"{value!r}."
        ) from None
    expected = "(N,)" if size is None else f"({size},)"
    if arr.ndim != 1 or arr.size == 0 or (size is not None and arr.size != size):
        raise ValueError(
            f"Invalid value for the '{name}' parameter {where}: expected a non-empty array of "
            f"shape {expected}, but got shape {arr.shape} instead."
        )
    return arr


def _number(value: object, name: str, where: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(
            f"Invalid value for the '{name}' parameter {where}: expected a number, but got "
            f"{value!r}."
        ) from None
    return number


def _interval(
    low: ArrayLike | None,
    high: ArrayLike | None,
    names: tuple[str, str],
    where: str,
    size: int,
) -> tuple[NDArray[np.float64] | None, NDArray[np.float64] | None]:
    if (low is None) != (high is None):
        raise ValueError(
            f"The '{names[0]}' and '{names[1]}' parameters {where} go together: give both or "
            "neither."
        )
    if low is None or high is None:
        return None, None
    lo = _vector(low, names[0], where, size=size)
    hi = _vector(high, names[1], where, size=size)
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(lo > hi)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"Invalid interval {where}: '{names[0]}' must not exceed '{names[1]}', but at "
            f"position {i} they are {float(lo[i])} and {float(hi[i])}."
        )
    return lo, hi
