"""`meta.quality_result`: the history of every expectation of every quality run."""

from __future__ import annotations

import duckdb

QUALITY_DDL = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.quality_result (
    run_id             VARCHAR   NOT NULL,
    run_at             TIMESTAMP NOT NULL,
    suite              VARCHAR   NOT NULL,
    target_table       VARCHAR   NOT NULL,   -- e.g. ods.bseg, dwd.dwd_ar_item
    expectation_id     VARCHAR   NOT NULL,
    expectation_type   VARCHAR   NOT NULL,
    column_name        VARCHAR,              -- the checked column, NULL for table-level checks
    dimension          VARCHAR   NOT NULL,   -- 规范性 完整性 准确性 一致性 时效性 可访问性
    severity           VARCHAR   NOT NULL,   -- error | warn
    success            BOOLEAN   NOT NULL,
    observed_value     VARCHAR,              -- JSON
    element_count      BIGINT,
    unexpected_count   BIGINT,
    unexpected_percent DOUBLE,
    examples           VARCHAR,              -- JSON list of a few unexpected values or rows
    exception          VARCHAR,
    description_zh     VARCHAR,
    description_en     VARCHAR,
    checked_biz_date   DATE                  -- the business-date partition the run checked
);
ALTER TABLE meta.quality_result ADD COLUMN IF NOT EXISTS checked_biz_date DATE;
"""


def ensure_quality_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(QUALITY_DDL)


def latest_results(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The results of the latest run of each suite (none before the first run; read-only safe)."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables "
                         "WHERE table_schema = 'meta' AND table_name = 'quality_result'").fetchone()[0]
    if not exists:
        return []
    cur = con.execute(
        """
        SELECT r.* FROM meta.quality_result r
        JOIN (SELECT suite, max(run_at) AS run_at FROM meta.quality_result GROUP BY suite) l
          USING (suite, run_at)
        ORDER BY r.target_table, r.expectation_id
        """
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
