"""What one ingest run does around the loads (pipelines/ingest/load.py): which deliveries it takes,
where its temporary copies go, the progress it reports, what meta.batch records of a refusal, and
how it stops when the database cannot be written."""

from __future__ import annotations

import calendar
import hashlib
import os
import re
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from catalog.contract import FileEntry, parse_control
from pipelines.ingest.db import connect
from pipelines.ingest.delivery import discover
from pipelines.ingest.filecheck import ReadyFile
from pipelines.ingest.load import _csv_refusal, ingest, ingest_delivery
from tests.conftest import bseg_rows, deliver, t001_rows, yx_rows

DAY1, DAY2 = "20261026", "20261027"


def _batch_id(chk: Path, system: str, table: str, biz_date: str) -> str:
    return f"{system}.{table}.{biz_date}.{hashlib.md5(chk.read_bytes()).hexdigest()[:12]}"


def test_only_the_chosen_deliveries_are_taken(con, tmp_path, register):
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", DAY1, t001_rows("3300"))
    deliver(landing, register, "BSEG", DAY1, bseg_rows(1))
    report = ingest(con, [landing], register, only=lambda d: d.table == "BSEG")
    assert [(o.table, o.status, o.rows) for o in report.outcomes] == [("BSEG", "loaded", 2)]
    assert con.execute("SELECT table_name FROM meta.batch").fetchall() == [("BSEG",)]


def test_an_empty_landing_loads_nothing(con, tmp_path, register):
    (tmp_path / "landing" / DAY1).mkdir(parents=True)
    assert ingest(con, [tmp_path / "landing", tmp_path / "missing"], register).outcomes == []
    assert con.execute("SELECT count(*) FROM meta.batch").fetchone()[0] == 0


def test_a_landing_path_with_an_apostrophe(con, tmp_path, register):
    landing = tmp_path / "o'brien" / "landing"
    deliver(landing, register, "A_RCVBL_FLOW", DAY1, yx_rows(2))  # UTF-8: DuckDB reads it where it lies
    work = tmp_path / "wor'k"
    work.mkdir()
    deliver(landing, register, "T001", DAY1, t001_rows("3300"))   # GBK: read from a copy in the workdir
    report = ingest(con, [landing], register, workdir=work)
    assert [(o.table, o.status, o.rows) for o in report.outcomes] == [("T001", "loaded", 1),
                                                                     ("A_RCVBL_FLOW", "loaded", 2)]
    assert con.execute("SELECT DISTINCT _source_file FROM ods.a_rcvbl_flow").fetchall() == [
        ("YX_A_RCVBL_FLOW_20261026_001.csv",)]


def test_progress_and_the_next_deliverys_copies_in_the_workdir(con, tmp_path, register):
    landing, work = tmp_path / "landing", tmp_path / "work"
    work.mkdir()
    deliver(landing, register, "T001", DAY1, t001_rows("3300", "3301"))
    deliver(landing, register, "BSEG", DAY1, bseg_rows(1))
    chk = landing / DAY1 / "ERP_BSEG_20261026.chk"
    chk.write_text(chk.read_text(encoding="utf-8").replace("|rows=2|", "|rows=3|"), encoding="utf-8")
    lines, seen = [], []

    def progress(line: str) -> None:
        lines.append(line)
        # while one delivery is reported the next one's files are being checked, into a folder of its own
        seen.append(sorted(p.name[:8] for p in work.iterdir()))

    ingest(con, [landing], register, progress=progress, workdir=work)
    assert seen == [["respool-"], []]
    assert list(work.iterdir()) == []
    time_part = r"  \(\d+\.\d s\)"
    assert re.fullmatch(re.escape(f"[1/2] 20261026 ERP.{'T001':<13} {'loaded':<9} {2:>10,} rows") + time_part,
                        lines[0]), lines[0]
    assert re.fullmatch(re.escape(f"[2/2] 20261026 ERP.{'BSEG':<13} {'refused':<9} "
                                  "ERP_BSEG_20261026_001.csv.gz: rows: expected 3, found 2") + time_part,
                        lines[1]), lines[1]


