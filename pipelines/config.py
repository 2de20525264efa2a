"""Where things are: paths from environment variables, with working defaults."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    """RESPOOL_HOME, else the checkout."""
    return Path(os.environ.get("RESPOOL_HOME") or PROJECT_ROOT)


def default_db() -> Path:
    """$RESPOOL_DB, else data/respool.duckdb under RESPOOL_HOME."""
    return Path(os.environ.get("RESPOOL_DB") or home() / "data" / "respool.duckdb")


def default_landing() -> Path:
    """$RESPOOL_LANDING, else data/landing under RESPOOL_HOME."""
    return Path(os.environ.get("RESPOOL_LANDING") or home() / "data" / "landing")
