"""Planted-map recovery through the whole simulated path, against the number of participants.

Run (real PsychoPy windows; on a machine without a display, under Xvfb)::

    xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python benchmarks/bench_recovery.py
    ... bench_recovery.py --participants 16 --steps 2 4 8 16 --workers 4 --out /tmp/recovery
    ... bench_recovery.py --reuse /tmp/recovery          # analyse an earlier run again

Method. A stimulus set of the demo's photographs (``selectivity.demo``: scikit-image
photographs, long side 320 px) with the planted map ``simulation/truth`` (spectral-residual
saliency). ``--participants`` simulated participants run every map task (free viewing,
object search, saliency search, dot discrimination, serial reproduction, patch rating)
with the shipped simulated configurations (``configs/<task>_simulated.toml``), through the real
task runtime: PsychoPy windows, the simulated EyeLink tracker writing ASC files,
``trials.tsv``, the chain database. ``--settings demo`` (the default) shortens them as
the demo does (``selectivity.demo.DEMO_TASK_SETTINGS``: 1.5 s free viewing, a 3 x 3 dot
grid, a 4 x 4 patch grid in two subsets, 12 serial-reproduction trials over 2 chains per
image, answers after a median 0.5 s), so a participant takes about 3 minutes. Then, for
each study size n of ``--steps``, the first n participants' sessions are read back
(:func:`analysis.study.load_study`), each task's map estimated
(:func:`analysis.human_maps.estimate_human_maps`, default settings), and its CC with the
planted map computed per image (at the map's size) and averaged.

The demo's planted map (spectral residual smoothed by 8 px, a third of a degree) has
detail that a density smoothed by 1 degree cannot hold: the CC with the planted map of
that very map smoothed by 1 degree is only 0.52-0.76 over the six photographs, and of the
simulated observers' gaze density (0.7 planted + 0.3 centre bias) smoothed by 1 degree
0.36-0.68 (mean 0.52). ``--planted-sigma-px 27`` plants a map at the 1-degree scale the
tasks measure.

The printout: one row per task and study size with the mean CC over images, its minimum,
for the fixation tasks the CC with the density the simulated observers sample fixations
from (``cc_gaze``: planted map and their centre bias, :func:`gaze_density`), the
split-half reliability and the trials (or fixations, or chain nodes) behind the maps;
then per task the least study size that reaches CC >= 0.9 (the issue's aim), or, when
none does, what the largest study implies (:func:`needed`: the CC of a noiseless map by
the correction for attenuation, and the study size that reaches the aim when that is
above it). Aims and figures are per task: the
tasks' information per trial differs by orders of magnitude (a fixation density gets a
few fixations per image per participant; a patch rating one number per patch).
Frames dropped under a loaded virtual display do not change the recovery (the maps do
not use timing), so the data-quality rules are relaxed here: ``max_dropped_frame_trials``
is off.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.human_maps import ESTIMATORS

#: The tasks with a map estimator, in the order the participants run them.
MAP_TASKS = tuple(ESTIMATORS)


def build_set(out: Path, n_images: int, sigma_px: float = 8.0) -> Path:
    """The demo's photographs with their planted map (smoothed by ``sigma_px``), as a set."""
    from selectivity.demo import demo_photographs, planted_saliency
    from stimuli import write_stimulus_set

    images = demo_photographs(n_images)
    ids = tuple(images)
    path = out / "stimuli.h5"
    write_stimulus_set(
        path,
        images,
        labels={i: i for i in ids},
        maps={"simulation/truth": {i: planted_saliency(images[i], sigma_px=sigma_px) for i in ids}},
        provenance={
            "simulation/truth": {
                "method": "spectral residual (Hou & Zhang 2007)",
                "sigma_px": sigma_px,
            }
        },
    )
    return path


