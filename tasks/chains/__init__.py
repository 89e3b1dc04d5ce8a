"""Serial-reproduction chains shared by the sessions of a study, in SQLite or PostgreSQL.

A chain has an image and a seed position; each participant who meets it is shown
the last answer (the seed, first) and answers the next generation. Sessions on
one computer share a SQLite file in the data root (``chains.sqlite``); stations
that share a server name a PostgreSQL database (``[chains] url`` of the lab
configuration). The same SQL runs on both (:mod:`tasks.chains._dialect`).
"""

from __future__ import annotations

from ._dialect import SQLITE_NAME, ChainStoreLostError
from ._store import ChainLayoutError, ChainSeed, ChainStore, Claim, open_chain_store

__all__ = [
    "SQLITE_NAME",
    "ChainLayoutError",
    "ChainSeed",
    "ChainStore",
    "ChainStoreLostError",
    "Claim",
    "open_chain_store",
]
