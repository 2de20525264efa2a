"""Backups of the system's data and logs (备份系统数据与日志): the database, the data service's access
database and its audit log, with a manifest of sizes and SHA-256 checksums.

`backup(...)` writes ROOT/<UTC time>/ through a `.partial` folder renamed when complete, so a
backup that exists is whole; the database is copied after a CHECKPOINT while this process holds
its write lock (nothing changes it meanwhile), the access database through SQLite's backup API.
`restore(...)` verifies every checksum before it replaces anything, and replaces each file
atomically. `prune(root, keep)` keeps the newest `keep` backups. `newest_backup(root)` is named
when a database turns out damaged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.durable import fsync
from pipelines.ingest.db import connect

MANIFEST = "manifest.json"
DB_FILE, ACCESS_FILE, AUDIT_FILE = "respool.duckdb", "access.db", "audit.jsonl"


class BackupError(RuntimeError):
    """A backup cannot be written, or a backup is damaged and will not be restored."""


@dataclass(frozen=True)
class Restored:
    files: dict[str, Path]  # backup file -> where it was restored


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup(root: Path, db: Path, access_db: Path | None = None, audit_log: Path | None = None,
           now: datetime | None = None) -> Path:
    """Back up the database (required) and the access database and audit log where they exist."""
    if not db.exists():
        raise BackupError(f"no database at {db} — nothing to back up")
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    final = root / stamp
    partial = root / f"{stamp}.partial"
    partial.mkdir(parents=True)
    try:
        files: dict[str, dict] = {}
        with connect(db, create=False) as con:  # holds the write lock while the file is copied
            con.execute("CHECKPOINT")
            shutil.copyfile(db, partial / DB_FILE)
        files[DB_FILE] = {"source": str(db.resolve())}
        if access_db is not None and access_db.exists():
            with sqlite3.connect(access_db) as src, sqlite3.connect(partial / ACCESS_FILE) as dst:
                src.backup(dst)
            files[ACCESS_FILE] = {"source": str(access_db.resolve())}
        if audit_log is not None and audit_log.exists():
            shutil.copyfile(audit_log, partial / AUDIT_FILE)
            files[AUDIT_FILE] = {"source": str(audit_log.resolve())}
        for name, entry in files.items():
            entry.update(bytes=(partial / name).stat().st_size, sha256=_sha256(partial / name))
        manifest = {"created_at": datetime.now(UTC).isoformat(timespec="seconds"), "host": socket.gethostname(),
                    "files": files}
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        for path in partial.iterdir():
            fsync(path)
        os.replace(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def verify(folder: Path) -> dict:
    """The backup's manifest, once every file in it has its size and checksum; BackupError naming
    the first damaged or missing file otherwise."""
    manifest_path = folder / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{manifest_path}: no readable manifest ({exc})") from None
    for name, entry in files.items():
        path = folder / name
        if not path.exists():
            raise BackupError(f"{path}: missing from the backup")
        size = path.stat().st_size
        if size != entry["bytes"]:
            raise BackupError(f"{path}: {size} bytes, the manifest says {entry['bytes']} — the backup is damaged")
        if _sha256(path) != entry["sha256"]:
            raise BackupError(f"{path}: checksum differs from the manifest — the backup is damaged")
    return manifest


def restore(folder: Path, db: Path, access_db: Path | None = None, audit_log: Path | None = None) -> Restored:
    """Verify the whole backup, then put each of its files in place (atomically, one by one)."""
    manifest = verify(folder)
    targets = {DB_FILE: db, ACCESS_FILE: access_db, AUDIT_FILE: audit_log}
    restored = {}
    for name in manifest["files"]:
        target = targets.get(name)
        if target is None:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(target.name + ".restoring")
        shutil.copyfile(folder / name, staging)
        fsync(staging)
        if name == DB_FILE:
            target.with_name(target.name + ".wal").unlink(missing_ok=True)  # a log of the file replaced
        os.replace(staging, target)
        restored[name] = target
    return Restored(restored)


def backups(root: Path) -> list[Path]:
    """Complete backups under root, oldest first."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.endswith(".partial")
                  and (p / MANIFEST).exists())


def newest_backup(root: Path) -> Path | None:
    found = backups(root)
    return found[-1] if found else None


def prune(root: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups (and partial ones a killed backup left); the removed."""
    if keep < 1:
        raise BackupError(f"keep must be at least 1, not {keep}")
    removed = []
    for old in backups(root)[:-keep]:
        shutil.rmtree(old)
        removed.append(old)
    if root.is_dir():
        for partial in root.glob("*.partial"):
            shutil.rmtree(partial, ignore_errors=True)
            removed.append(partial)
    return removed
