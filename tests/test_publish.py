"""Publishing keeps each database's snapshot its own: the default target follows the database,
every snapshot records where it came from, and a snapshot of one database is not replaced by
another's unless asked (`--replace-source`)."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from models.build import build
from models.loader import load_models
from pipelines.cli import app
from pipelines.ingest.db import connect
from pipelines.ingest.load import ingest
from pipelines.publish import read_provenance
from quality.runner import run_checks
from tests.pool_scenario import deliver_scenario


@pytest.fixture(scope="module")
def checked_db(tmp_path_factory, register) -> Path:
    """A database of the pool scenario, built and checked: publishable."""
    tmp = tmp_path_factory.mktemp("publish")
    deliver_scenario(tmp / "landing", register)
    db = tmp / "source" / "respool.duckdb"
    con = connect(db)
    try:
        assert not ingest(con, [tmp / "landing"], register).refused
        assert not build(con, load_models()).failed
        assert not run_checks(con, register).failed_errors
    finally:
        con.close()
    return db


@pytest.fixture
def two_databases(tmp_path, checked_db, monkeypatch) -> tuple[Path, Path]:
    monkeypatch.delenv("RESPOOL_PUBLISHED_DB", raising=False)
    a, b = tmp_path / "prod" / "respool.duckdb", tmp_path / "trial" / "respool.duckdb"
    for db in (a, b):
        db.parent.mkdir(parents=True)
        shutil.copyfile(checked_db, db)
    return a, b


def _publish(*args: str):
    return CliRunner().invoke(app, ["publish", *args])


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_two_databases_published_with_defaults_keep_two_snapshots(two_databases):
    a, b = two_databases
    for db in (a, b):
        out = _publish("--db", str(db))
        assert out.exit_code == 0, out.output
    snap_a, snap_b = a.parent / "published" / "respool.duckdb", b.parent / "published" / "respool.duckdb"
    assert read_provenance(snap_a).source_db == str(a.resolve())
    assert read_provenance(snap_b).source_db == str(b.resolve())
    assert not (a.parent / "published" / "respool.duckdb.publishing").exists()


def test_publishing_another_database_onto_a_snapshot_needs_replace_source(two_databases):
    a, b = two_databases
    snap_a = a.parent / "published" / "respool.duckdb"
    assert _publish("--db", str(a)).exit_code == 0
    before = _md5(snap_a)

    refused = _publish("--db", str(b), "--to", str(snap_a))
    assert refused.exit_code == 1
    message = " ".join(refused.output.split())
    assert "未发布 not published" in message and f"published from another database, {a.resolve()}" in message
    assert "--replace-source" in message
    assert _md5(snap_a) == before  # untouched
    assert read_provenance(snap_a).source_db == str(a.resolve())

    replaced = _publish("--db", str(b), "--to", str(snap_a), "--replace-source")
    assert replaced.exit_code == 0, replaced.output
    assert read_provenance(snap_a).source_db == str(b.resolve())


def test_the_environment_target_is_guarded_too(two_databases, monkeypatch):
    """The operator's case: production's snapshot set in $RESPOOL_PUBLISHED_DB, a trial published."""
    a, b = two_databases
    production = a.parent / "published" / "respool.duckdb"
    monkeypatch.setenv("RESPOOL_PUBLISHED_DB", str(production))
    assert _publish("--db", str(a)).exit_code == 0
    before = _md5(production)
    assert _publish("--db", str(b)).exit_code == 1
    assert _md5(production) == before
    assert not (b.parent / "published").exists()


def test_provenance_is_readable_from_the_snapshot(two_databases):
    a, _ = two_databases
    started = datetime.now(UTC).replace(tzinfo=None)
    assert _publish("--db", str(a)).exit_code == 0
    snapshot = a.parent / "published" / "respool.duckdb"
    con = connect(snapshot, read_only=True)
    try:
        rows = con.execute("SELECT source_db, biz_date, quality_run_id, dagster_run_id, published_at "
                           "FROM meta.publication").fetchall()
        latest_run = con.execute("SELECT run_id FROM meta.quality_result ORDER BY run_at DESC LIMIT 1").fetchone()[0]
    finally:
        con.close()
    assert len(rows) == 1
    source_db, biz_date, quality_run_id, dagster_run_id, published_at = rows[0]
    assert (source_db, biz_date, quality_run_id, dagster_run_id) == (
        str(a.resolve()), date(2026, 10, 27), latest_run, None)
    assert started - timedelta(seconds=1) <= published_at <= datetime.now(UTC).replace(tzinfo=None)
    # the provenance row is written into the copy only: the source database records no publication
    source = connect(a, read_only=True)
    try:
        assert source.execute("SELECT count(*) FROM meta.publication").fetchone()[0] == 0
    finally:
        source.close()


def test_summary_shows_where_the_published_snapshot_came_from(two_databases):
    a, _ = two_databases
    before = CliRunner().invoke(app, ["summary", "--db", str(a)])
    assert "尚未发布 not published yet" in before.output
    assert _publish("--db", str(a)).exit_code == 0
    out = CliRunner().invoke(app, ["summary", "--db", str(a)])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())  # rich wraps long lines
    line = text[text.index("已发布快照"):]
    assert f"来源 source {a.resolve()}" in line and "业务日期 business date 2026-10-27" in line


def test_a_target_that_is_not_a_snapshot_is_refused_and_left_alone(two_databases, tmp_path):
    a, _ = two_databases
    notes = tmp_path / "notes.duckdb"
    notes.write_text("月末对账备忘 not a database\n", encoding="utf-8")
    out = _publish("--db", str(a), "--to", str(notes))
    assert out.exit_code == 1
    assert "is not a published snapshot" in " ".join(out.output.split())
    assert notes.read_text(encoding="utf-8") == "月末对账备忘 not a database\n"
