"""Tests of the simulated observer and tracker, read back with an independent line scan."""

from __future__ import annotations

import itertools
import math
import re
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from eyetracking import IMAGE_OFFSET, IMAGE_ONSET, ImagePlacement, Screen
from eyetracking.protocol import imgload_message, trial_var_message
from eyetracking.trackers._gaze import GazeParams, View, minimum_jerk, simulate_gaze
from eyetracking.trackers.simulated import SimulatedObserver, SimulatedTracker, _calibration_targets

SCREEN = Screen(1024, 768, width_cm=40.0, distance_cm=60.0)
#: A 200 x 150 image drawn at twice its size, centred: screen x 312..712, y 234..534.
PLACEMENT = ImagePlacement.centered(SCREEN.size_px, (200, 150), scale=2.0)

# The grammar of edf2asc output, written from real EyeLink files (see
# test_grammar_reads_real_eyelink_files), not from the writer's code.
T = r"(\d+(?:\.\d)?)"
V = r" *(-?\d+\.\d|\.)"
GRAMMAR = {
    "msg": re.compile(rf"MSG\t{T} (.*)"),
    "start": re.compile(rf"START\t{T} \t((?:LEFT|RIGHT)(?:\tRIGHT)?)\tSAMPLES\tEVENTS"),
    "end": re.compile(rf"END\t{T} \tSAMPLES\tEVENTS\tRES\t *[\d.]+\t *[\d.]+"),
    "mode": re.compile(
        r"(PRESCALER|VPRESCALER)\t1|PUPIL\t(AREA|DIAMETER)|"
        r"(EVENTS|SAMPLES)\tGAZE\t(LEFT|RIGHT|LEFT\tRIGHT)\tRATE\t *\d+\.00"
        r"\tTRACKING\tCR\tFILTER\t\d(\tINPUT)?"
    ),
    "sample": re.compile(rf"{T}((?:\t{V})+)\t([.A-Z]+)"),
    "sfix": re.compile(rf"SFIX ([LR])   {T}"),
    "efix": re.compile(rf"EFIX ([LR])   {T}\t{T}\t{T}\t{V}\t{V}\t *(\d+)"),
    "ssacc": re.compile(rf"SSACC ([LR])  {T}"),
    "esacc": re.compile(rf"ESACC ([LR])  {T}\t{T}\t{T}\t{V}\t{V}\t{V}\t{V}\t *(\S+)\t *(\d+)"),
    "sblink": re.compile(rf"SBLINK ([LR]) {T}"),
    "eblink": re.compile(rf"EBLINK ([LR]) {T}\t{T}\t{T}"),
    "header": re.compile(r"\*\*.*|"),
    "cal": re.compile(
        r">>>>>>> CALIBRATION \((H3|HV3|HV5|HV9|HV13),P-CR\) FOR (LEFT|RIGHT): <<<<<<<<<"
    ),
}


def _kind(line: str) -> tuple[str, re.Match[str]] | None:
    for kind, pattern in GRAMMAR.items():
        match = pattern.fullmatch(line)
        if match:
            return kind, match
    return None


def _num(text: str) -> float:
    return math.nan if text.strip() == "." else float(text)


#: Which group of a line holds the time at which it stands in the file's time order.
TIME_GROUP = {
    "msg": 1,
    "start": 1,
    "end": 1,
    "sample": 1,
    "sfix": 2,
    "ssacc": 2,
    "sblink": 2,
    "efix": 3,
    "esacc": 3,
    "eblink": 3,
}


def time_ordered(lines: list[str]) -> bool:
    """Whether lines stand in time order: messages, samples, event starts and event ends."""
    times = []
    for line in lines:
        found = _kind(line)
        if found is not None and found[0] in TIME_GROUP:
            times.append(float(found[1][TIME_GROUP[found[0]]]))
    return times == sorted(times)


