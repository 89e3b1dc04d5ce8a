"""Property tests of ``read_edf``'s conversion path on bad input (hypothesis).

*edf2asc route.* SR Research's edf2asc cannot exist on the test machines; a stand-in program
(a shell script) does what a broken converter does: exits with any status, prints any bytes,
writes nothing, an empty file, garbage, a cut or damaged ASC file (made by the eyelinkio
route's own ASC writer), a file under another name, or a folder where the ASC file should be.
The property: ``read_edf`` gives a Recording of the EDF file, or raises ``ValueError`` or
``RuntimeError`` naming the EDF file, never another exception. A converter file that cannot be
run at all (no program inside) is a ``RuntimeError`` too; it used to escape as ``OSError``.

*eyelinkio route.* eyelinkio's own test recording (read in place; skipped when absent) with
bytes flipped or cut: a Recording, or a ``ValueError`` naming the file (a cut file escaped as
``OSError``); and a Recording with other samples than the undamaged file's (the library skips
what it cannot read and makes up samples for gaps) comes with a warning: the library says so
only by printing, which used to go to the terminal alone.
"""

from __future__ import annotations

import importlib.util
import stat
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from eyetracking.edf import read_edf  # noqa: E402
from eyetracking.edf._api import BlockInfo, EdfContent  # noqa: E402
from eyetracking.edf._asc import asc_text  # noqa: E402
from eyetracking.recording import Recording  # noqa: E402

_STAND_IN = """#!/bin/sh
plan="$(dirname "$0")/plan"
out="$3"
[ -f "$plan/stderr" ] && cat "$plan/stderr" >&2
[ -f "$plan/output" ] && cp "$plan/output" "$out"
[ -f "$plan/other" ] && cp "$plan/other" "$(dirname "$out")/other.asc"
[ -f "$plan/folder" ] && mkdir "$out"
exit "$(cat "$plan/status")"
"""


