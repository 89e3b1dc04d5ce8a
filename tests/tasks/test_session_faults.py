"""Faults injected into real sessions: a second process and a second station on the same
session (the lock), a power loss that cuts the last line of trials.tsv, a full disk, and a
damaged or changed stimulus set. Each test then finds every finished trial on disk."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

import tasks.runtime.setup as setup
from eyetracking import read_asc
from eyetracking.trackers import SimulatedFaults
from selectivity.tsv import TsvCutLineWarning, read_table
from tasks import SessionLockedError, StimulusCheckError, load_config, run_task
from tasks.free_viewing import run

pytestmark = [pytest.mark.window, pytest.mark.slow]

#: Three short free-viewing trials (the search set's 3 images).
_SETTINGS = "image_duration_s = 0.6\nfixation_duration_s = 0.2\niti_s = 0.1\nseed = 11\n"
#: ``selectivity run ...`` twice in one process (PsychoPy imported once): as given (expected to
#: be refused, status 2), then with --break-lock; their stderr parts split by a marker line.
_TWICE = (
    "import sys; from selectivity.cli import main; first = main(sys.argv[1:]); "
    "print('--- then with --break-lock', file=sys.stderr, flush=True); "
    "sys.exit(main([*sys.argv[1:], '--break-lock']) if first == 2 else 100 + first)"
)


def _config(repo_root: Path, stimulus_set: Path, folder: Path) -> Path:
    path = folder / "task.toml"
    path.write_text(
        f'lab = "{repo_root / "configs" / "lab_simulated.toml"}"\n[task]\n'
        f'name = "free-viewing"\nstimulus_set = "{stimulus_set}"\n{_SETTINGS}',
        encoding="utf-8",
    )
    return path


def _command(config: Path, data: Path) -> list[str]:
    return [sys.executable, "-m", "selectivity", "run", "free-viewing", "--config", str(config),
            "--participant", "01", "--data", str(data), "--windowed"]  # fmt: skip


def _rows(path: Path) -> int:
    return path.read_bytes().count(b"\n") - 1 if path.exists() else 0


def _ids(path: Path) -> list[int]:
    return [int(i) for i in read_table(path)["trial_id"]]


def _station(name: str) -> list[str] | None:
    """The start of a command line that runs a command on another "station": a process in its
    own UTS namespace named ``name`` (``unshare -u`` as root, ``unshare -ru`` as a user)."""
    if shutil.which("unshare") is None:
        return None
    for flags in ("-u", "-ru"):
        probe = subprocess.run(["unshare", flags, "sh", "-c", f"hostname {name} && hostname"],
                               capture_output=True, text=True, check=False)  # fmt: skip
        if probe.returncode == 0 and probe.stdout.strip() == name:
            return ["unshare", flags, "sh", "-c", f'hostname {name} && exec "$@"', "station"]
    return None


def test_lock_refuses_a_second_process_and_station_and_resume_reports_a_cut_line(
    repo_root: Path, search_stimulus_set: Path, tmp_path: Path
) -> None:
    """Faults: (1) a second process (this one) opens a running session; (2) its station loses
    power (SIGKILL) mid-line, leaving trials.tsv with a cut last line whose fields still fit
    the header; (3) another station (its own UTS namespace and host name, the same data root)
    resumes the session, then resumes it with --break-lock.

    Catches: a second writer let in (no lock, or a lock judged by pid alone across hosts); a
    refusal that does not say who holds the session and what to do; a foreign lock taken over
    without --break-lock; the cut row silently used by load_session/load_study (it would be
    read as a trial, its eye_file value cut) or silently dropped on resume (no warning, nothing
    in session.json); a lost or repeated trial after the takeover; a lock left behind."""
    station = _station("station2")
    if station is None:
        pytest.skip("no UTS namespace for a second station (unshare -u / -ru refused)")
    from analysis import load_session
    from analysis.study import load_study

    config = _config(repo_root, search_stimulus_set, tmp_path)
    data = tmp_path / "data"
    command = _command(config, data)
    folder = data / "sub-01" / "ses-1" / "free-viewing"
    trials_tsv = folder / "trials.tsv"
    host = socket.gethostname()

    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while _rows(trials_tsv) < 1 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(first.pid, signal.SIGSTOP)  # alive, holding the session, deterministically
        assert first.poll() is None, first.communicate()[0]
        held = rf"host '{host}', pid {first.pid}, since \S+"
        with pytest.raises(
            SessionLockedError, match=rf"in another process on this station \({held}"
        ):
            run_task(load_config(config), participant="01", data_root=data, resume=True)
    finally:
        os.kill(first.pid, signal.SIGKILL)  # the first station loses power
        first.communicate(timeout=30)

    done = _ids(trials_tsv)
    assert done == list(range(1, len(done) + 1)) and 1 <= len(done) < 3
    last = trials_tsv.read_text().splitlines()[-1].split("\t")
    cut = "\t".join([str(len(done) + 1), *last[1:]])[:-3]  # cut inside eye_file: fields fit
    with open(trials_tsv, "a", encoding="utf-8") as f:
        f.write(cut)
    line = len(done) + 2
    with pytest.warns(TsvCutLineWarning, match=rf"trials\.tsv, line {line}: the last line was cut"):
        session = load_session(folder)
    assert list(session.trials["trial_id"]) == done
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = load_study(data, stimulus_set=search_stimulus_set)
    assert any(f"trials.tsv, line {line}: the last line was cut" in w for w in study.warnings)

    # the other station: refused (its pid check cannot see this host), then told to break it
    other = subprocess.run([*station, sys.executable, "-c", _TWICE, *command[3:], "--resume"],
                           capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert other.returncode == 0, other.stdout + other.stderr
    refused, resumed = other.stderr.split("--- then with --break-lock")
    assert f"is open on another station (host '{host}', pid {first.pid}, since" in refused
    assert "continue it here with --resume --break-lock" in refused
    assert f"took over the lock of {folder} (host '{host}', pid {first.pid}" in resumed
    assert f"trials.tsv, line {line} was cut short" in resumed
    assert _ids(trials_tsv) == [1, 2, 3]
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    run = info["resumes"][0]
    assert run["after_trials"] == len(done)
    assert run["lock_taken_over"]["host"] == host and run["lock_taken_over"]["pid"] == first.pid
    assert "--break-lock" in run["lock_taken_over"]["why"]
    assert run["cut_lines"][0]["line"] == line
    assert Path(run["cut_lines"][0]["moved_to"]).read_text() == cut
    assert not (folder / "session.lock").exists()


def _namespace_with_tmpfs(mount: Path) -> str | None:
    """``-m`` or ``-rm``: the unshare flags under which a tmpfs can be mounted on ``mount``."""
    if shutil.which("unshare") is None:
        return None
    for flags in ("-m", "-rm"):
        mounting = f"mount -t tmpfs -o size=1m x {mount}"
        probe = subprocess.run(["unshare", flags, "sh", "-c", mounting], capture_output=True,
                               check=False)  # fmt: skip
        if probe.returncode == 0:
            return flags
    return None


def test_full_disk_ends_the_session_cleanly_and_it_resumes_once_there_is_space(
    repo_root: Path, search_stimulus_set: Path, tmp_path: Path
) -> None:
    """Fault: the data root is a 4 MB tmpfs (a private mount namespace) that a ballast file
    fills completely once trial 1 is on disk; then the ballast goes and the session resumes
    (both runs through ``selectivity.cli.main`` in one process in that namespace).

    Catches: a traceback instead of the message (which folder, how many trials, free space
    and --resume) on stderr; a second error out of the session's or the tracker's closing
    (session.json unwritable, the tracker's last block); a half-written row left in
    trials.tsv; finished trials lost; a resume that repeats or skips a trial."""
    mount, out = tmp_path / "disk", tmp_path / "out"
    mount.mkdir()
    out.mkdir()
    flags = _namespace_with_tmpfs(mount)
    if flags is None:
        pytest.skip("no private mount namespace with a tmpfs (unshare -m / -rm refused)")
    config = _config(repo_root, search_stimulus_set, tmp_path)
    helper = Path(__file__).with_name("full_disk_session.py")
    script = f'mount -t tmpfs -o size=4m tmpfs {mount} && exec "$@"'
    subprocess.run(["unshare", flags, "sh", "-c", script, "sh", sys.executable, str(helper),
                    str(mount), str(out), "1", *_command(config, mount)[3:]],
                   check=True, timeout=400)  # fmt: skip
    result = json.loads((out / "result.json").read_text())
    first, resume = result["first"], result["resume"]
    assert first["rc"] == 0, first["stderr"]
    assert "Traceback" not in first["stderr"], first["stderr"]
    full = out / "full"
    saved = _ids(full / "trials.tsv")
    assert saved == list(range(1, len(saved) + 1)) and 1 <= len(saved) < 3
    assert (full / "trials.tsv").read_bytes().endswith(b"\n")  # no half-written row
    assert (
        f"the disk holding {result['folder']} is full" in first["stderr"]
        and f"{len(saved)} finished trials are saved there" in first["stderr"]
        and "free space on that disk, then continue with --resume" in first["stderr"]
    ), first["stderr"]
    # either written as paused, or left running (unwritable then): both resume as interrupted
    assert json.loads((full / "session.json").read_text())["status"] in ("paused", "running")
    with warnings.catch_warnings():  # the tracker's last block may be cut: read_asc says so
        warnings.simplefilter("ignore")
        assert set(saved) <= set(read_asc(full / "eye" / "01s1.asc").trials["trial_id"])

    assert resume["rc"] == 0, resume["stdout"] + resume["stderr"]
    done = out / "resumed"
    assert _ids(done / "trials.tsv") == [1, 2, 3]
    frames = read_table(done / "frames.tsv")
    assert set(frames["trial_id"]) == {1, 2, 3}
    assert not frames.duplicated(["trial_id", "phase"]).any()  # nothing of a failed trial kept
    info = json.loads((done / "session.json").read_text())
    assert info["status"] == "completed"
    assert info["resumes"][0]["after_trials"] == len(saved)
    later = set(read_asc(done / "eye" / "01s1r1.asc").trials["trial_id"])
    assert later == set(range(len(saved) + 1, 4))
    assert not (done / "session.lock").exists()


def _with_faults(monkeypatch: pytest.MonkeyPatch, faults: SimulatedFaults) -> None:
    original = setup.open_tracker

    def open_with_faults(kind: str, **options: Any) -> Any:
        return original(kind, faults=faults, **options)

    monkeypatch.setattr(setup, "open_tracker", open_with_faults)


def _flip_bytes(path: Path, image_id: str) -> None:
    """Flip 16 bytes in the middle of the stored data of image ``image_id``."""
    with h5py.File(path, "r") as file:
        data = file["images"][image_id]
        if data.chunks is None:
            offset, size = data.id.get_offset(), data.id.get_storage_size()
        else:
            chunk = data.id.get_chunk_info(0)
            offset, size = chunk.byte_offset, chunk.size
    with open(path, "r+b") as f:
        f.seek(offset + size // 2)
        block = f.read(16)
        f.seek(offset + size // 2)
        f.write(bytes(b ^ 0xFF for b in block))


def test_stimulus_set_is_checked_before_the_first_trial_and_on_resume(
    tmp_path: Path, search_stimulus_set: Path, fast_config, monkeypatch
) -> None:
    """Faults: the stimulus-set file cut to half its length, 16 flipped bytes in an image's
    data, a shown map rewritten between a session's runs; then ``human/*`` maps added by an
    analysis between runs.

    Catches: a trial shown (or a session folder made) from a damaged set; a message that does
    not name the file and what differs; a resume allowed with a changed map (checksums not
    recorded, or not compared); a resume refused because the file gained maps the task never
    shows (a whole-file hash)."""
    from stimuli import add_maps

    path = tmp_path / "set.h5"
    shutil.copy(search_stimulus_set, path)
    pristine = path.read_bytes()
    config = fast_config(path)
    data = tmp_path / "d"

    path.write_bytes(pristine[: len(pristine) // 2])
    with pytest.raises(StimulusCheckError, match=rf"{path}.*cut short"):
        run(config, participant="02", data_root=data, windowed=True)
    path.write_bytes(pristine)
    _flip_bytes(path, "kitchen")
    with pytest.raises(StimulusCheckError, match=rf"{path} is damaged at image 'kitchen'"):
        run(config, participant="02", data_root=data, windowed=True)
    assert not data.exists()  # refused before a session folder was made

    path.write_bytes(pristine)
    with monkeypatch.context() as patch:
        _with_faults(patch, SimulatedFaults(lose_link_at_trial=2))
        folder = run(config, participant="01", data_root=data, windowed=True)
    info = json.loads((folder / "session.json").read_text())
    sums = info["stimulus_checksums"]
    with h5py.File(path, "r") as file:
        table = dict(zip(file["stimuli"]["id"].asstr()[()], file["stimuli"]["sha256"].asstr()[()],
                         strict=True))  # fmt: skip
    assert sums["images"] == table
    assert set(sums["maps"]) == {"simulation/truth", "target/region"}
    assert set(sums["maps"]["simulation/truth"]) == {"beach", "kitchen", "street"}

    with h5py.File(path, "r+") as file:
        planted = file["maps"]["simulation/truth"]["beach"]
        planted[...] = np.flipud(planted[()])
    before = [(folder / n).read_bytes() for n in ("session.json", "trials.tsv")]
    with pytest.raises(
        StimulusCheckError,
        match=rf"{path} differs from the one this session started with \(maps "
        r"'simulation/truth' of 'beach' changed \(sha256 ",
    ):
        run(config, participant="01", data_root=data, resume=True, windowed=True)
    assert [(folder / n).read_bytes() for n in ("session.json", "trials.tsv")] == before
    assert not (folder / "eye" / "01s1r1.asc").exists() and not (folder / "session.lock").exists()

    path.write_bytes(pristine)
    add_maps(path, "human/free-viewing", {i: np.ones((96, 96)) for i in table},
             provenance={"method": "an analysis, after the first run"})  # fmt: skip
    run(config, participant="01", data_root=data, resume=True, windowed=True)
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed"
    assert _ids(folder / "trials.tsv") == [1, 2, 3]
    assert "matches" in info["resumes"][0]["stimulus_check"]
