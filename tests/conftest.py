"""Fixtures shared by every test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def datasets_path() -> Path:
    """Where the shared labelled datasets live: ``MAO_DATASETS`` or the folder beside the repository."""
    env = os.environ.get("MAO_DATASETS")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    path = datasets_path()
    if not path.is_dir():
        pytest.skip(f"labelled datasets not found at {path} (set MAO_DATASETS)")
    return path
