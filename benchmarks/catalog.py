"""The data catalog at scale 10: `respool catalog build` (entries, figures, quality, meta.catalog_*,
the static site) as a whole process, time and peak memory; then the search latency of 20 queries
over the whole catalog, each run 25 times.

Starts from the database the quality benchmark checked (bench_out/bench-quality.duckdb), so the
catalog carries row counts, freshness and quality as in production. Targets: the build with the
site under 60 s and 2 GB; every query's median under 20 ms.

    .venv/bin/python -m benchmarks.catalog   (a step of `make bench`)
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from pathlib import Path

from benchmarks.ingest import OUT
from benchmarks.measure import run_measured

BUILD_TARGET_S, MEMORY_TARGET_MB, QUERY_TARGET_MS = 60.0, 2048, 20.0
REPEATS = 25
QUERIES = [
    "客户 应收 账龄", "客户应收账龄", "应收账龄", "应付 供应商 账龄", "净到期日", "付款基准日", "会计凭证 冲销",
    "特别总账", "预收账款", "电费应收 对账", "供电单位", "公司代码", "税号", "清账凭证", "receivable aging",
    "vendor open items", "BUKRS", "dwd_ar_item", "ar", "余额",
]


def main() -> dict:
    source = OUT / "bench-quality.duckdb"
    if not source.exists():
        sys.exit("run the quality benchmark first (bench_out/bench-quality.duckdb is missing)")
    db, site = OUT / "bench-catalog.duckdb", OUT / "catalog_site"
    shutil.copy(source, db)
    respool = str(Path(sys.executable).with_name("respool"))
    print("building the catalog and its site …", flush=True)
    run = run_measured([respool, "catalog", "build", "--db", str(db), "--site", str(site)])
    if run.returncode != 0:
        sys.exit(run.output)

    from catalog.builder import read_catalog
    from catalog.search import Searcher
    from pipelines.ingest.db import connect

    with connect(db, read_only=True) as con:
        stored = read_catalog(con)
    started = time.perf_counter()
    searcher = Searcher(stored)
    index_ms = (time.perf_counter() - started) * 1000
    per_query = {}
    for query in QUERIES:
        times = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            hits = searcher.search(query, limit=None)
            times.append((time.perf_counter() - t0) * 1000)
        per_query[query] = {"median_ms": round(statistics.median(times), 2), "hits": len(hits)}
    medians = [q["median_ms"] for q in per_query.values()]
    results = {
        "tables": len(stored.tables),
        "columns": sum(len(t.columns) for t in stored.tables),
        "rows_described": sum(t.row_count or 0 for t in stored.tables),
        "build": {"process_seconds": round(run.seconds, 2), "peak_rss_mb": round(run.peak_rss_mb)},
        "site_files": sum(1 for p in site.rglob("*") if p.is_file()),
        "site_bytes": sum(p.stat().st_size for p in site.rglob("*") if p.is_file()),
        "search": {"index_ms": round(index_ms, 1), "median_of_medians_ms": round(statistics.median(medians), 2),
                   "slowest_median_ms": max(medians), "queries": per_query},
    }
    (OUT / "catalog.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"catalog build + site {run.seconds:.1f} s (target < {BUILD_TARGET_S:.0f} s), peak {run.peak_rss_mb:.0f} MB "
          f"(target < {MEMORY_TARGET_MB} MB); search: median {statistics.median(medians):.1f} ms, slowest query "
          f"{max(medians):.1f} ms (target < {QUERY_TARGET_MS:.0f} ms)")
    return results


if __name__ == "__main__":
    main()
