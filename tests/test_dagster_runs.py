"""Runs through the real Dagster instance, as `make dagster` starts it (`dagster dev`: webserver,
daemon, code server; our dagster.yaml), driven over the webserver's GraphQL API as the UI drives it.

1. The delivery sensor launches the ingest of a date; terminating the run from the UI
   (`terminateRun`) while the large delivery loads ends it within 10 s, rolls the delivery back,
   releases the DuckDB file and leaves no process of the run behind.
2. A run whose worker is killed (kill -9) is marked failed (by the code server that started it).
3. A power cut mid-load (every process killed at once): after the restart the daemon's run
   monitoring finds the run's worker gone (pipelines.orchestration.launcher) and marks the run
   failed, so the one-run-at-a-time queue does not stall behind it.
4. The next run loads everything.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import httpx
import pytest

from pipelines.ingest.db import connect
from pipelines.orchestration.dagster_home import write_instance_config
from pipelines.orchestration.launcher import RespoolRunLauncher, worker_alive
from tests.conftest import bseg_rows, child_pids, deliver, process_alive, t001_rows

pytestmark = pytest.mark.slow

DAY, PARTITION = "20261026", "2026-10-26"
VOUCHERS = 400_000  # two BSEG lines each: loading them takes seconds, time enough to stop it
LOCATION = "pipelines.orchestration.definitions"
SELECTION = [{"path": ["ods", "t001"]}, {"path": ["ods", "bseg"]}]

LAUNCH = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
TERMINATE = """
mutation($runId: String!) { terminateRun(runId: $runId) {
  __typename ... on TerminateRunFailure { message } ... on PythonError { message } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dev:
    """`dagster dev` (webserver, daemon, code server) over one instance, started and stopped as a
    user of `make dagster` would — or killed outright, as a power cut would."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env, self.proc, self.http = env, None, None

    def start(self) -> None:
        port = _free_port()
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster")), "dev", "-m", LOCATION, "-p", str(port)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        deadline = time.monotonic() + 120
        while True:
            try:
                if self.http.get("/server_info").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and self.proc.poll() is None, "dagster dev did not start"
            time.sleep(0.5)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.http.close()
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if sig == signal.SIGKILL:  # every process of the group, the run workers included, is gone
            _wait(lambda: not _group_alive(self.proc.pid), 30, "processes of the killed dagster dev remain")


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


@pytest.fixture(scope="module")
def dagster(tmp_path_factory, register):
    """`dagster dev` over a landing with a small and a large delivery of one date."""
    home = tmp_path_factory.mktemp("dagster-runs")
    landing = home / "landing"
    deliver(landing, register, "T001", DAY, t001_rows("3301", "3302"))
    deliver(landing, register, "BSEG", DAY, bseg_rows(VOUCHERS), rows_per_file=100_000)
    (home / "tmp").mkdir()
    write_instance_config(home / ".dagster")
    env = {**os.environ, "DAGSTER_HOME": str(home / ".dagster"), "RESPOOL_HOME": str(home),
           "RESPOOL_DB": str(home / "respool.duckdb"), "RESPOOL_LANDING": str(landing),
           "RESPOOL_FIRST_BIZ_DATE": "2026-10-01", "TMPDIR": str(home / "tmp")}
    dev = Dev(env)
    dev.start()
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    try:
        with dg.DagsterInstance.get() as instance:
            yield {"dev": dev, "instance": instance, "home": home, "db": home / "respool.duckdb"}
    finally:
        if dev.proc.poll() is None:
            dev.stop()
        os.environ.pop("DAGSTER_HOME", None)


def _graphql(http: httpx.Client, query: str, variables: dict) -> dict:
    response = http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def _launch(dagster) -> str:
    params = {"selector": {"repositoryLocationName": LOCATION, "repositoryName": "__repository__",
                           "jobName": "ingest_job", "assetSelection": SELECTION},
              "executionMetadata": {"tags": [{"key": "dagster/partition", "value": PARTITION}]},
              "runConfigData": "{}"}
    result = _graphql(dagster["dev"].http, LAUNCH, {"params": params})["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def _wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {seconds:g} s")


def _status(instance, run_id: str) -> dg.DagsterRunStatus:
    return instance.get_run_by_id(run_id).status


def _loading_bseg(instance, run_id: str) -> bool:
    starts = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
    return any(r.dagster_event.step_key == "ods__bseg" for r in starts)


def _worker_pid(instance, run_id: str) -> int:
    launcher = instance.run_launcher
    assert isinstance(launcher, RespoolRunLauncher)
    worker = launcher._worker(instance.get_run_by_id(run_id))
    assert worker is not None
    return worker[0]


def _commands(pids: set[int]) -> list[str]:
    alive = []
    for pid in sorted(pids):
        if process_alive(pid):
            try:
                alive.append(f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200])
            except OSError:
                pass
    return alive


def _bseg_state(db: Path) -> tuple[int, list[tuple]]:
    with connect(db, read_only=True) as con:  # opening it at all: the run released the file
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ods'").fetchall()}
        rows = con.execute("SELECT count(*) FROM ods.bseg").fetchone()[0] if "bseg" in tables else 0
        batches = con.execute("SELECT status FROM meta.batch WHERE table_name = 'BSEG' ORDER BY recorded_at").fetchall()
    return rows, batches


def test_terminate_kill_and_rerun_through_the_ui(dagster):
    instance = dagster["instance"]
    # 1. the sensor's run, terminated from the UI while BSEG loads
    first = _wait(lambda: next(iter(instance.get_run_records(dg.RunsFilter(job_name="ingest_job"))), None),
                  120, "the delivery sensor launched no run").dagster_run.run_id
    _wait(lambda: _loading_bseg(instance, first), 120, "the run never started loading BSEG")
    worker = _worker_pid(instance, first)
    time.sleep(1.0)
    asked = time.monotonic()
    terminated = _graphql(dagster["dev"].http, TERMINATE, {"runId": first})["terminateRun"]
    assert terminated["__typename"] == "TerminateRunSuccess", terminated
    _wait(lambda: _status(instance, first) == dg.DagsterRunStatus.CANCELED, 10, "terminated run not canceled")
    assert time.monotonic() - asked <= 10
    _wait(lambda: not process_alive(worker), 10, "the terminated run's worker is still running")
    rows, batches = _bseg_state(dagster["db"])
    assert rows == 0 and batches == [("interrupted",)]
    assert not list((dagster["home"] / "tmp").glob("respool-*")), "temporary copies left behind"

    # 2. a run whose worker is killed: the code server that started it notices and fails the run
    second = _launch(dagster)
    _wait(lambda: _loading_bseg(instance, second), 120, "the second run never started loading BSEG")
    worker = _worker_pid(instance, second)
    children = child_pids(worker)
    os.kill(worker, signal.SIGKILL)
    _wait(lambda: _status(instance, second) == dg.DagsterRunStatus.FAILURE, 60, "the killed run was not failed")
    _wait(lambda: not any(process_alive(p) for p in children | {worker}), 30,
          f"processes of the killed run outlived it: {_commands(children | {worker})}")

    # 3. a power cut mid-load takes every process at once, the code server included: after the
    # restart, the daemon's run monitoring asks the launcher, finds the worker gone, fails the run
    third = _launch(dagster)
    _wait(lambda: _loading_bseg(instance, third), 120, "the third run never started loading BSEG")
    worker = _worker_pid(instance, third)
    dagster["dev"].stop(signal.SIGKILL)
    assert _status(instance, third) == dg.DagsterRunStatus.STARTED  # nobody left to say otherwise
    dagster["dev"].start()
    _wait(lambda: _status(instance, third) == dg.DagsterRunStatus.FAILURE, 90,
          "run monitoring did not fail the run whose worker died with the machine")
    said = [r.message for r in instance.all_logs(third)]
    assert any(f"the run worker (pid {worker}" in m and "is gone" in m for m in said), said[-5:]
    rows, _ = _bseg_state(dagster["db"])
    assert rows == 0  # the load in progress was never committed

    # 4. the queue moves on: the next run loads everything
    fourth = _launch(dagster)
    _wait(lambda: _status(instance, fourth) in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE), 180,
          "the next run did not finish")
    assert _status(instance, fourth) == dg.DagsterRunStatus.SUCCESS
    rows, batches = _bseg_state(dagster["db"])
    assert rows == 2 * VOUCHERS and batches[-1] == ("loaded",)
    _wait(lambda: not worker_alive(_worker_pid(instance, fourth), time.time()), 30, "the run's worker outlived it")
