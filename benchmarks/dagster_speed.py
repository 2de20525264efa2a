"""Dagster against the CLI doing the same work, at scale 1 and scale 10 (clean samples, 7 dates).

1. The nightly path for one business date (the newest, the six before it already loaded and
   built): `respool ingest`, `build`, `check --date`, `catalog build`, `publish` one after another,
   against `nightly_job` for that partition through `dagster job execute` on a real instance (our
   dagster.yaml) with the code location's executor — what the schedule launches, less the daemon's
   queue. Wall time and peak memory (whole process tree) side by side.
2. The delivery sensor catching up on the seven dates (scale 1, the sample's size): `dagster-daemon
   run` on a fresh instance and database until the sensor's seven `ingest_job` runs have finished,
   against `respool ingest` of the same landing. Each `ingest_job` run also runs the ODS tables'
   quality checks (asset checks of the assets it materialises); `respool ingest` does not.

Target: Dagster within 1.5x of the CLI plus a fixed start-up of at most 10 s per run.

    .venv/bin/python -m benchmarks.dagster_speed [--scales 1 10] [--catch-up-scales 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.ingest import OUT, SEED
from benchmarks.measure import run_measured

DAYS = 7
TARGET_RATIO = 1.5
STARTUP_ALLOWANCE_S = 10.0
BIN = Path(sys.executable).parent


def _landing(scale: float) -> Path:
    path = OUT / "dagster" / f"landing-s{scale:g}-clean"
    if not (path / "generation.json").exists():
        shutil.rmtree(path, ignore_errors=True)
        print(f"generating a clean sample at scale {scale:g} into {path} …", flush=True)
        gen = run_measured([str(BIN / "respool"), "generate", "--out", str(path), "--days", str(DAYS),
                            "--scale", str(scale), "--seed", str(SEED), "--clean"])
        if gen.returncode != 0:
            sys.exit(gen.output)
    return path


def _dates(landing: Path) -> list[str]:
    return json.loads((landing / "generation.json").read_text(encoding="utf-8"))["biz_dates"]


def _landing_until(landing: Path, last: str, into: Path) -> Path:
    """The landing folder as it stood once `last` had been delivered (hard links, no copies)."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    for day in _dates(landing):
        if day <= last:
            shutil.copytree(landing / day, into / day, copy_function=os.link)
    return into


def _env(home: Path, db: Path, landing: Path) -> dict[str, str]:
    return {"RESPOOL_HOME": str(home), "RESPOOL_DB": str(db), "RESPOOL_LANDING": str(landing),
            "DAGSTER_HOME": str(home / ".dagster"), "PYTHONWARNINGS": "ignore"}


def _fresh_home(name: str) -> Path:
    home = OUT / "dagster" / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "pipelines.orchestration.dagster_home", str(home / ".dagster")],
                   check=True, stdout=subprocess.DEVNULL)
    return home


def _run(steps: list[list[str]], env: dict[str, str]) -> tuple[float, float, list[dict]]:
    total, peak, each = 0.0, 0.0, []
    for cmd in steps:
        m = run_measured(cmd, env)
        if m.returncode not in (0,):
            sys.exit(f"{' '.join(cmd)} exited {m.returncode}:\n{m.output[-3000:]}")
        total += m.seconds
        peak = max(peak, m.peak_rss_mb)
        each.append({"step": " ".join(Path(cmd[0]).name if i == 0 else c for i, c in enumerate(cmd[:2])),
                     "seconds": round(m.seconds, 1), "peak_rss_mb": round(m.peak_rss_mb)})
    return total, peak, each


