"""`respool lineage upstream|downstream|refresh` and `respool trace`: column lineage (数据血缘)
and tracing (溯源) on the command line.

Lineage comes from the model files (no data needed); `refresh` stores it in meta.column_lineage
and `trace` joins it with the latest quality results, so those two need the database.
Registered in pipelines/cli.py by adding `commands` to the `respool` app.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from catalog.register import Register, load_register
from lineage.graph import Direction, LineageGraph, lineage_graph, to_dot, to_json, write_png
from lineage.model_graph import LineageNode, ModelLineage, UnknownColumnError
from lineage.models import columns_from_ddl, model_lineage, read_models, source_tables
from lineage.trace import TraceHit, trace
from models.loader import MODELS_DIR
from pipelines import config
from pipelines.ingest import BATCH_COLUMNS
from pipelines.reference_data import REF_DDL

commands = typer.Typer(add_completion=False)
lineage_app = typer.Typer(no_args_is_help=True, help="数据血缘 column lineage of the models (from the SQL)")
commands.add_typer(lineage_app, name="lineage")

DbOption = Annotated[Path | None, typer.Option(
    "--db", help="DuckDB file (default $RESPOOL_DB, else data/respool.duckdb)", show_default=False)]
FormatOption = Annotated[str, typer.Option("--format", help="tree, json, dot or png")]
OutOption = Annotated[Path | None, typer.Option("--out", help="file for json/dot/png (png default: lineage.png)")]
FiltersOption = Annotated[bool, typer.Option(
    "--filters", help="also follow filter edges (columns that only decide which rows exist)")]
ModelsOption = Annotated[Path, typer.Option("--models", help="models folder", show_default=False)]
FORMATS = ("tree", "json", "dot", "png")
KIND_ZH = {"direct": "直接", "transform": "计算", "filter": "过滤"}


def lineage_sources(register: Register) -> dict[str, list[str]]:
    """ODS columns (register + batch columns) and reference tables, as the pipeline creates them."""
    return source_tables(register, [name for name, _ in BATCH_COLUMNS], columns_from_ddl(REF_DDL))


def project_lineage(root: Path = MODELS_DIR, register: Register | None = None) -> ModelLineage:
    """Lineage of the model files under `root`, problems included."""
    register = register or load_register()
    models, problems = read_models(root)
    return model_lineage(models, register, lineage_sources(register), problems)


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)


def _resolve(lineage: ModelLineage, column: str) -> str:
    try:
        return lineage.resolve(column)
    except UnknownColumnError as exc:
        raise _fail(f"未知字段 unknown column: {exc}") from None


def _warn_problems(lineage: ModelLineage) -> None:
    for problem in lineage.problems:
        typer.echo(f"血缘问题 lineage problem: {problem}", err=True)


def render_tree(root: LineageNode, lineage: ModelLineage) -> str:
    """The tree as text: each line the edge kind, the column and its description."""
    lines = [_node_text(root, lineage)]

    def add(node: LineageNode, prefix: str) -> None:
        for i, child in enumerate(node.children):
            last = i == len(node.children) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{_node_text(child, lineage)}")
            add(child, prefix + ("    " if last else "│   "))

    add(root, "")
    return "\n".join(lines)


def _node_text(node: LineageNode, lineage: ModelLineage) -> str:
    doc = lineage.description(node.column)
    kind = f"[{node.kind} {KIND_ZH[node.kind]}] " if node.kind else ""
    text = f"{kind}{node.column}" + (f"  {doc.label}" if doc else "")
    return text + ("  (见上 see above)" if node.repeated else "")


def _show(lineage: ModelLineage, column: str, direction: Direction, fmt: str, out: Path | None, filters: bool) -> None:
    if fmt not in FORMATS:
        raise _fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    _warn_problems(lineage)
    focus = _resolve(lineage, column)
    if fmt == "tree":
        tree = lineage.upstream(focus, filters) if direction == "upstream" else lineage.downstream(focus, filters)
        typer.echo(render_tree(tree, lineage))
        reached = (lineage.upstream_columns if direction == "upstream" else lineage.downstream_columns)(
            focus, filters)
        what = "源字段 source columns" if direction == "upstream" else "受影响字段 columns fed"
        typer.echo(f"\n{len(reached)} {what}")
        return
    graph = lineage_graph(lineage, focus, direction, filters)
    _export(graph, lineage, fmt, out)


def _export(graph: LineageGraph, lineage: ModelLineage, fmt: str, out: Path | None) -> None:
    if fmt == "png":
        drawing = write_png(graph, lineage, out or Path("lineage.png"))
        font = drawing.font or "无中文字体 no CJK font: ASCII labels (install fonts-noto-cjk)"
        typer.echo(f"{drawing.path}: {len(graph.columns)} columns, {len(graph.edges)} edges; font {font}")
        return
    text = to_json(graph, lineage) if fmt == "json" else to_dot(graph, lineage)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{out}: {len(graph.columns)} columns, {len(graph.edges)} edges")


@lineage_app.command("upstream")
def upstream(
    column: Annotated[str, typer.Argument(help="TABLE.COLUMN, e.g. dwd.dwd_ar_item.amount_lc")],
    fmt: FormatOption = "tree",
    out: OutOption = None,
    filters: FiltersOption = False,
    models: ModelsOption = MODELS_DIR,
) -> None:
    """The source columns of a column, down to the ODS columns, with their 中文描述."""
    _show(project_lineage(models), column, "upstream", fmt, out, filters)


@lineage_app.command("downstream")
def downstream(
    column: Annotated[str, typer.Argument(help="ODS_TABLE.COLUMN, e.g. ods.bseg.DMBTR")],
    fmt: FormatOption = "tree",
    out: OutOption = None,
    filters: FiltersOption = False,
    models: ModelsOption = MODELS_DIR,
) -> None:
    """Every model column a column feeds (影响分析 impact analysis)."""
    _show(project_lineage(models), column, "downstream", fmt, out, filters)


@lineage_app.command("refresh")
def refresh(db: DbOption = None, models: ModelsOption = MODELS_DIR) -> None:
    """Store the models' column lineage in meta.column_lineage (changed models only)."""
    from lineage.store import refresh_lineage
    from pipelines.db import connect

    register = load_register()
    loaded, problems = read_models(models)
    con = connect(db or config.default_db())
    try:
        report = refresh_lineage(con, loaded, register, lineage_sources(register), problems)
    finally:
        con.close()
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
    models: ModelsOption = MODELS_DIR,
) -> None:
    """溯源: failed checks of the latest quality runs on a column and everything upstream of it."""
    from pipelines.db import connect

    lineage = project_lineage(models)
    focus = _resolve(lineage, column)
    path = db or config.default_db()
    if not path.exists():
        raise _fail(f"database not found: {path}")
    con = connect(path)  # read-write: quality.history.latest_results creates its table if missing
    try:
        hits = trace(con, focus, lineage, filters=filters)
        results = con.execute("SELECT count(*) FROM meta.quality_result").fetchone()[0]
    finally:
        con.close()
    if fmt == "json":
        typer.echo(json.dumps([_hit_dict(h) for h in hits], ensure_ascii=False, indent=2, default=str))
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


def _hit_dict(hit: TraceHit) -> dict:
    return {k: getattr(hit, k) for k in ("table", "column", "hops", "kind", "expectation_id", "dimension",
                                         "severity", "unexpected_count", "examples", "description_zh",
                                         "run_at")}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(commands())
