"""Property tests: ``read_asc`` on valid ASC files that were then damaged.

Each generated file is a small valid edf2asc file (mono or binocular, 250 Hz to 2 kHz
with ``.5`` stamps, optional velocity and resolution columns, blinks with ``.``
fields, fixations, saccades, messages with and without offsets), then damaged by a
few mutations: lines cut, fields dropped or garbled, random bytes, bad UTF-8, lines
swapped, deleted or repeated (``START``/``END`` among them), the file truncated.

What must hold for every file: ``read_asc`` returns a Recording or raises its
documented ``ValueError`` naming the file, never another exception; and a Recording
read without a warning naming the file is complete: every sample line is in
``blocks.n_samples``, every ``MSG`` line in ``messages`` and every end-of-event line
in its table (an independent count of the file's lines, made here).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import example, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from eyetracking.asc import read_asc  # noqa: E402

_EYE_WORDS = {"L": "LEFT", "R": "RIGHT"}


@st.composite
def valid_asc(draw: st.DrawFn) -> list[bytes]:
    """The lines (without newlines) of a small valid ASC file."""
    eyes = draw(st.sampled_from(["L", "R", "LR"]))
    rate = draw(st.sampled_from([250, 500, 1000, 2000]))
    velocity, resolution = draw(st.booleans()), draw(st.booleans())
    start = draw(st.integers(1000, 9_000_000))
    words = "\t".join(_EYE_WORDS[e] for e in eyes)
    spec = f"GAZE\t{words}\tRATE\t{rate:7.2f}\tTRACKING\tCR\tFILTER\t2"
    spec += "\tVEL" * velocity + "\tRES" * resolution
    lines = [
        "** CONVERTED FROM D:\\data\\p01.edf using edfapi 4.2.1",
        "** DATE: Wed Mar  8 09:25:20 2023",
        "**",
        f"MSG\t{start - 20} DISPLAY_COORDS 0 0 1023 767",
        f"MSG\t{start - 10} TRIALID 1",
        f"START\t{start} \t{words}\tSAMPLES\tEVENTS",
        "PRESCALER\t1",
        f"EVENTS\t{spec}",
        f"SAMPLES\t{spec}",
    ]
    step = 1000.0 / rate
    n = draw(st.integers(1, 30))
    blink = draw(st.sets(st.integers(0, n - 1), max_size=5))
    coordinate = st.integers(-500, 20000).map(lambda v: v / 10)
    for k in range(n):
        t = start + k * step
        fields = [f"{t:.1f}" if rate == 2000 else f"{t:.0f}"]
        for _ in eyes:
            if k in blink:
                fields += ["   .", "   .", "    0.0"]
            else:
                fields += [f"{draw(coordinate):7.1f}" for _ in range(3)]
        if velocity:
            fields += [f"{draw(coordinate):7.1f}" for _ in range(2 * len(eyes))]
        if resolution:
            fields += ["  35.2", "  35.1"]
        fields.append("." * (3 if len(eyes) == 1 else 5))
        lines.append("\t".join(fields))
        if k == n // 2:
            lines.append(f"MSG\t{t:.0f} -8 !V IMGLOAD CENTER img.png 512 384 200 200")
            lines.append(f"MSG\t{t:.0f} IMAGE_ONSET")
            lines.append(f"SFIX {eyes[0]}   {start:.0f}")
            end = int(t)
            lines.append(
                f"EFIX {eyes[0]}   {start}\t{end}\t{end - start + 1}\t  512.0\t  384.0\t   1000"
            )
            lines.append(f"SSACC {eyes[0]}  {end}")
            lines.append(
                f"ESACC {eyes[0]}  {end}\t{end}\t1\t  512.0\t  384.0\t  520.0\t  390.0\t"
                "   0.21\t     40"
            )
    if blink:
        lines.append(f"EBLINK {eyes[0]} {start}\t{start + 1}\t2")
    end = int(start + n * step)
    lines += [
        f"END\t{end} \tSAMPLES\tEVENTS\tRES\t  35.20\t  35.15",
        f"MSG\t{end + 1} !V TRIAL_VAR condition {draw(st.sampled_from(['a', '1', '0.5']))}",
        f"MSG\t{end + 2} TRIAL_RESULT 0",
    ]
    return [line.encode("utf-8") for line in lines]


_garbage = st.one_of(
    st.binary(max_size=12),
    st.text(max_size=8).map(lambda s: s.encode("utf-8")),
    st.sampled_from([b".", b"-", b"nan", b"1e400", b"\xff\xfe", b"\xc3", b"  ", b"\t", b"\r"]),
)


@st.composite
def damaged_asc(draw: st.DrawFn) -> bytes:
    """A valid file after one to four mutations, as bytes."""
    lines = draw(valid_asc())
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(
                ["cut", "drop", "garble", "insert", "swap", "delete", "repeat", "crlf", "continue"]
            )
        )
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        if kind == "cut":
            lines[i] = line[: draw(st.integers(0, max(len(line) - 1, 0)))]
        elif kind in ("drop", "garble"):
            fields = line.split(b"\t")
            j = draw(st.integers(0, len(fields) - 1))
            if kind == "drop":
                del fields[j]
            else:
                fields[j] = draw(_garbage)
            lines[i] = b"\t".join(fields)
        elif kind == "insert":
            lines.insert(i, draw(_garbage))
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "delete" and len(lines) > 1:
            del lines[i]
        elif kind == "crlf":
            lines[i] = line + b"\r"
        elif kind == "continue":  # a continuation line (as in !CAL blocks), or a stray one
            lines.insert(i, draw(st.sampled_from([b" ", b"\t", b">"])) + draw(_garbage))
        else:
            lines.insert(i, line)
    data = b"".join(line + b"\n" for line in lines)
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data
    return data


#: The documented errors that are about the whole file rather than one of its lines.
_WHOLE_FILE = ("No samples and no eye events", "binary (EDF) file")


def _line_counts(data: bytes) -> dict[str, int]:
    """Sample, MSG and end-of-event lines of the file, counted as the reader should see them."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\n" not in data:
        data = data.replace(b"\r", b"\n")
    lines = data.split(b"\n")[:-1]  # a last line without a newline is left out (with a warning)
    counts = dict.fromkeys(("sample", "MSG", "EFIX", "ESACC", "EBLINK"), 0)
    for line in lines:
        if line[:1].isdigit():
            counts["sample"] += 1
        elif line.startswith((b"MSG\t", b"MSG ")):
            counts["MSG"] += 1
        elif line.startswith((b"EFIX", b"ESAC", b"EBLI")):
            counts[{b"EF": "EFIX", b"ES": "ESACC", b"EB": "EBLINK"}[line[:2]]] += 1
    return counts


