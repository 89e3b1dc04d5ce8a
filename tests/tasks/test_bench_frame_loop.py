"""The frame-loop benchmark's measuring function runs and returns what it prints."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import sys
from pathlib import Path

import pytest


def _bench(repo_root: Path):
    path = repo_root / "benchmarks" / "bench_frame_loop.py"
    spec = importlib.util.spec_from_file_location("bench_frame_loop", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@pytest.mark.window
def test_benchmark_measures_a_few_frames_and_reports_its_fields(repo_root):
    bench = _bench(repo_root)
    rows = bench.run(frames=6, hz=[240.0], phase_frames=3, size_px=(320, 240))
    assert [r.label for r in rows] == [
        "bare PsychoPy loop",
        "Presenter.show, unpaced",
        "Presenter.show, paced 240 Hz",
    ]
    for row in rows:
        values = dataclasses.asdict(row)
        assert set(bench.FIELDS) <= set(values)
        assert row.frames == 6
        assert all(math.isfinite(values[f]) for f in bench.FIELDS if f != "label")
        # the overhead is what the loop spent outside flips, draws and pacing waits
        parts = row.flip_ms + row.draw_ms + row.wait_ms + row.overhead_ms
        assert parts == pytest.approx(row.loop_ms)
        assert row.flip_ms > 0 and row.draw_ms > 0
    # Presenter.show records PsychoPy's own flip timestamps as the onsets: no difference
    assert all(r.onset_max_ms == 0 and r.flips_max_ms == 0 for r in rows[1:])
    # without pacing nothing waits; paced rows wait for the frame grid
    assert rows[1].wait_ms == 0 and rows[2].wait_ms > 0
    text = bench.report(rows, hz=[240.0])
    assert "Presenter.show / bare loop" in text and "Paced 240 Hz: overhead" in text
