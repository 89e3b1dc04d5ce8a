"""Time the saliency metrics of ``analysis.metrics`` against pysaliency's on the same maps.

Run::

    .venv/bin/python benchmarks/bench_metrics.py            # 1,000 images x 15 observers
    .venv/bin/python benchmarks/bench_metrics.py --quick    # 100 images, under a minute
    .venv/bin/python benchmarks/bench_metrics.py --images 300 --emd-images 20 --peer-images 300

Aims: show that :func:`analysis.metrics.score_batch` scores a data set of
1,000 images x 15 observers (800x600 maps, the full size here) on every
metric in seconds, Spearman and EMD included, and that per image it is at
least twice as fast as pysaliency's implementations of the same metrics,
called the way its models call them (one image at a time:
``pysaliency.metrics.NSS``, ``CC``, ``SIM``, ``MIT_KLDiv`` and
``pysaliency.roc.general_roc`` for the AUCs), on the same inputs in the same
run. ``auc_shuffled`` is timed twice: the MIT variant (100 random splits),
which has no peer (pysaliency's shuffled AUC, ``SaliencyMapModel.AUC`` with
``nonfixations='shuffled'``, is the exact one: ``general_roc`` through every
threshold, no draws), and ``exact=True``, pysaliency's definition, timed
against it like with like: both sides are given each image's fixated pixels
computed beforehand (the peer rows and columns, as pysaliency's ``Fixations``
hold ``x_int``/``y_int``; ours :func:`analysis.metrics.fixated_pixels`) and
the map as stored (float32); both read only the fixated and the other
values, the peer converts them to float64 and ranks, ours checks them (NaN,
inf, constant) and counts the pairs won with one sorted search. The note
gives ours from coordinates too (conversion included). The other location
metrics are timed from coordinates (conversion included on our side only).
``spearman`` is timed against :func:`scipy.stats.spearmanr`; it and ``emd``
score images in ``--workers`` threads (default: one per CPU).
pysaliency has no EMD, and its information gain is defined for
probabilistic models (log densities), not for saliency maps: those two are
timed alone.

Inputs: the fixations are OSIE's (``../shared/data/osie/fixations.mat``, 700
images x 15 observers, cycled to the requested number of images) when the
file is there, else 15 synthetic observers per image. The model maps are 20
smooth random maps (sums of Gaussian blobs) and the human maps for the
map-to-map metrics the fixation densities of 20 images; image ``i`` uses
map ``i % 20`` of each pool, which keeps memory small without changing the
work per image. The peers run on the first ``--peer-images`` images (200 by
default, 30 with ``--quick``: some take 0.2 s per image). Columns: our total seconds for all
images and milliseconds per image, the peer's milliseconds per image, the
ratio peer / ours per image (> 1: ours is faster), and the largest
difference between the two scores over the images where the definitions
agree (see each metric's docstring for the variants noted). Times are wall
clock, the fastest of ``--repeat`` runs of each side, on whatever else the
machine runs: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.baselines import centre_bias_gaussian, other_image_fixations  # noqa: E402
from analysis.fixations import fixation_map  # noqa: E402
from analysis.metrics import emd, fixated_pixels, score_batch  # noqa: E402

SHAPE = (600, 800)
N_SUBJECTS = 15
POOL = 20
PX_PER_DEG = 24.0


class Cycled(Sequence[np.ndarray]):
    """``n`` items drawn cyclically from a small pool (no copies)."""

    def __init__(self, pool: list[np.ndarray], n: int) -> None:
        self.pool, self.n = pool, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: Any) -> np.ndarray:  # type: ignore[override]
        if isinstance(i, slice):
            raise TypeError("slicing is not supported")
        if not -self.n <= i < self.n:
            raise IndexError(i)
        return self.pool[i % len(self.pool)]


def load_fixations(n: int, rng: np.random.Generator) -> tuple[list[np.ndarray], str]:
    """(x, y) of all observers per image, 0-based pixels."""
    path = ROOT.parent / "shared" / "data" / "osie" / "fixations.mat"
    if path.exists():
        from scipy.io import loadmat

        records = loadmat(path, squeeze_me=True, struct_as_record=False)["fixations"]
        per_image = [
            np.vstack(
                [
                    np.column_stack([np.atleast_1d(s.fix_x), np.atleast_1d(s.fix_y)]) - 1.0
                    for s in r.subjects
                ]
            )
            for r in records
        ]
        return [per_image[i % len(per_image)] for i in range(n)], "OSIE"
    out = []
    for _ in range(n):
        centre = rng.uniform([200, 150], [600, 450])
        k = N_SUBJECTS * 9
        out.append(np.clip(rng.normal(centre, 80, size=(k, 2)), 0, [799, 599]))
    return out, "synthetic"


def smooth_maps(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Model-like maps: a few Gaussian blobs plus faint noise, float32."""
    maps = []
    for _ in range(n):
        xy = rng.uniform([0, 0], [799, 599], size=(6, 2))
        m = fixation_map(xy, SHAPE, px_per_deg=PX_PER_DEG, sigma_deg=2.0, normalize="max")
        maps.append((m + 0.05 * rng.random(SHAPE)).astype(np.float32))
    return maps


