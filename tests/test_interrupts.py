"""`respool ingest` stopped from outside — SIGTERM, SIGINT, kill -9 — as a real process: it ends
promptly with 143 / 130, its worker processes end with it (kill -9 included), no temporary copy is
left, the delivery in progress is rolled back (recorded as `interrupted`), and the next run ends
with the database a clean run makes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.ingest.db import connect
from tests.conftest import bseg_rows, child_pids, deliver, process_alive, t001_rows, table_fingerprint

RESPOOL = str(Path(sys.executable).with_name("respool"))
DAY = "20261026"
# the test deliveries are small: have them checked on worker processes all the same
WORKERS = {"RESPOOL_INGEST_WORKERS_FROM_MB": "0"}


@pytest.fixture(scope="module")
def landing(tmp_path_factory, register) -> Path:
    """A small delivery first, then a large one that takes seconds to verify and load."""
    root = tmp_path_factory.mktemp("interrupts") / "landing"
    deliver(root, register, "T001", DAY, t001_rows("3301", "3302"))
    deliver(root, register, "BSEG", DAY, bseg_rows(150_000), rows_per_file=60_000)
    return root


@pytest.fixture(scope="module")
def clean(landing, tmp_path_factory) -> dict[str, object]:
    """What an uninterrupted ingest of the landing makes."""
    db = tmp_path_factory.mktemp("clean") / "clean.duckdb"
    done = subprocess.run([RESPOOL, "ingest", "--landing", str(landing), "--db", str(db)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return _state(db)


def _state(db: Path) -> dict[str, object]:
    with connect(db, read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT 'ods.' || table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'ods' ORDER BY 1").fetchall()]
        state: dict[str, object] = {t: table_fingerprint(con, t) for t in tables}
        state["batches"] = con.execute("SELECT batch_id, status, rows FROM meta.batch WHERE status = 'loaded' "
                                       "ORDER BY ALL").fetchall()
    return state


def _start(landing: Path, db: Path, tmp: Path) -> tuple[subprocess.Popen, set[int]]:
    """Start an ingest; return once the large delivery is being worked on, with the workers' pids."""
    env = {**os.environ, "TMPDIR": str(tmp), **WORKERS}
    proc = subprocess.Popen([RESPOOL, "ingest", "--landing", str(landing), "--db", str(db)],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    workers: set[int] = set()
    for line in proc.stderr:  # the first delivery done: the second is being verified or loaded
        workers |= child_pids(proc.pid)
        if line.startswith("[1/2]"):
            break
    workers |= child_pids(proc.pid)
    time.sleep(0.3)
    return proc, {w for w in workers if process_alive(w)}


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_rolls_back_the_delivery_in_progress_and_the_next_run_completes(
        landing, clean, tmp_path, sig, code):
    db, tmp = tmp_path / "x.duckdb", tmp_path / "tmp"
    tmp.mkdir()
    proc, workers = _start(landing, db, tmp)
    assert workers, "the ingest runs its file checks on worker processes"
    signalled = time.monotonic()
    proc.send_signal(sig)
    stderr = proc.stderr.read()
    assert proc.wait(timeout=30) == code, stderr
    assert time.monotonic() - signalled < 10
    assert "rolled back" in stderr
    deadline = time.monotonic() + 5
    while any(process_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if process_alive(w)], "worker processes outlived the ingest"
    assert list(tmp.iterdir()) == [], "temporary copies were left behind"
    with connect(db, read_only=True) as con:
        statuses = con.execute("SELECT table_name, status FROM meta.batch ORDER BY ALL").fetchall()
        assert statuses == [("BSEG", "interrupted"), ("T001", "loaded")]
        # the whole load was one transaction: even the table it created is gone
        assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ods' "
                           "AND table_name = 'bseg'").fetchone()[0] == 0
    again = subprocess.run([RESPOOL, "ingest", "--landing", str(landing), "--db", str(db)], capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert _state(db) == clean


def test_kill_9_leaves_no_worker_behind_and_the_database_as_it_was(landing, clean, tmp_path):
    db, tmp = tmp_path / "x.duckdb", tmp_path / "tmp"
    tmp.mkdir()
    proc, workers = _start(landing, db, tmp)
    assert workers
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while any(process_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if process_alive(w)], "worker processes outlived a killed ingest"
    with connect(db, read_only=True) as con:  # the lock is released with the process
        assert con.execute("SELECT table_name, status FROM meta.batch").fetchall() == [("T001", "loaded")]
    again = subprocess.run([RESPOOL, "ingest", "--landing", str(landing), "--db", str(db)], capture_output=True,
                           text=True, timeout=300, env={**os.environ, "TMPDIR": str(tmp), **WORKERS})
    assert again.returncode == 0, again.stderr
    assert _state(db) == clean
