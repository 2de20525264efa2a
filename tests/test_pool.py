"""The resource pool on a hand-made ledger: every expected figure below is computed by hand
in tests/pool_scenario.py's comments and rows, not by the code under test."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from models.build import build
from models.loader import load_models
from models.pool import aging, aging_items, voucher
from pipelines.cli import app
from pipelines.ingest.db import connect
from pipelines.ingest.load import ingest
from tests.pool_scenario import C1, C2, deliver_scenario


@pytest.fixture(scope="module")
def pool(tmp_path_factory, register):
    tmp = tmp_path_factory.mktemp("pool")
    landing = tmp / "landing"
    deliver_scenario(landing, register)
    db = tmp / "pool.duckdb"
    con = connect(db)
    report = ingest(con, [landing], register)
    assert not report.refused, report.refused
    built = build(con, load_models())
    assert not built.failed, built.failed
    yield con, db, built
    con.close()


def _item(con, belnr):
    names = ["net_due_date", "baseline_date", "amount_lc", "is_cleared", "augdt", "is_special_gl"]
    row = con.execute(f"SELECT {', '.join(names)} FROM dwd.dwd_ar_item WHERE belnr = ?", [belnr]).fetchone()
    return dict(zip(names, row, strict=True))


def test_cleansing_reconciles_every_ods_table(pool):
    _, _, report = pool
    rec = {r.ods_table: (r.rows_in, r.kept, r.superseded, r.quarantined) for r in report.reconciliations}
    # BSEG: 16 + 4 delivered; A's first version and the duplicated bank line superseded; 2 quarantined
    assert rec["ods.bseg"] == (20, 16, 2, 2)
    assert rec["ods.bsid"] == (3, 3, 0, 0)  # only the day-2 snapshot remains (FULL)
    assert rec["ods.bsid_departed"] == (1, 0, 1, 0)  # A left BSID on day 2: superseded by its BSAD row
    assert rec["ods.bsad"] == (4, 4, 0, 0)
    assert rec["ods.kna1"] == (2, 2, 0, 0)
    assert all(r.balanced for r in report.reconciliations)


def test_quarantine_keeps_rows_with_reason_codes(pool):
    con, _, _ = pool
    rows = con.execute("SELECT belnr, _reject_reason, _source_file, _row_number FROM quarantine.stg_bseg "
                       "ORDER BY _row_number").fetchall()
    assert rows == [("", "KEY_MISSING", "ERP_BSEG_20261026_001.csv.gz", 15),
                    ("0100000009", "BAD_DATE:ZFBDT", "ERP_BSEG_20261026_001.csv.gz", 16)]


def test_net_due_date_rules(pool):
    con, _, _ = pool
    assert _item(con, "0100000001")["net_due_date"] == date(2025, 10, 31)   # ZFBDT + ZBD1T 30
    assert _item(con, "0100000002")["net_due_date"] == date(2025, 10, 15)   # credit memo without REBZG
    c = _item(con, "0100000003")
    assert c["baseline_date"] == date(2024, 6, 1)                            # no ZFBDT: BLDAT
    assert c["net_due_date"] == date(2024, 7, 16)                            # ZBD3T 45 wins


def test_signs_and_latest_state(pool):
    con, _, _ = pool
    a = _item(con, "0100000001")
    assert a["amount_lc"] == Decimal("1000.00") and a["is_cleared"] and a["augdt"] == date(2026, 10, 27)
    assert _item(con, "0100000002")["amount_lc"] == Decimal("-200.00")
    assert _item(con, "0100000004")["is_special_gl"]
    assert con.execute("SELECT count(*) FROM dwd.dwd_ar_item").fetchone()[0] == 7
    ap = con.execute("SELECT amount_lc, net_due_date FROM dwd.dwd_ap_item").fetchall()
    assert ap == [(Decimal("-800.00"), date(2023, 4, 30))]


def test_reversal_and_its_original_cancel(pool):
    con, _, _ = pool
    total = con.execute("SELECT sum(amount_lc) FROM dwd.dwd_ar_item WHERE belnr IN ('0100000006', '0100000007')"
                        ).fetchone()[0]
    assert total == 0
    flags = con.execute("SELECT belnr, is_reversal_pair, is_reversal FROM dwd.dwd_fi_voucher_header "
                        "WHERE stblg IS NOT NULL ORDER BY belnr").fetchall()
    assert flags == [("0100000006", True, False), ("0100000007", True, True)]


def test_item_open_at_one_key_date_and_cleared_at_a_later_one(pool):
    con, _, _ = pool
    before = aging(con, "ar", date(2026, 10, 26), "due")
    after = aging(con, "ar", date(2026, 10, 27), "due")
    assert [(r.bukrs, r.bucket, r.amount_lc) for r in before] == [
        ("3301", "181-365", Decimal("1000.00")), ("3301", "365+", Decimal("100.00"))]
    assert [(r.bukrs, r.bucket, r.amount_lc) for r in after] == [("3301", "365+", Decimal("100.00"))]


def test_an_item_is_open_from_its_posting_date_on(pool):
    con, _, _ = pool
    # A is posted on 2025-10-01 (due 10-31): open that very day, not the day before; C (2024) throughout
    on_the_day = aging(con, "ar", date(2025, 10, 1), "due")
    assert [(r.bucket, r.amount_lc, r.item_count) for r in on_the_day] == [
        ("未到期", Decimal("1000.00"), 1), ("365+", Decimal("300.00"), 1)]
    day_before = aging(con, "ar", date(2025, 9, 30), "due")
    assert [(r.bucket, r.amount_lc, r.item_count) for r in day_before] == [("365+", Decimal("300.00"), 1)]


def test_posting_basis_and_ap_aging(pool):
    con, _, _ = pool
    rows = aging(con, "ar", date(2026, 10, 26), "posting")
    assert [(r.bucket, r.amount_lc) for r in rows] == [("1-2年", Decimal("800.00")), ("2-3年", Decimal("300.00"))]
    ap = aging(con, "ap", date(2026, 10, 26), "due")
    assert [(r.bucket, r.amount_lc) for r in ap] == [("365+", Decimal("-800.00"))]
    assert [(r.bucket, r.amount_lc) for r in aging(con, "ap", date(2026, 10, 26), "posting")] == [
        ("3年以上", Decimal("-800.00"))]


def test_special_gl_is_reported_apart(pool):
    con, _, _ = pool
    rows = con.execute("SELECT kunnr, umskz, amount_lc FROM ar_special_gl(DATE '2026-10-26')").fetchall()
    assert rows == [(C2, "A", Decimal("-500.00"))]


@pytest.mark.parametrize(("days", "bucket"), [
    (-3, "未到期"), (0, "未到期"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"),
    (90, "61-90"), (91, "91-180"), (180, "91-180"), (181, "181-365"), (365, "181-365"), (366, "365+")])
def test_due_bucket_boundaries(pool, days, bucket):
    con, _, _ = pool
    assert con.execute("SELECT aging_bucket_due(DATE '2026-10-31' - ?::INTEGER, DATE '2026-10-31')",
                       [days]).fetchone()[0] == bucket


def test_drill_through_sums_match_the_figure(pool):
    con, _, _ = pool
    for row in aging(con, "ar", date(2026, 10, 26), "due", by_partner=True):
        items = aging_items(con, "ar", date(2026, 10, 26), "due", row.bukrs, row.bucket, row.partner)
        assert sum(i[-1] for i in items) == row.amount_lc
        assert len(items) == row.item_count
    items = aging_items(con, "ar", date(2026, 10, 26), "due", "3301", "365+")
    assert sorted(i[3] for i in items) == ["0100000002", "0100000003"]


def test_voucher_drill_through(pool):
    con, _, _ = pool
    v = voucher(con, "3301", "2026", "1400000001")
    assert v.header["blart"] == "DZ"
    assert [(line["buzei"], line["amount_lc"]) for line in v.lines] == [
        ("001", Decimal("-1000.00")), ("002", Decimal("1000.00"))]
    assert v.balance == 0
    reversed_doc = voucher(con, "3301", "2026", "100000006")  # leading zeros are added
    assert reversed_doc.reversal_partner["belnr"] == "0100000007"


def test_every_voucher_balances(pool):
    con, _, _ = pool
    unbalanced = con.execute("SELECT bukrs, belnr, gjahr, sum(amount_lc) FROM dwd.dwd_fi_voucher_item "
                             "GROUP BY ALL HAVING sum(amount_lc) <> 0").fetchall()
    assert unbalanced == []


def _copy_of(pool, tmp_path: Path) -> Path:
    """A copy of the pool's file: the CLI opens it read-only, this process holds it read-write."""
    import shutil

    con, db, _ = pool
    con.execute("CHECKPOINT")
    shutil.copy(db, tmp_path / "copy.duckdb")
    return tmp_path / "copy.duckdb"


