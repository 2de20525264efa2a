"""Bad invocations a scheduler must be able to tell apart: each names what is wrong and exits with
a code it can act on — 2 for a wrong path or an empty, missing or damaged database, 75 ("try
again later") for a database another process holds — and creates nothing."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time

import dagster as dg
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.ingest.db import DatabaseDamaged, DatabaseLocked, DatabaseMissing, connect
from pipelines.orchestration import resources
from tests.conftest import deliver, t001_rows

runner = CliRunner()

READERS = [
    ["build"], ["check"], ["summary"], ["report"], ["publish"], ["aging", "--as-of", "2026-10-31"], ["recon"],
    ["voucher", "3301", "2026", "1"], ["catalog", "build"], ["lineage", "refresh"],
    ["trace", "dwd.dwd_ar_item.amount_lc"],
]


@pytest.mark.parametrize("command", READERS, ids=lambda c: c[0] if c[0] != "catalog" else "catalog build")
def test_commands_that_read_never_create_a_database(tmp_path, command):
    db = tmp_path / "typo" / "x.duckdb"
    result = runner.invoke(app, [*command, "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert f"no database at {db}" in result.output and "respool ingest" in result.output
    assert not db.parent.exists()


def test_ingest_from_a_landing_folder_that_does_not_exist(tmp_path):
    db, missing = tmp_path / "x.duckdb", tmp_path / "no" / "such" / "landing"
    result = runner.invoke(app, ["ingest", "--landing", str(missing), "--db", str(db)])
    assert result.exit_code == 2
    assert str(missing) in result.output
    assert not db.exists()


def test_the_redelivery_folder_below_a_landing_folder_may_be_missing(tmp_path, register):
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", "20261026", t001_rows("3301"))
    db = tmp_path / "x.duckdb"
    result = runner.invoke(app, ["ingest", "--landing", str(landing), "--landing", str(landing / "redelivery"),
                                 "--db", str(db)])
    assert result.exit_code == 0, result.output
    with connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ods.t001").fetchone()[0] == 1


@pytest.mark.parametrize("command", [["build"], ["check"]])
def test_a_database_without_loaded_data_says_so(tmp_path, command):
    (tmp_path / "landing").mkdir()
    db = tmp_path / "x.duckdb"
    assert runner.invoke(app, ["ingest", "--landing", str(tmp_path / "landing"), "--db", str(db)]).exit_code == 0
    result = runner.invoke(app, [*command, "--db", str(db)])
    assert result.exit_code == 2
    assert "holds no loaded delivery" in result.output and "respool ingest" in result.output
    with connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.quality_result").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM meta.model_run").fetchone()[0] == 0


@pytest.fixture
def holder(tmp_path):
    """Another process holding the database's write lock until the test ends."""
    db = tmp_path / "held.duckdb"
    connect(db).close()
    proc = subprocess.Popen([sys.executable, "-c", f"import duckdb, sys, time\n"
                             f"con = duckdb.connect({str(db)!r})\nprint('held', flush=True)\ntime.sleep(120)"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    yield db, proc
    proc.kill()
    proc.wait()


@pytest.mark.parametrize("command", [["build"], ["check"], ["summary"], ["ingest", "--landing", "."]])
def test_a_locked_database_names_the_holder_and_exits_75(holder, command):
    db, proc = holder
    result = runner.invoke(app, [*command, "--db", str(db)])
    assert result.exit_code == 75, result.output
    assert f"in use by process {proc.pid}" in result.output and "try again later" in result.output


def test_the_lock_error_carries_the_holders_command_line(holder):
    db, proc = holder
    with pytest.raises(DatabaseLocked) as caught:
        connect(db)
    assert caught.value.pid == proc.pid
    assert caught.value.command.startswith(sys.executable) and "time.sleep(120)" in caught.value.command


def test_a_damaged_database_is_reported_as_such(tmp_path):
    garbage, truncated = tmp_path / "garbage.duckdb", tmp_path / "truncated.duckdb"
    garbage.write_bytes(b"this is not a database" * 100)
    whole = tmp_path / "whole.duckdb"
    with connect(whole) as con:
        con.execute("CREATE TABLE t AS SELECT range AS i FROM range(100000)")
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    for path in (garbage, truncated):
        with pytest.raises(DatabaseDamaged, match="is damaged and cannot be opened"):
            connect(path)
        result = runner.invoke(app, ["summary", "--db", str(path)])
        assert result.exit_code == 2 and "is damaged" in result.output, result.output
    with pytest.raises(DatabaseMissing):
        connect(tmp_path / "nothing.duckdb", create=False)


def test_dagster_steps_retry_a_locked_database_with_backoff_then_fail_naming_the_holder(holder, monkeypatch):
    db, proc = holder
    monkeypatch.setattr(resources, "LOCK_FIRST_WAIT_S", 0.05)
    attempts = []

    @dg.asset
    def reads_the_database(respool: resources.RespoolResource) -> None:
        attempts.append(time.monotonic())
        with respool.connect() as con:
            con.execute("SELECT 1")

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([reads_the_database], instance=instance, raise_on_error=False,
                                resources={"respool": resources.RespoolResource(db_path=str(db))})
        events = result.all_events
    assert not result.success
    assert len(attempts) == resources.LOCK_RETRIES + 1
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert all(later > earlier for earlier, later in itertools.pairwise(gaps))  # waits grow
    failure = next(e for e in events if e.event_type_value == "STEP_FAILURE")
    assert f"in use by process {proc.pid}" in str(failure.event_specific_data.error)
