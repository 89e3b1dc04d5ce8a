"""EDF reading and event detection: this project against eyelinkio and pymovements.

Run::

    .venv/bin/python benchmarks/bench_events.py            # detection on ~1M samples
    .venv/bin/python benchmarks/bench_events.py --quick    # ~125k samples, < 1 min

Inputs are the real EDF recordings that eyelinkio installs with its tests
(read in place). EDF reading: ``eyetracking.read_edf`` through eyelinkio's
EDF access library (samples, events, messages and trials into tables on the
tracker clock) against ``eyelinkio.read_edf`` (arrays, seconds from the
first sample) on each file. Event detection: the samples of
``test_2_raw.edf`` (1000 Hz, monocular) in degrees, repeated ``--copies``
times, through ``detect_events`` (I-VT, I-DT, Engbert-Kliegl, producing the
full event tables) against pymovements' ``ivt``, ``idt`` and
``microsaccades`` on the same positions (velocities by pymovements'
``pos2vel``, counted in its time) with the same thresholds. Best of
``--repeats`` wall-clock runs; a peer that is not installed is skipped with a
message.

Aims (issue 3): ``read_edf`` within 2x of eyelinkio's reader, which does
less (arrays only: no trials, calibration tables or tracker clock); I-VT and
Engbert-Kliegl within about 2x of pymovements' functions, which return only
onsets and offsets where ours also splits at gaps and fills the event tables;
I-DT, whose window search is vectorised here, much faster than pymovements'.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eyetracking.edf import read_edf
from eyetracking.edf._api import load_api, read_edf_content
from eyetracking.events import detect_events

try:
    import eyelinkio
except ImportError:
    eyelinkio = None
try:
    from pymovements.events.detection import idt as pm_idt
    from pymovements.events.detection import ivt as pm_ivt
    from pymovements.events.detection import microsaccades as pm_microsaccades
    from pymovements.transforms.numpy import pos2vel as pm_pos2vel
except ImportError:
    pm_idt = pm_ivt = pm_microsaccades = pm_pos2vel = None


def _best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def _edf_files() -> list[Path]:
    spec = importlib.util.find_spec("eyelinkio")
    if spec is None or spec.origin is None:
        return []
    return sorted((Path(spec.origin).parent / "tests" / "data").glob("*.edf"))


def _row(task: str, ours: float, peer: float | None, note: str) -> None:
    ratio = f"{peer / ours:6.2f}x" if peer is not None else "   -   "
    peer_s = f"{peer:8.3f}" if peer is not None else "       -"
    print(f"{task:34s} {ours:8.3f} {peer_s}   {ratio}   {note}")


def bench_edf(repeats: int) -> None:
    print("\nEDF reading (s)                        ours eyelinkio  eyelinkio/ours")
    files = _edf_files()
    if not files:
        print("  skipped: eyelinkio or its test recordings are not installed")
        return
    for path in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours, rec = _best(lambda p=path: read_edf(p, converter="eyelinkio"), repeats)
        peer, _ = _best(lambda p=path: eyelinkio.read_edf(p), repeats)
        mb = path.stat().st_size / 1e6
        note = f"{mb:.1f} MB, {len(rec.samples)} samples, {mb / ours:.1f} MB/s"
        _row(path.name, ours, peer, note)


def _gaze(copies: int) -> tuple[pd.DataFrame, float]:
    path = next((p for p in _edf_files() if p.name == "test_2_raw.edf"), None)
    if path is None:
        raise SystemExit("needs eyelinkio's test_2_raw.edf (pip install eyelinkio)")
    content = read_edf_content(path, load_api())
    ppd = float(np.nanmean([content.samples["res_x"], content.samples["res_y"]]))
    time0 = content.samples["time"]
    n = len(time0)
    table = pd.DataFrame(
        {
            # Copies follow each other without a gap: pymovements' I-DT needs a constant step.
            "time": np.concatenate([time0 + k * n for k in range(copies)]),
            "x": np.tile(content.samples["x"][:, 0], copies),
            "y": np.tile(content.samples["y"][:, 0], copies),
        }
    )
    return table, ppd


def bench_detection(copies: int, repeats: int) -> None:
    table, ppd = _gaze(copies)
    print(f"\nEvent detection on {len(table)} samples (s)   ours pymovements  pymovements/ours")
    positions = table[["x", "y"]].to_numpy() / ppd
    steps = np.rint(table["time"].to_numpy()).astype(np.int64)
    cases = {
        "ivt": ({}, lambda: pm_ivt(pm_pos2vel(positions, 1000, "smooth"), steps, 60, 30.0)),
        "idt": ({}, lambda: pm_idt(positions, steps, 100, 1.0)),
        "engbert": (
            {},
            lambda: pm_microsaccades(
                pm_pos2vel(positions, 1000, "smooth"), steps, minimum_duration=5, threshold_factor=6
            ),
        ),
    }
    for method, (options, peer_fn) in cases.items():
        ours, ev = _best(
            lambda m=method, o=options: detect_events(
                table, method=m, px_per_deg=ppd, sampling_rate_hz=1000.0, **o
            ),
            repeats,
        )
        note = f"ours: {len(ev.fixations)} fixations, {len(ev.saccades)} saccades"
        if pm_ivt is None:
            _row(method, ours, None, note + "; pymovements not installed, skipped")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peer, events = _best(peer_fn, repeats)
        _row(method, ours, peer, note + f"; pymovements: {len(events.frame)} events")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one copy of the samples, 1 run")
    parser.add_argument("--copies", type=int, default=8, help="repeats of the recording")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best counts")
    args = parser.parse_args()
    copies, repeats = (1, 1) if args.quick else (args.copies, args.repeats)
    if eyelinkio is None:
        print("eyelinkio is not installed: EDF reading and the detection input are skipped")
        return
    bench_edf(repeats)
    bench_detection(copies, repeats)


if __name__ == "__main__":
    main()
