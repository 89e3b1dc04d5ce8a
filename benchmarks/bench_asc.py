"""EyeLink ASC reading: ``eyetracking.read_asc`` against MNE-Python and pymovements.

Run::

    .venv/bin/python benchmarks/bench_asc.py            # real files + a 100 MB file
    .venv/bin/python benchmarks/bench_asc.py --quick    # real files + a 4 MB file, < 1 min
    .venv/bin/python benchmarks/bench_asc.py --size-mb 300 --source bino250

Inputs: the real recordings in ``../shared/data/eyelink`` (read in place) and
one large file written to a temporary folder by repeating the four real
trials of ``cili/mono500.asc`` (or ``bino250``) with increasing time stamps
and trial ids. Every reader reads the same files, each (reader, file) in a
fresh Python process, so that its peak resident memory (``ru_maxrss``) is its
own: reported whole and as the growth over the process after its imports.
Readers: ``baseline`` (``open(path).read().splitlines()``, then
``line.split()`` for every line: reading and splitting the file's lines, the
least any reader does); ``read_asc`` (samples, events, messages, trials, calibration);
``mne.io.read_raw_eyelink`` (samples and annotations of events and
messages); ``pymovements.gaze.from_asc(events=True, messages=True)``. Times
are the best of ``--repeats`` wall-clock reads (one read for the peers on the
large file). A peer that is not installed is skipped with a message.

Aims, on the large file: ``read_asc`` at least 10 times faster than both peers
and at least 50 MB/s (issue 3); within 2.5 times the baseline's time, with a
peak memory growth at most 3 times the file size (issue 14). ``--no-peers``
leaves the (slow) peers out of the large file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "eyelink"
REAL = [
    "cili/mono500.asc",
    "cili/bino250.asc",
    "pymovements/eyelink_monocular_example.asc",
    "pymovements/eyelink_monocular_2khz_example.asc",
    "pymovements/eyelink_binocular_example.asc",
    "pymovements/eyelink_monocular_no_dummy_example.asc",
]
READERS = {
    "read_asc": None,
    "baseline": None,
    "mne": "mne",
    "pymovements": "pymovements",
}
# Time stamps of sample, event, message and block lines, and trial ids.
_STAMP = re.compile(
    r"(?m)^(?:(?:MSG|START|END|INPUT|BUTTON)\t(\d+)|(\d+)\t|[SE](?:FIX|SACC|BLINK) [LR] +(\d+)"
    r"(?:\t(\d+))?)|TRIALID (\d+)"
)


def make_large(source: Path, target: Path, size_mb: float) -> int:
    """Write ``target``: the header of ``source``, then its trials repeated to ``size_mb``.

    Each copy shifts every time stamp by the span of the trials (so time only
    grows) and every ``TRIALID`` by the number of trials. Returns the copies.
    """
    text = source.read_text(encoding="utf-8")
    first = text.rindex("\n", 0, text.index("TRIALID 0")) + 1
    head, body = text[:first], text[first:]
    pieces, values, is_trial = [], [], []
    position = 0
    for match in _STAMP.finditer(body):
        for group in range(1, 6):
            if match.group(group) is not None:
                start, end = match.span(group)
                pieces.append(body[position:start])
                values.append(int(match.group(group)))
                is_trial.append(group == 5)
                position = end
    pieces.append(body[position:])
    stamps = [v for v, t in zip(values, is_trial, strict=True) if not t]
    span = max(stamps) - min(stamps) + 1000
    n_trials = sum(is_trial)
    written, copies = len(head), 0
    with target.open("w", encoding="utf-8", newline="\n") as out:
        out.write(head)
        while written < size_mb * 1e6:
            shifted = [
                str(v + copies * (n_trials if t else span))
                for v, t in zip(values, is_trial, strict=True)
            ]
            parts = [""] * (2 * len(shifted) + 1)
            parts[0::2], parts[1::2] = pieces, shifted
            chunk = "".join(parts)
            out.write(chunk)
            written += len(chunk.encode("utf-8"))
            copies += 1
    return copies


def _child(reader: str, path: str, repeats: int) -> None:
    """Run in a fresh process: import the reader, read ``repeats`` times, print JSON."""
    import resource
    import warnings

    warnings.simplefilter("ignore")

    def rss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    start = time.perf_counter()
    if reader == "read_asc":
        sys.path.insert(0, str(REPO))
        from eyetracking.asc import read_asc

        def read() -> str:
            rec = read_asc(path)
            return f"{len(rec.samples)} samples, {len(rec.fixations)} fix, {len(rec.messages)} msg"

    elif reader == "baseline":

        def read() -> str:
            with open(path, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
            n_fields = 0
            for line in lines:
                n_fields += len(line.split())
            return f"{len(lines)} lines, {n_fields} fields"

    elif reader == "mne":
        import mne

        mne.set_log_level("ERROR")

        def read() -> str:
            raw = mne.io.read_raw_eyelink(path)
            return f"{raw.n_times} times, {len(raw.annotations)} annotations"

    else:
        import pymovements as pm

        def read() -> str:
            gaze = pm.gaze.from_asc(path, events=True, messages=True)
            events = 0 if gaze.events is None else len(gaze.events.frame)
            return f"{len(gaze.samples)} samples, {events} events"

    imported = time.perf_counter() - start
    base = rss_mb()
    walls, cpus, summary = [], [], ""
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        summary = read()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    result = {
        "import_s": imported,
        "wall_s": min(walls),
        "cpu_s": min(cpus),
        "base_mb": base,
        "peak_mb": rss_mb(),
        "summary": summary,
    }
    print(json.dumps(result))


def _run(reader: str, path: Path, repeats: int, timeout: float) -> dict | str:
    command = [sys.executable, __file__, "--child", reader, str(path), str(repeats)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if done.returncode != 0:
        return "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][:70]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(name: str, size_mb: float, results: dict[str, dict | str]) -> list[str]:
    ours = results["read_asc"]
    lines = [f"{name}  ({size_mb:.2f} MB)"]
    for reader, res in results.items():
        if isinstance(res, str):
            lines.append(f"  {reader:<12} {res}")
            continue
        ratio = ""
        if reader != "read_asc" and isinstance(ours, dict):
            ratio = f"{res['wall_s'] / ours['wall_s']:8.2f}x"
        growth = res["peak_mb"] - res["base_mb"]
        lines.append(
            f"  {reader:<12} {res['wall_s']:8.3f} s {res['cpu_s']:8.3f} s "
            f"{size_mb / res['wall_s']:8.1f} {res['peak_mb']:8.0f} {growth:8.0f} "
            f"{growth / size_mb:6.2f} {res['peak_mb'] / size_mb:6.2f} {ratio:>9}   "
            f"{res['summary']}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 4 MB large file, fewer repeats")
    parser.add_argument("--size-mb", type=float, default=None, help="size of the large file")
    parser.add_argument("--source", choices=("mono500", "bino250"), default="mono500")
    parser.add_argument("--repeats", type=int, default=None, help="reads per file (best is kept)")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per reader and file")
    parser.add_argument(
        "--no-peers", action="store_true", help="only read_asc and the baseline on the large file"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return
    if not DATA.is_dir():
        print(f"Real EyeLink data not found at {DATA}; nothing to benchmark.")
        return
    readers = ["read_asc", "baseline"]
    for reader, module in READERS.items():
        if module is None:
            continue
        if importlib.util.find_spec(module) is None:
            print(f"{reader}: not installed (pip install {module}); skipped.")
        else:
            readers.append(reader)
    size_mb = args.size_mb or (4.0 if args.quick else 100.0)
    repeats = args.repeats or (1 if args.quick else 3)
    header = (
        f"  {'reader':<12} {'wall':>10} {'cpu':>10} {'MB/s':>8} {'peak MB':>8} {'growth':>8} "
        f"{'grow/f':>6} {'peak/f':>6} {'vs ours':>9}   what was read"
    )
    print(
        "peak MB: peak resident memory of the reading process; growth: peak minus the process "
        "after its imports; /f: per MB of file; vs ours: wall time / read_asc's"
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the start")
    print(header)
    for name in REAL:
        path = DATA / name
        results = {reader: _run(reader, path, repeats, args.timeout) for reader in readers}
        print("\n".join(_row(name, path.stat().st_size / 1e6, results)), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_asc_") as folder:
        large = Path(folder) / f"{args.source}_large.asc"
        copies = make_large(DATA / f"cili/{args.source}.asc", large, size_mb)
        file_mb = large.stat().st_size / 1e6
        results = {}
        for reader in readers[:2] if args.no_peers else readers:
            results[reader] = _run(
                reader, large, repeats if reader in ("read_asc", "baseline") else 1, args.timeout
            )
        print("\n".join(_row(f"{large.name}: {copies} copies of 4 trials", file_mb, results)))
    ours = results["read_asc"]
    if isinstance(ours, dict):
        speed = file_mb / ours["wall_s"]
        print(f"\nAims on the large file ({file_mb:.0f} MB):")
        print(f"  speed {speed:.0f} MB/s (aim >= 50)")
        print(
            f"  peak memory {ours['peak_mb'] / file_mb:.2f}x the file size whole, "
            f"{(ours['peak_mb'] - ours['base_mb']) / file_mb:.2f}x as growth (aim <= 3)"
        )
        base = results["baseline"]
        if isinstance(base, dict):
            print(
                f"  {ours['wall_s'] / base['wall_s']:.2f}x the baseline's time (wall; cpu "
                f"{ours['cpu_s'] / base['cpu_s']:.2f}x; aim <= 2.5); the baseline's own peak "
                f"growth {(base['peak_mb'] - base['base_mb']) / file_mb:.2f}x the file size"
            )
        for reader in readers[2:]:
            res = results.get(reader)
            if isinstance(res, dict):
                print(f"  {res['wall_s'] / ours['wall_s']:.1f}x faster than {reader} (aim >= 10)")


if __name__ == "__main__":
    main()
