"""The daily quality report (质量日报) as Markdown, the twin of the HTML page.

`render_markdown` gives the same sections as `quality.report_html` for a
`quality.report_data.QualityDay`, in Markdown tables; the trend plots are linked PNG files
beside the report instead of embedded.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from quality.report_data import PLOT_TITLES, QualityDay, local_time, pct, publication_verdict, shown_examples
from quality.specs import DIMENSIONS
from quality.trends import WINDOW_DAYS


def _md(value: object) -> str:
    """A Markdown table cell: one line, pipes escaped."""
    return " ".join(str("" if value is None else value).split()).replace("|", "\\|")


def render_markdown(day: QualityDay, plots: dict[str, Path], docs_link: str | None, generated: datetime,
                    days: int = WINDOW_DAYS) -> str:
    """The Markdown twin of the report; plots are linked PNG files beside it."""
    _, verdict = publication_verdict(day)
    lines = [
        f"# 数据质量日报 Data quality daily report — {day.biz_date}",
        "",
        f"业务日期 business date **{day.biz_date}** · 生成于 generated {local_time(generated)} (Asia/Shanghai)",
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
    lines += [f"| {dim} {DIMENSIONS[dim]} | {p}/{t} | {pct(p, t)} |" for dim, (p, t) in day.dimension_scores().items()]
    lines += ["", "## 表 × 维度得分 Score per table and dimension", "",
              "✅ 全部通过 all passed · ⚠️ 警告级未通过 a warn check failed · ❌ 错误级未通过 an error check failed",
              "",
              "| 表 table | " + " | ".join(f"{d} {en}" for d, en in DIMENSIONS.items()) + " | 得分 score |",
              "|---|" + "---:|" * (len(DIMENSIONS) + 1)]
    marks = {"": "✅", "warn": "⚠️", "error": "❌"}
    for table, dims in day.matrix().items():
        cells = [f"{marks[dims[d][2]]} {dims[d][0]}/{dims[d][1]}" if d in dims else "—" for d in DIMENSIONS]
        p, t = sum(v[0] for v in dims.values()), sum(v[1] for v in dims.values())
        lines.append(f"| `{table}` | " + " | ".join(cells) + f" | {pct(p, t)} |")
    lines += ["", "## 未通过的检查 Failing checks (error first)", ""]
    if day.failing:
        lines += ["| 级别 severity | 表 table | 检查 check | 维度 dimension | 异常数 unexpected | 示例 examples | 说明 description |",
                  "|---|---|---|---|---:|---|---|"]
        for r in day.failing:
            examples = "; ".join(f"`{_md(x)}`" for x in shown_examples(r))
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
    lines += [f"- `{rid}` {local_time(at)} ({n} 套件 suites)" for rid, at, n in day.runs]
    return "\n".join(lines) + "\n"
