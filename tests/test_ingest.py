"""Loading: FULL replaces, INCR appends by business date, re-runs are idempotent, a re-delivery
with other content replaces the earlier one, a crash mid-load leaves the previous state."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.ingest.delivery import discover
from pipelines.ingest.load import ingest
from tests.conftest import bseg_rows, deliver, t001_rows, table_fingerprint, yx_rows

DAY1, DAY2, DAY3 = "20261026", "20261027", "20261028"


def _all_fingerprints(con) -> dict[str, str]:
    tables = [r[0] for r in con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema IN ('ods', 'meta') ORDER BY 1").fetchall()]
    return {t: table_fingerprint(con, t) for t in tables}


def test_full_replaces_and_incr_appends(con, tmp_path, register):
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", DAY1, t001_rows("3300", "3301"))
    deliver(landing, register, "T001", DAY2, t001_rows("3300", "3301", "3302"))
    deliver(landing, register, "BSEG", DAY1, bseg_rows(3))
    deliver(landing, register, "BSEG", DAY2, bseg_rows(2, 10))
    report = ingest(con, [landing], register)
    assert [o.status for o in report.outcomes] == ["loaded"] * 4
    assert con.execute("SELECT count(*), min(_biz_date)::VARCHAR FROM ods.t001").fetchone() == (3, "2026-10-27")
    assert con.execute("SELECT _biz_date::VARCHAR, count(*) FROM ods.bseg GROUP BY 1 ORDER BY 1").fetchall() == [
        ("2026-10-26", 6), ("2026-10-27", 4)]
    # the day-1 snapshot of T001 is marked as replaced; BSEG day 1 is still present
    assert con.execute("SELECT table_name, strftime(biz_date, '%Y%m%d') FROM meta.batch "
                       "WHERE superseded_by IS NOT NULL").fetchall() == [("T001", DAY1)]


def test_values_are_kept_as_delivered_text_with_batch_columns(con, tmp_path, register):
    landing = tmp_path / "landing"
    control = deliver(landing, register, "BSEG", DAY1, bseg_rows(2), rows_per_file=3)
    ingest(con, [landing], register)
    rows = con.execute("SELECT BELNR, BUZEI, SGTXT, AUGDT, _source_file, _row_number, _biz_date::VARCHAR "
                       "FROM ods.bseg ORDER BY _source_file, _row_number").fetchall()
    assert rows[0] == ("0000000001", "001", "电费收入 ", "00000000", control.files[0].name, 1, "2026-10-26")
    assert [r[4:6] for r in rows] == [(control.files[0].name, 1), (control.files[0].name, 2),
                                      (control.files[0].name, 3), (control.files[1].name, 1)]
    batch = con.execute("SELECT system, table_name, mode, rows, status, files FROM meta.batch").fetchone()
    assert batch == ("ERP", "BSEG", "INCR", 4, "loaded", 2)


def test_ingesting_twice_leaves_the_database_identical(con, tmp_path, register):
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", DAY1, t001_rows("3300"))
    deliver(landing, register, "BSEG", DAY1, bseg_rows(5), rows_per_file=4)
    deliver(landing, register, "A_RCVBL_FLOW", DAY1, yx_rows(3))
    ingest(con, [landing], register)
    first = _all_fingerprints(con)
    again = ingest(con, [landing], register)
    assert {o.status for o in again.outcomes} == {"unchanged"}
    assert _all_fingerprints(con) == first


def test_redelivery_with_other_content_replaces_the_earlier_one(con, tmp_path, register):
    landing, rerun = tmp_path / "landing", tmp_path / "landing" / "redelivery"
    deliver(landing, register, "BSEG", DAY1, bseg_rows(3))
    deliver(landing, register, "BSEG", DAY2, bseg_rows(3, 10))
    ingest(con, [landing], register)
    corrected = bseg_rows(4, 10)
    corrected[0][11] = "更正后的文本"
    deliver(rerun, register, "BSEG", DAY2, corrected)
    report = ingest(con, [landing, rerun], register)
    assert [(o.biz_date, o.status) for o in report.outcomes] == [(DAY1, "unchanged"), (DAY2, "unchanged"),
                                                                 (DAY2, "loaded")]
    assert con.execute("SELECT _biz_date::VARCHAR, count(*) FROM ods.bseg GROUP BY 1 ORDER BY 1").fetchall() == [
        ("2026-10-26", 6), ("2026-10-27", 8)]
    assert con.execute("SELECT count(*) FROM ods.bseg WHERE SGTXT = '更正后的文本'").fetchone()[0] == 1
    batches = con.execute("SELECT strftime(biz_date, '%Y%m%d'), status, superseded_by IS NULL FROM meta.batch "
                          "ORDER BY biz_date, recorded_at").fetchall()
    assert batches == [(DAY1, "loaded", True), (DAY2, "loaded", False), (DAY2, "loaded", True)]


def test_a_full_snapshot_redelivered_for_the_same_date_replaces_the_first(con, tmp_path, register):
    landing, rerun = tmp_path / "landing", tmp_path / "landing" / "redelivery"
    deliver(landing, register, "T001", DAY1, t001_rows("3300", "3301"))
    ingest(con, [landing], register)
    deliver(rerun, register, "T001", DAY1, t001_rows("3300", "3301", "3302"))  # same date, corrected
    report = ingest(con, [landing, rerun], register)
    assert [(o.biz_date, o.status) for o in report.outcomes] == [(DAY1, "unchanged"), (DAY1, "loaded")]
    assert con.execute("SELECT BUKRS FROM ods.t001 ORDER BY 1").fetchall() == [("3300",), ("3301",), ("3302",)]


def test_redelivery_is_taken_after_the_first_delivery_of_its_date(tmp_path, register):
    landing, rerun = tmp_path / "landing", tmp_path / "landing" / "redelivery"
    deliver(rerun, register, "T001", DAY1, t001_rows("3300"))
    deliver(landing, register, "T001", DAY1, t001_rows("3300"))
    deliver(landing, register, "BSEG", DAY1, bseg_rows(1))
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    order = [(d.biz_date, d.table, d.chk_path.parent.parent.name) for d in discover([landing, rerun], register)]
    assert order == [(DAY1, "T001", "landing"), (DAY1, "BSEG", "landing"), (DAY1, "T001", "redelivery"),
                     (DAY2, "T001", "landing")]


def test_older_full_snapshot_never_replaces_a_newer_one(con, tmp_path, register):
    landing, rerun = tmp_path / "landing", tmp_path / "landing" / "redelivery"
    deliver(landing, register, "T001", DAY2, t001_rows("3300", "3301"))
    ingest(con, [landing], register)
    deliver(rerun, register, "T001", DAY1, t001_rows("3300"))
    report = ingest(con, [landing, rerun], register)
    assert report.outcomes[0].status == "skipped"
    assert "older than the loaded snapshot of 20261027" in report.outcomes[0].reason
    assert con.execute("SELECT count(*) FROM ods.t001").fetchone()[0] == 2


def test_crash_mid_load_leaves_the_previous_state(con, tmp_path, register):
    from pipelines.ingest.delivery import discover as find
    from pipelines.ingest.load import ingest_delivery

    landing = tmp_path / "landing"
    deliver(landing, register, "T001", DAY1, t001_rows("3300", "3301"))
    ingest(con, [landing], register)
    before = _all_fingerprints(con)
    deliver(landing, register, "T001", DAY2, t001_rows("3302"))
    day2 = next(d for d in find([landing], register) if d.biz_date == DAY2)

    def crash() -> None:
        raise KeyboardInterrupt("power cut")

    with pytest.raises(KeyboardInterrupt):
        ingest_delivery(con, day2, register, tmp_path, before_commit=crash)
    assert _all_fingerprints(con) == before
    # and the next run loads it
    assert [o.status for o in ingest(con, [landing], register).outcomes] == ["unchanged", "loaded"]


def test_temporary_files_are_removed(con, tmp_path, register):
    landing, work = tmp_path / "landing", tmp_path / "work"
    work.mkdir()
    deliver(landing, register, "BSEG", DAY1, bseg_rows(5), rows_per_file=3)
    ingest(con, [landing], register, workdir=work)
    assert list(work.iterdir()) == []


def test_files_of_a_loaded_delivery_stay_where_they_are(con, tmp_path: Path, register):
    landing = tmp_path / "landing"
    deliver(landing, register, "A_RCVBL_FLOW", DAY3, yx_rows(2))
    before = sorted(p.name for p in (landing / DAY3).iterdir())
    ingest(con, [landing], register)
    assert sorted(p.name for p in (landing / DAY3).iterdir()) == before


def test_a_refused_snapshot_stays_refused_once_a_newer_one_is_loaded(con, tmp_path, register):
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", DAY1, t001_rows("3300"))
    chk = landing / DAY1 / "ERP_T001_20261026.chk"
    chk.write_text(chk.read_text().replace("|rows=1|", "|rows=5|"), encoding="utf-8")
    assert ingest(con, [landing], register).refused
    deliver(landing, register, "T001", DAY2, t001_rows("3300", "3301"))
    first = ingest(con, [landing], register)
    assert [o.status for o in first.outcomes] == ["refused", "loaded"]
    before = _all_fingerprints(con)
    again = ingest(con, [landing], register)
    assert [o.status for o in again.outcomes] == ["refused", "unchanged"]
    assert "rows: expected 5, found 1" in again.outcomes[0].reason
    assert _all_fingerprints(con) == before
