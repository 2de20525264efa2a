"""`respool backup|restore`: backups of the database, the access database and the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines import config
from pipelines.cli.common import EXIT_TRY_AGAIN, DbOption, console, err

commands = typer.Typer(add_completion=False)


@commands.command()
def backup(
    out: Annotated[Path | None, typer.Option(help="backup root (default $RESPOOL_BACKUP_DIR, else data/backups)")]
    = None,
    db: DbOption = None,
    keep: Annotated[int | None, typer.Option(help="keep only the newest N backups (default: keep all)")] = None,
) -> None:
    """备份: a consistent copy of the database, access database and audit log, with a manifest of
    sizes and SHA-256 checksums, in OUT/<UTC time>/."""
    from pipelines.backup import BackupError, prune
    from pipelines.backup import backup as run_backup
    from pipelines.ingest.db import DatabaseLocked

    root = out or config.backup_dir()
    try:
        folder = run_backup(root, db or config.default_db(), config.default_access_db(), config.default_audit_log())
        removed = prune(root, keep) if keep else []
    except DatabaseLocked as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_TRY_AGAIN) from None
    except (BackupError, OSError, RuntimeError) as exc:
        err.print(f"[red]备份失败 backup failed: {exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"已备份 backed up: {folder}")
    for path in removed:
        console.print(f"  已删除旧备份 removed old backup {path.name}")


@commands.command()
def restore(
    folder: Annotated[Path, typer.Argument(help="a backup folder written by respool backup")],
    db: DbOption = None,
    access_db: Annotated[Path | None, typer.Option(help="restore the access database here (default "
                                                        "$RESPOOL_ACCESS_DB)")] = None,
    audit_log: Annotated[Path | None, typer.Option(help="restore the audit log here (default $RESPOOL_AUDIT_LOG)")]
    = None,
) -> None:
    """恢复: verify every checksum of the backup, then put its files in place; a damaged backup is
    refused and nothing is replaced."""
    from pipelines.backup import BackupError
    from pipelines.backup import restore as run_restore

    try:
        done = run_restore(folder, db or config.default_db(), access_db or config.default_access_db(),
                           audit_log or config.default_audit_log())
    except BackupError as exc:
        err.print(f"[red]未恢复 not restored: {exc}[/red]")
        raise typer.Exit(2) from None
    for name, target in done.files.items():
        console.print(f"已恢复 restored {name} → {target}")
