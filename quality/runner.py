"""Running every quality suite: structural suites from the register, the business suites in
quality/suites/, and the metric bands; results go to meta.quality_result."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from catalog.register import Register
from catalog.system_tables import ensure_system_tables
from models.loader import create_macros
from quality.data_docs import DataDocsStore
from quality.gx_bridge import ExpectationResult, validate
from quality.metrics import metric_suite, record_metrics
from quality.specs import DIMENSIONS, SuiteSpec, load_suite, suite_from_dict
from quality.structural import structural_suites

SUITES_DIR = Path(__file__).parent / "suites"
Progress = Callable[[str], None]


def load_suites(register: Register, suites_dir: Path = SUITES_DIR, gx: bool = True) -> list[SuiteSpec]:
    """Every suite, in run order: ODS structure, pool business rules, metric bands (`gx` as in
    `suite_from_dict`)."""
    suites = [suite_from_dict(d, source=f"register ({d['target']})", gx=gx) for d in structural_suites(register)]
    suites += [load_suite(p, gx=gx) for p in sorted(suites_dir.glob("*.yaml"))]
    suites.append(suite_from_dict(metric_suite(), source="quality/metrics.py", gx=gx))
    return suites


@dataclass
class QualityRun:
    run_id: str
    run_at: datetime
    biz_date: date | None = None  # the business date whose partitions were checked
    results: list[tuple[SuiteSpec, ExpectationResult]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed_errors(self) -> list[tuple[SuiteSpec, ExpectationResult]]:
        return [(s, r) for s, r in self.results if not r.success and r.severity == "error"]

    @property
    def failed_warnings(self) -> list[tuple[SuiteSpec, ExpectationResult]]:
        return [(s, r) for s, r in self.results if not r.success and r.severity == "warn"]

    def dimension_scores(self) -> dict[str, float]:
        """Share of passed checks per GB/T 36344 dimension, over all tables."""
        totals: dict[str, list[int]] = {d: [0, 0] for d in DIMENSIONS}
        for _, r in self.results:
            totals[r.dimension][0] += r.success
            totals[r.dimension][1] += 1
        return {d: (p / t if t else 1.0) for d, (p, t) in totals.items()}


def run_checks(con: duckdb.DuckDBPyConnection, register: Register, suites: list[SuiteSpec] | None = None,
               biz_date: date | None = None, deadline_hours: float = 6.0, batch_rows: int = 500_000,
               progress: Progress | None = None, record: bool = True,
               data_docs: DataDocsStore | None = None) -> QualityRun:
    """Validate every suite and record the results. `biz_date` picks the ODS partition checked
    (default: each table's newest); a delivery is on time when it lands by `deadline_hours`
    past midnight Asia/Shanghai the day after its business date. `record` first stores the
    metric history the band checks read (the Dagster checks leave that to meta/delivery_log).
    `data_docs` keeps each suite's merged results for GX Data Docs."""
    ensure_system_tables(con)
    create_macros(con)  # the relations use the cleansing rules (sap_amount, …)
    if record:
        record_metrics(con, register)
    con.execute("SET VARIABLE quality_biz_date = ?::DATE", [biz_date])
    con.execute("SET VARIABLE delivery_deadline = to_microseconds(?::BIGINT)", [int(deadline_hours * 3600e6)])
    if biz_date is None and con.execute("SELECT count(*) FROM information_schema.tables WHERE "
                                        "table_schema = 'meta' AND table_name = 'batch'").fetchone()[0]:
        biz_date = con.execute("SELECT max(biz_date) FROM meta.batch").fetchone()[0]
    run = QualityRun(run_id=uuid.uuid4().hex[:12], run_at=datetime.now(UTC).replace(tzinfo=None),
                     biz_date=biz_date)
    started = time.perf_counter()
    for i, suite in enumerate(suites if suites is not None else load_suites(register), start=1):
        t0 = time.perf_counter()
        results = validate(con, suite, batch_rows=batch_rows, data_docs=data_docs)
        run.results += [(suite, r) for r in results]
        if progress:
            failed = [r.expectation_id for r in results if not r.success]
            progress(f"[{i}] {suite.name:<24} {len(results) - len(failed):>3}/{len(results)} passed"
                     f"  ({time.perf_counter() - t0:.1f} s)" + (f"  failed: {', '.join(failed)}" if failed else ""))
    run.seconds = time.perf_counter() - started
    _store(con, run)
    return run


def checked_column(result: ExpectationResult) -> str | None:
    """The table column a result is about: a relation column `<COLUMN>__<check>` reports on
    <COLUMN> (quality.structural); any other column is taken as named."""
    if result.column and "__" in result.column:
        return result.column.split("__", 1)[0]
    return result.column


def _store(con: duckdb.DuckDBPyConnection, run: QualityRun) -> None:
    rows = [[run.run_id, run.run_at, s.name, s.target, r.expectation_id, r.expectation_type, checked_column(r),
             r.dimension, r.severity, r.success, json.dumps(r.observed_value, ensure_ascii=False, default=str),
             r.element_count, r.unexpected_count, r.unexpected_percent,
             json.dumps(r.unexpected_examples, ensure_ascii=False, default=str), r.exception,
             r.description_zh, r.description_en, run.biz_date] for s, r in run.results]
    con.begin()
    try:
        con.executemany("INSERT INTO meta.quality_result VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.commit()
    except BaseException:
        con.rollback()
        raise
