"""Opening the DuckDB file and creating the system's own tables (`meta`)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from catalog.system_tables import ensure_system_tables


def connect(db_path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database file, creating its folder and the meta tables when writing."""
    path = Path(db_path)
    if read_only:
        if not path.exists():
            raise FileNotFoundError(f"database {path} does not exist; run `respool ingest` first")
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    ensure_system_tables(con)
    return con
