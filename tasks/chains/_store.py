"""The chain store: chains, their heads under leases, and their answered nodes, in SQL."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from selectivity.errors import UserError

from ._dialect import Dialect, SqliteDialect, _Cursor, dialect_for

__all__ = ["ChainLayoutError", "ChainSeed", "ChainStore", "Claim", "open_chain_store"]

#: Version of the tables below; a database of another version is refused.
SCHEMA_VERSION = 1

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS sr_meta (
        key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sr_studies (
        study TEXT PRIMARY KEY, layout TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sr_chains (
        study TEXT NOT NULL, chain_id TEXT NOT NULL, image_id TEXT NOT NULL,
        seed_x_px INTEGER NOT NULL, seed_y_px INTEGER NOT NULL,
        generations INTEGER NOT NULL, answered INTEGER NOT NULL,
        head_x_px INTEGER NOT NULL, head_y_px INTEGER NOT NULL,
        lease_token TEXT, lease_until DOUBLE PRECISION,
        PRIMARY KEY (study, chain_id))""",
    """CREATE TABLE IF NOT EXISTS sr_claims (
        token TEXT PRIMARY KEY, study TEXT NOT NULL, chain_id TEXT NOT NULL,
        generation INTEGER NOT NULL, participant TEXT NOT NULL, session TEXT NOT NULL,
        trial_id INTEGER NOT NULL, claimed_at DOUBLE PRECISION NOT NULL,
        lease_until DOUBLE PRECISION NOT NULL, outcome TEXT)""",
    """CREATE INDEX IF NOT EXISTS sr_claims_by_participant
        ON sr_claims (study, participant, session)""",
    """CREATE TABLE IF NOT EXISTS sr_nodes (
        study TEXT NOT NULL, chain_id TEXT NOT NULL, generation INTEGER NOT NULL,
        participant TEXT NOT NULL, session TEXT NOT NULL, trial_id INTEGER NOT NULL,
        token TEXT NOT NULL, shown_x_px INTEGER NOT NULL, shown_y_px INTEGER NOT NULL,
        response_x_px INTEGER NOT NULL, response_y_px INTEGER NOT NULL,
        answered_at DOUBLE PRECISION NOT NULL, row_json TEXT NOT NULL,
        PRIMARY KEY (study, chain_id, generation))""",
)


class ChainLayoutError(UserError, ValueError):
    """The configured chains differ from those the database holds for the study."""


@dataclass(frozen=True)
class ChainSeed:
    """Where a chain starts: its image and the seed position (image pixels, integer = centre)."""

    chain_id: str
    image_id: str
    x_px: int
    y_px: int


@dataclass(frozen=True)
class Claim:
    """A chain's head, held under a lease: the node ``generation`` of ``chain_id``.

    ``shown_x_px``, ``shown_y_px`` (image pixels) is what this generation is shown:
    the seed for generation 1, else generation ``generation - 1``'s answer.
    ``lease_until`` is on the database's clock (s since the epoch).
    """

    token: str
    chain_id: str
    image_id: str
    generation: int
    shown_x_px: int
    shown_y_px: int
    lease_until: float


