"""质量日报 — the daily data-quality report of one business date, as static HTML and Markdown.

The date's results are those of the latest run of each suite that checked it (see
`quality.trends.DAILY_RESULTS`). The report holds a headline (checks, passed, failing by
severity, overall score), the score per table × GB/T 36344 dimension and per dimension, the
failing checks (`error` first) with their examples, trend plots of the last 30 checked dates
and a link to the Great Expectations Data Docs. The HTML is one self-contained file (plots
embedded, no script, no network); the Markdown twin links the PNG files beside it.
Chinese first, English beside.

This module writes both files and says where they go; the results are loaded by
`quality.report_data`, and rendered by `quality.report_html` and `quality.report_markdown`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from quality.report_data import load_day
from quality.report_html import render_html
from quality.report_markdown import render_markdown
from quality.trends import WINDOW_DAYS, plot_trends, trend_series

REPORT_HTML, REPORT_MD = "report.html", "report.md"


@dataclass
class ReportFiles:
    html: Path
    markdown: Path
    plots: dict[str, Path]


def report_dir(quality_dir: Path, biz_date: date) -> Path:
    """Where the report of a business date goes by default: `<quality_dir>/reports/<date>/`."""
    return quality_dir / "reports" / biz_date.isoformat()


def report_relpath(biz_date: date | str | None) -> str:
    """The report's path relative to the quality folder (a URL path under RESPOOL_REPORT_URL_BASE)."""
    if biz_date is None:
        return "reports/"
    day = biz_date.isoformat() if isinstance(biz_date, date) else str(biz_date)
    return f"reports/{day}/{REPORT_HTML}"


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
