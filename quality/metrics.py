"""Metric history beyond pass/fail: row counts, amount sums and null rates per table and
business date, and the band that today's value is judged against.

Rule (simple and explainable): a metric of a table on its newest business date is compared
with the same metric on the trailing business dates of the same day type (working day or
weekend: postings drop at weekends), at most 30 of them and at least 4. The first business date
of a table (the initial load, with years of history) is never part of a band. The band is
median ± max(3 × 1.4826 × MAD, 10% of |median|): robust to one odd day, never zero-width.
Outside the band → a `warn` result. Public holidays are not modelled.
"""

from __future__ import annotations

import duckdb

from catalog.register import Register, Table
from catalog.system_tables import ensure_system_tables

MIN_HISTORY = 4
WINDOW = 30


def record_metrics(con: duckdb.DuckDBPyConnection, register: Register) -> int:
    """Compute the metrics of every business date still in ODS and upsert them; row counts of
    every delivery come from meta.batch (FULL tables keep only their latest snapshot in ODS)."""
    ensure_system_tables(con)
    exists = {r[0] for r in con.execute(
        "SELECT 'ods.' || table_name FROM information_schema.tables WHERE table_schema = 'ods'").fetchall()}
    rows = 0
    for t in register.tables:
        if f"ods.{t.ods_name}" in exists:
            rows += _upsert(con, _aggregate_sql(t))
    rows += _upsert(con, """
        SELECT 'ods.' || lower(table_name), biz_date, 'row_count', sum(rows)::DOUBLE
        FROM meta.batch b WHERE status = 'loaded'
          AND recorded_at = (SELECT max(recorded_at) FROM meta.batch l WHERE l.status = 'loaded'
                             AND l.table_name = b.table_name AND l.biz_date = b.biz_date)
        GROUP BY ALL""")
    return rows


def _aggregate_sql(table: Table) -> str:
    ods = f"ods.{table.ods_name}"
    metrics = []
    for c in table.columns:
        if c.type == "CURR":
            metrics.append((f"sum:{c.name}", f"sum(sap_amount({c.name}))::DOUBLE"))
        if c.required:
            metrics.append((f"null_rate:{c.name}", f"avg(({c.name} IS NULL OR trim({c.name}) = '')::INTEGER)"))
    if not metrics:
        return f"SELECT '{ods}', NULL::DATE, NULL, NULL WHERE false"
    cols = ", ".join(f"{expr} AS \"{name}\"" for name, expr in metrics)
    unpivot = ", ".join(f'"{name}"' for name, _ in metrics)
    return (f"UNPIVOT (SELECT '{ods}' AS table_name, _biz_date AS biz_date, {cols} FROM {ods} GROUP BY _biz_date) "
            f"ON {unpivot} INTO NAME metric VALUE value")


def _upsert(con: duckdb.DuckDBPyConnection, select_sql: str) -> int:
    con.execute(f"CREATE OR REPLACE TEMP TABLE _metrics AS {select_sql}")
    n = con.execute("SELECT count(*) FROM _metrics").fetchone()[0]
    con.execute("INSERT OR REPLACE INTO meta.quality_metric SELECT * FROM _metrics")
    con.execute("DROP TABLE _metrics")
    return n


BAND_RELATION = f"""
WITH typed AS (
    SELECT *, isodow(biz_date) >= 6 AS weekend,
           biz_date = min(biz_date) OVER (PARTITION BY table_name) AS initial_load
    FROM meta.quality_metric
),
ordered AS (
    SELECT *, row_number() OVER (PARTITION BY table_name, metric, weekend ORDER BY biz_date) AS n
    FROM typed WHERE NOT initial_load
),
history AS (
    SELECT o.table_name, o.metric, o.biz_date, o.value,
           list(h.value ORDER BY h.biz_date) FILTER (WHERE h.value IS NOT NULL) AS history_values
    FROM ordered o
    LEFT JOIN ordered h ON h.table_name = o.table_name AND h.metric = o.metric AND h.weekend = o.weekend
         AND h.n BETWEEN o.n - {WINDOW} AND o.n - 1
    GROUP BY ALL
),
banded AS (
    SELECT *, list_median(history_values) AS median,
           list_median(list_transform(history_values, lambda x: abs(x - list_median(history_values)))) AS mad
    FROM history
)
SELECT table_name, metric, strftime(biz_date, '%Y%m%d') AS biz_date, value,
       median - greatest(3 * 1.4826 * mad, 0.1 * abs(median)) AS lower,
       median + greatest(3 * 1.4826 * mad, 0.1 * abs(median)) AS upper,
       value BETWEEN median - greatest(3 * 1.4826 * mad, 0.1 * abs(median))
                 AND median + greatest(3 * 1.4826 * mad, 0.1 * abs(median)) AS in_band
FROM banded
WHERE coalesce(len(history_values), 0) >= {MIN_HISTORY}
  AND biz_date = (SELECT max(biz_date) FROM meta.quality_metric m WHERE m.table_name = banded.table_name)
"""


def metric_suite() -> dict:
    """The suite that judges the newest business date of every metric against its band."""
    return {
        "name": "metric_bands", "target": "meta.quality_metric", "default_relation": BAND_RELATION,
        "expectations": [{
            "id": "metric_in_band", "expectation": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "in_band", "value_set": [True]}, "dimension": "完整性", "severity": "warn",
            "description_zh": "最新业务日期的行数、金额合计、空值率落在同类日期（工作日/周末）历史区间内"
                              "（中位数 ± 3×MAD，至少 ±10%）",
            "description_en": "The newest date's row counts, amount sums and null rates lie in the band of "
                              "their trailing history of the same day type (median ± 3·MAD, at least ±10%)",
        }],
    }
