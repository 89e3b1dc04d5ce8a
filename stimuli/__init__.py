"""Network attribution maps for stimuli, and the stimulus-set file that carries them.

Importing this package never imports torch: the stimulus-set reader and
:func:`to_map` work without it. :func:`load_model`, :func:`attribute` and the
other network names are imported from ``stimuli.models`` and
``stimuli.attribution`` on first use (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .export import export_png
from .maps import NORMALIZATIONS, REDUCTIONS, to_map
from .stimulus_set import (
    FORMAT_NAME,
    FORMAT_VERSION,
    StimulusSet,
    add_maps,
    read_stimulus_set,
    write_stimulus_set,
)

if TYPE_CHECKING:
    from .attribution import ATTRIBUTION_METHODS, AttributionMethod, attribute
    from .models import LoadedModel, Preprocess, available_models, load_model

__all__ = [
    "ATTRIBUTION_METHODS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "NORMALIZATIONS",
    "REDUCTIONS",
    "AttributionMethod",
    "LoadedModel",
    "Preprocess",
    "StimulusSet",
    "add_maps",
    "attribute",
    "available_models",
    "export_png",
    "load_model",
    "read_stimulus_set",
    "to_map",
    "write_stimulus_set",
]

# Names that need torch, and the module that defines each.
_LAZY = {
    "ATTRIBUTION_METHODS": ".attribution",
    "AttributionMethod": ".attribution",
    "attribute": ".attribution",
    "LoadedModel": ".models",
    "Preprocess": ".models",
    "available_models": ".models",
    "load_model": ".models",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
