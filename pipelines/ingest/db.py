"""Opening the DuckDB file and creating the system's own tables (`meta`)."""

from __future__ import annotations

from pathlib import Path

import duckdb

META_DDL = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE SCHEMA IF NOT EXISTS ods;
-- every delivery of a table and business date: loaded, refused or skipped, and why
CREATE TABLE IF NOT EXISTS meta.batch (
    batch_id      VARCHAR PRIMARY KEY,
    system        VARCHAR NOT NULL,
    table_name    VARCHAR NOT NULL,
    biz_date      DATE    NOT NULL,
    mode          VARCHAR,
    encoding      VARCHAR,
    files         INTEGER,
    rows          BIGINT,
    bytes         BIGINT,
    chk_md5       VARCHAR NOT NULL,
    chk_path      VARCHAR NOT NULL,
    status        VARCHAR NOT NULL,      -- loaded | refused | skipped
    rule          VARCHAR,               -- the contract rule a refused delivery broke
    reason        VARCHAR,
    superseded_by VARCHAR,               -- set when a later batch replaced this batch's rows
    recorded_at   TIMESTAMP NOT NULL,
    arrived_at    TIMESTAMP              -- UTC: when the control file landed (its mtime)
);
ALTER TABLE meta.batch ADD COLUMN IF NOT EXISTS arrived_at TIMESTAMP;
-- the files of every delivery, as the control file lists them
CREATE TABLE IF NOT EXISTS meta.batch_file (
    batch_id  VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    rows      BIGINT,
    bytes     BIGINT,
    md5       VARCHAR,
    PRIMARY KEY (batch_id, file_name)
);
"""


def connect(db_path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database file, creating its folder and the meta tables when writing."""
    path = Path(db_path)
    if read_only:
        if not path.exists():
            raise FileNotFoundError(f"database {path} does not exist; run `respool ingest` first")
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute(META_DDL)
    return con
