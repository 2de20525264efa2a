"""The data of the daily quality report (质量日报): the results of one checked business date.

`load_day` reads them from meta.quality_result: those of the latest run of each suite that
checked the date (see `quality.trends.DAILY_RESULTS`). `QualityDay` holds them with the figures
the report shows (score per dimension, per table × dimension, failing checks `error` first), and
the wording below is what the HTML (`quality.report_html`) and Markdown (`quality.report_markdown`)
renderings say alike: local times, percentages, example values and the publication verdict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import duckdb

from quality.specs import DIMENSIONS
from quality.trends import DAILY_RESULTS, dated_results_exist

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MAX_EXAMPLES = 5

DAY_SQL = f"""
WITH daily AS ({DAILY_RESULTS})
SELECT suite, target_table, expectation_id, expectation_type, column_name, dimension, severity, success,
       element_count, unexpected_count, unexpected_percent, examples, exception,
       description_zh, description_en, run_id, run_at
FROM daily
WHERE checked_biz_date = ?
ORDER BY target_table, suite, expectation_id
"""

PLOT_TITLES = {
    "pass_rate": "各维度通过率 Pass rate per dimension",
    "failures": "每日未通过的检查 Failing checks per date",
    "row_counts": "ODS 各表每日行数 Row count per ODS table",
}


@dataclass(frozen=True)
class CheckResult:
    """One expectation's result in the report."""

    suite: str
    target_table: str
    expectation_id: str
    expectation_type: str
    column_name: str | None
    dimension: str
    severity: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    examples: list
    exception: str | None
    description_zh: str
    description_en: str
    run_id: str
    run_at: datetime

    @property
    def check_id(self) -> str:
        """`suite.expectation_id`, as `respool check` names it (Dagster: `suite__expectation_id`)."""
        return f"{self.suite}.{self.expectation_id}"


@dataclass
class QualityDay:
    """The results of one checked business date, with the figures the report shows."""

    biz_date: date
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(r.success for r in self.results)

    @property
    def failing(self) -> list[CheckResult]:
        """Failing checks, `error` first, then by table and check."""
        return sorted((r for r in self.results if not r.success),
                      key=lambda r: (r.severity != "error", r.target_table, r.check_id))

    def failed(self, severity: str) -> int:
        return sum(not r.success and r.severity == severity for r in self.results)

    @property
    def score(self) -> float:
        """Share of the checks that passed."""
        return self.passed / len(self.results) if self.results else 1.0

    def dimension_scores(self) -> dict[str, tuple[int, int]]:
        """Per dimension (all six, in GB/T 36344 order): (passed, total)."""
        out = {d: (0, 0) for d in DIMENSIONS}
        for r in self.results:
            p, t = out.get(r.dimension, (0, 0))
            out[r.dimension] = (p + r.success, t + 1)
        return out

    def matrix(self) -> dict[str, dict[str, tuple[int, int, str]]]:
        """Per target table and dimension: (passed, total, worst failing severity or '')."""
        out: dict[str, dict[str, tuple[int, int, str]]] = {}
        for r in sorted(self.results, key=lambda r: r.target_table):
            p, t, worst = out.setdefault(r.target_table, {}).get(r.dimension, (0, 0, ""))
            if not r.success and worst != "error":
                worst = r.severity
            out[r.target_table][r.dimension] = (p + r.success, t + 1, worst)
        return out

    @property
    def runs(self) -> list[tuple[str, datetime, int]]:
        """The quality runs the date's results come from: (run_id, run_at UTC, suites)."""
        runs: dict[str, tuple[datetime, set[str]]] = {}
        for r in self.results:
            runs.setdefault(r.run_id, (r.run_at, set()))[1].add(r.suite)
        return sorted(((rid, at, len(suites)) for rid, (at, suites) in runs.items()), key=lambda x: x[1])


def newest_checked_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The newest business date any quality run checked; None before the first run."""
    if not dated_results_exist(con):
        return None
    return con.execute("SELECT max(checked_biz_date) FROM meta.quality_result").fetchone()[0]


def load_day(con: duckdb.DuckDBPyConnection, biz_date: date) -> QualityDay:
    """The results of the latest run of each suite that checked `biz_date`."""
    day = QualityDay(biz_date)
    if not dated_results_exist(con):
        return day
    cur = con.execute(DAY_SQL, [biz_date])
    names = [d[0] for d in cur.description]
    for row in cur.fetchall():
        values = dict(zip(names, row, strict=True))
        values["examples"] = _json_list(values["examples"])
        values["description_zh"] = values["description_zh"] or ""
        values["description_en"] = values["description_en"] or ""
        day.results.append(CheckResult(**values))
    return day


def _json_list(text: str | None) -> list:
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return [text]
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------- shared wording


def local_time(ts: datetime) -> str:
    """A naive UTC timestamp (as meta.quality_result stores it) in Asia/Shanghai."""
    aware = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
    return aware.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def pct(passed: int, total: int) -> str:
    return f"{passed / total:.1%}" if total else "—"


def _scalar_text(value: object) -> str:
    if isinstance(value, str):
        # dates reach GX as midnight timestamps; the time says nothing
        return value.removesuffix("T00:00:00")
    return json.dumps(value, ensure_ascii=False, default=str)


def example_text(value: object, limit: int = 120) -> str:
    """An example value or row: `a=1, b=x` for a row, `x, y` for a pair, the value otherwise."""
    if isinstance(value, dict):
        text = ", ".join(f"{k}={_scalar_text(v)}" for k, v in value.items())
    elif isinstance(value, list | tuple):
        text = ", ".join(_scalar_text(v) for v in value)
    else:
        text = _scalar_text(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_examples(r: CheckResult) -> list[str]:
    shown = [example_text(v) for v in r.examples[:MAX_EXAMPLES]]
    if not shown and r.exception:
        shown = [example_text(r.exception.splitlines()[0], 200)]
    return shown


def publication_verdict(day: QualityDay) -> tuple[str, str]:
    errors = day.failed("error")
    if errors:
        return "blocked", f"阻断发布：{errors} 项错误级检查未通过 — {errors} error check(s) failed, publication is blocked"
    return "ok", "无错误级检查失败，可发布 — no error check failed, publication may proceed"
