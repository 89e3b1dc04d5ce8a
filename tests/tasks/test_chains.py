"""The chain store on SQLite and on a real PostgreSQL server: claims, leases, answers, processes."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from tasks.chains import (
    SQLITE_NAME,
    ChainLayoutError,
    ChainSeed,
    ChainStore,
    ChainStoreLostError,
    open_chain_store,
)
from tasks.config import ConfigError, load_lab_config

if TYPE_CHECKING:
    from conftest import PostgresServer

SEEDS = [ChainSeed(f"img-{k:02d}", "img", 10 * k, 5 * k) for k in range(1, 5)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty url (SQLite in ``tmp_path``) or a fresh database on the test server."""
    if request.param == "sqlite":
        yield ""
        return
    server = request.getfixturevalue("postgres_server")
    with server.database() as database:
        yield database


def _store(url: str, root: Path, *, lease_s: float = 60.0) -> ChainStore:
    store = open_chain_store(url, data_root=root, study="test", lease_s=lease_s)
    store.ensure_chains(SEEDS, generations=3)
    return store


def _rng(k: int = 0) -> np.random.Generator:
    return np.random.default_rng(k)


def test_claims_are_balanced_met_once_and_answers_chain(url: str, tmp_path: Path) -> None:
    """Four chains: four participants' first claims take four different chains (a held head
    is not offered); each answer is what the chain's next generation is shown; a
    participant who met a chain is not offered it again; the least-advanced chain goes first."""
    store = _store(url, tmp_path)
    first = [store.claim(participant=p, session="1", trial_id=1, rng=_rng()) for p in "abcd"]
    assert all(c is not None for c in first)
    assert sorted(c.chain_id for c in first if c) == [s.chain_id for s in SEEDS]
    assert store.claim(participant="e", session="1", trial_id=1, rng=_rng()) is None  # all held
    by_chain = {s.chain_id: s for s in SEEDS}
    for c in first:
        assert c is not None and c.generation == 1
        assert (c.shown_x_px, c.shown_y_px) == (
            by_chain[c.chain_id].x_px,
            by_chain[c.chain_id].y_px,
        )
    a = first[0]
    assert a is not None and store.answer(a, 7, 9, {"x": 1})
    assert not store.answer(a, 8, 8, {"x": 2})  # a node is answered once
    # "a" has met a's chain: it gets none of the held ones, and never a's chain again
    assert store.claim(participant="a", session="1", trial_id=2, rng=_rng()) is None
    nxt = store.claim(participant="e", session="1", trial_id=1, rng=_rng())
    assert nxt is not None and nxt.chain_id == a.chain_id and nxt.generation == 2
    assert (nxt.shown_x_px, nxt.shown_y_px) == (7, 9)
    # the other three are released: being less advanced (0 answers), they go before a's
    for c in first[1:]:
        assert c is not None
        store.release(c)
    again = store.claim(participant="f", session="1", trial_id=1, rng=_rng())
    assert again is not None and again.generation == 1 and again.chain_id != a.chain_id
    assert store.answered_row(participant="a", session="1", trial_id=1) == {"x": 1}
    outcomes = sorted(str(c["outcome"]) for c in store.claims())
    assert outcomes == ["None", "None", "answered", "released", "released", "released"]


def test_released_session_heads_and_rejected_late_answer(url: str, tmp_path: Path) -> None:
    """release_session frees every unanswered head of a session; an answer whose head another
    participant holds now (the first lease expired) is refused and the chain stays as it is."""
    store = _store(url, tmp_path, lease_s=0.2)
    c = store.claim(participant="a", session="1", trial_id=1, rng=_rng())
    assert c is not None
    deadline = time.monotonic() + 30
    other = None
    while other is None or other.chain_id != c.chain_id:
        assert time.monotonic() < deadline, "the lease never expired"
        if other is not None:
            store.release(other)
        time.sleep(0.05)
        other = store.claim(participant="b", session="1", trial_id=1, rng=_rng())
    store.lease_s = 60.0
    assert not store.answer(c, 1, 1, {})  # b holds the head now
    assert [n for n in store.nodes()] == []
    assert store.release_session(participant="b", session="1") == 1
    chain = {ch["chain_id"]: ch for ch in store.chains()}[c.chain_id]
    assert chain["lease_token"] is None and chain["answered"] == 0


def test_layout_change_is_refused(url: str, tmp_path: Path) -> None:
    _store(url, tmp_path)
    store = open_chain_store(url, data_root=tmp_path, study="test", lease_s=5)
    with pytest.raises(ChainLayoutError, match=r"other chains for the study 'test'"):
        store.ensure_chains(SEEDS[:2], generations=3)
    other = open_chain_store(url, data_root=tmp_path, study="other", lease_s=5)
    assert other.ensure_chains(SEEDS[:2], generations=3)  # another study: its own chains


