"""The one SQL dialect layer: SQLite (the standard library) and PostgreSQL (psycopg 3).

The store's SQL is written once, with ``?`` placeholders and types both databases
know (``TEXT``, ``INTEGER``, ``DOUBLE PRECISION``); a :class:`Dialect` differs only in
how it connects, how a writing transaction starts, where "now" comes from, and
which exceptions mean that the database cannot be reached.

Every failure to reach the database is a :class:`ChainStoreLostError` naming it
(never its password) and, in :attr:`Dialect.remedy`, what brings it back: the task
ends the session as ``paused`` (or refuses to start it) instead of crashing. No call
waits for ever: SQLite waits :data:`SQLITE_BUSY_S` for a lock; PostgreSQL gives up
connecting after :data:`PG_CONNECT_TIMEOUT_S`, cancels a statement after
:data:`PG_STATEMENT_TIMEOUT_S`, and notices a connection whose server went silent
(network cut, server computer gone) after about :data:`PG_DEAD_LINK_S`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from selectivity.errors import UserError

__all__ = [
    "SQLITE_NAME",
    "ChainStoreLostError",
    "Dialect",
    "PostgresDialect",
    "SqliteDialect",
    "dialect_for",
]

#: The file of the chain database in a data root (SQLite, the default).
SQLITE_NAME = "chains.sqlite"
#: How long a SQLite writer waits for another process's transaction (s).
SQLITE_BUSY_S = 30.0
#: How long connecting to a PostgreSQL server may take before the database counts as lost (s).
PG_CONNECT_TIMEOUT_S = 5
#: A PostgreSQL statement not done in this time is cancelled (s; as long as a SQLite writer waits).
PG_STATEMENT_TIMEOUT_S = SQLITE_BUSY_S
#: A PostgreSQL connection whose server goes silent (network cut, server computer gone) is
#: dropped about this long after its last reply (s; TCP keepalives from 5 s of silence on, and
#: ``tcp_user_timeout``); a transaction that its client leaves idle this long is ended by the
#: server, so a station that vanished holds no lock.
PG_DEAD_LINK_S = 10
#: The PostgreSQL advisory-lock key that serialises creating the tables and the chains.
_PG_INIT_LOCK = 0x5E1EC7_C4A1


class ChainStoreLostError(UserError, RuntimeError):
    """The chain database cannot be reached (gone, locked past its timeout, server down)."""


class _Cursor:
    """A DB-API cursor that takes ``?`` placeholders in every dialect."""

    def __init__(self, cursor: Any, paramstyle: str) -> None:
        self._cursor = cursor
        self._format = paramstyle == "format"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Cursor:
        self._cursor.execute(sql.replace("?", "%s") if self._format else sql, tuple(params))
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._cursor.fetchall()]

    def fetchone(self) -> tuple[Any, ...] | None:
        row = self._cursor.fetchone()
        return None if row is None else tuple(row)

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)


class Dialect:
    """How the store talks to one kind of database (see the module docstring)."""

    #: Where the database is, for messages (a file path, or a URL without its password).
    where: str = ""
    #: What brings a lost database back, for messages ("start the server ...").
    remedy: str = ""

    def transaction(self, *, init: bool = False) -> contextlib.AbstractContextManager[_Cursor]:
        """A writing transaction: committed when the block ends, rolled back on an error.

        ``init``: the transaction that creates the tables and the chains, serialised
        across every process. Errors reaching the database become :class:`ChainStoreLostError`.
        """
        raise NotImplementedError

    def now(self, cursor: _Cursor) -> float:
        """The database's clock (s since the epoch): every lease is timed by one clock."""
        raise NotImplementedError


class SqliteDialect(Dialect):
    """One SQLite file (several processes on one computer).

    Every transaction is ``BEGIN IMMEDIATE`` (it takes the write lock at once, so a
    read-then-write cannot interleave with another process's) on a fresh connection
    with a busy timeout of :data:`SQLITE_BUSY_S`. Only :meth:`create` makes the
    file; afterwards a missing file is a lost database, not a new empty one.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self.remedy = (
            f"put the file {self.path} back in its place (or close the program that holds it)"
        )

    def create(self) -> None:
        """Create the file (and its folder) when it does not exist yet."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(self.path, timeout=SQLITE_BUSY_S).close()

    @contextlib.contextmanager
    def transaction(self, *, init: bool = False) -> Iterator[_Cursor]:
        try:
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=rw",
                uri=True,
                timeout=SQLITE_BUSY_S,
                isolation_level=None,
            )
        except sqlite3.Error as error:
            raise ChainStoreLostError(
                f"Cannot open the chain database {self.where}: {error}"
            ) from None
        try:
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield _Cursor(conn.cursor(), "qmark")
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            if "locked" in str(error) or "busy" in str(error):
                raise ChainStoreLostError(
                    f"The chain database {self.where} stayed locked by another process for "
                    f"longer than {SQLITE_BUSY_S:g} s ({error}): close the program that holds "
                    "it open"
                ) from None
            raise ChainStoreLostError(f"The chain database {self.where} failed: {error}") from None
        finally:
            conn.close()

    def now(self, cursor: _Cursor) -> float:
        # one file on one computer: that computer's clock
        return time.time()


