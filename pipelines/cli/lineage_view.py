"""What `respool lineage` and `respool trace` show: trees, exports and trace hits of the project's
lineage (`lineage.project.resolve.project_lineage`).

Lineage comes from the model files (no data needed); `refresh` stores it in meta.column_lineage
and `trace` joins it with the latest quality results, so those two need the database.
"""

from __future__ import annotations

from pathlib import Path

import typer

from lineage.project.model_graph import LineageNode, ModelLineage, UnknownColumnError
from lineage.project.trace import TraceHit
from lineage.render.graph import KIND_ZH, Direction, LineageGraph, lineage_graph, to_dot, to_json, write_png

FORMATS = ("tree", "json", "dot", "png")


def fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)


def resolve(lineage: ModelLineage, column: str) -> str:
    try:
        return lineage.resolve(column)
    except UnknownColumnError as exc:
        raise fail(f"未知字段 unknown column: {exc}") from None


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


def show(lineage: ModelLineage, column: str, direction: Direction, fmt: str, out: Path | None, filters: bool) -> None:
    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    _warn_problems(lineage)
    focus = resolve(lineage, column)
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


def hit_dict(hit: TraceHit) -> dict:
    return {k: getattr(hit, k) for k in ("table", "column", "hops", "kind", "expectation_id", "dimension",
                                         "severity", "unexpected_count", "examples", "description_zh",
                                         "run_at")}


