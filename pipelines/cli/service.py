"""`respool query` and `respool serve`: the analysts' data service — the same query guard on the
command line and over HTTP, always against the published snapshot."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipelines import config
from pipelines.cli.common import console, err

commands = typer.Typer(add_completion=False)

SnapshotOption = Annotated[Path | None, typer.Option(
    "--snapshot", help="published snapshot (default $RESPOOL_PUBLISHED_DB, else the default database's)",
    show_default=False)]


@commands.command()
def query(
    sql: Annotated[str, typer.Argument(help="one read-only query, e.g. \"SELECT bukrs, sum(amount_lc) FROM "
                                            "dwd.dwd_ar_item GROUP BY 1\"")],
    org: Annotated[str | None, typer.Option(help="organisation (机构) code whose company codes are visible")] = None,
    all_orgs: Annotated[bool, typer.Option("--all-orgs", help="every organisation (the auditor's view)")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or xlsx")] = "table",
    out: Annotated[Path | None, typer.Option(help="write to this file (needed for xlsx)")] = None,
    max_rows: Annotated[int, typer.Option(min=1, help="row cap")] = 100_000,
    timeout: Annotated[float, typer.Option(help="seconds before the query is stopped")] = 30.0,
    snapshot: SnapshotOption = None,
) -> None:
    """只读查询 a read-only query through the query guard, scoped to one organisation; exits 1 when
    the guard refuses it (with the reason), 2 on bad options."""
    from catalog.register import load_reference
    from serve.guard import QueryRefused, guard
    from serve.snapshot import QueryTimeout, SnapshotMissing, SnapshotPool, read_catalog, run

    if fmt not in ("table", "csv", "json", "xlsx"):
        raise typer.BadParameter("--format must be table, csv, json or xlsx")
    if fmt == "xlsx" and out is None:
        raise typer.BadParameter("--format xlsx needs --out FILE")
    if (org is None) == (not all_orgs):
        err.print("[red]give --org ORG or --all-orgs[/red]")
        raise typer.Exit(2)
    codes = None
    if org is not None:
        reference = load_reference()
        found = next((o for o in reference.organisations if o.code == org), None)
        if found is None:
            err.print(f"[red]未知机构 unknown organisation {org!r}: "
                      f"{', '.join(o.code for o in reference.organisations)}[/red]")
            raise typer.Exit(2)
        codes = frozenset(found.company_codes)
    pool = SnapshotPool(snapshot or config.published_db())
    try:
        with pool.cursor() as cur:
            guarded = guard(sql, read_catalog(cur), codes, max_rows=max_rows)
            result = run(cur, guarded.sql, max_rows=max_rows, timeout_s=timeout)
    except QueryRefused as exc:
        err.print(f"[red]查询被拒绝 query refused:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except QueryTimeout as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    except SnapshotMissing as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    except Exception as exc:  # the guard let it through, DuckDB refused it (a missing column, a type error)
        err.print(f"[red]查询失败 query failed:[/red] {str(exc).strip().splitlines()[0]}", highlight=False)
        raise typer.Exit(1) from None
    finally:
        pool.close()
    _write(result, fmt, out, org or "all", sql)
    if result.truncated:
        err.print(f"[yellow]结果已截断 truncated at {max_rows:,} rows[/yellow]")


def _write(result, fmt: str, out: Path | None, who: str, sql: str) -> None:
    from rich.table import Table as RichTable

    if fmt == "xlsx":
        from serve.excel import Sheet, workbook
        from serve.labels import column_labels

        data = workbook([Sheet("查询结果 query", result.columns, result.rows, column_labels())],
                        [("查询 query", sql), ("机构 organisation", who), ("行数 rows", len(result.rows)),
                         ("已截断 truncated", "是 yes" if result.truncated else "否 no")])
        out.write_bytes(data)
        console.print(f"{len(result.rows):,} rows → {out}")
        return
    stream = out.open("w", encoding="utf-8", newline="") if out else sys.stdout
    try:
        if fmt == "csv":
            writer = csv.writer(stream)
            writer.writerow(result.columns)
            writer.writerows([["" if v is None else v for v in row] for row in result.rows])
        elif fmt == "json":
            json.dump({"columns": result.columns, "rows": result.rows, "truncated": result.truncated}, stream,
                      ensure_ascii=False, default=str)
            stream.write("\n")
        else:
            table = RichTable()
            for column in result.columns:
                table.add_column(column)
            for row in result.rows:
                table.add_row(*["" if v is None else str(v) for v in row])
            console.print(table)
            console.print(f"{len(result.rows):,} rows")
    finally:
        if out:
            stream.close()


@commands.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    snapshot: SnapshotOption = None,
    cache_mb: Annotated[int, typer.Option(min=0, help="answers kept per published snapshot, in MB (0: none)")] = 64,
) -> None:
    """统一数据服务 the HTTP API (OpenAPI at /docs) over the published snapshot."""
    import uvicorn

    from serve.app import Settings, create_app
    from serve.labels import load_docs

    settings = Settings(snapshot=snapshot or config.published_db(), access_db=config.default_access_db(),
                        audit_log=config.default_audit_log(), catalog_site=config.catalog_dir(), cache_mb=cache_mb)
    console.print(f"统一数据服务 data service on http://{host}:{port}/ (API docs /docs), snapshot {settings.snapshot}")
    uvicorn.run(create_app(settings, docs=load_docs()), host=host, port=port, log_level="info")