def test_a_delivery_loads_from_its_copy_below_the_workdir(con, tmp_path, register):
    landing, work = tmp_path / "landing", tmp_path / "work"
    work.mkdir()
    control = deliver(landing, register, "T001", DAY1, t001_rows("3300"))
    source = (landing / DAY1 / control.files[0].name).read_bytes()
    copies = []

    def before_commit() -> None:
        copies.extend((p.relative_to(work).parts[1], p.read_bytes()) for p in work.glob("respool-*/*"))

    (delivery,) = discover([landing], register)
    assert ingest_delivery(con, delivery, register, work, before_commit=before_commit).status == "loaded"
    assert copies == [("ERP_T001_20261026_001.csv", source.decode("gbk").encode("utf-8"))]
    assert list(work.iterdir()) == []


def test_what_meta_batch_records_of_a_refusal(con, tmp_path, register):
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", DAY2, t001_rows("3300", "3301", "3302"), rows_per_file=2)
    chk = landing / DAY2 / "ERP_T001_20261027.chk"
    chk.write_text(chk.read_text(encoding="utf-8").replace("|rows=1|", "|rows=4|"), encoding="utf-8")
    landed = calendar.timegm((2026, 10, 28, 1, 2, 3))
    os.utime(chk, (landed, landed))
    files = sorted((landing / DAY2).glob("*.csv"))
    batch_id = _batch_id(chk, "ERP", "T001", DAY2)
    started = time.perf_counter()
    (outcome,) = ingest(con, [landing], register).outcomes
    elapsed = time.perf_counter() - started
    reason = "ERP_T001_20261027_002.csv: rows: expected 4, found 1"
    assert (outcome.batch_id, outcome.system, outcome.table, outcome.biz_date, outcome.status, outcome.rows,
            outcome.reason) == (batch_id, "ERP", "T001", DAY2, "refused", 0, reason)
    assert 0 < outcome.seconds <= elapsed  # the delivery's own time, within the run's
    row = con.execute("SELECT * EXCLUDE (recorded_at) FROM meta.batch").fetchall()
    assert row == [(batch_id, "ERP", "T001", datetime(2026, 10, 27).date(), "FULL", "GBK", 2, 6,
                    sum(f.stat().st_size for f in files), hashlib.md5(chk.read_bytes()).hexdigest(), str(chk),
                    "refused", "rows", reason, None, datetime(2026, 10, 28, 1, 2, 3))]
    assert con.execute("SELECT * FROM meta.batch_file ORDER BY file_name").fetchall() == [
        (batch_id, f.name, rows, f.stat().st_size, hashlib.md5(f.read_bytes()).hexdigest())
        for f, rows in zip(files, (2, 4), strict=True)]


def test_a_refusal_seen_again_keeps_its_first_record(con, tmp_path, register):
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", DAY1, t001_rows("3300"))
    chk = landing / DAY1 / "ERP_T001_20261026.chk"
    chk.write_text(chk.read_text(encoding="utf-8").replace("mode=FULL", "mode=INCR"), encoding="utf-8")
    assert [o.status for o in ingest(con, [landing], register).outcomes] == ["refused"]
    first = con.execute("SELECT * FROM meta.batch").fetchall()
    assert first[0][11:14] == ("refused", "mode", "ERP_T001_20261026.chk: mode: expected FULL, found INCR")
    # refused by the control file's content, the delivery is still recorded as the control file describes it
    assert first[0][4:8] == ("INCR", "GBK", 1, 1)
    assert con.execute("SELECT file_name, rows FROM meta.batch_file").fetchall() == [("ERP_T001_20261026_001.csv", 1)]
    again = ingest(con, [landing], register).outcomes
    assert [(o.status, o.reason) for o in again] == [("refused", first[0][13])]
    assert con.execute("SELECT * FROM meta.batch").fetchall() == first  # recorded_at included