def pixels(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the nearest pixels (as analysis rounds), inside the image."""
    cols = np.floor(xy[:, 0] + 0.5).astype(int)
    rows = np.floor(xy[:, 1] + 0.5).astype(int)
    inside = (cols >= 0) & (cols < SHAPE[1]) & (rows >= 0) & (rows < SHAPE[0])
    return rows[inside], cols[inside]


def peers() -> dict[str, tuple[str, Callable[..., float], str]]:
    """Peer implementations by metric: (library, per-image function, note)."""
    out: dict[str, tuple[str, Callable[..., float], str]] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pysaliency.metrics as psm
            from pysaliency.roc import general_roc
    except ImportError as err:
        print(f"pysaliency not available ({err}): its columns are skipped.\n")
    else:
        # Compile pysaliency's numba ROC loop outside the timing.
        general_roc(np.array([1.0, 0.5]), np.array([0.0, 2.0, 0.7]), judd=1)
        general_roc(np.array([1.0, 0.5]), np.array([0.0, 2.0, 0.7]), judd=0)

        def judd(s, rows, cols, other):
            fixated = np.zeros(s.shape, dtype=bool)
            fixated[rows, cols] = True
            return general_roc(s[rows, cols].astype(float), s[~fixated].astype(float), judd=1)[0]

        def uniform_auc(s, rows, cols, other):
            return general_roc(s[rows, cols].astype(float), s.ravel().astype(float))[0]

        def shuffled(s, rows, cols, other):
            o_rows, o_cols = other
            return general_roc(s[rows, cols].astype(float), s[o_rows, o_cols].astype(float))[0]

        def shuffled_unique(s, rows, cols, other):
            # The same on each fixated pixel once (the definition analysis.metrics keeps).
            positives = np.unique(rows * SHAPE[1] + cols)
            negatives = np.unique(other[0] * SHAPE[1] + other[1])
            flat = s.ravel()
            return general_roc(flat[positives].astype(float), flat[negatives].astype(float))[0]

        out.update(
            {
                "auc_judd": ("pysaliency", judd, "one positive per fixation (duplicates)"),
                "auc_borji": ("pysaliency", uniform_auc, "peer: exact AUC vs all pixels"),
                "auc_shuffled_exact": (
                    "pysaliency",
                    shuffled,
                    "both exact, pixels given; peer per fixation",
                ),
                "_shuffled_unique": ("pysaliency", shuffled_unique, ""),
                "nss": (
                    "pysaliency",
                    lambda s, rows, cols, other: float(psm.NSS(s, cols, rows).mean()),
                    "peer: std N, per fixation",
                ),
                "cc": ("pysaliency", lambda a, b: float(psm.CC(a, b)), ""),
                "similarity": ("pysaliency", lambda a, b: float(psm.SIM(a, b)), "min-shift only"),
                "kl_div": ("pysaliency", lambda a, b: float(psm.MIT_KLDiv(a, b)), ""),
            }
        )
    from scipy.stats import spearmanr

    out["spearman"] = ("scipy", lambda a, b: float(spearmanr(a.ravel(), b.ravel())[0]), "")
    return out


def fastest(func: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    """The result of ``func()`` and its fastest wall-clock time in seconds over ``repeat`` calls."""
    best = float("inf")
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - t)
    return result, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 images")
    parser.add_argument("--images", type=int, default=None, help="number of images")
    parser.add_argument("--emd-images", type=int, default=None, help="images timed for EMD (all)")
    parser.add_argument(
        "--peer-images", type=int, default=None, help="images timed for peers (200; quick: 30)"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="threads for spearman and emd (one per CPU)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="time each metric this many times, ours and the peer's, and keep the fastest (3)",
    )
    args = parser.parse_args()
    n = args.images or (100 if args.quick else 1000)
    n_emd = min(n, args.emd_images or n)
    n_peer = min(n, args.peer_images or (30 if args.quick else 200))
    rng = np.random.default_rng(0)

    t0 = time.perf_counter()
    fixations, source = load_fixations(n, rng)
    pool_maps = smooth_maps(rng, POOL)
    pool_dens = [fixation_map(fixations[i], SHAPE, px_per_deg=PX_PER_DEG) for i in range(POOL)]
    maps, dens = Cycled(pool_maps, n), Cycled(pool_dens, n)
    others = other_image_fixations(fixations, SHAPE, n_other=10, rng=1)
    baseline = centre_bias_gaussian(SHAPE)
    n_fix = sum(len(f) for f in fixations)
    print(
        f"{n} images of {SHAPE[1]}x{SHAPE[0]} px, {source} fixations ({n_fix} in all, "
        f"{N_SUBJECTS} observers per image); inputs built in {time.perf_counter() - t0:.1f} s; "
        f"peers timed on the first {n_peer} images; {os.cpu_count()} CPUs.\n"
    )
    peer = peers()
    shuffled_unique_peer: Callable[..., float] | None = peer.pop(
        "_shuffled_unique", ("", None, "")
    )[1]
    emd(np.ones((2, 2)), np.ones((2, 2)), downsample=1)  # imports POT outside the timing
    rows_cols = [pixels(f) for f in fixations]
    other_rc = [pixels(o) for o in others]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # fixations outside the image
        fixated = [fixated_pixels(f, SHAPE) for f in fixations]
        other_fixated = [fixated_pixels(o, SHAPE) for o in others]

    header = (
        f"{'metric':<19}{'ours s':>9}{'ms/img':>9}  {'peer':<11}{'ms/img':>9}"
        f"{'ratio':>8}{'max|diff|':>11}  note"
    )
    print(header)
    print("-" * len(header))
    fixation_metrics = (
        "auc_judd",
        "auc_borji",
        "auc_shuffled",
        "auc_shuffled_exact",
        "nss",
        "info_gain",
    )
    map_metrics = ("cc", "similarity", "kl_div", "spearman", "topk_iou", "topk_dice", "emd")
    ratios: dict[str, float] = {}
    for row in (*fixation_metrics, *map_metrics):
        metric = "auc_shuffled" if row == "auc_shuffled_exact" else row
        m = n_emd if metric == "emd" else n
        kwargs: dict[str, Any] = {"progress": False}
        if metric in ("spearman", "emd"):
            kwargs["workers"] = args.workers
        if row in fixation_metrics:
            kwargs["image_shape"] = SHAPE
            targets: Any = fixations[:m]
            if metric == "auc_shuffled":
                kwargs["other"] = others[:m]
            if row == "auc_shuffled_exact":
                kwargs["exact"] = True
                from_coordinates = fastest(
                    partial(score_batch, metric, Cycled(pool_maps, m), targets, **kwargs),
                    args.repeat,
                )[1]
                del kwargs["image_shape"]
                targets, kwargs["other"] = fixated[:m], other_fixated[:m]
            if metric == "info_gain":
                kwargs["baseline"] = baseline
            if metric in ("auc_borji", "auc_shuffled"):
                kwargs["rng"] = 0
        else:
            targets = Cycled(pool_dens, m)

        def run_ours(
            metric: str = metric, m: int = m, targets: Any = targets, kwargs: Any = kwargs
        ) -> Any:
            return score_batch(metric, Cycled(pool_maps, m), targets, **kwargs)

        ours, ours_s = fastest(run_ours, args.repeat)
        line = f"{row:<19}{ours_s:>9.2f}{1000 * ours_s / m:>9.2f}  "
        if row in peer:
            lib, func, note = peer[row]
            k = min(m, n_peer)

            def run_peer(
                func=func,
                k=k,
                fixation_row=row in fixation_metrics,
                shuffled_row=row == "auc_shuffled_exact",
            ):
                with warnings.catch_warnings():
                    # pysaliency's KL takes log(0) on zero-density pixels, then multiplies by 0.
                    warnings.simplefilter("ignore", RuntimeWarning)
                    if fixation_row:
                        # The map as stored where pysaliency reads only some values (sAUC).
                        as_stored = shuffled_row
                        return [
                            func(
                                maps[i] if as_stored else np.asarray(maps[i], dtype=float),
                                *rows_cols[i],
                                other_rc[i],
                            )
                            for i in range(k)
                        ]
                    return [
                        func(np.asarray(maps[i], dtype=float), np.asarray(dens[i], dtype=float))
                        for i in range(k)
                    ]

            theirs, peer_s = fastest(run_peer, args.repeat)
            peer_ms = 1000 * peer_s / k
            if row == "auc_shuffled_exact":
                # Same definition on each fixated pixel once: must agree to rounding.
                assert shuffled_unique_peer is not None
                same = [
                    shuffled_unique_peer(
                        np.asarray(maps[i], dtype=float), *rows_cols[i], other_rc[i]
                    )
                    for i in range(k)
                ]
                note += f"; per pixel max|diff| {np.max(np.abs(ours[:k] - np.asarray(same))):.1e}"
                note += f"; ours from coordinates {1000 * from_coordinates / m:.2f} ms/img"
            exact = row in ("cc", "kl_div", "spearman", "auc_shuffled_exact")
            diff = f"{np.max(np.abs(ours[:k] - np.asarray(theirs))):.1e}" if exact else "variant"
            ratio = peer_ms / (1000 * ours_s / m)
            ratios[row] = ratio
            line += f"{lib:<11}{peer_ms:>9.2f}{ratio:>8.2f}{diff:>11}  {note}"
        else:
            line += f"{'-':<11}{'':>9}{'':>8}{'':>11}  no peer"
            if metric == "auc_shuffled":
                line += " (pysaliency's shuffled AUC is the exact one: next row); 100 MIT splits"
        if metric in ("spearman", "emd"):
            line += f"; {m / ours_s:.0f} images/s, ~{n * ours_s / m:.1f} s for {n} images"
        print(line, flush=True)
    if ratios:
        slowest = min(ratios, key=ratios.__getitem__)
        print(
            f"\nSlowest ratio peer / ours: {ratios[slowest]:.2f} ({slowest}); aim: >= 2 for every "
            "metric with a peer (auc_shuffled: its exact row; the MIT sampled one has no peer)."
        )


if __name__ == "__main__":
    main()
