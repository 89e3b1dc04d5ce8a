"""Shared fixtures for the eyetracking tests: real EyeLink files and small synthetic ASC files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Real third-party data, read in place (see ../shared/data/README.md); never copied here.
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def eyelink_dir() -> Path:
    """``<repo>/../shared/data/eyelink``; the test is skipped when it is absent."""
    path = SHARED_DATA / "eyelink"
    if not path.is_dir():
        pytest.skip(f"real EyeLink test data not found at {path}")
    return path


@pytest.fixture
def write_asc(tmp_path: Path) -> Callable[..., Path]:
    """Write ASC text into ``tmp_path``: ``write_asc(text, name="test.asc", newline="\\n")``.

    Leading indentation of the text block is removed and ``|`` stands for a
    tab, so that tests can lay sample lines out readably.
    """

    def write(text: str, name: str = "test.asc", newline: str = "\n") -> Path:
        lines = [line.strip().replace("|", "\t") for line in text.strip("\n").splitlines()]
        path = tmp_path / name
        path.write_bytes(newline.join(lines).encode("utf-8") + newline.encode())
        return path

    return write