def test_a_database_that_cannot_be_written_stops_the_run_and_leaves_no_copies(tmp_path, register):
    landing, work, db = tmp_path / "landing", tmp_path / "work", tmp_path / "respool.duckdb"
    work.mkdir()
    deliver(landing, register, "T001", DAY1, t001_rows("3300"))
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    connect(db).close()
    with connect(db, read_only=True) as read_only, pytest.raises(duckdb.Error, match="read-only"):
        ingest(read_only, [landing], register, workdir=work)
    assert list(work.iterdir()) == []
    with connect(db, read_only=True) as after:
        assert after.execute("SELECT count(*) FROM meta.batch").fetchone()[0] == 0


def test_listed_rows_sum_over_the_parts(con, tmp_path, register):
    landing = tmp_path / "landing"
    control = deliver(landing, register, "BSEG", DAY1, bseg_rows(5), rows_per_file=4)
    assert [f.rows for f in parse_control((landing / DAY1 / "ERP_BSEG_20261026.chk").read_text()).files] == [4, 4, 2]
    started = time.perf_counter()
    (outcome,) = ingest(con, [landing], register).outcomes
    elapsed = time.perf_counter() - started
    assert (outcome.status, outcome.rows) == ("loaded", 10)
    assert 0 < outcome.seconds <= elapsed
    assert con.execute("SELECT files, rows, bytes FROM meta.batch").fetchone() == (
        3, 10, sum((landing / DAY1 / f.name).stat().st_size for f in control.files))


def test_a_delivery_seen_before_is_not_checked_again(con, tmp_path, register):
    """Loaded or skipped once: unchanged, even once its data files were archived away."""
    landing, rerun = tmp_path / "landing", tmp_path / "landing" / "redelivery"
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    loaded_id = _batch_id(landing / DAY2 / "ERP_T001_20261027.chk", "ERP", "T001", DAY2)
    assert [(o.batch_id, o.status, o.rows) for o in ingest(con, [landing], register).outcomes] == [
        (loaded_id, "loaded", 1)]
    deliver(rerun, register, "T001", DAY1, t001_rows("3301"))  # older than the loaded snapshot: skipped
    skipped_id = _batch_id(rerun / DAY1 / "ERP_T001_20261026.chk", "ERP", "T001", DAY1)
    assert [(o.batch_id, o.status, o.rows) for o in ingest(con, [landing, rerun], register).outcomes] == [
        (skipped_id, "skipped", 0), (loaded_id, "unchanged", 0)]
    assert con.execute("SELECT mode, encoding, files, rows, status, rule, reason FROM meta.batch WHERE batch_id = ?",
                       [skipped_id]).fetchall() == [
        ("FULL", "GBK", 1, 1, "skipped", "stale_snapshot",
         "snapshot of 20261026 is older than the loaded snapshot of 20261027")]
    for data in [*landing.glob("*/*.csv"), *rerun.glob("*/*.csv")]:
        data.unlink()
    again = ingest(con, [landing, rerun], register).outcomes
    assert [(o.batch_id, o.status, o.reason) for o in again] == [
        (skipped_id, "unchanged", "already skipped"), (loaded_id, "unchanged", "already loaded")]


def test_rows_that_leave_a_full_snapshot_are_kept_with_the_batch_that_left_them_out(con, tmp_path, register):
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", DAY1, t001_rows("3300", "3301"))
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    ingest(con, [landing], register)
    day1 = _batch_id(landing / DAY1 / "ERP_T001_20261026.chk", "ERP", "T001", DAY1)
    day2 = _batch_id(landing / DAY2 / "ERP_T001_20261027.chk", "ERP", "T001", DAY2)
    assert con.execute("SELECT BUKRS, _batch_id, _biz_date::VARCHAR, _departed_batch_id, _departed_biz_date::VARCHAR "
                       "FROM ods.t001_departed").fetchall() == [("3301", day1, "2026-10-26", day2, "2026-10-27")]
    assert con.execute("SELECT BUKRS, _batch_id FROM ods.t001").fetchall() == [("3300", day2)]


