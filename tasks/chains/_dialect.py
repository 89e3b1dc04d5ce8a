"""The one SQL dialect layer: SQLite (the standard library) and PostgreSQL (psycopg 3).

The store's SQL is written once, with ``?`` placeholders and types both databases
know (``TEXT``, ``INTEGER``, ``DOUBLE PRECISION``); a :class:`Dialect` differs only in
how it connects, how a writing transaction starts, where "now" comes from, and
which exceptions mean that the database cannot be reached.
"""

from __future__ import annotations

import contextlib
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

    @contextlib.contextmanager
    def transaction(self, *, init: bool = False) -> Iterator[_Cursor]:
        psycopg = self._psycopg
        try:
            conn = psycopg.connect(self.url, connect_timeout=10)
        except psycopg.Error as error:
            raise ChainStoreLostError(
                f"Cannot connect to the chain database {self.where}: {error}"
            ) from None
        try:
            with conn:  # commits when the block ends, rolls back on an error
                cursor = _Cursor(conn.cursor(), "format")
                if init:
                    cursor.execute("SELECT pg_advisory_xact_lock(?)", (_PG_INIT_LOCK,))
                yield cursor
        except psycopg.Error as error:
            raise ChainStoreLostError(f"The chain database {self.where} failed: {error}") from None
        finally:
            conn.close()

    def now(self, cursor: _Cursor) -> float:
        (value,) = cursor.execute("SELECT EXTRACT(EPOCH FROM clock_timestamp())").fetchall()[0]
        return float(value)


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
