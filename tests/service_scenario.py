"""A published snapshot of a small generated delivery (every company code, two business dates),
shared by the data-service tests: generate → ingest → build → check → publish, once a session."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.build import build
from models.loader import load_models
from pipelines.config import landing_roots
from pipelines.ingest.db import connect
from pipelines.ingest.load import ingest
from pipelines.publish import publish
from quality.runner import run_checks
from sample_data.generator import generate


@pytest.fixture(scope="session")
def published_sample(tmp_path_factory, register) -> Path:
    tmp = tmp_path_factory.mktemp("published-sample")
    generate(tmp / "landing", days=2, scale=0.02, seed=5)
    db = tmp / "respool.duckdb"
    con = connect(db)
    try:
        ingest(con, landing_roots(tmp / "landing"), register)
        assert not build(con, load_models()).failed
        assert not run_checks(con, register).failed_errors
    finally:
        con.close()
    return publish(db, tmp / "published" / "respool.duckdb")
