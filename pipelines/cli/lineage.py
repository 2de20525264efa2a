"""`respool lineage upstream|downstream|refresh` and `respool trace`: column lineage (数据血缘)
and tracing (溯源) on the command line. The work is in `lineage.project` and the output in
`pipelines.cli.lineage_view`, imported when a command runs, so that `respool` itself starts fast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipelines import config
from pipelines.cli.common import DbOption, open_db

commands = typer.Typer(add_completion=False)
lineage_app = typer.Typer(no_args_is_help=True, help="数据血缘 column lineage of the models (from the SQL)")
commands.add_typer(lineage_app, name="lineage")

FormatOption = Annotated[str, typer.Option("--format", help="tree, json, dot or png")]
OutOption = Annotated[Path | None, typer.Option("--out", help="file for json/dot/png (png default: lineage.png)")]
FiltersOption = Annotated[bool, typer.Option(
    "--filters", help="also follow filter edges (columns that only decide which rows exist)")]
ModelsOption = Annotated[Path | None, typer.Option("--models", help="models folder (default: models/)",
                                                   show_default=False)]


def _project_lineage(models: Path | None):
    """The lineage of the models folder given on the command line (default: the project's models)."""
    from lineage.project.resolve import project_lineage
    from models.loader import MODELS_DIR

    return project_lineage(models or MODELS_DIR)


@lineage_app.command("upstream")
def upstream(
    column: Annotated[str, typer.Argument(help="TABLE.COLUMN, e.g. dwd.dwd_ar_item.amount_lc")],
    fmt: FormatOption = "tree",
    out: OutOption = None,
    filters: FiltersOption = False,
    models: ModelsOption = None,
) -> None:
    """The source columns of a column, down to the ODS columns, with their 中文描述."""
    from pipelines.cli import lineage_view as view

    view.show(_project_lineage(models), column, "upstream", fmt, out, filters)


@lineage_app.command("downstream")
def downstream(
    column: Annotated[str, typer.Argument(help="ODS_TABLE.COLUMN, e.g. ods.bseg.DMBTR")],
    fmt: FormatOption = "tree",
    out: OutOption = None,
    filters: FiltersOption = False,
    models: ModelsOption = None,
) -> None:
    """Every model column a column feeds (影响分析 impact analysis)."""
    from pipelines.cli import lineage_view as view

    view.show(_project_lineage(models), column, "downstream", fmt, out, filters)


@lineage_app.command("refresh")
def refresh(db: DbOption = None, models: ModelsOption = None) -> None:
    """Store the models' column lineage in meta.column_lineage (changed models only)."""
    from catalog.register import load_register
    from lineage.project.resolve import lineage_sources
    from lineage.project.store import refresh_lineage
    from models.loader import MODELS_DIR, read_models

    register = load_register()
    loaded, problems = read_models(models or MODELS_DIR)
    with open_db(db) as con:
        report = refresh_lineage(con, loaded, register, lineage_sources(register), problems)
    typer.echo(f"meta.column_lineage: {len(report.recomputed)} recomputed, {len(report.kept)} unchanged, "
               f"{len(report.removed)} removed")
    if report.recomputed:
        typer.echo(f"  recomputed: {', '.join(report.recomputed)}")
    for problem in report.problems:
        typer.echo(f"血缘问题 lineage problem: {problem}", err=True)
    if report.problems:
        raise typer.Exit(1)


@commands.command("trace")
def trace_command(
    column: Annotated[str, typer.Argument(help="TABLE.COLUMN, e.g. dwd.dwd_fi_voucher_item.amount_lc")],
    db: DbOption = None,
    filters: FiltersOption = False,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    models: ModelsOption = None,
) -> None:
    """溯源: failed checks of the latest quality runs on a column and everything upstream of it."""
    from lineage.project.trace import trace
    from pipelines.cli import lineage_view as view
    from quality.history import latest_results

    lineage = _project_lineage(models)
    focus = view.resolve(lineage, column)
    path = db or config.default_db()
    with open_db(path, read_only=True) as con:
        hits = trace(con, focus, lineage, filters=filters)
        results = len(latest_results(con))
    if fmt == "json":
        typer.echo(json.dumps([view.hit_dict(h) for h in hits], ensure_ascii=False, indent=2, default=str))
        return
    if not results:
        typer.echo(f"{focus}: 尚无质量检查结果 no quality results in {path} yet (meta.quality_result is empty)")
        return
    if not hits:
        typer.echo(f"{focus}: 上游最新质量检查全部通过 no failed check upstream in the latest quality runs")
        return
    typer.echo(f"{focus}: {len(hits)} 个失败检查 failed checks upstream, nearest first")
    for hit in hits:
        examples = ", ".join(map(str, hit.examples[:5]))
        typer.echo(f"  [{hit.hops} hop{'s' if hit.hops != 1 else ''}, {hit.kind}] {hit.where}  "
                   f"{hit.expectation_id}  {hit.dimension} {hit.severity}  "
                   f"unexpected {hit.unexpected_count if hit.unexpected_count is not None else '-'}"
                   + (f"  e.g. {examples}" if examples else ""))


