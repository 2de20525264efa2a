"""Query guard latency: the median time to parse, check and rewrite one analyst query.

Runs serve.guard.guard over the test corpus (tests/test_guard.py: every refusal kind and every
confinement path) plus a few longer analyst queries, each query 25 times, and prints the median
per query (target under 5 ms) with the 90th percentile and the slowest query.

    .venv/bin/python -m benchmarks.guard   (also the last steps of `make bench`)
"""

from __future__ import annotations

import statistics
import sys
import time

from serve.guard import QueryRefused, guard
from tests.test_guard import CONFINED, REFUSALS, database, published_schema

TARGET_MS = 5.0
REPEATS = 25
CODES = frozenset({"3301"})

_AGED = ", ".join(f"sum(CASE WHEN bucket = '{b}' THEN amount_lc END) AS b{i}"
                  for i, b in enumerate(["未到期", "1-30", "31-60", "61-90", "91-180", "181-365", "365+"]))
LONGER = [
    # an aging report by customer: two macros, three CTEs, joins, window and set operation
    f"""WITH ar AS (SELECT * FROM ar_aging(DATE '2026-10-31', 'due')),
         sg AS (SELECT bukrs, kunnr, sum(amount_lc) AS special FROM ar_special_gl(DATE '2026-10-31') GROUP BY ALL),
         by_customer AS (SELECT bukrs, kunnr, {_AGED}, sum(amount_lc) AS total FROM ar GROUP BY ALL)
    SELECT c.name1, b.*, coalesce(sg.special, 0) AS special,
           rank() OVER (PARTITION BY b.bukrs ORDER BY b.total DESC) AS rank_in_company
    FROM by_customer b
    JOIN dim.dim_customer c USING (kunnr)
    LEFT JOIN sg USING (bukrs, kunnr)
    WHERE b.total > 0 AND EXISTS (SELECT 1 FROM dwd.dwd_ar_item i WHERE i.kunnr = b.kunnr AND i.augdt IS NULL)
    UNION ALL
    SELECT '合计', bukrs, NULL, {_AGED.replace('bucket', 'a.bucket')}, sum(amount_lc), NULL, NULL
    FROM ar a GROUP BY bukrs
    ORDER BY 2, 3""",
    # receivables against payables of the same partner, FROM-first, comments
    """-- 同一伙伴的应收应付对冲
    FROM dwd.dwd_ar_item r /* 应收 */
    JOIN dwd.dwd_ap_item p ON p.bukrs = r.bukrs AND replace(p.lifnr, 'V', '') = r.kunnr
    SELECT r.bukrs, r.kunnr, sum(r.amount_lc) AS ar, sum(p.amount_lc) AS ap
    WHERE r.budat BETWEEN DATE '2026-01-01' AND DATE '2026-10-31'
    GROUP BY ALL QUALIFY row_number() OVER (PARTITION BY r.bukrs ORDER BY ar DESC) <= 10""",
]


def _time(sql: str, schema) -> float:
    started = time.perf_counter()
    try:
        guard(sql, schema, CODES)
    except QueryRefused:
        pass
    return (time.perf_counter() - started) * 1000


def _medians(queries: list[str], schema) -> list[tuple[float, str]]:
    return sorted((statistics.median(_time(sql, schema) for _ in range(REPEATS)), sql) for sql in queries)


def main() -> int:
    schema = published_schema(database(None))
    accepted = [sql for _, sql in CONFINED] + LONGER
    refused = [sql for sql, _, _ in REFUSALS]
    for sql in accepted + refused:  # warm-up: imports, dialect and parser caches
        _time(sql, schema)
    rewritten, refusals = _medians(accepted, schema), _medians(refused, schema)
    everything = sorted(rewritten + refusals)
    median = statistics.median(ms for ms, _ in everything)
    print(f"query guard: {len(everything)} queries x {REPEATS} runs (parse + check + rewrite + re-parse check)")
    for label, timings in (("all", everything), ("rewritten", rewritten), ("refused", refusals)):
        ms = [m for m, _ in timings]
        print(f"  {label:<10} median {statistics.median(ms):6.2f} ms   p90 {ms[int(0.9 * (len(ms) - 1))]:6.2f} ms"
              f"   max {ms[-1]:6.2f} ms  ({len(ms)} queries)")
    slowest_ms, slowest = everything[-1]
    print(f"  slowest: {slowest_ms:.2f} ms, {' '.join(slowest.split())[:80]}…")
    print(f"  median per query {median:.2f} ms: {'OK' if median < TARGET_MS else 'ABOVE'} "
          f"(target < {TARGET_MS:.0f} ms)")
    return 0 if median < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
