"""A window opened on Mesa's software OpenGL does not crash a later torchvision import."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
from tasks.config import DisplayConfig
from tasks.runtime.display import open_window

display = DisplayConfig(resolution_px=(160, 120), fullscreen=False)
with open_window(display, windowed=True, check_timing=False) as win:
    win.flip()
import torchvision.ops  # loads triton's LLVM after Mesa's
print("imported")
"""


@pytest.mark.window
def test_torchvision_imports_after_a_window_closed(tmp_path):
    """Without loading triton first, this child process dies of a segmentation fault (-11)
    while ``torchvision.ops`` imports triton (seen under Xvfb with torch 2.14, triton 3)."""
    # found, not imported: importing triton here, after other tests opened windows, is the crash
    for name in ("triton", "torchvision"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed")
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "imported"
