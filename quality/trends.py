"""Quality over time: the series of the last checked business dates and their plots (PNG).

A business date's results are those of the latest run of each suite that checked that date
(`DAILY_RESULTS`): the nightly Dagster run validates one suite per step, `respool check` all
suites at once, and a re-run of a date replaces what it re-checked. Three plots: the pass rate
per GB/T 36344 dimension per date, the failing `error`/`warn` checks per date, and the row-count
metric of each ODS table (`meta.quality_metric`). Labels are Chinese first, English beside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from quality.specs import DIMENSIONS

#: Each checked business date's results: the latest run of every suite that checked that date.
DAILY_RESULTS = """
    SELECT r.*
    FROM meta.quality_result r
    JOIN (
        SELECT checked_biz_date, suite, arg_max(run_id, run_at) AS run_id
        FROM meta.quality_result
        WHERE checked_biz_date IS NOT NULL
        GROUP BY ALL
    ) latest USING (checked_biz_date, suite, run_id)
"""

TREND_SQL = f"""
WITH daily AS ({DAILY_RESULTS}),
dates AS (
    SELECT DISTINCT checked_biz_date FROM daily WHERE checked_biz_date <= $until
    ORDER BY checked_biz_date DESC LIMIT $days
)
SELECT checked_biz_date, dimension,
       count(*) FILTER (WHERE success)                          AS passed,
       count(*)                                                  AS total,
       count(*) FILTER (WHERE NOT success AND severity = 'error') AS failed_error,
       count(*) FILTER (WHERE NOT success AND severity = 'warn')  AS failed_warn
FROM daily JOIN dates USING (checked_biz_date)
GROUP BY ALL
ORDER BY checked_biz_date, dimension
"""

ROW_COUNT_SQL = """
WITH dates AS (
    SELECT DISTINCT biz_date FROM meta.quality_metric
    WHERE metric = 'row_count' AND biz_date <= $until
    ORDER BY biz_date DESC LIMIT $days
)
SELECT table_name, biz_date, value
FROM meta.quality_metric JOIN dates USING (biz_date)
WHERE metric = 'row_count' AND table_name LIKE 'ods.%'
ORDER BY table_name, biz_date
"""

WINDOW_DAYS = 30
ERROR_COLOUR, WARN_COLOUR = "#c0392b", "#e6a23c"


@dataclass
class TrendSeries:
    """Per checked business date (oldest first): pass rates, failing counts; row counts per ODS table."""

    dates: list[date] = field(default_factory=list)
    pass_rate: dict[str, list[float | None]] = field(default_factory=dict)  # dimension -> share per date
    failed_error: list[int] = field(default_factory=list)
    failed_warn: list[int] = field(default_factory=list)
    row_counts: dict[str, list[tuple[date, float]]] = field(default_factory=dict)


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
                            "AND table_name = ?", [schema, name]).fetchone()[0])


def dated_results_exist(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether meta.quality_result exists with its checked_biz_date column (a database from
    before that column, opened read-only, has results no business date can be given to)."""
    return bool(con.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'meta' "
                            "AND table_name = 'quality_result' AND column_name = 'checked_biz_date'"
                            ).fetchone()[0])


def trend_series(con: duckdb.DuckDBPyConnection, until: date, days: int = WINDOW_DAYS) -> TrendSeries:
    """The last `days` checked business dates up to `until`, and the row counts of as many dates."""
    series = TrendSeries()
    if not dated_results_exist(con):
        return series
    rows = con.execute(TREND_SQL, {"until": until, "days": days}).fetchall()
    series.dates = sorted({r[0] for r in rows})
    index = {d: i for i, d in enumerate(series.dates)}
    series.pass_rate = {dim: [None] * len(series.dates) for dim in DIMENSIONS}
    series.failed_error = [0] * len(series.dates)
    series.failed_warn = [0] * len(series.dates)
    for day, dim, passed, total, failed_error, failed_warn in rows:
        i = index[day]
        series.pass_rate.setdefault(dim, [None] * len(series.dates))[i] = passed / total if total else None
        series.failed_error[i] += failed_error
        series.failed_warn[i] += failed_warn
    if _table_exists(con, "meta", "quality_metric"):
        for table, day, value in con.execute(ROW_COUNT_SQL, {"until": until, "days": days}).fetchall():
            series.row_counts.setdefault(table, []).append((day, value))
    return series


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never a window
    from matplotlib import pyplot as plt

    from plotting.fonts import use_cjk_font

    use_cjk_font()
    return plt


def _date_axis(ax, dates: list[date]) -> None:
    ax.set_xticks(range(len(dates)))
    ax.set_xticklabels([d.strftime("%m-%d") for d in dates], rotation=45 if len(dates) > 10 else 0,
                       ha="right" if len(dates) > 10 else "center", fontsize=8)
    ax.set_xlim(-0.6, len(dates) - 0.4)


