"""`respool`: the one entry point for people and scripts."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable

from catalog.guide import render_guide
from catalog.register import RegisterError, load_reference, load_register
from pipelines import config

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="respool — 应收应付资源池 (AR/AP resource pool) pipeline")
register_app = typer.Typer(no_args_is_help=True, help="回流表清单 the return-table register")
app.add_typer(register_app, name="register")
console = Console()
err = Console(stderr=True)

DbOption = Annotated[Path | None, typer.Option(
    "--db", help="DuckDB file (default $RESPOOL_DB, else data/respool.duckdb)", show_default=False)]


def _progress(line: str) -> None:
    err.print(line, highlight=False)


@register_app.command("show")
def register_show(table: Annotated[str | None, typer.Argument(help="table code, e.g. BSEG")] = None) -> None:
    """Print the register, or one table with its columns."""
    try:
        register = load_register()
    except RegisterError as exc:
        err.print(f"[red]回流表清单有误 register is malformed:[/red] {exc}")
        raise typer.Exit(2) from None
    if table is None:
        out = RichTable(title="回流表清单 Return-table register")
        for col in ("系统 System", "表 Table", "中文名", "English", "加载 Mode", "主键 Key", "列数", "责任人 Owner"):
            out.add_column(col)
        for t in register.tables:
            out.add_row(t.system, t.code, t.name_zh, t.name_en, t.mode, ", ".join(t.key),
                        str(len(t.columns)), t.owner)
        console.print(out)
        return
    try:
        t = register.table(table)
    except KeyError as exc:
        err.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None
    console.print(f"[bold]{t.label}[/bold]  {t.mode}  {t.encoding}  ods.{t.ods_name}\n{t.purpose}")
    out = RichTable()
    for col in ("#", "字段 Field", "中文描述", "English", "SAP 类型", "主键", "必填"):
        out.add_column(col)
    for i, c in enumerate(t.columns, start=1):
        out.add_row(str(i), c.name, c.zh, c.en, c.sap_type, "✓" if c.in_key else "", "✓" if c.required else "")
    console.print(out)


@register_app.command("guide")
def register_guide(
    out: Annotated[Path, typer.Option(help="Markdown file to write")] = Path("docs/回流指导手册.md"),
) -> None:
    """Write the 回流指导手册 (return guide) from the register."""
    text = render_guide(load_register(), load_reference())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"回流指导手册 written to {out} ({len(text.splitlines())} lines)")


def _parse_day(text: str) -> date:
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)")


@app.command()
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

    manifest = run_generator(out, days=days, scale=scale, seed=seed, start=_parse_day(start),
                             rows_per_file=rows_per_file, defects=not clean, progress=_progress)
    n_defects = len(manifest.get("defects", []))
    console.print(f"generated {days} business dates under {out} ({n_defects} deliberate defects, "
                  f"see {out / 'generation.json'})")


@app.command()
def ingest(
    landing: Annotated[list[Path] | None, typer.Option(
        help="landing root(s), processed together, oldest business date first; repeatable "
             "(default $RESPOOL_LANDING, else data/landing)")] = None,
    db: DbOption = None,
) -> None:
    """Verify and load every complete delivery; exits 1 when any delivery was refused."""
    from pipelines.db import connect
    from pipelines.ingest import ingest as run_ingest

    roots = landing or [config.default_landing()]
    register = load_register()
    con = connect(db or config.default_db())
    try:
        report = run_ingest(con, roots, register, progress=_progress)
    finally:
        con.close()
    loaded = [o for o in report.outcomes if o.status == "loaded"]
    console.print(f"{len(report.outcomes)} deliveries: {len(loaded)} loaded ({report.loaded_rows:,} rows), "
                  f"{len(report.refused)} refused, "
                  f"{sum(o.status == 'unchanged' for o in report.outcomes)} unchanged, "
                  f"{sum(o.status == 'skipped' for o in report.outcomes)} skipped")
    for o in report.refused:
        console.print(f"[red]拒收 refused[/red] {o.biz_date} {o.system}.{o.table}: {o.reason}", highlight=False)
    if report.refused:
        raise typer.Exit(1)


@app.command()
def summary(db: DbOption = None) -> None:
    """Per table: batches and rows loaded, and refused deliveries with their reasons."""
    from pipelines.db import connect
    from pipelines.summary import refused_deliveries, table_summaries

    db = db or config.default_db()
    con = connect(db, read_only=True)
    try:
        tables = table_summaries(con, load_register())
        refused = refused_deliveries(con)
    finally:
        con.close()
    out = RichTable(title=f"回流数据加载汇总 Ingest summary — {db}")
    for col in ("系统", "表 Table", "中文名", "批次 Batches", "加载行数 Rows loaded", "ODS 现存行数",
                "拒收 Refused", "跳过 Skipped", "最新业务日期"):
        out.add_column(col, justify="right" if col[0] in "批加O拒跳" else "left")
    for s in tables:
        out.add_row(s.system, s.table, s.name_zh, str(s.batches_loaded), f"{s.rows_loaded:,}",
                    f"{s.rows_in_ods:,}", str(s.refused), str(s.skipped), s.last_biz_date)
    console.print(out)
    if refused:
        out = RichTable(title="拒收的交付 Refused deliveries")
        for col in ("业务日期", "表 Table", "规则 Rule", "原因 Reason"):
            out.add_column(col)
        for r in refused:
            out.add_row(r.biz_date, f"{r.system}.{r.table}", r.rule, r.reason)
        console.print(out)


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":
    main()
