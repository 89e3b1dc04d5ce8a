"""What every attribution method shares: the target score, the call context and the model guard."""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

__all__: list[str] = []

_HOOK_ATTRS = ("_is_full_backward_hook",)

#: Salt per use of random numbers, so that two methods seeded alike draw different numbers.
SEED_TAGS = {"smoothgrad": 1, "baseline": 2}


class Score:
    """What to explain, as one scalar per row of a batch of model outputs.

    Exactly one of three kinds: fixed class ``indices`` (one per row), a
    ``function`` of the outputs, or neither: the class each row's own logits
    predict (argmax), for methods that run the unaltered images.
    """

    def __init__(
        self,
        *,
        indices: torch.Tensor | None = None,
        function: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.indices = indices
        self.function = function

    @property
    def predicted(self) -> bool:
        """Whether the class is the argmax of the logits the score is applied to."""
        return self.indices is None and self.function is None

    def _classes(self, logits: torch.Tensor) -> torch.Tensor:
        if logits.ndim != 2:
            if self.predicted:
                raise ValueError(
                    "target=None needs model outputs of shape (N, K), but the model gave "
                    f"{tuple(logits.shape)}. Pass a callable target instead."
                )
            raise ValueError(
                f"A class-index target needs model outputs of shape (N, K), but the model gave "
                f"{tuple(logits.shape)}. Pass a callable target instead."
            )
        if self.indices is None:
            return logits.detach().argmax(dim=1)
        n_classes = logits.shape[1]
        if int(self.indices.min()) < 0 or int(self.indices.max()) >= n_classes:
            raise ValueError(
                f"Invalid value for the 'target' parameter: class indices must lie in "
                f"[0, {n_classes - 1}], but got {self.indices.tolist()}."
            )
        return self.indices.to(logits.device)

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        """The score (M,) of each of the M rows of ``logits``."""
        if self.function is not None:
            return _call_target(self.function, logits)
        return logits.gather(1, self._classes(logits)[:, None])[:, 0]

    def probability(self, logits: torch.Tensor) -> torch.Tensor:
        """Softmax probability of the target class (M,); a callable target's own value."""
        if self.function is not None:
            return _call_target(self.function, logits)
        classes = self._classes(logits)
        dtype = torch.promote_types(logits.dtype, torch.float32)
        return functional.softmax(logits.to(dtype), dim=1).gather(1, classes[:, None])[:, 0]

    def resolved(self, logits: torch.Tensor) -> Score:
        """This score with the predicted class fixed from ``logits`` of the unaltered images."""
        if not self.predicted:
            return self
        return Score(indices=self._classes(logits))

    def take(self, rows: torch.Tensor) -> Score:
        """The score for a batch whose row ``r`` is a variant of image ``rows[r]``."""
        if self.function is not None:
            return self
        if self.indices is None:
            raise RuntimeError("Internal error: fix the predicted class before taking rows.")
        return Score(indices=self.indices[rows.to(self.indices.device)])


def _call_target(
    function: Callable[[torch.Tensor], torch.Tensor], logits: torch.Tensor
) -> torch.Tensor:
    value = function(logits)
    n = logits.shape[0]
    if not isinstance(value, torch.Tensor) or tuple(value.shape) != (n,):
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(
            "A callable 'target' must return a tensor of shape (N,) = "
            f"({n},), one scalar per image, but it returned {shape}."
        )
    return value


@dataclass(frozen=True)
class Context:
    """Everything a method needs besides its images and options.

    Attributes
    ----------
    module : torch.nn.Module
        The network, in eval mode with parameter gradients off.
    score : Score
        The quantity to explain.
    layer : torch.nn.Module or None
        The resolved layer for layer methods.
    autocast : torch.dtype or None
        Run forward passes under ``torch.autocast`` with this dtype.
    keys : tuple of tuple of int
        Seed material per image of the batch (its index in the whole call,
        and, inside SmoothGrad, the sample number), so random draws do not
        depend on how the images are batched.
    normalization : tuple of Tensor or None
        ``(mean, std)`` of shape (C, 1, 1): inputs = (pixels in [0, 1] - mean) / std.
    rows : int
        Default number of rows per forward pass for methods that expand a batch.
    total : int
        Number of images in the whole call (for per-image option tensors).
    """

    module: nn.Module
    score: Score
    layer: nn.Module | None = None
    autocast: torch.dtype | None = None
    keys: tuple[tuple[int, ...], ...] = ()
    normalization: tuple[torch.Tensor, torch.Tensor] | None = None
    rows: int = 64
    total: int = 0

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network's output on ``inputs``, under autocast when asked for."""
        if self.autocast is None:
            return self.module(inputs)
        with torch.autocast(device_type=inputs.device.type, dtype=self.autocast):
            return self.module(inputs)

    def fixed_score(self, inputs: torch.Tensor) -> Score:
        """The score with the predicted class fixed on the unaltered ``inputs``."""
        if not self.score.predicted:
            return self.score
        with torch.no_grad():
            return self.score.resolved(self.forward(inputs.clone()))

    def for_rows(self, rows: torch.Tensor, *, score: Score, suffix: Sequence[int]) -> Context:
        """The context for a batch whose row ``r`` is variant ``suffix[r]`` of image ``rows[r]``."""
        keys = tuple(
            (*self.keys[int(i)], int(s)) for i, s in zip(rows.tolist(), suffix, strict=True)
        )
        return replace(self, score=score.take(rows), keys=keys)

    @staticmethod
    def generator(seed: int, tag: str, key: Sequence[int], device: torch.device) -> torch.Generator:
        """A generator on ``device`` seeded from ``seed``, the use ``tag`` and a row's ``key``."""
        material = [int(seed), SEED_TAGS[tag], *key]
        state = np.random.SeedSequence(material).generate_state(1, dtype=np.uint64)[0]
        generator = torch.Generator(device=device)
        generator.manual_seed(int(state) & 0x7FFF_FFFF_FFFF_FFFF)
        return generator


def input_gradient(ctx: Context, inputs: torch.Tensor, score: Score | None = None) -> torch.Tensor:
    """d score / d inputs (N, C, H, W) for one forward and one backward pass."""
    leaf = inputs.detach().requires_grad_(True)
    # A non-leaf copy goes in, so that in-place first layers (ReLU(inplace=True)) work and
    # leave the leaf (and the caller's inputs) intact.
    scores = (score or ctx.score)(ctx.forward(leaf.clone()))
    (grad,) = torch.autograd.grad(scores.sum(), leaf)
    return grad


def chunks(total: int, size: int) -> Iterator[torch.Tensor]:
    """Consecutive index ranges ``arange(start, stop)`` of at most ``size`` covering ``total``."""
    for start in range(0, total, size):
        yield torch.arange(start, min(start + size, total))


def add_rows(total: torch.Tensor, image: torch.Tensor, values: torch.Tensor) -> None:
    """``total[image[r]] += values[r]`` for rows sorted by image, in place.

    Sums each image's run of rows (``index_add_`` with repeated indices is
    orders of magnitude slower on the CPU).
    """
    images, counts = torch.unique_consecutive(image, return_counts=True)
    for i, part in zip(images.tolist(), values.split(counts.tolist()), strict=True):
        total[i] += part.sum(dim=0)


def upsample(cam: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Bilinear resize (align_corners=False) of (N, 1, h, w) maps to ``size`` = (H, W)."""
    return functional.interpolate(cam, size=tuple(size), mode="bilinear", align_corners=False)


def check_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``, else a ValueError naming the option."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(
            f"Invalid value for the '{name}' parameter: expected an int >= {minimum}, "
            f"but got {value!r} instead."
        )
    return int(value)


def check_choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    """``value`` if it is one of ``allowed``, else an MNE-style ValueError."""
    if value not in allowed:
        raise ValueError(
            f"Invalid value for the '{name}' parameter. Allowed values are "
            f"{', '.join(repr(a) for a in allowed)}, but got {value!r} instead."
        )
    return str(value)


def check_seed(value: Any) -> int:
    """A seed: an int >= 0."""
    return check_int("seed", value, minimum=0)


def rows_option(ctx: Context, value: Any) -> int:
    """``internal_batch_size`` checked, defaulting to the call's batch size."""
    return ctx.rows if value is None else check_int("internal_batch_size", value)


@contextlib.contextmanager
def preserve_model_state(model: nn.Module) -> Iterator[None]:
    """Eval mode, parameter gradients off, and everything restored on exit, also on error.

    Restores each module's ``training`` flag, each parameter's
    ``requires_grad``, and each module's hook dictionaries (``_forward_hooks``,
    ``_backward_hooks``, ...: any ``_*hooks*`` dict) to their exact former
    content, so hooks a method registers cannot outlive the call.
    """
    modules = list(model.modules())
    training = [module.training for module in modules]
    params = list(model.parameters())
    requires_grad = [param.requires_grad for param in params]
    hook_dicts = [
        (table, dict(table))
        for module in modules
        for key, table in vars(module).items()
        if key.startswith("_") and "hooks" in key and isinstance(table, dict)
    ]
    flags = [(module, key, getattr(module, key)) for module in modules for key in _HOOK_ATTRS]
    try:
        model.eval()
        for param in params:
            param.requires_grad_(False)
        yield
    finally:
        for module, was_training in zip(modules, training, strict=True):
            module.training = was_training
        for param, flag in zip(params, requires_grad, strict=True):
            param.requires_grad_(flag)
        for table, saved in hook_dicts:
            if table != saved:
                table.clear()
                table.update(saved)
        for module, key, value in flags:
            setattr(module, key, value)


def target_score(target: Any, n: int) -> Score:
    """The :class:`Score` for a user's ``target`` and a call on ``n`` images."""
    if target is None:
        return Score()
    if callable(target):
        return Score(function=target)
    if isinstance(target, (bool, float)):
        raise TypeError(
            "Invalid type for the 'target' parameter: expected None, an int, a sequence of ints "
            f"or a callable, but got {target!r}."
        )
    if isinstance(target, numbers.Integral):
        return Score(indices=torch.full((n,), int(target), dtype=torch.long))
    values = target.detach().cpu().numpy() if isinstance(target, torch.Tensor) else target
    array = np.asarray(values)
    if array.ndim == 0 and np.issubdtype(array.dtype, np.integer):
        return Score(indices=torch.full((n,), int(array), dtype=torch.long))
    if array.ndim != 1 or array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            "Invalid value for the 'target' parameter: a sequence target must be a 1-D sequence "
            f"of ints, one per image, but got {target!r}."
        )
    if len(array) != n:
        raise ValueError(
            f"Invalid value for the 'target' parameter: got {len(array)} class indices for "
            f"{n} images."
        )
    return Score(indices=torch.as_tensor(array, dtype=torch.long))
