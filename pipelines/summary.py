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


@dataclass(frozen=True)
class PoolSummary:
    key_date: str
    # ledger, open items, ordinary amount, special G/L amount, noted items amount (no balance)
    ledgers: list[tuple[str, int, object, object, object]]
    aging: list[tuple[str, str, object]]             # ledger, bucket, amount (due basis, all companies)
    recon: list[tuple[str, str, object, object, object, str]]  # rows beyond tolerance
    recon_rows: int
    quarantined: list[tuple[str, str, int]]          # model, reason, rows
    # ledger, items that left the open-items snapshot with no clearing delivered, their amount
    left_open: list[tuple[str, int, object]] = ()


def pool_summary(con: duckdb.DuckDBPyConnection, tolerance: float = 0.01) -> PoolSummary | None:
    """AR/AP totals at the last business date, aging by bucket, reconciliation exceptions."""
    have = {f"{s}.{t}" for s, t in con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
    if not {"dwd.dwd_ar_item", "dwd.dwd_ap_item", "ads.ads_ar_recon_yx"} <= have:
        return None
    key_date = con.execute("SELECT max(_biz_date) FROM dwd.dwd_fi_voucher_item").fetchone()[0]
    ledgers = []
    for name, table in (("应收 AR", "dwd.dwd_ar_item"), ("应付 AP", "dwd.dwd_ap_item")):
        ledgers.append((name, *con.execute(
            f"SELECT count(*) FILTER (WHERE NOT is_noted_item), "
            f"coalesce(sum(amount_lc) FILTER (WHERE NOT is_special_gl), 0), "
            f"coalesce(sum(amount_lc) FILTER (WHERE is_special_gl AND NOT is_noted_item), 0), "
            f"coalesce(sum(amount_lc) FILTER (WHERE is_noted_item), 0) FROM {table} "
            f"WHERE is_open_at(budat, augdt, ?)", [key_date]).fetchone()))
    left_open = [(name, *con.execute(
        f"SELECT count(*), coalesce(sum(amount_lc), 0) FROM {table} WHERE left_open_snapshot_on IS NOT NULL"
    ).fetchone()) for name, table in (("应收 AR", "dwd.dwd_ar_item"), ("应付 AP", "dwd.dwd_ap_item"))]
    aging = []
    for name, macro in (("应收 AR", "ar_aging"), ("应付 AP", "ap_aging")):
        aging += [(name, b, a) for b, a in con.execute(
            f"SELECT bucket, sum(amount_lc) FROM {macro}(?, 'due') GROUP BY bucket "
            f"ORDER BY aging_bucket_order(bucket)", [key_date]).fetchall()]
    recon = con.execute(
        "SELECT bukrs, bill_month, yx_billed, erp_posted, difference, status FROM ads.ads_ar_recon_yx "
        "WHERE abs(difference) > ? ORDER BY bukrs, bill_month", [tolerance]).fetchall()
    recon_rows = con.execute("SELECT count(*) FROM ads.ads_ar_recon_yx").fetchone()[0]
    quarantined = []
    for (table,) in con.execute("SELECT table_name FROM information_schema.tables "
                                "WHERE table_schema = 'quarantine' ORDER BY 1").fetchall():
        quarantined += [(table, reason, n) for reason, n in con.execute(
            f"SELECT _reject_reason, count(*) FROM quarantine.{table} GROUP BY 1 ORDER BY 1").fetchall()]
    return PoolSummary(str(key_date), ledgers, aging, recon, recon_rows, quarantined,
                       [row for row in left_open if row[1]])