@pytest.mark.parametrize(("first_day", "statuses"), [(DAY2, ["loaded", "unchanged"]), (DAY1, ["skipped", "unchanged"])])
def test_the_same_delivery_twice_in_one_run_is_taken_once(con, tmp_path, register, first_day, statuses):
    """Headquarters sent the same files again into the re-delivery folder: the copy is unchanged."""
    landing, rerun = tmp_path / "landing", tmp_path / "landing" / "redelivery"
    if first_day == DAY1:  # a newer snapshot is loaded already: both copies are stale
        deliver(landing, register, "T001", DAY2, t001_rows("3300"))
        ingest(con, [landing], register)
    deliver(landing, register, "T001", first_day, t001_rows("3301", "3302"))
    deliver(rerun, register, "T001", first_day, t001_rows("3301", "3302"))
    outcomes = [o for o in ingest(con, [landing, rerun], register).outcomes if o.biz_date == first_day]
    batch_id = _batch_id(landing / first_day / f"ERP_T001_{first_day}.chk", "ERP", "T001", first_day)
    assert [(o.batch_id, o.status) for o in outcomes] == [(batch_id, s) for s in statuses]
    assert outcomes[1].reason == f"already {statuses[0]}"
    expected = [("3301",), ("3302",)] if first_day == DAY2 else [("3300",)]
    assert con.execute("SELECT BUKRS FROM ods.t001 ORDER BY 1").fetchall() == expected


def test_an_incremental_delivery_of_an_earlier_date_still_loads(con, tmp_path, register):
    landing, rerun = tmp_path / "landing", tmp_path / "landing" / "redelivery"
    deliver(landing, register, "BSEG", DAY2, bseg_rows(1))
    ingest(con, [landing], register)
    deliver(rerun, register, "BSEG", DAY1, bseg_rows(2, 10))  # INCR: no snapshot to be older than
    assert [(o.biz_date, o.status, o.rows) for o in ingest(con, [landing, rerun], register).outcomes] == [
        (DAY1, "loaded", 4), (DAY2, "unchanged", 0)]
    assert con.execute("SELECT _biz_date::VARCHAR, count(*) FROM ods.bseg GROUP BY 1 ORDER BY 1").fetchall() == [
        ("2026-10-26", 4), ("2026-10-27", 2)]


def test_an_orchestrators_interruption_rolls_back_and_is_recorded(con, tmp_path, register, monkeypatch):
    """Dagster terminates a run by raising its own BaseException in the step: the delivery in
    progress is rolled back and recorded as interrupted, and the interruption goes on up."""
    from dagster._core.errors import DagsterExecutionInterruptedError

    from pipelines.ingest import load

    landing = tmp_path / "landing"
    deliver(landing, register, "T001", DAY1, t001_rows("3300"))
    deliver(landing, register, "BSEG", DAY1, bseg_rows(2))
    real_load = load._load

    def terminated_during_bseg(con, table, *args):
        if table.code == "BSEG":
            con.execute(f"SELECT count(*) FROM ods.{table.ods_name}")  # the load's transaction is open
            raise DagsterExecutionInterruptedError()
        return real_load(con, table, *args)

    monkeypatch.setattr(load, "_load", terminated_during_bseg)
    with pytest.raises(DagsterExecutionInterruptedError):
        ingest(con, [landing], register)
    assert con.execute("SELECT table_name, status, reason FROM meta.batch ORDER BY 1").fetchall() == [
        ("BSEG", "interrupted", "DagsterExecutionInterruptedError: rolled back, loaded again by the next run"),
        ("T001", "loaded", None)]
    assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'bseg'").fetchone()[0] == 0
    monkeypatch.setattr(load, "_load", real_load)
    again = ingest(con, [landing], register)
    assert [(o.table, o.status) for o in again.outcomes] == [("T001", "unchanged"), ("BSEG", "loaded")]


def _ready(work: Path, name: str) -> ReadyFile:
    return ReadyFile(entry=FileEntry(name=name, rows=1, bytes=10, md5="0" * 32), source=work / name,
                     readable=work / "respool-x1" / name.removesuffix(".gz"))


