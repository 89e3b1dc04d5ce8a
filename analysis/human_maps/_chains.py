"""The density of serial-reproduction chain nodes from a generation on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ._fixations import image_points, point_densities
from ._result import HumanMaps
from ._settings import MapSettings, SerialReproductionSettings, checked_settings
from ._tables import check_shapes, flag, start

if TYPE_CHECKING:
    import pandas as pd


def chain_density(
    trials: pd.DataFrame,
    image_shapes: Mapping[str, tuple[int, int]],
    settings: MapSettings | SerialReproductionSettings | None = None,
    *,
    participants: Sequence[str] | None = None,
) -> HumanMaps:
    """Density (sum 1) of the chains' accepted answers from ``from_generation`` on, per image.

    The answers of late generations sample the chains' stationary
    distribution (for the Bayesian reproducer of :mod:`tasks.serial_reproduction`,
    ``prior x (memory * prior)``): where people's prior puts the dot. Each
    node gets a Gaussian of ``sigma_deg``, as fixations do in
    :func:`fixation_density`.

    Parameters
    ----------
    trials : pandas.DataFrame
        The study's serial-reproduction trials: ``participant``, ``image_id``,
        ``generation`` (1 = the answer to the seed), ``response_x_px``,
        ``response_y_px`` (image pixels; missing without an answer),
        ``px_per_deg_img``; ``answered`` and ``accepted`` (0/1) when present.
    image_shapes : mapping of str to (int, int)
        Image id -> ``(height, width)`` native pixels.
    settings : MapSettings or SerialReproductionSettings, optional
        Its ``serial_reproduction`` part (default: :class:`SerialReproductionSettings`).
    participants : sequence of str, optional
        Use only the nodes these participants made.

    Returns
    -------
    HumanMaps
        ``maps[id]`` of shape (H, W), float64, summing to 1; ``counts`` nodes
        per image; ``parameters`` as :func:`fixation_density`'s, plus
        ``from_generation``.

    Raises
    ------
    HumanMapsError
        For a table without the columns, images missing from ``image_shapes``,
        missing ``px_per_deg_img``, no node left, or LOPO without two
        participants on some image.

    Warns
    -----
    UserWarning
        For images without nodes, and when the LOPO choice is an edge of the
        candidates.

    Notes
    -----
    Rows with ``answered`` or ``accepted`` other than 1 (no answer, or not the
    chain's node) are dropped and counted (``excluded["not_accepted"]``), then
    answers of generations before ``from_generation``
    (``excluded["early_generation"]``), then answers without a position on the
    image (``excluded["outside_image"]``). Degrees become pixels with the
    median ``px_per_deg_img`` of the image's rows.
    """
    opts: SerialReproductionSettings = checked_settings(settings, SerialReproductionSettings)
    shapes = check_shapes(image_shapes)
    sel = start(
        trials,
        "serial-reproduction trials",
        ["generation", "response_x_px", "response_y_px", "px_per_deg_img"],
        participants=participants,
    )
    for column in ("answered", "accepted"):
        if column in sel.table.columns:
            sel.drop(~flag(sel, column), "not_accepted")
    generation = sel.numbers("generation")
    sel.drop(~(generation >= opts.from_generation), "early_generation")
    points, varies = image_points(sel, shapes, "response_x_px", "response_y_px")
    result = point_densities(
        points,
        shapes,
        sel,
        varies=varies,
        measure="serial-reproduction",
        estimator="chain_density",
        unit="nodes",
        bandwidth=opts.bandwidth,
        sigma_deg=opts.sigma_deg,
        candidates_deg=opts.candidates_deg,
        settings=opts,
    )
    return HumanMaps(
        measure=result.measure,
        maps=result.maps,
        parameters={**result.parameters, "from_generation": opts.from_generation},
        participants=result.participants,
        counts=result.counts,
        excluded=result.excluded,
    )
