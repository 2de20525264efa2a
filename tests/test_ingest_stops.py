"""How an ingest stops, in the test's own process (tests/test_interrupts.py and tests/test_full_disk.py
do the same to a real `respool ingest` from outside): which exceptions count as an interruption or a
full disk, what is recorded of the delivery broken off, how the worker processes are stopped, and
the worker pool the ingest starts."""

from __future__ import annotations

import errno
import itertools
import multiprocessing
import os
import signal
import tempfile
import time
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import duckdb
import pytest

from pipelines import config
from pipelines.ingest import load
from pipelines.ingest.delivery import discover
from pipelines.ingest.load import DiskFull, Interrupted, ingest
from tests.conftest import bseg_rows, deliver, t001_rows

DAY1 = "20261026"


@pytest.fixture(autouse=True)
def workers_for_small_deliveries(monkeypatch) -> None:
    """The deliveries here are small: have them checked on worker processes all the same (the
    threshold test below sets its own)."""
    monkeypatch.setenv("RESPOOL_INGEST_WORKERS_FROM_MB", "0")


@pytest.fixture()
def received(monkeypatch) -> list[int]:
    """The signals the ingest's handler has seen, empty for this test."""
    fresh: list[int] = []
    monkeypatch.setattr(load, "_received", fresh)
    return fresh


def _raise(exc: BaseException):
    def raising(*args, **kwargs):
        raise exc
    return raising


def _chain(*links: BaseException) -> BaseException:
    """links[0] caused by links[1] caused by …"""
    for outer, inner in itertools.pairwise(links):
        outer.__cause__ = inner
    return links[0]


# ---- what counts as a full disk ----------------------------------------------------------------------

def test_a_full_disk_is_found_anywhere_in_the_chain_within_ten_links():
    enospc = OSError(errno.ENOSPC, "No space left on device")
    assert load._out_of_space(enospc)
    assert not load._out_of_space(OSError(errno.EACCES, "Permission denied"))
    assert not load._out_of_space(None)
    assert not load._out_of_space(ValueError("No space left on device"))  # only OSError and DuckDB's errors
    duck = duckdb.IOException('IO Error: Could not write file "/db/x.duckdb.wal": No space left on device')
    assert load._out_of_space(duck)
    assert not load._out_of_space(duckdb.IOException("IO Error: could not write: no space left on device"))
    # the tenth link (index 9) is looked at, the eleventh is not
    assert load._out_of_space(_chain(*[RuntimeError(str(i)) for i in range(9)], enospc))
    assert not load._out_of_space(_chain(*[RuntimeError(str(i)) for i in range(10)],
                                         OSError(errno.ENOSPC, "No space left on device")))


def test_a_full_disk_is_followed_through_the_cause_before_the_context():
    explicit = RuntimeError("load failed")
    explicit.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    explicit.__context__ = ValueError("handled before")
    assert load._out_of_space(explicit)
    implicit = RuntimeError("while handling")  # raised in an except block: only the context is set
    implicit.__context__ = OSError(errno.ENOSPC, "No space left on device")
    assert load._out_of_space(implicit)
    cause_first = RuntimeError("load failed")
    cause_first.__cause__ = ValueError("not a disk problem")
    cause_first.__context__ = OSError(errno.ENOSPC, "No space left on device")
    assert not load._out_of_space(cause_first)  # `raise … from` names the cause: the context is not followed


# ---- what counts as an interruption ------------------------------------------------------------------

def test_an_interruption_is_any_non_error_or_an_error_after_a_signal(received):
    stop = KeyboardInterrupt()
    assert load._interruption(stop) is stop
    assert load._interruption(ValueError("x")) is None
    received.extend([signal.SIGINT, signal.SIGHUP, signal.SIGTERM])  # the last one received counts
    found = load._interruption(duckdb.InterruptException("INTERRUPT Error: Interrupted!"))
    assert isinstance(found, Interrupted) and found.signum == signal.SIGTERM


