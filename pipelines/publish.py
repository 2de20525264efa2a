"""Publishing: a copy of the database that analysts read, swapped in atomically, and only when
the latest quality run of every suite has no failing `error` check."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from quality.history import latest_results


class PublishRefused(RuntimeError):
    """Blocking checks failed (or never ran): the published snapshot stays as it was."""


def blocking_failures(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return [r for r in latest_results(con) if r["severity"] == "error" and not r["success"]]


def publish(db: Path, target: Path) -> Path:
    """Checkpoint, copy beside the target, then rename over it: readers see old or new, never half."""
    con = duckdb.connect(str(db))
    try:
        if not latest_results(con):
            raise PublishRefused("no quality run recorded: run `respool check` first")
        failures = blocking_failures(con)
        if failures:
            names = ", ".join(f"{r['suite']}.{r['expectation_id']}" for r in failures[:5])
            raise PublishRefused(f"{len(failures)} blocking (error) checks failed: {names}")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(target.name + ".publishing")
    shutil.copyfile(db, staging)
    os.replace(staging, target)
    return target