def _valid_asc() -> bytes:
    """A small monocular recording (samples, a fixation, a saccade, a trial) as edf2asc writes."""
    block = BlockInfo(1000.0, 500.0, "L", "AREA", 3, 1, 2, "GAZE")
    n = 20
    samples = {
        "time": 1000.0 + 2.0 * np.arange(n),
        "x": np.column_stack([np.linspace(100, 140, n), np.full(n, np.nan)]),
        "y": np.column_stack([np.linspace(200, 220, n), np.full(n, np.nan)]),
        "pupil": np.column_stack([np.full(n, 900.0), np.full(n, np.nan)]),
        "res_x": np.full(n, 31.0),
        "res_y": np.full(n, 41.0),
    }
    items = [
        ("message", 990.0, "DISPLAY_COORDS 0 0 1023 767"),
        ("message", 995.0, "TRIALID 7"),
        ("start", block),
        ("samples", 0, n // 2),
        ("sfix", "L", 1020.0),
        ("samples", n // 2, n),
        ("efix", "L", 1020.0, 1030.0, 120.0, 210.0, 900.0),
        ("esacc", "L", 1000.0, 1010.0, 100.0, 200.0, 110.0, 205.0, 0.4, 88.0),
        ("end", 1040.0),
        ("message", 1041.0, "TRIAL_RESULT 1"),
    ]
    content = EdfContent(
        preamble=["** DATE: Mon Jan  1 00:00:00 2024", "** VERSION: EYELINK II 1"],
        library_version="4.2 test",
        items=items,
        samples=samples,
    )
    return asc_text(content, source=Path("sub01.edf"))


@pytest.fixture(scope="module")
def converter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stand-in edf2asc; what it does is in the folder ``plan`` beside it."""
    folder = tmp_path_factory.mktemp("edf2asc")
    program = folder / "edf2asc"
    program.write_text(_STAND_IN, encoding="utf-8")
    program.chmod(program.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    (folder / "plan").mkdir()
    return program


@pytest.fixture(scope="module")
def edf_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file with an EDF header; only the stand-in reads it."""
    path = tmp_path_factory.mktemp("edf") / "sub01.edf"
    path.write_bytes(b"SR_RESEARCH_1000FILE\n" + bytes(range(256)))
    return path


def _damaged(data: bytes, kind: str, where: float, payload: bytes) -> bytes:
    at = min(int(where * len(data)), len(data))
    if kind == "cut":
        return data[:at]
    if kind == "insert":
        return data[:at] + payload + data[at:]
    out = bytearray(data)
    for k, byte in enumerate(payload):
        if at + k < len(out):
            out[at + k] ^= byte or 0x80
    return bytes(out)


outputs = st.one_of(
    st.sampled_from([("nothing", b""), ("empty", b""), ("folder", b"")]),
    st.tuples(st.just("garbage"), st.binary(max_size=300)),
    st.builds(
        lambda kind, where, payload, name: (name, _damaged(_valid_asc(), kind, where, payload)),
        st.sampled_from(["cut", "insert", "flip"]),
        st.floats(0, 1),
        st.binary(min_size=1, max_size=6) | st.just(b"\xff\xfe"),
        st.sampled_from(["output", "other"]),
    ),
)


def _plan(converter: Path, output: tuple[str, bytes], status: int, stderr: bytes) -> None:
    plan = converter.parent / "plan"
    for old in plan.iterdir():
        old.unlink()
    (plan / "status").write_text(str(status))
    if stderr:
        (plan / "stderr").write_bytes(stderr)
    kind, data = output
    if kind in ("output", "other", "garbage", "empty"):
        (plan / ("other" if kind == "other" else "output")).write_bytes(data)
    elif kind == "folder":
        (plan / "folder").write_bytes(b"")


def _read(path: Path, **options: Any) -> tuple[Any, list[str]]:
    """``(Recording or ValueError / RuntimeError, warnings)``; any other exception escapes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: Any = read_edf(path, **options)
        except (ValueError, RuntimeError) as error:
            assert type(error) in (ValueError, RuntimeError), repr(error)
            assert str(path) in str(error), f"the message does not name the EDF file: {error}"
            result = error
    return result, [str(w.message) for w in caught]


def test_the_valid_conversion_reads(converter: Path, edf_file: Path) -> None:
    """The stand-in writing the undamaged ASC file gives its recording (so the route works)."""
    _plan(converter, ("output", _valid_asc()), 0, b"")
    recording, _ = _read(edf_file, converter="edf2asc", edf2asc=converter)
    assert isinstance(recording, Recording) and recording.path == edf_file
    assert len(recording.samples) == 20 and len(recording.fixations) == 1


@settings(max_examples=40)
@given(output=outputs, status=st.sampled_from([0, 0, 1, 3, 255]), stderr=st.binary(max_size=40))
@example(output=("folder", b""), status=0, stderr=b"")
@example(output=("garbage", b"\xff\xfe\x00"), status=0, stderr=b"\xff")
@example(output=("output", _valid_asc()[:300]), status=1, stderr=b"")
def test_what_the_converter_does(
    converter: Path, edf_file: Path, output: tuple[str, bytes], status: int, stderr: bytes
) -> None:
    """Any exit status, any output, any file left: a Recording or an error naming the file."""
    _plan(converter, output, status, stderr)
    result, _ = _read(edf_file, converter="edf2asc", edf2asc=converter)
    if isinstance(result, Recording):
        assert result.path == edf_file
    elif output[0] in ("nothing", "empty", "folder"):
        assert isinstance(result, RuntimeError) and "no ASC file written" in str(result)


def test_a_converter_that_is_no_program(tmp_path: Path, edf_file: Path) -> None:
    """An executable file that the system cannot run: RuntimeError naming it (was OSError)."""
    program = tmp_path / "edf2asc"
    program.write_bytes(b"\x00\x01 not a program")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(RuntimeError, match=r"could not be run to convert .*sub01\.edf"):
        read_edf(edf_file, converter="edf2asc", edf2asc=program)


# --- The eyelinkio route: the EDF access library on damaged files ----------------------------


@pytest.fixture(scope="module")
def real_edf() -> tuple[bytes, int]:
    """eyelinkio's test recording and its number of samples (skipped when not installed)."""
    spec = importlib.util.find_spec("eyelinkio")
    if spec is None or spec.origin is None:
        pytest.skip("eyelinkio is not installed")
    path = Path(spec.origin).parent / "tests" / "data" / "test_raw.edf"
    if not path.is_file():
        pytest.skip("eyelinkio's test recording test_raw.edf is not installed")
    result, _ = _read(path, converter="eyelinkio")
    if isinstance(result, ImportError):  # pragma: no cover - the library did not load
        pytest.skip(str(result))
    return path.read_bytes(), len(result.samples)


@settings(max_examples=2)
@given(
    kind=st.sampled_from(["cut", "flip"]),
    where=st.floats(0.01, 1),
    payload=st.binary(min_size=1, max_size=8),
)
@example(kind="cut", where=0.5, payload=b"\x00")
@example(kind="flip", where=0.6412, payload=b"\xff")  # the library inserts 254 dummy samples
@example(kind="flip", where=0.35, payload=b"\x01" * 8)  # the library stops: 23210 of 66827
def test_damaged_edf_through_the_library(
    real_edf: tuple[bytes, int],
    tmp_path_factory: pytest.TempPathFactory,
    kind: str,
    where: float,
    payload: bytes,
) -> None:
    """Cut or flipped: a ValueError naming the file, or a Recording; other samples warn.

    The library skips what it cannot read and makes up samples for gaps it finds ("Missing
    254 samples. Inserting dummy samples"), saying so only on the terminal: a Recording with
    more or fewer samples than the undamaged file's must come with a warning.
    """
    data, samples = real_edf
    path = tmp_path_factory.mktemp("damaged-edf") / "damaged.edf"
    path.write_bytes(_damaged(data, kind, where, payload))
    result, said = _read(path, converter="eyelinkio")
    if isinstance(result, Recording):
        if len(result.samples) != samples:
            assert any("EDF access library reported" in w for w in said), (
                f"{len(result.samples)} samples instead of {samples}, warnings: {said}"
            )
    else:
        assert isinstance(result, ValueError), repr(result)


def test_library_messages_never_reach_the_terminal(
    real_edf: tuple[bytes, int], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """What the library prints is collected (a cut file's 'End of file' goes into the error)."""
    path = tmp_path / "cut.edf"
    path.write_bytes(real_edf[0][: len(real_edf[0]) // 2])
    with pytest.raises(ValueError, match=r"cut\.edf cannot be read as an EDF file.*cut short"):
        read_edf(path, converter="eyelinkio")
    out, err = capfd.readouterr()
    assert "End of file" not in out + err
