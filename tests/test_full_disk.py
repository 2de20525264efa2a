"""A full disk on a real small filesystem (a tmpfs the test mounts as root; skipped with the reason
where it cannot): the ingest that runs out of space says so and exits 74, the database stays as it
was, no temporary UTF-8 copy is left, and the next ingest with space loads the delivery."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.ingest.db import connect
from tests.conftest import deliver, t001_rows, table_fingerprint, yx_rows

RESPOOL = str(Path(sys.executable).with_name("respool"))
DAY1, DAY2 = "20261026", "20261027"


def _big_bseg(n: int) -> list[list[str]]:
    text = "电费收入" * 8  # GBK text: the delivery is transcoded to a UTF-8 copy in the work folder
    return [["800", "3301", f"{i:010d}", "2026", "001", "01", "D", "", "S", "100.00", "100.00", text, "A1",
             "1122010000", f"{i:010d}", "", "20261026", "Z030", "30", "0", "0", "", "00000000", "", "P3301", ""]
            for i in range(n)]


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _ingest(landing: Path, db: Path, tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run([RESPOOL, "ingest", "--landing", str(landing), "--db", str(db)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "TMPDIR": str(tmp)})


@pytest.mark.parametrize("fills", ["the temporary UTF-8 copy", "the database"])
def test_a_load_that_runs_out_of_space(small_disk, tmp_path, register, fills):
    landing, db, work = tmp_path / "landing", small_disk / "respool.duckdb", small_disk / "tmp"
    work.mkdir()
    deliver(landing, register, "T001", DAY1, t001_rows("3301", "3302"))
    assert _ingest(landing, db, work).returncode == 0
    with connect(db, read_only=True) as con:
        before = {"ods.t001": table_fingerprint(con, "ods.t001"),
                  "batches": con.execute("SELECT batch_id, status FROM meta.batch ORDER BY 1").fetchall()}
    if fills == "the temporary UTF-8 copy":
        deliver(landing, register, "BSEG", DAY2, _big_bseg(60_000))  # GBK: ~12 MB as UTF-8, on a 6 MB disk
    else:
        deliver(landing, register, "A_RCVBL_FLOW", DAY2, yx_rows(150_000))  # UTF-8: read in place, into the db
    full = _ingest(landing, db, work)
    assert full.returncode == 74, full.stderr
    said = " ".join(full.stderr.split())
    assert "no space left" in said.lower() and "rolled back" in said, said
    assert "Traceback" not in full.stderr
    assert list(work.iterdir()) == [], "a temporary copy was left on the full disk"
    with connect(db, read_only=True) as con:
        assert {"ods.t001": table_fingerprint(con, "ods.t001"),
                "batches": con.execute("SELECT batch_id, status FROM meta.batch ORDER BY 1").fetchall()} == before
    subprocess.run(["mount", "-o", "remount,size=256m", str(small_disk)], check=True)
    again = _ingest(landing, db, work)
    assert again.returncode == 0, again.stderr
    with connect(db, read_only=True) as con:
        statuses = dict(con.execute("SELECT table_name, status FROM meta.batch WHERE biz_date = DATE '2026-10-27'"
                                    ).fetchall())
        assert set(statuses.values()) == {"loaded"}
