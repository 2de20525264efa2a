"""`respool report` (质量日报, the daily quality report) and `respool alert` (the alert message of
a checked business date). The work is in `quality.report` and `quality.alerts`, imported when a
command runs, so that `respool` itself starts fast."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from pipelines import config
from pipelines.cli.common import DbOption, open_db, parse_day

commands = typer.Typer(add_completion=False)

DateOption = Annotated[str | None, typer.Option(
    "--date", help="checked business date YYYY-MM-DD (default: the newest checked date)", show_default=False)]


def _say(text: str, error: bool = False) -> None:
    typer.echo(text, err=error)




def _open_read_only(db: Path | None):
    return open_db(db, read_only=True)


def _resolve_day(con, on: str | None) -> date:
    from quality.report_data import newest_checked_date

    day = parse_day(on) if on else newest_checked_date(con)
    if day is None:
        _say("没有检查结果 no quality results yet: run `respool check` first", error=True)
        raise typer.Exit(2)
    return day


@commands.command("report")
def report(
    on: DateOption = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="folder to write into (default <quality dir>/reports/<date>/)", show_default=False)] = None,
    db: DbOption = None,
) -> None:
    """质量日报: HTML + Markdown report of a checked business date, with trend plots."""
    from quality.data_docs import data_docs_index
    from quality.report import report_dir, write_report

    with _open_read_only(db) as con:
        day = _resolve_day(con, on)
        out_dir = out or report_dir(config.quality_dir(), day)
        try:
            files = write_report(con, day, out_dir, docs_index=data_docs_index(config.quality_dir()))
        except LookupError as exc:
            _say(str(exc), error=True)
            raise typer.Exit(2) from None
    _say(f"质量日报 quality report {day}: {files.html}")
    _say(f"Markdown: {files.markdown}")


@commands.command("alert")
def alert(
    on: DateOption = None,
    db: DbOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the message, send nothing")] = False,
) -> None:
    """质量告警: the failing error checks of a checked date, sent to $RESPOOL_ALERT_WEBHOOK (and
    mailed when SMTP is configured); prints the JSON message. Exits 1 when sending fails."""
    from quality.alerts import AlertError, build_message, deliver, failures_from_results, report_link
    from quality.report_data import load_day

    with _open_read_only(db) as con:
        day = _resolve_day(con, on)
        results = load_day(con, day).results
    rows = [vars(r) for r in results]
    failures = failures_from_results(rows)
    if not failures:
        _say(f"{day}: 无错误级检查失败 no failing error checks — nothing to send")
        return
    latest = max(results, key=lambda r: r.run_at)
    payload = build_message(failures, run_id=latest.run_id, run_at=latest.run_at, biz_date=day,
                            report=report_link(day, config.quality_dir()), source="respool check")
    json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    if dry_run:
        return
    try:
        channels = deliver(payload)
    except AlertError as exc:
        _say(f"告警发送失败 alert not delivered: {exc}", error=True)
        raise typer.Exit(1) from None
    _say(f"sent via {', '.join(channels)}" if channels else
         "未配置告警渠道 no channel configured (RESPOOL_ALERT_WEBHOOK, RESPOOL_SMTP_HOST + RESPOOL_ALERT_TO)",
         error=True)