def test_an_interrupted_ingest_names_its_signal():
    stopped = Interrupted(signal.SIGTERM)
    assert (str(stopped), stopped.signum) == ("interrupted by SIGTERM", signal.SIGTERM)
    assert Interrupted(signal.SIGINT).signum == signal.SIGINT


# ---- stopping the worker processes ------------------------------------------------------------------

def _pool() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))


def _ended(pid: int) -> bool:
    """Whether the process has ended (gone, or a zombie not yet reaped), waiting up to 10 s for it:
    the pool's own thread may be the one that reaps it, so Process.exitcode is not reliable here."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_stopping_the_workers_kills_the_running_task_and_cancels_the_queued():
    pool = _pool()
    pool.submit(os.getpid).result(timeout=30)  # the worker is up
    processes = list(pool._processes.values())
    running = pool.submit(time.sleep, 2)
    queued = [pool.submit(time.sleep, 2) for _ in range(5)]
    time.sleep(0.2)  # let the first task reach the worker
    load._stop_workers(pool)
    assert processes and all(_ended(p.pid) for p in processes)  # killed, or it would have ended normally
    with pytest.raises(BrokenProcessPool):
        running.result(timeout=30)  # broken off, not waited for
    for future in queued:
        with pytest.raises((CancelledError, BrokenProcessPool)):
            future.result(timeout=30)
    # the pool hands at most two tasks ahead to its call queue: the other three were still its own
    assert sum(f.cancelled() for f in queued) >= 3


def test_a_signal_stops_every_running_pool_and_raises_interrupted(received, monkeypatch):
    pool = _pool()
    pool.submit(os.getpid).result(timeout=30)
    processes = list(pool._processes.values())
    pool.submit(time.sleep, 30)  # busy: only a kill ends it within _ended's 10 s
    monkeypatch.setattr(load, "_running_pools", [pool])
    with pytest.raises(Interrupted) as caught:
        load._on_signal(signal.SIGTERM, None)
    assert caught.value.signum == signal.SIGTERM
    assert received == [signal.SIGTERM]
    assert processes and all(_ended(p.pid) for p in processes)


def test_stop_on_signals_installs_the_handler_and_puts_back_the_previous(received):
    received.append(signal.SIGINT)  # left over from an earlier run
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with load.stop_on_signals():
        assert signal.getsignal(signal.SIGTERM) is load._on_signal
        assert signal.getsignal(signal.SIGINT) is load._on_signal
        assert load._received == []
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_worker_ignores_ctrl_c_and_exits_when_its_parent_is_gone(monkeypatch):
    handlers, threads, exits, sleeps = {}, [], [], []
    parents = iter([4242, 4242, 1])  # the parent, twice; then it is gone (adopted by init)
    monkeypatch.setattr(load.signal, "signal", lambda s, h: handlers.__setitem__(s, h))
    monkeypatch.setattr(load.os, "getppid", lambda: next(parents))
    monkeypatch.setattr(load.time, "sleep", sleeps.append)
    monkeypatch.setattr(load.os, "_exit", exits.append)

    class Thread:
        def __init__(self, target, name, daemon):
            threads.append((target, name, daemon))

        def start(self):
            pass

    monkeypatch.setattr(load.threading, "Thread", Thread)
    load._worker_init(4242)
    assert handlers == {signal.SIGINT: signal.SIG_IGN}
    ((watch, name, daemon),) = threads
    assert (name, daemon) == ("respool-parent-watch", True)  # a daemon: it never keeps a worker alive
    watch()
    assert len(sleeps) == 2 and all(0 < s <= 1 for s in sleeps)  # it looks at least once a second
    assert exits == [1]


# ---- the worker pool an ingest starts ----------------------------------------------------------------

@pytest.fixture()
def pools_made(monkeypatch) -> list[dict]:
    """The arguments of every worker pool the ingest starts."""
    made: list[dict] = []

    class Recording(load.ProcessPoolExecutor):
        def __init__(self, **kwargs):
            made.append(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr(load, "ProcessPoolExecutor", Recording)
    return made


@pytest.mark.parametrize(("cpus", "workers"), [(1, 1), (None, 1), (2, 2), (16, 2)])
def test_the_ingest_starts_at_most_two_spawned_workers_that_watch_this_process(con, tmp_path, register, monkeypatch,
                                                                                pools_made, cpus, workers):
    monkeypatch.setattr(load.os, "cpu_count", lambda: cpus)
    (tmp_path / "landing").mkdir()
    ingest(con, [tmp_path / "landing"], register)
    (kwargs,) = pools_made
    assert kwargs["max_workers"] == workers
    assert kwargs["mp_context"].get_start_method() == "spawn"  # fork would copy DuckDB's threads and locks
    assert (kwargs["initializer"], kwargs["initargs"]) == (load._worker_init, (os.getpid(),))


def test_when_the_ingest_returns_its_workers_have_ended(con, tmp_path, register, monkeypatch):
    workers = []

    class Recording(load.ProcessPoolExecutor):
        def shutdown(self, *args, **kwargs):  # what is running before the pool is shut down
            workers.extend((getattr(self, "_processes", None) or {}).values())
            workers.extend(getattr(self, "_threads", ()))
            super().shutdown(*args, **kwargs)

    monkeypatch.setattr(load, "ProcessPoolExecutor", Recording)
    deliver(tmp_path / "landing", register, "T001", DAY1, t001_rows("3300"))
    assert [o.status for o in ingest(con, [tmp_path / "landing"], register).outcomes] == ["loaded"]
    assert workers and not any(w.is_alive() for w in workers)


@pytest.mark.parametrize(("from_mb", "pools"), [(None, 0), ("8", 0), ("0.0001", 1), ("0", 1)])
def test_workers_start_only_for_enough_data_to_repay_them(con, tmp_path, register, monkeypatch, pools_made,
                                                          from_mb, pools):
    if from_mb is None:
        monkeypatch.delenv("RESPOOL_INGEST_WORKERS_FROM_MB", raising=False)
        assert config.ingest_workers_from_bytes() == 8 * 1024 * 1024
    else:
        monkeypatch.setenv("RESPOOL_INGEST_WORKERS_FROM_MB", from_mb)
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", DAY1, t001_rows("3300"))  # a few hundred bytes of GBK
    deliver(landing, register, "T001", "20261027", t001_rows("3300", "3301"))
    report = ingest(con, [landing], register)
    assert [o.status for o in report.outcomes] == ["loaded", "loaded"]
    assert len(pools_made) == pools
    assert load._running_pools == []


def test_the_data_counted_is_that_of_the_deliveries_to_check(tmp_path, register):
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", DAY1, t001_rows("3300"))
    deliver(landing, register, "SKAT", DAY1, [])
    (landing / DAY1 / "notes.txt").write_text("x" * 10_000)  # not a data file of any delivery
    deliveries = discover([landing], register)
    t001 = [d for d in deliveries if d.table == "T001"]
    expected = sum(p.stat().st_size for p in (landing / DAY1).glob("ERP_T001_*") if not p.name.endswith(".chk"))
    assert load._data_bytes(t001) == expected > 0
    assert load._data_bytes(deliveries) > expected and load._data_bytes([]) == 0


def test_every_delivery_is_copied_below_the_given_workdir(con, tmp_path, register, monkeypatch):
    landing, work, system_tmp = tmp_path / "landing", tmp_path / "work", tmp_path / "system-tmp"
    work.mkdir()
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    deliver(landing, register, "T001", DAY1, t001_rows("3300"))  # GBK: read from a UTF-8 copy
    deliver(landing, register, "T001", "20261027", t001_rows("3300", "3301"))
    read_from, real_load = [], load._load

    def spy(con, table, control, batch_id, files):
        read_from.extend(f.readable.parent.parent for f in files)
        return real_load(con, table, control, batch_id, files)

    monkeypatch.setattr(load, "_load", spy)
    report = ingest(con, [landing], register, workdir=work)
    assert [o.status for o in report.outcomes] == ["loaded", "loaded"]
    assert read_from == [work, work]
    assert list(work.iterdir()) == [] and list(system_tmp.iterdir()) == []


# ---- what an interrupted or full ingest leaves behind ------------------------------------------------

def _two_deliveries(landing, register):
    deliver(landing, register, "T001", DAY1, t001_rows("3300"))
    deliver(landing, register, "BSEG", DAY1, bseg_rows(2))


def _batches(con) -> list[tuple]:
    return con.execute("SELECT table_name, status, rule, reason FROM meta.batch ORDER BY table_name").fetchall()


def test_a_signal_during_a_load_rolls_it_back_and_raises_interrupted(con, tmp_path, register, monkeypatch,
                                                                   received):
    _two_deliveries(tmp_path / "landing", register)
    real_load, stops = load._load, []
    monkeypatch.setattr(load, "_stop_workers", lambda pool: stops.append(pool))

    def signalled_during_bseg(con, table, *args):
        if table.code == "BSEG":
            received.append(signal.SIGTERM)  # what our handler does, then DuckDB breaks off its statement
            raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
        return real_load(con, table, *args)

    monkeypatch.setattr(load, "_load", signalled_during_bseg)
    with pytest.raises(Interrupted) as caught:
        ingest(con, [tmp_path / "landing"], register)
    assert caught.value.signum == signal.SIGTERM and caught.value.__cause__ is None
    assert len(stops) == 1
    assert _batches(con) == [
        ("BSEG", "interrupted", "interrupted", "interrupted by SIGTERM: rolled back, loaded again by the next run"),
        ("T001", "loaded", None, None)]


def test_an_error_that_is_no_interruption_goes_up_as_it_is(con, tmp_path, register, monkeypatch, received):
    _two_deliveries(tmp_path / "landing", register)
    stops = []
    monkeypatch.setattr(load, "_stop_workers", lambda pool: stops.append(pool))
    monkeypatch.setattr(load, "_load", _raise(ZeroDivisionError("a bug")))
    with pytest.raises(ZeroDivisionError, match="a bug"):
        ingest(con, [tmp_path / "landing"], register)
    assert stops == []  # the workers end with the pool's shutdown, nothing is killed
    assert con.execute("SELECT count(*) FROM meta.batch").fetchone()[0] == 0  # neither loaded nor marked


def test_an_interruption_while_the_first_delivery_is_checked_records_it_interrupted(con, tmp_path, register,
                                                                                     monkeypatch):
    _two_deliveries(tmp_path / "landing", register)
    monkeypatch.setattr(load, "_start", _raise(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        ingest(con, [tmp_path / "landing"], register)
    # the first delivery in register order (T001 before BSEG) was being checked; nothing else was begun
    assert con.execute("SELECT table_name, status FROM meta.batch").fetchall() == [("T001", "interrupted")]


def test_an_interruption_with_nothing_to_load_records_nothing(con, tmp_path, register, monkeypatch):
    (tmp_path / "landing").mkdir()
    monkeypatch.setattr(load, "discover", _raise(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        ingest(con, [tmp_path / "landing"], register)
    assert con.execute("SELECT count(*) FROM meta.batch").fetchone()[0] == 0


def test_an_interruption_after_a_refusal_keeps_the_refusal(con, tmp_path, register):
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", DAY1, t001_rows("3300"))
    chk = landing / DAY1 / "ERP_T001_20261026.chk"
    chk.write_text(chk.read_text(encoding="utf-8").replace("|rows=1|", "|rows=5|"), encoding="utf-8")

    def stop(line: str) -> None:
        raise KeyboardInterrupt  # Ctrl-C while the refusal is being reported

    with pytest.raises(KeyboardInterrupt):
        ingest(con, [landing], register, progress=stop)
    ((table, status, rule, reason),) = _batches(con)
    assert (table, status, rule) == ("T001", "refused", "rows")
    assert reason.endswith("rows: expected 5, found 1")


def test_an_interruption_after_the_delivery_loaded_keeps_it_loaded(con, tmp_path, register, received):
    deliver(tmp_path / "landing", register, "T001", DAY1, t001_rows("3300"))
    (delivery,) = discover([tmp_path / "landing"], register)
    assert load.ingest_delivery(con, delivery, register, tmp_path).status == "loaded"
    load._record_interrupted(con, delivery, Interrupted(signal.SIGTERM))
    assert _batches(con) == [("T001", "loaded", None, None)]


def test_an_interruption_without_a_message_is_recorded_by_its_type(con, tmp_path, register):
    deliver(tmp_path / "landing", register, "T001", DAY1, t001_rows("3300"))
    (delivery,) = discover([tmp_path / "landing"], register)
    load._record_interrupted(con, delivery, KeyboardInterrupt())
    (row,) = con.execute("SELECT batch_id, status, rule, reason, chk_md5 FROM meta.batch").fetchall()
    assert row == (delivery.batch_id(), "interrupted", "interrupted",
                   "KeyboardInterrupt: rolled back, loaded again by the next run", delivery.chk_md5())
    again = load.ingest_delivery(con, delivery, register, tmp_path)  # an interrupted delivery is taken again
    assert again.status == "loaded"
    assert _batches(con) == [("T001", "loaded", None, None)]


@pytest.mark.parametrize("first", [True, False])
def test_a_full_disk_rolls_back_and_says_where(con, tmp_path, register, monkeypatch, first):
    _two_deliveries(tmp_path / "landing", register)
    full = OSError(errno.ENOSPC, "No space left on device")
    if first:  # while the first delivery's files are being checked (the disk fills with a UTF-8 copy)
        monkeypatch.setattr(load, "_start", _raise(full))
    else:
        real_load, fail = load._load, _raise(full)
        monkeypatch.setattr(load, "_load", lambda con, table, *args: (
            fail() if table.code == "BSEG" else real_load(con, table, *args)))
    with pytest.raises(DiskFull) as caught:
        ingest(con, [tmp_path / "landing"], register)
    where = "ERP.T001 20261026" if first else "ERP.BSEG 20261026"
    assert str(caught.value) == (f"no space left on the device while loading {where}: the delivery was rolled back "
                                 "and its temporary copies removed; free space and run the ingest again")
    assert caught.value.__cause__ is full
    assert _batches(con) == ([] if first else [("T001", "loaded", None, None)])


def test_an_interruption_after_a_stale_snapshot_was_skipped_keeps_it_skipped(con, tmp_path, register):
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", "20261027", t001_rows("3300"))
    assert [o.status for o in ingest(con, [landing], register).outcomes] == ["loaded"]
    deliver(landing, register, "T001", DAY1, t001_rows("3300"))  # an older snapshot, late
    older = next(d for d in discover([landing], register) if d.biz_date == DAY1)
    assert load.ingest_delivery(con, older, register, tmp_path).status == "skipped"
    load._record_interrupted(con, older, Interrupted(signal.SIGTERM))
    assert con.execute("SELECT status FROM meta.batch WHERE batch_id = ?", [older.batch_id()]).fetchall() == [
        ("skipped",)]


def test_rows_not_inserted_in_file_order_stop_the_load_before_they_are_numbered(con, tmp_path, register,
                                                                               monkeypatch):
    """DuckDB keeps the order of inserted rows; were that ever lost (a setting, a change in DuckDB),
    the row numbers could not follow from the rowids and the load stops, rolled back."""
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", DAY1, t001_rows("3300", "3302", "3301", "3303"), rows_per_file=2)
    real = load._insert_sql
    # the files' rows interleaved by company code: file 1 holds 3300 and 3302, file 2 3301 and 3303
    monkeypatch.setattr(load, "_insert_sql", lambda table, files: real(table, files) + ' ORDER BY "BUKRS"')
    with pytest.raises(RuntimeError) as caught:
        ingest(con, [landing], register)
    assert str(caught.value) == ("ERP_T001_20261026_001.csv: rows were not inserted in file order; "
                                 "cannot number them")
    assert con.execute("SELECT count(*) FROM meta.batch").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 't001'").fetchone()[0] == 0
