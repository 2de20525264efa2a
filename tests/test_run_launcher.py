"""The local instance's run launcher tells the daemon's run monitoring whether a run's worker
process is alive, from its pid and start time (pipelines.orchestration.launcher)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from pipelines.orchestration.launcher import process_started_at, worker_alive


def test_a_live_process_has_a_start_time_before_now():
    started = process_started_at(os.getpid())
    assert started is not None and started <= time.time()
    assert worker_alive(os.getpid(), time.time())


def test_an_ended_process_is_not_alive_reaped_or_zombie():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    recorded = time.time()
    deadline = time.monotonic() + 30
    while process_started_at(child.pid) is not None and time.monotonic() < deadline:
        time.sleep(0.05)  # exited but not yet waited for: a zombie, which is no worker
    assert process_started_at(child.pid) is None and not worker_alive(child.pid, recorded)
    child.wait()
    assert process_started_at(child.pid) is None  # reaped: no such process


def test_a_pid_taken_by_a_process_started_after_the_run_recorded_it_is_another_process():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = process_started_at(child.pid)
        assert started is not None
        assert worker_alive(child.pid, recorded_at=started)
        assert not worker_alive(child.pid, recorded_at=started - 60)  # recorded long before it started
    finally:
        child.kill()
        child.wait()
