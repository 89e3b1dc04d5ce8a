"""Tests of eyetracking.read_edf: the edf2asc route, the eyelinkio route, dispatch and errors.

SR Research's edf2asc cannot exist on the test machines, so its route is tested with a small
stand-in program put on the PATH that writes a real ASC file (from ../shared/data) where
edf2asc would. The eyelinkio route reads the real EDF recordings that eyelinkio installs with
its own tests (read in place; skipped when absent) and is checked against eyelinkio's own
reader, an independent implementation, and against hand-built EDF content.
"""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from eyetracking import edf as edf_module
from eyetracking.asc import read_asc
from eyetracking.edf import read_edf
from eyetracking.edf._api import BlockInfo, EdfContent, _amplitude_deg, load_api
from eyetracking.edf._asc import asc_text

_EDF_HEAD = b"SR_RESEARCH_1000FILE\nDATE: Mon Jan  1 00:00:00 2024\n"


def _quiet_read_asc(path: Path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_asc(path, **options)


def _quiet_read_edf(path: Path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_edf(path, **options)


@pytest.fixture
def fake_edf(tmp_path: Path) -> Path:
    """A file with an EDF header; only the stand-in edf2asc ever reads it."""
    path = tmp_path / "sub01.edf"
    path.write_bytes(_EDF_HEAD + bytes(range(256)))
    return path


@pytest.fixture
def stand_in_edf2asc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Put an ``edf2asc`` stand-in first on the PATH: ``make(mode, source=None) -> log path``.

    Modes: ``copy`` writes ``source`` to the output path (the last argument) and exits 0;
    ``copy-nonzero`` does so and exits 1 (as some edf2asc versions do after success);
    ``fail`` prints to stderr and exits 3; ``silent`` exits 0 and writes nothing.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "edf2asc-args.txt"

    def make(mode: str, source: Path | None = None, *, on_path: bool = True) -> Path:
        program = bin_dir / "edf2asc"
        program.write_text(
            f"#!{sys.executable}\n"
            + textwrap.dedent(
                f"""
                import shutil, sys
                open({str(log)!r}, "w").write("\\n".join(sys.argv[1:]))
                mode, source = {mode!r}, {str(source)!r}
                if mode == "fail":
                    sys.stderr.write("EDF2ASC: cannot open file, not an EDF file\\n")
                    sys.exit(3)
                if mode.startswith("copy"):
                    shutil.copyfile(source, sys.argv[-1])
                sys.exit(1 if mode == "copy-nonzero" else 0)
                """
            )
        )
        program.chmod(program.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        if on_path:
            monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
        return log

    return make


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point tempfile at an empty folder, to check that conversions leave nothing behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _assert_same_recording(a, b) -> None:
    for name in ("samples", "fixations", "saccades", "blinks", "messages", "trials", "blocks"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    assert a.display_size_px == b.display_size_px
    assert a.sample_rate_hz == b.sample_rate_hz
    assert a.eyes == b.eyes


def test_edf2asc_route_reads_what_edf2asc_writes(
    eyelink_dir, fake_edf, stand_in_edf2asc, private_tmp
):
    source = eyelink_dir / "cili" / "mono500.asc"
    log = stand_in_edf2asc("copy", source)
    rec = _quiet_read_edf(fake_edf)
    _assert_same_recording(rec, _quiet_read_asc(source))
    assert rec.path == fake_edf
    args = log.read_text().splitlines()
    assert args[0] == "-y"
    assert Path(args[1]) == fake_edf.resolve()
    assert args[2].endswith("sub01.asc") and Path(args[2]).parent.parent == private_tmp
    assert list(private_tmp.iterdir()) == []  # the temporary folder is gone
    assert sorted(p.name for p in fake_edf.parent.iterdir() if p.suffix == ".asc") == []


def test_edf2asc_route_passes_options(eyelink_dir, fake_edf, stand_in_edf2asc):
    source = eyelink_dir / "cili" / "mono500.asc"
    stand_in_edf2asc("copy", source)
    rec = _quiet_read_edf(fake_edf, message_offsets=False, trial_start=r"NO_SUCH_MESSAGE")
    expected = _quiet_read_asc(source, message_offsets=False, trial_start=r"NO_SUCH_MESSAGE")
    pd.testing.assert_frame_equal(rec.messages, expected.messages)
    pd.testing.assert_frame_equal(rec.trials, expected.trials)
    # The options change the result: offsets stay in the text, trials become START blocks.
    default = _quiet_read_asc(source)
    assert not rec.messages["text"].equals(default.messages["text"])
    assert len(rec.trials) == len(rec.blocks)


def test_edf2asc_nonzero_exit_with_output_is_read(eyelink_dir, fake_edf, stand_in_edf2asc):
    stand_in_edf2asc("copy-nonzero", eyelink_dir / "cili" / "bino250.asc")
    rec = _quiet_read_edf(fake_edf)
    assert rec.eyes == ("L", "R") and len(rec.fixations) > 0


def test_edf2asc_given_by_path(eyelink_dir, fake_edf, stand_in_edf2asc, tmp_path, monkeypatch):
    stand_in_edf2asc("copy", eyelink_dir / "cili" / "mono500.asc", on_path=False)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    rec = _quiet_read_edf(fake_edf, edf2asc=tmp_path / "bin" / "edf2asc", converter="edf2asc")
    assert len(rec.trials) == 4


@pytest.mark.parametrize(
    ("mode", "match"),
    [
        pytest.param("fail", r"exit status 3.*cannot open file, not an EDF file", id="fails"),
        pytest.param("silent", r"exit status 0, no ASC file written", id="writes-nothing"),
    ],
)
def test_edf2asc_failure_reports_its_output(fake_edf, stand_in_edf2asc, private_tmp, mode, match):
    stand_in_edf2asc(mode)
    with pytest.raises(RuntimeError, match=match):
        read_edf(fake_edf)
    assert list(private_tmp.iterdir()) == []


def test_edf2asc_empty_conversion_is_an_error(fake_edf, stand_in_edf2asc, tmp_path):
    empty = tmp_path / "empty.asc"
    empty.write_text("** CONVERTED FROM x.edf\n**\nMSG\t1 hello\n")
    stand_in_edf2asc("copy", empty)
    with pytest.raises(ValueError, match=r"sub01\.edf \(converted to ASC\): .*No samples"):
        read_edf(fake_edf)


@pytest.fixture
def nothing_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No edf2asc on the PATH and eyelinkio not importable."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    for name in [m for m in sys.modules if m == "eyelinkio" or m.startswith("eyelinkio.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "eyelinkio", None)


def test_nothing_installed_names_what_to_install(fake_edf, nothing_installed):
    with pytest.raises(ImportError, match=r"edf2asc is not on the PATH.*pip install eyelinkio"):
        read_edf(fake_edf)
    with pytest.raises(ImportError, match=r"no EDF-reading library.*EyeLink Developers Kit"):
        read_edf(fake_edf, converter="eyelinkio")
    with pytest.raises(FileNotFoundError, match=r"no edf2asc program was found"):
        read_edf(fake_edf, converter="edf2asc")


def test_edf2asc_is_preferred_over_eyelinkio(eyelink_dir, fake_edf, stand_in_edf2asc):
    stand_in_edf2asc("copy", eyelink_dir / "cili" / "mono500.asc")
    # The fake EDF has no valid body: only the edf2asc route can read it.
    assert len(_quiet_read_edf(fake_edf).trials) == 4
    with pytest.raises(ValueError, match="could not open it"):
        read_edf(fake_edf, converter="eyelinkio")


@pytest.mark.parametrize(
    ("kind", "kwargs", "error", "match"),
    [
        pytest.param("missing", {}, FileNotFoundError, "EDF file not found", id="missing"),
        pytest.param("folder", {}, ValueError, "is a folder", id="folder"),
        pytest.param("asc", {}, ValueError, r"start with b'SR_RESEARCH'.*use read_asc", id="asc"),
        pytest.param("empty", {}, ValueError, r"starts with b''", id="empty-file"),
        pytest.param(
            "edf", {"converter": "pylink"}, ValueError, "'converter' parameter", id="converter"
        ),
        pytest.param("edf", {"trial_begin": "X"}, TypeError, "trial_begin", id="unknown-option"),
        pytest.param(
            "edf",
            {"edf2asc": "/no/such/edf2asc"},
            FileNotFoundError,
            "'edf2asc' parameter",
            id="bad-edf2asc",
        ),
    ],
)
def test_bad_input(tmp_path, kind, kwargs, error, match):
    path = {
        "missing": tmp_path / "none.edf",
        "folder": tmp_path,
        "asc": tmp_path / "rec.edf",
        "empty": tmp_path / "empty.edf",
        "edf": tmp_path / "ok.edf",
    }[kind]
    if kind == "asc":
        path.write_text("** CONVERTED FROM rec.edf\nMSG\t1 hi\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "edf":
        path.write_bytes(_EDF_HEAD)
    with pytest.raises(error, match=match):
        read_edf(path, **kwargs)


# --- ASC text from EDF content (the eyelinkio route without the library) ---------------------


def _block(**changes) -> BlockInfo:
    values = dict(
        time=1000.0,
        sample_rate_hz=500.0,
        eyes="L",
        pupil_type="AREA",
        record_type=3,
        recording_mode=1,
        filter_type=2,
        position="GAZE",
    )
    values.update(changes)
    return BlockInfo(**values)


def _content(samples: dict[str, np.ndarray], items: list[tuple]) -> EdfContent:
    return EdfContent(
        preamble=["** DATE: Mon Jan  1 00:00:00 2024", "** VERSION: EYELINK II 1"],
        library_version="4.2 test",
        items=items,
        samples=samples,
    )


def _two_eyes(values_l, values_r) -> np.ndarray:
    return np.column_stack([values_l, values_r]).astype(float)


def _read_content(content: EdfContent, tmp_path: Path):
    path = tmp_path / "made.asc"
    path.write_bytes(asc_text(content, source=tmp_path / "made.edf"))
    return read_asc(path), path.read_text(encoding="utf-8")


def test_asc_text_round_trip_monocular(tmp_path):
    nan = np.nan
    samples = {
        "time": np.array([1000.0, 1002.0, 1004.0, 1006.0]),
        "x": _two_eyes([100.1, nan, 102.3, 103.0], [nan] * 4),
        "y": _two_eyes([200.0, nan, 201.5, 202.0], [nan] * 4),
        "pupil": _two_eyes([900.0, 0.0, 910.0, 920.0], [nan] * 4),
        "res_x": np.array([30.0, nan, 31.0, 32.0]),
        "res_y": np.array([40.0, nan, 41.0, 42.0]),
    }
    items = [
        ("message", 990.0, "DISPLAY_COORDS 0 0 1023 767"),
        ("message", 995.0, "TRIALID 7"),
        ("start", _block()),
        ("message", 1000.0, "!CAL \n>>>>>>> CALIBRATION (HV9,P-CR) FOR LEFT: <<<<<<<<<"),
        ("samples", 0, 2),
        ("sfix", "L", 1004.0),
        ("message", 1003.0, "-3 Grüße aus Köln"),
        ("samples", 2, 4),
        ("efix", "L", 1004.0, 1006.0, 102.65, 201.75, 915.0),
        ("esacc", "L", 1000.0, 1002.0, 100.1, 200.0, nan, nan, nan, 88.4),
        ("eblink", "L", 1002.0, 1002.0),
        ("input", 1005.0, 127),
        ("button", 1005.0, 2, 1),
        ("end", 1007.0),
        ("message", 1010.0, "TRIAL_RESULT 1"),
    ]
    rec, text = _read_content(_content(samples, items), tmp_path)
    assert rec.eyes == ("L",) and rec.sample_rate_hz == 500.0
    assert rec.display_size_px == (1024, 768)
    np.testing.assert_array_equal(rec.samples["time"], [1000.0, 1002.0, 1004.0, 1006.0])
    np.testing.assert_allclose(rec.samples["x"], [100.1, nan, 102.3, 103.0])
    np.testing.assert_allclose(rec.samples["pupil"], [900.0, 0.0, 910.0, 920.0])
    assert rec.samples["trial_id"].tolist() == [7, 7, 7, 7]
    fix = rec.fixations.iloc[0]
    # 500 Hz: duration is end - start plus one 2 ms interval; positions print with one decimal.
    assert (fix["start"], fix["end"], fix["duration"]) == (1004.0, 1006.0, 4.0)
    assert (fix["x"], fix["y"], fix["pupil"]) == (102.7, 201.8, 915.0)
    sac = rec.saccades.iloc[0]
    assert sac["duration"] == 4.0 and np.isnan(sac["x_end"]) and np.isnan(sac["amplitude_deg"])
    assert sac["peak_velocity"] == 88.0
    assert rec.blinks["duration"].tolist() == [2.0]
    texts = rec.messages["text"].tolist()
    assert "!CAL \n>>>>>>> CALIBRATION (HV9,P-CR) FOR LEFT: <<<<<<<<<" in texts
    assert "Grüße aus Köln" in texts  # the offset -3 is read as EyeLink's offset
    offset_row = rec.messages[rec.messages["text"] == "Grüße aus Köln"].iloc[0]
    assert (offset_row["time_raw"], offset_row["offset"], offset_row["time"]) == (
        1003.0,
        -3.0,
        1006.0,
    )
    assert rec.inputs["kind"].tolist() == ["INPUT", "BUTTON"]
    np.testing.assert_array_equal(rec.inputs["time"], [1005.0, 1005.0])
    np.testing.assert_array_equal(rec.inputs["value"], [127.0, 2.0])
    np.testing.assert_array_equal(rec.inputs["state"], [np.nan, 1.0])
    assert rec.trials["result"].tolist() == [1.0]
    # The block's mean resolution goes to the END line as edf2asc writes it.
    assert "END\t1007 \tSAMPLES\tEVENTS\tRES\t  31.00\t  41.00" in text.splitlines()
    assert text.startswith("** CONVERTED FROM ")
    assert "SFIX L   1004" in text.splitlines()


def test_asc_text_binocular_half_ms_and_href(tmp_path):
    samples = {
        "time": np.array([5000.0, 5000.5, 5001.0]),
        "x": _two_eyes([1.0, 2.0, 3.0], [11.0, 12.0, 13.0]),
        "y": _two_eyes([4.0, 5.0, 6.0], [14.0, 15.0, 16.0]),
        "pupil": _two_eyes([7.0, 8.0, 9.0], [17.0, 18.0, 19.0]),
    }
    items = [
        ("start", _block(time=5000.0, sample_rate_hz=2000.0, eyes="LR", position="HREF")),
        ("samples", 0, 3),
        ("efix", "R", 5000.0, 5001.0, 12.0, 15.0, 18.0),
        ("end", 5001.0),
    ]
    rec, text = _read_content(_content(samples, items), tmp_path)
    assert rec.eyes == ("L", "R")
    assert rec.samples["time"].tolist() == [5000.0, 5000.0, 5000.5, 5000.5, 5001.0, 5001.0]
    assert rec.samples["eye"].tolist() == ["L", "R"] * 3
    assert rec.samples["x"].tolist() == [1.0, 11.0, 2.0, 12.0, 3.0, 13.0]
    assert rec.samples["pupil"].tolist() == [7.0, 17.0, 8.0, 18.0, 9.0, 19.0]
    # 2000 Hz: times print with one decimal; a fixation of 3 samples lasts 1.5 ms.
    assert rec.fixations["duration"].tolist() == [1.5]
    assert "SAMPLES\tHREF\tLEFT\tRIGHT\tRATE\t2000.00\tTRACKING\tCR\tFILTER\t2" in text
    assert "START\t5000.0 \tLEFT\tRIGHT\tSAMPLES\tEVENTS" in text


def test_saccade_amplitude_from_resolution():
    # 60 px right at 30 px/deg and 80 px up at 40 px/deg: (2, -2) deg, sqrt(8) deg.
    event = SimpleNamespace(
        gstx=100.0,
        gsty=200.0,
        genx=160.0,
        geny=120.0,
        supd_x=28.0,
        eupd_x=32.0,
        supd_y=40.0,
        eupd_y=40.0,
    )
    assert _amplitude_deg(event) == pytest.approx(np.sqrt(8.0))
    event.eupd_x = event.supd_x = 0.0
    assert np.isnan(_amplitude_deg(event))
    event.supd_x = event.eupd_x = 30.0
    event.geny = 1e8  # EDF's missing value
    assert np.isnan(_amplitude_deg(event))


def test_no_samples_and_no_events_is_an_error(fake_edf, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    monkeypatch.setattr(edf_module, "load_api", lambda: object())
    content = _content({}, [("message", 1.0, "hello"), ("start", _block()), ("end", 2.0)])
    monkeypatch.setattr(edf_module, "read_edf_content", lambda path, api: content)
    with pytest.raises(ValueError, match=r"No samples and no eye events in the EDF file"):
        read_edf(fake_edf)


def test_lost_data_is_warned(fake_edf, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    monkeypatch.setattr(edf_module, "load_api", lambda: object())
    samples = {k: np.ones((2, 2)) for k in ("x", "y", "pupil")}
    samples["time"] = np.array([1.0, 3.0])
    content = _content(samples, [("start", _block(time=1.0)), ("samples", 0, 2), ("end", 3.0)])
    content.lost_data = 2
    monkeypatch.setattr(edf_module, "read_edf_content", lambda path, api: content)
    with pytest.warns(UserWarning, match=r"marks 2 gap\(s\) in its data stream"):
        rec = read_edf(fake_edf)
    assert len(rec.samples) == 2 and rec.path == fake_edf


# --- Real EDF files (installed with eyelinkio's tests), against eyelinkio's own reader ------


def _eyelinkio_edf(name: str) -> Path:
    spec = importlib.util.find_spec("eyelinkio")
    if spec is None or spec.origin is None:
        pytest.skip("eyelinkio is not installed")
    path = Path(spec.origin).parent / "tests" / "data" / name
    if not path.is_file():
        pytest.skip(f"eyelinkio's test recording {name} is not installed")
    try:
        load_api()
    except ImportError as err:
        pytest.skip(str(err))
    return path


def _eyelinkio_time(ours: np.ndarray, sample_times: np.ndarray, rate: float) -> np.ndarray:
    """eyelinkio's clock: seconds of samples from the first, interpolated for events."""
    return np.interp(ours, sample_times, np.arange(len(sample_times)) / rate)


@pytest.mark.parametrize(
    "name",
    [
        "test_raw.edf",
        pytest.param("test_raw_binocular.edf", marks=pytest.mark.slow, id="binocular"),
    ],
)
def test_eyelinkio_route_agrees_with_eyelinkio(name, tmp_path, monkeypatch, private_tmp):
    import eyelinkio

    path = _eyelinkio_edf(name)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))  # no edf2asc: eyelinkio route
    rec = _quiet_read_edf(path, message_offsets=False)
    ref = eyelinkio.read_edf(path)
    assert list(private_tmp.iterdir()) == []
    assert rec.path == path
    rate = ref["info"]["sfreq"]
    assert rec.sample_rate_hz == rate
    assert rec.eyes == {"LEFT_EYE": ("L",), "BINOCULAR": ("L", "R")}[ref["info"]["eye"]]
    fields = ref["info"]["sample_fields"]
    for eye in rec.eyes:
        ours = rec.samples[rec.samples["eye"] == eye]
        suffix = "" if len(rec.eyes) == 1 else ("_left" if eye == "L" else "_right")
        for col, field in (("x", "xpos"), ("y", "ypos"), ("pupil", "ps")):
            theirs = ref["samples"][fields.index(field + suffix)]
            np.testing.assert_array_equal(np.isnan(ours[col]), np.isnan(theirs))
            # edf2asc prints positions with one decimal; the EDF holds float32.
            np.testing.assert_allclose(ours[col], theirs, atol=0.05 + 1e-4, equal_nan=True)
    times = np.unique(rec.samples["time"].to_numpy())
    assert times[0] == rec.blocks["start"].iloc[0]  # the tracker clock, not seconds from 0
    for table, key, columns in (
        (rec.fixations, "fixations", (("x", "axp"), ("y", "ayp"))),
        (rec.saccades, "saccades", (("x_start", "sxp"), ("y_end", "eyp"))),
        (rec.blinks, "blinks", ()),
    ):
        theirs = ref["discrete"][key]
        assert len(table) == len(theirs) > 0
        assert table["eye"].tolist() == ["LR"[int(e)] for e in theirs["eye"]]
        for ours_col, their_field in (("start", "stime"), ("end", "etime")):
            np.testing.assert_allclose(
                _eyelinkio_time(table[ours_col].to_numpy(), times, rate),
                theirs[their_field],
                atol=1e-9,
            )
        for ours_col, their_field in columns:
            # eyelinkio keeps EDF's missing-value markers (1e8, -32768) in events.
            expected = theirs[their_field].astype(float)
            expected[(expected >= 1e8 - 1) | (expected <= -32767.5)] = np.nan
            np.testing.assert_allclose(table[ours_col], expected, atol=0.05 + 1e-4)
    # eyelinkio drops non-ASCII characters and keeps a trailing newline; the text is otherwise
    # the same, in the same order.
    their_texts = [m.decode().rstrip("\n") for m in ref["discrete"]["messages"]["msg"]]
    our_texts = ["".join(c for c in t if ord(c) < 128) for t in rec.messages["text"]]
    assert our_texts == their_texts


def test_eyelinkio_route_keeps_trials_and_calibration(tmp_path, monkeypatch):
    path = _eyelinkio_edf("test_raw.edf")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    rec = _quiet_read_edf(path)
    assert rec.display_size_px == (1920, 1080)  # from GAZE_COORDS 0.00 0.00 1919.00 1079.00
    assert rec.trials["trial_id"].tolist() == list(range(1, len(rec.trials) + 1))
    assert len(rec.validations) > 0 and len(rec.calibrations) > 0
    assert len(rec.blocks) == 2 and rec.blocks["n_samples"].sum() == len(rec.samples)
    inside = rec.samples["trial_id"].notna()
    assert inside.any()
    assert rec.header.get("VERSION") == "EYELINK II 1"


def test_importing_readers_stays_light(repo_root):
    """Importing read_edf and detect_events loads no EDF library, tracker, GUI or torch."""
    import subprocess

    code = (
        "import sys, eyetracking.edf, eyetracking.events; "
        "print(sorted(m for m in ('eyelinkio', 'pylink', 'psychopy', 'torch') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
