"""Reading the resource pool: aging at any key date, drill-through to items and vouchers,
the ERP-YX reconciliation. Plain functions over a DuckDB connection; the CLI formats them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import duckdb

LEDGERS = {"ar": ("ar_aging", "kunnr", "客户"), "ap": ("ap_aging", "lifnr", "供应商")}
BASES = ("due", "posting")


@dataclass(frozen=True)
class AgingRow:
    bukrs: str
    partner: str | None
    bucket: str
    amount_lc: Decimal
    item_count: int


def _ledger(ledger: str) -> tuple[str, str, str]:
    if ledger not in LEDGERS:
        raise ValueError(f"ledger must be one of {', '.join(LEDGERS)}, not {ledger!r}")
    return LEDGERS[ledger]


def _basis(basis: str) -> str:
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}, not {basis!r}")
    return basis


def aging(con: duckdb.DuckDBPyConnection, ledger: str, as_of: date, basis: str,
          by_partner: bool = False, company_codes: Collection[str] | None = None) -> list[AgingRow]:
    """Open ordinary items at the key date, summed per company (and partner) and bucket; only
    those of `company_codes` when given (None: every company)."""
    macro, partner, _ = _ledger(ledger)
    partner_col = partner if by_partner else "NULL"
    codes = sorted(company_codes) if company_codes is not None else None
    if codes == []:
        return []
    where = f"WHERE bukrs IN ({', '.join('?' for _ in codes)})" if codes else ""
    rows = con.execute(
        f"SELECT bukrs, partner, bucket, amount_lc, item_count FROM ("
        f"  SELECT bukrs, {partner_col} AS partner, bucket, sum(amount_lc) AS amount_lc, count(*) AS item_count "
        f"  FROM {macro}(?::DATE, ?) {where} GROUP BY 1, 2, 3) "
        f"ORDER BY bukrs, partner NULLS FIRST, aging_bucket_order(bucket)",
        [as_of, _basis(basis), *(codes or [])]).fetchall()
    return [AgingRow(b, p, k, a, n) for b, p, k, a, n in rows]


def aging_items(con: duckdb.DuckDBPyConnection, ledger: str, as_of: date, basis: str, bukrs: str,
                bucket: str, partner: str | None = None) -> list[tuple]:
    """The items behind one aging figure; their amounts sum to the figure exactly."""
    macro, partner_col, _ = _ledger(ledger)
    sql = (f"SELECT bukrs, {partner_col}, gjahr, belnr, buzei, hkont, blart, budat, net_due_date, "
           f"days_past_due, days_since_posting, bucket, amount_lc FROM {macro}(?::DATE, ?) "
           f"WHERE bukrs = ? AND bucket = ?")
    params: list = [as_of, _basis(basis), bukrs, bucket]
    if partner is not None:
        sql += f" AND {partner_col} = ?"
        params.append(partner)
    return con.execute(sql + " ORDER BY budat, gjahr, belnr, buzei", params).fetchall()


@dataclass(frozen=True)
class Voucher:
    header: dict | None
    lines: list[dict]
    reversal_partner: dict | None

    @property
    def balance(self) -> Decimal:
        return sum((line["amount_lc"] for line in self.lines), Decimal("0"))


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def voucher(con: duckdb.DuckDBPyConnection, bukrs: str, gjahr: str, belnr: str) -> Voucher:
    """A document: its header, all its lines (signed), and the document that reverses it or it reverses."""
    belnr = belnr.zfill(10)
    header = _dicts(con.execute("SELECT * EXCLUDE (_batch_id, _biz_date) FROM dwd.dwd_fi_voucher_header "
                                "WHERE bukrs = ? AND gjahr = ? AND belnr = ?", [bukrs, gjahr, belnr]))
    lines = _dicts(con.execute(
        "SELECT buzei, bschl, koart, shkzg, hkont, a.account_name_zh, kunnr, lifnr, umskz, amount_lc, "
        "amount_dc, sgtxt, zuonr, prctr, kostl, zfbdt, zterm, rebzg, augdt, augbl "
        "FROM dwd.dwd_fi_voucher_item i LEFT JOIN dim.dim_account a ON a.saknr = i.hkont "
        "WHERE i.bukrs = ? AND i.gjahr = ? AND i.belnr = ? ORDER BY buzei", [bukrs, gjahr, belnr]))
    partner = None
    if header and header[0]["stblg"]:
        found = _dicts(con.execute(
            "SELECT bukrs, belnr, gjahr, blart, budat, is_reversal FROM dwd.dwd_fi_voucher_header "
            "WHERE bukrs = ? AND belnr = ? AND gjahr = ?", [bukrs, header[0]["stblg"], header[0]["stjah"]]))
        partner = found[0] if found else None
    return Voucher(header[0] if header else None, lines, partner)


def reconciliation(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return _dicts(con.execute("SELECT * FROM ads.ads_ar_recon_yx ORDER BY bukrs, bill_month"))
