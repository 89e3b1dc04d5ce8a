"""What the study pipeline makes and names: the run, its error, the map sources it uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from selectivity.errors import UserError

from ._load import Study

if TYPE_CHECKING:
    import pandas as pd

    from ..human_maps import HumanMaps
    from ..shared import SharedComponent

__all__ = ["HUMAN_PREFIX", "SHARED_SOURCE", "StudyAnalysisError", "StudyRun", "ann_sources"]

#: Map sources of the human maps in the stimulus set: ``human/<task>``.
HUMAN_PREFIX = "human/"
#: Map source of the component the human maps share.
SHARED_SOURCE = "human/shared"
#: Prefixes of map sources that are not ANN maps.
_NOT_ANN = ("human/", "simulation/", "target/", "ais/")


class StudyAnalysisError(UserError, ValueError):
    """A study whose data cannot give what a step needs (no sessions of a task, no maps)."""


@dataclass(frozen=True, eq=False)
class StudyRun:
    """What :func:`run_study` made.

    Attributes
    ----------
    folder : Path
        The output folder (tables, ``report/index.html``).
    study : Study
        The sessions read.
    maps : dict of str to HumanMaps
        Task name -> its human maps (also in the stimulus set as ``human/<task>``).
    shared : SharedComponent or None
        The component they share (``human/shared``), when at least two exist.
    tables : dict of str to DataFrame
        Every table written, by file stem (``comparison``, ``recognition``, ...).
    report : Path or None
        The HTML report.
    """

    folder: Path
    study: Study
    maps: dict[str, HumanMaps]
    shared: SharedComponent | None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    report: Path | None = None


def ann_sources(stimuli: Any, wanted: tuple[str, ...] = ()) -> list[str]:
    """The ANN map sources of a stimulus set (all but human/, simulation/, target/, ais/)."""
    sources = [s for s in stimuli.map_sources if not s.startswith(_NOT_ANN)]
    if wanted:
        missing = [s for s in wanted if s not in stimuli.map_sources]
        if missing:
            raise StudyAnalysisError(
                f"[comparison] sources: {missing} are not map sources of {stimuli.path} "
                f"(ANN sources: {sources})."
            )
        return list(wanted)
    return sources
