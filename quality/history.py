"""`meta.quality_result`: the history of every expectation of every quality run."""

from __future__ import annotations

import duckdb


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