def nightly(scale: float) -> dict:
    landing = _landing(scale)
    dates = _dates(landing)
    last, before = dates[-1], dates[-2]
    base_home = _fresh_home(f"base-s{scale:g}")
    base_db = base_home / "respool.duckdb"
    earlier = _landing_until(landing, before, base_home / "landing")
    respool = str(BIN / "respool")
    print(f"scale {scale:g}: loading and building {dates[0]}…{before} as the starting point …", flush=True)
    _run([[respool, "ingest", "--db", str(base_db)], [respool, "build", "--db", str(base_db)]],
         _env(base_home, base_db, earlier))

    results = {}
    for way in ("cli", "dagster"):
        home = _fresh_home(f"{way}-s{scale:g}")
        db = home / "respool.duckdb"
        shutil.copyfile(base_db, db)
        env = _env(home, db, _landing_until(landing, last, home / "landing"))
        day = f"{last[:4]}-{last[4:6]}-{last[6:]}"
        if way == "cli":
            steps = [[respool, "ingest", "--db", str(db)], [respool, "build", "--db", str(db)],
                     [respool, "check", "--db", str(db), "--date", day, "--no-docs"],
                     [respool, "catalog", "build", "--db", str(db)], [respool, "publish", "--db", str(db)]]
        else:
            steps = [[str(BIN / "dagster"), "job", "execute", "-m", "pipelines.orchestration.definitions",
                      "-j", "nightly_job", "--tags", json.dumps({"dagster/partition": day})]]
        print(f"scale {scale:g}: nightly path for {day} through {way} …", flush=True)
        seconds, peak, each = _run(steps, env)
        results[way] = {"seconds": round(seconds, 1), "peak_rss_mb": round(peak), "steps": each}
    cli, dagster = results["cli"]["seconds"], results["dagster"]["seconds"]
    allowed = TARGET_RATIO * cli + STARTUP_ALLOWANCE_S
    return {"scale": scale, "biz_date": last, **results, "ratio": round(dagster / cli, 2),
            "allowed_s": round(allowed, 1), "meets_target": dagster <= allowed}


def catch_up(scale: float, timeout_s: float = 1800) -> dict:
    """The delivery sensor loading all seven dates through the daemon, against `respool ingest`."""
    import dagster as dg

    landing = _landing(scale)
    cli_home = _fresh_home(f"catchup-cli-s{scale:g}")
    cli = run_measured([str(BIN / "respool"), "ingest", "--db", str(cli_home / "respool.duckdb")],
                       _env(cli_home, cli_home / "respool.duckdb", _landing_until(landing, "99999999", cli_home / "l")))
    if cli.returncode != 0:
        sys.exit(cli.output[-3000:])

    home = _fresh_home(f"catchup-dagster-s{scale:g}")
    env = {**os.environ, **_env(home, home / "respool.duckdb", _landing_until(landing, "99999999", home / "l"))}
    print(f"scale {scale:g}: the delivery sensor catching up on {DAYS} dates through the daemon …", flush=True)
    started = time.perf_counter()
    daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-m", "pipelines.orchestration.definitions"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    runs: list = []
    try:
        os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
        with dg.DagsterInstance.get() as instance:
            while time.perf_counter() - started < timeout_s:
                runs = [r for r in instance.get_run_records(dg.RunsFilter(job_name="ingest_job"))]
                if len(runs) >= DAYS and all(r.dagster_run.is_finished for r in runs):
                    break
                time.sleep(1)
            wall = time.perf_counter() - started
            statuses = sorted(r.dagster_run.status.value for r in runs)
            worked = sum((r.end_time or 0) - (r.start_time or 0) for r in runs)
    finally:
        os.killpg(daemon.pid, 15)
        daemon.wait(timeout=60)
    allowed = TARGET_RATIO * cli.seconds + STARTUP_ALLOWANCE_S * DAYS
    return {"scale": scale, "dates": DAYS, "cli_ingest_s": round(cli.seconds, 1),
            "dagster_wall_s": round(wall, 1), "dagster_runs": len(runs), "run_statuses": statuses,
            "dagster_run_time_s": round(worked, 1), "allowed_s": round(allowed, 1),
            "meets_target": len(runs) == DAYS and set(statuses) == {"SUCCESS"} and wall <= allowed}


def main(scales: tuple[float, ...] = (1.0, 10.0), catch_up_scales: tuple[float, ...] = (1.0,)) -> dict:
    results = {"nightly": [nightly(s) for s in scales], "catch_up": [catch_up(s) for s in catch_up_scales],
               "target": f"Dagster <= {TARGET_RATIO}x CLI + {STARTUP_ALLOWANCE_S:g} s per run"}
    (OUT / "dagster.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--catch-up-scales", type=float, nargs="+", default=[1.0])
    args = parser.parse_args()
    outcome = main(tuple(args.scales), tuple(args.catch_up_scales))
    everything = outcome["nightly"] + outcome["catch_up"]
    sys.exit(0 if all(r["meets_target"] for r in everything) else 1)
