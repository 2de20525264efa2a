"""质量日报 — the daily data-quality report of one business date, as static HTML and Markdown.

The date's results are those of the latest run of each suite that checked it (see
`quality.trends.DAILY_RESULTS`). The report holds a headline (checks, passed, failing by
severity, overall score), the score per table × GB/T 36344 dimension and per dimension, the
failing checks (`error` first) with their examples, trend plots of the last 30 checked dates
and a link to the Great Expectations Data Docs. The HTML is one self-contained file (plots
embedded, no script, no network); the Markdown twin links the PNG files beside it.
Chinese first, English beside.
"""

from __future__ import annotations

import base64
import html
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from quality.specs import DIMENSIONS
from quality.trends import DAILY_RESULTS, WINDOW_DAYS, dated_results_exist, plot_trends, trend_series

REPORT_HTML, REPORT_MD = "report.html", "report.md"
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


@dataclass
class ReportFiles:
    html: Path
    markdown: Path
    plots: dict[str, Path]


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


def report_dir(quality_dir: Path, biz_date: date) -> Path:
    """Where the report of a business date goes by default: `<quality_dir>/reports/<date>/`."""
    return quality_dir / "reports" / biz_date.isoformat()


def report_relpath(biz_date: date | str | None) -> str:
    """The report's path relative to the quality folder (a URL path under RESPOOL_REPORT_URL_BASE)."""
    if biz_date is None:
        return "reports/"
    day = biz_date.isoformat() if isinstance(biz_date, date) else str(biz_date)
    return f"reports/{day}/{REPORT_HTML}"


def data_docs_index(quality_dir: Path) -> Path:
    """GX Data Docs' index as `quality.gx_bridge.build_data_docs` writes it."""
    return quality_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def write_report(con: duckdb.DuckDBPyConnection, biz_date: date, out_dir: Path,
                 docs_index: Path | None = None, days: int = WINDOW_DAYS) -> ReportFiles:
    """Write report.html, report.md and the trend PNGs of `biz_date` into `out_dir`."""
    day = load_day(con, biz_date)
    if not day.results:
        raise LookupError(f"没有检查结果 no quality results for business date {biz_date} "
                          "(respool check --date … records them)")
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = plot_trends(trend_series(con, biz_date, days), out_dir)
    docs_link = None
    if docs_index is not None and docs_index.exists():
        docs_link = Path(os.path.relpath(docs_index.resolve(), out_dir.resolve())).as_posix()
    generated = datetime.now(UTC)
    html_path = out_dir / REPORT_HTML
    html_path.write_text(render_html(day, plots, docs_link, generated, days), encoding="utf-8")
    md_path = out_dir / REPORT_MD
    md_path.write_text(render_markdown(day, plots, docs_link, generated, days), encoding="utf-8")
    return ReportFiles(html_path, md_path, plots)


# ---------------------------------------------------------------- shared wording


def _local(ts: datetime) -> str:
    """A naive UTC timestamp (as meta.quality_result stores it) in Asia/Shanghai."""
    aware = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
    return aware.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _pct(passed: int, total: int) -> str:
    return f"{passed / total:.1%}" if total else "—"


def _scalar_text(value: object) -> str:
    if isinstance(value, str):
        # dates reach GX as midnight timestamps; the time says nothing
        return value.removesuffix("T00:00:00")
    return json.dumps(value, ensure_ascii=False, default=str)


