"""Dagster resources: where the database file and the landing folder are."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from pipelines import config
from pipelines.ingest.db import DatabaseLocked, connect


class RespoolResource(dg.ConfigurableResource):
    """The DuckDB file the pipeline writes and the landing root deliveries arrive in."""

    db_path: str = Field(default_factory=lambda: str(config.default_db()),
                         description="DuckDB file ($RESPOOL_DB)")
    landing: str = Field(default_factory=lambda: str(config.default_landing()),
                         description="landing root ($RESPOOL_LANDING); re-deliveries below it in redelivery/")

    @property
    def landing_roots(self) -> list[Path]:
        return config.landing_roots(Path(self.landing))

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A connection to use as a context manager (`with respool.connect() as con:`): closed,
        and the file's lock released, when the block ends, however it ends.

        When another process holds the database (a CLI run, a second Dagster instance), the step
        asks to be retried: after 5, 10, 20, 40 and 80 s, then it fails naming the holder."""
        try:
            return connect(self.db_path)
        except DatabaseLocked as exc:
            raise locked_retry(exc) from None


LOCK_RETRIES = 5
LOCK_FIRST_WAIT_S = 5.0


def locked_retry(exc: DatabaseLocked) -> Exception:
    """A retry request with exponential backoff for the running step; a Failure once retries run out
    (or outside a step)."""
    try:
        attempt = dg.OpExecutionContext.get().retry_number
    except dg.DagsterInvariantViolationError:  # no step is running (a sensor, a test): nothing to retry
        return dg.Failure(description=str(exc))
    if attempt >= LOCK_RETRIES:
        return dg.Failure(description=f"{exc} (tried {attempt + 1} times)")
    return dg.RetryRequested(max_retries=LOCK_RETRIES, seconds_to_wait=LOCK_FIRST_WAIT_S * 2 ** attempt)