def test_a_csv_error_names_the_delivered_file_it_occurred_in(tmp_path, register):
    files = [_ready(tmp_path, "ERP_BSEG_20261026_001.csv.gz"), _ready(tmp_path, "ERP_BSEG_20261026_002.csv.gz")]
    error = duckdb.InvalidInputException(
        "Invalid Input Error: CSV Error on Line: 3\n"
        f"Original Line: 800,{files[1].readable}\n"
        "Expected Number of Columns: 7 Found: 2\n"
        "\n"
        "Possible fixes:\n"
        "* Disable the parser's strict mode (strict_mode=false)\n"
        f"  file = {files[1].readable}\n"
        "  delimiter = , (Set By User)\n")
    refusal = _csv_refusal(error, register.table("BSEG"), files)
    assert (refusal.file, refusal.rule, refusal.expected, refusal.found) == (
        "ERP_BSEG_20261026_002.csv.gz", "csv", f"RFC 4180 CSV with {len(register.table('BSEG').columns)} columns",
        "Invalid Input Error: CSV Error on Line: 3; Original Line: 800,ERP_BSEG_20261026_002.csv.gz; "
        "Expected Number of Columns: 7 Found: 2")


def test_a_csv_error_without_a_file_names_the_first_file(tmp_path, register):
    files = [_ready(tmp_path, "ERP_T001_20261026_001.csv"), _ready(tmp_path, "ERP_T001_20261026_002.csv")]
    refusal = _csv_refusal(duckdb.ConversionException("Conversion Error: Could not convert string 'x'\nPossible fixes:"),
                           register.table("T001"), files)
    assert (refusal.file, refusal.found) == ("ERP_T001_20261026_001.csv",
                                             "Conversion Error: Could not convert string 'x'")


def test_an_incremental_delivery_without_rows_loads(con, tmp_path, register):
    """No document changed that day: the file holds only its header and the control file says rows=0."""
    landing = tmp_path / "landing"
    deliver(landing, register, "BSEG", DAY1, bseg_rows(2))  # two documents of two lines each
    control = deliver(landing, register, "BSEG", DAY2, [])
    assert [(f.rows, f.name) for f in control.files] == [(0, "ERP_BSEG_20261027_001.csv.gz")]
    report = ingest(con, [landing], register)
    assert [(o.biz_date, o.status, o.rows) for o in report.outcomes] == [(DAY1, "loaded", 4), (DAY2, "loaded", 0)]
    assert con.execute("SELECT _biz_date::VARCHAR, count(*) FROM ods.bseg GROUP BY 1").fetchall() == [
        ("2026-10-26", 4)]
    assert con.execute("SELECT rows FROM meta.batch WHERE biz_date = '2026-10-27'").fetchall() == [(0,)]


def test_a_row_with_more_fields_than_the_header_is_refused_naming_its_file(con, tmp_path, register):
    landing = tmp_path / "landing"
    rows = t001_rows("3300", "3301")
    rows[1].append("多余")  # eight fields under a header of seven
    deliver(landing, register, "T001", DAY1, rows)
    (outcome,) = ingest(con, [landing], register).outcomes
    assert outcome.status == "refused"
    assert outcome.reason.startswith("ERP_T001_20261026_001.csv: csv: expected RFC 4180 CSV with 7 columns, found ")
    assert "work" not in outcome.reason and "respool-" not in outcome.reason  # the delivered name, not the copy's
    assert con.execute("SELECT status, rule FROM meta.batch").fetchall() == [("refused", "csv")]


def test_a_row_with_one_empty_field_too_many_is_refused_naming_its_file(con, tmp_path, register):
    landing = tmp_path / "landing"
    rows = t001_rows("3300", "3301")
    rows[1].append("")  # eight fields under a header of seven, the eighth empty: "...,\r\n"
    deliver(landing, register, "T001", DAY1, rows)
    (outcome,) = ingest(con, [landing], register).outcomes
    assert outcome.status == "refused"
    assert outcome.reason == ("ERP_T001_20261026_001.csv: csv: expected RFC 4180 CSV with 7 columns, "
                              "found 8 fields on line 3, the last one empty")
    assert con.execute("SELECT status, rule FROM meta.batch").fetchall() == [("refused", "csv")]
