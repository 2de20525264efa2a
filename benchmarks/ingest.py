"""Ingestion at scale 10 against the bare-DuckDB floor; figures and a plot.

Writes bench_out/ingest.json and bench_out/ingest.png and leaves the ingested database
(bench_out/bench-ingest.duckdb) for the build benchmark. Targets: ingest
within 1.5x of the floor, peak memory under 2 GB.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from benchmarks.floor_ingest import utf8_copies
from benchmarks.measure import run_measured
from pipelines.config import PROJECT_ROOT

OUT = PROJECT_ROOT / "bench_out"
SCALE = float(os.environ.get("BENCH_SCALE", "10"))
DAYS = int(os.environ.get("BENCH_DAYS", "7"))
SEED = 20261026


def landing() -> Path:
    path = OUT / f"landing-s{SCALE:g}-d{DAYS}"
    marker = path / "generation.json"
    if not marker.exists():
        shutil.rmtree(path, ignore_errors=True)
        print(f"generating scale {SCALE:g}, {DAYS} days into {path} …", flush=True)
        gen = run_measured([sys.executable, "-m", "pipelines.cli", "generate", "--out", str(path),
                            "--days", str(DAYS), "--scale", str(SCALE), "--seed", str(SEED),
                            "--rows-per-file", "200000"])
        if gen.returncode != 0:
            sys.exit(gen.output)
        print(f"  generated in {gen.seconds:.1f} s, peak {gen.peak_rss_mb:.0f} MB", flush=True)
    return path


def _plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    labels = ["respool ingest", "bare DuckDB floor"]
    colors = ["#c0392b", "#7f8c8d"]
    axes[0].bar(labels, [results["ingest"]["seconds"], results["floor"]["seconds"]], color=colors)
    axes[0].set_title(f"Time (s) — ratio {results['ratio']:.2f}x (target ≤ 1.5x)")
    axes[1].bar(labels, [results["ingest"]["peak_rss_mb"], results["floor"]["peak_rss_mb"]], color=colors)
    axes[1].axhline(2048, color="black", linestyle="--", linewidth=1, label="2 GB target")
    axes[1].set_title("Peak memory (MB)")
    axes[1].legend()
    fig.suptitle(f"Ingest at scale {SCALE:g} ({results['rows']:,} rows, {DAYS} business dates)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> dict:
    OUT.mkdir(exist_ok=True)
    source = landing()
    copies = OUT / f"utf8-plain-s{SCALE:g}-d{DAYS}"
    if not (copies / "done").exists():
        shutil.rmtree(copies, ignore_errors=True)
        utf8_copies(source, copies)
        (copies / "done").touch()
    runs = {}
    for name, cmd in {
        "ingest": [sys.executable, "-m", "pipelines.cli", "ingest", "--landing", str(source),
                   "--landing", str(source / "redelivery"), "--db", str(OUT / "bench-ingest.duckdb")],
        "floor": [sys.executable, "-m", "benchmarks.floor_ingest", str(copies), str(OUT / "bench-floor.duckdb")],
    }.items():
        for db in OUT.glob(f"bench-{name}.duckdb*"):
            db.unlink()
        print(f"running {name} …", flush=True)
        runs[name] = run_measured(cmd)
        if name == "floor" and runs[name].returncode != 0:
            sys.exit(runs[name].output)
    import duckdb

    con = duckdb.connect(str(OUT / "bench-ingest.duckdb"), read_only=True)
    rows = con.execute("SELECT sum(rows) FROM meta.batch WHERE status = 'loaded'").fetchone()[0]
    bseg = con.execute("SELECT count(*) FROM ods.bseg").fetchone()[0]
    con.close()
    ing, flo = runs["ingest"], runs["floor"]
    results = {
        "scale": SCALE, "days": DAYS, "rows": int(rows), "bseg_rows": int(bseg),
        "ingest": {"seconds": round(ing.seconds, 2), "rows_per_s": round(rows / ing.seconds),
                   "peak_rss_mb": round(ing.peak_rss_mb), "exit_code": ing.returncode},
        "floor": {"seconds": round(flo.seconds, 2), "rows_per_s": round(rows / flo.seconds),
                  "peak_rss_mb": round(flo.peak_rss_mb)},
        "ratio": round(ing.seconds / flo.seconds, 2),
    }
    (OUT / "ingest.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    _plot(results, OUT / "ingest.png")
    print(json.dumps(results, indent=2))
    print(f"ingest {ing.seconds:.1f} s ({rows / ing.seconds:,.0f} rows/s), floor {flo.seconds:.1f} s: "
          f"ratio {results['ratio']:.2f}x (target ≤ 1.5x); peak {ing.peak_rss_mb:.0f} MB (target < 2048 MB)")
    print(f"plot: {OUT / 'ingest.png'}")
    return results


if __name__ == "__main__":
    main()
