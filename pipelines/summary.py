"""The ingest summary: per table, batches and rows loaded, and every refused delivery with its reason."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from catalog.register import Register


@dataclass(frozen=True)
class TableSummary:
    system: str
    table: str
    name_zh: str
    batches_loaded: int
    rows_loaded: int
    rows_in_ods: int
    refused: int
    skipped: int
    last_biz_date: str


@dataclass(frozen=True)
class RefusedDelivery:
    system: str
    table: str
    biz_date: str
    rule: str
    reason: str


def table_summaries(con: duckdb.DuckDBPyConnection, register: Register) -> list[TableSummary]:
    stats = {
        (r[0], r[1]): r[2:]
        for r in con.execute(
            """
            SELECT system, table_name,
                   count(*) FILTER (WHERE status = 'loaded'),
                   coalesce(sum(rows) FILTER (WHERE status = 'loaded'), 0),
                   count(*) FILTER (WHERE status = 'refused'),
                   count(*) FILTER (WHERE status = 'skipped'),
                   strftime(max(biz_date) FILTER (WHERE status = 'loaded'), '%Y%m%d')
            FROM meta.batch GROUP BY ALL
            """
        ).fetchall()
    }
    present = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ods'").fetchall()}
    out = []
    for t in register.tables:
        loaded, rows, refused, skipped, last = stats.get((t.system, t.code), (0, 0, 0, 0, None))
        in_ods = (con.execute(f"SELECT count(*) FROM ods.{t.ods_name}").fetchone()[0]
                  if t.ods_name in present else 0)
        out.append(TableSummary(t.system, t.code, t.name_zh, loaded, int(rows), in_ods, refused, skipped,
                                last or "-"))
    return out


def refused_deliveries(con: duckdb.DuckDBPyConnection) -> list[RefusedDelivery]:
    """Refused deliveries that no later delivery of the same table and date has made good."""
    rows = con.execute(
        """
        SELECT r.system, r.table_name, strftime(r.biz_date, '%Y%m%d'), r.rule, r.reason,
               EXISTS (SELECT 1 FROM meta.batch l WHERE l.status = 'loaded' AND l.system = r.system
                       AND l.table_name = r.table_name AND l.biz_date = r.biz_date) AS made_good
        FROM meta.batch r WHERE r.status = 'refused' ORDER BY r.biz_date, r.system, r.table_name
        """
    ).fetchall()
    return [RefusedDelivery(s, t, d, rule, reason + ("  [已由重发补齐 made good by a re-delivery]" if ok else ""))
            for s, t, d, rule, reason, ok in rows]
