"""All quality suites at scale 10 against the same checks as plain DuckDB SQL (the floor).

Starts from the database the pool benchmark built. Targets: within 3x of the
floor, peak memory under 4 GB.
"""

from __future__ import annotations

import json
import shutil
import sys

from benchmarks.ingest import OUT
from benchmarks.measure import run_measured


def main() -> dict:
    source = OUT / "bench-build.duckdb"
    if not source.exists():
        sys.exit("run the pool benchmark first (bench_out/bench-build.duckdb is missing)")
    ours_db, floor_db = OUT / "bench-quality.duckdb", OUT / "bench-quality-floor.duckdb"
    for db in (ours_db, floor_db):
        shutil.copy(source, db)
    runs = {}
    for mode, db in (("ours", ours_db), ("floor", floor_db)):
        print(f"running quality {mode} …", flush=True)
        runs[mode] = run_measured([sys.executable, "-m", "benchmarks.floor_quality", str(db), mode])
        if runs[mode].returncode != 0:
            sys.exit(runs[mode].output)
    timed = {m: float(r.output.strip().splitlines()[-1].split(" in ")[1].split(" s")[0]) for m, r in runs.items()}
    ours, floor = runs["ours"], runs["floor"]
    results = {
        "check": {"seconds": timed["ours"], "process_seconds": round(ours.seconds, 2),
                  "peak_rss_mb": round(ours.peak_rss_mb)},
        "floor": {"seconds": timed["floor"], "process_seconds": round(floor.seconds, 2),
                  "peak_rss_mb": round(floor.peak_rss_mb)},
        "ratio": round(timed["ours"] / timed["floor"], 2),
        "note": "seconds: the checks after the suites are loaded; process_seconds: the whole process "
                "(both import Great Expectations, ~3 s, to load the suites)",
    }
    (OUT / "quality.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"quality {timed['ours']:.1f} s vs floor {timed['floor']:.1f} s: ratio {results['ratio']:.2f}x "
          f"(target ≤ 3x); peak {ours.peak_rss_mb:.0f} MB (target < 4096 MB)")
    return results


if __name__ == "__main__":
    main()
