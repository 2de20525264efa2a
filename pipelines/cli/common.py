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


def open_db(db: Path | None, read_only: bool = False):
    """The database (default $RESPOOL_DB); exits 2 with the reason when it cannot be opened."""
    from pipelines.ingest.db import connect

    path = db or config.default_db()
    try:
        return connect(path, read_only=read_only)
    except (FileNotFoundError, OSError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
