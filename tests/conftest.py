"""Fixtures shared by every test package."""

from __future__ import annotations

import atexit
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import pytest

# PsychoPy writes preferences to ~/.psychopy3 on import: keep the tests out of the user's home.
os.environ["HOME"] = tempfile.mkdtemp(prefix="selectivity-test-home-")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Mesa's software OpenGL (Xvfb) and triton each bring an LLVM: triton loaded after a window
# opened crashes the process (tasks.runtime.display loads it first for the same reason).
if importlib.util.find_spec("triton") is not None:
    import triton  # noqa: F401

# Property-based tests (hypothesis): the same examples on every run (a CI failure reproduces
# here), no example database written into the checkout, no per-example deadline (shared
# machines are noisy). A test asks for more or fewer examples with its own @settings.
try:
    from hypothesis import HealthCheck
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # the dev extras are not installed: the property tests are skipped
    pass
else:
    _hypothesis_settings.register_profile(
        "selectivity",
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=60,
        suppress_health_check=[HealthCheck.too_slow],
    )
    _hypothesis_settings.load_profile("selectivity")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real third-party data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (where configs/ lives)."""
    return REPO


_EXIT_STATUS = {"code": 0}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS["code"] = int(exitstatus)


def _exit_before_psychtoolbox_finalizes() -> None:
    """Stop Xvfb, then leave without Python's finalisation, when Psychtoolbox was loaded.

    PsychoPy's keyboard opens an X connection inside Psychtoolbox's PsychHID, which
    touches it again when the interpreter finalises. pytest-xvfb stops the X server in
    an ``atexit`` handler, before that, so Xlib's I/O-error handler would end a run in
    which every test passed with status 1. This handler, registered after pytest-xvfb's
    and so run before it, stops the server itself and exits with pytest's own status.
    """
    if "psychtoolbox" not in sys.modules:
        return
    try:
        import pytest_xvfb

        pytest_xvfb.shutdown_xvfb()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS["code"])


atexit.register(_exit_before_psychtoolbox_finalizes)


@pytest.fixture(scope="session")
def bids_validator():  # type: ignore[no-untyped-def]
    """A check that runs the official BIDS validator on a dataset and asserts no error.

    The warnings that remain are printed (``pytest -s`` or a failure shows them). The
    test is skipped only when ``bids-validator-deno`` is not installed (dev extra).
    """
    from analysis.bids import validate_bids, validator_program

    if validator_program() is None:
        pytest.skip("the BIDS validator (bids-validator-deno, dev extra) is not installed")

    def check(dataset: Path):  # type: ignore[no-untyped-def]
        report = validate_bids(dataset)
        print(f"BIDS validator {report.validator_version}: {report.summary()}")
        assert report.valid, [
            (i.get("code"), i.get("subCode"), i.get("location"), i.get("issueMessage"))
            for i in report.errors[:10]
        ]
        return report

    return check
