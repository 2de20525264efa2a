"""What every `respool` command module shares: the --db option and business-date parsing."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

DbOption = Annotated[Path | None, typer.Option(
    "--db", help="DuckDB file (default $RESPOOL_DB, else data/respool.duckdb)", show_default=False)]


def parse_day(text: str) -> date:
    """YYYY-MM-DD or YYYYMMDD."""
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)")