def test_aging_cli_csv(pool, tmp_path):
    db = _copy_of(pool, tmp_path)
    runner = CliRunner()
    out = runner.invoke(app, ["aging", "--ledger", "ar", "--as-of", "2026-10-26", "--basis", "due",
                              "--format", "csv", "--db", str(db)])
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines() == ["bukrs,bucket,amount_lc", "3301,181-365,1000.00", "3301,365+,100.00"]
    out = runner.invoke(app, ["aging", "--ledger", "ar", "--as-of", "2026-10-26", "--by", "customer",
                              "--format", "csv", "--db", str(db)])
    assert out.stdout.splitlines() == ["bukrs,kunnr,bucket,amount_lc", f"3301,{C1},181-365,1000.00",
                                       f"3301,{C1},365+,-200.00", f"3301,{C2},365+,300.00"]
    out = runner.invoke(app, ["aging", "--ledger", "ap", "--as-of", "2026-10-26", "--by", "vendor",
                              "--format", "csv", "--db", str(db)])
    assert out.stdout.splitlines() == ["bukrs,lifnr,bucket,amount_lc", "3301,0000200001,365+,-800.00"]


def test_voucher_cli(pool, tmp_path):
    db = _copy_of(pool, tmp_path)
    out = CliRunner().invoke(app, ["voucher", "3301", "2025", "0100000001", "--db", str(db)])
    assert out.exit_code == 0, out.output
    assert "平衡 balanced" in out.stdout and "1122020000" in out.stdout
    missing = CliRunner().invoke(app, ["voucher", "3301", "2025", "0999999999", "--db", str(db)])
    assert missing.exit_code == 1