def _empty(ax, text: str = "无数据 no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#888")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_pass_rate(series: TrendSeries, path: Path) -> Path:
    """Pass rate per dimension per checked business date."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=110)
    if series.dates:
        for i, (dim, values) in enumerate(series.pass_rate.items()):
            if all(v is None for v in values):
                continue
            xs = [x for x, v in enumerate(values) if v is not None]
            ys = [100 * v for v in values if v is not None]
            ax.plot(xs, ys, marker="o", markersize=4, linewidth=1.6, color=f"C{i}",
                    label=f"{dim} {DIMENSIONS.get(dim, '')}")
        _date_axis(ax, series.dates)
        ax.set_ylim(min(80.0, *(100 * v for vs in series.pass_rate.values() for v in vs if v is not None)) - 2,
                    101.5)
        ax.set_ylabel("通过率 pass rate (%)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9, frameon=False)
    else:
        _empty(ax)
    ax.set_title("各维度检查通过率 Pass rate per dimension", fontsize=12)
    ax.set_xlabel("业务日期 business date")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_failures(series: TrendSeries, path: Path) -> Path:
    """Failing `error` and `warn` checks per checked business date, stacked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.6), dpi=110)
    if series.dates:
        xs = range(len(series.dates))
        ax.bar(xs, series.failed_error, color=ERROR_COLOUR, label="错误 error（阻断发布 blocks publication）")
        ax.bar(xs, series.failed_warn, bottom=series.failed_error, color=WARN_COLOUR, label="警告 warn")
        for x, e, w in zip(xs, series.failed_error, series.failed_warn, strict=True):
            if e + w:
                ax.text(x, e + w, str(e + w), ha="center", va="bottom", fontsize=8)
            if e:
                ax.text(x, e / 2, str(e), ha="center", va="center", fontsize=8, color="white")
        _date_axis(ax, series.dates)
        top = max((e + w for e, w in zip(series.failed_error, series.failed_warn, strict=True)), default=0)
        ax.set_ylim(0, max(1, top) * 1.18)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel("未通过检查数 failing checks")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper left", fontsize=9, frameon=False)
    else:
        _empty(ax)
    ax.set_title("每日未通过的检查 Failing checks per date", fontsize=12)
    ax.set_xlabel("业务日期 business date")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_row_counts(series: TrendSeries, path: Path) -> Path:
    """The row-count metric of every ODS table per business date, one small panel per table."""
    plt = _pyplot()
    tables = sorted(series.row_counts)
    cols = 4
    rows = max(1, -(-len(tables) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(10, 1.9 * rows + 0.6), dpi=110, squeeze=False)
    dates = sorted({d for points in series.row_counts.values() for d, _ in points})
    index = {d: i for i, d in enumerate(dates)}
    for ax, table in zip(axes.flat, tables, strict=False):
        points = series.row_counts[table]
        xs, ys = [index[d] for d, _ in points], [v for _, v in points]
        top = max(1.0, *ys)
        # the initial load (years of history) would flatten the daily deliveries: clip it, label it
        if len(ys) > 2 and ys[0] > 3 * max(1.0, *ys[1:]):
            top = max(1.0, *ys[1:]) * 1.15
            ax.plot(xs[:2], [top, ys[1]], linestyle=":", linewidth=1.2, color="#999")
            ax.plot([xs[0]], [top], marker="^", markersize=5, color="#999")
            ax.annotate(f"首日全量 initial {ys[0]:,.0f}", (xs[0], top), xytext=(6, 0), textcoords="offset points",
                        fontsize=7, color="#555", va="center")
            xs, ys = xs[1:], ys[1:]
        ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.4, color="#2c6fbb")
        ax.set_title(table, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xticks([0, len(dates) - 1] if len(dates) > 1 else [0])
        ax.set_xticklabels([dates[0].strftime("%m-%d"), dates[-1].strftime("%m-%d")] if len(dates) > 1
                           else [dates[0].strftime("%m-%d")])
        ax.set_xlim(-0.5, max(len(dates) - 0.5, 0.5))
        ax.set_ylim(bottom=0, top=top * 1.15)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(tables):]:
        ax.set_axis_off()
    if not tables:
        _empty(axes.flat[0])
    fig.suptitle("ODS 各表每日行数 Row count per ODS table and business date", fontsize=12)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_trends(series: TrendSeries, out_dir: Path) -> dict[str, Path]:
    """Write the three trend plots into `out_dir`; name -> PNG file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return {
        "pass_rate": plot_pass_rate(series, out_dir / "trend_pass_rate.png"),
        "failures": plot_failures(series, out_dir / "trend_failures.png"),
        "row_counts": plot_row_counts(series, out_dir / "trend_row_counts.png"),
    }
