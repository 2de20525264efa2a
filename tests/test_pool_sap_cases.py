"""The pool in the SAP cases a provincial team meets every month: an item cleared while its
cleared-items delivery is refused or late, BSEG lines without items, calendar-year aging,
items without a baseline or a clearing date, and noted items. Figures are computed by hand
from tests/sap_cases_scenario.py."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from models.build import build
from models.loader import create_macros, load_models
from pipelines.ingest.db import connect
from pipelines.ingest.load import ingest
from pipelines.summary import pool_summary
from quality.runner import load_suites, run_checks
from tests.sap_cases_scenario import NIGHT2, B, D, E, N, P, Q, X, Y, Z, deliver_bsad_night2, deliver_sap_cases

OCT30, OCT31 = date(2026, 10, 30), date(2026, 10, 31)


def _load(tmp: Path, register, **flags) -> tuple[duckdb.DuckDBPyConnection, Path]:
    landing = tmp / "landing"
    deliver_sap_cases(landing, register, **flags)
    con = connect(tmp / "pool.duckdb")
    report = ingest(con, [landing], register)
    assert [(o.table, o.biz_date, o.reason.split(":")[1].strip()) for o in report.refused] == [
        ("BSAD", NIGHT2, "md5")]
    built = build(con, load_models())
    assert not built.failed, built.failed
    return con, landing


@pytest.fixture(scope="module")
def evidence_in_bseg(tmp_path_factory, register):
    con, _ = _load(tmp_path_factory.mktemp("sap_cases"), register, lose_e=True, bseg_late=False)
    yield con
    con.close()


def _aging(con, ledger: str, key_date: date, basis: str = "due") -> Decimal:
    return con.execute(f"SELECT coalesce(sum(amount_lc), 0) FROM {ledger}_aging(?::DATE, ?)",
                       [key_date, basis]).fetchone()[0]


def _ar_item(con, belnr: str) -> tuple:
    return con.execute("SELECT is_cleared, augdt, augbl, source_table, left_open_snapshot_on "
                       "FROM dwd.dwd_ar_item WHERE belnr = ?", [belnr]).fetchone()


def _failures(con, register, suite: str) -> dict[str, list]:
    suites = [s for s in load_suites(register) if s.name == suite]
    run = run_checks(con, register, suites=suites, record=False)
    return {r.expectation_id: r.unexpected_examples for _, r in run.results if not r.success}


# ---- 1. an item cleared while its BSAD delivery is refused -------------------------------------

def test_item_cleared_while_bsad_is_refused_takes_its_clearing_from_bseg(evidence_in_bseg):
    con = evidence_in_bseg
    assert _ar_item(con, X) == (True, OCT31, P, "BSEG", None)
    # X (1,000.00, open until it was cleared on 10-31) + Y (50.00) + Q (200.00); N and D are special
    # G/L. Without X's BSEG evidence X would be in neither BSID nor BSAD: 250.00 at 10-30.
    assert _aging(con, "ar", OCT30) == Decimal("1250.00")
    assert _aging(con, "ar", OCT31) == Decimal("250.00")


def test_item_that_left_bsid_without_any_clearing_keeps_its_open_state_and_is_reported(
        tmp_path, register):
    con, landing = _load(tmp_path, register, lose_e=False, bseg_late=True)
    try:
        assert _ar_item(con, X) == (False, None, None, "BSID_DEPARTED", OCT31)
        assert _aging(con, "ar", OCT30) == Decimal("1650.00")  # X Y Q, and E (400.00) in this delivery
        assert _aging(con, "ar", OCT31) == Decimal("1650.00")  # X kept open: nothing says it was cleared
        failed = _failures(con, register, "dwd_ar_item")
        assert failed["left_snapshot_without_clearing"] == [
            "3301/2026/0100000011/001 1000.00 于 20261031 离开 left BSID; BSAD 20261031: refused"]
        assert "bseg_lines_missing_from_items_within_tolerance" not in failed  # only B's 1.00 is missing

        # a good re-delivery of BSAD arrives: X is cleared, nothing is reported
        deliver_bsad_night2(landing / "redelivery", register)
        report = ingest(con, [landing, landing / "redelivery"], register)
        assert [o.table for o in report.outcomes if o.status == "loaded"] == ["BSAD"]
        assert not build(con, load_models()).failed
        assert _ar_item(con, X) == (True, OCT31, P, "BSAD", None)
        assert _aging(con, "ar", OCT30) == Decimal("1650.00")
        assert _aging(con, "ar", OCT31) == Decimal("650.00")
        assert "left_snapshot_without_clearing" not in _failures(con, register, "dwd_ar_item")
    finally:
        con.close()


def test_departed_rows_reconcile_and_leave_when_delivered_again(evidence_in_bseg):
    con = evidence_in_bseg
    # X left BSID on 10-31: its 10-30 row is kept, tagged with the snapshot that left it out
    rows = con.execute("SELECT BELNR, _biz_date, _departed_biz_date FROM ods.bsid_departed").fetchall()
    assert rows == [(X, OCT30, OCT31)]
    assert con.execute("SELECT count(*) FROM ods.bsid").fetchone()[0] == 5  # Y N D B Q
    rec = {r[0]: r[1:] for r in con.execute(
        "SELECT ods_table, rows_in, kept, superseded, quarantined FROM meta.cleansing_reconciliation "
        "WHERE model = 'stg.stg_ar_item'").fetchall()}
    assert rec["ods.bsid_departed"] == (1, 1, 0, 0)  # X's latest item row (BSAD refused); BSEG clears it in dwd
    assert all(r[1] == r[2] + r[3] + r[4] for r in [(k, *v) for k, v in rec.items()])


# ---- 2. BSEG customer and vendor lines that are not items ---------------------------------------

def test_bseg_lines_without_items_are_reported_and_block_beyond_the_tolerance(evidence_in_bseg, register):
    failed = _failures(evidence_in_bseg, register, "dwd_ar_item")
    # E never reached BSID, B is quarantined, P's customer line came only in the refused BSAD
    assert sorted(failed["bseg_line_is_an_item"]) == [
        f"3301/2026/{B}/001 1.00 不在应收明细 not in dwd_ar_item (BSEG 20261030)",
        f"3301/2026/{E}/001 400.00 不在应收明细 not in dwd_ar_item (BSEG 20261030)",
        f"3301/2026/{P}/001 -1000.00 不在应收明细 not in dwd_ar_item (BSEG 20261031)",
    ]
    # |missing| 1,401.00 of |all customer lines| 1,000 + 50 + 5,000 + 800 + 1 + 200 + 400 + 1,000 = 8,451.00
    [example] = failed["bseg_lines_missing_from_items_within_tolerance"]
    assert example.startswith("3301 缺失 missing 3 行 lines, 1401.00 / 8451.00 = 16.57")


# ---- 3. posting-date aging in calendar years ----------------------------------------------------

@pytest.mark.parametrize(("key_date", "posted", "bucket"), [
    # 29 Feb: one year back is 28 Feb
    ("2024-02-29", "2023-02-28", "1年以内"), ("2024-02-29", "2023-02-27", "1-2年"),
    ("2024-02-29", "2022-02-28", "1-2年"), ("2024-02-29", "2022-02-27", "2-3年"),
    ("2024-02-29", "2021-02-28", "2-3年"), ("2024-02-29", "2021-02-27", "3年以上"),
    # 28 Feb of a common year: one year back is 28 Feb 2024 (29 Feb 2024 is younger)
    ("2025-02-28", "2024-02-29", "1年以内"), ("2025-02-28", "2024-02-28", "1年以内"),
    ("2025-02-28", "2024-02-27", "1-2年"), ("2025-02-28", "2023-02-28", "1-2年"),
    ("2025-02-28", "2023-02-27", "2-3年"), ("2025-02-28", "2022-02-28", "2-3年"),
    ("2025-02-28", "2022-02-27", "3年以上"),
    # year ends: exactly n years old is still in the n-th year (731 days across 29 Feb 2024)
    ("2025-12-31", "2024-12-31", "1年以内"), ("2025-12-31", "2024-12-30", "1-2年"),
    ("2025-12-31", "2023-12-31", "1-2年"), ("2025-12-31", "2023-12-30", "2-3年"),
    ("2025-12-31", "2022-12-31", "2-3年"), ("2025-12-31", "2022-12-30", "3年以上"),
    ("2024-12-31", "2023-12-31", "1年以内"), ("2024-12-31", "2023-12-30", "1-2年"),  # 366 days
    ("2024-12-31", "2022-12-31", "1-2年"), ("2024-12-31", "2022-12-30", "2-3年"),
    ("2024-12-31", "2021-12-31", "2-3年"), ("2024-12-31", "2021-12-30", "3年以上"),
])
def test_posting_aging_counts_calendar_years(key_date, posted, bucket):
    con = duckdb.connect()
    create_macros(con)
    assert con.execute("SELECT aging_bucket_posting(?::DATE, ?::DATE)", [posted, key_date]).fetchone()[0] == bucket


def test_posting_aging_in_the_pool_and_its_month_end_snapshot(evidence_in_bseg):
    con = evidence_in_bseg
    # Q, posted 2023-10-31, is exactly three years old at 2026-10-31 (1,096 days across 29 Feb 2024)
    row = con.execute("SELECT bucket, days_since_posting FROM ar_aging(DATE '2026-10-31', 'posting') "
                      "WHERE belnr = ?", [Q]).fetchone()
    assert row == ("2-3年", 1096)
    snapshot = con.execute("SELECT bucket, amount_lc FROM dws.dws_ar_aging WHERE key_date = DATE '2026-10-31' "
                           "AND basis = 'posting' ORDER BY bucket").fetchall()
    assert snapshot == [("1年以内", Decimal("50.00")), ("2-3年", Decimal("200.00"))]


# ---- 4. and 5. no baseline date, no clearing date -----------------------------------------------

def test_item_without_baseline_is_quarantined_with_its_reason(evidence_in_bseg):
    con = evidence_in_bseg
    rows = con.execute("SELECT BELNR, _ods_table, _reject_reason FROM quarantine.stg_ar_item ORDER BY _biz_date")
    assert rows.fetchall() == [(B, "BSID", "NO_BASELINE")]  # only night 2's snapshot is in ods.bsid
    assert con.execute("SELECT count(*) FROM dwd.dwd_ar_item WHERE belnr = ?", [B]).fetchone()[0] == 0


def test_baseline_check_fails_on_a_missing_baseline(evidence_in_bseg, register, tmp_path):
    path = tmp_path / "copy.duckdb"
    evidence_in_bseg.execute("CHECKPOINT")
    shutil.copy(evidence_in_bseg.execute("SELECT path FROM duckdb_databases() WHERE database_name = 'pool'")
                .fetchone()[0], path)
    con = connect(path)
    try:
        assert "net_due_not_before_baseline" not in _failures(con, register, "dwd_ar_item")
        con.execute("UPDATE dwd.dwd_ar_item SET baseline_date = NULL, net_due_date = NULL WHERE belnr = ?", [Y])
        assert _failures(con, register, "dwd_ar_item")["net_due_not_before_baseline"] == [
            f"3301/2026/{Y}/001 基准日 baseline 缺失 missing 净到期日 net due 缺失 missing"]
    finally:
        con.close()


def test_cleared_item_without_clearing_date_is_quarantined_and_the_item_stays_open(evidence_in_bseg, register):
    con = evidence_in_bseg
    assert con.execute("SELECT BELNR, _ods_table, _reject_reason FROM quarantine.stg_ap_item").fetchall() == [
        (Z, "BSAK", "NO_CLEARING_DATE")]
    assert con.execute("SELECT is_cleared, source_table, left_open_snapshot_on FROM dwd.dwd_ap_item").fetchall() == [
        (False, "BSIK_DEPARTED", OCT31)]
    assert _aging(con, "ap", OCT31) == Decimal("-300.00")
    assert _failures(con, register, "dwd_ap_item")["left_snapshot_without_clearing"] == [
        f"3301/2026/{Z}/001 -300.00 于 20261031 离开 left BSIK; BSAK 20261031: loaded"]


# ---- 6. noted items ------------------------------------------------------------------------------

def test_noted_items_are_no_balance_and_are_shown_apart(evidence_in_bseg):
    con = evidence_in_bseg
    special = con.execute("SELECT belnr, amount_lc FROM ar_special_gl(DATE '2026-10-31')").fetchall()
    assert special == [(D, Decimal("-800.00"))]  # not 4,200.00: the 5,000.00 request is no balance
    noted = con.execute("SELECT belnr, umskz, amount_lc FROM ar_noted_items(DATE '2026-10-31')").fetchall()
    assert noted == [(N, "F", Decimal("5000.00"))]
    assert _aging(con, "ar", OCT31) == Decimal("250.00")  # Y + Q: neither N nor D is in the aging
    summary = pool_summary(con)
    ar = next(row for row in summary.ledgers if row[0] == "应收 AR")
    # open at 10-31: Y, D, Q (N is noted, not counted); ordinary Y + Q; special D; noted N
    assert ar[1:] == (3, Decimal("250.00"), Decimal("-800.00"), Decimal("5000.00"))
