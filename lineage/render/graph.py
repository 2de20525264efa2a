"""A lineage (sub)graph — the columns around one column, or everything — exported as JSON or
Graphviz DOT text. The PNG drawing is in `lineage.render.graph_png`.

Tables are grouped by layer, left to right: ods/ref → stg → dim/dwd → dws → ads; edges carry
their kind (direct, transform, filter).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lineage.project.model_graph import LineageEdge, ModelLineage, split_column
from models.loader import LAYER_ZH

if TYPE_CHECKING:
    from lineage.render.graph_png import Drawing

Direction = Literal["upstream", "downstream", "both"]
RANKS = {"ods": 0, "ref": 0, "stg": 1, "dim": 2, "dwd": 2, "dws": 3, "ads": 4}
RANK_NAMES = ["ods / ref", "stg", "dim / dwd", "dws", "ads"]
KIND_COLOURS = {"direct": "#2563eb", "transform": "#ea580c", "filter": "#6b7280"}
KIND_ZH = {"direct": "直接", "transform": "计算", "filter": "过滤"}
LAYER_COLOURS = {"ods": "#e0f2fe", "ref": "#ecfccb", "stg": "#ede9fe", "dim": "#fef3c7", "dwd": "#fde68a",
                 "dws": "#fce7f3", "ads": "#dcfce7"}


@dataclass
class LineageGraph:
    """The tables involved (each with its involved columns, in table order) and the edges."""

    tables: dict[str, list[str]]
    edges: list[LineageEdge]
    focus: str | None = None
    direction: str = "all"

    @property
    def columns(self) -> list[str]:
        return [f"{t}.{c}" for t, cols in self.tables.items() for c in cols]


def rank_of(table: str) -> int:
    return RANKS.get(table.split(".", 1)[0], 2)


def lineage_graph(
    lineage: ModelLineage, column: str | None = None, direction: Direction = "upstream", filters: bool = False
) -> LineageGraph:
    """The graph around `column` (upstream, downstream or both), or all models' lineage."""
    if column is None:
        edges = [e for e in lineage.edges if filters or e.kind != "filter"]
        return _graph(lineage, edges, None, "all")
    focus = lineage.resolve(column)
    edges: list[LineageEdge] = []
    if direction in ("upstream", "both"):
        for node in lineage.upstream(focus, filters).walk():
            edges += [] if node.repeated else lineage.sources_of(node.column, filters)
    if direction in ("downstream", "both"):
        for node in lineage.downstream(focus, filters).walk():
            edges += [] if node.repeated else lineage.targets_of(node.column, filters)
    return _graph(lineage, list(dict.fromkeys(edges)), focus, direction)


def _graph(lineage: ModelLineage, edges: list[LineageEdge], focus: str | None, direction: str) -> LineageGraph:
    involved = {c for e in edges for c in (e.source, e.target)} | ({focus} if focus else set())
    tables: dict[str, list[str]] = {}
    for table in sorted({split_column(c)[0] for c in involved}, key=lambda t: (rank_of(t), t)):
        order = lineage.columns_of(table) or ()
        mine = [split_column(c)[1] for c in involved if split_column(c)[0] == table]
        tables[table] = sorted(mine, key=lambda c: (order.index(c) if c in order else len(order), c))
    return LineageGraph(tables, edges, focus, direction)


def to_json(graph: LineageGraph, lineage: ModelLineage) -> str:
    """Tables with their columns and descriptions, and the edges, as indented JSON."""
    tables = []
    for table, columns in graph.tables.items():
        name_zh, name_en = lineage.table_title(table)
        described = []
        for column in columns:
            doc = lineage.description(f"{table}.{column}")
            described.append({"name": column, "column": f"{table}.{column}",
                              "zh": doc.zh if doc else None, "en": doc.en if doc else None,
                              "code": doc.code if doc else None})
        tables.append({"table": table, "layer": table.split(".", 1)[0], "name_zh": name_zh,
                       "name_en": name_en, "columns": described})
    edges = [{"source": e.source, "target": e.target, "kind": e.kind} for e in graph.edges]
    return json.dumps({"focus": graph.focus, "direction": graph.direction, "tables": tables, "edges": edges},
                      ensure_ascii=False, indent=2)


def to_dot(graph: LineageGraph, lineage: ModelLineage, font: str = "Noto Sans CJK SC") -> str:
    """Graphviz DOT: one HTML-label node per table (a row and port per column), one cluster per
    layer group, edges coloured by kind (filter dashed). Render with `dot -Tpng`."""
    lines = [
        "digraph lineage {",
        f'  graph [rankdir=LR, nodesep=0.25, ranksep=1.4, fontname="{font}", fontsize=12];',
        f'  node [shape=plaintext, fontname="{font}", fontsize=10];',
        "  edge [arrowsize=0.6, penwidth=1.2];",
    ]
    by_rank: dict[int, list[str]] = {}
    for table in graph.tables:
        by_rank.setdefault(rank_of(table), []).append(table)
    for rank, tables in sorted(by_rank.items()):
        layers = sorted({t.split('.', 1)[0] for t in tables}, key=lambda layer: RANKS.get(layer, 2))
        title = " / ".join(f"{layer} {LAYER_ZH.get(layer, '')}".strip() for layer in layers)
        lines += [f"  subgraph cluster_{rank} {{", f'    label="{_dot_text(title)}"; style=dashed; color="#9ca3af";']
        lines += [f"    {_dot_id(t)} [label=<{_html_table(t, graph, lineage)}>];" for t in tables]
        lines.append("  }")
    for edge in graph.edges:
        source_table, source_column = split_column(edge.source)
        target_table, target_column = split_column(edge.target)
        style = ", style=dashed" if edge.kind == "filter" else ""
        lines.append(
            f'  {_dot_id(source_table)}:"c_{source_column}":e -> {_dot_id(target_table)}:"c_{target_column}":w '
            f'[color="{KIND_COLOURS[edge.kind]}", tooltip="{edge.kind}"{style}];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _html_table(table: str, graph: LineageGraph, lineage: ModelLineage) -> str:
    name_zh, _ = lineage.table_title(table)
    colour = LAYER_COLOURS.get(table.split(".", 1)[0], "#f3f4f6")
    header = f"<b>{escape(table)}</b>" + (f" {escape(name_zh)}" if name_zh else "")
    rows = [f'<tr><td bgcolor="{colour}">{header}</td></tr>']
    for column in graph.tables[table]:
        full = f"{table}.{column}"
        doc = lineage.description(full)
        text = escape(column) + (f"  <font color=\"#4b5563\">{escape(doc.zh)}</font>" if doc else "")
        bg = ' bgcolor="#fef08a"' if full == graph.focus else ""
        rows.append(f'<tr><td port="c_{column}" align="left"{bg}>{text}</td></tr>')
    return '<table border="0" cellborder="1" cellspacing="0" cellpadding="3">' + "".join(rows) + "</table>"


def _dot_id(name: str) -> str:
    return f'"{_dot_text(name)}"'


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def write_png(
    graph: LineageGraph, lineage: ModelLineage, path: Path, font: Path | str | None = "auto"
) -> Drawing:
    """Draw the graph as a PNG with matplotlib (see `lineage.render.graph_png`); returns its `Drawing`."""
    from lineage.render.graph_png import draw_png  # matplotlib only when a picture is asked for

    return draw_png(graph, lineage, path, font)
