"""Fixtures for the task tests: a small stimulus set and fast task configurations."""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tasks.config import ExperimentConfig, load_config

# the runtime's test helpers (tests/tasks/runtime_helpers.py): importable by the tests
# (pytest runs with --import-mode=importlib, which does not put test folders on the path)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from runtime_helpers import pressing_keys


@pytest.fixture
def tiny_stimulus_set(tmp_path: Path) -> Path:
    """Three small images (one portrait, one landscape, one square) with planted maps."""
    from stimuli import write_stimulus_set

    rng = np.random.default_rng(0)
    images = {
        "tall": rng.integers(0, 255, (120, 80, 3), dtype=np.uint8),
        "wide": rng.integers(0, 255, (80, 120, 3), dtype=np.uint8),
        "square": rng.integers(0, 255, (100, 100, 3), dtype=np.uint8),
    }
    truth = {}
    for key, image in images.items():
        planted = np.zeros(image.shape[:2])
        planted[: image.shape[0] // 3, : image.shape[1] // 3] = 1.0
        truth[key] = planted
    path = tmp_path / "stimuli.h5"
    write_stimulus_set(
        path,
        images,
        labels={k: f"label-{k}" for k in images},
        maps={"simulation/truth": truth},
        provenance={"simulation/truth": {"method": "planted top-left third"}},
    )
    return path


@pytest.fixture
def fast_config(repo_root: Path) -> Callable[..., ExperimentConfig]:
    """Make a shipped configuration fast: ``fast_config(stimulus_set, name=..., **task)``."""

    def make(
        stimulus_set: Path, name: str = "free_viewing_simulated.toml", **task: object
    ) -> ExperimentConfig:
        return _fast_config(repo_root, stimulus_set, name, **task)

    return make


def _fast_config(
    repo_root: Path, stimulus_set: Path, name: str = "free_viewing_simulated.toml", **task: object
) -> ExperimentConfig:
    """A shipped configuration with short durations and the test's stimulus set."""
    config = load_config(repo_root / "configs" / name)
    fast = {
        "image_duration_s": 0.3,
        "fixation_duration_s": 0.1,
        "iti_s": 0.05,
        "cue_duration_s": 0.2,
    }
    fields = {f.name for f in dataclasses.fields(config.task)}
    values = {**{k: v for k, v in fast.items() if k in fields}, **task}
    return dataclasses.replace(
        config,
        task=dataclasses.replace(config.task, stimulus_set=stimulus_set, **values),  # type: ignore[arg-type]
    )


#: The search set's geometry (image pixels): 96 x 96 images, the planted map on the top-left
#: third, the target region a 40 x 40 square in the bottom-right quarter, away from both.
SEARCH_SIZE = 96
SEARCH_PLANTED = (slice(0, 32), slice(0, 32))
SEARCH_REGION = (slice(52, 92), slice(52, 92))


@pytest.fixture
def search_stimulus_set(tmp_path: Path) -> Path:
    """Three 96 x 96 images named by their labels (the targets), with planted maps and a
    ``target/region`` mask each (see :data:`SEARCH_REGION`)."""
    from stimuli import add_maps, write_stimulus_set

    rng = np.random.default_rng(1)
    ids = ("beach", "kitchen", "street")
    images = {i: rng.integers(0, 255, (SEARCH_SIZE, SEARCH_SIZE, 3), dtype=np.uint8) for i in ids}
    planted = np.zeros((SEARCH_SIZE, SEARCH_SIZE))
    planted[SEARCH_PLANTED] = 1.0
    region = np.zeros((SEARCH_SIZE, SEARCH_SIZE))
    region[SEARCH_REGION] = 1.0
    path = tmp_path / "search.h5"
    write_stimulus_set(
        path,
        images,
        labels={"beach": "umbrella", "kitchen": "cup", "street": "red car"},
        maps={"simulation/truth": dict.fromkeys(ids, planted)},
        provenance={"simulation/truth": {"method": "planted top-left third"}},
    )
    add_maps(
        path, "target/region", dict.fromkeys(ids, region), provenance={"method": "drawn square"}
    )
    return path


def _scene_shares(folder: Path, masks: dict[str, np.ndarray]) -> tuple[list[float], list[float]]:
    """Fixations on the scene and clicks of a session, as 0/1: inside ``masks[image_id]``?

    Fixations are those :func:`analysis.load_session` joins to the trials (started while
    the image was shown, between ``image_onset`` and ``image_offset``), in image pixels;
    those off the image (``n_outside``) count as outside. Clicks are the rows'
    ``response_x_px``, ``response_y_px`` (none, or off the image: outside).
    """
    import pandas as pd

    from analysis import load_session

    sizes = {i: (m.shape[1], m.shape[0]) for i, m in masks.items()}
    session = load_session(folder, image_size_px=sizes)
    fixation_hits = [
        float(masks[fix.image_id][int(np.floor(fix.y_img + 0.5)), int(np.floor(fix.x_img + 0.5))])
        for fix in session.fixations.itertuples()
    ] + [0.0] * session.n_outside
    click_hits: list[float] = []
    for row in session.trials.itertuples():
        x, y = row.response_x_px, row.response_y_px
        clicked = not (pd.isna(x) or pd.isna(y))
        click_hits.append(float(clicked and bool(masks[row.image_id][int(y), int(x)])))
    return fixation_hits, click_hits


@pytest.fixture
def scene_shares() -> Callable[..., tuple[list[float], list[float]]]:
    """``scene_shares(folder, masks)``: see :func:`_scene_shares`."""
    return _scene_shares


def _inside_share(length_px: float, sd_px: float) -> float:
    """P(u + e in [0, L)) for u uniform on [0, L) and e ~ N(0, sd^2): a click aimed uniformly
    along one axis of a box of ``length_px`` screen pixels that stays in it despite motor noise
    (midpoint rule over 2,000 aim points, exact to ~1e-6)."""
    from math import erf, sqrt

    def cdf(z: float) -> float:
        return 0.5 * (1.0 + erf(z / sqrt(2.0)))

    aims = (np.arange(2000) + 0.5) / 2000 * length_px
    return float(np.mean([cdf((length_px - u) / sd_px) - cdf(-u / sd_px) for u in aims]))


@pytest.fixture
def inside_share() -> Callable[[float, float], float]:
    """``inside_share(length_px, sd_px)``: see :func:`_inside_share`."""
    return _inside_share


@pytest.fixture
def pressing() -> Callable[..., contextlib.AbstractContextManager[None]]:
    """``with pressing("space", click=True): ...``: see ``runtime_helpers.pressing_keys``."""
    return pressing_keys


@pytest.fixture
def quick_answers(monkeypatch: pytest.MonkeyPatch) -> float:
    """Simulated participants answer after a median of 0.05 s (floored at 0.15 s) instead of 0.8 s.

    Only their reaction times change (recorded as ``rt_median_s`` in ``session.json``): the
    answers' model is the same, so tests of many trials run in a few seconds.
    """
    from tasks.runtime.participant import SimulatedParticipant

    original = SimulatedParticipant.__init__

    def quick(self: SimulatedParticipant, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **{**kwargs, "rt_median_s": 0.05})

    monkeypatch.setattr(SimulatedParticipant, "__init__", quick)
    return 0.05


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    """A loopback TCP port that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclasses.dataclass
class PostgresServer:
    """A throwaway PostgreSQL server on a loopback port that a test can stop and start again.

    ``initdb`` + ``pg_ctl`` in a temporary ``folder`` (as the ``postgres`` user when the
    tests run as root, ``as_user``); trust authentication, no fsync. :meth:`stop` defaults
    to ``-m immediate``: the server's processes quit at once, like a crash or a power cut
    of the server, and every open connection is cut.
    """

    bindir: Path
    folder: Path
    port: int
    as_user: list[str]
    running: bool = False

    @property
    def url(self) -> str:
        """The server's ``postgres`` database (user ``postgres``, no password)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _call(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._call(str(self.bindir / "initdb"), "-D", str(self.folder / "data"), "-U",
                   "postgres", "-A", "trust")  # fmt: skip

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._call(str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-o", options,
                   "-w", "-l", str(self.folder / "log"), "start")  # fmt: skip
        self.running = True

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (``pg_ctl stop -m <mode>``) and wait until it is down."""
        self._call(str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", mode,
                   "-w", "stop")  # fmt: skip
        self.running = False

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A fresh database on the server (its URL), dropped at the end."""
        import psycopg

        name = f"t{os.getpid()}_{int(time.monotonic_ns())}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        try:
            yield self.url.rsplit("/", 1)[0] + "/" + name
        finally:
            if not self.running:
                self.start()
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def _postgres() -> Iterator[PostgresServer]:
    bindir = _pg_bin()
    if bindir is None or not (bindir / "pg_ctl").exists():
        pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    pytest.importorskip("psycopg", reason="psycopg 3 is needed to talk to PostgreSQL")
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root needs runuser to start PostgreSQL as 'postgres'")
        as_user = ["runuser", "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="selectivity-pg-"))
    if as_user:
        shutil.chown(folder, "postgres")
    server = PostgresServer(bindir, folder, _free_port(), as_user)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            if server.running:
                server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_server(_postgres: PostgresServer) -> PostgresServer:
    """The tests' PostgreSQL server (one per test run, see :class:`PostgresServer`), running;
    skipped when PostgreSQL's binaries or psycopg are not installed. A test that stops it
    may leave it stopped: the next test gets it started again."""
    if not _postgres.running:
        _postgres.start()
    return _postgres