def gaze_density(planted: np.ndarray, px_per_deg: float) -> np.ndarray:
    """What the simulated observers sample fixations from: planted map and centre bias.

    ``(1 - c) planted / sum + c centre`` with the observer's defaults (``c`` =
    ``center_bias``, the centre an isotropic Gaussian of ``center_bias_sigma_deg`` around
    the image centre, truncated to the image): the density a fixation map can reach.
    """
    from eyetracking import SimulatedObserver

    params = SimulatedObserver({"x": planted}).params
    h, w = planted.shape
    yy, xx = np.mgrid[:h, :w]
    sd = params.center_bias_sigma_deg * px_per_deg
    centre = np.exp(-((xx - (w - 1) / 2) ** 2 + (yy - (h - 1) / 2) ** 2) / (2 * sd**2))
    c = params.center_bias
    return (1 - c) * planted / planted.sum() + c * centre / centre.sum()


def recovery(root: Path, set_path: Path, steps: list[int]) -> pd.DataFrame:
    """CC with the planted map per task and study size (first n participants)."""
    from analysis.human_maps import (
        FIXATION_TASKS,
        HumanMapsError,
        MapSettings,
        estimate_human_maps,
        split_half_reliability,
    )
    from analysis.metrics import cc
    from analysis.study import ExclusionRules, load_study
    from selectivity.resample import resample
    from stimuli import read_stimulus_set

    stimuli = read_stimulus_set(set_path)
    truth = {i: stimuli.map("simulation/truth", i) for i in stimuli.ids}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = load_study(
            root, stimulus_set=set_path, rules=ExclusionRules(max_dropped_frame_trials=None)
        )
    people = sorted(study.participants())
    settings = MapSettings()
    frames = [t[["image_id", "px_per_deg_img"]] for t in study.trials.values()]
    scale = pd.concat(frames).groupby("image_id")["px_per_deg_img"].median().to_dict()
    rows = []
    for task in MAP_TASKS:
        if task not in study.trials:
            continue
        for n in steps:
            if n > len(people):
                continue
            chosen = tuple(people[:n])
            trials = study.trials[task][study.trials[task]["participant"].isin(chosen)]
            fixations = study.fixations[
                (study.fixations["task"] == task) & study.fixations["participant"].isin(chosen)
            ]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    human = estimate_human_maps(
                        task, trials, fixations, study.image_shapes, settings, participants=chosen
                    )
                except HumanMapsError:  # e.g. chains not yet at [maps] from_generation
                    rows.append(
                        {
                            "task": task,
                            "participants": n,
                            "cc_planted": np.nan,
                            "cc_min": np.nan,
                            "split_half_sb": np.nan,
                            "n_data": 0,
                        }
                    )
                    continue
                reliability = (
                    split_half_reliability(
                        task, trials, fixations, study.image_shapes, settings, rng=0
                    )
                    if n >= 2
                    else None
                )
            scores = [
                float(cc(m, resample(truth[i], m.shape)))
                for i, m in human.maps.items()
                if np.ptp(m) > 0
            ]
            gaze = [
                float(cc(m, gaze_density(resample(truth[i], m.shape), scale[i])))
                for i, m in human.maps.items()
                if np.ptp(m) > 0 and task in FIXATION_TASKS
            ]
            rows.append(
                {
                    "task": task,
                    "participants": n,
                    "cc_planted": float(np.mean(scores)) if scores else np.nan,
                    "cc_min": float(np.min(scores)) if scores else np.nan,
                    "cc_gaze": float(np.mean(gaze)) if gaze else np.nan,
                    "split_half_sb": _mean_reliability(reliability),
                    "n_data": int(sum(human.counts.values())),
                }
            )
    return pd.DataFrame(rows)


def _mean_reliability(reliability: object) -> float:
    if reliability is None:
        return float("nan")
    value = getattr(reliability, "value", None)
    if value is not None:
        return float(value)
    return float(np.nanmean(np.asarray(reliability, dtype=float)))


