"""The run launcher of the local instance: Dagster's default launcher (a process per run, started by
the code server), plus the health check its run monitoring needs and the default launcher lacks.

Without it, a run whose process died — the machine restarted, the OOM killer, a `kill -9` — stays
STARTED for ever, and with one run at a time (`max_concurrent_runs: 1`) every later run queues
behind it. The daemon's run monitoring asks `check_run_worker_health` of each started run every
`poll_interval_seconds`; this launcher answers from the run worker's process id, which Dagster
records in the run's event log when the worker starts ("Started process for run (pid: N)"), and
the process's start time, so that a process id reused after a restart is not mistaken for the
run. A run whose worker is gone is marked failed, and the queue moves on.

The run workers are processes of this machine (the default launcher starts them beside the code
server), so /proc can see them.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from dagster import DagsterEventType, DagsterRun, DefaultRunLauncher
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

# a process that started this long after Dagster recorded the worker's pid is another process
START_SLACK_S = 5.0


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("/proc/stat has no btime")


def process_started_at(pid: int) -> float | None:
    """When a live process started (epoch seconds); None when there is no such process or it has
    exited and only its zombie is left."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # the command name (field 2) is in parentheses and may itself hold spaces or parentheses
    fields = stat[stat.rindex(")") + 2:].split()
    state, start_ticks = fields[0], int(fields[19])
    if state in ("Z", "X"):
        return None
    return _boot_time() + start_ticks / os.sysconf("SC_CLK_TCK")


def worker_alive(pid: int, recorded_at: float) -> bool:
    """Whether the process `pid`, recorded as a run's worker at `recorded_at`, is still that process."""
    started = process_started_at(pid)
    return started is not None and started <= recorded_at + START_SLACK_S


class RespoolRunLauncher(DefaultRunLauncher):
    """Dagster's DefaultRunLauncher whose run workers the daemon's run monitoring can check."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def _worker(self, run: DagsterRun) -> tuple[int, float] | None:
        """The run worker's pid and when it was recorded: the run's first engine event naming a pid
        is the worker's own ("Started process for run"); later ones may name step processes."""
        records = self._instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
        for record in records:
            event = record.dagster_event
            data = event.engine_event_data if event else None
            pid = data.metadata.get("pid") if data and data.metadata else None
            if pid is not None:
                return int(pid.value), record.timestamp
        return None

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        worker = self._worker(run)
        if worker is None:
            # nothing recorded yet: the start timeout covers a worker that never came up
            return CheckRunHealthResult(WorkerStatus.RUNNING, "run worker not recorded yet")
        pid, recorded_at = worker
        if worker_alive(pid, recorded_at):
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"run worker pid {pid} is running",
                                        run_worker_id=str(pid))
        since = datetime.fromtimestamp(recorded_at).astimezone().isoformat(timespec="seconds")
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"运行进程已不存在 the run worker (pid {pid}, started {since}) is gone: killed, or the machine "
            f"restarted; the run is marked failed so that the queue moves on", run_worker_id=str(pid))
