"""Loading verified deliveries into `ods.<table>` inside DuckDB, one transaction per delivery.

FULL replaces the table's content; the rows of the replaced snapshot whose key the new one no
longer delivers keep their last delivered state in `ods.<table>_departed` (an open item that
left BSID while its clearing is not delivered must not vanish). INCR replaces what earlier
deliveries of the same business date loaded and appends the rest (the upsert by key happens in
the models). Every delivery is recorded in `meta.batch`; a refused one is not loaded at all and
its files stay where they are.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from catalog.contract import ControlFile, parse_biz_date
from catalog.ods import ensure_ods_table
from catalog.register import Register, Table
from pipelines import config
from pipelines.ingest.delivery import Delivery, check_control, discover, read_control
from pipelines.ingest.filecheck import ReadyFile, Refusal, collect_files, start_files, warm_up

Progress = Callable[[str], None]


class Interrupted(BaseException):
    """SIGTERM or SIGINT during an ingest (see `stop_on_signals`): the delivery in progress was
    rolled back and recorded as `interrupted`; the caller exits 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


# the worker processes of the ingest running now, stopped first when a signal arrives
_running_pools: list[ProcessPoolExecutor] = []
_received: list[int] = []


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel what is queued and end the worker processes now (they hold no database state)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(timeout=5)


