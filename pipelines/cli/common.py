"""What every `respool` command module shares: the consoles, progress lines, the --db option,
business-date parsing and opening the database with a clear error."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipelines import config

# wide tables stay readable when the output goes to a file or a pipe
console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

DbOption = Annotated[Path | None, typer.Option(
    "--db", help="DuckDB file (default $RESPOOL_DB, else data/respool.duckdb)", show_default=False)]


def progress(line: str) -> None:
    err.print(line, highlight=False)


def parse_day(text: str) -> date:
    """YYYY-MM-DD or YYYYMMDD."""
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)")


EXIT_TRY_AGAIN = 75  # EX_TEMPFAIL: the database is locked by another process; a scheduler retries
EXIT_IO_ERROR = 74  # EX_IOERR: the disk is full; the load was rolled back


def open_db(db: Path | None, read_only: bool = False, create: bool = False):
    """The database (default $RESPOOL_DB). Only `create=True` (ingest) makes a new one. Exits 2
    when it is missing or damaged, 75 when another process holds it."""
    from pipelines.ingest.db import DatabaseDamaged, DatabaseLocked, connect

    path = db or config.default_db()
    try:
        return connect(path, read_only=read_only, create=create)
    except DatabaseLocked as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_TRY_AGAIN) from None
    except DatabaseDamaged as exc:
        from pipelines.backup import newest_backup

        newest = newest_backup(config.backup_dir())
        hint = (f"newest backup: {newest} — respool restore {newest} --db {path}" if newest
                else f"no backup in {config.backup_dir()}")
        err.print(f"[red]{exc}[/red]\n{hint}")
        raise typer.Exit(2) from None
    except (OSError, RuntimeError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def require_loaded(con, db: Path | None) -> None:
    """Exit 2 when no delivery was ever loaded into the database: there is nothing to build or check."""
    if con.execute("SELECT count(*) FROM meta.batch WHERE status = 'loaded'").fetchone()[0] == 0:
        err.print(f"[red]{db or config.default_db()} 中尚无已加载的交付 holds no loaded delivery — "
                  f"run respool ingest first[/red]")
        raise typer.Exit(2)
