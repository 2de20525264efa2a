"""`respool generate`: sample deliveries per the delivery contract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli.common import console, parse_day, progress

commands = typer.Typer(add_completion=False)


@commands.command()
def generate(
    out: Annotated[Path, typer.Option(help="landing folder to write into")],
    days: Annotated[int, typer.Option(min=1, help="number of business dates")] = 7,
    scale: Annotated[float, typer.Option(min=0.001, help="1 ≈ 100,000 BSEG lines in all")] = 1.0,
    seed: Annotated[int, typer.Option(help="random seed; same seed, same files")] = 1,
    start: Annotated[str, typer.Option(help="first business date")] = "2026-10-26",
    rows_per_file: Annotated[int, typer.Option(min=1, help="split data files after this many rows")] = 50000,
    clean: Annotated[bool, typer.Option("--clean", help="write no deliberate defects")] = False,
) -> None:
    """Write sample deliveries per the delivery contract (with documented deliberate defects)."""
    from sample_data.generator import generate as run_generator

    manifest = run_generator(out, days=days, scale=scale, seed=seed, start=parse_day(start),
                             rows_per_file=rows_per_file, defects=not clean, progress=progress)
    n_defects = len(manifest.get("defects", []))
    console.print(f"generated {days} business dates under {out} ({n_defects} deliberate defects, "
                  f"see {out / 'generation.json'})")
