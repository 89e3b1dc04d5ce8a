"""Alignment importance scores: the whole protocol on VGG-16, fast paths against the naive re-run.

Run::

    .venv/bin/python benchmarks/bench_ais.py                  # 120 images x 512 maps, 40 folds
    .venv/bin/python benchmarks/bench_ais.py --quick          # 16 images, 2 folds, ~1 min
    .venv/bin/python benchmarks/bench_ais.py --device cuda    # on a GPU
    .venv/bin/python benchmarks/bench_ais.py --threads 1 --images 60 --seeds 2

What it measures, each part in a fresh Python process (so ``ru_maxrss`` is that
part's own peak resident memory):

1. **full**: ``analysis.ais.ais_protocol`` on a randomly initialised
   torchvision VGG-16 (layer ``features.29``, 512 maps of 14 x 14; readout
   ``classifier.4``) for N random 224 x 224 images and a synthetic human
   similarity matrix: the forward pass, set-level and per-image scores, and
   cross-validated pruning at every n (5 folds x 8 seeds = 40 folds by
   default). The naive cost of the same protocol (one forward pass per
   ablation: K passes for set-level scores, N x K single-image passes for
   per-image scores, 2 K passes per fold for pruning) is estimated from timed
   forward passes.
2. **small**: a VGG-shaped network small enough for the naive reference
   (``method="naive"``) to finish: every quantity timed both ways, and the
   largest difference between them printed.
3. **captum**: set-level AIS with Captum's ``LayerFeatureAblation`` (the
   fit as a batch-level output, the network re-run per ablated map), the only
   peer library that computes any of these quantities: on the small network
   in full, and on VGG-16 for ``--captum-maps`` maps, extrapolated to 512.
   Skipped with a message when Captum is not installed.

Aims (issue 6): the full protocol for 120 images x 512 maps in under 15 minutes
on a 2-core CPU and under 1 minute on a GPU, with results equal to the naive
computation. Figures depend on the load of the machine: the table says how
many threads torch used and the load average when the run started.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

SEEDS = (111, 222, 333, 444, 555, 666, 777, 888)


def _inputs(n: int, size: int, seed: int = 0) -> tuple[Any, Any]:
    import numpy as np
    import torch

    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(n, 3, size, size, generator=generator)
    latent = np.random.default_rng(seed).normal(size=(n, 4))
    similarity = -np.linalg.norm(latent[:, None] - latent[None], axis=-1)
    return images, similarity


def _vgg16(device: str) -> Any:
    import torch
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.vgg16().eval().to(device)


def _small() -> Any:
    import torch
    from torch import nn

    class SmallVGG(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 32, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(64 * 49, 512),
                nn.ReLU(inplace=True),
                nn.Dropout(),
                nn.Linear(512, 512),
                nn.ReLU(inplace=True),
                nn.Linear(512, 10),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    torch.manual_seed(0)
    return SmallVGG().eval()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(function: Any, *args: Any) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def _timed_forwards(net: Any, images: Any, device: str) -> dict[str, float]:
    """Seconds of one whole-network pass and one head pass (features.30 -> classifier.4)."""
    import torch

    def head(maps: torch.Tensor) -> None:
        net.classifier[:5](torch.flatten(net.avgpool(net.features[30](maps)), 1))
        _sync(device)

    def whole(batch: torch.Tensor) -> None:
        net(batch)
        _sync(device)

    with torch.no_grad():
        maps = torch.cat([net.features[:30](images[s : s + 16]) for s in range(0, len(images), 16)])
        whole(images[:2])
        return {
            "whole": sum(_timed(whole, images[s : s + 16]) for s in range(0, len(images), 16)),
            "whole_single": _timed(whole, images[:1]),
            "head": _timed(head, maps),
            "head_single": _timed(head, maps[:1]),
        }


def worker_full(args: argparse.Namespace) -> dict[str, Any]:
    from analysis.ais import _core, _engines
    from analysis.ais._modules import evaluating
    from analysis.ais._pairs import check_splits, kfold_splits, prepare_similarity

    net = _vgg16(args.device)
    images, similarity = _inputs(args.images, 224)
    images = images.to(args.device)
    sim = prepare_similarity(similarity, args.images, dissimilarity=False)
    splits = kfold_splits(args.images, args.folds, SEEDS[: args.seeds])
    check_splits(splits, sim)
    times: dict[str, Any] = {}
    with evaluating(net):
        start = time.perf_counter()
        engine = _engines.build(
            net, images, "features.29", "classifier.4", method="auto", batch_size=16
        )
        _sync(args.device)
        times["forward"] = time.perf_counter() - start
        chunk = engine.chunk(None)
        start = time.perf_counter()
        scores = _core.single_ablations(engine, sim, chunk)
        times["set_and_image"] = time.perf_counter() - start
        start = time.perf_counter()
        folds = _core.pruning(engine, sim, splits, scores["rsm"], scores["ablated_rsm"], chunk)
        times["pruning"] = time.perf_counter() - start
        passes = _timed_forwards(net, images, args.device)
    k_maps, n = engine.n_maps, args.images
    # method="naive": the whole network per ablation: K passes (set-level), N x K single-image
    # passes (per-image), and per fold K (training AIS) + K (every n) passes.
    times["naive_whole"] = {
        "set_and_image": k_maps * passes["whole"] + n * k_maps * passes["whole_single"],
        "pruning": len(splits) * 2 * k_maps * passes["whole"],
    }
    # The naive cost: the rest of the network (the head) re-run per ablation, the
    # set-level ablations reused for the per-image scores.
    times["naive_head"] = {
        "set_and_image": k_maps * passes["head"],
        "pruning": len(splits) * 2 * k_maps * passes["head"],
    }
    times.update(
        engine=engine.name,
        folds=len(folds),
        maps=k_maps,
        peak_mb=_peak_mb(),
        baseline_fit=scores["baseline_fit"],
    )
    return times


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def worker_small(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from analysis.ais import ais_protocol

    images, similarity = _inputs(args.small_images, 32, seed=1)
    out: dict[str, Any] = {}
    results = {}
    for method in ("auto", "batched", "naive"):
        start = time.perf_counter()
        results[method] = ais_protocol(
            _small(),
            images,
            similarity,
            layer="features.4",
            readout="classifier.4",
            method=method,
            n_folds=2,
            seeds=SEEDS[:2],
        )
        out[method] = time.perf_counter() - start
    naive, naive_pruned = results["naive"]
    for method in ("auto", "batched"):
        result, pruned = results[method]
        out[f"{method}_max_diff"] = max(
            float(np.nanmax(np.abs(result.set_scores - naive.set_scores))),
            float(np.nanmax(np.abs(result.image_scores - naive.image_scores))),
            float(np.nanmax(np.abs(pruned.table["train_fit"] - naive_pruned.table["train_fit"]))),
            float(np.nanmax(np.abs(pruned.table["test_fit"] - naive_pruned.table["test_fit"]))),
        )
        out[f"{method}_same_n_star"] = bool(
            (pruned.folds["n_star"] == naive_pruned.folds["n_star"]).all()
        )
    out["engine"] = results["auto"][0].method
    out["peak_mb"] = _peak_mb()
    return out


def worker_captum(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np
    import torch

    from analysis.ais import alignment_importance

    out: dict[str, Any] = {}
    net = _small()
    images, similarity = _inputs(args.small_images, 32, seed=1)
    with torch.no_grad():
        maps = net.features[:5](images)

    def small_head(x: torch.Tensor) -> torch.Tensor:
        return net.classifier[:5](torch.flatten(net.avgpool(net.features[5](x)), 1))

    out["small"] = _captum_run(small_head, maps, similarity, maps.shape[1])
    ours = alignment_importance(net, images, similarity, layer="features.4", readout="classifier.4")
    scores = out["small"].pop("scores")[: maps.shape[1]]
    out["small_max_diff"] = float(np.max(np.abs(scores - ours.set_scores)))
    if not args.quick:
        vgg = _vgg16("cpu")
        images, similarity = _inputs(args.images, 224)
        with torch.no_grad():
            vgg_maps = torch.cat(
                [vgg.features[:30](images[s : s + 16]) for s in range(0, len(images), 16)]
            )

        def vgg_head(x: torch.Tensor) -> torch.Tensor:
            return vgg.classifier[:5](torch.flatten(vgg.avgpool(vgg.features[30](x)), 1))

        run = _captum_run(vgg_head, vgg_maps, similarity, args.captum_maps)
        run.pop("scores")
        run["extrapolated_512"] = run["seconds"] / (args.captum_maps + 1) * 512
        out["vgg16"] = run
    out["peak_mb"] = _peak_mb()
    return out


def _captum_run(head: Any, maps: Any, similarity: Any, n_maps: int) -> dict[str, Any]:
    import numpy as np
    import torch
    from captum.attr import LayerFeatureAblation
    from torch import nn

    rows, cols = np.triu_indices(len(similarity), k=1)
    target = torch.as_tensor(similarity[rows, cols], dtype=torch.float64)
    identity = nn.Identity()

    def fit(x: torch.Tensor) -> torch.Tensor:
        # Correlations in float64 as in analysis.ais: the RSM of a random network is nearly flat.
        rsm = torch.corrcoef(head(identity(x)).double())[rows, cols]
        return torch.corrcoef(torch.stack([rsm, target]))[0, 1] ** 2

    groups = torch.full((1, maps.shape[1], 1, 1), n_maps, dtype=torch.long)
    groups[0, :n_maps, 0, 0] = torch.arange(n_maps)
    ablation = LayerFeatureAblation(fit, identity)
    start = time.perf_counter()
    with torch.no_grad():
        scores = ablation.attribute(maps, layer_mask=groups, layer_baselines=0.0)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "maps": n_maps, "scores": scores[0, :, 0, 0].double().numpy()}
    # Maps beyond n_maps form one more group, ablated together (one more re-run).
    return {"seconds": seconds, "maps": n_maps, "scores": scores[0, :, 0, 0].double().numpy()}


WORKERS = {"full": worker_full, "small": worker_small, "captum": worker_captum}


def _spawn(name: str, argv: list[str]) -> dict[str, Any] | None:
    command = [sys.executable, __file__, "--worker", name, *argv]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"[{name}] failed:\n{done.stderr[-3000:]}", file=sys.stderr)
        return None
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _minutes(seconds: float) -> str:
    return f"{seconds:9.1f} s" if seconds < 600 else f"{seconds / 60:7.1f} min"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="16 images, 1 seed x 2 folds")
    parser.add_argument("--images", type=int, default=None, help="default 120 (16 quick)")
    parser.add_argument("--folds", type=int, default=None, help="default 5 (2 quick)")
    parser.add_argument("--seeds", type=int, default=None, help="default 8 (1 quick)")
    parser.add_argument("--small-images", type=int, default=None, help="default 16 (10 quick)")
    parser.add_argument(
        "--small-threads", type=int, default=1, help="torch threads for parts 2 and 3 (default 1)"
    )
    parser.add_argument("--captum-maps", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=sorted(WORKERS))
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.images = args.images or (16 if args.quick else 120)
    args.folds = args.folds or (2 if args.quick else 5)
    args.seeds = args.seeds or (1 if args.quick else 8)
    args.small_images = args.small_images or (10 if args.quick else 16)
    if args.worker:
        import torch

        threads = args.threads if args.worker == "full" else args.small_threads
        if threads:
            torch.set_num_threads(threads)
        print(json.dumps(WORKERS[args.worker](args), default=float))
        return
    import torch

    argv = [a for a in sys.argv[1:] if a != "--worker"]
    load = os.getloadavg()[0]
    threads = args.threads or torch.get_num_threads()
    print(
        f"AIS benchmark: VGG-16 (random init), {args.images} images x 512 maps, "
        f"{args.folds} folds x {args.seeds} seeds; device {args.device}; torch threads {threads} "
        f"(parts 2-3: {args.small_threads}); "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at start"
    )
    results = {name: _spawn(name, argv) for name in WORKERS if name not in args.skip}
    if "captum" not in args.skip and importlib.util.find_spec("captum") is None:
        print("captum is not installed: its part is skipped.")
    _report(args, results)


def _report(args: argparse.Namespace, results: dict[str, Any]) -> None:
    full = results.get("full")
    if full:
        total = full["forward"] + full["set_and_image"] + full["pruning"]
        whole, head = full["naive_whole"], full["naive_head"]
        print(f"\n1. Whole protocol, engine '{full['engine']}' ({full['folds']} folds)")
        print(
            f"   {'part':<24}{'this project':>14}{'naive: head re-run':>20}{'ratio':>8}"
            f"{'naive: whole net':>18}{'ratio':>8}   (naive figures estimated from timed passes)"
        )
        rows = [
            ("forward pass", full["forward"], full["forward"], full["forward"]),
            (
                "set-level + per-image",
                full["set_and_image"],
                head["set_and_image"],
                whole["set_and_image"],
            ),
            ("pruning, every n", full["pruning"], head["pruning"], whole["pruning"]),
            ("total", total, full["forward"] + sum(head.values()), sum(whole.values())),
        ]
        for name, ours, by_head, by_whole in rows:
            print(
                f"   {name:<24}{_minutes(ours):>14}{_minutes(by_head):>20}{by_head / ours:>7.0f}x"
                f"{_minutes(by_whole):>18}{by_whole / ours:>7.0f}x"
            )
        print(f"   peak RSS {full['peak_mb']:.0f} MB; aim: total < 15 min (CPU), < 1 min (GPU)")
    small = results.get("small")
    if small:
        print(
            f"\n2. Small VGG-shaped network "
            f"({args.small_images} images, 64 maps, 4 folds), measured"
        )
        print(f"   {'method':<28}{'seconds':>10}{'speed-up':>10}{'max |diff|':>14}{'same n*':>9}")
        for method in ("naive", "batched", "auto"):
            speed = small["naive"] / small[method]
            diff = f"{small[method + '_max_diff']:.1e}" if method != "naive" else ""
            same = str(small[method + "_same_n_star"]) if method != "naive" else ""
            name = f"{method} ({small['engine']})" if method == "auto" else method
            print(f"   {name:<28}{small[method]:>10.2f}{speed:>9.0f}x{diff:>14}{same:>9}")
    captum = results.get("captum")
    if captum:
        print("\n3. Captum LayerFeatureAblation, set-level AIS only (re-runs the head per map)")
        run = captum["small"]
        print(
            f"   small network, {run['maps']} maps: {run['seconds']:.2f} s, max |diff| to "
            f"alignment_importance {captum['small_max_diff']:.1e}"
        )
        if "vgg16" in captum:
            vgg = captum["vgg16"]
            print(
                f"   VGG-16, {vgg['maps']} maps (+1 group for the rest): {vgg['seconds']:.1f} s, "
                f"extrapolated to 512 maps: {_minutes(vgg['extrapolated_512'])}"
            )
            if full:
                ours = full["set_and_image"]
                print(f"   this project, set-level + per-image, 512 maps: {_minutes(ours)}")


if __name__ == "__main__":
    main()
