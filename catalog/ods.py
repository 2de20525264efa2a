"""The ODS tables as the register defines them: the delivered columns as text, then the batch
columns every load adds; for FULL tables also `ods.<table>_departed`, the last delivered row of
each key that left the snapshot. Created and checked here, for the load and the build alike."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from catalog.register import Register, Table


@dataclass(frozen=True)
class BatchColumn:
    name: str
    type: str
    zh: str
    en: str


# added by every load to every ODS row: where the row came from
BATCH_COLUMNS = (
    BatchColumn("_batch_id", "VARCHAR", "批次号", "Delivery batch id (meta.batch)"),
    BatchColumn("_biz_date", "DATE", "业务日期", "Business date of the delivery"),
    BatchColumn("_source_file", "VARCHAR", "来源文件", "Data file the row came from"),
    BatchColumn("_row_number", "BIGINT", "文件内行号", "Data row number within that file"),
)
# what ods.<table>_departed adds: the FULL delivery that no longer carried the row
DEPARTED_COLUMNS = (
    BatchColumn("_departed_batch_id", "VARCHAR", "离开快照的批次号",
                "Batch of the first snapshot without the row (meta.batch)"),
    BatchColumn("_departed_biz_date", "DATE", "离开快照的业务日期", "Business date of the first snapshot without the row"),
)
BATCH_COLUMN_NAMES = tuple(c.name for c in BATCH_COLUMNS)
_BY_NAME = {c.name: c for c in (*BATCH_COLUMNS, *DEPARTED_COLUMNS)}


def batch_column(name: str) -> BatchColumn | None:
    """The batch (or departed) column of that name, wherever it is carried: ODS, stg and on."""
    return _BY_NAME.get(name)


DEPARTED_COLUMN_NAMES = tuple(c.name for c in DEPARTED_COLUMNS)


def ods_columns(table: Table, departed: bool = False) -> list[str]:
    """Column names of ods.<table> (or of ods.<table>_departed), in order."""
    return [*table.column_names, *BATCH_COLUMN_NAMES, *(DEPARTED_COLUMN_NAMES if departed else ())]


def ods_table_ddl(table: Table, departed: bool = False) -> str:
    extra = DEPARTED_COLUMNS if departed else ()
    cols = [f'"{c}" VARCHAR' for c in table.column_names] + [f"{c.name} {c.type}" for c in (*BATCH_COLUMNS, *extra)]
    name = table.departed_name if departed else table.ods_name
    return f"CREATE TABLE IF NOT EXISTS ods.{name} (\n    " + ",\n    ".join(cols) + "\n)"


def _ensure(con: duckdb.DuckDBPyConnection, table: Table, departed: bool) -> None:
    con.execute(ods_table_ddl(table, departed))
    name = table.departed_name if departed else table.ods_name
    have = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'ods' "
        "AND table_name = ? ORDER BY ordinal_position", [name]).fetchall()]
    want = ods_columns(table, departed)
    if have != want:
        raise RuntimeError(
            f"ods.{name} has columns {have}, the register says {want}: "
            "migrate the table before loading (the register changed)"
        )


def ensure_ods_table(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    """ods.<table> (and, for a FULL table, ods.<table>_departed) with the register's columns."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ods")
    _ensure(con, table, departed=False)
    if table.mode == "FULL":
        _ensure(con, table, departed=True)


def ensure_departed_tables(con: duckdb.DuckDBPyConnection, register: Register) -> None:
    """The departed tables of the FULL tables already loaded (databases loaded before they existed)."""
    loaded = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ods'").fetchall()}
    for table in register.tables:
        if table.mode == "FULL" and table.ods_name in loaded:
            _ensure(con, table, departed=True)


def ods_row_count(con: duckdb.DuckDBPyConnection, table: Table) -> int:
    """Rows in ods.<table>, 0 before its first load."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ods' "
                         "AND table_name = ?", [table.ods_name]).fetchone()[0]
    return con.execute(f"SELECT count(*) FROM ods.{table.ods_name}").fetchone()[0] if exists else 0