class PostgresDialect(Dialect):
    """A PostgreSQL server that the stations of a lab share (psycopg 3).

    Transactions run at PostgreSQL's default ``READ COMMITTED`` level; the store's
    writes are compare-and-set ``UPDATE ... WHERE`` statements, which PostgreSQL
    re-checks on the latest row version after waiting for a concurrent writer, so a
    head goes to one claimant only. Times come from the server's clock.

    Each transaction is a fresh connection. A server that is down (stopped, crashed,
    unreachable) is a :class:`ChainStoreLostError` within :data:`PG_CONNECT_TIMEOUT_S`.
    A statement in flight when the server stops fails at once (the server's end of the
    connection closes); when the server goes silent instead, TCP keepalives and
    ``tcp_user_timeout`` drop the connection about :data:`PG_DEAD_LINK_S` after its last reply;
    either way the transaction is rolled back by the server. A ``COMMIT`` in flight
    may or may not have been applied: the store is written so that both are safe (an
    answer that reached the database is found again by the resume; a claim that did
    not is released).
    """

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise UserError(
                "A PostgreSQL chain database needs psycopg 3: pip install 'selectivity[chains]' "
                "(or pip install 'psycopg[binary]')."
            ) from None
        self._psycopg = psycopg
        self.url = url
        self.where = _without_password(url)
        self.server = _server(url, psycopg)
        self.remedy = (
            f"start the PostgreSQL server ({self.server}) or reconnect this computer to its "
            "network; check [chains] url of the lab configuration if it moved"
        )

    @contextlib.contextmanager
    def transaction(self, *, init: bool = False) -> Iterator[_Cursor]:
        psycopg = self._psycopg
        dead_ms = int(PG_DEAD_LINK_S * 1000)
        try:
            conn = psycopg.connect(
                self.url,
                connect_timeout=PG_CONNECT_TIMEOUT_S,
                keepalives=1,
                keepalives_idle=5,
                keepalives_interval=2,
                keepalives_count=3,
                tcp_user_timeout=dead_ms,
            )
        except psycopg.Error as error:
            raise ChainStoreLostError(
                f"Cannot connect to the chain database {self.where} ({self.server}): "
                f"{_one_line(error)}"
            ) from None
        try:
            try:
                cursor = _Cursor(conn.cursor(), "format")
                cursor.execute(
                    "SELECT set_config('statement_timeout', ?, true), "
                    "set_config('idle_in_transaction_session_timeout', ?, true)",
                    (str(int(PG_STATEMENT_TIMEOUT_S * 1000)), str(dead_ms)),
                )
                if init:
                    cursor.execute("SELECT pg_advisory_xact_lock(?)", (_PG_INIT_LOCK,))
                yield cursor
                conn.commit()
            except BaseException:
                with contextlib.suppress(psycopg.Error):
                    conn.rollback()  # a lost connection: the server rolls back by itself
                raise
        except psycopg.errors.QueryCanceled as error:
            raise ChainStoreLostError(
                f"The chain database {self.where} ({self.server}) did not answer within "
                f"{PG_STATEMENT_TIMEOUT_S:g} s ({_one_line(error)}): another station may hold "
                "it locked, or the server is overloaded"
            ) from None
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            raise ChainStoreLostError(
                f"The connection to the chain database {self.where} ({self.server}) was lost: "
                f"{_one_line(error)}"
            ) from None
        except psycopg.Error as error:
            raise ChainStoreLostError(
                f"The chain database {self.where} ({self.server}) failed: {_one_line(error)}"
            ) from None
        finally:
            conn.close()

    def now(self, cursor: _Cursor) -> float:
        (value,) = cursor.execute("SELECT EXTRACT(EPOCH FROM clock_timestamp())").fetchall()[0]
        return float(value)


def _one_line(error: BaseException) -> str:
    """An error's text on one line (libpq's messages run over several)."""
    return " ".join(str(error).split()) or type(error).__name__


def _server(url: str, psycopg: Any) -> str:
    """``server HOST, port PORT, database NAME`` of a URL, with libpq's defaults (no password)."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        params = {}
    env = os.environ
    host = params.get("host") or env.get("PGHOST") or "localhost"
    port = params.get("port") or env.get("PGPORT") or "5432"
    user = params.get("user") or env.get("PGUSER") or ""
    name = params.get("dbname") or env.get("PGDATABASE") or user or "(the user's)"
    return f"server {host}, port {port}, database {name}"


def _without_password(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user@host/db`` (for messages)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def dialect_for(url: str, data_root: Path) -> Dialect:
    """The database of a ``[chains] url``: empty for SQLite (:data:`SQLITE_NAME` in
    ``data_root``), else a ``postgresql://`` URL."""
    if not url:
        return SqliteDialect(Path(data_root) / SQLITE_NAME)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresDialect(url)
    raise UserError(
        f"Invalid chain database URL {_without_password(url)!r}: use an empty url (SQLite in the "
        "data root) or 'postgresql://user@host:port/database'."
    )
