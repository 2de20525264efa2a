"""The system's own tables (`meta.*`): defined once, in system_tables.sql beside this file, and
created together on every database the pipeline writes."""

from __future__ import annotations

from pathlib import Path

import duckdb

SYSTEM_TABLES_SQL = Path(__file__).with_name("system_tables.sql")


def ensure_system_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schemas and `meta` tables that do not exist yet (and add newer columns)."""
    con.execute(SYSTEM_TABLES_SQL.read_text(encoding="utf-8"))
