"""Loading verified deliveries into `ods.<table>` inside DuckDB, one transaction per delivery.

FULL replaces the table's content; INCR replaces what earlier deliveries of the same business
date loaded and appends the rest (the upsert by key happens in the models). Every delivery is
recorded in `meta.batch`; a refused one is not loaded at all and its files stay where they are.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from catalog.contract import ControlFile, parse_biz_date
from catalog.register import Register, Table
from pipelines.delivery import (
    Delivery,
    ReadyFile,
    Refusal,
    check_control,
    discover,
    prepare_file,
    read_control,
)

BATCH_COLUMNS = (
    ("_batch_id", "VARCHAR"),
    ("_biz_date", "DATE"),
    ("_source_file", "VARCHAR"),
    ("_row_number", "BIGINT"),
)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Outcome:
    """What happened to one delivery in this run."""

    batch_id: str
    system: str
    table: str
    biz_date: str
    status: str  # loaded | refused | skipped | unchanged (seen before, nothing to do)
    rows: int = 0
    reason: str = ""
    seconds: float = 0.0


@dataclass
class IngestReport:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "refused"]

    @property
    def loaded_rows(self) -> int:
        return sum(o.rows for o in self.outcomes if o.status == "loaded")


def ods_table_ddl(table: Table) -> str:
    cols = [f'"{c}" VARCHAR' for c in table.column_names] + [f"{n} {t}" for n, t in BATCH_COLUMNS]
    return f"CREATE TABLE IF NOT EXISTS ods.{table.ods_name} (\n    " + ",\n    ".join(cols) + "\n)"


def ensure_ods_table(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS ods")
    con.execute(ods_table_ddl(table))
    have = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'ods' "
        "AND table_name = ? ORDER BY ordinal_position", [table.ods_name]).fetchall()]
    want = table.column_names + [n for n, _ in BATCH_COLUMNS]
    if have != want:
        raise RuntimeError(
            f"ods.{table.ods_name} has columns {have}, the register says {want}: "
            "migrate the table before loading (the register changed)"
        )


def ods_row_count(con: duckdb.DuckDBPyConnection, table: Table) -> int:
    """Rows in ods.<table>, 0 before its first load."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ods' "
                         "AND table_name = ?", [table.ods_name]).fetchone()[0]
    return con.execute(f"SELECT count(*) FROM ods.{table.ods_name}").fetchone()[0] if exists else 0


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _insert_sql(table: Table, ready: ReadyFile) -> str:
    columns = "{" + ", ".join(f"{_sql_str(c)}: 'VARCHAR'" for c in table.column_names) + "}"
    names = ", ".join(f'"{c}"' for c in table.column_names)
    # header=true skips the delivered header, already compared with the register
    return (
        f"INSERT INTO ods.{table.ods_name} SELECT {names}, $batch_id, $biz_date, $source_file, "
        f"row_number() OVER () FROM read_csv({_sql_str(str(ready.readable))}, header = true, "
        f"columns = {columns}, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
        f"strict_mode = true, null_padding = false, encoding = 'utf-8')"
    )


def _previous(con: duckdb.DuckDBPyConnection, batch_id: str) -> tuple[str, str | None] | None:
    row = con.execute("SELECT status, reason FROM meta.batch WHERE batch_id = ?", [batch_id]).fetchone()
    return (row[0], row[1]) if row else None


def _current_snapshot_date(con: duckdb.DuckDBPyConnection, table: Table) -> date | None:
    row = con.execute(
        "SELECT max(biz_date) FROM meta.batch WHERE system = ? AND table_name = ? "
        "AND status = 'loaded' AND superseded_by IS NULL", [table.system, table.code]).fetchone()
    return row[0] if row else None


def _record(con: duckdb.DuckDBPyConnection, delivery: Delivery, batch_id: str, chk_md5: str,
            control: ControlFile | None, status: str, rule: str | None, reason: str | None) -> None:
    """Write the batch row; a refusal seen again with the same reason keeps its first timestamp."""
    previous = _previous(con, batch_id)
    if previous == (status, reason) and status != "loaded":
        return
    con.execute("DELETE FROM meta.batch_file WHERE batch_id = ?", [batch_id])
    con.execute("DELETE FROM meta.batch WHERE batch_id = ?", [batch_id])
    con.execute(
        "INSERT INTO meta.batch VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, now()::TIMESTAMP)",
        [batch_id, delivery.system, delivery.table, parse_biz_date(delivery.biz_date),
         control.mode if control else None, control.encoding if control else None,
         len(control.files) if control else None, control.rows if control else None,
         sum(f.bytes for f in control.files) if control else None,
         chk_md5, str(delivery.chk_path), status, rule, reason],
    )
    if control:
        con.executemany(
            "INSERT INTO meta.batch_file VALUES (?, ?, ?, ?, ?)",
            [[batch_id, f.name, f.rows, f.bytes, f.md5] for f in control.files],
        )