def test_failing_model_keeps_previous_table_and_skips_downstream(pool, tmp_path: Path):
    con, _, _ = pool
    import shutil

    from models.loader import MODELS_DIR

    root = tmp_path / "models"
    shutil.copytree(MODELS_DIR, root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    broken = root / "dwd" / "dwd_ar_item.sql"
    broken.write_text(broken.read_text().replace("    umsks,\n", "    umsks,\n    no_such_column,\n"))
    line = broken.read_text().splitlines().index("    no_such_column,") + 1
    before = con.execute("SELECT count(*) FROM dwd.dwd_ar_item").fetchone()[0]
    report = build(con, load_models(root))
    status = {r.model: r for r in report.results}
    failed = status["dwd.dwd_ar_item"]
    assert failed.status == "failed"
    assert f"dwd_ar_item.sql:{line}" in failed.error and "no_such_column" in failed.error
    assert status["dws.dws_ar_aging"].status == "skipped"
    assert status["dwd.dwd_ap_item"].status == "built"
    assert con.execute("SELECT count(*) FROM dwd.dwd_ar_item").fetchone()[0] == before
    # restore the real models for the other tests of this module
    assert not build(con, load_models()).failed


def test_syntax_error_names_file_and_line(tmp_path: Path):
    from models.loader import ModelError, load_model

    (tmp_path / "dwd").mkdir()
    sql = tmp_path / "dwd" / "dwd_bad.sql"
    sql.write_text("SELECT\n    a,\n    FROM (SELECT 1\n")
    (tmp_path / "dwd" / "dwd_bad.yaml").write_text("name_zh: x\n")
    with pytest.raises(ModelError, match=r"dwd_bad.sql:\d+:\d+: SQL syntax error"):
        load_model(sql)
