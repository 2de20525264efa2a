"""Where things are: paths from environment variables, with working defaults."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A re-run that headquarters delivers after the first delivery of a date is placed here,
# below the landing root, and is taken after that first delivery.
REDELIVERY_FOLDER = "redelivery"
FIRST_BIZ_DATE = "2026-01-01"


def home() -> Path:
    """RESPOOL_HOME, else the checkout."""
    return Path(os.environ.get("RESPOOL_HOME") or PROJECT_ROOT)


def default_db() -> Path:
    """$RESPOOL_DB, else data/respool.duckdb under RESPOOL_HOME."""
    return Path(os.environ.get("RESPOOL_DB") or home() / "data" / "respool.duckdb")


def default_landing() -> Path:
    """$RESPOOL_LANDING, else data/landing under RESPOOL_HOME."""
    return Path(os.environ.get("RESPOOL_LANDING") or home() / "data" / "landing")


def landing_roots(landing: Path) -> list[Path]:
    """The landing root and its re-delivery root, in the order they are taken."""
    return [landing, landing / REDELIVERY_FOLDER]


def first_biz_date() -> str:
    """First business date (YYYY-MM-DD) of the Dagster partitions: $RESPOOL_FIRST_BIZ_DATE."""
    return os.environ.get("RESPOOL_FIRST_BIZ_DATE") or FIRST_BIZ_DATE


def quality_dir() -> Path:
    """Quality report, Data Docs and GX stores: $RESPOOL_QUALITY_DIR, else data/quality."""
    return Path(os.environ.get("RESPOOL_QUALITY_DIR") or home() / "data" / "quality")


def published_db(db: Path | None = None) -> Path:
    """The read-only snapshot analysts query: $RESPOOL_PUBLISHED_DB, else the database's own,
    DIR/published/NAME.duckdb for DIR/NAME.duckdb (db defaults to default_db())."""
    if os.environ.get("RESPOOL_PUBLISHED_DB"):
        return Path(os.environ["RESPOOL_PUBLISHED_DB"])
    db = db or default_db()
    return db.parent / "published" / db.name


def default_access_db() -> Path:
    """Users and roles of the data service: $RESPOOL_ACCESS_DB, else data/access/access.db."""
    return Path(os.environ.get("RESPOOL_ACCESS_DB") or home() / "data" / "access" / "access.db")


def default_audit_log() -> Path:
    """The data service's audit log: $RESPOOL_AUDIT_LOG, else data/access/audit.jsonl."""
    return Path(os.environ.get("RESPOOL_AUDIT_LOG") or home() / "data" / "access" / "audit.jsonl")


def catalog_dir() -> Path:
    """The data catalog's static site: $RESPOOL_CATALOG_DIR, else data/catalog under RESPOOL_HOME."""
    return Path(os.environ.get("RESPOOL_CATALOG_DIR") or home() / "data" / "catalog")


def backup_dir() -> Path:
    """Backups of the database, access database and audit log: $RESPOOL_BACKUP_DIR, else data/backups."""
    return Path(os.environ.get("RESPOOL_BACKUP_DIR") or home() / "data" / "backups")


def backup_keep() -> int:
    """How many backups the nightly backup keeps: $RESPOOL_BACKUP_KEEP, else 7."""
    return int(os.environ.get("RESPOOL_BACKUP_KEEP") or 7)


def ingest_workers_from_bytes() -> int:
    """Deliveries to check with at least this many bytes of data files get worker processes (starting
    them costs about a second; below it the files are checked in the ingesting process):
    $RESPOOL_INGEST_WORKERS_FROM_MB, else 8 MB."""
    return int(float(os.environ.get("RESPOOL_INGEST_WORKERS_FROM_MB") or 8) * 1024 * 1024)