def scan(path: Path) -> dict:
    """Every line of an ASC file, sorted into messages, blocks of samples, and events."""
    msgs: list[tuple[float, str]] = []
    blocks: list[dict] = []
    events: list[tuple] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    assert time_ordered(lines)
    for number, line in enumerate(lines, 1):
        found = _kind(line)
        if found is None:
            raise AssertionError(f"line {number} is not EyeLink ASC: {line!r}")
        kind, m = found
        if kind == "msg":
            msgs.append((float(m[1]), m[2]))
        elif kind == "start":
            blocks.append({"start": float(m[1]), "eyes": m[2].split("\t"), "t": [], "v": []})
        elif kind == "end":
            blocks[-1]["end"] = float(m[1])
        elif kind == "sample":
            blocks[-1]["t"].append(float(m[1]))
            blocks[-1]["v"].append([_num(v) for v in m[2].split("\t")[1:]])
        elif kind in ("sfix", "ssacc", "sblink"):
            events.append((kind, m[1], float(m[2]), len(blocks) - 1))
        elif kind in ("efix", "esacc", "eblink"):
            values = [float(m[i]) for i in (2, 3, 4)] + [_num(v) for v in m.groups()[4:]]
            events.append((kind, m[1], *values, len(blocks) - 1))
    for block in blocks:
        block["t"] = np.array(block["t"])
        block["v"] = np.array(block["v"])
    return {"msgs": msgs, "blocks": blocks, "events": events}


