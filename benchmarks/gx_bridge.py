"""Benchmark of the GX bridge: `validate` on a 1M-row x 8-column relation against the DuckDB floor.

`.venv/bin/python -m benchmarks.gx_bridge [--rows N] [--repeat K] [--json PATH]`

Every scenario runs in its own child process (so peak memory is its own): the table is generated
in an in-memory DuckDB, GX is imported and warmed up on a few rows, then the checks are timed
`--repeat` times while a thread samples the process's resident memory every 5 ms. Reported: the
median and best wall time of one call, the peak RSS during the calls above the RSS just before
them, and the absolute peak. Scenarios: `validate` with batch_rows 250k and 1M (GX's batch
fingerprint off, the bridge's default, and on, GX's default), the same ten checks as one DuckDB
SQL query (the floor; its counts must equal the bridge's), and writing Data Docs for the suite.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import duckdb

TABLE = """
CREATE TABLE bench AS
SELECT i::BIGINT AS id,
       lpad((i % 100000)::VARCHAR, 10, '0') AS belnr,
       ['3301', '3302', '3303', '3304'][1 + i % 4] AS bukrs,
       (2020 + i % 7)::INTEGER AS gjahr,
       DATE '2026-01-01' + (i % 365)::INTEGER AS budat,
       CASE WHEN i % 1000 = 0 THEN NULL ELSE 'CNY' END AS waers,
       round((i % 10007) * 1.37, 2)::DECIMAL(15, 2) AS dmbtr,
       CASE WHEN i % 2 = 0 THEN 'S' ELSE 'H' END AS shkzg
FROM range({rows}) t(i)
"""

COLUMNS = ["id", "belnr", "bukrs", "gjahr", "budat", "waers", "dmbtr", "shkzg"]

#: (id, expectation, kwargs): nine per-row checks and one on the column list, so that every check
#: runs at every batch size.
CHECKS: list[tuple[str, str, dict[str, Any]]] = [
    ("id_nn", "expect_column_values_to_not_be_null", {"column": "id"}),
    ("waers_nn", "expect_column_values_to_not_be_null", {"column": "waers"}),
    ("belnr_fmt", "expect_column_values_to_match_regex", {"column": "belnr", "regex": r"^\d{10}$"}),
    ("gjahr_range", "expect_column_values_to_be_between", {"column": "gjahr", "min_value": 2020, "max_value": 2025}),
    ("bukrs_set", "expect_column_values_to_be_in_set", {"column": "bukrs", "value_set": ["3301", "3302", "3303", "3304"]}),
    ("shkzg_set", "expect_column_values_to_be_in_set", {"column": "shkzg", "value_set": ["S", "H"]}),
    ("dmbtr_range", "expect_column_values_to_be_between", {"column": "dmbtr", "min_value": 0, "max_value": 10000}),
    ("budat_2026", "expect_column_values_to_be_between",
     {"column": "budat", "min_value": "2026-01-01", "max_value": "2026-12-31"}),
    ("belnr_len", "expect_column_value_lengths_to_equal", {"column": "belnr", "value": 10}),
    ("columns", "expect_table_columns_to_match_ordered_list", {"column_list": COLUMNS}),
]

#: The same checks as one query: (unexpected counts, in CHECKS order; the last is the column list).
FLOOR = """
SELECT count(*) AS n,
       count(*) FILTER (id IS NULL),
       count(*) FILTER (waers IS NULL),
       count(*) FILTER (NOT regexp_full_match(belnr, '\\d{10}')),
       count(*) FILTER (gjahr NOT BETWEEN 2020 AND 2025),
       count(*) FILTER (bukrs NOT IN ('3301', '3302', '3303', '3304')),
       count(*) FILTER (shkzg NOT IN ('S', 'H')),
       count(*) FILTER (dmbtr NOT BETWEEN 0 AND 10000),
       count(*) FILTER (budat NOT BETWEEN DATE '2026-01-01' AND DATE '2026-12-31'),
       count(*) FILTER (length(belnr) <> 10)
FROM bench
"""

SCENARIOS = ["gx_250k", "gx_1m", "gx_250k_fingerprint", "gx_1m_fingerprint", "sql_floor", "data_docs"]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class _Peak:
    """Samples this process's RSS on a thread while the block runs."""

    def __enter__(self) -> _Peak:
        self.base = _rss_mb()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb())
            self._stop.wait(0.005)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def _suite() -> Any:
    from quality.specs import suite_from_dict

    return suite_from_dict({
        "name": "bench", "target": "bench",
        "expectations": [{"id": i, "expectation": e, "kwargs": k, "dimension": "准确性", "severity": "error",
                          "description_zh": i, "description_en": i} for i, e, k in CHECKS],
    })


