"""The task runtime's frame loop: its own Python cost per frame and its onset jitter.

Run (a real PsychoPy window; on a machine without a display, under Xvfb)::

    xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python benchmarks/bench_frame_loop.py
    xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python benchmarks/bench_frame_loop.py --quick
    ... bench_frame_loop.py --frames 3000 --hz 60 144 240

Method. The runtime's window (``open_window``: ``winType="pyglet"``, pixel
units; windowed, ``checkTiming=False``) shows a 512 x 512 ``ImageStim``. The
loop under test is any function ``show(stims, n)`` that returns an object with
``flips`` and ``onset_s`` (:class:`tasks.runtime.display.FrameTiming`): today
``Presenter.show``; the runtime's ``TrialContext.show`` can be pointed at in
the same way (see :func:`measure`). The window and the stimuli are wrapped so
that every ``win.flip()`` and every stimulus ``draw()`` is timed with
``time.perf_counter``, and ``psychopy.core.wait`` (the pacing wait) likewise.

1. Per-frame overhead: the loop's wall time minus the time inside flips,
   draws and pacing waits, divided by the frames: what the runtime itself
   costs (Escape check, bookkeeping, pacing arithmetic), plus the timing
   wrappers' own cost. A bare PsychoPy loop (``stim.draw(); win.flip()``)
   through the same wrappers measures the latter, so the runtime's net cost
   is the difference of the two; the ratio of their whole-loop times per frame
   is printed too. Aim: at most 1 ms per frame, so that 240 Hz (4.17 ms
   frames) is safe.
2. Onset jitter: the onset the runtime records (``FrameTiming.onset_s``, and
   every entry of ``flips``) minus PsychoPy's own timestamp of the same flip
   (the value ``win.flip()`` returned; ``win.lastFrameT`` is the same value but
   only kept while ``recordFrameIntervals`` is on), over phases of
   ``--phase-frames`` frames. Bridges et al. (2020, PeerJ 8:e9414) measured
   PsychoPy's visual onset variability at 0.34 ms SD on Ubuntu: the runtime
   must not add to it, so these differences should be 0.

Without vertical sync (Xvfb) flips return at once: unpaced rows show the raw
cost, paced rows (``pace=True``) emulate a display at each ``--hz``, where the
flip-interval SD shows how well the pacing keeps the grid. On a lab PC, run
it on the experiment display (with vsync) for the figures that matter there.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.config import DisplayConfig
from tasks.runtime.display import FrameTiming, Presenter, open_window

#: A frame loop: show ``stims`` for ``n`` frames, return the flip times it recorded.
Loop = Callable[[Sequence[Any], int], Any]

#: The figures printed for each loop (the fields of :class:`LoopFigures`).
FIELDS = (
    "label",
    "frames",
    "loop_ms",
    "flip_ms",
    "draw_ms",
    "wait_ms",
    "overhead_ms",
    "onset_mean_ms",
    "onset_sd_ms",
    "onset_max_ms",
    "interval_sd_ms",
    "flips_max_ms",
)


@dataclasses.dataclass(frozen=True)
class LoopFigures:
    """What one loop cost, per frame (ms), and how its recorded onsets differ from PsychoPy's.

    ``overhead_ms = loop_ms - flip_ms - draw_ms - wait_ms``; the onset figures are
    over the phases' first flips (recorded minus PsychoPy's timestamp), the flip
    figure ``flips_max_ms`` over every flip; ``interval_sd_ms`` is the SD of the
    flip-to-flip intervals within phases.
    """

    label: str
    frames: int
    loop_ms: float
    flip_ms: float
    draw_ms: float
    wait_ms: float
    overhead_ms: float
    onset_mean_ms: float
    onset_sd_ms: float
    onset_max_ms: float
    interval_sd_ms: float
    flips_max_ms: float


class _Timer:
    """Seconds spent in each timed kind of call."""

    def __init__(self) -> None:
        self.spent = {"flip": 0.0, "draw": 0.0, "wait": 0.0}

    def reset(self) -> None:
        for key in self.spent:
            self.spent[key] = 0.0


class _TimedStim:
    """A stimulus whose ``draw()`` is timed; every other attribute is the stimulus's."""

    def __init__(self, stim: Any, timer: _Timer) -> None:
        self._stim = stim
        self._timer = timer

    def draw(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        result = self._stim.draw(*args, **kwargs)
        self._timer.spent["draw"] += time.perf_counter() - t0
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stim, name)