class FakeClock:
    """Seconds that move only when told to."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def run_session(
    folder: Path,
    observer: SimulatedObserver | None,
    *,
    rate: int = 1000,
    eye: str = "LEFT",
    seed: int = 7,
    trials: int = 2,
    image_s: float = 3.0,
    stem: str = "sim",
) -> tuple[Path, SimulatedTracker]:
    """A free-viewing session driven through the Tracker interface with a fake clock."""
    clock = FakeClock()
    tracker = SimulatedTracker(
        screen=SCREEN, observer=observer, sample_rate_hz=rate, eye=eye, seed=seed, clock=clock
    )
    with tracker:
        tracker.open(folder, stem)
        tracker.calibrate(None)
        for trial in range(1, trials + 1):
            clock.t += 0.2
            tracker.drift_check(None, 512, 384)
            tracker.start_trial(trial)
            tracker.log_image("img", "images/img.png", PLACEMENT)
            clock.t += 0.0123
            tracker.start_recording()
            clock.t += 0.5007
            tracker.send_message(IMAGE_ONSET)
            clock.t += image_s
            tracker.send_message(IMAGE_OFFSET)
            clock.t += 0.3001
            tracker.stop_recording()
            clock.t += 0.01
            tracker.log_trial_vars({"image_id": "img", "repetition": trial})
            tracker.end_trial(0)
    return folder / f"{stem}.asc", tracker


def quadrant_map(weight: float = 27.0) -> np.ndarray:
    """Native 150 x 200 map with ``weight`` times more priority in the top-left quadrant."""
    planted = np.ones((150, 200))
    planted[:75, :100] = weight
    return planted


@pytest.fixture(scope="module")
def observer() -> SimulatedObserver:
    return SimulatedObserver({"img": quadrant_map()}, blink_rate_hz=1.0)


@pytest.mark.parametrize(
    ("rate", "eye"),
    [(1000, "LEFT"), (500, "BOTH"), (250, "RIGHT"), (2000, "LEFT")],
    ids=["1k-left", "500-both", "250-right", "2k-left"],
)
def test_asc_is_self_consistent(tmp_path, observer, rate, eye):
    path, _ = run_session(tmp_path, observer, rate=rate, eye=eye)
    data = scan(path)
    interval = 1000.0 / rate
    letters = {"LEFT": ["L"], "RIGHT": ["R"], "BOTH": ["L", "R"]}[eye]
    assert len(data["blocks"]) == 2
    for b, block in enumerate(data["blocks"]):
        assert block["eyes"] == [{"L": "LEFT", "R": "RIGHT"}[e] for e in letters]
        assert block["v"].shape[1] == 3 * len(letters)
        assert np.all(np.diff(block["t"]) == interval)
        assert block["t"][0] == block["start"] and block["end"] == block["t"][-1] + 1
        assert np.all(block["t"] % interval == 0)  # samples on the sample-interval grid
        events = [e for e in data["events"] if e[-1] == b]
        times = [e[2] for e in events] + [e[3] for e in events if len(e) > 5]
        assert block["start"] <= min(times) and max(times) <= block["t"][-1]
        for col, letter in enumerate(letters):
            mine = [e for e in events if e[1] == letter]
            kinds = [e[0] for e in mine]
            for start, end in (("sfix", "efix"), ("ssacc", "esacc"), ("sblink", "eblink")):
                assert kinds.count(start) == kinds.count(end)
            x, y, pupil = (block["v"][:, 3 * col + k] for k in range(3))
            missing = np.zeros(len(x), dtype=bool)
            for e in mine:
                if e[0] not in ("efix", "esacc", "eblink"):
                    continue
                assert e[4] == pytest.approx(e[3] - e[2] + interval)  # EyeLink's duration
                inside = (block["t"] >= e[2]) & (block["t"] <= e[3])
                if e[0] == "efix":
                    assert abs(np.mean(x[inside]) - e[5]) <= 0.05 + 1e-9
                    assert abs(np.mean(y[inside]) - e[6]) <= 0.05 + 1e-9
                    assert abs(np.mean(pupil[inside]) - e[7]) <= 0.5
                elif e[0] == "esacc":
                    first, last = np.flatnonzero(inside)[[0, -1]]
                    assert (x[first], y[first], x[last], y[last]) == tuple(e[5:9])
                else:
                    missing |= inside
            assert np.array_equal(np.isnan(x), missing) and np.array_equal(np.isnan(y), missing)
            assert np.all(pupil[missing] == 0) and np.all(pupil[~missing] > 700)
            assert np.all(pupil[~missing] < 1400)
            # Events tile the block: a fixation or saccade ends where the next starts.
            spans = sorted((e[2], e[3]) for e in mine if e[0] in ("efix", "esacc"))
            assert spans[0][0] == block["start"] and spans[-1][1] == block["t"][-1]
            assert all(q[0] == p[1] + interval for p, q in itertools.pairwise(spans))


def test_blinks_lie_inside_saccades_in_eyelink_order(tmp_path, observer):
    path, _ = run_session(tmp_path, observer, trials=1, image_s=8.0)
    events = [e for e in scan(path)["events"] if e[1] == "L"]
    blinks = [e for e in events if e[0] == "eblink"]
    assert len(blinks) >= 3  # 1 blink/s over ~9 s
    order = [e[0] for e in events]
    for blink in blinks:
        k = events.index(blink)
        assert order[k - 2 : k + 2] == ["ssacc", "sblink", "eblink", "esacc"]
        sacc = events[k + 1]
        assert sacc[2] < blink[2] and blink[3] < sacc[3]


def test_messages_verbatim_in_time_order(tmp_path, observer):
    path, tracker = run_session(tmp_path, observer)
    msgs = scan(path)["msgs"]
    times = [t for t, _ in msgs]
    texts = [m for _, m in msgs]
    assert times == sorted(times)
    assert texts[0] == "DISPLAY_COORDS 0 0 1023 767"
    assert texts.count("TRIALID 1") == 1 and texts.count("TRIALID 2") == 1
    assert texts.count("!V IMGLOAD TOP_LEFT images/img.png 312 234 400 300") == 2
    assert texts.count(imgload_message("images/img.png", PLACEMENT)) == 2
    assert texts.count("!V TRIAL_VAR repetition 2") == 1
    assert texts.count(trial_var_message("image_id", "img")) == 2
    assert texts.count("TRIAL_RESULT 0") == 2
    assert texts.count(IMAGE_ONSET) == 2 and texts.count(IMAGE_OFFSET) == 2
    # Clock: offset + elapsed, floored to 1 ms; 0.5007 s after the 12.3 ms step -> 500 ms later.
    onset = times[texts.index(IMAGE_ONSET)]
    offset = times[texts.index(IMAGE_OFFSET)]
    assert offset - onset == 3000
    assert 1e6 <= onset <= 9e6 + 1e5
    assert tracker.settings()["clock_offset_ms"] == pytest.approx(times[0])


def test_half_millisecond_clock_at_2khz(tmp_path):
    clock = FakeClock()
    tracker = SimulatedTracker(
        screen=SCREEN,
        observer=SimulatedObserver({"img": quadrant_map()}),
        sample_rate_hz=2000,
        seed=1,
        clock=clock,
    )
    tracker.open(tmp_path, "half")
    clock.t = 0.0105
    tracker.send_message("a")
    clock.t = 0.0218
    tracker.send_message("b")
    tracker.close()
    msgs = dict((m, t) for t, m in scan(tmp_path / "half.asc")["msgs"])
    assert msgs["a"] - msgs["DISPLAY_COORDS 0 0 1023 767"] == 10.5
    assert msgs["b"] - msgs["a"] == 11.0  # 21.8 ms floors to 21.5


def test_grammar_reads_real_eyelink_files(shared_data, tmp_path, observer):
    """The test's grammar is EyeLink's: it recognises every line of real recordings."""
    skip = ("INPUT", "\t", " ")  # input-port lines and !CAL continuations: not simulated
    real = [
        ("cili/mono500.asc", skip),
        ("cili/bino250.asc", skip),
        ("pymovements/eyelink_binocular_example.asc", skip),  # 1 kHz, blinks
        # 2 kHz, with the hand-edited "MSG " lines of its edge cases left out
        ("pymovements/eyelink_monocular_2khz_example.asc", (*skip, "MSG ")),
    ]
    seen_real: set[str] = set()
    for name, ignore in real:
        path = shared_data / "eyelink" / name
        if not path.is_file():
            pytest.skip(f"{path} not found")
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        if name.startswith("cili"):
            assert time_ordered(lines)  # the rule scan() checks holds for real files
        for line in lines:
            if line.startswith(ignore):
                continue
            found = _kind(line)
            assert found is not None, f"{path.name}: {line!r}"
            seen_real.add(found[0])
    path, _ = run_session(tmp_path, observer, eye="BOTH", rate=500)
    seen = {_kind(line)[0] for line in path.read_text().splitlines()}  # type: ignore[index]
    assert seen <= seen_real


def test_planted_map_is_recovered(tmp_path):
    planted = quadrant_map()
    expected = planted[:75, :100].sum() / planted.sum()  # 27 / 30 = 0.9 of the mass
    observer = SimulatedObserver({"img": planted}, center_bias=0.0)
    path, _ = run_session(tmp_path, observer, rate=500, trials=1, image_s=60.0)
    data = scan(path)
    msgs = {m: t for t, m in data["msgs"]}
    fix = [e for e in data["events"] if e[0] == "efix"]
    viewing = [e for e in fix if e[2] >= msgs[IMAGE_ONSET] and e[3] <= msgs[IMAGE_OFFSET]]
    assert len(viewing) > 150
    x = np.array([e[5] for e in viewing])
    y = np.array([e[6] for e in viewing])
    assert np.all((x > 300) & (x < 724) & (y > 222) & (y < 546))  # on the image
    share = np.mean((x < 512) & (y < 384))  # the top-left quadrant of the drawn image
    assert share > 0.7
    assert share == pytest.approx(expected, abs=0.07)  # about 3 binomial SEs


def test_center_bias_spread_matches_its_sigma(tmp_path):
    sigma_deg = 1.5
    observer = SimulatedObserver(
        {"img": quadrant_map()}, center_bias=1.0, center_bias_sigma_deg=sigma_deg
    )
    path, _ = run_session(tmp_path, observer, rate=250, trials=1, image_s=60.0)
    data = scan(path)
    msgs = {m: t for t, m in data["msgs"]}
    fix = [e for e in data["events"] if e[0] == "efix" and e[2] >= msgs[IMAGE_ONSET]]
    fix = [e for e in fix if e[3] <= msgs[IMAGE_OFFSET]]
    r = np.hypot([e[5] - 512 for e in fix], [e[6] - 384 for e in fix]) / SCREEN.px_per_deg
    # Radius of an isotropic 2-D Gaussian: Rayleigh, mean sigma * sqrt(pi / 2).
    assert np.mean(r) / sigma_deg == pytest.approx(math.sqrt(math.pi / 2), abs=0.15)


def test_same_seed_same_file_other_seed_other_file(tmp_path, observer):
    def body(path: Path) -> list[str]:
        return [line for line in path.read_text().splitlines() if not line.startswith("** DATE")]

    a, _ = run_session(tmp_path / "a", observer, seed=3)
    b, _ = run_session(tmp_path / "b", observer, seed=3)
    c, _ = run_session(tmp_path / "c", observer, seed=4)
    assert body(a) == body(b)
    assert body(a) != body(c)


def test_without_observer_warns_and_looks_over_the_image(tmp_path):
    with pytest.warns(UserWarning, match="without an observer"):
        path, tracker = run_session(tmp_path, None, trials=1, image_s=20.0)
    assert tracker.settings()["observer"] is None
    fix = [e for e in scan(path)["events"] if e[0] == "efix"]
    x = np.array([e[5] for e in fix])
    y = np.array([e[6] for e in fix])
    assert np.all((x > 300) & (x < 724) & (y > 222) & (y < 546))
    assert np.mean(x < 512) == pytest.approx(0.5, abs=0.2)


def test_refuses_to_overwrite(tmp_path, observer):
    (tmp_path / "sim.asc").write_text("precious")
    tracker = SimulatedTracker(screen=SCREEN, observer=observer)
    with pytest.raises(FileExistsError, match=r"sim\.asc already exists"):
        tracker.open(tmp_path, "sim")
    assert (tmp_path / "sim.asc").read_text() == "precious"
    assert tracker.close() == []


def test_messages_reach_the_disk_at_safe_points(tmp_path, observer):
    clock = FakeClock()
    tracker = SimulatedTracker(screen=SCREEN, observer=observer, clock=clock, seed=0)
    tracker.open(tmp_path, "safe")
    path = tmp_path / "safe.asc"
    tracker.send_message("before")
    assert path.read_text().splitlines()[-1].endswith(" before")
    tracker.start_recording()
    clock.t += 0.1
    tracker.send_message("during")
    assert "during" not in path.read_text()
    assert tracker.close() == [path]  # closing while recording writes the block
    lines = path.read_text().splitlines()
    assert lines[-1].startswith("END\t") and any(line.endswith(" during") for line in lines)
    assert tracker.close() == [path]
    with pytest.raises(RuntimeError, match="closed"):
        tracker.send_message("after")


def test_calibration_and_drift_lines(tmp_path, observer):
    tracker = SimulatedTracker(
        screen=SCREEN, observer=observer, calibration_type="HV13", eye="BOTH", seed=5
    )
    tracker.open(tmp_path, "cal")
    result = tracker.calibrate(None)
    drift = tracker.drift_check(None, 512.2, 383.7)
    tracker.close()
    texts = [m for _, m in scan(tmp_path / "cal.asc")["msgs"]]
    left = result["eyes"]["LEFT"]
    line = next(t for t in texts if t.startswith("!CAL VALIDATION HV13 LR LEFT"))
    m = re.fullmatch(
        r"!CAL VALIDATION HV13 LR LEFT  (GOOD|FAIR|POOR) ERROR (\S+) avg\. (\S+) max  "
        r"OFFSET (\S+) deg\. (\S+),(\S+) pix\.",
        line,
    )
    assert m is not None
    assert m[1] == left["validation"]
    assert (float(m[2]), float(m[3])) == (left["error_avg_deg"], left["error_max_deg"])
    points = [t for t in texts if t.startswith("VALIDATE LR POINT")]
    right = [t for t in texts if t.startswith("VALIDATE LR 4POINT")]  # EyeLink's spelling
    assert len(points) == len(right) == 13
    errors = [float(re.search(r"OFFSET (\S+) deg", t)[1]) for t in points]  # type: ignore[index]
    assert float(m[2]) == pytest.approx(np.mean(errors), abs=0.006)
    assert float(m[3]) == max(errors)
    assert "!CAL CALIBRATION HV13 LR RIGHT   GOOD " in texts
    assert sum(t.startswith("DRIFTCORRECT LR ") for t in texts) == 2
    dx, dy = drift["eyes"]["LEFT"]["offset_px"]
    off = drift["eyes"]["LEFT"]["offset_deg"]
    assert (
        f"DRIFTCORRECT LR LEFT  at 512,384  OFFSET {off:.2f} deg.  {dx:.1f},{dy:.1f} pix." in texts
    )


def test_calibration_targets_match_eyelink():
    """EyeLink's HV13 points on 1024 x 768, as cili's mono500.asc lists them."""
    eyelink = [
        (512, 384),
        (512, 65),
        (512, 702),
        (61, 384),
        (962, 384),
        (115, 103),
        (908, 103),
        (115, 664),
        (908, 664),
        (286, 224),
        (737, 224),
        (286, 543),
        (737, 543),
    ]
    assert _calibration_targets("HV13", 1024, 768) == eyelink
    assert _calibration_targets("HV9", 1024, 768) == eyelink[:9]
    assert _calibration_targets("HV5", 1024, 768) == eyelink[:5]
    assert len(_calibration_targets("H3", 1024, 768)) == len(_calibration_targets("HV3", 1, 1))


def test_settings_and_round_numbers(tmp_path, observer):
    tracker = SimulatedTracker(screen=SCREEN, observer=observer, sample_rate_hz=500, seed=11)
    settings = tracker.settings()
    assert settings["kind"] == "simulated" and settings["seed"] == 11
    assert settings["sample_rate_hz"] == 500 and settings["eye"] == "LEFT"
    assert settings["observer"]["center_bias"] == 0.3 and settings["observer"]["n_images"] == 1
    assert SimulatedTracker(screen=SCREEN, observer=observer).settings()["seed"] >= 0


def test_misuse_raises(tmp_path, observer):
    tracker = SimulatedTracker(screen=SCREEN, observer=observer)
    with pytest.raises(RuntimeError, match="not open"):
        tracker.start_recording()
    tracker.open(tmp_path, "use")
    with pytest.raises(KeyError, match="'other'"):
        tracker.log_image("other", "images/other.png", PLACEMENT)
    with pytest.raises(ValueError, match="one line"):
        tracker.send_message("two\nlines")
    with pytest.raises(ValueError, match="at most 130 bytes, but got 131"):
        tracker.send_message("x" * 131)  # EyeLink's limit holds in simulation too
    tracker.start_recording()
    with pytest.raises(RuntimeError, match="while recording"):
        tracker.calibrate(None)
    with pytest.raises(RuntimeError, match="while recording"):
        tracker.start_recording()
    tracker.close()
    assert "IMGLOAD" not in (tmp_path / "use.asc").read_text()
    with pytest.raises(RuntimeError, match="already opened"):
        tracker.open(tmp_path, "again")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        pytest.param({"sample_rate_hz": 300}, ValueError, "'sample_rate_hz'", id="rate"),
        pytest.param({"eye": "left"}, ValueError, "'eye'.*'left'", id="eye"),
        pytest.param({"calibration_type": "HV7"}, ValueError, "'calibration_type'", id="cal"),
        pytest.param({"eye": "BOTH", "sample_rate_hz": 2000}, ValueError, "one eye", id="2k-both"),
        pytest.param({"seed": -1}, ValueError, "'seed'", id="seed"),
        pytest.param({"observer": {"img": 1}}, TypeError, "SimulatedObserver", id="observer"),
        pytest.param({"screen": (1024, 768)}, TypeError, "Screen", id="screen"),
    ],
)
def test_tracker_rejects_bad_options(kwargs, error, match):
    options = {"screen": SCREEN, "observer": SimulatedObserver({"a": np.ones((2, 2))}), **kwargs}
    with pytest.raises(error, match=match):
        SimulatedTracker(**options)


@pytest.mark.parametrize(
    "stem",
    [
        pytest.param("toolong123", id="9-chars"),
        pytest.param("a/b", id="slash"),
        pytest.param("", id="empty"),
        pytest.param("sub 1", id="space"),
    ],
)
def test_open_rejects_bad_stems(tmp_path, observer, stem):
    tracker = SimulatedTracker(screen=SCREEN, observer=observer)
    with pytest.raises(ValueError, match="'file_stem'"):
        tracker.open(tmp_path, stem)


@pytest.mark.parametrize(
    ("maps", "kwargs", "error", "match"),
    [
        pytest.param({"flat": np.ones(5)}, {}, ValueError, "'flat'.*2-D", id="1-D"),
        pytest.param(
            {"nan": np.full((2, 2), np.nan)}, {}, ValueError, "'nan'.*non-finite", id="nan"
        ),
        pytest.param({"neg": -np.ones((2, 2))}, {}, ValueError, "'neg'.*negative", id="negative"),
        pytest.param({"zero": np.zeros((2, 2))}, {}, ValueError, "'zero'.*all zero", id="zero"),
        pytest.param({1: np.ones((2, 2))}, {}, TypeError, "keys", id="key"),
        pytest.param([np.ones((2, 2))], {}, TypeError, "mapping", id="not-mapping"),
        pytest.param({}, {"center_bias": 1.5}, ValueError, "'center_bias'.*1.5", id="bias"),
        pytest.param({}, {"noise_deg": -0.1}, ValueError, "'noise_deg'", id="noise"),
        pytest.param({}, {"mean_fixation_ms": 0}, ValueError, "'mean_fixation_ms'", id="fix"),
    ],
)
def test_observer_rejects_bad_input(maps, kwargs, error, match):
    with pytest.raises(error, match=match):
        SimulatedObserver(maps, **kwargs)


def test_observer_maps_are_normalised_and_read_only():
    source = np.array([[1.0, 3.0], [0.0, 4.0]])
    observer = SimulatedObserver({"a": source})
    prio = observer.priority("a")
    np.testing.assert_allclose(prio, source / 8.0)
    assert source[0, 0] == 1.0  # the caller's array is untouched
    with pytest.raises(ValueError, match="read-only"):
        prio[0, 0] = 1.0
    with pytest.raises(KeyError, match="'b'"):
        observer.priority("b")
    with pytest.raises(AttributeError):
        observer.center_bias = 0.5  # type: ignore[attr-defined]


def test_saccades_follow_the_main_sequence_and_fixations_the_gamma_mean():
    """Pure gaze model: durations come from the documented distributions."""
    params = GazeParams(blink_rate_hz=0.0, noise_deg=0.0, drift_deg=0.0, center_bias=0.0)
    view = View(0, 10**9, PLACEMENT, None)
    n, dt = 200_000, 1.0  # 200 s at 1 kHz
    block = simulate_gaze(
        n, interval_ms=dt, screen=SCREEN, views=[view], params=params, rng=np.random.default_rng(2)
    )
    durations = np.array([b - a + 1 for a, b in block.fixations[1:-1]]) * dt
    assert durations.mean() == pytest.approx(250.0, abs=15.0)  # SE about 125 / sqrt(650) = 5
    assert durations.min() >= 50.0
    for first, last in block.saccades:
        x0, y0 = SCREEN.px_to_deg(block.x[0, first - 1], block.y[0, first - 1])
        x1, y1 = SCREEN.px_to_deg(block.x[0, last + 1], block.y[0, last + 1])
        amplitude = math.hypot(x1 - x0, y1 - y0)
        assert (last - first + 1) * dt == pytest.approx(2.2 * amplitude + 21.0, abs=1.0)
    assert minimum_jerk(np.array([0.0, 0.5, 1.0])).tolist() == [0.0, 0.5, 1.0]


def test_round_trip_through_read_asc(tmp_path, observer):
    from eyetracking import asc

    path, _ = run_session(tmp_path, observer, eye="BOTH", rate=500)
    data = scan(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = asc.read_asc(path)
    assert rec.display_size_px == (1024, 768)
    assert rec.sample_rate_hz == 500 and tuple(rec.eyes) == ("L", "R")
    assert len(rec.blocks) == 2
    efix = [e for e in data["events"] if e[0] == "efix"]
    assert len(rec.fixations) == len(efix)
    np.testing.assert_array_equal(rec.fixations["x"], [e[5] for e in efix])
    np.testing.assert_array_equal(rec.fixations["duration"], [e[4] for e in efix])
    assert len(rec.blinks) == sum(e[0] == "eblink" for e in data["events"])
    assert len(rec.samples) == 2 * sum(len(b["t"]) for b in data["blocks"])
    trials = rec.trials.set_index("trial_id")
    assert list(trials.index) == [1, 2]
    assert trials.loc[1, "img_left"] == 312 and trials.loc[1, "img_width"] == 400
    assert trials.loc[2, "repetition"] == 2
    onsets = [t for t, m in data["msgs"] if m == IMAGE_ONSET]
    np.testing.assert_array_equal(trials["onset"], onsets)
    assert list(rec.validations["eye"]) == ["L", "R"]
    assert len(rec.validation_points) == 18


def test_block_shorter_than_a_sample_keeps_time_order(tmp_path, observer):
    clock = FakeClock()
    tracker = SimulatedTracker(
        screen=SCREEN, observer=observer, sample_rate_hz=250, seed=2, clock=clock
    )
    tracker.open(tmp_path, "short")
    clock.t = 0.0011
    tracker.start_recording()
    tracker.stop_recording()
    tracker.send_message("after")
    tracker.close()
    data = scan(tmp_path / "short.asc")  # checks the time order of every line
    assert [len(b["t"]) for b in data["blocks"]] == [1]
    assert data["msgs"][-1][0] >= data["blocks"][0]["end"]


def test_default_clock_runs_on_perf_counter(tmp_path, observer):
    tracker = SimulatedTracker(screen=SCREEN, observer=observer, seed=1)
    tracker.open(tmp_path, "real")
    before = tracker.time_ms()
    tracker.start_recording()
    time.sleep(0.02)
    tracker.send_message("during")
    tracker.stop_recording()
    assert tracker.time_ms() - before >= 20.0
    tracker.close()
    data = scan(tmp_path / "real.asc")
    (block,) = data["blocks"]
    assert len(block["t"]) >= 20 and block["start"] >= math.floor(before)
