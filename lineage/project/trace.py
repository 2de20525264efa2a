"""溯源 Tracing a column's problems to their origin: column lineage joined with the latest quality results.

`trace(con, "dwd.dwd_fi_voucher_item.amount_lc", lineage)` lists the failed checks of the latest
quality runs (`meta.quality_result`) on the column itself, on every column it comes from (down
to the ODS columns) and, for checks that are not about one column of the table (table-level
checks, and checks on a computed value such as a voucher's `balance`), on every table those
columns belong to — nearest first, counted in lineage edges (hops).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb

from lineage.core.scope_columns import DIRECT, STRENGTH
from lineage.project.model_graph import ModelLineage, split_column
from quality.history import latest_results

_SEVERITY = {"error": 0, "warn": 1}


@dataclass(frozen=True)
class TraceHit:
    """A failed check on the traced column or one upstream of it."""

    table: str
    column: str | None  # None for a table-level check
    hops: int  # lineage edges between the traced column and the checked one (0: itself)
    kind: str  # the strongest path kind to it: direct, transform or filter
    expectation_id: str
    dimension: str
    severity: str
    unexpected_count: int | None
    examples: list[object]
    description_zh: str | None
    run_at: object

    @property
    def where(self) -> str:
        return f"{self.table}.{self.column}" if self.column else self.table


def trace(
    con: duckdb.DuckDBPyConnection, table_column: str, lineage: ModelLineage, filters: bool = False
) -> list[TraceHit]:
    """The failed latest checks on `table_column` and its upstream columns and tables, nearest first.

    `table_column` is resolved as `ModelLineage.resolve` does (UnknownColumnError when unknown).
    With `filters`, columns that only decide which rows exist (keys, WHERE, JOIN) count too.
    """
    start = lineage.resolve(table_column)
    reached = {start: (0, DIRECT)}
    for reach in lineage.upstream_columns(start, filters=filters):
        reached[reach.column] = (reach.hops, reach.kind)
    columns = {(split_column(c)[0].lower(), split_column(c)[1].lower()): c for c in reached}
    tables: dict[str, tuple[int, str]] = {}
    for column, (hops, kind) in reached.items():
        table = split_column(column)[0].lower()
        if table not in tables or (hops, -STRENGTH[kind]) < (tables[table][0], -STRENGTH[tables[table][1]]):
            tables[table] = (hops, kind)
    hits: list[TraceHit] = []
    for result in latest_results(con):
        if result["success"]:
            continue
        table = str(result["target_table"]).lower()
        name = str(result["column_name"] or "").lower()
        if name and (table, name) in columns:
            hops, kind = reached[columns[(table, name)]]
            table_name, column_name = split_column(columns[(table, name)])
        elif table in tables and not _is_column(lineage, table, name):
            # a table-level check, or one on a computed value ("balance") rather than a column
            hops, kind = tables[table]
            table_name, column_name = result["target_table"], None
        else:
            continue
        hits.append(TraceHit(
            table=table_name,
            column=column_name,
            hops=hops,
            kind=kind,
            expectation_id=result["expectation_id"],
            dimension=result["dimension"],
            severity=result["severity"],
            unexpected_count=result["unexpected_count"],
            examples=_examples(result["examples"]),
            description_zh=result.get("description_zh"),
            run_at=result["run_at"],
        ))
    return sorted(hits, key=lambda h: (h.hops, _SEVERITY.get(h.severity, 2), h.where, h.expectation_id))


def _is_column(lineage: ModelLineage, table: str, name: str) -> bool:
    known = next((t for t in lineage.table_names() if t.lower() == table), None)
    return bool(name) and known is not None and name in {c.lower() for c in lineage.columns_of(known) or ()}


def _examples(text: str | None) -> list[object]:
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return [text]
    return value if isinstance(value, list) else [value]