def _worker(url: str, root: str, name: str, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    """Claim and answer until no chain is free for ``name``; report every accepted answer."""
    store = open_chain_store(url, data_root=Path(root), study="test", lease_s=60)
    store.ensure_chains(SEEDS, generations=3)
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    answered = []
    for trial in range(1, 100):
        claim = store.claim(participant=name, session="1", trial_id=trial, rng=rng)
        if claim is None:
            break
        x, y = claim.shown_x_px + 1, claim.shown_y_px + 2
        if store.answer(claim, x, y, {"by": name}):
            answered.append((claim.chain_id, claim.generation, claim.shown_x_px,
                             claim.shown_y_px, x, y))  # fmt: skip
    queue.put((name, answered))


def test_processes_claiming_at_once_take_no_node_twice_and_lose_no_answer(
    url: str, tmp_path: Path
) -> None:
    """Six real processes claim and answer 4 chains x 3 generations at once. Every node is
    answered exactly once, every accepted answer is in the database, and each generation was
    shown the previous generation's answer (the seed + (1, 2) per generation)."""
    _store(url, tmp_path)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    names = [f"p{k}" for k in range(6)]
    procs = [ctx.Process(target=_worker, args=(url, str(tmp_path), n, queue)) for n in names]
    for p in procs:
        p.start()
    results = dict(queue.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    reported = sorted(a for answers in results.values() for a in answers)
    store = _store(url, tmp_path)
    nodes = store.nodes()
    in_db = sorted((n["chain_id"], n["generation"], n["shown_x_px"], n["shown_y_px"],
                    n["response_x_px"], n["response_y_px"]) for n in nodes)  # fmt: skip
    assert in_db == reported  # no lost answer, none answered twice (the keys are unique)
    assert sorted((n[0], n[1]) for n in in_db) == [
        (s.chain_id, g) for s in SEEDS for g in (1, 2, 3)
    ]
    seeds = {s.chain_id: s for s in SEEDS}
    for chain_id, generation, sx, sy, _, _ in in_db:
        assert (sx, sy) == (seeds[chain_id].x_px + (generation - 1),
                            seeds[chain_id].y_px + 2 * (generation - 1))  # fmt: skip
    # a participant answered each chain at most once
    pairs = [(n["participant"], n["chain_id"]) for n in nodes]
    assert len(pairs) == len(set(pairs))


def _claim_and_hang(url: str, root: str, ready: mp.Event) -> None:  # type: ignore[type-arg]
    store = open_chain_store(url, data_root=Path(root), study="test", lease_s=1.0)
    store.claim(participant="killed", session="1", trial_id=1, rng=np.random.default_rng(0))
    ready.set()
    time.sleep(600)


def test_a_killed_process_lease_expires(url: str, tmp_path: Path) -> None:
    """A process claims a head with a 1 s lease and is killed with SIGKILL: the head is held
    (not offered) until the lease expires, then another participant claims that very node
    and answers it; the dead claim is marked expired."""
    _store(url, tmp_path)
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_claim_and_hang, args=(url, str(tmp_path), ready))
    proc.start()
    assert ready.wait(60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    store = _store(url, tmp_path)
    held = [c for c in store.chains() if c["lease_token"] is not None]
    assert len(held) == 1
    dead = held[0]["chain_id"]
    others = [
        store.claim(participant=f"x{k}", session="1", trial_id=1, rng=_rng()) for k in range(3)
    ]
    assert {c.chain_id for c in others if c} == {s.chain_id for s in SEEDS} - {dead}
    # every other head is held now: "next" gets nothing until the dead lease expires, then it
    deadline = time.monotonic() + 30
    while (claim := store.claim(participant="next", session="1", trial_id=1, rng=_rng())) is None:
        assert time.monotonic() < deadline, "the dead lease never expired"
        time.sleep(0.05)
    assert claim.chain_id == dead
    assert claim.generation == 1
    assert store.answer(claim, 3, 4, {})
    outcomes = {c["participant"]: c["outcome"] for c in store.claims() if c["chain_id"] == dead}
    assert outcomes == {"killed": "expired", "next": "answered"}


def test_lost_sqlite_file_is_an_error_not_a_new_database(tmp_path: Path) -> None:
    store = _store("", tmp_path)
    (tmp_path / SQLITE_NAME).rename(tmp_path / "moved.sqlite")
    with pytest.raises(ChainStoreLostError, match=r"chains\.sqlite"):
        store.claim(participant="a", session="1", trial_id=1, rng=_rng())
    assert not (tmp_path / SQLITE_NAME).exists()


def test_stopped_postgres_server_is_a_lost_database(tmp_path: Path) -> None:
    store = open_chain_store(
        f"postgresql://postgres@127.0.0.1:{_free_port()}/none", data_root=tmp_path,
        study="x", lease_s=5,
    )  # fmt: skip
    with pytest.raises(ChainStoreLostError, match=r"Cannot connect to the chain database"):
        store.ensure_chains(SEEDS, generations=1)


@pytest.mark.parametrize(
    ("url", "match"),
    [
        pytest.param("mysql://x/y", r"\[chains\] url: use an empty url", id="scheme"),
        pytest.param("postgresql://u:secret@h/db", r"leave the password out", id="password"),
    ],
)
def test_chains_url_errors(tmp_path: Path, url: str, match: str) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(f'[chains]\nurl = "{url}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        load_lab_config(path)


def test_lost_server_message_names_server_port_and_database_not_the_password(
    tmp_path: Path,
) -> None:
    """Catches: a message about an unreachable server that leaves out where it is, or shows
    the password of a URL (the lab configuration refuses one, a program may not)."""
    pytest.importorskip("psycopg", reason="psycopg 3 is needed to talk to PostgreSQL")
    port = _free_port()
    store = open_chain_store(
        f"postgresql://lab:s3cret@127.0.0.1:{port}/chains", data_root=tmp_path, study="x",
        lease_s=5,
    )  # fmt: skip
    with pytest.raises(ChainStoreLostError) as lost:
        store.claim(participant="a", session="1", trial_id=1, rng=_rng())
    message = str(lost.value)
    assert f"(server 127.0.0.1, port {port}, database chains)" in message
    assert f"postgresql://lab@127.0.0.1:{port}/chains" in message
    assert "s3cret" not in message and "s3cret" not in store.dialect.remedy
    assert "\n" not in message  # libpq's lines joined: one line for the command line


def test_statement_in_flight_when_the_server_stops_is_a_lost_database(
    postgres_server: PostgresServer,
) -> None:
    """Fault: the server stops (``pg_ctl stop -m immediate``) while a statement of the store's
    transaction runs (an hour's ``pg_sleep``). Catches: a statement that waits on the dead
    server, or fails with psycopg's own error instead of a ChainStoreLostError naming the
    server (what the task turns into a paused session)."""
    import psycopg

    from tasks.chains._dialect import PostgresDialect

    with postgres_server.database() as url:
        dialect = PostgresDialect(url)
        failed: list[BaseException] = []

        def sleep() -> None:
            try:
                with dialect.transaction() as cur:
                    cur.execute("SELECT pg_sleep(3600)")
            except BaseException as error:
                failed.append(error)

        statement = threading.Thread(target=sleep, daemon=True)
        statement.start()
        with psycopg.connect(url, autocommit=True) as conn:
            deadline = time.monotonic() + 60
            while not conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                "AND query = 'SELECT pg_sleep(3600)'"
            ).fetchone()[0]:  # type: ignore[index]
                assert time.monotonic() < deadline, "the statement never started"
                time.sleep(0.01)
        postgres_server.stop()
        statement.join(timeout=120)
        assert not statement.is_alive(), "the statement still waits on a stopped server"
        (error,) = failed
        assert isinstance(error, ChainStoreLostError), repr(error)
        assert "The connection to the chain database" in str(error) and "was lost" in str(error)
        assert f"port {postgres_server.port}" in str(error)


def test_statement_waiting_past_the_timeout_is_a_lost_database(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault: another station holds the lock the store needs (the advisory lock that creating
    the chains takes) and does not let go. Catches: a session that waits behind it for ever
    instead of failing after the statement timeout (shortened to 0.5 s here) with a message
    saying so."""
    import psycopg

    import tasks.chains._dialect as dialect

    monkeypatch.setattr(dialect, "PG_STATEMENT_TIMEOUT_S", 0.5)
    with postgres_server.database() as url:
        store = open_chain_store(url, data_root=tmp_path, study="x", lease_s=5)
        failed: list[BaseException] = []

        def create() -> None:
            try:
                store.ensure_chains(SEEDS, generations=1)
            except BaseException as error:
                failed.append(error)

        with psycopg.connect(url, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(%s)", (dialect._PG_INIT_LOCK,))
            waiting = threading.Thread(target=create, daemon=True)
            waiting.start()
            waiting.join(timeout=120)
            hung = waiting.is_alive()
        waiting.join(timeout=60)  # the other station let go (its connection closed)
        assert not hung, "the store waited behind the lock past its statement timeout"
        (error,) = failed
        assert isinstance(error, ChainStoreLostError), repr(error)
        assert "did not answer within 0.5 s" in str(error)
        assert store.ensure_chains(SEEDS, generations=1)  # once it lets go: as if nothing was
