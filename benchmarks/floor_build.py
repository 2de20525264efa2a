"""The floor for the model build: the same model SQL run directly in DuckDB.

Every model's SELECT as `CREATE OR REPLACE TABLE … AS`, in the same order, in autocommit, with
the same macros — no per-model transaction, no quarantine tables, no reconciliation, no
bookkeeping.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from catalog.reference_data import load_reference_tables
from catalog.register import load_reference
from models.loader import load_models, macro_files


def main(db: Path) -> None:
    con = duckdb.connect(str(db))
    load_reference_tables(con, load_reference())
    for path in macro_files():
        con.execute(path.read_text(encoding="utf-8"))
    for model in load_models():
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {model.layer}")
        con.execute(f"CREATE OR REPLACE TABLE {model.table} AS {model.sql}")
    con.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