def needed(table: pd.DataFrame, aim: float = 0.9) -> pd.DataFrame:
    """Per task: the least study size reaching the aim, or what the largest study implies.

    A map's CC with the truth is attenuated by its sampling noise: with split-half
    (Spearman-Brown) reliability ``r`` at n participants, the CC a noiseless map would
    reach is ``cc_inf = cc / sqrt(r)`` (Spearman's correction for attenuation). When
    ``cc_inf`` is below the aim, no study size reaches it (the gap is a bias: the
    observers' centre bias, the smoothing, a coarse design); otherwise the reliability
    needed is ``r* = (aim / cc_inf)^2`` and Spearman-Brown gives the study size
    ``n* = n r* (1 - r) / (r (1 - r*))``.
    """
    rows = []
    for task, group in table.groupby("task", sort=False):
        reached = group[group["cc_planted"] >= aim]
        largest = group.dropna(subset=["cc_planted"]).iloc[-1:]
        if len(reached):
            rows.append(
                {
                    "task": task,
                    "n_for_aim": int(reached["participants"].min()),
                    "cc_inf": np.nan,
                    "how": "measured",
                }
            )
            continue
        if not len(largest):
            rows.append({"task": task, "n_for_aim": np.nan, "cc_inf": np.nan, "how": "no map"})
            continue
        n, cc, r = (
            float(largest[c].iloc[0]) for c in ("participants", "cc_planted", "split_half_sb")
        )
        if not (np.isfinite(r) and 0 < r < 1 and cc > 0):
            rows.append(
                {
                    "task": task,
                    "n_for_aim": np.nan,
                    "cc_inf": np.nan,
                    "how": f"no estimate (reliability {r:.2f} at n={n:.0f})",
                }
            )
            continue
        cc_inf = min(cc / np.sqrt(r), 1.0)
        if cc_inf <= aim:
            rows.append(
                {
                    "task": task,
                    "n_for_aim": np.nan,
                    "cc_inf": cc_inf,
                    "how": f"not reachable: a noiseless map reaches {cc_inf:.2f}",
                }
            )
            continue
        target = (aim / cc_inf) ** 2
        n_star = n * target * (1 - r) / (r * (1 - target))
        rows.append(
            {
                "task": task,
                "n_for_aim": int(np.ceil(n_star)),
                "cc_inf": cc_inf,
                "how": f"extrapolated from reliability {r:.2f} at n={n:.0f}",
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=16)
    parser.add_argument("--steps", type=int, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument(
        "--planted-sigma-px",
        type=float,
        default=8.0,
        help="smoothing of the planted map (the demo's: 8 px; 27 px is 1 degree here)",
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("recovery-output"))
    parser.add_argument("--reuse", type=Path, default=None, help="analyse an earlier --out")
    parser.add_argument("--tasks", nargs="+", default=list(MAP_TASKS))
    parser.add_argument(
        "--settings",
        choices=("demo", "shipped"),
        default="demo",
        help="task settings: the demo's short ones (default) or the shipped simulated configs'",
    )
    args = parser.parse_args(argv)

    from tasks.simulation import simulate_study

    started = time.perf_counter()
    if args.reuse is not None:
        out = args.reuse
        set_path = out / "stimuli.h5"
    else:
        out = args.out
        if out.exists() and any(out.iterdir()):
            parser.error(f"{out} exists and is not empty: choose another --out or --reuse it")
        out.mkdir(parents=True, exist_ok=True)
        set_path = build_set(out, args.images, args.planted_sigma_px)
        from selectivity.demo import DEMO_PARTICIPANT, DEMO_TASK_SETTINGS

        demo = args.settings == "demo"
        simulate_study(
            set_path,
            out / "data",
            participants=args.participants,
            tasks=args.tasks,
            task_settings=DEMO_TASK_SETTINGS if demo else None,
            participant_settings=DEMO_PARTICIPANT if demo else None,
            workers=args.workers,
            log=lambda line: print(f"[{time.perf_counter() - started:6.0f} s] {line}", flush=True),
        )
    simulated_s = time.perf_counter() - started
    table = recovery(out / "data", set_path, sorted(args.steps))
    pd.set_option("display.width", 120)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print()
    print(needed(table).to_string(index=False))
    print(
        f"\nsimulation {simulated_s:.0f} s, "
        f"analysis {time.perf_counter() - started - simulated_s:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
