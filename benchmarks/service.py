"""The data service under load, on loopback: 20 concurrent clients for 30 s mixing /api/aging,
/api/items and a typical /api/query against the published scale-10 pool. Requests/s, p50/p95/p99
latency per endpoint and overall, errors (must be 0). Target: p95 < 300 ms.

Starts from the database the quality benchmark checked (bench_out/bench-quality.duckdb), publishes
it to bench_out/published/, runs `respool serve` in its own process and the clients here. Bounded:
a fixed number of clients, a fixed duration, 127.0.0.1 only.

    .venv/bin/python -m benchmarks.service [--db PATH] [--clients 20] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
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


def main(db: Path | None = None, clients: int = 20, seconds: float = 30.0) -> dict:
    from pipelines.publish import publish
    from serve import access

    source = db or OUT / "bench-quality.duckdb"
    if not source.exists():
        sys.exit(f"{source} is missing: run the quality benchmark first (make bench)")
    snapshot = publish(source, OUT / "published" / "bench.duckdb", replace_source=True)
    access_db, audit_log = OUT / "bench-access.db", OUT / "bench-audit.jsonl"
    access_db.unlink(missing_ok=True)
    audit_log.unlink(missing_ok=True)
    token = access.add_user(access_db, "bench", "ZJ03")  # 温州 and 丽水: two company codes
    port = _free_port()
    env = {**os.environ, "RESPOOL_ACCESS_DB": str(access_db), "RESPOOL_AUDIT_LOG": str(audit_log)}
    respool = Path(sys.executable).parent / "respool"
    server = subprocess.Popen([str(respool), "serve", "--port", str(port), "--snapshot", str(snapshot)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            for _ in range(300):
                try:
                    if http.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            as_of = http.get("/api/health").json()["biz_date"]
            figure = next(r for r in http.get("/api/aging", params={"as_of": as_of}).json()["rows"])
        bukrs, bucket = figure[0], figure[1]
        requests = [
            ("aging", "GET", "/api/aging", {"params": {"as_of": as_of, "ledger": "ar", "by": "customer"}}),
            ("items", "GET", "/api/items", {"params": {"as_of": as_of, "bukrs": bukrs, "bucket": bucket}}),
            ("query", "POST", "/api/query", {"json": {"sql": (
                f"SELECT a.bukrs, c.customer_name, a.bucket, sum(a.amount_lc) AS amount FROM ar_aging(DATE '{as_of}', 'due') a "
                f"LEFT JOIN dim.dim_customer c USING (kunnr) GROUP BY ALL ORDER BY amount DESC LIMIT 50")}}),
        ]
        latencies: dict[str, list[float]] = {name: [] for name, *_ in requests}
        errors: list[str] = []
        stop = threading.Event()

        def client(offset: int) -> None:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
                i = offset
                while not stop.is_set():
                    name, method, path, kwargs = requests[i % len(requests)]
                    started = time.perf_counter()
                    response = http.request(method, path, **kwargs)
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status_code != 200:
                        errors.append(f"{name} {response.status_code} {response.text[:200]}")
                    else:
                        latencies[name].append(elapsed)
                    i += 1

        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    every = [v for values in latencies.values() for v in values]

    def stats(values: list[float]) -> dict:
        return {"requests": len(values), "p50_ms": round(_percentile(values, 0.50), 1),
                "p95_ms": round(_percentile(values, 0.95), 1), "p99_ms": round(_percentile(values, 0.99), 1),
                "mean_ms": round(statistics.fmean(values), 1) if values else None}

    results = {"clients": clients, "seconds": round(wall, 1), "requests_per_s": round(len(every) / wall, 1),
               "errors": len(errors), "error_examples": errors[:5], "overall": stats(every),
               "by_endpoint": {name: stats(values) for name, values in latencies.items()},
               "target_p95_ms": TARGET_P95_MS, "source": str(source),
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
    sys.exit(1 if outcome["errors"] else 0)