class ChainStore:
    """Chains shared by every session of a study, in SQLite or PostgreSQL.

    A chain is a sequence of nodes (generations 1, 2, ... up to ``generations``);
    its head is the next unanswered node. A session claims a head under a lease of
    ``lease_s`` (:meth:`claim`), then answers it (:meth:`answer`) or lets it go
    (:meth:`release`); a lease not answered in time expires and the head is free
    again. Guarantees (kept by the database, whatever the number of processes):

    * no node is answered twice (the primary key of ``sr_nodes`` and a
      compare-and-set on the chain's answered count);
    * a participant meets a chain at most once: a chain that the participant has
      ever claimed (answered, released or not) is never offered to them again;
    * balance: a claim takes a least-advanced chain among those available (not
      finished, no live lease, not met), ties broken by the caller's random stream.

    Parameters
    ----------
    dialect : Dialect
        The database (:func:`open_chain_store` makes it from a URL).
    study : str
        Name of the study whose chains these are (several studies may share a database).
    lease_s : float
        Lifetime of a lease (s).
    """

    def __init__(self, dialect: Dialect, *, study: str, lease_s: float) -> None:
        if not lease_s > 0:
            raise ValueError(f"lease_s must be > 0 seconds, got {lease_s!r}.")
        self.dialect = dialect
        self.study = str(study)
        self.lease_s = float(lease_s)

    @property
    def where(self) -> str:
        """The database, for messages (no password)."""
        return self.dialect.where

    # setting up ------------------------------------------------------------------------
    def ensure_chains(self, seeds: Sequence[ChainSeed], *, generations: int) -> bool:
        """Create the tables and the study's chains, or check that they are these.

        Returns True when this call created the study's chains.

        Raises
        ------
        ChainLayoutError
            When the database holds other chains for the study (other images, seeds or
            number of generations): name a new ``study`` to start new chains.
        """
        if int(generations) < 1:
            raise ValueError(f"generations must be >= 1, got {generations!r}.")
        layout = json.dumps(
            {"generations": int(generations), "seeds": [asdict(s) for s in seeds]}, sort_keys=True
        )
        with self.dialect.transaction(init=True) as cur:
            for statement in _SCHEMA:
                cur.execute(statement)
            version = cur.execute(
                "SELECT value FROM sr_meta WHERE key = 'schema_version'"
            ).fetchone()
            if version is None:
                cur.execute(
                    "INSERT INTO sr_meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif int(version[0]) != SCHEMA_VERSION:
                raise ChainLayoutError(
                    f"The chain database {self.where} has schema version {version[0]}; this "
                    f"software reads version {SCHEMA_VERSION}."
                )
            found = cur.execute(
                "SELECT layout FROM sr_studies WHERE study = ?", (self.study,)
            ).fetchone()
            if found is not None:
                if found[0] != layout:
                    raise ChainLayoutError(
                        f"The chain database {self.where} holds other chains for the study "
                        f"{self.study!r} (images, seed positions or generations differ from "
                        "the configuration). Restore the configuration the study started "
                        "with, or set [task] study to a new name to start new chains."
                    )
                return False
            now = self.dialect.now(cur)
            cur.execute(
                "INSERT INTO sr_studies (study, layout, created_at) VALUES (?, ?, ?)",
                (self.study, layout, now),
            )
            for s in seeds:
                cur.execute(
                    "INSERT INTO sr_chains (study, chain_id, image_id, seed_x_px, seed_y_px, "
                    "generations, answered, head_x_px, head_y_px, lease_token, lease_until) "
                    "VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, NULL, NULL)",
                    (self.study, s.chain_id, s.image_id, int(s.x_px), int(s.y_px),
                     int(generations), int(s.x_px), int(s.y_px)),
                )  # fmt: skip
        return True

    # a session's claims ------------------------------------------------------------------
    def claim(
        self, *, participant: str, session: str, trial_id: int, rng: np.random.Generator
    ) -> Claim | None:
        """Claim the head of a least-advanced available chain; None when none is available.

        Available: not finished, its head under no live lease, never met by
        ``participant``. A lease that expired is taken over (its claim is marked
        ``expired``).
        """
        for _ in range(100):
            with self.dialect.transaction() as cur:
                now = self.dialect.now(cur)
                rows = cur.execute(
                    "SELECT chain_id, image_id, answered, head_x_px, head_y_px, lease_token "
                    "FROM sr_chains WHERE study = ? AND answered < generations "
                    "AND (lease_token IS NULL OR lease_until <= ?) AND chain_id NOT IN "
                    "(SELECT chain_id FROM sr_claims WHERE study = ? AND participant = ?) "
                    "ORDER BY answered, chain_id",
                    (self.study, now, self.study, participant),
                ).fetchall()
                if not rows:
                    return None
                ties = [r for r in rows if r[2] == rows[0][2]]
                chain_id, image_id, answered, x, y, old = ties[int(rng.integers(len(ties)))]
                token = secrets.token_hex(16)
                until = now + self.lease_s
                taken = cur.execute(
                    "UPDATE sr_chains SET lease_token = ?, lease_until = ? WHERE study = ? "
                    "AND chain_id = ? AND answered = ? "
                    "AND (lease_token IS NULL OR lease_until <= ?)",
                    (token, until, self.study, chain_id, answered, now),
                ).rowcount
                if taken != 1:
                    continue  # another process took it between our read and write: again
                if old is not None:
                    cur.execute(
                        "UPDATE sr_claims SET outcome = 'expired' WHERE token = ? "
                        "AND outcome IS NULL",
                        (old,),
                    )
                cur.execute(
                    "INSERT INTO sr_claims (token, study, chain_id, generation, participant, "
                    "session, trial_id, claimed_at, lease_until, outcome) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    (token, self.study, chain_id, int(answered) + 1, participant, session,
                     int(trial_id), now, until),
                )  # fmt: skip
                return Claim(token, chain_id, image_id, int(answered) + 1, int(x), int(y), until)
        raise RuntimeError(f"Could not claim a chain head in {self.where} after 100 attempts.")

    def answer(self, claim: Claim, x_px: int, y_px: int, row: dict[str, Any]) -> bool:
        """Record the answer to a claimed head: the chain's next generation is shown it.

        Accepted (True) when the node is still unanswered and no one else holds a live
        lease on it (the claim's own lease may have expired meanwhile); else False, and
        the chain is left as it is. ``row`` (JSON values) is kept with the node.
        """
        with self.dialect.transaction() as cur:
            now = self.dialect.now(cur)
            won = cur.execute(
                "UPDATE sr_chains SET answered = answered + 1, head_x_px = ?, head_y_px = ?, "
                "lease_token = NULL, lease_until = NULL WHERE study = ? AND chain_id = ? "
                "AND answered = ? AND (lease_token = ? OR lease_token IS NULL "
                "OR lease_until <= ?)",
                (int(x_px), int(y_px), self.study, claim.chain_id, claim.generation - 1,
                 claim.token, now),
            ).rowcount  # fmt: skip
            if won != 1:
                # an answered claim stays answered; a lapsed one is marked lost
                cur.execute(
                    "UPDATE sr_claims SET outcome = 'lost' WHERE token = ? "
                    "AND (outcome IS NULL OR outcome = 'expired')",
                    (claim.token,),
                )
                return False
            cur.execute("UPDATE sr_claims SET outcome = 'answered' WHERE token = ?", (claim.token,))
            found = cur.execute(
                "SELECT participant, session, trial_id FROM sr_claims WHERE token = ?",
                (claim.token,),
            ).fetchone()
            if found is None:
                raise RuntimeError(f"Claim {claim.token} is not in {self.where}.")
            cur.execute(
                "INSERT INTO sr_nodes (study, chain_id, generation, participant, session, "
                "trial_id, token, shown_x_px, shown_y_px, response_x_px, response_y_px, "
                "answered_at, row_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.study, claim.chain_id, claim.generation, found[0], found[1], found[2],
                 claim.token, claim.shown_x_px, claim.shown_y_px, int(x_px), int(y_px), now,
                 json.dumps(row, default=str)),
            )  # fmt: skip
        return True

    def release(self, claim: Claim) -> None:
        """Give a claimed head back unanswered (the chain is free for the next claimant)."""
        self._release([claim.token])

    def release_session(self, *, participant: str, session: str) -> int:
        """Give back every head that a session holds unanswered; returns how many."""
        with self.dialect.transaction() as cur:
            tokens = [
                r[0]
                for r in cur.execute(
                    "SELECT token FROM sr_claims WHERE study = ? AND participant = ? "
                    "AND session = ? AND outcome IS NULL",
                    (self.study, participant, session),
                ).fetchall()
            ]
        self._release(tokens)
        return len(tokens)

    def _release(self, tokens: Iterable[str]) -> None:
        with self.dialect.transaction() as cur:
            for token in tokens:
                cur.execute(
                    "UPDATE sr_chains SET lease_token = NULL, lease_until = NULL "
                    "WHERE study = ? AND lease_token = ?",
                    (self.study, token),
                )
                cur.execute(
                    "UPDATE sr_claims SET outcome = 'released' WHERE token = ? AND outcome IS NULL",
                    (token,),
                )

    def answered_row(
        self, *, participant: str, session: str, trial_id: int
    ) -> dict[str, Any] | None:
        """The row kept with the node that a session's trial answered, or None."""
        with self.dialect.transaction() as cur:
            found = cur.execute(
                "SELECT row_json FROM sr_nodes WHERE study = ? AND participant = ? "
                "AND session = ? AND trial_id = ?",
                (self.study, participant, session, int(trial_id)),
            ).fetchone()
        return None if found is None else dict(json.loads(found[0]))

    # reading ---------------------------------------------------------------------------
    def nodes(self) -> list[dict[str, Any]]:
        """Every answered node of the study, by chain and generation."""
        return self._rows(
            "SELECT chain_id, generation, participant, session, trial_id, shown_x_px, "
            "shown_y_px, response_x_px, response_y_px, answered_at FROM sr_nodes "
            "WHERE study = ? ORDER BY chain_id, generation"
        )

    def chains(self) -> list[dict[str, Any]]:
        """Every chain of the study: seed, answered generations, head and lease."""
        return self._rows(
            "SELECT chain_id, image_id, seed_x_px, seed_y_px, generations, answered, "
            "head_x_px, head_y_px, lease_token, lease_until FROM sr_chains "
            "WHERE study = ? ORDER BY chain_id"
        )

    def claims(self) -> list[dict[str, Any]]:
        """Every claim of the study, in the order made."""
        return self._rows(
            "SELECT token, chain_id, generation, participant, session, trial_id, claimed_at, "
            "lease_until, outcome FROM sr_claims WHERE study = ? ORDER BY claimed_at, token"
        )

    def _rows(self, sql: str) -> list[dict[str, Any]]:
        names = [n.strip() for n in sql.split("SELECT", 1)[1].split("FROM", 1)[0].split(",")]
        with self.dialect.transaction() as cur:
            return [dict(zip(names, row, strict=True)) for row in _all(cur, sql, self.study)]


def _all(cur: _Cursor, sql: str, study: str) -> list[tuple[Any, ...]]:
    return cur.execute(sql, (study,)).fetchall()


def open_chain_store(url: str, *, data_root: Path, study: str, lease_s: float) -> ChainStore:
    """The chain store of a ``[chains] url`` (empty: SQLite ``chains.sqlite`` in ``data_root``).

    A SQLite file is created when missing; a PostgreSQL database must exist (the
    tables are created in it).
    """
    dialect = dialect_for(url, Path(data_root))
    if isinstance(dialect, SqliteDialect):
        dialect.create()
    return ChainStore(dialect, study=study, lease_s=lease_s)
