"""Tests that need a program from a system package (Chromium, nginx): without
it they skip, saying which package to install; when the variable that
``.ci/run`` sets is "1", the same absence is a failure, so CI always runs them."""
from __future__ import annotations

import os
import shutil

import pytest


def require_program(*names: str, package: str, required_by: str) -> str:
    """The path of the first of ``names`` on PATH, or a skip (a failure when ``$required_by`` is "1")."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    what = names[0].capitalize() if names[0] == "chromium" else names[0]
    if os.environ.get(required_by) == "1":
        pytest.fail(f"{what} is not installed, and {required_by}=1 requires it")
    pytest.skip(f"{what} is not installed: apt-get install {package} (Debian; .ci/run does) to run this test")
