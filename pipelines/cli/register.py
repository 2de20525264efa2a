"""`respool register show|guide`: the return-table register (回流表清单) and its guide."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli import render
from pipelines.cli.common import console, err

commands = typer.Typer(no_args_is_help=True, help="回流表清单 the return-table register")


@commands.command("show")
def register_show(table: Annotated[str | None, typer.Argument(help="table code, e.g. BSEG")] = None) -> None:
    """Print the register, or one table with its columns."""
    from catalog.register import RegisterError, load_register

    try:
        register = load_register()
    except RegisterError as exc:
        err.print(f"[red]回流表清单有误 register is malformed:[/red] {exc}")
        raise typer.Exit(2) from None
    if table is None:
        render.register(register)
        return
    try:
        t = register.table(table)
    except KeyError as exc:
        err.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None
    render.register_table(t)


@commands.command("guide")
def register_guide(
    out: Annotated[Path, typer.Option(help="Markdown file to write")] = Path("docs/回流指导手册.md"),
) -> None:
    """Write the 回流指导手册 (return guide) from the register."""
    from catalog.guide import render_guide
    from catalog.register import load_reference, load_register

    text = render_guide(load_register(), load_reference())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"回流指导手册 written to {out} ({len(text.splitlines())} lines)")
