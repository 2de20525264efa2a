"""Publishing: a copy of the database that analysts read, swapped in atomically, and only when
the latest quality run of every suite has no failing `error` check.

Every snapshot carries its provenance in `meta.publication` (one row: source database, runs,
business date, time). A snapshot published from one database is never replaced by another
database's unless the caller says so (`replace_source`): a trial database published with a
stray `--to`, or with $RESPOOL_PUBLISHED_DB set for production, must not overwrite it.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from pipelines.durable import fsync
from pipelines.ingest.db import DatabaseDamaged, connect
from quality.history import latest_results


class PublishRefused(RuntimeError):
    """Blocking checks failed (or never ran), or the target belongs to another source database:
    the published snapshot stays as it was."""


@dataclass(frozen=True)
class Provenance:
    publication_id: str
    source_db: str
    quality_run_id: str | None
    dagster_run_id: str | None
    biz_date: date | None
    published_at: datetime
    published_on: str | None


def blocking_failures(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return [r for r in latest_results(con) if r["severity"] == "error" and not r["success"]]


def read_provenance(snapshot: Path) -> Provenance | None:
    """Where a published snapshot came from; None when it has no record (or does not exist).
    Raises PublishRefused when the file is not a DuckDB database."""
    if not snapshot.exists():
        return None
    try:
        con = connect(snapshot, read_only=True)
    except DatabaseDamaged as exc:
        raise PublishRefused(f"{snapshot} exists and is not a published snapshot: {exc.detail}") from None
    except duckdb.Error as exc:
        raise PublishRefused(f"{snapshot} exists and is not a published snapshot: "
                             f"{str(exc).strip().splitlines()[0]}") from None
    try:
        has = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta' "
                          "AND table_name = 'publication'").fetchone()[0]
        row = con.execute("SELECT publication_id, source_db, quality_run_id, dagster_run_id, biz_date, "
                          "published_at, published_on FROM meta.publication").fetchone() if has else None
    finally:
        con.close()
    return Provenance(*row) if row else None


def _source_facts(con: duckdb.DuckDBPyConnection, results: list[dict]) -> tuple[str, date | None]:
    """The latest quality run among `results` (never empty: publishing needs one) and the newest
    business date loaded (connect() made meta.batch)."""
    run_id = max(results, key=lambda r: r["run_at"])["run_id"]
    biz_date = con.execute("SELECT max(biz_date) FROM meta.batch WHERE status = 'loaded'").fetchone()[0]
    return run_id, biz_date


def publish(db: Path, target: Path, *, replace_source: bool = False, dagster_run_id: str | None = None) -> Path:
    """Checkpoint, copy beside the target, record the provenance in the copy, then rename it over
    the target: readers see old or new, never half (`config.published_db(db)` is the default target)."""
    source = db.resolve()
    if not source.exists():
        raise PublishRefused(f"database {db} does not exist")
    current = read_provenance(target)
    if current is not None and Path(current.source_db) != source and not replace_source:
        raise PublishRefused(
            f"{target} was published from another database, {current.source_db} "
            f"(business date {current.biz_date}, {current.published_at:%Y-%m-%d %H:%M:%S} UTC); "
            f"publishing {source} there would replace it: pass --replace-source if that is intended")
    with connect(source) as con:
        results = latest_results(con)
        if not results:
            raise PublishRefused("no quality run recorded: run `respool check` first")
        failures = blocking_failures(con)
        if failures:
            names = ", ".join(f"{r['suite']}.{r['expectation_id']}" for r in failures[:5])
            raise PublishRefused(f"{len(failures)} blocking (error) checks failed: {names}")
        quality_run_id, biz_date = _source_facts(con, results)
        con.execute("CHECKPOINT")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(target.name + ".publishing")
    _remove_staging(staging)  # a copy a killed publish left: never reused, its WAL least of all
    try:
        shutil.copyfile(source, staging)
        with connect(staging) as copy:
            copy.execute("DELETE FROM meta.publication")  # connect() created the system tables
            copy.execute("INSERT INTO meta.publication VALUES (?, ?, ?, ?, ?, ?, ?)",
                         [uuid.uuid4().hex[:12], str(source), quality_run_id, dagster_run_id, biz_date,
                          datetime.now(UTC).replace(tzinfo=None), socket.gethostname()])
            copy.execute("CHECKPOINT")
        fsync(staging)  # on disk before it becomes the snapshot: a power cut leaves old or new
        os.replace(staging, target)
        fsync(target.parent)
    finally:
        _remove_staging(staging)
    return target


def _remove_staging(staging: Path) -> None:
    for path in (staging, staging.with_name(staging.name + ".wal")):
        path.unlink(missing_ok=True)