def _on_signal(signum: int, frame) -> None:
    _received.append(signum)
    for pool in list(_running_pools):
        _stop_workers(pool)
    raise Interrupted(signum)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGINT stop the ingest in progress (worker processes first) and raise
    `Interrupted` in the main thread; DuckDB breaks off a running statement on them too."""
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    _received.clear()
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _interruption(exc: BaseException) -> BaseException | None:
    """The interruption behind `exc`: DuckDB answers a signal during a statement with its own
    "Query interrupted" error, which hides the `Interrupted` our handler raised."""
    if not isinstance(exc, Exception):  # ours, KeyboardInterrupt, an orchestrator's (Dagster's termination)
        return exc
    if _received:
        return Interrupted(_received[-1])
    return None


class DiskFull(RuntimeError):
    """The disk of the database or of the temporary copies filled up during a load."""


def _out_of_space(exc: BaseException | None) -> bool:
    """ENOSPC anywhere in the exception's chain, from Python (a worker's copy) or from DuckDB."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if isinstance(exc, duckdb.Error) and "No space left on device" in str(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _worker_init(parent: int) -> None:
    """On each worker: leave SIGINT to the parent (a Ctrl-C reaches the whole process group), and
    exit as soon as the parent is gone, however it went (kill -9 included)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="respool-parent-watch", daemon=True).start()


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


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _insert_sql(table: Table, files: list[ReadyFile]) -> str:
    """One INSERT over all files of the delivery: DuckDB reads them in parallel, in order."""
    columns = "{" + ", ".join(f"{_sql_str(c)}: 'VARCHAR'" for c in table.column_names) + "}"
    names = ", ".join(f'"{c}"' for c in table.column_names)
    paths = "[" + ", ".join(_sql_str(str(f.readable)) for f in files) + "]"
    # header=true skips the delivered header, already compared with the register
    return (
        f"INSERT INTO ods.{table.ods_name} SELECT {names}, $batch_id, $biz_date, filename, NULL "
        f"FROM read_csv({paths}, header = true, columns = {columns}, auto_detect = false, "
        f"delim = ',', quote = '\"', escape = '\"', strict_mode = true, null_padding = false, "
        f"encoding = 'utf-8', filename = true)"
    )


def _previous(con: duckdb.DuckDBPyConnection, batch_id: str) -> tuple[str, str | None] | None:
    row = con.execute("SELECT status, reason FROM meta.batch WHERE batch_id = ?", [batch_id]).fetchone()
    return (row[0], row[1]) if row else None


def _current_snapshot_date(con: duckdb.DuckDBPyConnection, table: Table) -> date | None:
    return con.execute(
        "SELECT max(biz_date) FROM meta.batch WHERE system = ? AND table_name = ? "
        "AND status = 'loaded' AND superseded_by IS NULL", [table.system, table.code]).fetchone()[0]


def _record(con: duckdb.DuckDBPyConnection, delivery: Delivery, batch_id: str, chk_md5: str,
            control: ControlFile | None, status: str, rule: str | None, reason: str | None) -> None:
    """Write the batch row; a refusal seen again with the same reason keeps its first timestamp."""
    if _previous(con, batch_id) == (status, reason):  # never for "loaded": those are not taken again
        return
    con.execute("DELETE FROM meta.batch_file WHERE batch_id = ?", [batch_id])
    con.execute("DELETE FROM meta.batch WHERE batch_id = ?", [batch_id])
    con.execute(
        "INSERT INTO meta.batch VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, now()::TIMESTAMP, ?)",
        [batch_id, delivery.system, delivery.table, parse_biz_date(delivery.biz_date),
         control.mode if control else None, control.encoding if control else None,
         len(control.files) if control else None, control.rows if control else None,
         sum(f.bytes for f in control.files) if control else None,
         chk_md5, str(delivery.chk_path), status, rule, reason, delivery.arrived_at()],
    )
    if control:
        con.executemany(
            "INSERT INTO meta.batch_file VALUES (?, ?, ?, ?, ?)",
            [[batch_id, f.name, f.rows, f.bytes, f.md5] for f in control.files],
        )


def _load(con: duckdb.DuckDBPyConnection, table: Table, control: ControlFile, batch_id: str,
          files: list[ReadyFile]) -> int:
    """Inside the caller's transaction: replace what this table/date held and insert every file."""
    biz_date = control.business_date
    ods = f"ods.{table.ods_name}"
    if table.mode == "INCR":
        con.execute(f"DELETE FROM {ods} WHERE _biz_date = ?", [biz_date])
    # FULL: the replaced snapshot stays until the new one is in, to find the keys that left it
    try:
        con.execute(_insert_sql(table, files), {"batch_id": batch_id, "biz_date": biz_date})
    except duckdb.Error as exc:
        raise _csv_refusal(exc, table, files) from None
    # Rows keep their order on insert, so each file's rows are one contiguous rowid range:
    # the row number within the file follows from it (cheaper than numbering while reading).
    con.execute("CREATE OR REPLACE TEMP TABLE _batch_files (path VARCHAR, name VARCHAR)")
    con.executemany("INSERT INTO _batch_files VALUES (?, ?)", [[str(f.readable), f.entry.name] for f in files])
    parts = {
        r[0]: r[1:]
        for r in con.execute(
            f"SELECT b.name, min(t.rowid), max(t.rowid), count(*) FROM {ods} t "
            f"JOIN _batch_files b ON t._source_file = b.path WHERE t._batch_id = ? GROUP BY b.name",
            [batch_id]).fetchall()
    }
    for f in files:
        first, last, count = parts.get(f.entry.name, (0, -1, 0))
        if count != f.entry.rows:
            raise Refusal(f.entry.name, "rows", f.entry.rows, count)
        if last - first + 1 != count:
            raise RuntimeError(f"{f.entry.name}: rows were not inserted in file order; cannot number them")
    con.execute(
        f"UPDATE {ods} SET _source_file = b.name, _row_number = {ods}.rowid - p.first_row + 1 "
        f"FROM _batch_files b JOIN (SELECT _source_file AS path, min(rowid) AS first_row FROM {ods} "
        f"WHERE _batch_id = $batch_id GROUP BY 1) p USING (path) "
        f"WHERE {ods}._batch_id = $batch_id AND {ods}._source_file = b.path",
        {"batch_id": batch_id},
    )
    con.execute("DROP TABLE _batch_files")
    if table.mode == "FULL":
        _replace_snapshot(con, table, batch_id, biz_date)
    # the rows of earlier batches that this one replaced are gone from ods
    con.execute(
        "UPDATE meta.batch SET superseded_by = ? WHERE system = ? AND table_name = ? AND status = 'loaded' "
        "AND superseded_by IS NULL AND batch_id <> ? AND (? = 'FULL' OR biz_date = ?)",
        [batch_id, table.system, table.code, batch_id, table.mode, biz_date],
    )
    return sum(f.entry.rows for f in files)


def _csv_refusal(exc: duckdb.Error, table: Table, files: list[ReadyFile]) -> Refusal:
    """DuckDB's CSV error as a refusal naming the delivered file it occurred in: the message's
    `file = PATH` line names it (further down than the line, row and cause kept as the reason)."""
    lines = [line.strip() for line in str(exc).strip().splitlines()]
    culprit = next((f for f in files if any(line == f"file = {f.readable}" for line in lines)), files[0])
    cause = []
    for line in lines:
        if not line or line.startswith("Possible fixes"):
            break
        cause.append(line)
    message = "; ".join(cause)
    for f in files:
        message = message.replace(str(f.readable), f.entry.name)
    return Refusal(culprit.entry.name, "csv", f"RFC 4180 CSV with {len(table.columns)} columns", message)


