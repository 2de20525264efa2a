"""Backups (pipelines/backup.py, `respool backup|restore`, the Dagster backup asset): a round trip
restores the database, access database and audit log exactly; a damaged backup is refused with
nothing replaced; old backups are pruned; a damaged database names the newest backup."""

from __future__ import annotations

import hashlib
import json
import shutil

import dagster as dg
import pytest
from typer.testing import CliRunner

from pipelines.backup import BackupError, backup, backups, prune, restore, verify
from pipelines.cli import app
from pipelines.ingest.db import connect
from pipelines.orchestration.control_assets import BackupResource, nightly_backup
from pipelines.orchestration.resources import RespoolResource
from serve.access import add_user, authenticate, list_users
from tests.conftest import table_fingerprint

runner = CliRunner()


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def system(published_sample, tmp_path):
    """A database, an access database with one analyst and an audit log, as a running system has."""
    db = tmp_path / "data" / "respool.duckdb"
    db.parent.mkdir()
    shutil.copy(published_sample.parents[1] / "respool.duckdb", db)
    access, audit = tmp_path / "data" / "access" / "access.db", tmp_path / "data" / "access" / "audit.jsonl"
    access.parent.mkdir()
    token = add_user(access, "wang", "ZJ01")
    audit.write_text('{"user": "wang", "sql": "SELECT 1"}\n', encoding="utf-8")
    return db, access, audit, token


def test_round_trip_restores_every_file_exactly(system, tmp_path):
    db, access, audit, token = system
    with connect(db, read_only=True) as con:
        before = {t: table_fingerprint(con, t) for t in ("dwd.dwd_ar_item", "meta.batch", "ods.bseg")}
    folder = backup(tmp_path / "backups", db, access, audit)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(manifest["files"]) == ["access.db", "audit.jsonl", "respool.duckdb"]
    for name, entry in manifest["files"].items():
        assert entry["bytes"] == (folder / name).stat().st_size
        assert entry["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    # the system changes after the backup ...
    with connect(db) as con:
        con.execute("DELETE FROM dwd.dwd_ar_item")
    add_user(access, "li", "ZJ02")
    audit.write_text("", encoding="utf-8")
    # ... and the backup brings it back
    done = restore(folder, db, access, audit)
    assert sorted(done.files) == ["access.db", "audit.jsonl", "respool.duckdb"]
    with connect(db, read_only=True) as con:
        assert {t: table_fingerprint(con, t) for t in before} == before
    assert [u.name for u in list_users(access)] == ["wang"]
    assert authenticate(access, token).name == "wang"
    assert audit.read_text(encoding="utf-8") == '{"user": "wang", "sql": "SELECT 1"}\n'


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "missing file", "no manifest"])
def test_a_damaged_backup_is_refused_and_nothing_is_replaced(system, tmp_path, damage):
    db, access, audit, _ = system
    folder = backup(tmp_path / "backups", db, access, audit)
    copy = folder / "respool.duckdb"
    if damage == "flipped byte":
        raw = bytearray(copy.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        copy.write_bytes(bytes(raw))
    elif damage == "truncated":
        copy.write_bytes(copy.read_bytes()[:4096])
    elif damage == "missing file":
        (folder / "audit.jsonl").unlink()
    else:
        (folder / "manifest.json").unlink()
    before = {p: _md5(p) for p in (db, access, audit)}
    with pytest.raises(BackupError, match=r"damaged|missing|no readable manifest"):
        restore(folder, db, access, audit)
    assert {p: _md5(p) for p in before} == before
    result = runner.invoke(app, ["restore", str(folder), "--db", str(db), "--access-db", str(access),
                                 "--audit-log", str(audit)])
    assert result.exit_code == 2 and "not restored" in result.output
    assert {p: _md5(p) for p in before} == before


def test_prune_keeps_the_newest_and_clears_partial_backups(system, tmp_path):
    db, *_ = system
    root = tmp_path / "backups"
    made = [backup(root, db) for _ in range(4)]
    (root / "20990101T000000000000Z.partial").mkdir()  # a killed backup's leftovers
    removed = prune(root, keep=2)
    assert backups(root) == made[2:]
    assert sorted(p.name for p in removed) == sorted([made[0].name, made[1].name, "20990101T000000000000Z.partial"])
    for folder in backups(root):
        verify(folder)
    with pytest.raises(BackupError):
        prune(root, keep=0)


def test_cli_backup_and_a_damaged_database_names_the_newest_backup(system, tmp_path, monkeypatch):
    db, access, audit, _ = system
    root = tmp_path / "backups"
    monkeypatch.setenv("RESPOOL_BACKUP_DIR", str(root))
    monkeypatch.setenv("RESPOOL_ACCESS_DB", str(access))
    monkeypatch.setenv("RESPOOL_AUDIT_LOG", str(audit))
    first = runner.invoke(app, ["backup", "--db", str(db)])
    second = runner.invoke(app, ["backup", "--db", str(db), "--keep", "1"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    (newest,) = backups(root)
    assert str(newest) in second.output and "removed old backup" in second.output
    db.write_bytes(db.read_bytes()[:10000])  # the database is damaged
    result = runner.invoke(app, ["summary", "--db", str(db)])
    assert result.exit_code == 2
    said = " ".join(result.output.split())  # the console wraps long lines
    assert "is damaged" in said and f"respool restore {newest} --db {db}" in said
    restored = runner.invoke(app, ["restore", str(newest), "--db", str(db)])
    assert restored.exit_code == 0, restored.output
    assert runner.invoke(app, ["summary", "--db", str(db)]).exit_code == 0


def test_the_nightly_backup_asset_keeps_the_newest_n(system, tmp_path, monkeypatch):
    db, access, audit, _ = system
    monkeypatch.setenv("RESPOOL_ACCESS_DB", str(access))
    monkeypatch.setenv("RESPOOL_AUDIT_LOG", str(audit))
    root = tmp_path / "nightly"
    resources = {"respool": RespoolResource(db_path=str(db)), "backups": BackupResource(root=str(root), keep=2)}
    with dg.DagsterInstance.ephemeral() as instance:
        for _ in range(3):
            assert dg.materialize([nightly_backup], resources=resources, instance=instance).success
    kept = backups(root)
    assert len(kept) == 2
    assert sorted(json.loads((kept[-1] / "manifest.json").read_text())["files"]) == \
        ["access.db", "audit.jsonl", "respool.duckdb"]
