"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# PsychoPy writes preferences to ~/.psychopy3 on import: keep the tests out of the user's home.
os.environ["HOME"] = tempfile.mkdtemp(prefix="selectivity-test-home-")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

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
