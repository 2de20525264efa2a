"""The model build at scale 10 against the same SQL run directly in DuckDB, and aging latency.

Starts from the database the ingest benchmark left. Targets: build
within 1.3x of the floor; aging for any key date under 1 s.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from datetime import date, timedelta

import duckdb

from benchmarks.ingest import OUT
from benchmarks.measure import run_measured


def _fresh_copy(name: str):
    src = OUT / "bench-ingest.duckdb"
    if not src.exists():
        sys.exit("run the ingest benchmark first (bench_out/bench-ingest.duckdb is missing)")
    target = OUT / f"bench-{name}.duckdb"
    for old in OUT.glob(f"bench-{name}.duckdb*"):
        old.unlink()
    shutil.copy(src, target)
    return target


def _aging_latency(db) -> dict:
    """Per key date: the aging query in-process (warm) and the whole CLI command (cold process)."""
    con = duckdb.connect(str(db), read_only=True)
    last = con.execute("SELECT max(_biz_date) FROM dwd.dwd_fi_voucher_item").fetchone()[0]
    key_dates = [last - timedelta(days=d) for d in (0, 1, 5, 30, 180, 365, 1000)] + [date(2024, 12, 31)]
    timings = {}
    for key_date in key_dates:
        for basis in ("due", "posting"):
            started = time.perf_counter()
            con.execute("SELECT bukrs, bucket, sum(amount_lc) FROM ar_aging(?, ?) GROUP BY ALL",
                        [key_date, basis]).fetchall()
            timings[f"{key_date} {basis}"] = time.perf_counter() - started
    items = con.execute("SELECT count(*) FROM dwd.dwd_ar_item").fetchone()[0]
    con.close()
    cli = [run_measured([sys.executable, "-m", "pipelines.cli", "aging", "--ledger", "ar", "--as-of", str(d),
                         "--basis", "due", "--by", "customer", "--format", "csv", "--db", str(db)]).seconds
           for d in key_dates[:4]]
    return {"ar_items": items, "query_seconds_max": round(max(timings.values()), 3),
            "query_seconds_median": round(statistics.median(timings.values()), 3),
            "cli_seconds_max": round(max(cli), 2), "cli_seconds_median": round(statistics.median(cli), 2),
            "per_key_date": {k: round(v, 3) for k, v in timings.items()}}


def main() -> dict:
    ours_db, floor_db = _fresh_copy("build"), _fresh_copy("build-floor")
    print("running build …", flush=True)
    ours = run_measured([sys.executable, "-m", "pipelines.cli", "build", "--db", str(ours_db)])
    if ours.returncode != 0:
        sys.exit(ours.output)
    print("running build floor …", flush=True)
    floor = run_measured([sys.executable, "-m", "benchmarks.floor_build", str(floor_db)])
    if floor.returncode != 0:
        sys.exit(floor.output)
    aging = _aging_latency(ours_db)
    results = {
        "build": {"seconds": round(ours.seconds, 2), "peak_rss_mb": round(ours.peak_rss_mb)},
        "floor": {"seconds": round(floor.seconds, 2), "peak_rss_mb": round(floor.peak_rss_mb)},
        "ratio": round(ours.seconds / floor.seconds, 2),
        "aging": aging,
    }
    (OUT / "pool.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in results.items() if k != "aging"}, indent=2))
    print(f"build {ours.seconds:.1f} s vs floor {floor.seconds:.1f} s: ratio {results['ratio']:.2f}x "
          f"(target ≤ 1.3x); peak {ours.peak_rss_mb:.0f} MB")
    print(f"aging over {aging['ar_items']:,} AR items: query max {aging['query_seconds_max']:.3f} s, "
          f"whole CLI command max {aging['cli_seconds_max']:.2f} s (target < 1 s)")
    return results


if __name__ == "__main__":
    main()
