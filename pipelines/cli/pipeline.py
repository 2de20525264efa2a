"""`respool ingest|build|check|publish|summary`: the nightly run, step by step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines import config
from pipelines.cli import render
from pipelines.cli.common import (
    EXIT_IO_ERROR,
    DbOption,
    console,
    err,
    open_db,
    parse_day,
    progress,
    require_loaded,
)

commands = typer.Typer(add_completion=False)


@commands.command()
def ingest(
    landing: Annotated[list[Path] | None, typer.Option(
        help="landing root(s), processed together, oldest business date first; repeatable "
             "(default $RESPOOL_LANDING, else data/landing)")] = None,
    db: DbOption = None,
) -> None:
    """Verify and load every complete delivery; exits 1 when any delivery was refused."""
    from catalog.register import load_register
    from pipelines.ingest.load import DiskFull, Interrupted, stop_on_signals
    from pipelines.ingest.load import ingest as run_ingest

    roots = landing or config.landing_roots(config.default_landing())
    given = set(roots)
    for root in roots:
        # a landing folder must exist; the re-delivery folder below one only once a re-run came
        optional = root.name == config.REDELIVERY_FOLDER and root.parent in given
        if not optional and not root.is_dir():
            err.print(f"[red]没有交付目录 no landing folder at {root}[/red]")
            raise typer.Exit(2)
    register = load_register()
    with open_db(db, create=True) as con, stop_on_signals():
        try:
            report = run_ingest(con, roots, register, progress=progress)
        except Interrupted as exc:
            err.print(f"[red]已中断 {exc}: the delivery in progress was rolled back (meta.batch: interrupted) "
                      f"and is loaded again by the next run[/red]")
            raise typer.Exit(128 + exc.signum) from None
        except DiskFull as exc:
            err.print(f"[red]磁盘已满 {exc}[/red]")
            raise typer.Exit(EXIT_IO_ERROR) from None
    render.ingest_report(report)
    if report.refused:
        raise typer.Exit(1)


@commands.command()
def summary(db: DbOption = None) -> None:
    """Per table: batches and rows loaded, and refused deliveries with their reasons."""
    from catalog.register import load_register
    from pipelines.publish import PublishRefused, read_provenance
    from pipelines.summary import pool_summary, refused_deliveries, table_summaries

    db = db or config.default_db()
    with open_db(db, read_only=True) as con:
        tables = table_summaries(con, load_register())
        refused = refused_deliveries(con)
        pool = pool_summary(con)
    render.ingest_summary(db, tables, refused)
    if pool is not None:
        render.pool(pool)
    target = config.published_db(db)
    try:
        render.publication(db, target, read_provenance(target))
    except PublishRefused as exc:
        err.print(f"[red]已发布快照 published snapshot: {exc}[/red]")


@commands.command()
def build(
    db: DbOption = None,
    select: Annotated[list[str] | None, typer.Option(help="build only these tables, e.g. dwd.dwd_ar_item")] = None,
    tolerance: Annotated[float, typer.Option(help="ERP-YX reconciliation tolerance (CNY)")] = 0.01,
) -> None:
    """Materialise every model in dependency order; print the cleansing reconciliation."""
    from models.build import build as run_build
    from models.loader import ModelError, load_models

    try:
        models = load_models()
    except ModelError as exc:
        err.print(f"[red]模型有误 model error:[/red] {exc}")
        raise typer.Exit(2) from None
    with open_db(db) as con:
        require_loaded(con, db)
        report = run_build(con, models, progress=progress, select=set(select) if select else None,
                           recon_tolerance=tolerance)
    render.build_report(report)
    if report.failed:
        raise typer.Exit(1)


@commands.command()
def check(
    db: DbOption = None,
    on: Annotated[str | None, typer.Option("--date", help="business date whose ODS partition is checked "
                                                           "(default: each table's newest)")] = None,
    deadline_hours: Annotated[float, typer.Option(help="deliveries land by this many hours past midnight "
                                                       "Asia/Shanghai the next day")] = 6.0,
    all_dates: Annotated[bool, typer.Option("--all-dates", help="check every delivered business date in turn, "
                                                               "as the nightly run does for each")] = False,
    manifest: Annotated[Path | None, typer.Option(help="a sample's generation.json: list its defects "
                                                       "with the checks that caught them")] = None,
    docs: Annotated[bool, typer.Option(help="build Great Expectations Data Docs")] = True,
) -> None:
    """质量检查: every suite by GB/T 36344 dimension; exits 1 when an `error` check fails."""
    import json

    from catalog.register import load_register
    from quality.data_docs import DataDocsStore
    from quality.runner import run_checks
    from sample_data.manifest import defects_caught

    register = load_register()
    data_docs = DataDocsStore() if docs else None
    with open_db(db) as con:
        require_loaded(con, db)
        if all_dates:
            dates = [r[0] for r in con.execute("SELECT DISTINCT biz_date FROM meta.batch ORDER BY 1").fetchall()]
        else:
            dates = [parse_day(on) if on else None]
        runs = []
        for i, day in enumerate(dates):
            if day is not None and len(dates) > 1:
                progress(f"— 业务日期 business date {day}")
            # the metric history covers every date at once: record it on the first run only
            runs.append(run_checks(con, register, biz_date=day, deadline_hours=deadline_hours,
                                   progress=progress, record=i == 0, data_docs=data_docs))
    run = runs[-1]
    render.quality_run(run)
    if data_docs is not None:
        index = data_docs.build_data_docs(config.quality_dir(), suites={s.name for s, _ in run.results})
        console.print(f"Data Docs: {index}")
    manifest = manifest or config.default_landing() / "generation.json"
    if manifest.exists():
        failed = {f"{s.name}.{r.expectation_id}" for one in runs for s, r in one.results if not r.success}
        render.defects(defects_caught(json.loads(manifest.read_text(encoding="utf-8")), failed))
    if any(one.failed_errors for one in runs):
        raise typer.Exit(1)


@commands.command()
def publish(
    db: DbOption = None,
    to: Annotated[Path | None, typer.Option(
        help="published snapshot (default $RESPOOL_PUBLISHED_DB, else DIR/published/NAME.duckdb of --db)")] = None,
    replace_source: Annotated[bool, typer.Option(
        "--replace-source", help="replace a snapshot that was published from another database")] = False,
) -> None:
    """Swap in the read-only snapshot analysts query — only when the latest checks passed."""
    from pipelines.publish import PublishRefused
    from pipelines.publish import publish as run_publish

    db = db or config.default_db()
    open_db(db, read_only=True).close()  # missing, damaged or locked: said the way every command says it
    try:
        path = run_publish(db, to or config.published_db(db), replace_source=replace_source)
    except PublishRefused as exc:
        err.print(f"[red]未发布 not published:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"已发布 published {path}")
