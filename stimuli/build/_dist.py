"""Several processes on one build (``torchrun``): ranks, barriers, shard files."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["MainRankError", "Ranks", "leftover_shards", "setup_ranks", "shard_path"]

_T = TypeVar("_T")
#: How long a rank waits for the others (model loading and merging included).
_TIMEOUT = datetime.timedelta(hours=2)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"The environment variable {name}={value!r} is not an integer; it is set by "
            "torchrun (torch.distributed) for each process."
        ) from None


class MainRankError(RuntimeError):
    """Raised on the other ranks when rank 0 stopped the build with an error."""


@dataclass
class Ranks:
    """This process's place among the processes of a build.

    Attributes
    ----------
    rank, world : int
        This process's rank and the number of processes (``RANK`` and
        ``WORLD_SIZE`` from torchrun; 0 and 1 without it).
    local_rank : int
        ``LOCAL_RANK``: the GPU index on this machine.
    device : str
        The device this rank computes on.
    """

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: str = "cpu"
    _owns_group: bool = False

    @property
    def main(self) -> bool:
        """Whether this is rank 0, which prepares and merges."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every rank (nothing to do for one process)."""
        if self.world > 1:
            import torch.distributed as dist

            if dist.get_backend() == "nccl":
                dist.barrier(device_ids=[self.local_rank])
            else:
                dist.barrier()

    def on_main(self, function: Callable[[], _T]) -> _T:
        """Run ``function`` on rank 0 only; every rank gets its result or its error.

        Doubles as a barrier. An error on rank 0 is raised there as it is, and
        on the other ranks as a :class:`MainRankError` quoting it, so that every
        rank stops with the same message instead of waiting for rank 0.
        """
        if self.world == 1:
            return function()
        import torch.distributed as dist

        payload: list[Any] = [None]
        error: BaseException | None = None
        if self.main:
            try:
                payload[0] = ("ok", function())
            except Exception as raised:
                error = raised
                payload[0] = ("error", f"{type(raised).__name__}: {raised}")
        dist.broadcast_object_list(payload, src=0)
        if error is not None:
            raise error
        status, value = payload[0]
        if status == "error":
            raise MainRankError(f"rank 0 stopped the build: {value}")
        return value

    def close(self) -> None:
        """Leave the process group if this build created it."""
        if self._owns_group:
            import torch.distributed as dist

            dist.destroy_process_group()
            self._owns_group = False


def setup_ranks(device: str) -> Ranks:
    """Join the torchrun process group when ``WORLD_SIZE`` > 1, and pick this rank's device.

    Backend ``"gloo"`` on the CPU and ``"nccl"`` on CUDA. With ``device="cuda"``
    rank r computes on ``cuda:<LOCAL_RANK>``.
    """
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", rank)
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"Invalid torchrun environment: RANK={rank}, WORLD_SIZE={world}.")
    if world == 1:
        return Ranks(device=device)
    import torch
    import torch.distributed as dist

    cuda = device.startswith("cuda")
    if cuda:
        if device == "cuda":
            device = f"cuda:{local_rank}"
        torch.cuda.set_device(torch.device(device))
    owns = False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo", timeout=_TIMEOUT)
        owns = True
    return Ranks(rank, world, local_rank, device, owns)


def shard_path(out: Path, rank: int) -> Path:
    """The working file of ``rank`` beside the stimulus set ``out``."""
    return out.with_name(f"{out.stem}.shard-{rank}{out.suffix}")


def leftover_shards(out: Path) -> list[Path]:
    """Shard files of ``out`` left by an earlier run, sorted."""
    if not out.parent.is_dir():
        return []
    prefix, suffix = f"{out.stem}.shard-", out.suffix
    return sorted(
        path
        for path in out.parent.iterdir()
        if path.name.startswith(prefix)
        and path.name.endswith(suffix)
        and path.name[len(prefix) : len(path.name) - len(suffix)].isdigit()
    )
