"""The daily quality report (质量日报) as one self-contained HTML page.

`render_html` lays out a `quality.report_data.QualityDay`: the headline cards and publication
verdict, the score per GB/T 36344 dimension and per table × dimension, the failing checks
(`error` first) with their examples, the trend plots embedded as data URIs, a link to the Great
Expectations Data Docs and every check of the date. No script, no network; the style sheet is
`quality/report.css`, inlined into the page.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime
from pathlib import Path

from quality.report_data import PLOT_TITLES, QualityDay, local_time, pct, publication_verdict, shown_examples
from quality.specs import DIMENSIONS
from quality.trends import WINDOW_DAYS

CSS_FILE = Path(__file__).with_name("report.css")


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
                    f"<td class='num'>{p}/{t}</td><td class='num'>{pct(p, t)}</td>"
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
            cells.append(f"<td class='cell {cls}' title='{pct(p, t)}'>{p}/{t}</td>")
        p = sum(v[0] for v in dims.values())
        t = sum(v[1] for v in dims.values())
        rows.append(f"<tr><td><code>{_e(table)}</code></td>{''.join(cells)}"
                    f"<td class='num'>{pct(p, t)}</td></tr>")
    return (f"<table><tr><th>表 table</th>{head}<th class='num'>得分 score</th></tr>{''.join(rows)}</table>"
            "<p class='sub'>单元格：通过/总数；绿色全部通过，橙色有警告级未通过，红色有错误级未通过 — "
            "cells: passed/total; green all passed, amber a warn check failed, red an error check failed.</p>")


def _failing_table(day: QualityDay) -> str:
    failing = day.failing
    if not failing:
        return "<p class='banner ok'>全部检查通过 — every check passed</p>"
    rows = []
    for r in failing:
        examples = "".join(f"<li>{_e(x)}</li>" for x in shown_examples(r))
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
    state, verdict = publication_verdict(day)
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
    runs = "".join(f"<li><code>{_e(rid)}</code> {_e(local_time(at))} ({n} 套件 suites)</li>" for rid, at, n in day.runs)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>数据质量日报 {day.biz_date} Data quality daily report</title>
<style>
{CSS_FILE.read_text(encoding='utf-8')}</style></head>
<body><main>
<h1>数据质量日报 <span class="en">Data quality daily report</span></h1>
<p class="sub">业务日期 business date <b>{day.biz_date}</b> · 生成于 generated {_e(local_time(generated))} (Asia/Shanghai)
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
