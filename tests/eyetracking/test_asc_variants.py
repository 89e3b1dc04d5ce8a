"""read_asc on variants of real EyeLink files rewritten into tmp_path, one per edge case."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import eyetracking.asc as asc_module
import eyetracking.asc._scan as scan_module
from eyetracking.asc import read_asc

MONO = "cili/mono500.asc"
BINO = "cili/bino250.asc"
TABLES = ("samples", "fixations", "saccades", "blinks", "messages", "trials", "blocks", "inputs")


def _read(path: Path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_asc(path, **kwargs)


def _same_tables(a, b) -> None:
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), obj=table)


@pytest.fixture
def variant(eyelink_dir, tmp_path):
    """``variant(name, edit) -> Path``: the real file ``name`` with ``edit(bytes)`` applied."""

    def make(name: str, edit, out: str = "variant.asc") -> Path:
        path = tmp_path / out
        path.write_bytes(edit((eyelink_dir / name).read_bytes()))
        return path

    return make


def _insert_after(data: bytes, anchor: bytes, lines: list[str]) -> bytes:
    at = data.index(anchor)
    at = data.index(b"\n", at) + 1
    return data[:at] + "".join(line + "\n" for line in lines).encode() + data[at:]


def _rewrite_samples(data: bytes, edit) -> bytes:
    """Apply ``edit(fields, k) -> fields`` to the tab-separated fields of sample line ``k``."""
    out, k = [], 0
    for line in data.decode("utf-8").split("\n"):
        if line[:1].isdigit():
            line = "\t".join(edit(line.split("\t"), k))
            k += 1
        out.append(line)
    return "\n".join(out).encode()


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda d: d.replace(b"\n", b"\r\n"), id="crlf"),
        pytest.param(lambda d: d.replace(b"\n", b"\r"), id="cr-only"),
        pytest.param(lambda d: b"\xef\xbb\xbf" + d, id="utf8-bom"),
    ],
)
def test_line_ends_and_bom_read_like_the_original(eyelink_dir, variant, edit):
    _same_tables(_read(variant(MONO, edit)), _read(eyelink_dir / MONO))


def test_latin1_file_reads_like_utf8(eyelink_dir, variant):
    name = "pymovements/eyelink_monocular_no_dummy_example.asc"
    path = variant(name, lambda d: d.decode("utf-8").encode("latin-1"))
    assert "ENCODING TEST ÄÖÜ" in _read(path).messages["text"].tolist()
    _same_tables(_read(path), _read(eyelink_dir / name))


def test_small_chunks_read_like_one_chunk(eyelink_dir, monkeypatch):
    # Lines, blocks and !CAL continuations cut by chunk boundaries everywhere.
    reference = {name: _read(eyelink_dir / name) for name in (MONO, BINO)}
    monkeypatch.setattr(scan_module, "CHUNK_BYTES", 251)
    for name, rec in reference.items():
        _same_tables(_read(eyelink_dir / name), rec)


def test_truncated_mid_line_warns_with_the_last_good_line(eyelink_dir, variant):
    original = (eyelink_dir / MONO).read_bytes()
    cut = original.index(b"7202500\t") + 12  # inside a sample line of the third trial
    path = variant(MONO, lambda d: d[:cut])
    complete = original[: original.rindex(b"\n", 0, cut) + 1]
    n_lines = complete.count(b"\n")
    n_samples = len(re.findall(rb"(?m)^\d", complete))
    with pytest.warns(UserWarning) as caught:
        rec = read_asc(path)
    notes = " | ".join(str(w.message) for w in caught)
    assert f"last line {n_lines + 1} ('7202500\\t  50')" in notes
    assert f"the last complete line is {n_lines}" in notes
    assert "block 2 has no END line" in notes
    assert len(rec.samples) == n_samples
    assert rec.samples["time"].iloc[-1] == 7202498.0
    assert rec.trials["trial_id"].tolist() == [0, 1, 2]
    assert rec.blocks["end"].iloc[-1] == 7202498.0


def test_truncated_in_the_header_is_a_clear_error(variant):
    path = variant(MONO, lambda d: d[:700])
    error = r"No samples and no eye events .*ends without a newline"
    with pytest.raises(ValueError, match=error), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read_asc(path)


def test_nul_padding_after_a_crash_is_ignored_with_a_warning(variant):
    def edit(data: bytes) -> bytes:
        end = data.index(b"\n", data.index(b"7202500\t")) + 1
        return data[:end] + b"\x00" * 5000

    path = variant(MONO, edit)
    with pytest.warns(UserWarning) as caught:
        rec = read_asc(path)
    notes = sorted(str(w.message) for w in caught)
    assert len(notes) == 2
    assert "ends in 5000 NUL bytes (an interrupted write?)" in notes[1]
    assert "block 2 has no END line" in notes[0]
    assert rec.samples["time"].iloc[-1] == 7202500.0


def test_lost_messages_are_kept_and_counted(variant):
    def edit(data: bytes) -> bytes:
        data = _insert_after(data, b"TRIALID 1", ["MSG\t7199250 ERROR MESSAGES LOST 2"])
        return _insert_after(data, b"TRIALID 3", ["MSG\t7204500 ERROR MESSAGES LOST 3"])

    with pytest.warns(UserWarning, match=r"lost data \(5 messages; first ERROR .* line \d+\)"):
        rec = read_asc(variant(MONO, edit))
    assert rec.lost == {"MESSAGES": 5}
    lost = rec.messages[rec.messages["text"].str.startswith("ERROR")]
    assert lost["text"].tolist() == ["ERROR MESSAGES LOST 2", "ERROR MESSAGES LOST 3"]
    assert lost["trial_id"].tolist() == [1, 3]


def test_offset_and_numeric_messages(variant):
    lines = [
        "MSG\t7196800 -8 !V TRIAL_VAR late 1",  # happened 8 ms after it was written
        "MSG\t7196801 42",  # a number and nothing else is text
        "MSG\t7196802 3 4",  # a leading integer followed by text is an offset
        "MSG\t7196803 +5 plus",
    ]
    rec = _read(variant(MONO, lambda d: _insert_after(d, b"TRIALID 0", lines)))
    msgs = rec.messages.set_index("time_raw").loc[[7196800, 7196801, 7196802, 7196803]]
    assert msgs["time"].tolist() == [7196808, 7196801, 7196799, 7196798]
    assert msgs["text"].tolist() == ["!V TRIAL_VAR late 1", "42", "4", "plus"]
    assert rec.trials["late"].tolist()[0] == 1


def test_offsets_can_stay_in_the_text(variant):
    lines = ["MSG\t7196800 -8 !V TRIAL_VAR late 1"]
    rec = _read(
        variant(MONO, lambda d: _insert_after(d, b"TRIALID 0", lines)), message_offsets=False
    )
    row = rec.messages[rec.messages["time_raw"] == 7196800].iloc[0]
    assert (row["time"], row["text"]) == (7196800, "-8 !V TRIAL_VAR late 1")
    assert "late" not in rec.trials.columns


def test_button_lines_and_href_diameter_blocks(variant):
    def edit(data: bytes) -> bytes:
        data = _insert_after(data, b"SFIX L   7196724", ["BUTTON\t7196725\t1\t1"])
        data = data.replace(b"SAMPLES\tGAZE", b"SAMPLES\tHREF").replace(
            b"EVENTS\tGAZE", b"EVENTS\tHREF"
        )
        return data.replace(b"PUPIL\tAREA", b"PUPIL\tDIAMETER")

    rec = _read(variant(MONO, edit))
    button = rec.inputs[rec.inputs["kind"] == "BUTTON"]
    assert button[["time", "value", "state"]].values.tolist() == [[7196725.0, 1.0, 1.0]]
    assert (rec.blocks["data_type"] == "HREF").all()
    assert (rec.blocks["pupil_type"] == "DIAMETER").all()


def test_without_trialid_blocks_are_trials(variant):
    rec = _read(variant(MONO, lambda d: re.sub(rb"(?m)^MSG\t\d+ TRIALID \d+\n", b"", d)))
    assert rec.trials["trial_id"].tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(rec.trials["start"], rec.blocks["start"])
    assert rec.trials["direction"].tolist() == ["Right", "Left", "Right", "Left"]
    assert (rec.samples["trial_id"].astype(int) == rec.samples["block"]).all()


def test_opensesame_trial_messages(variant):
    def edit(data: bytes) -> bytes:
        data = re.sub(rb"TRIALID (\d)", rb"start_trial \1", data)
        return data.replace(b"TRIAL_RESULT 0", b"stop_trial")

    rec = _read(
        variant(MONO, edit), trial_start=r"start_trial", trial_end=r"stop_trial(?P<result>)"
    )
    trials = rec.trials
    assert trials["trial_id"].tolist() == [0, 1, 2, 3]
    assert trials["end"].tolist()[0] == 7197861.0  # the stop_trial message
    assert trials["result"].isna().all()
    assert trials["t_x"].tolist() == [812, 212, 812, 212]


def test_imgload_center_with_size(variant):
    def edit(data: bytes) -> bytes:
        for k in range(4):
            line = f"MSG\t{7196664 + k} !V IMGLOAD CENTER images/{k}.png 512 384 400 300"
            data = _insert_after(data, f"TRIALID {k}".encode(), [line])
        return data

    trials = _read(variant(MONO, edit)).trials
    assert trials["img_path"].tolist() == [f"images/{k}.png" for k in range(4)]
    geometry = trials[["img_left", "img_top", "img_width", "img_height"]].drop_duplicates()
    assert geometry.values.tolist() == [[312.0, 234.0, 400.0, 300.0]]


def test_velocity_and_resolution_columns_binocular(eyelink_dir, variant):
    def edit(data: bytes) -> bytes:
        def fields(f: list[str], k: int) -> list[str]:
            vel = [f"{k:.1f}", f"{-k:.1f}", f"{k + 0.5:.1f}", f"{-k - 0.5:.1f}"]
            return [*f[:7], *vel, "  35.24", "  35.17", f[7]]

        data = data.replace(b"SAMPLES\tGAZE\tLEFT\tRIGHT", b"SAMPLES\tGAZE\tLEFT\tRIGHT\tVEL\tRES")
        return _rewrite_samples(data, fields)

    rec = _read(variant(BINO, edit))
    plain = _read(eyelink_dir / BINO)
    pd.testing.assert_frame_equal(rec.samples[plain.samples.columns], plain.samples)
    k = np.repeat(np.arange(len(rec.samples) // 2), 2)
    left = (rec.samples["eye"] == "L").to_numpy()
    np.testing.assert_array_equal(rec.samples["xv"], np.where(left, k, k + 0.5))
    np.testing.assert_array_equal(rec.samples["yv"], np.where(left, -k, -k - 0.5))
    assert (rec.samples[["x_res", "y_res"]].drop_duplicates().values == [[35.24, 35.17]]).all()
    assert rec.blocks["layout"][0] == (
        "time x_L y_L pupil_L x_R y_R pupil_R xv_L yv_L xv_R yv_R x_res y_res flags"
    )


def test_remote_mode_target_columns(eyelink_dir, variant):
    def edit(data: bytes) -> bytes:
        def fields(f: list[str], k: int) -> list[str]:
            # As edf2asc writes remote mode: the target flags follow the distance after a space.
            return [*f[:4], f[4] + " ", f" {k:.1f}", " 6891.0", "  575.3 ............."]

        data = data.replace(b"SAMPLES\tGAZE\tLEFT", b"SAMPLES\tGAZE\tLEFT\tHTARGET")
        return _rewrite_samples(data, fields)

    rec = _read(variant(MONO, edit))
    plain = _read(eyelink_dir / MONO)
    pd.testing.assert_frame_equal(rec.samples[plain.samples.columns], plain.samples)
    np.testing.assert_array_equal(rec.samples["target_x"], np.arange(len(rec.samples)))
    assert set(rec.samples["target_distance"]) == {575.3}
    assert set(rec.samples["target_y"]) == {6891.0}


def test_event_resolution_columns(variant):
    def edit(data: bytes) -> bytes:
        return re.sub(rb"(?m)^((?:EFIX|ESACC) .*)$", rb"\1\t  35.24\t  35.17", data)

    rec = _read(variant(MONO, edit))
    for table in (rec.fixations, rec.saccades):
        assert table[["x_res", "y_res"]].drop_duplicates().values.tolist() == [[35.24, 35.17]]
    assert rec.fixations.iloc[0][["x", "y", "pupil"]].tolist() == [515.1, 396.3, 1050.0]


def test_input_column_of_samples(eyelink_dir):
    path = eyelink_dir / "pymovements/eyelink_monocular_2khz_example.asc"
    rec = _read(path)
    lines = [line.split("\t") for line in path.read_text().splitlines() if line[:1].isdigit()]
    np.testing.assert_array_equal(rec.samples["input"], [float(f[4]) for f in lines])
    assert rec.blocks["layout"][0] == "time x_L y_L pupil_L input flags"


def test_a_malformed_sample_in_a_real_file_is_dropped_and_named(eyelink_dir, variant):
    path = variant(MONO, lambda d: d.replace(b"7197000\t  516.", b"7197000\t  5x6."))
    with pytest.warns(UserWarning, match=r"Skipped 1 .* \(malformed sample line\): '7197000"):
        rec = read_asc(path)
    plain = _read(eyelink_dir / MONO)
    assert len(rec.samples) == len(plain.samples) - 1
    assert 7197000.0 not in rec.samples["time"].tolist()


def test_events_in_bulk_read_like_line_by_line(eyelink_dir, variant, monkeypatch):
    import eyetracking.asc._tables as tables

    def edit(data: bytes) -> bytes:
        data = data.replace(b"EFIX L   7197136", b"EFIX L   71971x6")  # malformed
        return re.sub(rb"(?m)^(ESACC .*)$", rb"\1\t  35.24\t  35.17", data, count=3)

    path = variant(MONO, edit)
    few = _read(path)
    monkeypatch.setattr(tables, "_FEW_EVENTS", 0)  # every event kind through pandas
    monkeypatch.setattr(asc_module, "_VECTOR_MIN", 0)  # prefix searches through Arrow
    with pytest.warns(UserWarning, match=r"Skipped 1 .*\(malformed EFIX line\): 'EFIX L   71971x6"):
        bulk = read_asc(path)
    _same_tables(bulk, few)
    for table in ("calibrations", "validations", "validation_points", "drift_checks"):
        pd.testing.assert_frame_equal(getattr(bulk, table), getattr(few, table))
    assert len(bulk.validation_points) == 13 and len(bulk.drift_checks) == 4
    assert len(bulk.fixations) == 11 and bulk.saccades["x_res"].notna().sum() == 3


def test_space_separated_samples_read_like_tab_separated(eyelink_dir, variant):
    # Other converters (and hand edits) separate sample fields with spaces.
    path = variant(BINO, lambda d: _rewrite_samples(d, lambda f, k: ["   ".join(f)]))
    _same_tables(_read(path), _read(eyelink_dir / BINO))


def test_binocular_remote_header_without_target_columns_reads_every_sample(eyelink_dir, variant):
    """A remote-mode SAMPLES line (HTARGET) over sample lines without target columns."""

    def edit(data: bytes) -> bytes:
        return data.replace(
            b"SAMPLES\tGAZE\tLEFT\tRIGHT\tRATE", b"SAMPLES\tGAZE\tLEFT\tRIGHT\tHTARGET\tRATE"
        )

    path = variant(BINO, edit)
    with pytest.warns(UserWarning) as caught:
        rec = read_asc(path)
    notes = [str(w.message) for w in caught if "HTARGET" in str(w.message)]
    # once per block, naming the file, the SAMPLES line and the first sample line
    assert notes == [
        f"variant.asc: the SAMPLES line at line {s} (recording block {b}) declares HTARGET "
        f"columns that its sample lines do not carry (first sample at line {f}): reading the "
        "samples as 'time x_L y_L pupil_L x_R y_R pupil_R flags'."
        for b, (s, f) in enumerate(_samples_and_first_sample_lines(path))
    ]
    assert not [w for w in caught if "Skipped" in str(w.message)]
    plain = _read(eyelink_dir / BINO)
    assert len(rec.samples) == len(plain.samples) > 0
    pd.testing.assert_frame_equal(rec.samples, plain.samples)
    # the values of the file's first sample line, read by hand
    first = rec.samples.iloc[:2]
    assert first["time"].tolist() == [5402374.0] * 2
    assert first[["x", "y", "pupil"]].values.tolist() == [
        [513.9, 391.2, 985.0],
        [517.1, 394.3, 906.0],
    ]


def _samples_and_first_sample_lines(path: Path) -> list[tuple[int, int]]:
    out, pending = [], None
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.startswith("SAMPLES"):
            pending = number
        elif pending is not None and line[:1].isdigit():
            out.append((pending, number))
            pending = None
    return out


class _NoCache(dict):
    """A layout cache that keeps nothing: every block decides its layout itself."""

    def __setitem__(self, key, value) -> None:
        pass


def _line_by_line(monkeypatch) -> None:
    """Switch off every bulk path of the reader: messages split and events parsed in
    Python, sample lines parsed one by one, prefix searches in Python, no layout cache."""
    import eyetracking.asc._samples as samples_module
    import eyetracking.asc._tables as tables

    def refuse(*args, **kwargs):
        raise ValueError("line by line")

    init = samples_module.SampleParser.__init__

    def no_cache(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        self._layouts = _NoCache()

    monkeypatch.setattr(tables, "_FEW_MESSAGES", 10**9)
    monkeypatch.setattr(tables, "_FEW_EVENTS", 10**9)
    monkeypatch.setattr(asc_module, "_VECTOR_MIN", 10**9)
    monkeypatch.setattr(samples_module, "_parse_fast", refuse)
    monkeypatch.setattr(samples_module.SampleParser, "__init__", no_cache)


def _all_bulk(monkeypatch) -> None:
    """Every bulk path on, however few the lines (Arrow messages, pandas events)."""
    import eyetracking.asc._tables as tables

    monkeypatch.setattr(tables, "_FEW_MESSAGES", 0)
    monkeypatch.setattr(tables, "_FEW_EVENTS", 0)
    monkeypatch.setattr(asc_module, "_VECTOR_MIN", 0)


def _read_all(path: Path, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = read_asc(path, **kwargs)
    return rec, [str(w.message) for w in caught]


def _same_recordings(a, b) -> None:
    (rec_a, notes_a), (rec_b, notes_b) = a, b
    assert notes_a == notes_b
    for table in (*TABLES, "calibrations", "validations", "validation_points", "drift_checks"):
        pd.testing.assert_frame_equal(getattr(rec_a, table), getattr(rec_b, table), obj=table)
    for name in ("display_size_px", "sample_rate_hz", "eyes", "lost", "header", "tracker_model"):
        assert getattr(rec_a, name) == getattr(rec_b, name), name


def _repeated(data: bytes, copies: int = 12) -> bytes:
    """The file's trials written ``copies`` times (enough lines for every bulk path)."""
    first = data.rindex(b"\n", 0, data.index(b"TRIALID")) + 1
    return data[:first] + data[first:] * copies


