"""The gates of the nightly run, through real DuckDB files and the real `respool` CLI.

Publishing is refused while the latest quality run has a failing `error` check, or when no quality
run is recorded at all; the snapshot analysts read then stays byte for byte what it was. The exit
codes scripts rely on: `respool check` (1 on a failing error check), `respool ingest` (1 when a
delivery was refused), `respool publish` (1 when refused), `respool recon` (1 beyond the tolerance).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from models.build import build
from models.loader import load_models
from pipelines.cli import app
from pipelines.ingest.db import connect
from pipelines.ingest.load import ingest
from pipelines.publish import PublishRefused, publish, read_provenance
from quality.runner import run_checks
from tests.conftest import bseg_rows, deliver, t001_rows
from tests.pool_scenario import _row, bkpf, bseg, deliver_bad_terms_item, deliver_scenario

BAD_TERMS = "dwd_ar_item.net_due_not_before_baseline"
NO_RUN = "no quality run recorded: run `respool check` first"


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


def _text(result) -> str:
    return " ".join(result.output.split())  # Rich wraps long lines


@pytest.fixture(autouse=True)
def _quiet_environment(tmp_path, monkeypatch):
    """No published-snapshot override; landing (no sample manifest) and quality output in tmp_path."""
    monkeypatch.delenv("RESPOOL_PUBLISHED_DB", raising=False)
    monkeypatch.setenv("RESPOOL_LANDING", str(tmp_path / "no-landing"))
    monkeypatch.setenv("RESPOOL_QUALITY_DIR", str(tmp_path / "quality"))


@pytest.fixture(scope="module")
def dbs(tmp_path_factory, register) -> dict[str, Path]:
    """The pool scenario's databases, each with a snapshot published while its checks passed:

    clean     ingested, built, checked: no error check fails
    failing   clean, published, then BSID of day 2 re-delivered with an item whose net due date is
              before its baseline, built and checked again: the latest run fails BAD_TERMS
    never     published from clean, then replaced by the same database built but never checked
    """
    tmp = tmp_path_factory.mktemp("gates")
    landing = tmp / "landing"
    deliver_scenario(landing, register)
    paths = {name: tmp / name / "respool.duckdb" for name in ("clean", "failing", "never")}
    for path in paths.values():
        path.parent.mkdir()
    unchecked = tmp / "unchecked.duckdb"
    with connect(paths["clean"]) as con:
        assert not ingest(con, [landing], register).refused
        assert not build(con, load_models()).failed
    shutil.copyfile(paths["clean"], unchecked)
    with connect(paths["clean"]) as con:
        assert not run_checks(con, register).failed_errors

    for name in ("failing", "never"):
        shutil.copyfile(paths["clean"], paths[name])
        publish(paths[name], tmp / name / "snapshot.duckdb")
    shutil.copyfile(unchecked, paths["never"])

    bad = tmp / "landing-bad-terms"
    shutil.copytree(landing, bad)
    deliver_bad_terms_item(bad, register)
    with connect(paths["failing"]) as con:
        report = ingest(con, [bad], register)
        assert [(o.table, o.biz_date) for o in report.outcomes if o.status == "loaded"] == [("BSID", "20261027")]
        assert not build(con, load_models()).failed
        run = run_checks(con, register)
        assert [f"{s.name}.{r.expectation_id}" for s, r in run.failed_errors] == [BAD_TERMS]
    return paths


def _snapshot(db: Path) -> Path:
    return db.parent / "snapshot.duckdb"


# --- publishing is refused, and the published snapshot stays as it was ---------------------------

def test_publish_refused_while_the_latest_run_fails_an_error_check(dbs):
    db, snapshot = dbs["failing"], _snapshot(dbs["failing"])
    before = _md5(snapshot)
    with pytest.raises(PublishRefused) as refused:
        publish(db, snapshot)
    assert str(refused.value) == f"1 blocking (error) checks failed: {BAD_TERMS}"
    assert _md5(snapshot) == before
    assert sorted(p.name for p in snapshot.parent.iterdir()) == ["respool.duckdb", "snapshot.duckdb"]


def test_cli_publish_refused_while_the_latest_run_fails_an_error_check(dbs):
    db, snapshot = dbs["failing"], _snapshot(dbs["failing"])
    before = _md5(snapshot)
    out = _cli("publish", "--db", str(db), "--to", str(snapshot))
    assert out.exit_code == 1
    assert f"未发布 not published: 1 blocking (error) checks failed: {BAD_TERMS}" in _text(out)
    assert "已发布 published" not in out.output
    assert _md5(snapshot) == before


def test_publish_refused_when_no_quality_run_is_recorded(dbs):
    db, snapshot = dbs["never"], _snapshot(dbs["never"])
    before = _md5(snapshot)
    with pytest.raises(PublishRefused) as refused:
        publish(db, snapshot)
    assert str(refused.value) == NO_RUN
    assert _md5(snapshot) == before
    assert read_provenance(snapshot).source_db == str(db.resolve())  # still the one published before


def test_cli_publish_refused_when_no_quality_run_is_recorded(dbs):
    db, snapshot = dbs["never"], _snapshot(dbs["never"])
    before = _md5(snapshot)
    out = _cli("publish", "--db", str(db), "--to", str(snapshot))
    assert out.exit_code == 1
    assert f"未发布 not published: {NO_RUN}" in _text(out)
    assert _md5(snapshot) == before


def test_no_snapshot_is_created_from_a_database_never_checked(dbs, tmp_path):
    db = tmp_path / "db" / "respool.duckdb"
    db.parent.mkdir()
    shutil.copyfile(dbs["never"], db)
    out = _cli("publish", "--db", str(db))  # the default target: DIR/published/NAME.duckdb
    assert out.exit_code == 1
    assert f"未发布 not published: {NO_RUN}" in _text(out)
    assert sorted(p.name for p in db.parent.iterdir()) == ["respool.duckdb"]


def test_cli_publish_exits_0_once_the_checks_passed(dbs, tmp_path):
    db = tmp_path / "db" / "respool.duckdb"
    db.parent.mkdir()
    shutil.copyfile(dbs["clean"], db)
    out = _cli("publish", "--db", str(db))
    assert out.exit_code == 0, out.output
    snapshot = tmp_path / "db" / "published" / "respool.duckdb"
    assert f"已发布 published {snapshot}" in _text(out)
    assert read_provenance(snapshot).source_db == str(db.resolve())


# --- respool check -----------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "exit_code"), [("clean", 0), ("failing", 1)])
def test_check_exit_code(dbs, tmp_path, name, exit_code):
    db = tmp_path / "respool.duckdb"
    shutil.copyfile(dbs[name], db)
    out = _cli("check", "--db", str(db), "--no-docs")
    assert out.exit_code == exit_code, out.output
    assert (BAD_TERMS.split(".")[1] in out.output) == (exit_code == 1)


# --- respool ingest ----------------------------------------------------------------------------

def test_ingest_exit_code(tmp_path, register):
    landing, rerun, db = tmp_path / "landing", tmp_path / "landing" / "redelivery", tmp_path / "respool.duckdb"
    run = ("ingest", "--landing", str(landing), "--landing", str(rerun), "--db", str(db))
    deliver(landing, register, "T001", "20261026", t001_rows("3300"))
    assert _cli(*run).exit_code == 0  # loaded

    deliver(landing, register, "T001", "20261027", t001_rows("3300", "3301"))
    deliver(landing, register, "BSEG", "20261027", bseg_rows(2))
    chk = landing / "20261027" / "ERP_BSEG_20261027.chk"
    good = chk.read_text(encoding="utf-8")
    chk.write_text(good.replace("|rows=4|", "|rows=5|"), encoding="utf-8")
    first = _cli(*run)
    assert first.exit_code == 1  # BSEG refused, T001 of the same night loaded
    assert "ERP_BSEG_20261027_001.csv.gz: rows: expected 5, found 4" in _text(first)
    assert _cli(*run).exit_code == 1  # still refused on the next run

    chk.write_text(good, encoding="utf-8")  # headquarters re-sends the control file
    assert _cli(*run).exit_code == 0
    assert _cli(*run).exit_code == 0  # nothing new: every delivery unchanged

    deliver(rerun, register, "T001", "20261026", t001_rows("3302"))  # older than the loaded snapshot
    stale = _cli(*run)
    assert stale.exit_code == 0  # skipped, not refused
    assert "skipped" in stale.output
    with connect(db, read_only=True) as con:
        assert con.execute("SELECT status, count(*) FROM meta.batch GROUP BY 1 ORDER BY 1").fetchall() == [
            ("loaded", 3), ("refused", 1), ("skipped", 1)]


# --- respool recon -----------------------------------------------------------------------------

RECON_DAY = "20261028"


def _yx(bill: str, org_no: str, amount: str) -> list[str]:
    # RCVBL_AMT_ID CONS_NO ORG_NO RCVBL_YM T_PQ RCVBL_AMT RCVED_AMT RCVBL_PENALTY RCVED_PENALTY OWE_AMT
    # SETTLE_FLAG RELEASE_DATE
    return [bill, "33" + bill[1:], org_no, "202610", "100", amount, "0.00", "0.00", "0.00", amount, "01", "20261005"]


@pytest.fixture(scope="module")
def recon_db(tmp_path_factory, register) -> Path:
    """A ledger of its own for the ERP-YX reconciliation, every figure by hand (month 202610):

    3301  ERP: invoice 01 S 1000.00 and credit memo 11 H 50.00 to 1122010000 → 950.00 posted
          YX:  bills of 3340101 (600.00) and 3340102 (349.50), both 3301's   → 949.50 billed
          difference 950.00 - 949.50 = 0.50
    3302  ERP: nothing posted; YX: a bill of 33402 (0.75) → difference -0.75
    Every other table is delivered empty.
    """
    tmp = tmp_path_factory.mktemp("recon")
    landing, r = tmp / "landing", register
    for table in r.tables:
        if table.code not in ("BKPF", "BSEG", "A_RCVBL_FLOW"):
            deliver(landing, r, table.code, RECON_DAY, [])
    deliver(landing, r, "BKPF", RECON_DAY, [bkpf(r, "3301", "0100000011", RECON_DAY),
                                            bkpf(r, "3301", "0100000012", RECON_DAY, blart="DG")])
    deliver(landing, r, "BSEG", RECON_DAY, [
        bseg(r, "3301", "0100000011", "2026", "001", "01", "D", "S", "1000.00", "1122010000", KUNNR="0000100001"),
        bseg(r, "3301", "0100000011", "2026", "002", "50", "S", "H", "1000.00", "6001010000"),
        bseg(r, "3301", "0100000012", "2026", "001", "11", "D", "H", "50.00", "1122010000", KUNNR="0000100001"),
        bseg(r, "3301", "0100000012", "2026", "002", "40", "S", "S", "50.00", "6001010000"),
    ])
    deliver(landing, r, "A_RCVBL_FLOW", RECON_DAY, [_yx("R00000001", "3340101", "600.00"),
                                                    _yx("R00000002", "3340102", "349.50"),
                                                    _yx("R00000003", "33402", "0.75")])
    assert _row(r, "A_RCVBL_FLOW", RCVBL_AMT_ID="x")[0] == "x"  # the register's first column, as _yx assumes
    db = tmp / "recon.duckdb"
    with connect(db) as con:
        assert not ingest(con, [landing], register).refused
        assert not build(con, load_models()).failed
    return db


def test_recon_rows_are_the_hand_computed_figures(recon_db):
    out = _cli("recon", "--db", str(recon_db), "--format", "csv", "--tolerance", "1")
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines() == [
        "bukrs,bill_month,yx_billed,erp_posted,difference,yx_bills,erp_documents,status",
        "3301,202610,949.50,950.00,0.50,2,2,差异 difference",
        "3302,202610,0.75,0.00,-0.75,1,0,ERP未入账 not posted in ERP",
    ]


@pytest.mark.parametrize(("tolerance", "exit_code"), [
    (None, 1),     # the default 0.01: both differences beyond
    ("0.49", 1),   # 0.50 beyond
    ("0.5", 1),    # 0.50 within, |-0.75| beyond
    ("0.74", 1),   # |-0.75| beyond
    ("0.75", 0),   # both within: "beyond" is strictly greater
    ("10", 0),
])
def test_recon_exit_code(recon_db, tolerance, exit_code):
    args = ["recon", "--db", str(recon_db)] + (["--tolerance", tolerance] if tolerance else [])
    out = _cli(*args)
    assert out.exit_code == exit_code, out.output
    beyond = {None: 2, "0.49": 2, "0.5": 1, "0.74": 1, "0.75": 0, "10": 0}[tolerance]
    assert f"2 company-months, {beyond} beyond tolerance" in _text(out)