def _check(data: bytes, **options: object) -> None:
    with tempfile.TemporaryDirectory(prefix="prop_asc_") as folder:
        path = Path(folder) / "damaged.asc"
        path.write_bytes(data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                rec = read_asc(path, **options)  # type: ignore[arg-type]
            except ValueError as err:
                message = str(err)
                assert path.name in message, f"the error does not name the file: {err}"
                assert "line" in message or any(what in message for what in _WHOLE_FILE), (
                    f"the error names no line: {err}"
                )
                return
        noted = [str(w.message) for w in caught if path.name in str(w.message)]
        if noted:
            return
        counts = _line_counts(data)
        assert int(rec.blocks["n_samples"].sum()) == counts["sample"], "samples lost silently"
        assert len(rec.messages) == counts["MSG"], "messages lost silently"
        assert len(rec.fixations) == counts["EFIX"], "fixations lost silently"
        assert len(rec.saccades) == counts["ESACC"], "saccades lost silently"
        assert len(rec.blinks) == counts["EBLINK"], "blinks lost silently"


@given(valid_asc())
def test_valid_files_read_whole(lines: list[bytes]) -> None:
    """A valid generated file reads without a warning and with every line in a table
    (catches a generator or reader that drops lines silently)."""
    data = b"".join(line + b"\n" for line in lines)
    with tempfile.TemporaryDirectory(prefix="prop_asc_") as folder:
        path = Path(folder) / "valid.asc"
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            rec = read_asc(path)
    counts = _line_counts(data)
    assert int(rec.blocks["n_samples"].sum()) == counts["sample"]
    assert len(rec.messages) == counts["MSG"]
    assert len(rec.fixations) + len(rec.saccades) == counts["EFIX"] + counts["ESACC"]
    assert len(rec.trials) == 1


#: Found failing before issue 14: message time stamps in non-ASCII digits ("1001.²", which
#: ``str.isdigit`` accepts) reached ``float()`` and raised a ValueError that named no file.
_UNICODE_DIGITS = (
    "MSG\t1000 TRIALID 1\nSTART\t1000 \tLEFT\tSAMPLES\tEVENTS\n"
    "SAMPLES\tGAZE\tLEFT\tRATE\t1000.00\tTRACKING\tCR\tFILTER\t2\n"
    "1000\t  512.0\t  384.0\t 1000.0\t...\n"
    "MSG\t1001.\u00b2 foo\nMSG\t\u0661\u0662 foo\nMSG\t1001 \u0663 foo\n"
    "END\t1002 \tSAMPLES\tEVENTS\n"
).encode("utf-8")


@given(damaged_asc(), st.sampled_from([None, "utf-8", "latin-1"]), st.booleans())
@example(_UNICODE_DIGITS, None, True)
@example(_UNICODE_DIGITS, "utf-8", False)
def test_damaged_files_read_or_raise_naming_the_file(
    data: bytes, encoding: str | None, offsets: bool
) -> None:
    """Damaged files read (with a warning naming the file when anything was left out) or
    raise ValueError naming the file (and the line, for a line's fault); never another
    exception (catches crashes such as IndexError or a float() of a garbled field, and
    lines dropped without a warning)."""
    _check(data, encoding=encoding, message_offsets=offsets)


@given(st.binary(max_size=300))
def test_random_bytes_read_or_raise_naming_the_file(data: bytes) -> None:
    """Arbitrary bytes: a Recording or the documented ValueError, nothing else."""
    _check(data)
