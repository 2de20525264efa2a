"""The data service under load, on loopback: 20 concurrent clients for 30 s mixing /api/aging,
/api/items and a typical /api/query against the published scale-10 pool. Requests/s, p50/p95/p99
latency per endpoint and overall, errors (must be 0). Target: p95 < 300 ms.

The clients ask what analysts of one organisation ask: aging of either ledger at three key dates
(the snapshot's business date and the two month-ends before it), by company and by partner; the
items behind every figure those answers hold; and queries of a few shapes at those dates — drawn at
random, the same draw each run. The service keeps each answer with its snapshot, so a question
asked before is answered from memory: the run reports how many were, and a second run with the
answer cache off shows the cost of computing every answer afresh (reported, not held to the target).

Starts from the database the quality benchmark checked (bench_out/bench-quality.duckdb), publishes
it to bench_out/published/, runs `respool serve` in its own process and the clients here. Bounded:
a fixed number of clients, a fixed duration, 127.0.0.1 only.

    .venv/bin/python -m benchmarks.service [--db PATH] [--clients 20] [--seconds 30]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import httpx

from benchmarks.ingest import OUT

TARGET_P95_MS = 300.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


QUERIES = (
    "SELECT a.bukrs, c.customer_name, a.bucket, sum(a.amount_lc) AS amount FROM ar_aging(DATE '{d}', 'due') a "
    "LEFT JOIN dim.dim_customer c USING (kunnr) GROUP BY ALL ORDER BY amount DESC LIMIT 50",
    "SELECT a.bukrs, v.vendor_name, a.bucket, sum(a.amount_lc) AS amount FROM ap_aging(DATE '{d}', 'posting') a "
    "LEFT JOIN dim.dim_vendor v USING (lifnr) GROUP BY ALL ORDER BY amount DESC LIMIT 50",
    "SELECT bukrs, bucket, count(*) AS items, sum(amount_lc) AS amount FROM ar_aging(DATE '{d}', 'posting') "
    "GROUP BY ALL ORDER BY ALL",
)


def _month_ends_before(day: date, count: int) -> list[date]:
    ends, current = [], day.replace(day=1) - timedelta(days=1)
    for _ in range(count):
        ends.append(current)
        current = current.replace(day=1) - timedelta(days=1)
    return ends


def _questions(http: httpx.Client, as_of: date) -> list[tuple[str, str, str, dict]]:
    """What the clients ask, as (endpoint, method, path, request arguments)."""
    dates = [as_of, *_month_ends_before(as_of, 2)]
    asked: list[tuple[str, str, str, dict]] = []
    for day in dates:
        for ledger in ("ar", "ap"):
            for by in ("company", "partner"):
                asked.append(("aging", "GET", "/api/aging", {"params": {"as_of": str(day), "ledger": ledger, "by": by}}))
            figures = http.get("/api/aging", params={"as_of": str(day), "ledger": ledger}).json()["rows"]
            asked += [("items", "GET", "/api/items", {"params": {"as_of": str(day), "ledger": ledger,
                                                                  "bukrs": bukrs, "bucket": bucket}})
                      for bukrs, bucket, *_ in figures]
        asked += [("query", "POST", "/api/query", {"json": {"sql": sql.format(d=day)}}) for sql in QUERIES]
    return asked


def _load(base: str, token: str, asked: list, clients: int, seconds: float) -> tuple[dict, list[str], float]:
    kinds = sorted({name for name, *_ in asked})
    by_kind = {name: [q for q in asked if q[0] == name] for name in kinds}
    latencies: dict[str, list[float]] = {name: [] for name in kinds}
    errors: list[str] = []
    stop = threading.Event()

    def client(k: int) -> None:
        draw = random.Random(k)  # each client its own fixed sequence: the same load every run
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            while not stop.is_set():
                name, method, path, kwargs = draw.choice(by_kind[draw.choice(kinds)])
                started = time.perf_counter()
                response = http.request(method, path, **kwargs)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    errors.append(f"{name} {response.status_code} {response.text[:200]}")
                else:
                    latencies[name].append(elapsed)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - started


def _stats(values: list[float]) -> dict:
    return {"requests": len(values), "p50_ms": round(_percentile(values, 0.50), 1),
            "p95_ms": round(_percentile(values, 0.95), 1), "p99_ms": round(_percentile(values, 0.99), 1),
            "mean_ms": round(statistics.fmean(values), 1) if values else None}


def _serve_and_load(snapshot: Path, cache_mb: int, clients: int, seconds: float) -> dict:
    from serve import access, audit

    access_db, audit_log = OUT / "bench-access.db", OUT / "bench-audit.jsonl"
    access_db.unlink(missing_ok=True)
    audit_log.unlink(missing_ok=True)
    token = access.add_user(access_db, "bench", "ZJ03")  # 温州 and 丽水: two company codes
    port = _free_port()
    env = {**os.environ, "RESPOOL_ACCESS_DB": str(access_db), "RESPOOL_AUDIT_LOG": str(audit_log)}
    respool = Path(sys.executable).parent / "respool"
    server = subprocess.Popen([str(respool), "serve", "--port", str(port), "--snapshot", str(snapshot),
                               "--cache-mb", str(cache_mb)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            for _ in range(300):
                try:
                    if http.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            as_of = date.fromisoformat(http.get("/api/health").json()["biz_date"])
            asked = _questions(http, as_of)
        setup = len(audit.read(audit_log))
        latencies, errors, wall = _load(base, token, asked, clients, seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    loaded = [r for r in audit.read(audit_log)[setup:] if r.get("endpoint", "").startswith("/api/")]
    every = [v for values in latencies.values() for v in values]
    return {"cache_mb": cache_mb, "clients": clients, "seconds": round(wall, 1),
            "distinct_questions": len(asked), "requests_per_s": round(len(every) / wall, 1),
            "answered_from_cache": round(sum(bool(r.get("cached")) for r in loaded) / max(1, len(loaded)), 3),
            "errors": len(errors), "error_examples": errors[:5], "overall": _stats(every),
            "by_endpoint": {name: _stats(values) for name, values in latencies.items()}}


def main(db: Path | None = None, clients: int = 20, seconds: float = 30.0) -> dict:
    from pipelines.publish import publish

    source = db or OUT / "bench-quality.duckdb"
    if not source.exists():
        sys.exit(f"{source} is missing: run the quality benchmark first (make bench)")
    snapshot = publish(source, OUT / "published" / "bench.duckdb", replace_source=True)
    cached = _serve_and_load(snapshot, 64, clients, seconds)
    uncached = _serve_and_load(snapshot, 0, clients, seconds)
    results = {**cached, "target_p95_ms": TARGET_P95_MS, "meets_target": cached["overall"]["p95_ms"] < TARGET_P95_MS,
               "without_answer_cache": uncached, "source": str(source),
               "note": "clients and server share the machine's 2 cores (loopback only)"}
    (OUT / "service.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    outcome = main(args.db, args.clients, args.seconds)
    sys.exit(1 if outcome["errors"] or outcome["without_answer_cache"]["errors"] else 0)
