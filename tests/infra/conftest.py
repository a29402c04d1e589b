"""Fixtures shared by the infrastructure tests."""

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def promtool() -> str:
    """Debian's promtool (package `prometheus`, installed by `make system-deps`)."""
    path = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)
    if path is None:
        pytest.fail("promtool is not installed: run `make system-deps` (Debian package `prometheus`)")
    return path
