"""Drawing a `LineageGraph` as a PNG with matplotlib alone (no Graphviz binary on the machine).

Tables are boxes listing their involved columns, laid out left to right by layer
(lineage.render.graph_layout); edges are curves coloured by kind, filter edges dashed; the traced
column is highlighted.

Chinese labels use the CJK font of plotting.fonts (the Noto Sans CJK SC that `mplfonts` ships,
unless $RESPOOL_CJK_FONT names another). Without one the labels are ASCII: column names (the
SAP codes for ODS columns) with English descriptions.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as CurvePath

from lineage.project.model_graph import ModelLineage, split_column
from lineage.render.graph import KIND_COLOURS, KIND_ZH, LAYER_COLOURS, RANK_NAMES, LineageGraph, rank_of
from lineage.render.graph_layout import HEAD, ROW, Item, Layout, Route, layout
from models.loader import LAYER_ZH
from plotting.fonts import find_cjk_font

FONT_PT = 9.0
PAD = 0.10
MARGIN = 0.35
TOP = 1.05  # room for the title and the layer names
BOTTOM = 0.7  # room for the legend
MAX_ENGLISH = 40


@dataclass(frozen=True)
class Drawing:
    """The PNG written, and the CJK font its labels used (None: ASCII labels)."""

    path: Path
    font: Path | None


class _Labels:
    """Text of headers and rows: Chinese with a CJK font, else ASCII (codes and English)."""

    def __init__(self, lineage: ModelLineage, cjk: bool) -> None:
        self.lineage, self.cjk = lineage, cjk

    def header(self, table: str) -> str:
        name_zh, name_en = self.lineage.table_title(table)
        extra = name_zh if self.cjk else name_en
        return f"{table}  {extra}" if extra else table

    def column(self, column: str) -> str:
        name = split_column(column)[1]
        doc = self.lineage.description(column)
        if doc is None:
            return name
        if self.cjk:
            return f"{name}  {doc.zh}"
        english = doc.en if len(doc.en) <= MAX_ENGLISH else doc.en[: MAX_ENGLISH - 3] + "..."
        return _ascii(f"{name}  {english}")

    def text(self, zh: str, en: str) -> str:
        return zh if self.cjk else en

    def slot_width(self, boxes: list[Item]) -> float:
        texts = [self.header(b.key) for b in boxes] + [self.column(r) for b in boxes for r in b.rows]
        return max([_text_width(t) for t in texts] + [1.2]) + 2 * PAD


def draw_png(
    graph: LineageGraph, lineage: ModelLineage, path: Path, font: Path | str | None = "auto", dpi: int = 150
) -> Drawing:
    """Write the graph as a PNG; `font` "auto" looks for a CJK font, None forces ASCII labels."""
    font_path = find_cjk_font() if font == "auto" else (Path(font) if font else None)
    props = FontProperties(fname=str(font_path), size=FONT_PT) if font_path else FontProperties(size=FONT_PT)
    labels = _Labels(lineage, cjk=font_path is not None)
    placed = layout(graph, labels.slot_width, left=MARGIN, top=TOP)
    fig_w, fig_h = placed.width + 2 * MARGIN, TOP + placed.height + BOTTOM
    fig = Figure(figsize=(fig_w, fig_h), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, fig_w)
    ax.set_ylim(fig_h, 0)
    ax.axis("off")
    _draw_titles(ax, graph, placed, labels, props)
    for route in placed.routes:
        _draw_route(ax, placed, route)
    for box in placed.boxes:
        _draw_box(ax, box, graph.focus, labels, props)
    _draw_legend(ax, fig_w, labels, props)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, facecolor="white")
    return Drawing(path, font_path)


def _draw_titles(ax: Axes, graph: LineageGraph, placed: Layout, labels: _Labels, props: FontProperties) -> None:
    what = {"upstream": labels.text("上游血缘", "upstream lineage"),
            "downstream": labels.text("下游影响", "downstream impact"),
            "both": labels.text("上下游血缘", "lineage both ways")}.get(graph.direction)
    title = f"{graph.focus}  {what}" if graph.focus and what else labels.text("字段血缘", "column lineage")
    ax.text(MARGIN, 0.38, title, fontproperties=props, fontsize=FONT_PT + 4, weight="bold", va="center")
    spans: dict[int, tuple[float, float]] = {}
    for box in placed.boxes:
        rank = rank_of(box.key)
        left, right = spans.get(rank, (box.x, box.x + box.width))
        spans[rank] = (min(left, box.x), max(right, box.x + box.width))
    for rank, (left, right) in spans.items():
        layers = RANK_NAMES[rank].split(" / ")
        name = " / ".join(f"{layer} {LAYER_ZH.get(layer, '')}".strip() if labels.cjk else layer
                          for layer in layers)
        ax.text((left + right) / 2, 0.82, name, fontproperties=props, fontsize=FONT_PT + 1.5,
                ha="center", va="center", color="#374151", weight="bold")


def _draw_route(ax: Axes, placed: Layout, route: Route) -> None:
    colour = KIND_COLOURS[route.edge.kind]
    style = (0, (4, 3)) if route.edge.kind == "filter" else "solid"
    for a, b in pairwise(route.nodes):
        start, end = placed.at[a], placed.at[b]
        x0, y0 = start.x + start.width, start.row_y(a)
        x3, y3 = end.x - (0.05 if end.is_box else 0), end.row_y(b)
        bend = max(0.5, (x3 - x0) * 0.45)
        curve = CurvePath([(x0, y0), (x0 + bend, y0), (x3 - bend, y3), (x3, y3)],
                          [CurvePath.MOVETO, CurvePath.CURVE4, CurvePath.CURVE4, CurvePath.CURVE4])
        ax.add_patch(PathPatch(curve, facecolor="none", edgecolor=colour, lw=1.15, alpha=0.85, zorder=1,
                               linestyle=style))
        if not end.is_box:  # straight through the waypoint's slot
            ax.plot([end.x, end.x + end.width], [y3, y3], color=colour, lw=1.15, alpha=0.85, zorder=1,
                    linestyle=style)
    target = placed.at[route.nodes[-1]]
    ax.plot([target.x - 0.05], [target.row_y(route.nodes[-1])], marker=">", markersize=4.5, color=colour,
            zorder=2)


def _draw_box(ax: Axes, box: Item, focus: str | None, labels: _Labels, props: FontProperties) -> None:
    colour = LAYER_COLOURS.get(box.key.split(".", 1)[0], "#f3f4f6")
    ax.add_patch(Rectangle((box.x, box.y), box.width, box.height, facecolor="white", edgecolor="#4b5563",
                           lw=0.9, zorder=3))
    ax.add_patch(Rectangle((box.x, box.y), box.width, HEAD, facecolor=colour, edgecolor="#4b5563", lw=0.9,
                           zorder=3))
    ax.text(box.x + PAD, box.y + HEAD / 2, labels.header(box.key), fontproperties=props, weight="bold",
            va="center", zorder=4)
    for i, row in enumerate(box.rows):
        top = box.y + HEAD + ROW * i
        if row == focus:
            ax.add_patch(Rectangle((box.x, top), box.width, ROW, facecolor="#fef08a", edgecolor="none",
                                   zorder=3))
        if i:
            ax.plot([box.x, box.x + box.width], [top, top], color="#e5e7eb", lw=0.6, zorder=3)
        ax.text(box.x + PAD, top + ROW / 2, labels.column(row), fontproperties=props, va="center", zorder=4,
                color="#111827")


def _draw_legend(ax: Axes, fig_w: float, labels: _Labels, props: FontProperties) -> None:
    handles = [Line2D([0], [0], color=KIND_COLOURS[k], lw=1.6, linestyle="--" if k == "filter" else "-")
               for k in KIND_COLOURS]
    names = [f"{k} {KIND_ZH[k]}" if labels.cjk else k for k in KIND_COLOURS]
    ax.legend(handles, names, loc="lower left", bbox_to_anchor=(MARGIN / fig_w, 0.005), frameon=False, ncol=3,
              prop=props)


def _text_width(text: str) -> float:
    """Inches `text` takes at FONT_PT: wide (CJK) characters one em, others a little over half."""
    ems = sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.58 for ch in text)
    return ems * FONT_PT / 72


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")
