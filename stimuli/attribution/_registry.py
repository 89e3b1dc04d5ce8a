"""The registry of attribution methods: what an entry holds, and the table they are listed in.

The table is filled by :mod:`stimuli.attribution` when it is imported; method
modules that look other methods up (SmoothGrad's base method) read it at call
time, so this module imports none of them and closes no import loop.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol

import torch

from ._core import Context

__all__ = ["ATTRIBUTION_METHODS", "AttributionMethod", "method_entry"]


class _MethodFunction(Protocol):
    def __call__(self, ctx: Context, inputs: torch.Tensor, /, **options: Any) -> torch.Tensor: ...


@dataclass(frozen=True)
class AttributionMethod:
    """An entry of :data:`ATTRIBUTION_METHODS`.

    Attributes
    ----------
    name : str
        Registry key.
    function : callable
        ``function(ctx, inputs, **options) -> Tensor``. ``inputs`` (N, C, H, W)
        is a private copy on the model's device; ``ctx`` (a private
        ``Context``) holds the network (in eval mode, parameter gradients
        off), the target score, the resolved layer, autocast and seeding.
    layer : {"unused", "optional", "required"}
        Whether the method takes a ``layer``; "optional" ones default to
        :func:`stimuli.layers.default_layer`.
    options : tuple of str
        Keyword options the method accepts.
    reference : str
        Where the method comes from.
    output : {"pixel", "cam"}
        "pixel": attributions of the input's shape (N, C, H, W); "cam": one
        map per image (N, 1, H, W), or (N, 1, h, w) with ``upsample=False``.
    defaults : mapping
        Default value of each option (for provenance records).
    """

    name: str
    function: _MethodFunction
    layer: Literal["unused", "optional", "required"]
    options: tuple[str, ...]
    reference: str
    output: Literal["pixel", "cam"] = "pixel"
    defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def method_entry(
    name: str,
    function: Callable[..., torch.Tensor],
    reference: str,
    *,
    layer: Literal["unused", "optional", "required"] = "unused",
    output: Literal["pixel", "cam"] = "pixel",
    extra_options: Sequence[str] = (),
) -> AttributionMethod:
    parameters = list(inspect.signature(function).parameters.values())[2:]
    defaults = {p.name: p.default for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
    options = tuple(defaults) + tuple(o for o in extra_options if o not in defaults)
    return AttributionMethod(
        name, function, layer, options, reference, output, MappingProxyType(defaults)
    )


#: Attribution methods by name, each with the call shape of :class:`AttributionMethod`.
ATTRIBUTION_METHODS: dict[str, AttributionMethod] = {}
