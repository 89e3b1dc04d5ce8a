"""Serial reproduction: chains converge on the planted map; sessions at once, killed, or cut off."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from eyetracking.protocol import ImagePlacement
from tasks.chains import SQLITE_NAME, open_chain_store
from tasks.config import ExperimentConfig
from tasks.runtime.participant import SimulatedParticipant
from tasks.runtime.responses import ResponseRequest, make_response
from tasks.serial_reproduction import (
    MEMORY_SD_DEG,
    TASK,
    chain_seeds,
    reproduction_target,
    run,
)

if TYPE_CHECKING:
    from conftest import PostgresServer

CONFIG = "serial_reproduction_simulated.toml"
#: Short phases for sessions in tests.
FAST = dict(fixation_duration_s=0.05, dot_duration_s=0.2, delay_s=0.1, iti_s=0.05)
FAST_TOML = "".join(f"{k} = {v}\n" for k, v in FAST.items())


def _reproduce(
    chains: list[tuple[int, int]],
    maps: np.ndarray,
    participant: SimulatedParticipant,
    generation: int,
) -> list[tuple[int, int]]:
    """One generation of every chain, through the task's request and the participant's click
    (a click off the image is asked again, as the task does)."""
    place = ImagePlacement.centered((1024, 768), (maps.shape[1], maps.shape[0]))
    sd_px = MEMORY_SD_DEG * participant.px_per_deg
    out = []
    for k, shown in enumerate(chains):
        participant.reseed(10_000 * generation + k)
        target = reproduction_target(maps, shown, memory_sd_px=sd_px)
        request = ResponseRequest("click", placement=place, image_id="img", target=target)
        while True:
            participant.begin(request, 0.0)
            made = make_response(request, participant.poll(1e9), 0.0, (96, 96))  # type: ignore[arg-type]
            if made is not None and made.image_x_px is not None:
                out.append((int(made.image_x_px), int(made.image_y_px)))  # type: ignore[arg-type]
                break
    return out


def test_chains_converge_on_the_planted_region() -> None:
    """Reproductions are pulled towards the planted map, so chains end inside it.

    A 96 x 96 image whose planted map is 1 on the top-left 32 x 32 px square R (area share
    a = 1/9) and 0 elsewhere; seeds on the task's 3 x 3 grid (16, 48, 80 px), ten chains per
    seed (n = 90), so the seed share inside R is 1/9 = a. Each chain runs 10 generations
    through :func:`reproduction_target` and the shared :class:`SimulatedParticipant` click
    (motor noise 0.3 deg, px_per_deg 27.8 as in lab_simulated.toml, scale 1).

    *What ignoring the map gives.* A participant whose prior is flat reproduces the shown
    position plus symmetric noise (memory and motor), a click off the image asked again;
    that kernel's stationary density is proportional to its mass on the image, lowest in
    the corners, and its chains start at the seed share a: the final share inside the
    corner square R has mean at most about a, and SD ``sqrt(a (1 - a) / n)`` = 0.033 over
    n chains. The test asks for 4 SD above a: ``share >= a + 4 sqrt(a (1 - a) / n)`` (0.24).

    *The model* predicts far more: its chains sample ``prior x (memory * prior)``, whose
    mass inside R is about 0.5 with the 0.1 floor, memory SD 1 deg (27.8 px) and motor noise.
    The same chains with a flat prior (a participant ignoring the map) are checked to fail.
    """
    planted = np.zeros((96, 96))
    planted[:32, :32] = 1.0
    inside = planted > 0
    seeds = [(x, y) for y in (16, 48, 80) for x in (16, 48, 80)] * 10
    a = float(np.mean(inside))
    assert np.mean([inside[y, x] for x, y in seeds]) == pytest.approx(a)
    threshold = a + 4 * np.sqrt(a * (1 - a) / len(seeds))

    def final_share(maps: np.ndarray) -> float:
        participant = SimulatedParticipant({"img": maps}, seed=5, px_per_deg=27.8)
        chains = seeds
        for generation in range(1, 11):
            chains = _reproduce(chains, maps, participant, generation)
        return float(np.mean([inside[y, x] for x, y in chains]))

    assert final_share(planted) >= threshold
    assert final_share(np.ones((96, 96))) < threshold  # a participant ignoring the map fails


def test_seed_grid_is_the_cell_centres(
    search_stimulus_set: Path, fast_config: Callable[..., ExperimentConfig]
) -> None:
    from stimuli import read_stimulus_set

    config = fast_config(search_stimulus_set, name=CONFIG, seed_grid=(3, 2))
    seeds = chain_seeds(config.task, read_stimulus_set(search_stimulus_set))
    assert len(seeds) == 3 * 6
    assert [(s.x_px, s.y_px) for s in seeds[:6]] == [
        (16, 24),
        (48, 24),
        (80, 24),
        (16, 72),
        (48, 72),
        (80, 72),
    ]
    assert seeds[0].chain_id == "beach-01"


def _command(config: Path, data: Path, participant: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "selectivity",
        "run",
        "serial-reproduction",
        "--config",
        str(config),
        "--participant",
        participant,
        "--data",
        str(data),
        "--windowed",
    ]


def _config_file(tmp_path: Path, repo_root: Path, stimulus_set: Path, extra: str) -> Path:
    path = tmp_path / "sr.toml"
    path.write_text(
        f'lab = "{repo_root / "configs" / "lab_simulated.toml"}"\n[task]\n'
        f'name = "serial-reproduction"\nstimulus_set = "{stimulus_set}"\nclick_timeout_s = 3.0\n'
        f"{FAST_TOML}{extra}",
        encoding="utf-8",
    )
    return path


@pytest.mark.window
@pytest.mark.slow
def test_three_participants_at_once_share_the_chains(
    repo_root: Path, search_stimulus_set: Path, tmp_path: Path
) -> None:
    """Three real ``selectivity run serial-reproduction`` processes on one data root at once,
    3 trials each, on 9 chains of 3 generations: no node is answered twice, each participant
    meets a chain once, every generation is shown the previous generation's answer (and the
    first its seed), and the database holds exactly the rows of the three trials.tsv."""
    config = _config_file(
        tmp_path, repo_root, search_stimulus_set, "trials = 3\ngenerations = 3\nseed = 3\n"
    )
    data = tmp_path / "data"
    procs = [
        subprocess.Popen(
            _command(config, data, p), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for p in ("01", "02", "03")
    ]
    outs = [p.communicate(timeout=300)[0].decode(errors="replace") for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    rows = pd.concat(
        [
            pd.read_csv(
                data / f"sub-{p}" / "ses-1" / "serial-reproduction" / "trials.tsv", sep="\t"
            ).assign(participant=p)
            for p in ("01", "02", "03")
        ]
    )
    assert len(rows) == 9 and (rows["accepted"] == 1).all()
    assert not rows.duplicated(["chain_id", "generation"]).any()
    assert not rows.duplicated(["participant", "chain_id"]).any()
    store = open_chain_store("", data_root=data, study="serial-reproduction", lease_s=1)
    seeds = {c["chain_id"]: (c["seed_x_px"], c["seed_y_px"]) for c in store.chains()}
    nodes = pd.DataFrame(store.nodes())
    assert sorted(
        zip(nodes["chain_id"], nodes["generation"], nodes["response_x_px"], strict=True)
    ) == sorted(zip(rows["chain_id"], rows["generation"], rows["response_x_px"], strict=True))
    by_node = rows.set_index(["chain_id", "generation"])
    for (chain_id, generation), row in by_node.iterrows():
        if generation == 1:
            shown = seeds[chain_id]
        else:
            assert (chain_id, generation - 1) in by_node.index  # the chains have no gaps
            before = by_node.loc[(chain_id, generation - 1)]
            shown = (before["response_x_px"], before["response_y_px"])
        assert (row["shown_x_px"], row["shown_y_px"]) == shown
    assert all(c["lease_token"] is None for c in store.chains())


def _rows(path: Path) -> int:
    return max(0, len(path.read_text().splitlines()) - 1) if path.exists() else 0


@pytest.mark.window
@pytest.mark.slow
def test_killed_session_resumes_without_answering_a_node_twice(
    repo_root: Path, search_stimulus_set: Path, tmp_path: Path
) -> None:
    """SIGKILL once trial 3 is written, then --resume: the killed trial's head was claimed
    and is released by the resume (outcome ``released``), never answered; the participant's
    six answers are six nodes of six different chains, each once, and the resumed trial
    met a chain other than the one it was killed on."""
    config = _config_file(
        tmp_path, repo_root, search_stimulus_set, "trials = 6\nseed = 4\nlease_s = 600\n"
    )
    data = tmp_path / "data"
    trials_tsv = data / "sub-01" / "ses-1" / "serial-reproduction" / "trials.tsv"
    proc = subprocess.Popen(
        _command(config, data, "01"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    store = open_chain_store("", data_root=data, study="serial-reproduction", lease_s=600)
    try:
        deadline = time.monotonic() + 180
        # kill while trial 4 holds its head (so the kill leaves a live lease behind)
        while proc.poll() is None and time.monotonic() < deadline:
            started = _rows(trials_tsv) >= 3 and (data / SQLITE_NAME).exists()
            if started and any(c["trial_id"] == 4 for c in store.claims()):
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        out = proc.communicate(timeout=30)[0].decode(errors="replace")
    assert proc.returncode == -signal.SIGKILL, out
    killed = [c for c in store.claims() if c["trial_id"] == 4]
    assert len(killed) == 1 and killed[0]["outcome"] is None  # held when killed
    resumed = subprocess.run(
        [*_command(config, data, "01"), "--resume"], capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    trials = pd.read_csv(trials_tsv, sep="\t")
    assert list(trials["trial_id"]) == list(range(1, 7))
    claims = store.claims()
    fourth = [c for c in claims if c["trial_id"] == 4]
    assert [c["outcome"] for c in fourth] == ["released", "answered"]
    assert fourth[0]["chain_id"] != fourth[1]["chain_id"]
    nodes = store.nodes()
    assert sorted(n["trial_id"] for n in nodes) == list(range(1, 7))
    assert len({n["chain_id"] for n in nodes}) == 6
    assert list(trials["chain_id"]) == [
        {n["trial_id"]: n["chain_id"] for n in nodes}[t] for t in range(1, 7)
    ]
    assert all(c["lease_token"] is None for c in store.chains())


@pytest.mark.window
def test_lost_database_pauses_the_session_and_resume_completes_it(
    fast_config: Callable[..., ExperimentConfig], search_stimulus_set: Path, tmp_path: Path
) -> None:
    """The SQLite file disappears after trial 2: the session ends ``paused`` with its finished
    trials kept (and no empty database made in its place); once the file is back,
    ``resume=True`` completes the session, each trial answered once."""
    config = fast_config(search_stimulus_set, name=CONFIG, trials=4, click_timeout_s=3.0, **FAST)
    data = tmp_path / "data"
    db = data / SQLITE_NAME
    trials_tsv = data / "sub-01" / "ses-1" / "serial-reproduction" / "trials.tsv"
    away = tmp_path / "away.sqlite"

    def cut() -> None:
        deadline = time.monotonic() + 120
        while _rows(trials_tsv) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        db.rename(away)

    cutter = threading.Thread(target=cut, daemon=True)
    cutter.start()
    with pytest.warns(UserWarning, match="freed when their leases expire"):
        folder = run(config, participant="01", data_root=data, windowed=True)
    cutter.join()
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "paused" and "chain database lost" in info["paused_because"]
    done = pd.read_csv(trials_tsv, sep="\t")
    assert 2 <= len(done) < 4 and not db.exists()
    away.rename(db)
    run(config, participant="01", data_root=data, windowed=True, resume=True)
    trials = pd.read_csv(trials_tsv, sep="\t")
    assert list(trials["trial_id"]) == [1, 2, 3, 4]
    assert json.loads((folder / "session.json").read_text())["status"] == "completed"
    nodes = open_chain_store("", data_root=data, study="simulated", lease_s=1).nodes()
    assert sorted(n["trial_id"] for n in nodes) == [1, 2, 3, 4]
    assert list(trials.columns) == list(TASK.trial_columns)


@pytest.mark.window
def test_database_locked_past_the_timeout_pauses_and_resume_completes(
    fast_config: Callable[..., ExperimentConfig],
    search_stimulus_set: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Fault: another process takes the SQLite file's exclusive lock after trial 2 and holds
    it past the busy timeout (shortened to 0.5 s here). Catches: a session that hangs, crashes
    or loses a trial instead of ending ``paused`` with a message naming the database and what
    to do; a head left claimed for ever; a resume (once the lock is gone) that loses or
    doubles a node."""
    import tasks.chains._dialect as dialect

    monkeypatch.setattr(dialect, "SQLITE_BUSY_S", 0.5)
    config = fast_config(search_stimulus_set, name=CONFIG, trials=4, click_timeout_s=3.0, **FAST)
    data = tmp_path / "data"
    db = data / SQLITE_NAME
    trials_tsv = data / "sub-01" / "ses-1" / "serial-reproduction" / "trials.tsv"
    hold = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
        "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.read()"
    )
    holder: list[subprocess.Popen[str]] = []

    def lock() -> None:
        deadline = time.monotonic() + 120
        while _rows(trials_tsv) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        proc = subprocess.Popen([sys.executable, "-c", hold, str(db)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
        holder.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"

    locker = threading.Thread(target=lock, daemon=True)
    locker.start()
    try:
        with pytest.warns(UserWarning, match="freed when their leases expire"):
            folder = run(config, participant="01", data_root=data, windowed=True)
        locker.join()
        info = json.loads((folder / "session.json").read_text())
        assert info["status"] == "paused" and "locked by another process" in info["paused_because"]
        err = capsys.readouterr().err
        assert str(db) in err and "continue with --resume" in err
        assert 2 <= len(pd.read_csv(trials_tsv, sep="\t")) < 4
    finally:
        for proc in holder:  # the other program lets go of the file
            proc.communicate("", timeout=30)
    run(config, participant="01", data_root=data, windowed=True, resume=True)
    trials = pd.read_csv(trials_tsv, sep="\t")
    assert list(trials["trial_id"]) == [1, 2, 3, 4]
    assert json.loads((folder / "session.json").read_text())["status"] == "completed"
    store = open_chain_store("", data_root=data, study="simulated", lease_s=1)
    nodes = store.nodes()
    assert sorted(n["trial_id"] for n in nodes) == [1, 2, 3, 4]  # each once, none lost
    assert len({(n["chain_id"], n["generation"]) for n in nodes}) == 4
    assert all(c["lease_token"] is None for c in store.chains())  # no head left claimed
    assert all(c["outcome"] is not None for c in store.claims())


def _with_chains(config: ExperimentConfig, url: str) -> ExperimentConfig:
    """``config`` with its lab's chains in the database ``url``."""
    chains = dataclasses.replace(config.lab.chains, url=url)
    return dataclasses.replace(config, lab=dataclasses.replace(config.lab, chains=chains))


@pytest.mark.window
def test_postgres_server_stopped_mid_session_pauses_and_resume_completes(
    fast_config: Callable[..., ExperimentConfig],
    search_stimulus_set: Path,
    tmp_path: Path,
    postgres_server: PostgresServer,
    quick_answers: float,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Fault: the lab's PostgreSQL server stops (``pg_ctl stop -m immediate``, a real outage)
    once trial 2 is on disk, while trial 3 holds its chain's head, before its answer is sent.
    Catches: a session that crashes (a traceback) or hangs instead of ending ``paused`` with
    a message naming the server (host, port, database) and what to do; a finished trial or
    the eye data lost; a resume that runs while the server is still down (it must be refused
    before anything changes); a resume, once the server is back, that loses or doubles a
    node, or leaves the head the interrupted trial held claimed for ever."""
    from analysis.sessions import load_session
    from eyetracking import read_asc
    from selectivity.tsv import read_table
    from tasks.chains import ChainStore, ChainStoreLostError

    base = fast_config(search_stimulus_set, name=CONFIG, trials=3, click_timeout_s=3.0, **FAST)
    data = tmp_path / "data"
    trials_tsv = data / "sub-01" / "ses-1" / "serial-reproduction" / "trials.tsv"
    server = f"server 127.0.0.1, port {postgres_server.port}, database "
    answer, answers = ChainStore.answer, []

    def answer_after_outage(self: ChainStore, *args: object, **kwargs: object) -> bool:
        answers.append(args)
        if len(answers) == 3:  # trial 3 claimed its head (trials 1 and 2 are on disk)
            assert _rows(trials_tsv) == 2
            postgres_server.stop()
        return answer(self, *args, **kwargs)  # type: ignore[arg-type]

    with postgres_server.database() as url:
        config = _with_chains(base, url)
        database = url.rsplit("/", 1)[1]
        with monkeypatch.context() as patch:
            patch.setattr(ChainStore, "answer", answer_after_outage)
            with pytest.warns(UserWarning, match="freed when their leases expire"):
                folder = run(config, participant="01", data_root=data, windowed=True)
        info = json.loads((folder / "session.json").read_text())
        assert info["status"] == "paused", info
        assert "chain database lost" in info["paused_because"]
        err = capsys.readouterr().err
        assert server + database in err and "start the PostgreSQL server" in err
        assert "continue with --resume" in err and "Traceback" not in err
        assert list(read_table(trials_tsv)["trial_id"]) == [1, 2]
        recording = read_asc(folder / "eye" / "01s1.asc")  # the eye data, trial 3's begun
        assert list(recording.trials["trial_id"].astype(int)) == [1, 2, 3]
        assert list(load_session(folder).trials["trial_id"]) == [1, 2]

        # --resume while the server is still down: refused before anything changes
        with pytest.raises(ChainStoreLostError, match="The session did not start") as refused:
            run(config, participant="01", data_root=data, windowed=True, resume=True)
        assert server + database in str(refused.value)
        assert json.loads((folder / "session.json").read_text()) == info

        postgres_server.start()
        run(config, participant="01", data_root=data, windowed=True, resume=True)
        info = json.loads((folder / "session.json").read_text())
        assert info["status"] == "completed"
        assert info["eye_files"] == ["eye/01s1.asc", "eye/01s1r1.asc"]
        trials = read_table(trials_tsv)
        assert list(trials["trial_id"]) == [1, 2, 3]
        store = open_chain_store(url, data_root=data, study="simulated", lease_s=1)
        nodes = store.nodes()
        assert sorted(n["trial_id"] for n in nodes) == [1, 2, 3]  # each once, none lost
        assert len({(n["chain_id"], n["generation"]) for n in nodes}) == 3
        assert list(trials["chain_id"]) == [
            {n["trial_id"]: n["chain_id"] for n in nodes}[t] for t in (1, 2, 3)
        ]
        third = [c for c in store.claims() if c["trial_id"] == 3]
        assert [c["outcome"] for c in third] == ["released", "answered"]  # the held head freed
        assert third[0]["chain_id"] != third[1]["chain_id"]  # a chain met is not met again
        assert all(c["lease_token"] is None for c in store.chains())
        assert all(c["outcome"] is not None for c in store.claims())


@contextlib.contextmanager
def _loopback_port(*, listen: bool) -> Iterator[int]:
    """A loopback port held for the block: refusing connections (a stopped server), or
    accepting them and never answering (``listen``: a server that hangs)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        if listen:
            sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("kind", ["stopped", "silent"])
def test_unreachable_postgres_server_refuses_the_session_before_its_first_trial(
    fast_config: Callable[..., ExperimentConfig],
    search_stimulus_set: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    """Fault: the chain server is down (nothing listens on its port) or hangs (it accepts the
    connection and never answers) when a session starts. Catches: a session that starts
    (a folder written, a window opened) without its chains; one that waits for ever on a
    silent server (the connection timeout, shortened to 2 s here); a refusal that does not
    name the server or say what to do, or is not the command line's one-line error."""
    pytest.importorskip("psycopg", reason="psycopg 3 is needed to talk to PostgreSQL")
    import tasks.chains._dialect as dialect
    from selectivity.cli._errors import report_user_errors

    monkeypatch.setattr(dialect, "PG_CONNECT_TIMEOUT_S", 2)
    data = tmp_path / "data"
    with _loopback_port(listen=kind == "silent") as port:
        url = f"postgresql://postgres@127.0.0.1:{port}/lab"
        config = _with_chains(fast_config(search_stimulus_set, name=CONFIG, **FAST), url)
        status = report_user_errors(lambda: run(config, participant="01", data_root=data))
    assert status == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("selectivity: error: Cannot connect to the chain database")
    assert f"(server 127.0.0.1, port {port}, database lab)" in line
    assert "did not start" in line and "start the PostgreSQL server" in line
    assert not data.exists()  # nothing was written: the same command runs once it is back


@pytest.mark.window
def test_lab_config_runs_with_eyelink_in_dummy_mode(
    fast_config: Callable[..., ExperimentConfig],
    search_stimulus_set: Path,
    tmp_path: Path,
    pressing: Callable[..., object],
) -> None:
    """configs/serial_reproduction.toml (EyeLink) runs on pylink's dummy connection; a person
    (xdotool) presses SPACE and clicks where the mouse is, the trials end by click or deadline."""
    pytest.importorskip("pylink")
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is needed to answer in the window")
    config = fast_config(
        search_stimulus_set,
        name="serial_reproduction.toml",
        trials=2,
        practice_trials=0,
        click_timeout_s=0.5,
        drift_check_every=0,
        **FAST,
    )
    assert config.lab.tracker.kind == "eyelink"
    lab = dataclasses.replace(
        config.lab, tracker=dataclasses.replace(config.lab.tracker, dummy=True)
    )
    with pressing("space", click=True):  # type: ignore[attr-defined]
        folder = run(
            dataclasses.replace(config, lab=lab),
            participant="04",
            data_root=tmp_path,
            windowed=True,
        )
    info = json.loads((folder / "session.json").read_text())
    assert info["status"] == "completed" and info["simulated"] is False
    trials = pd.read_csv(folder / "trials.tsv", sep="\t")
    assert list(trials["trial_id"]) == [1, 2]
    assert (trials["generation"] == 1).all()
