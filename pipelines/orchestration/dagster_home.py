"""Write the local Dagster instance configuration (`dagster.yaml`) for `make dagster`.

DuckDB allows one writing process: every asset that opens the file is in pool `duckdb`, and
the instance allows one op of a pool at a time and one run at a time, so runs never fight
over the file lock and queued runs start in the order they were submitted.

One run at a time means a dead run must not hold the queue: the daemon's run monitoring checks
each started run's worker process (pipelines.orchestration.launcher) and marks a run whose worker
is gone failed, frees the pool slots a finished run still held, and fails a run that never started.
"""

from __future__ import annotations

import sys
from pathlib import Path

DAGSTER_YAML = """\
# written by `python -m pipelines.orchestration.dagster_home`; DuckDB has one writer
concurrency:
  pools:
    default_limit: 1
  runs:
    max_concurrent_runs: 1
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1  # a queued run (the sensor's catch-up) starts within a second
run_launcher:
  module: pipelines.orchestration.launcher
  class: RespoolRunLauncher
run_monitoring:
  enabled: true
  poll_interval_seconds: 10
  start_timeout_seconds: 180
  cancel_timeout_seconds: 60
  free_slots_after_run_end_seconds: 5
telemetry:
  enabled: false
"""


def write_instance_config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dagster.yaml"
    path.write_text(DAGSTER_YAML, encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_instance_config(Path(sys.argv[1] if len(sys.argv) > 1 else ".dagster")))
