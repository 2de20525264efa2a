"""Publishing on small databases: a few hand-made tables, really ingested and really checked with
their structural suites (the register's: required values, formats, key), then published.

tests/test_gates.py and tests/test_publish.py run the same gate on the whole pool scenario and
every suite; these keep each case down to what it is about (and run in a second or two).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.ingest.db import connect
from pipelines.ingest.delivery import discover
from pipelines.ingest.load import ingest_delivery
from pipelines.publish import PublishRefused, blocking_failures, publish, read_provenance
from quality.runner import run_checks
from quality.specs import suite_from_dict
from quality.structural import structural_suite
from tests.conftest import deliver, t001_rows

DAY1, DAY2, DAY3 = "20261026", "20261027", "20261028"
EMPTY_T001 = ["800", "3309", "", "", "", "", ""]  # BUTXT, WAERS, KTOPL required: the row lacks them


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _load(db: Path, landing: Path, register) -> None:
    """Every delivery under `landing` not loaded yet, in this process."""
    with connect(db) as con:
        for delivery in discover([landing], register):
            ingest_delivery(con, delivery, register, landing.parent)


def _check(db: Path, register, *codes: str) -> str:
    """A quality run of the structural suites of these tables; its run id."""
    suites = [suite_from_dict(structural_suite(register.table(c))) for c in codes]
    with connect(db) as con:
        return run_checks(con, register, suites=suites, record=False).run_id


@pytest.fixture
def small(tmp_path, register) -> tuple[Path, Path]:
    """A database with T001 of day 1 and day 2 loaded (no quality run yet), and its landing."""
    landing, db = tmp_path / "landing", tmp_path / "src" / "respool.duckdb"
    deliver(landing, register, "T001", DAY1, t001_rows("3300"))
    deliver(landing, register, "T001", DAY2, t001_rows("3300", "3301"))
    _load(db, landing, register)
    return db, landing


def test_a_database_that_does_not_exist_is_not_published(tmp_path):
    target = tmp_path / "published" / "x.duckdb"
    with pytest.raises(PublishRefused) as refused:
        publish(tmp_path / "nowhere.duckdb", target)
    assert str(refused.value) == f"database {tmp_path / 'nowhere.duckdb'} does not exist"
    assert not target.parent.exists()


def test_no_quality_run_no_snapshot(small, tmp_path):
    db, _ = small
    target = tmp_path / "published" / "respool.duckdb"
    with pytest.raises(PublishRefused) as refused:
        publish(db, target)
    assert str(refused.value) == "no quality run recorded: run `respool check` first"
    assert not target.parent.exists()


def test_published_once_checked_with_its_provenance(small, tmp_path, register, shanghai_time):
    db, landing = small
    deliver(landing, register, "T001", DAY3, t001_rows("3300"))
    (landing / DAY3 / "ERP_T001_20261028_001.csv").write_bytes(b"damaged")  # refused: day 3 not loaded
    deliver(landing, register, "KNA1", DAY2, [["800", "0000100001", "杭州甲公司", "杭州", "CN", "", "Z001",
                                               "20260101", ""]])
    _load(db, landing, register)
    _check(db, register, "T001")
    latest = _check(db, register, "KNA1")  # another suite, later: the newest run is the one recorded
    target = tmp_path / "published" / "respool.duckdb"
    started = datetime.now(UTC).replace(tzinfo=None)
    assert publish(db, target, dagster_run_id="run-42") == target
    assert sorted(p.name for p in target.parent.iterdir()) == ["respool.duckdb"]
    provenance = read_provenance(target)
    assert (provenance.source_db, provenance.quality_run_id, provenance.dagster_run_id, provenance.biz_date,
            provenance.published_on) == (str(db.resolve()), latest, "run-42", date(2026, 10, 27),
                                         socket.gethostname())
    assert re.fullmatch(r"[0-9a-f]{12}", provenance.publication_id)
    # in UTC, on a machine whose local time is Shanghai's
    assert started - timedelta(seconds=1) <= provenance.published_at <= datetime.now(UTC).replace(tzinfo=None)
    with connect(target, read_only=True) as copy:
        assert copy.execute("SELECT count(*) FROM meta.publication").fetchone()[0] == 1
        assert copy.execute("SELECT BUKRS FROM ods.t001 ORDER BY 1").fetchall() == [("3300",), ("3301",)]
        assert copy.execute("SELECT count(DISTINCT run_id) FROM meta.quality_result").fetchone()[0] == 2
    with connect(db, read_only=True) as source:
        assert source.execute("SELECT count(*) FROM meta.publication").fetchone()[0] == 0


def test_a_failing_error_check_keeps_the_published_snapshot(small, tmp_path, register):
    db, landing = small
    _check(db, register, "T001")
    target = tmp_path / "published" / "respool.duckdb"
    publish(db, target)
    before = _md5(target)
    deliver(landing, register, "T001", DAY3, [*t001_rows("3300"), EMPTY_T001])  # 1 row of 2 lacks values
    _load(db, landing, register)
    _check(db, register, "T001")
    with connect(db, read_only=True) as con:
        assert [(r["suite"], r["expectation_id"]) for r in blocking_failures(con)] == [
            ("ods_t001", "required_mostly_filled")]
    with pytest.raises(PublishRefused) as refused:
        publish(db, target)
    assert str(refused.value) == "1 blocking (error) checks failed: ods_t001.required_mostly_filled"
    assert _md5(target) == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["respool.duckdb"]
    # a warning does not block: the same table without the empty row, but with a trailing blank
    deliver(landing, register, "T001", DAY3, [["800", "3300", "杭州 ", "杭州", "CN", "CNY", "SG01"]])
    _load(db, landing, register)
    _check(db, register, "T001")
    with connect(db, read_only=True) as con:
        failed = con.execute("SELECT severity, expectation_id FROM meta.quality_result WHERE NOT success "
                             "AND run_at = (SELECT max(run_at) FROM meta.quality_result)").fetchall()
    assert failed == [("warn", "no_trailing_blanks")]
    publish(db, target)
    assert _md5(target) != before


def test_at_most_five_failed_checks_are_named(small, tmp_path, register):
    db, landing = small
    codes = ["T001", "SKAT", "KNA1", "LFA1", "BKPF", "BSEG"]
    for code in codes[1:]:
        width = len(register.table(code).column_names)
        deliver(landing, register, code, DAY2, [["800"] + [""] * (width - 1)])  # every required value missing
    deliver(landing, register, "T001", DAY3, [EMPTY_T001])
    _load(db, landing, register)
    _check(db, register, *codes)
    with pytest.raises(PublishRefused) as refused:
        publish(db, tmp_path / "published" / "respool.duckdb")
    # named in the order of the results: by table, then check
    assert str(refused.value) == ("6 blocking (error) checks failed: ods_bkpf.required_mostly_filled, "
                                  "ods_bseg.required_mostly_filled, ods_kna1.required_mostly_filled, "
                                  "ods_lfa1.required_mostly_filled, ods_skat.required_mostly_filled")


@pytest.fixture
def two_checked(small, tmp_path, register) -> tuple[Path, Path]:
    db, _ = small
    _check(db, register, "T001")
    other = tmp_path / "other" / "respool.duckdb"
    other.parent.mkdir()
    shutil.copyfile(db, other)
    return db, other


def test_a_snapshot_of_another_database_needs_replace_source(two_checked, tmp_path):
    db, other = two_checked
    target = tmp_path / "published" / "respool.duckdb"
    publish(db, target)
    publish(db, target)  # the same database again: replaced without asking
    before = _md5(target)
    with pytest.raises(PublishRefused) as refused:
        publish(other, target)
    message = str(refused.value)
    assert re.fullmatch(
        re.escape(f"{target} was published from another database, {db.resolve()} (business date 2026-10-27, ")
        + r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
        + re.escape(f" UTC); publishing {other.resolve()} there would replace it: pass --replace-source if "
                    "that is intended"), message), message
    assert _md5(target) == before
    assert publish(other, target, replace_source=True) == target
    assert read_provenance(target).source_db == str(other.resolve())


def test_provenance_of_what_is_not_a_snapshot(tmp_path, register):
    assert read_provenance(tmp_path / "none.duckdb") is None
    plain = tmp_path / "plain.duckdb"
    import duckdb

    duckdb.connect(str(plain)).close()  # a DuckDB file without the meta tables
    before = _md5(plain)
    assert read_provenance(plain) is None
    assert _md5(plain) == before  # read, not written: no meta tables created in it
    with connect(tmp_path / "bare.duckdb"):
        pass  # the meta tables, no publication recorded
    assert read_provenance(tmp_path / "bare.duckdb") is None
    text = tmp_path / "notes.duckdb"
    text.write_text("not a database\n", encoding="utf-8")
    with pytest.raises(PublishRefused) as refused:
        read_provenance(text)
    assert str(refused.value) == (f"{text} exists and is not a published snapshot: "
                                  f'IO Error: The file "{text}" exists, but it is not a valid DuckDB database file!')
    folder = tmp_path / "folder.duckdb"
    folder.mkdir()
    with pytest.raises(PublishRefused) as refused:
        read_provenance(folder)
    assert str(refused.value) == (f"{folder} exists and is not a published snapshot: "
                                  f'IO Error: Could not read from file "{folder}": Is a directory')


def test_published_into_new_folders_leaving_no_staging_copy(small, tmp_path, register):
    db, _ = small
    _check(db, register, "T001")
    target = tmp_path / "share" / "finance" / "published" / "respool.duckdb"  # none of the folders exists
    assert publish(db, target) == target
    # an earlier publication that stopped half-way left its staging copy: the next one replaces and removes it
    (target.parent / "respool.duckdb.publishing").write_bytes(b"half a copy")
    publish(db, target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["respool.duckdb"]
    assert read_provenance(target).source_db == str(db.resolve())


def test_the_wal_a_killed_publication_left_is_not_replayed_into_the_next(small, tmp_path, register):
    db, _ = small
    _check(db, register, "T001")
    target = tmp_path / "published" / "respool.duckdb"
    publish(db, target)
    staging = target.with_name(target.name + ".publishing")
    shutil.copyfile(db, staging)
    # a publication killed while its copy had changes only in the WAL (no checkpoint yet)
    killed = subprocess.run([sys.executable, "-c", (
        "import duckdb, os, sys\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "con.execute(\"SET checkpoint_threshold = '1TB'\")\n"
        "con.execute('CREATE TABLE meta.left_by_a_killed_publish AS SELECT 42 AS answer')\n"
        "os._exit(9)\n"), str(staging)], capture_output=True, text=True, timeout=60)
    assert killed.returncode == 9, killed.stderr
    assert staging.with_name(staging.name + ".wal").stat().st_size > 0
    publish(db, target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["respool.duckdb"]
    with connect(target, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM information_schema.tables "
                           "WHERE table_name = 'left_by_a_killed_publish'").fetchone()[0] == 0