def _example_text(value: object, limit: int = 120) -> str:
    """An example value or row: `a=1, b=x` for a row, `x, y` for a pair, the value otherwise."""
    if isinstance(value, dict):
        text = ", ".join(f"{k}={_scalar_text(v)}" for k, v in value.items())
    elif isinstance(value, list | tuple):
        text = ", ".join(_scalar_text(v) for v in value)
    else:
        text = _scalar_text(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _examples(r: CheckResult) -> list[str]:
    shown = [_example_text(v) for v in r.examples[:MAX_EXAMPLES]]
    if not shown and r.exception:
        shown = [_example_text(r.exception.splitlines()[0], 200)]
    return shown


def _verdict(day: QualityDay) -> tuple[str, str]:
    errors = day.failed("error")
    if errors:
        return "blocked", f"阻断发布：{errors} 项错误级检查未通过 — {errors} error check(s) failed, publication is blocked"
    return "ok", "无错误级检查失败，可发布 — no error check failed, publication may proceed"


# ---------------------------------------------------------------- HTML

CSS = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
       "Helvetica Neue", Arial, sans-serif; color: #1f2933; margin: 0; background: #f5f7fa; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #e4e7eb; }
.en { color: #616e7c; font-weight: normal; }
.sub { color: #616e7c; font-size: 13px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 18px 0 10px; }
.card { flex: 1 1 150px; border: 1px solid #e4e7eb; border-radius: 8px; padding: 10px 14px; }
.card .n { font-size: 28px; font-weight: 600; }
.card .l { font-size: 13px; color: #52606d; }
.card.c-good .n { color: #1e7b3c; } .card.c-err.hot .n { color: #c0392b; } .card.c-warn.hot .n { color: #b7791f; }
.card.c-err.hot { background: #fbe3e1; border-color: #f1b7b0; }
.card.c-warn.hot { background: #fdf1dc; border-color: #f3d39b; }
.banner { padding: 10px 14px; border-radius: 6px; font-weight: 600; }
.banner.ok { background: #e3f4e8; color: #1e7b3c; } .banner.blocked { background: #fbe3e1; color: #a12a1c; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border: 1px solid #e4e7eb; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f0f4f8; font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.cell, th.cell { text-align: center; white-space: nowrap; }
table.failing { table-layout: fixed; }
td code { overflow-wrap: anywhere; }
ul.ex li { overflow-wrap: anywhere; }
.pass { background: #e3f4e8; color: #1e7b3c; } .warn { background: #fdf1dc; color: #8a5a00; }
.error { background: #fbe3e1; color: #a12a1c; font-weight: 600; } .na { color: #9aa5b1; }
.bar { background: #e4e7eb; border-radius: 3px; height: 10px; width: 180px; display: inline-block; }
.bar span { display: block; height: 10px; border-radius: 3px; background: #3e8e5e; }
.sev { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px; white-space: nowrap; }
.sev.error { background: #c0392b; color: #fff; } .sev.warn { background: #e6a23c; color: #fff; }
code, .ex { font-family: "JetBrains Mono", Consolas, monospace; font-size: 12px; }
ul.ex { margin: 0; padding-left: 16px; }
figure { margin: 14px 0 24px; } figure img { max-width: 100%; border: 1px solid #e4e7eb; }
figcaption { font-size: 13px; color: #52606d; }
details summary { cursor: pointer; font-weight: 600; margin: 8px 0; }
footer { margin-top: 36px; font-size: 12px; color: #7b8794; }
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _code(identifier: object) -> str:
    """An identifier as code that may wrap after `_` and `.` only."""
    return "<code>" + _e(identifier).replace("_", "_<wbr>").replace(".", ".<wbr>") + "</code>"


def _h2(zh: str, en: str) -> str:
    return f"<h2>{_e(zh)} <span class='en'>{_e(en)}</span></h2>"


def _img(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _dimension_table(day: QualityDay) -> str:
    rows = []
    for dim, (p, t) in day.dimension_scores().items():
        width = 100 * p / t if t else 0
        rows.append(f"<tr><td>{_e(dim)} <span class='en'>{_e(DIMENSIONS[dim])}</span></td>"
                    f"<td class='num'>{p}/{t}</td><td class='num'>{_pct(p, t)}</td>"
                    f"<td><span class='bar'><span style='width:{width:.1f}%'></span></span></td></tr>")
    return ("<table style='width:auto'><tr><th>维度 dimension</th><th class='num'>通过/总数 passed/total</th>"
            "<th class='num'>得分 score</th><th></th></tr>" + "".join(rows) + "</table>")


def _matrix_table(day: QualityDay) -> str:
    head = "".join(f"<th class='cell'>{_e(d)}<br><span class='en'>{_e(en)}</span></th>" for d, en in DIMENSIONS.items())
    rows = []
    for table, dims in day.matrix().items():
        cells = []
        for dim in DIMENSIONS:
            if dim not in dims:
                cells.append("<td class='cell na'>—</td>")
                continue
            p, t, worst = dims[dim]
            cls = worst or "pass"
            cells.append(f"<td class='cell {cls}' title='{_pct(p, t)}'>{p}/{t}</td>")
        p = sum(v[0] for v in dims.values())
        t = sum(v[1] for v in dims.values())
        rows.append(f"<tr><td><code>{_e(table)}</code></td>{''.join(cells)}"
                    f"<td class='num'>{_pct(p, t)}</td></tr>")
    return (f"<table><tr><th>表 table</th>{head}<th class='num'>得分 score</th></tr>{''.join(rows)}</table>"
            "<p class='sub'>单元格：通过/总数；绿色全部通过，橙色有警告级未通过，红色有错误级未通过 — "
            "cells: passed/total; green all passed, amber a warn check failed, red an error check failed.</p>")


def _failing_table(day: QualityDay) -> str:
    failing = day.failing
    if not failing:
        return "<p class='banner ok'>全部检查通过 — every check passed</p>"
    rows = []
    for r in failing:
        examples = "".join(f"<li>{_e(x)}</li>" for x in _examples(r))
        count = "" if r.unexpected_count is None else f"{r.unexpected_count:,}"
        if r.unexpected_percent is not None and r.unexpected_count:
            count += f"<br><span class='sub'>{r.unexpected_percent:.2f}%</span>"
        rows.append(
            f"<tr><td><span class='sev {r.severity}'>{'错误 error' if r.severity == 'error' else '警告 warn'}</span></td>"
            f"<td>{_code(r.target_table)}</td>"
            f"<td>{_code(r.check_id)}{'<br><span class=sub>列 column ' + _e(r.column_name) + '</span>' if r.column_name else ''}</td>"
            f"<td>{_e(r.dimension)}<br><span class='en'>{_e(DIMENSIONS.get(r.dimension, ''))}</span></td>"
            f"<td class='num'>{count}</td><td><ul class='ex'>{examples}</ul></td>"
            f"<td>{_e(r.description_zh)}<br><span class='en'>{_e(r.description_en)}</span></td></tr>")
    widths = "".join(f"<col style='width:{w}%'>" for w in (8, 13, 21, 9, 8, 18, 23))
    return (f"<table class='failing'><colgroup>{widths}</colgroup><tr><th>级别 severity</th><th>表 table</th><th>检查 check</th><th>维度 dimension</th>"
            "<th class='num'>异常数<br>unexpected</th><th>示例 examples</th><th>说明 description</th></tr>"
            + "".join(rows) + "</table>")


def _all_checks(day: QualityDay) -> str:
    rows = "".join(
        f"<tr><td class='cell {'pass' if r.success else r.severity}'>{'✓' if r.success else '✗'}</td>"
        f"<td><code>{_e(r.target_table)}</code></td><td><code>{_e(r.check_id)}</code></td>"
        f"<td>{_e(r.dimension)}</td><td>{_e(r.severity)}</td>"
        f"<td class='num'>{'' if r.unexpected_count is None else r.unexpected_count}</td>"
        f"<td>{_e(r.description_zh)}</td></tr>" for r in day.results)
    return (f"<details><summary>全部 {len(day.results)} 项检查 All {len(day.results)} checks</summary>"
            "<table><tr><th></th><th>表 table</th><th>检查 check</th><th>维度</th><th>级别</th>"
            f"<th class='num'>异常数</th><th>说明</th></tr>{rows}</table></details>")


def render_html(day: QualityDay, plots: dict[str, Path], docs_link: str | None, generated: datetime,
                days: int = WINDOW_DAYS) -> str:
    """The report as one self-contained HTML page (plots embedded as data URIs)."""
    state, verdict = _verdict(day)
    errors, warns = day.failed("error"), day.failed("warn")
    cards = (
        f"<div class='card'><div class='n'>{len(day.results)}</div><div class='l'>检查数 checks run</div></div>"
        f"<div class='card c-good'><div class='n'>{day.passed}</div><div class='l'>通过 passed</div></div>"
        f"<div class='card c-err{' hot' if errors else ''}'><div class='n'>{errors}</div>"
        "<div class='l'>错误级未通过 failed error</div></div>"
        f"<div class='card c-warn{' hot' if warns else ''}'><div class='n'>{warns}</div>"
        "<div class='l'>警告级未通过 failed warn</div></div>"
        f"<div class='card'><div class='n'>{day.score:.1%}</div><div class='l'>综合得分 overall score</div></div>")
    figures = "".join(
        f"<figure><img src='{_img(path)}' alt='{_e(PLOT_TITLES.get(name, name))}'>"
        f"<figcaption>{_e(PLOT_TITLES.get(name, name))} — <a href='{_e(path.name)}'>{_e(path.name)}</a>"
        "</figcaption></figure>" for name, path in plots.items())
    docs = (f"<p><a href='{_e(docs_link)}'>Great Expectations Data Docs</a>（每个套件的最近一次校验明细 — "
            f"each suite's latest validation in detail）: <code>{_e(docs_link)}</code></p>" if docs_link else
            "<p class='sub'>GX Data Docs 尚未生成 not built yet (<code>respool check</code> builds them).</p>")
    runs = "".join(f"<li><code>{_e(rid)}</code> {_e(_local(at))} ({n} 套件 suites)</li>" for rid, at, n in day.runs)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>数据质量日报 {day.biz_date} Data quality daily report</title>
<style>{CSS}</style></head>
<body><main>
<h1>数据质量日报 <span class="en">Data quality daily report</span></h1>
<p class="sub">业务日期 business date <b>{day.biz_date}</b> · 生成于 generated {_e(_local(generated))} (Asia/Shanghai)
· 应收应付资源池 respool</p>
<div class="cards">{cards}</div>
<p class="banner {state}">{_e(verdict)}</p>
{_h2("各维度得分", "Score per dimension (GB/T 36344)")}
{_dimension_table(day)}
{_h2("表 × 维度得分", "Score per table and dimension")}
{_matrix_table(day)}
{_h2("未通过的检查", "Failing checks (error first)")}
{_failing_table(day)}
{_h2("趋势", f"Trends over the last {days} checked business dates")}
{figures}
{_h2("校验明细", "Validation details")}
{docs}
{_all_checks(day)}
<footer>质量运行 quality runs (Asia/Shanghai): <ul>{runs}</ul>
得分 = 通过的检查数 / 检查总数 — score = passed checks / checks run.</footer>
</main></body></html>
"""


# ---------------------------------------------------------------- Markdown


def _md(value: object) -> str:
    """A Markdown table cell: one line, pipes escaped."""
    return " ".join(str("" if value is None else value).split()).replace("|", "\\|")


def render_markdown(day: QualityDay, plots: dict[str, Path], docs_link: str | None, generated: datetime,
                    days: int = WINDOW_DAYS) -> str:
    """The Markdown twin of the report; plots are linked PNG files beside it."""
    _, verdict = _verdict(day)
    lines = [
        f"# 数据质量日报 Data quality daily report — {day.biz_date}",
        "",
        f"业务日期 business date **{day.biz_date}** · 生成于 generated {_local(generated)} (Asia/Shanghai)",
        "",
        f"- 检查数 checks run: **{len(day.results)}**",
        f"- 通过 passed: **{day.passed}**",
        f"- 未通过 failed: **错误 error {day.failed('error')}**, 警告 warn {day.failed('warn')}",
        f"- 综合得分 overall score: **{day.score:.1%}**",
        "",
        f"> {verdict}",
        "",
        "## 各维度得分 Score per dimension (GB/T 36344)",
        "",
        "| 维度 dimension | 通过/总数 passed/total | 得分 score |",
        "|---|---:|---:|",
    ]
    lines += [f"| {dim} {DIMENSIONS[dim]} | {p}/{t} | {_pct(p, t)} |" for dim, (p, t) in day.dimension_scores().items()]
    lines += ["", "## 表 × 维度得分 Score per table and dimension", "",
              "✅ 全部通过 all passed · ⚠️ 警告级未通过 a warn check failed · ❌ 错误级未通过 an error check failed",
              "",
              "| 表 table | " + " | ".join(f"{d} {en}" for d, en in DIMENSIONS.items()) + " | 得分 score |",
              "|---|" + "---:|" * (len(DIMENSIONS) + 1)]
    marks = {"": "✅", "warn": "⚠️", "error": "❌"}
    for table, dims in day.matrix().items():
        cells = [f"{marks[dims[d][2]]} {dims[d][0]}/{dims[d][1]}" if d in dims else "—" for d in DIMENSIONS]
        p, t = sum(v[0] for v in dims.values()), sum(v[1] for v in dims.values())
        lines.append(f"| `{table}` | " + " | ".join(cells) + f" | {_pct(p, t)} |")
    lines += ["", "## 未通过的检查 Failing checks (error first)", ""]
    if day.failing:
        lines += ["| 级别 severity | 表 table | 检查 check | 维度 dimension | 异常数 unexpected | 示例 examples | 说明 description |",
                  "|---|---|---|---|---:|---|---|"]
        for r in day.failing:
            examples = "; ".join(f"`{_md(x)}`" for x in _examples(r))
            count = "" if r.unexpected_count is None else f"{r.unexpected_count:,}"
            lines.append(f"| {'❌ error' if r.severity == 'error' else '⚠️ warn'} | `{r.target_table}` | "
                         f"`{r.check_id}` | {r.dimension} {DIMENSIONS.get(r.dimension, '')} | {count} | {examples} | "
                         f"{_md(r.description_zh)} — {_md(r.description_en)} |")
    else:
        lines.append("全部检查通过 — every check passed.")
    lines += ["", f"## 趋势 Trends over the last {days} checked business dates", ""]
    lines += [f"![{PLOT_TITLES.get(name, name)}]({path.name})\n" for name, path in plots.items()]
    lines += ["## 校验明细 Validation details", ""]
    lines.append(f"[Great Expectations Data Docs]({docs_link})" if docs_link else
                 "GX Data Docs 尚未生成 not built yet (`respool check` builds them).")
    lines += ["", "质量运行 quality runs (Asia/Shanghai):", ""]
    lines += [f"- `{rid}` {_local(at)} ({n} 套件 suites)" for rid, at, n in day.runs]
    return "\n".join(lines) + "\n"