def _load(con: duckdb.DuckDBPyConnection, table: Table, control: ControlFile, batch_id: str,
          prepared: list[Future[ReadyFile]]) -> int:
    """Inside the caller's transaction: replace what this table/date held and insert every file."""
    biz_date = control.business_date
    if table.mode == "FULL":
        con.execute(f"DELETE FROM ods.{table.ods_name}")
    else:
        con.execute(f"DELETE FROM ods.{table.ods_name} WHERE _biz_date = ?", [biz_date])
    total = 0
    for future in prepared:
        ready = future.result()  # raises the file's Refusal
        params = {"batch_id": batch_id, "biz_date": biz_date, "source_file": ready.entry.name}
        try:
            inserted = con.execute(_insert_sql(table, ready), params).fetchone()[0]
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise Refusal(ready.entry.name, "csv", f"RFC 4180 CSV with {len(table.columns)} columns",
                          first) from None
        if inserted != ready.entry.rows:
            raise Refusal(ready.entry.name, "rows", ready.entry.rows, inserted)
        total += inserted
    # the rows of earlier batches that this one replaced are gone from ods
    con.execute(
        "UPDATE meta.batch SET superseded_by = ? WHERE system = ? AND table_name = ? AND status = 'loaded' "
        "AND superseded_by IS NULL AND batch_id <> ? AND (? = 'FULL' OR biz_date = ?)",
        [batch_id, table.system, table.code, batch_id, table.mode, biz_date],
    )
    return total


def ingest_delivery(con: duckdb.DuckDBPyConnection, delivery: Delivery, register: Register,
                    workdir: Path, before_commit: Callable[[], None] | None = None) -> Outcome:
    """Verify and load one delivery in one transaction; record the outcome in meta.batch."""
    started = time.perf_counter()
    chk_md5 = delivery.chk_md5()
    batch_id = delivery.batch_id()
    done = _previous(con, batch_id)
    base = {"batch_id": batch_id, "system": delivery.system, "table": delivery.table,
            "biz_date": delivery.biz_date}
    if done and done[0] in ("loaded", "skipped"):
        return Outcome(**base, status="unchanged", reason=f"already {done[0]}")
    control: ControlFile | None = None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare")
    futures: list[Future[ReadyFile]] = []
    try:
        control = read_control(delivery)
        table = check_control(delivery, control, register)
        current = _current_snapshot_date(con, table) if table.mode == "FULL" else None
        if current and control.business_date < current:
            reason = f"snapshot of {control.biz_date} is older than the loaded snapshot of {current:%Y%m%d}"
            _record(con, delivery, batch_id, chk_md5, control, "skipped", "stale_snapshot", reason)
            return Outcome(**base, status="skipped", reason=reason)
        with tempfile.TemporaryDirectory(prefix="respool-", dir=workdir) as tmp:
            # the next file is read and transcoded while DuckDB inserts the current one
            futures = [pool.submit(prepare_file, delivery.folder, entry, control.encoding,
                                   table.column_names, Path(tmp)) for entry in control.files]
            con.begin()
            try:
                ensure_ods_table(con, table)
                rows = _load(con, table, control, batch_id, futures)
                _record(con, delivery, batch_id, chk_md5, control, "loaded", None, None)
                if before_commit:
                    before_commit()
                con.commit()
            except BaseException:
                con.rollback()
                raise
            finally:
                for f in futures:
                    f.cancel()
                pool.shutdown(wait=True)
        return Outcome(**base, status="loaded", rows=rows, seconds=time.perf_counter() - started)
    except Refusal as refusal:
        con.begin()
        _record(con, delivery, batch_id, chk_md5, control, "refused", refusal.rule, refusal.reason)
        con.commit()
        return Outcome(**base, status="refused", reason=refusal.reason,
                       seconds=time.perf_counter() - started)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def ingest(con: duckdb.DuckDBPyConnection, landings: list[Path], register: Register,
           progress: Progress | None = None, workdir: Path | None = None,
           only: Callable[[Delivery], bool] | None = None) -> IngestReport:
    """Load every complete delivery under the landing roots, oldest business date first."""
    deliveries = [d for d in discover(landings, register) if only is None or only(d)]
    report = IngestReport()
    workdir = workdir or Path(tempfile.gettempdir())
    for i, delivery in enumerate(deliveries, start=1):
        outcome = ingest_delivery(con, delivery, register, workdir)
        report.outcomes.append(outcome)
        if progress:
            detail = f"{outcome.rows:>10,} rows" if outcome.status == "loaded" else outcome.reason
            progress(f"[{i}/{len(deliveries)}] {delivery.biz_date} {delivery.system}.{delivery.table:<13} "
                     f"{outcome.status:<9} {detail}")
    return report
