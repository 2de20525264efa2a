"""Dagster resources: where the database file and the landing folder are."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from pipelines import config
from pipelines.ingest.db import connect


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
        and the file's lock released, when the block ends, however it ends."""
        return connect(self.db_path)
