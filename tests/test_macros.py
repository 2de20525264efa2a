"""Every cleansing and aging macro on its edge inputs, the expected outputs written by hand.

Mutation testers do not reach SQL, so these tables are what guards the rules in
models/macros/*.sql: a changed comparison or a dropped case fails a row here."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest

from models.loader import create_macros

D = date.fromisoformat


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    create_macros(c)
    yield c
    c.close()


def _call(con, macro: str, *args):
    placeholders = ", ".join("?" for _ in args)
    return con.execute(f"SELECT {macro}({placeholders})", list(args)).fetchone()[0]


@pytest.mark.parametrize(("value", "expected"), [
    ("  杭州甲公司  ", "杭州甲公司"), ("a b ", "a b"), ("", None), ("   ", None), (None, None)])
def test_sap_text(con, value, expected):
    assert _call(con, "sap_text", value) == expected


@pytest.mark.parametrize(("value", "expected"), [(" 3301 ", "3301"), ("0000012345", "0000012345"), ("", ""),
                                                 ("  ", ""), (None, "")])
def test_sap_code(con, value, expected):
    assert _call(con, "sap_code", value) == expected


@pytest.mark.parametrize(("value", "expected", "bad"), [
    ("20261031", D("2026-10-31"), False), (" 20240229 ", D("2024-02-29"), False),
    ("00000000", None, False), ("", None, False), ("  ", None, False), (None, None, False),
    ("20230229", None, True),   # no 29 Feb in 2023
    ("20261331", None, True),   # no month 13
    ("2026-10-31", None, True), ("2026103", None, True), ("abcdefgh", None, True),
])
def test_sap_date_and_its_check(con, value, expected, bad):
    if not bad:
        assert _call(con, "sap_date", value) == expected
    assert _call(con, "sap_date_bad", value) is bad


@pytest.mark.parametrize(("value", "expected", "bad"), [
    ("1234.50", Decimal("1234.50"), False), ("1234.50-", Decimal("-1234.50"), False),
    (" 12.00 ", Decimal("12.00"), False), ("12", Decimal("12.00"), False), ("0.00-", Decimal("0.00"), False),
    ("0.5", Decimal("0.50"), False), ("", None, False), (None, None, False),
    ("1,234.50", None, True), ("-12.00", None, True), ("1.2.3", None, True), ("12.-", None, True),
    ("abc", None, True),
])
def test_sap_amount_and_its_check(con, value, expected, bad):
    if not bad:
        assert _call(con, "sap_amount", value) == expected
    assert _call(con, "sap_amount_bad", value) is bad


@pytest.mark.parametrize(("value", "expected"), [("030", 30), (" 7 ", 7), ("0", 0), ("", 0), (None, 0), ("x", 0)])
def test_sap_int(con, value, expected):
    assert _call(con, "sap_int", value) == expected


@pytest.mark.parametrize(("amount", "shkzg", "expected"), [
    (Decimal("100.00"), "S", Decimal("100.00")), (Decimal("100.00"), "H", Decimal("-100.00")),
    (Decimal("0.00"), "H", Decimal("0.00")), (Decimal("100.00"), "X", None), (Decimal("100.00"), None, None)])
def test_signed_amount(con, amount, shkzg, expected):
    assert con.execute("SELECT signed_amount(?::DECIMAL(18, 2), ?)", [amount, shkzg]).fetchone()[0] == expected


@pytest.mark.parametrize(("zbd1t", "zbd2t", "zbd3t", "credit_memo", "expected"), [
    (30, 0, 0, False, "2026-10-31"),    # net days
    (10, 20, 0, False, "2026-10-21"),   # second discount period is the net term
    (10, 20, 45, False, "2026-11-15"),  # third period wins
    (0, 0, 45, False, "2026-11-15"),
    (0, 0, 0, False, "2026-10-01"),     # due on the baseline
    (30, 0, 0, True, "2026-10-01"),     # a credit memo without invoice reference: due at once
    (10, 20, 45, True, "2026-10-01"),
])
def test_net_due_date(con, zbd1t, zbd2t, zbd3t, credit_memo, expected):
    got = con.execute("SELECT net_due_date(DATE '2026-10-01', ?, ?, ?, ?)",
                      [zbd1t, zbd2t, zbd3t, credit_memo]).fetchone()[0]
    assert got == D(expected)
    assert con.execute("SELECT net_due_date(NULL::DATE, 30, 0, 0, false)").fetchone()[0] is None


@pytest.mark.parametrize(("budat", "augdt", "open_at_oct_31"), [
    ("2026-10-31", None, True),           # posted on the key date: open that day
    ("2026-11-01", None, False),          # posted after it
    ("2026-10-01", None, True),
    ("2026-10-01", "2026-10-31", False),  # cleared on the key date
    ("2026-10-01", "2026-11-01", True),   # cleared the day after
    ("2026-10-31", "2026-10-31", False),  # posted and cleared on the key date
    ("2026-10-01", "2026-10-30", False),
])
def test_is_open_at(con, budat, augdt, open_at_oct_31):
    got = con.execute("SELECT is_open_at(?::DATE, ?::DATE, DATE '2026-10-31')", [budat, augdt]).fetchone()[0]
    assert got is open_at_oct_31


@pytest.mark.parametrize(("net_due", "bucket"), [
    ("2026-11-03", "未到期"), ("2026-10-31", "未到期"), ("2026-10-30", "1-30"), ("2026-10-01", "1-30"),
    ("2026-09-30", "31-60"), ("2026-09-01", "31-60"), ("2026-08-31", "61-90"), ("2026-08-02", "61-90"),
    ("2026-08-01", "91-180"), ("2026-05-04", "91-180"), ("2026-05-03", "181-365"), ("2025-10-31", "181-365"),
    ("2025-10-30", "365+"), (None, None),
])
def test_aging_bucket_due_at_oct_31(con, net_due, bucket):
    assert con.execute("SELECT aging_bucket_due(?::DATE, DATE '2026-10-31')", [net_due]).fetchone()[0] == bucket


def test_aging_bucket_picks_the_basis(con):
    args = "DATE '2024-10-30', DATE '2026-10-01', DATE '2026-10-31'"  # posted, net due, key date
    assert con.execute(f"SELECT aging_bucket('due', {args})").fetchone()[0] == "1-30"
    assert con.execute(f"SELECT aging_bucket('posting', {args})").fetchone()[0] == "2-3年"
    assert con.execute(f"SELECT aging_bucket('other', {args})").fetchone()[0] is None
    assert con.execute("SELECT aging_bucket_posting(NULL::DATE, DATE '2026-10-31')").fetchone()[0] is None


def test_aging_bucket_order_follows_the_reports(con):
    buckets = ["未到期", "1-30", "31-60", "61-90", "91-180", "181-365", "365+", "1年以内", "1-2年", "2-3年", "3年以上"]
    assert [_call(con, "aging_bucket_order", b) for b in buckets] == list(range(1, 12))


# ---- the table macros (models/table_macros/aging.sql) over hand-made items ---------------------------

# belnr: what the item is; every item posted 2026-10-01, net due 2026-10-21 unless said otherwise
ITEMS = [
    # belnr, budat, net due, augdt, special G/L, noted, amount
    ("OPEN", "2026-10-01", "2026-10-21", None, False, False, "100.00"),
    ("DUE_ON_KEY", "2026-10-01", "2026-10-31", None, False, False, "10.00"),       # due on the key date
    ("POSTED_ON_KEY", "2026-10-31", "2026-11-30", None, False, False, "20.00"),
    ("POSTED_AFTER", "2026-11-01", "2026-11-30", None, False, False, "1000.00"),   # not yet posted
    ("CLEARED_ON_KEY", "2026-10-01", "2026-10-21", "2026-10-31", False, False, "2000.00"),
    ("CLEARED_AFTER", "2026-10-01", "2026-07-01", "2026-11-01", False, False, "-30.00"),  # open on the key date
    ("DOWN_PAYMENT", "2026-10-01", "2026-10-21", None, True, False, "-400.00"),     # special G/L (umskz A)
    ("DP_CLEARED", "2026-10-01", "2026-10-21", "2026-10-15", True, False, "-4000.00"),
    ("REQUEST", "2026-10-01", "2026-12-01", None, True, True, "500.00"),            # noted item (umskz F)
    ("REQUEST_DONE", "2026-10-01", "2026-12-01", "2026-10-20", True, True, "5000.00"),
]


@pytest.fixture(scope="module", params=["ar", "ap"])
def ledger(request):
    c = duckdb.connect()
    create_macros(c)
    c.execute("CREATE SCHEMA dwd")
    for name, partner in (("ar", "kunnr"), ("ap", "lifnr")):  # the macro file binds both ledgers' tables
        c.execute(f"CREATE TABLE dwd.dwd_{name}_item (bukrs VARCHAR, {partner} VARCHAR, umskz VARCHAR, "
                  "gjahr VARCHAR, belnr VARCHAR, buzei VARCHAR, hkont VARCHAR, blart VARCHAR, budat DATE, "
                  "net_due_date DATE, augdt DATE, is_special_gl BOOLEAN, is_noted_item BOOLEAN, "
                  "amount_lc DECIMAL(18,2))")
    partner = {"ar": "kunnr", "ap": "lifnr"}[request.param]
    c.executemany(f"INSERT INTO dwd.dwd_{request.param}_item VALUES ('3301', 'P1', ?, '2026', ?, '001', '1122', "
                  "'DR', ?, ?, ?, ?, ?, ?)",
                  [["F" if noted else "A" if special else "", belnr, budat, due, augdt, special, noted, amount]
                   for belnr, budat, due, augdt, special, noted, amount in ITEMS])
    from models.loader import table_macro_files

    for path in table_macro_files():
        c.execute(path.read_text(encoding="utf-8"))
    yield request.param, partner, c
    c.close()


def test_aging_macro_takes_the_ordinary_items_open_on_the_key_date(ledger):
    name, partner, con = ledger
    rows = con.execute(f"SELECT belnr, {partner}, bucket, days_past_due, days_since_posting, amount_lc, key_date, "
                       f"basis FROM {name}_aging(DATE '2026-10-31', 'due') ORDER BY belnr").fetchall()
    assert rows == [
        ("CLEARED_AFTER", "P1", "91-180", 122, 30, Decimal("-30.00"), D("2026-10-31"), "due"),
        ("DUE_ON_KEY", "P1", "未到期", 0, 30, Decimal("10.00"), D("2026-10-31"), "due"),
        ("OPEN", "P1", "1-30", 10, 30, Decimal("100.00"), D("2026-10-31"), "due"),
        ("POSTED_ON_KEY", "P1", "未到期", -30, 0, Decimal("20.00"), D("2026-10-31"), "due"),
    ]
    by_posting = con.execute(f"SELECT belnr, bucket FROM {name}_aging('2026-10-31', 'posting') ORDER BY belnr")
    assert by_posting.fetchall() == [("CLEARED_AFTER", "1年以内"), ("DUE_ON_KEY", "1年以内"), ("OPEN", "1年以内"),
                                     ("POSTED_ON_KEY", "1年以内")]
    # a day later the item cleared on 11-01 is gone and the one posted that day is in
    later = con.execute(f"SELECT belnr FROM {name}_aging(DATE '2026-11-01', 'due') ORDER BY belnr").fetchall()
    assert later == [("DUE_ON_KEY",), ("OPEN",), ("POSTED_AFTER",), ("POSTED_ON_KEY",)]


def test_special_gl_and_noted_item_macros_list_what_the_aging_leaves_out(ledger):
    name, partner, con = ledger
    special = con.execute(f"SELECT belnr, {partner}, umskz, amount_lc FROM {name}_special_gl(DATE '2026-10-31')")
    assert special.fetchall() == [("DOWN_PAYMENT", "P1", "A", Decimal("-400.00"))]  # the cleared one and the requests are not
    noted = con.execute(f"SELECT belnr, umskz, net_due_date, amount_lc, key_date "
                        f"FROM {name}_noted_items(DATE '2026-10-31')").fetchall()
    assert noted == [("REQUEST", "F", D("2026-12-01"), Decimal("500.00"), D("2026-10-31"))]
    before = con.execute(f"SELECT belnr FROM {name}_special_gl(DATE '2026-10-14') ORDER BY belnr").fetchall()
    assert before == [("DOWN_PAYMENT",), ("DP_CLEARED",)]  # open until its clearing on 10-15
    assert con.execute(f"SELECT count(*) FROM {name}_noted_items(DATE '2026-09-30')").fetchone()[0] == 0