_VARIANTS = {
    "as-is": lambda d: d,
    "repeated-crlf": lambda d: _repeated(d).replace(b"\n", b"\r\n"),
    "missing-and-garbled": lambda d: re.sub(
        rb"(?m)^(\d+7)\t", rb"\1x\t", re.sub(rb"(?m)^(\d+[05])\t *[-\d.]+", rb"\1\t   .", d)
    ),
    "space-separated": lambda d: _rewrite_samples(d, lambda f, k: ["   ".join(f)]),
}


@pytest.mark.parametrize("edit", _VARIANTS.values(), ids=_VARIANTS.keys())
def test_bulk_paths_read_like_line_by_line(eyelink_dir, tmp_path, monkeypatch, edit):
    """Every real file, and variants of it, read the same with the bulk paths (pandas'
    and Arrow's parsers, the layout cache) as line by line in Python (catches a fast
    path that differs from the careful one in any value, dtype, row or warning)."""
    paths = []
    for k, name in enumerate(sorted(eyelink_dir.glob("*/*.asc"))):
        paths.append(tmp_path / f"{k}_{name.name}")
        paths[-1].write_bytes(edit(name.read_bytes()))
    with monkeypatch.context() as patch:
        _all_bulk(patch)
        bulk = [_read_all(path) for path in paths]
    with monkeypatch.context() as patch:
        _line_by_line(patch)
        careful = [_read_all(path) for path in paths]
    for path, a, b in zip(paths, bulk, careful, strict=True):
        try:
            _same_recordings(a, b)
        except AssertionError as err:
            raise AssertionError(f"{path.name}: {err}") from None
    default = [_read_all(path) for path in paths]
    for a, b in zip(default, careful, strict=True):
        _same_recordings(a, b)
