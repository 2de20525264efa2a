"""kill -9 of `respool publish` and `respool build` as real processes, at several points: the
published snapshot stays the previous one, whole and readable, a half-written copy is never
served and the next publish clears it; a re-run build ends with the tables a clean build made.
(The ingest's kills and signals: tests/test_interrupts.py.)"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.ingest.db import connect
from pipelines.publish import publish, read_provenance
from tests.conftest import table_fingerprint

RESPOOL = str(Path(sys.executable).with_name("respool"))


@pytest.fixture
def source(published_sample, tmp_path) -> Path:
    """A copy of the checked sample database, with 40 MB more so that a copy takes a while."""
    db = tmp_path / "respool.duckdb"
    shutil.copy(published_sample.parents[1] / "respool.duckdb", db)
    with connect(db) as con:
        con.execute("CREATE TABLE meta.filler AS SELECT range AS i, md5(range::VARCHAR) AS h FROM range(800000)")
        con.execute("CHECKPOINT")
    return db


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _wait_for(condition, timeout: float = 60.0, step: float = 0.001) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


@pytest.mark.parametrize("point", ["while copying", "while recording the provenance", "after 1 s"])
def test_publish_killed_leaves_the_previous_snapshot_whole(source, tmp_path, point):
    target = tmp_path / "published" / "respool.duckdb"
    publish(source, target)
    before, previous = _md5(target), read_provenance(target)
    staging = target.with_name(target.name + ".publishing")
    proc = subprocess.Popen([RESPOOL, "publish", "--db", str(source), "--to", str(target)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if point == "while copying":
        assert _wait_for(staging.exists)
    elif point == "while recording the provenance":
        assert _wait_for(lambda: staging.with_name(staging.name + ".wal").exists())
    else:
        time.sleep(1.0)
    assert proc.poll() is None or point == "after 1 s", "the publish ended before it could be killed"
    proc.kill()
    proc.wait(timeout=10)
    now = read_provenance(target)  # opens the snapshot: whole and readable
    if _md5(target) != before:  # the kill came after the rename: the new snapshot, whole
        assert now.publication_id != previous.publication_id
    else:
        assert now == previous
    with connect(target, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM dwd.dwd_ar_item").fetchone()[0] > 0
    # the next publish clears what the killed one left and swaps in a new snapshot
    done = subprocess.run([RESPOOL, "publish", "--db", str(source), "--to", str(target)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert read_provenance(target).publication_id not in (previous.publication_id, now.publication_id)
    assert sorted(p.name for p in target.parent.iterdir()) == ["respool.duckdb"]


def test_a_stale_staging_copy_and_its_wal_are_never_reused(source, tmp_path):
    target = tmp_path / "published" / "respool.duckdb"
    target.parent.mkdir()
    staging = target.with_name(target.name + ".publishing")
    staging.write_bytes(b"half a copy")
    staging.with_name(staging.name + ".wal").write_bytes(b"a log of another copy")
    publish(source, target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["respool.duckdb"]
    with connect(target, read_only=True) as con, connect(source, read_only=True) as src:
        assert table_fingerprint(con, "dwd.dwd_ar_item") == table_fingerprint(src, "dwd.dwd_ar_item")


MODEL_TABLES = ["stg.stg_bseg", "stg.stg_ar_item", "dim.dim_customer", "dwd.dwd_ar_item", "dwd.dwd_fi_voucher_item",
                "dws.dws_ar_aging", "dws.dws_ap_aging", "ads.ads_ar_recon_yx"]


@pytest.mark.parametrize("after_models", [1, 6, 12])
def test_build_killed_then_run_again_equals_a_clean_build(published_sample, tmp_path, after_models):
    clean = published_sample.parents[1] / "respool.duckdb"
    db = tmp_path / "respool.duckdb"
    shutil.copy(clean, db)
    proc = subprocess.Popen([RESPOOL, "build", "--db", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    built = 0
    for line in proc.stderr:
        if " rows" in line or "built" in line:
            built += 1
        if built >= after_models:
            break
    assert proc.poll() is None, "the build ended before it could be killed"
    proc.kill()
    proc.wait(timeout=10)
    with connect(db, read_only=True) as con:  # opens: the file is consistent, the lock released
        con.execute("SELECT count(*) FROM meta.model_run").fetchone()
    again = subprocess.run([RESPOOL, "build", "--db", str(db)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    with connect(db, read_only=True) as con, connect(clean, read_only=True) as ref:
        for table in MODEL_TABLES:
            assert table_fingerprint(con, table) == table_fingerprint(ref, table), table