def _replace_snapshot(con: duckdb.DuckDBPyConnection, table: Table, batch_id: str, biz_date: date) -> None:
    """Inside the load's transaction, after the new snapshot is inserted: rows of the replaced
    snapshot whose key it no longer delivers move to ods.<table>_departed, tagged with this batch;
    a departed key delivered again leaves that table; then the replaced snapshot is deleted.

    Keys compare as SAP compares them: trailing blanks and empty values do not count.
    """
    ods, departed = f"ods.{table.ods_name}", f"ods.{table.departed_name}"
    same_key = " AND ".join(f"coalesce(trim(n.\"{c}\"), '') = coalesce(trim(o.\"{c}\"), '')" for c in table.key)
    in_new = f"EXISTS (SELECT 1 FROM {ods} AS n WHERE n._batch_id = $batch_id AND {same_key})"
    params = {"batch_id": batch_id}
    con.execute(f"DELETE FROM {departed} AS o WHERE {in_new}", params)
    con.execute(f"INSERT INTO {departed} SELECT o.*, $batch_id, $biz_date FROM {ods} AS o "
                f"WHERE o._batch_id <> $batch_id AND NOT {in_new}", {**params, "biz_date": biz_date})
    con.execute(f"DELETE FROM {ods} WHERE _batch_id <> $batch_id", params)


@dataclass
class _Started:
    """A delivery whose control file passed and whose data files are being checked."""

    delivery: Delivery
    batch_id: str
    chk_md5: str
    control: ControlFile
    table: Table
    tmp: tempfile.TemporaryDirectory
    files: list[Future[ReadyFile]]
    started: float

    def base(self) -> dict:
        return _base(self.delivery, self.batch_id)


def _base(delivery: Delivery, batch_id: str) -> dict:
    return {"batch_id": batch_id, "system": delivery.system, "table": delivery.table,
            "biz_date": delivery.biz_date}


def _refuse(con: duckdb.DuckDBPyConnection, delivery: Delivery, batch_id: str, chk_md5: str,
            control: ControlFile | None, refusal: Refusal, started: float) -> Outcome:
    con.begin()
    _record(con, delivery, batch_id, chk_md5, control, "refused", refusal.rule, refusal.reason)
    con.commit()
    return Outcome(**_base(delivery, batch_id), status="refused", reason=refusal.reason,
                   seconds=time.perf_counter() - started)


def _start(con: duckdb.DuckDBPyConnection, delivery: Delivery, register: Register, workdir: Path,
           pool: Executor | None) -> Outcome | _Started:
    """Check the control file and start checking the data files; no data is written yet."""
    started = time.perf_counter()
    chk_md5 = delivery.chk_md5()
    batch_id = delivery.batch_id()
    done = _previous(con, batch_id)
    if done and done[0] in ("loaded", "skipped"):
        return Outcome(**_base(delivery, batch_id), status="unchanged", reason=f"already {done[0]}")
    control: ControlFile | None = None
    try:
        control = read_control(delivery)
        table = check_control(delivery, control, register)
    except Refusal as refusal:
        return _refuse(con, delivery, batch_id, chk_md5, control, refusal, started)
    tmp = tempfile.TemporaryDirectory(prefix="respool-", dir=workdir)
    files = start_files(delivery.folder, control, table.column_names, Path(tmp.name), pool)
    return _Started(delivery, batch_id, chk_md5, control, table, tmp, files, started)


def _finish(con: duckdb.DuckDBPyConnection, job: _Started,
            before_commit: Callable[[], None] | None = None) -> Outcome:
    """Load a started delivery in one transaction and record it; or record why not."""
    delivery, batch_id, control, table = job.delivery, job.batch_id, job.control, job.table
    try:
        done = _previous(con, batch_id)  # the same delivery may have been loaded meanwhile
        if done and done[0] in ("loaded", "skipped"):
            return Outcome(**job.base(), status="unchanged", reason=f"already {done[0]}")
        current = _current_snapshot_date(con, table) if table.mode == "FULL" else None
        if current and control.business_date < current:
            if done and done[0] == "refused":  # refused when it was current: keep that record as it is
                return Outcome(**job.base(), status="refused", reason=done[1])
            reason = f"snapshot of {control.biz_date} is older than the loaded snapshot of {current:%Y%m%d}"
            _record(con, delivery, batch_id, job.chk_md5, control, "skipped", "stale_snapshot", reason)
            return Outcome(**job.base(), status="skipped", reason=reason)
        files = collect_files(job.files)
        con.begin()
        try:
            ensure_ods_table(con, table)
            rows = _load(con, table, control, batch_id, files)
            _record(con, delivery, batch_id, job.chk_md5, control, "loaded", None, None)
            if before_commit:
                before_commit()
            con.commit()
        except BaseException:
            con.rollback()
            raise
        return Outcome(**job.base(), status="loaded", rows=rows, seconds=time.perf_counter() - job.started)
    except Refusal as refusal:
        return _refuse(con, delivery, batch_id, job.chk_md5, control, refusal, job.started)
    finally:
        wait(job.files)
        job.tmp.cleanup()


