"""Layered left-to-right layout of a `LineageGraph`, for the PNG drawing (lineage.render.graph_png).

Slots (columns of the picture) follow the layers: ods/ref → stg → dim/dwd → dws → ads; a table
reading another table of its own group goes one slot further right. An edge that skips slots
passes through a waypoint in each slot between (one per source column and slot, so edges from
one column run bundled) instead of behind the boxes there. Boxes, the rows inside them and
waypoints are ordered by the barycentre of their neighbours, sweeping a few times each way, to
keep edges from crossing. Units are inches; y grows downwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

from lineage.project.model_graph import LineageEdge, split_column
from lineage.render.graph import LineageGraph, rank_of

ROW = 0.25  # a column row
HEAD = 0.34  # a table's header
VGAP = 0.30  # between two boxes of a slot
WAY_H = 0.12  # a waypoint
WAY_GAP = 0.10  # next to a waypoint
HGAP = 1.9  # between slots, room for the curves
SWEEPS = 4


@dataclass
class Item:
    """A table box (rows = its columns as `table.column`) or a waypoint (one row: its key)."""

    key: str
    rows: list[str]
    slot: int
    is_box: bool
    x: float = 0.0
    y: float = 0.0  # top
    width: float = 0.0

    @property
    def height(self) -> float:
        return HEAD + ROW * len(self.rows) if self.is_box else WAY_H

    def row_y(self, node: str) -> float:
        if not self.is_box:
            return self.y + WAY_H / 2
        return self.y + HEAD + ROW * (self.rows.index(node) + 0.5)


@dataclass
class Route:
    """An edge's way through the slots: its source, the waypoints, its target."""

    edge: LineageEdge
    nodes: list[str]


@dataclass
class Layout:
    slots: list[list[Item]]
    routes: list[Route]
    at: dict[str, Item] = field(default_factory=dict)  # node -> the item holding it
    width: float = 0.0
    height: float = 0.0

    @property
    def boxes(self) -> list[Item]:
        return [item for slot in self.slots for item in slot if item.is_box]


def layout(
    graph: LineageGraph, slot_width: Callable[[list[Item]], float], left: float = 0.0, top: float = 0.0
) -> Layout:
    """Place every table box and waypoint, the content's top left corner at (left, top);
    `slot_width` says how wide a slot's boxes must be."""
    slot_of = _slots(graph)
    slots: list[list[Item]] = [[] for _ in range(max(slot_of.values(), default=-1) + 1)]
    result = Layout(slots, [])
    for table, columns in graph.tables.items():
        item = Item(table, [f"{table}.{c}" for c in columns], slot_of[table], True)
        slots[item.slot].append(item)
        result.at.update({row: item for row in item.rows})
    for edge in graph.edges:
        source, target = slot_of[split_column(edge.source)[0]], slot_of[split_column(edge.target)[0]]
        nodes = [edge.source]
        for slot in range(source + 1, target):
            key = f"~{edge.source}@{slot}"
            if key not in result.at:
                result.at[key] = Item(key, [key], slot, False)
                slots[slot].append(result.at[key])
            nodes.append(key)
        result.routes.append(Route(edge, [*nodes, edge.target]))
    _order(result)
    _place(result, slot_width, left, top)
    return result


def _slots(graph: LineageGraph) -> dict[str, int]:
    reads: dict[str, set[str]] = {t: set() for t in graph.tables}
    for edge in graph.edges:
        reads[split_column(edge.target)[0]].add(split_column(edge.source)[0])
    depth: dict[str, int] = {}

    def depth_of(table: str, path: frozenset[str] = frozenset()) -> int:
        if table not in depth:
            same = [s for s in reads[table] if rank_of(s) == rank_of(table) and s not in path | {table}]
            depth[table] = max((depth_of(s, path | {table}) + 1 for s in same), default=0)
        return depth[table]

    slot_of: dict[str, int] = {}
    offset = 0
    for rank in sorted({rank_of(t) for t in graph.tables}):
        members = [t for t in graph.tables if rank_of(t) == rank]
        for table in members:
            slot_of[table] = offset + depth_of(table)
        offset += max(depth_of(t) for t in members) + 1
    return slot_of


def _stack(slot: list[Item]) -> float:
    """Height of a slot's items stacked with their gaps."""
    gaps = sum(VGAP if a.is_box and b.is_box else WAY_GAP for a, b in pairwise(slot))
    return sum(item.height for item in slot) + gaps


def _centre(result: Layout, top: float = 0.0, height: float | None = None) -> dict[str, float]:
    """Stack each slot's items, centred on the tallest slot; returns each node's y."""
    tallest = height if height is not None else max(_stack(s) for s in result.slots)
    where: dict[str, float] = {}
    for slot in result.slots:
        y = top + (tallest - _stack(slot)) / 2
        for i, item in enumerate(slot):
            if i:
                y += VGAP if slot[i - 1].is_box and item.is_box else WAY_GAP
            item.y = y
            where.update({row: item.row_y(row) for row in item.rows})
            y += item.height
    return where


def _order(result: Layout) -> None:
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for route in result.routes:
        for a, b in pairwise(route.nodes):
            incoming.setdefault(b, []).append(a)
            outgoing.setdefault(a, []).append(b)

    def sweep(slot: list[Item], neighbours: dict[str, list[str]]) -> None:
        where = _centre(result)
        key: dict[str, float] = {}
        for item in slot:
            for row in item.rows:
                near = [where[n] for n in neighbours.get(row, []) if n in where]
                key[row] = sum(near) / len(near) if near else where[row]
            item.rows.sort(key=key.__getitem__)
        slot.sort(key=lambda item: sum(key[r] for r in item.rows) / len(item.rows))

    for _ in range(SWEEPS):
        for slot in result.slots[1:]:
            sweep(slot, incoming)
        for slot in reversed(result.slots[:-1]):
            sweep(slot, outgoing)
    for slot in result.slots[1:]:
        sweep(slot, incoming)


def _place(result: Layout, slot_width: Callable[[list[Item]], float], left: float, top: float) -> None:
    x = left
    for slot in result.slots:
        width = slot_width([item for item in slot if item.is_box])
        for item in slot:
            item.x, item.width = x, width
        x += width + HGAP
    result.width = x - HGAP - left
    result.height = max((_stack(s) for s in result.slots), default=0.0)
    _centre(result, top, result.height)