class _TimedWindow:
    """A window whose ``flip()`` is timed and whose flip timestamps are kept."""

    def __init__(self, win: Any, timer: _Timer) -> None:
        self._win = win
        self._timer = timer
        self.stamps: list[float] = []

    def flip(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        stamp = self._win.flip(*args, **kwargs)
        self._timer.spent["flip"] += time.perf_counter() - t0
        self.stamps.append(float("nan") if stamp is None else float(stamp))
        return stamp

    def __getattr__(self, name: str) -> Any:
        return getattr(self._win, name)


@dataclasses.dataclass
class FrameProbe:
    """A timed view of a window and its stimuli: hand ``win`` to the loop's owner.

    Attributes
    ----------
    win : object
        The window, with ``flip()`` timed and its timestamps kept (``stamps``).
    stims : list
        The stimuli, with ``draw()`` timed.
    """

    win: _TimedWindow
    stims: list[_TimedStim]
    timer: _Timer

    @classmethod
    def of(cls, win: Any, stims: Sequence[Any]) -> FrameProbe:
        timer = _Timer()
        return cls(_TimedWindow(win, timer), [_TimedStim(s, timer) for s in stims], timer)


@contextlib.contextmanager
def _timed_wait(timer: _Timer) -> Iterator[None]:
    """Time ``psychopy.core.wait`` (the pacing wait), which the loop spends idle on purpose."""
    from psychopy import core

    wait = core.wait

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        result = wait(*args, **kwargs)
        timer.spent["wait"] += time.perf_counter() - t0
        return result

    core.wait = timed
    try:
        yield
    finally:
        core.wait = wait


def bare_loop(win: Any, frame_s: float) -> Loop:
    """PsychoPy's own loop, ``for i in range(n): stim.draw(); win.flip()``, as a :data:`Loop`."""

    def show(stims: Sequence[Any], n: int) -> FrameTiming:
        flips = np.empty(n)
        for i in range(n):
            for stim in stims:
                stim.draw()
            flips[i] = win.flip()
        return FrameTiming(flips=flips, frames_planned=n, frame_s=frame_s)

    return show


def measure(
    show: Loop, probe: FrameProbe, *, frames: int, phase_frames: int, label: str
) -> LoopFigures:
    """Run ``show(probe.stims, phase_frames)`` until ``frames`` frames were shown; time it.

    Parameters
    ----------
    show : callable
        The loop under test, built on ``probe.win`` (e.g. ``Presenter(probe.win,
        ...).show``, or a ``TrialContext``'s ``show`` wrapped to this call shape),
        returning an object with ``flips`` (s, one per frame) and ``onset_s``.
    probe : FrameProbe
        The timed window and stimuli.
    frames : int
        Frames to time (rounded up to whole phases).
    phase_frames : int
        Frames per call of ``show`` (one onset per call).
    label : str
        Name of the row.
    """
    phases = max(1, -(-frames // phase_frames))
    show(probe.stims, phase_frames)  # warm up: textures uploaded, first-call costs paid
    probe.timer.reset()
    onsets, flip_diffs, intervals = [], [], []
    with _timed_wait(probe.timer):
        t0 = time.perf_counter()
        for _ in range(phases):
            first = len(probe.win.stamps)
            timing = show(probe.stims, phase_frames)
            stamps = np.asarray(probe.win.stamps[first : first + phase_frames])
            onsets.append(timing.onset_s - stamps[0])
            flip_diffs.append(np.asarray(timing.flips) - stamps)
            intervals.append(np.diff(stamps))
        total = time.perf_counter() - t0
    n = phases * phase_frames
    spent = {k: v / n * 1e3 for k, v in probe.timer.spent.items()}
    loop_ms = total / n * 1e3
    onset_ms = np.asarray(onsets) * 1e3
    return LoopFigures(
        label=label,
        frames=n,
        loop_ms=loop_ms,
        flip_ms=spent["flip"],
        draw_ms=spent["draw"],
        wait_ms=spent["wait"],
        overhead_ms=loop_ms - spent["flip"] - spent["draw"] - spent["wait"],
        onset_mean_ms=float(np.mean(onset_ms)),
        onset_sd_ms=float(np.std(onset_ms)),
        onset_max_ms=float(np.max(np.abs(onset_ms))),
        interval_sd_ms=float(np.std(np.concatenate(intervals)) * 1e3),
        flips_max_ms=float(np.max(np.abs(np.concatenate(flip_diffs))) * 1e3),
    )


@contextlib.contextmanager
def bench_window(size_px: tuple[int, int] = (1280, 1024)) -> Iterator[tuple[Any, list[Any]]]:
    """The runtime's window (:func:`open_window`: pyglet, no timing check) and a 512 x 512 image.

    Opened through the runtime, which loads triton before OpenGL when it is installed:
    a window opened otherwise makes a later torch import in the same process crash
    Mesa's software renderer (see :func:`tasks.runtime.display.open_window`).
    """
    display = DisplayConfig(resolution_px=size_px, fullscreen=False, background=(0, 0, 0))
    with open_window(display, windowed=True, check_timing=False) as win:
        from psychopy import visual  # (after open_window: importing it starts OpenGL)

        texture = np.random.default_rng(0).uniform(-1, 1, (256, 256, 3))
        yield win, [visual.ImageStim(win, image=texture, size=(512, 512))]


def run(
    *,
    frames: int,
    hz: Sequence[float],
    phase_frames: int = 10,
    size_px: tuple[int, int] = (1280, 1024),
) -> list[LoopFigures]:
    """The rows: bare PsychoPy, ``Presenter.show`` unpaced, then paced at each of ``hz``."""
    rows = []
    with bench_window(size_px) as (win, stims):
        probe = FrameProbe.of(win, stims)
        rows.append(
            measure(
                bare_loop(probe.win, 1 / hz[0]),
                probe,
                frames=frames,
                phase_frames=phase_frames,
                label="bare PsychoPy loop",
            )
        )
        for label, rate, pace in [("unpaced", hz[0], False)] + [
            (f"paced {r:g} Hz", r, True) for r in hz
        ]:
            with Presenter(probe.win, refresh_hz=rate, pace=pace) as presenter:
                rows.append(
                    measure(
                        presenter.show,
                        probe,
                        frames=frames,
                        phase_frames=phase_frames,
                        label=f"Presenter.show, {label}",
                    )
                )
    return rows


def report(rows: Sequence[LoopFigures], *, hz: Sequence[float]) -> str:
    """The table and the ratios, as printed."""
    head = (
        f"{'loop':32s} {'frames':>6s} {'loop':>7s} {'flip':>7s} {'draw':>7s} {'wait':>7s} "
        f"{'overhead':>8s}   {'onset - PsychoPy flip (ms)':>26s} {'interval':>8s}"
    )
    sub = (
        f"{'':32s} {'':6s} {'ms/frame':>39s} {'':>8s}   "
        f"{'mean':>8s} {'SD':>8s} {'max':>8s} {'SD ms':>8s}"
    )
    lines = [head, sub]
    for r in rows:
        lines.append(
            f"{r.label:32s} {r.frames:6d} {r.loop_ms:7.3f} {r.flip_ms:7.3f} {r.draw_ms:7.3f} "
            f"{r.wait_ms:7.3f} {r.overhead_ms:8.3f}   {r.onset_mean_ms:8.4f} {r.onset_sd_ms:8.4f} "
            f"{r.onset_max_ms:8.4f} {r.interval_sd_ms:8.3f}"
        )
    bare, unpaced = rows[0], rows[1]
    net = unpaced.overhead_ms - bare.overhead_ms
    lines += [
        "",
        "Presenter.show / bare loop, time per frame (unpaced): "
        f"{unpaced.loop_ms / bare.loop_ms:.3f}",
        f"Overhead outside flip and draw, unpaced: {unpaced.overhead_ms:.3f} ms per frame "
        f"(bare loop through the same timers: {bare.overhead_ms:.3f} ms; runtime's net "
        f"cost {net:.3f} ms)",
    ]
    for r, rate in zip(rows[2:], hz, strict=True):
        frame_ms = 1e3 / rate
        lines.append(
            f"Paced {rate:g} Hz: overhead {r.overhead_ms:.3f} ms = "
            f"{100 * r.overhead_ms / frame_ms:.1f} % of a {frame_ms:.2f} ms frame "
            f"({'within' if r.overhead_ms <= 1.0 else 'OVER'} the 1 ms aim)"
        )
    worst = max(max(r.onset_max_ms, r.flips_max_ms) for r in rows[1:])
    lines.append(
        f"Recorded flip times minus PsychoPy's flip timestamps: at most {worst:.4f} ms "
        "(Bridges et al. 2020 measured PsychoPy's own onset SD at 0.34 ms on Ubuntu; "
        "the runtime must add nothing to it)"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=1200, help="frames per row (default 1200)")
    parser.add_argument(
        "--hz", type=float, nargs="+", default=[60.0, 240.0], help="paced rates (default 60 240)"
    )
    parser.add_argument("--phase-frames", type=int, default=10, help="frames per show() call")
    parser.add_argument("--quick", action="store_true", help="120 frames per row")
    args = parser.parse_args(argv)
    frames = 120 if args.quick else args.frames
    print(
        f"Frame loop benchmark: {frames} frames per row in phases of {args.phase_frames}, "
        "1280 x 1024 window, one 512 x 512 ImageStim; ms per frame"
    )
    rows = run(frames=frames, hz=args.hz, phase_frames=args.phase_frames)
    print(report(rows, hz=args.hz))


if __name__ == "__main__":
    main()