def ingest_delivery(con: duckdb.DuckDBPyConnection, delivery: Delivery, register: Register,
                    workdir: Path, before_commit: Callable[[], None] | None = None) -> Outcome:
    """Verify and load one delivery in one transaction, its files checked in this process; record
    the outcome in meta.batch."""
    job = _start(con, delivery, register, workdir, None)
    return job if isinstance(job, Outcome) else _finish(con, job, before_commit)


def ingest(con: duckdb.DuckDBPyConnection, landings: list[Path], register: Register,
           progress: Progress | None = None, workdir: Path | None = None,
           only: Callable[[Delivery], bool] | None = None) -> IngestReport:
    """Load every complete delivery under the landing roots, oldest business date first.

    While DuckDB loads one delivery, the worker processes already check the next one's files.
    """
    deliveries = [d for d in discover(landings, register) if only is None or only(d)]
    report = IngestReport()
    workdir = workdir or Path(tempfile.gettempdir())
    # data files are checked and transcoded on worker processes (the codecs hold the GIL) when there
    # is enough of them to repay starting the workers; a few small files are checked here
    workers = max(1, min(2, os.cpu_count() or 1))
    pool = None
    if _data_bytes(deliveries) >= config.ingest_workers_from_bytes():
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_init, initargs=(os.getpid(),))
        _running_pools.append(pool)
        for _ in range(workers):
            pool.submit(warm_up)
    delivery: Delivery | None = None
    upcoming: Outcome | _Started | None = None
    try:
        if deliveries:
            delivery = deliveries[0]  # its files are being checked: stopping now interrupts it
            upcoming = _start(con, delivery, register, workdir, pool)
        for i, delivery in enumerate(deliveries, start=1):
            current = upcoming
            upcoming = None
            upcoming = _start(con, deliveries[i], register, workdir, pool) if i < len(deliveries) else None
            outcome = current if isinstance(current, Outcome) else _finish(con, current)
            report.outcomes.append(outcome)
            if progress:
                detail = f"{outcome.rows:>10,} rows" if outcome.status == "loaded" else outcome.reason
                progress(f"[{i}/{len(deliveries)}] {delivery.biz_date} {delivery.system}.{delivery.table:<13} "
                         f"{outcome.status:<9} {detail}  ({outcome.seconds:.1f} s)")
    except BaseException as exc:
        interruption = _interruption(exc)
        if interruption is not None and pool is not None:
            _stop_workers(pool)
        if isinstance(upcoming, _Started):
            wait(upcoming.files)
            upcoming.tmp.cleanup()
        if interruption is None and _out_of_space(exc):
            where = f"{delivery.system}.{delivery.table} {delivery.biz_date}" if delivery else "the ingest"
            raise DiskFull(f"no space left on the device while loading {where}: the delivery was rolled back "
                           f"and its temporary copies removed; free space and run the ingest again") from exc
        if interruption is None:
            raise
        if delivery is not None and not any(o.batch_id == delivery.batch_id() for o in report.outcomes):
            _record_interrupted(con, delivery, interruption)
        if interruption is exc:
            raise
        raise interruption from None
    finally:
        if pool is not None:
            _running_pools.remove(pool)
            pool.shutdown(wait=True, cancel_futures=True)
    return report


def _data_bytes(deliveries: list[Delivery]) -> int:
    """The size of the deliveries' data files as they lie in the landing folder."""
    return sum(path.stat().st_size for d in deliveries
               for path in d.folder.glob(f"{d.system}_{d.table}_{d.biz_date}_*") if path.is_file())


def _record_interrupted(con: duckdb.DuckDBPyConnection, delivery: Delivery, why: BaseException) -> None:
    """The delivery whose load was broken off: rolled back, recorded so, taken again next run."""
    with contextlib.suppress(duckdb.Error):
        con.rollback()  # already rolled back by _finish; nothing open otherwise
    done = _previous(con, delivery.batch_id())
    if done and done[0] in ("loaded", "skipped"):
        return
    con.begin()
    _record(con, delivery, delivery.batch_id(), delivery.chk_md5(), None, "interrupted", "interrupted",
            f"{str(why) or type(why).__name__}: rolled back, loaded again by the next run")
    con.commit()
