"""Ablated representations in bulk: the exact linear shortcut, batched head re-runs, hooks (torch).

Every engine gives the same two things, for all N images at once:

- ``ablate_each(channels)``: the readout with one channel zeroed, for each channel
  given, shape (c, N, D);
- ``iter_keep(order, chunk)``: for n = 1, 2, ..., the readout with only
  ``order[:n]`` kept (every other channel zeroed), in chunks of n, shape (c, N, D).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from ._graph import LinearParts, Split, split
from ._modules import auto_chunk

#: Elements of the largest intermediate batch (about 128 MiB in float32).
BUDGET = 1 << 25


class Engine:
    """Common state: layer activations (N, K, h, w) and the unablated readout (N, D)."""

    name = "engine"
    activations: torch.Tensor
    baseline: torch.Tensor
    width: int = 1

    @property
    def n_images(self) -> int:
        return int(self.activations.shape[0])

    @property
    def n_maps(self) -> int:
        return int(self.activations.shape[1])

    def chunk(self, requested: int | None) -> int:
        if requested is not None:
            return requested
        return min(self.n_maps, auto_chunk(self.n_images, self.width, BUDGET))

    def ablate_each(self, channels: Sequence[int]) -> torch.Tensor:
        raise NotImplementedError

    def iter_keep(self, order: Sequence[int], chunk: int) -> Iterator[tuple[int, torch.Tensor]]:
        raise NotImplementedError


class LinearEngine(Engine):
    """Head = tail(W flatten(stage(A)) + b), ``stage`` channelwise: an ablation is a subtraction.

    With ``p = stage(A)`` (N, K, q) and ``p0`` the stage's output for an
    all-zero channel, ablating the set S changes the linear layer's input only
    in the blocks of S, so ``Z = Z_full - sum_{k in S} W_k (p_k - p0_k)``
    exactly, before the first nonlinearity after the linear layer. Without a
    linear layer (the readout inside the stage), the representation is
    ``flatten(p)`` with blocks of S replaced by ``p0``.
    """

    name = "linear"

    def __init__(self, parts: LinearParts, activations: torch.Tensor, batch_size: int) -> None:
        self.activations = activations
        self.parts = parts
        n, k = activations.shape[:2]
        # Clones: the copied modules may work in place (torchvision's ReLU(inplace=True)).
        pooled = torch.cat(
            [parts.stage(activations[s : s + batch_size].clone()) for s in range(0, n, batch_size)]
        )
        self.p = pooled.reshape(n, k, -1)
        self.p0 = parts.stage(torch.zeros_like(activations[:1])).reshape(k, -1)
        q = self.p.shape[2]
        linear = parts.linear
        if linear is None:
            self.baseline = self.p.reshape(n, -1)
            self.width = k * q
            return
        if linear.in_features != k * q:
            raise _NotLinearError(
                f"linear layer takes {linear.in_features} inputs, stage gives {k * q}"
            )
        weight = linear.weight.detach()
        self.wt = weight.reshape(weight.shape[0], k, q).permute(1, 2, 0).contiguous()
        self.delta = (self.p - self.p0).permute(1, 0, 2).contiguous()  # (K, N, q)
        self.z_full = linear(self.p.reshape(n, -1))
        self.z_empty = linear(self.p0.reshape(1, -1))
        self.baseline = self._tail(self.z_full[None].clone())[0]
        self.width = max(weight.shape[0], self.baseline.shape[1])

    def _tail(self, z: torch.Tensor) -> torch.Tensor:
        c, n, m = z.shape
        out = z if self.parts.tail is None else self.parts.tail(z.reshape(c * n, m))
        return out.reshape(c, n, -1)

    def _contributions(self, channels: torch.Tensor) -> torch.Tensor:
        """W_k (p_k - p0_k) for the channels, shape (c, N, M)."""
        return torch.bmm(self.delta[channels], self.wt[channels])

    def ablate_each(self, channels: Sequence[int]) -> torch.Tensor:
        index = torch.as_tensor(list(channels), device=self.p.device, dtype=torch.long)
        if self.parts.linear is None:
            out = self.p.expand(len(index), *self.p.shape).clone()
            out[torch.arange(len(index), device=index.device), :, index] = self.p0[index][:, None]
            return out.reshape(len(index), self.n_images, -1)
        return self._tail(self.z_full[None] - self._contributions(index))

    def iter_keep(self, order: Sequence[int], chunk: int) -> Iterator[tuple[int, torch.Tensor]]:
        order_t = torch.as_tensor(list(order), device=self.p.device, dtype=torch.long)
        if self.parts.linear is None:
            rank = torch.empty_like(order_t)
            rank[order_t] = torch.arange(len(order_t), device=order_t.device)
            for start in range(0, len(order_t), chunk):
                counts = torch.arange(start + 1, min(start + chunk, len(order_t)) + 1)
                keep = rank[None, :] < counts.to(rank.device)[:, None]  # (c, K)
                out = torch.where(keep[:, None, :, None], self.p[None], self.p0[None, None])
                yield start + 1, out.reshape(len(counts), self.n_images, -1)
            return
        running = self.z_empty.expand(self.n_images, -1)
        for start in range(0, len(order_t), chunk):
            z = self._contributions(order_t[start : start + chunk])
            # A running sum, in place (torch.cumsum over the first axis is far slower here).
            z[0] += running
            for j in range(1, z.shape[0]):
                z[j] += z[j - 1]
            running = z[-1].clone()
            yield start + 1, self._tail(z)


class MaskedEngine(Engine):
    """Runs the head on batches of (image, channel mask) jobs; subclasses say how."""

    batch_jobs: int = 1

    def _run_jobs(self, images: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _jobs(self, keep_rows: torch.Tensor) -> torch.Tensor:
        """Readouts (c, N, D) for every image under each mask row of ``keep_rows`` (c, K)."""
        c, n = keep_rows.shape[0], self.n_images
        image_index = torch.arange(n, device=keep_rows.device).repeat(c)
        mask_index = torch.arange(c, device=keep_rows.device).repeat_interleave(n)
        parts = []
        for start in range(0, c * n, self.batch_jobs):
            stop = min(start + self.batch_jobs, c * n)
            keep = keep_rows[mask_index[start:stop]].to(self.activations.dtype)
            parts.append(self._run_jobs(image_index[start:stop], keep))
        return torch.cat(parts).reshape(c, n, -1)

    def ablate_each(self, channels: Sequence[int]) -> torch.Tensor:
        keep = torch.ones(len(channels), self.n_maps, dtype=torch.bool, device=self._device)
        rows = torch.arange(len(channels), device=self._device)
        keep[rows, torch.as_tensor(list(channels), device=self._device)] = False
        return self._jobs(keep)

    def iter_keep(self, order: Sequence[int], chunk: int) -> Iterator[tuple[int, torch.Tensor]]:
        order_t = torch.as_tensor(list(order), dtype=torch.long)
        rank = torch.empty_like(order_t)
        rank[order_t] = torch.arange(len(order_t))
        for start in range(0, len(order_t), chunk):
            counts = torch.arange(start + 1, min(start + chunk, len(order_t)) + 1)
            yield start + 1, self._jobs((rank[None, :] < counts[:, None]).to(self._device))

    @property
    def _device(self) -> torch.device:
        return self.activations.device


class GraphEngine(MaskedEngine):
    """The traced head (layer output and any skip inputs -> readout), on masked activations."""

    name = "batched"

    def __init__(self, cut: Split, outputs: list[tuple[torch.Tensor, ...]]) -> None:
        self.head = cut.head
        self.activations = torch.cat([o[0] for o in outputs])
        self.externals = [
            torch.cat([o[1 + e] for o in outputs]) if batched else outputs[0][1 + e]
            for e, batched in enumerate(cut.batched)
        ]
        self.batched = cut.batched
        self.baseline = torch.cat([o[-1] for o in outputs])
        self.baseline = self.baseline.reshape(self.baseline.shape[0], -1)
        self.width = self.baseline.shape[1]
        self.batch_jobs = auto_chunk(1, self.activations[0].numel(), BUDGET)

    def _run_jobs(self, images: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        inputs = [
            e[images] if batched else e.clone()
            for e, batched in zip(self.externals, self.batched, strict=True)
        ]
        out = self.head(self.activations[images] * keep[:, :, None, None], *inputs)
        return out.reshape(len(images), -1)


class HookEngine(MaskedEngine):
    """The whole network re-run with the layer's output multiplied by a channel mask (hooks)."""

    name = "hooks"

    def __init__(
        self, module: nn.Module, images: torch.Tensor, layer: str, readout: str, batch_size: int
    ) -> None:
        named = dict(module.named_modules())
        self.module, self.images = module, images
        self.layer, self.readout = named[layer], named[readout]
        self.mask: torch.Tensor | None = None
        captured: dict[str, list[torch.Tensor]] = {"layer": [], "readout": []}
        self.batch_jobs = batch_size
        with self._hooks(captured):
            for start in range(0, len(images), batch_size):
                module(images[start : start + batch_size])
        self.activations = torch.cat(captured["layer"])
        self.baseline = torch.cat(captured["readout"])
        self.width = self.baseline.shape[1]

    def _hooks(self, captured: dict[str, list[torch.Tensor]]) -> Any:
        engine = self

        class _Hooks:
            def __enter__(self) -> None:
                self.handles = [
                    engine.layer.register_forward_hook(self.layer),
                    engine.readout.register_forward_hook(self.readout),
                ]

            def __exit__(self, *exc: object) -> None:
                for handle in self.handles:
                    handle.remove()

            @staticmethod
            def layer(_m: nn.Module, _i: Any, output: torch.Tensor) -> torch.Tensor | None:
                captured["layer"].append(output.clone())  # before any in-place op after it
                if engine.mask is None:
                    return None
                return output * engine.mask[:, :, None, None]

            @staticmethod
            def readout(_m: nn.Module, _i: Any, output: torch.Tensor) -> None:
                captured["readout"].append(output.reshape(output.shape[0], -1).clone())

        return _Hooks()

    def _run_jobs(self, images: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        captured: dict[str, list[torch.Tensor]] = {"layer": [], "readout": []}
        self.mask = keep
        try:
            with self._hooks(captured):
                self.module(self.images[images])
        finally:
            self.mask = None
        return captured["readout"][0]


class _NotLinearError(Exception):
    """The head does not have the shape the linear shortcut needs."""


def _prefix(cut: Split, images: torch.Tensor, batch_size: int) -> list[tuple[torch.Tensor, ...]]:
    return [cut.prefix(images[s : s + batch_size]) for s in range(0, len(images), batch_size)]


def build(
    module: nn.Module,
    images: torch.Tensor,
    layer: str,
    readout: str,
    *,
    method: str,
    batch_size: int,
) -> Engine:
    """The fastest exact engine that ``method`` allows for this layer and readout."""
    cut = split(module, layer, readout) if method != "hooks" else None
    outputs = _prefix(cut, images, batch_size) if cut is not None else None
    linear = cut.linear if cut is not None else None
    if method in ("auto", "linear") and linear is not None and outputs is not None:
        reference = torch.cat([o[-1] for o in outputs]).reshape(len(images), -1)
        try:
            engine = LinearEngine(linear, torch.cat([o[0] for o in outputs]), batch_size)
        except _NotLinearError:
            engine = None
        if engine is not None:
            scale = float(reference.abs().max().clamp_min(1e-30))
            if torch.allclose(engine.baseline, reference, rtol=1e-4, atol=1e-4 * scale):
                return engine
            warnings.warn(
                "The linear shortcut did not reproduce the network's readout; falling back to "
                "batched head re-runs.",
                stacklevel=3,
            )
    if method == "linear":
        raise ValueError(
            "Invalid value for the 'method' parameter: 'linear' needs a head of channelwise "
            "operations, a flatten and a Linear layer between the layer "
            f"{layer!r} and the readout {readout!r} (as in VGG and AlexNet), but this model "
            "has none. Use 'auto'."
        )
    if cut is not None and outputs is not None:
        return GraphEngine(cut, outputs)
    return HookEngine(module, images, layer, readout, batch_size)
