"""generate → ingest → build on a fresh database, checked against the control files and the
generator's manifest of deliberate defects (not against the code under test)."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.contract import parse_control
from models.build import build
from models.loader import load_models
from pipelines.config import landing_roots
from pipelines.ingest.db import connect
from pipelines.ingest.delivery import discover
from pipelines.ingest.load import ingest
from sample_data.generator import generate
from sample_data.manifest import CAUGHT_BY, defects_caught

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory, register):
    tmp = tmp_path_factory.mktemp("e2e")
    landing = tmp / "landing"
    manifest = generate(landing, days=7, scale=0.05, seed=11)
    con = connect(tmp / "e2e.duckdb")
    report = ingest(con, landing_roots(landing), register)
    built = build(con, load_models())
    yield landing, manifest, con, report, built
    con.close()


def _defects(manifest: dict, kind: str) -> list[dict]:
    return [d for d in manifest["defects"] if d["kind"] == kind]


def test_exactly_the_damaged_deliveries_are_refused(run):
    _, manifest, _, report, _ = run
    damaged = {(d["table"], d["biz_date"]) for kind in ("md5_mismatch", "row_count_mismatch", "wrong_encoding")
               for d in _defects(manifest, kind)}
    assert len(damaged) == 3
    assert {(o.table, o.biz_date) for o in report.refused} == damaged
    for o in report.refused:
        assert o.reason.split(":")[0].endswith((".csv", ".csv.gz"))


def test_loaded_rows_match_the_control_files(run, register):
    landing, _, con, _, _ = run
    current = {r[0] for r in con.execute(
        "SELECT batch_id FROM meta.batch WHERE status = 'loaded' AND superseded_by IS NULL").fetchall()}
    expected: dict[str, int] = {}
    counted: set[str] = set()  # an identical re-delivery is the same batch: count it once
    for d in discover(landing_roots(landing), register):
        if d.batch_id() in current and d.batch_id() not in counted:
            counted.add(d.batch_id())
            table = register.table(d.table).ods_name
            expected[table] = expected.get(table, 0) + parse_control(d.chk_path.read_text()).rows
    for table, rows in expected.items():
        assert con.execute(f"SELECT count(*) FROM ods.{table}").fetchone()[0] == rows, table
    assert len(expected) == 11


def test_nothing_is_lost_for_the_wrong_encoding(run):
    landing, manifest, con, _, _ = run
    (defect,) = _defects(manifest, "wrong_encoding")
    biz_date = f"{defect['biz_date'][:4]}-{defect['biz_date'][4:6]}-{defect['biz_date'][6:]}"
    redelivered = parse_control((landing / defect["redelivery"] / f"YX_A_RCVBL_FLOW_{defect['biz_date']}.chk")
                                .read_text(encoding="utf-8"))
    assert redelivered.rows > 0
    loaded = con.execute("SELECT count(*), count(DISTINCT _batch_id) FROM ods.a_rcvbl_flow WHERE _biz_date = ?",
                         [biz_date]).fetchone()
    assert loaded == (redelivered.rows, 1)  # every row of the good re-delivery, and only its rows


def test_every_model_builds_and_reconciles(run):
    _, _, _, _, built = run
    assert not built.failed
    assert built.reconciliations and all(r.balanced for r in built.reconciliations)


def test_ar_open_at_the_last_day_equals_the_last_bsid_snapshot(run):
    _, _, con, _, _ = run
    last_day = con.execute("SELECT max(_biz_date) FROM ods.bsid").fetchone()[0]
    delivered = con.execute(
        "SELECT sum(CASE SHKZG WHEN 'S' THEN DMBTR::DECIMAL(18, 2) ELSE -DMBTR::DECIMAL(18, 2) END) "
        "FROM ods.bsid").fetchone()[0]
    quarantined = con.execute(
        "SELECT coalesce(sum(signed_amount(dmbtr, shkzg)), 0) FROM quarantine.stg_ar_item "
        "WHERE _ods_table = 'BSID'").fetchone()[0]
    pool = con.execute("SELECT sum(amount_lc) FROM dwd.dwd_ar_item WHERE is_open_at(budat, augdt, ?)",
                       [last_day]).fetchone()[0]
    assert pool == delivered - quarantined
    same_via_macro = con.execute(
        "SELECT sum(amount_lc) FROM ar_aging(?, 'due')", [last_day]).fetchone()[0] + con.execute(
        "SELECT coalesce(sum(amount_lc), 0) FROM ar_special_gl(?)", [last_day]).fetchone()[0]
    assert same_via_macro == pool


def test_vouchers_balance_except_the_one_unbalanced_on_purpose(run):
    _, manifest, con, _, _ = run
    (defect,) = _defects(manifest, "unbalanced_voucher")
    doc = defect["document"]
    unbalanced = con.execute(
        """
        SELECT i.bukrs, i.belnr, i.gjahr, sum(i.amount_lc)
        FROM dwd.dwd_fi_voucher_item i
        WHERE i.has_header
          AND NOT EXISTS (SELECT 1 FROM quarantine.stg_bseg q      -- a line that could not be cleansed
                          WHERE q.bukrs = i.bukrs AND q.belnr = i.belnr AND q.gjahr = i.gjahr)
        GROUP BY ALL HAVING sum(i.amount_lc) <> 0
        """).fetchall()
    assert [(b, n, g) for b, n, g, _ in unbalanced] == [(doc["BUKRS"], doc["BELNR"], doc["GJAHR"])]
    assert unbalanced[0][3] == Decimal(defect["imbalance"])


def test_reconciliation_reports_the_deliberate_difference(run):
    _, manifest, con, _, _ = run
    (defect,) = _defects(manifest, "reconciliation_difference")
    row = con.execute("SELECT difference, status FROM ads.ads_ar_recon_yx WHERE bukrs = ? AND bill_month = ?",
                      [defect["bukrs"], defect["bill_month"]]).fetchone()
    assert row[0] == Decimal(defect["difference"]) and row[1] == "差异 difference"


def test_ingesting_again_changes_nothing(run, register):
    landing, _, con, _, _ = run

    def fingerprint() -> str:
        tables = [r[0] for r in con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema IN ('ods', 'meta') AND table_name NOT IN ('model_run', 'cleansing_reconciliation') "
            "ORDER BY 1").fetchall()]
        h = hashlib.md5()
        for t in tables:
            h.update(repr(con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()).encode())
        return h.hexdigest()
    before = fingerprint()
    again = ingest(con, landing_roots(landing), register)
    assert {o.status for o in again.outcomes} <= {"unchanged", "refused"}
    assert fingerprint() == before


def test_manifest_lives_outside_the_date_folders(run):
    landing, _, _, _, _ = run
    manifest = json.loads((landing / "generation.json").read_text(encoding="utf-8"))
    assert manifest["defects"]
    assert not any(Path(p).suffix == ".json" for p in (landing / "20261026").iterdir())


def _failed_over_every_partition(con, register, biz_dates) -> tuple[set[str], list]:
    from datetime import datetime

    from quality.runner import run_checks

    failed: set[str] = set()
    errors = []
    for day in biz_dates:
        run = run_checks(con, register, biz_date=datetime.strptime(day, "%Y%m%d").date())
        failed |= {f"{s.name}.{r.expectation_id}" for s, r in run.results if not r.success}
        errors += [(day, s.name, r.expectation_id, r.exception) for s, r in run.failed_errors]
    return failed, errors


# Which checks must fail on each deliberate defect of the generator (sample_data/README.md),
# written from the defects' descriptions, not taken from the code that reports them.
CATCHES = {
    "a": {"delivery.each_date_delivered_once"},                                   # a date delivered twice
    "b": {"ods_bseg.key_unique", "ods_a_rcvbl_flow.key_unique",                   # duplicated keys
          "cleansing.no_superseded_duplicates_within_a_delivery"},
    "c": {"ods_bseg.ZFBDT__zero_date", "ods_kna1.ERDAT__zero_date"},              # 00000000 dates
    "d": {"ods_bkpf.KURSF__trailing_minus", "ods_a_rcvbl_flow.RCVBL_AMT__trailing_minus"},
    "e": {"ods_kna1.no_trailing_blanks", "ods_bseg.no_trailing_blanks", "ods_bsid.no_trailing_blanks"},
    "f": {"dwd_fi_voucher_item.line_has_header"},                                 # orphan line
    "g": {"dwd_fi_voucher_item.voucher_balances"},                                # unbalanced voucher
    "h": {"dwd_ar_item.item_in_bseg_same_amount"},                                # item amount ≠ BSEG
    "i": {"delivery.no_refused_deliveries"}, "j": {"delivery.no_refused_deliveries"},
    "k": {"delivery.no_refused_deliveries"},                                      # damaged deliveries
    "l": {"cleansing.nothing_quarantined", "ods_a_rcvbl_flow.RCVED_AMT__format", "ods_bseg.BELNR__not_null"},
    "m": {"ads_ar_recon_yx.erp_matches_yx"},                                      # ERP ≠ YX
    "n": {"delivery.latest_delivery_on_time"},                                    # a late delivery
}


def test_every_deliberate_defect_is_caught_by_a_check(run, register):
    _, manifest, con, _, _ = run
    failed, errors = _failed_over_every_partition(con, register, manifest["biz_dates"])
    codes = {d["code"] for d in manifest["defects"]}
    assert codes == set("abcdefghijklmn") == set(CATCHES)
    missed = {code: sorted(CATCHES[code] - failed) for code in codes}
    assert not any(missed.values()), missed  # every check named above really fails on its defect
    # `respool check --manifest` reports the same checks for each defect
    assert {code: set(checks) for code, checks in CAUGHT_BY.items()} == CATCHES
    assert all(caught for _, caught in defects_caught(manifest, failed))
    assert errors == []  # the sample's defects are reported, none of them blocks publication
    stored = con.execute("SELECT count(DISTINCT run_id), count(*) FILTER (WHERE NOT success) "
                         "FROM meta.quality_result").fetchone()
    assert stored[0] == len(manifest["biz_dates"]) and stored[1] > 0


def test_clean_data_passes_every_check(tmp_path, register):
    landing = tmp_path / "clean"
    manifest = generate(landing, days=7, scale=0.05, seed=11, defects=False)
    con = connect(tmp_path / "clean.duckdb")
    report = ingest(con, landing_roots(landing), register)
    assert not report.refused
    assert not build(con, load_models()).failed
    failed, errors = _failed_over_every_partition(con, register, manifest["biz_dates"])
    assert failed == set() and errors == []
    # and every declared check did run, on every date (an empty run would pass the line above)
    from quality.runner import load_suites

    declared = sum(len(suite.expectations) for suite in load_suites(register))
    runs = con.execute("SELECT checked_biz_date, count(*), count(*) FILTER (WHERE success) FROM meta.quality_result "
                       "GROUP BY ALL ORDER BY 1").fetchall()
    assert [(d.strftime("%Y%m%d"), n, ok) for d, n, ok in runs] == [
        (day, declared, declared) for day in manifest["biz_dates"]]
    con.close()


def test_recon_cli_exits_1_beyond_the_tolerance(run, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from pipelines.cli import app

    _, manifest, con, _, _ = run
    (defect,) = _defects(manifest, "reconciliation_difference")
    con.execute("CHECKPOINT")
    db = tmp_path / "copy.duckdb"  # the CLI opens the file read-only, as another process would
    shutil.copy(con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()")
                .fetchone()[0], db)
    strict = CliRunner().invoke(app, ["recon", "--db", str(db), "--format", "csv"])
    assert strict.exit_code == 1
    line = next(r for r in strict.stdout.splitlines() if r.startswith(f"{defect['bukrs']},{defect['bill_month']},"))
    assert f",{defect['difference']}," in line
    lenient = CliRunner().invoke(app, ["recon", "--db", str(db), "--tolerance", "10000"])
    assert lenient.exit_code == 0, lenient.output