def run_scenario(name: str, rows: int, repeat: int) -> dict[str, Any]:
    """One scenario in this process: timings, memory and the unexpected counts it found."""
    con = duckdb.connect()
    con.execute(TABLE.format(rows=rows))
    out: dict[str, Any] = {"scenario": name, "rows": rows}
    times: list[float] = []
    if name == "sql_floor":
        con.execute(FLOOR).fetchone()  # warm
        with _Peak() as peak:
            for _ in range(repeat):
                started = time.perf_counter()
                row = con.execute(FLOOR).fetchone()
                times.append(time.perf_counter() - started)
        out["unexpected"] = dict(zip([c[0] for c in CHECKS[:-1]], row[1:], strict=True))
    else:
        started = time.perf_counter()
        from quality import gx_bridge
        from quality.data_docs import DataDocsStore

        gx_bridge.FINGERPRINT_BATCHES = name.endswith("_fingerprint")
        suite = _suite()
        data_docs = DataDocsStore()  # every timed call keeps its Data Docs results, as `respool check` does
        gx_bridge.validate(con, suite.model_copy(update={"default_relation": "SELECT * FROM bench LIMIT 10"}),
                           data_docs=data_docs)
        out["cold_start_s"] = round(time.perf_counter() - started, 2)  # import GX, load suite, first validation
        batch_rows = 250_000 if "250k" in name else 1_000_000
        with _Peak() as peak:
            for _ in range(repeat):
                started = time.perf_counter()
                results = gx_bridge.validate(con, suite, batch_rows=batch_rows, data_docs=data_docs)
                times.append(time.perf_counter() - started)
        bad = [r for r in results if r.exception]
        if bad:
            raise RuntimeError(f"{name}: {bad[0].expectation_id}: {bad[0].exception}")
        out["unexpected"] = {r.expectation_id: r.unexpected_count for r in results if r.kind == "row"}
        out["batches"] = results[0].batches
        if name == "data_docs":
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                index = data_docs.build_data_docs(tmp)
                out["first_build_s"] = round(time.perf_counter() - started, 2)
                started = time.perf_counter()
                data_docs.build_data_docs(tmp)
                out["rebuild_s"] = round(time.perf_counter() - started, 2)
                files = [p for p in (Path(tmp) / "gx").rglob("*") if p.is_file()]
                out["gx_folder_mb"] = round(sum(p.stat().st_size for p in files) / 2**20, 1)
                out["gx_files"] = len(files)
                out["index"] = str(index.relative_to(tmp))
    out.update(median_s=round(statistics.median(times), 3), best_s=round(min(times), 3),
               peak_above_base_mb=round(peak.peak - peak.base, 1), peak_rss_mb=round(peak.peak, 1))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)  # child-process mode
    args = parser.parse_args(argv)
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.rows, args.repeat)))
        return
    figures = []
    for name in SCENARIOS:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.gx_bridge", "--scenario", name, "--rows", str(args.rows),
                               "--repeat", str(args.repeat)], capture_output=True, text=True, check=False)
        if proc.returncode:
            sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
        figures.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    floor = next(f for f in figures if f["scenario"] == "sql_floor")
    for f in figures:
        if f["scenario"] != "sql_floor" and f["unexpected"] != floor["unexpected"]:
            sys.exit(f"{f['scenario']} counts differ from the SQL floor: {f['unexpected']} vs {floor['unexpected']}")
    print(f"{args.rows:,} rows x {len(COLUMNS)} columns, {len(CHECKS)} checks; counts agree with the SQL floor")
    print(f"{'scenario':<22}{'median s':>10}{'best s':>9}{'x floor':>9}{'+MB peak':>10}{'peak RSS MB':>13}")
    for f in figures:
        print(f"{f['scenario']:<22}{f['median_s']:>10.3f}{f['best_s']:>9.3f}{f['median_s'] / floor['median_s']:>9.1f}"
              f"{f['peak_above_base_mb']:>10.1f}{f['peak_rss_mb']:>13.1f}")
    for f in figures:
        extra = {k: v for k, v in f.items() if k in ("cold_start_s", "batches", "first_build_s", "rebuild_s",
                                                      "gx_folder_mb", "gx_files", "index")}
        if extra:
            print(f"  {f['scenario']}: {extra}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
