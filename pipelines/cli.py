"""`respool`: the one entry point for people and scripts."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable

from pipelines import config
from pipelines.cli_common import DbOption, parse_day
from pipelines.cli_lineage import commands as lineage_commands
from pipelines.cli_quality import commands as quality_commands

# Commands import what they need when they run: `respool aging` answers in well under a second.

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="respool — 应收应付资源池 (AR/AP resource pool) pipeline")
register_app = typer.Typer(no_args_is_help=True, help="回流表清单 the return-table register")
app.add_typer(register_app, name="register")
# wide tables stay readable when the output goes to a file or a pipe
console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)



def _progress(line: str) -> None:
    err.print(line, highlight=False)


@register_app.command("show")
def register_show(table: Annotated[str | None, typer.Argument(help="table code, e.g. BSEG")] = None) -> None:
    """Print the register, or one table with its columns."""
    from catalog.register import RegisterError, load_register

    try:
        register = load_register()
    except RegisterError as exc:
        err.print(f"[red]回流表清单有误 register is malformed:[/red] {exc}")
        raise typer.Exit(2) from None
    if table is None:
        out = RichTable(title="回流表清单 Return-table register")
        for col in ("系统 System", "表 Table", "中文名", "English", "加载 Mode", "主键 Key", "列数", "责任人 Owner"):
            out.add_column(col)
        for t in register.tables:
            out.add_row(t.system, t.code, t.name_zh, t.name_en, t.mode, ", ".join(t.key),
                        str(len(t.columns)), t.owner)
        console.print(out)
        return
    try:
        t = register.table(table)
    except KeyError as exc:
        err.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None
    console.print(f"[bold]{t.label}[/bold]  {t.mode}  {t.encoding}  ods.{t.ods_name}\n{t.purpose}")
    out = RichTable()
    for col in ("#", "字段 Field", "中文描述", "English", "SAP 类型", "主键", "必填"):
        out.add_column(col)
    for i, c in enumerate(t.columns, start=1):
        out.add_row(str(i), c.name, c.zh, c.en, c.sap_type, "✓" if c.in_key else "", "✓" if c.required else "")
    console.print(out)


@register_app.command("guide")
def register_guide(
    out: Annotated[Path, typer.Option(help="Markdown file to write")] = Path("docs/回流指导手册.md"),
) -> None:
    """Write the 回流指导手册 (return guide) from the register."""
    from catalog.guide import render_guide
    from catalog.register import load_reference, load_register

    text = render_guide(load_register(), load_reference())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"回流指导手册 written to {out} ({len(text.splitlines())} lines)")




@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="landing folder to write into")],
    days: Annotated[int, typer.Option(min=1, help="number of business dates")] = 7,
    scale: Annotated[float, typer.Option(min=0.001, help="1 ≈ 100,000 BSEG lines in all")] = 1.0,
    seed: Annotated[int, typer.Option(help="random seed; same seed, same files")] = 1,
    start: Annotated[str, typer.Option(help="first business date")] = "2026-10-26",
    rows_per_file: Annotated[int, typer.Option(min=1, help="split data files after this many rows")] = 50000,
    clean: Annotated[bool, typer.Option("--clean", help="write no deliberate defects")] = False,
) -> None:
    """Write sample deliveries per the delivery contract (with documented deliberate defects)."""
    from sample_data.generator import generate as run_generator

    manifest = run_generator(out, days=days, scale=scale, seed=seed, start=parse_day(start),
                             rows_per_file=rows_per_file, defects=not clean, progress=_progress)
    n_defects = len(manifest.get("defects", []))
    console.print(f"generated {days} business dates under {out} ({n_defects} deliberate defects, "
                  f"see {out / 'generation.json'})")


@app.command()
def ingest(
    landing: Annotated[list[Path] | None, typer.Option(
        help="landing root(s), processed together, oldest business date first; repeatable "
             "(default $RESPOOL_LANDING, else data/landing)")] = None,
    db: DbOption = None,
) -> None:
    """Verify and load every complete delivery; exits 1 when any delivery was refused."""
    from pipelines.db import connect
    from pipelines.ingest import ingest as run_ingest

    roots = landing or [config.default_landing()]
    from catalog.register import load_register

    register = load_register()
    con = connect(db or config.default_db())
    try:
        report = run_ingest(con, roots, register, progress=_progress)
    finally:
        con.close()
    loaded = [o for o in report.outcomes if o.status == "loaded"]
    console.print(f"{len(report.outcomes)} deliveries: {len(loaded)} loaded ({report.loaded_rows:,} rows), "
                  f"{len(report.refused)} refused, "
                  f"{sum(o.status == 'unchanged' for o in report.outcomes)} unchanged, "
                  f"{sum(o.status == 'skipped' for o in report.outcomes)} skipped")
    for o in report.refused:
        console.print(f"[red]拒收 refused[/red] {o.biz_date} {o.system}.{o.table}: {o.reason}", highlight=False)
    if report.refused:
        raise typer.Exit(1)


@app.command()
def summary(db: DbOption = None) -> None:
    """Per table: batches and rows loaded, and refused deliveries with their reasons."""
    from catalog.register import load_register
    from pipelines.summary import pool_summary, refused_deliveries, table_summaries

    db = db or config.default_db()
    con = _open(db, read_only=True)
    try:
        tables = table_summaries(con, load_register())
        refused = refused_deliveries(con)
        pool = pool_summary(con)
    finally:
        con.close()
    out = RichTable(title=f"回流数据加载汇总 Ingest summary — {db}")
    for col in ("系统", "表 Table", "中文名", "批次 Batches", "加载行数 Rows loaded", "ODS 现存行数",
                "拒收 Refused", "跳过 Skipped", "最新业务日期"):
        out.add_column(col, justify="right" if col[0] in "批加O拒跳" else "left")
    for s in tables:
        out.add_row(s.system, s.table, s.name_zh, str(s.batches_loaded), f"{s.rows_loaded:,}",
                    f"{s.rows_in_ods:,}", str(s.refused), str(s.skipped), s.last_biz_date)
    console.print(out)
    if refused:
        out = RichTable(title="拒收的交付 Refused deliveries")
        for col in ("业务日期", "表 Table", "规则 Rule", "原因 Reason"):
            out.add_column(col)
        for r in refused:
            out.add_row(r.biz_date, f"{r.system}.{r.table}", r.rule, r.reason)
        console.print(out)
    if pool is not None:
        _print_pool(pool)
    _print_publication(db)


def _print_publication(db: Path) -> None:
    from pipelines.publish import PublishRefused, read_provenance

    target = config.published_db(db)
    try:
        made = read_provenance(target)
    except PublishRefused as exc:
        err.print(f"[red]已发布快照 published snapshot: {exc}[/red]")
        return
    if made is None:
        state = "尚未发布 not published yet" if not target.exists() else "无来源记录 no provenance recorded"
        console.print(f"已发布快照 published snapshot {target}: {state}", highlight=False)
        return
    other = "" if Path(made.source_db) == db.resolve() else "  [yellow]（来自另一个数据库 from another database）[/yellow]"
    console.print(f"已发布快照 published snapshot {target}: 来源 source {made.source_db}{other}, "
                  f"业务日期 business date {made.biz_date}, 发布于 published {made.published_at:%Y-%m-%d %H:%M:%S} UTC"
                  f" (quality run {made.quality_run_id})", highlight=False)


def _print_pool(pool) -> None:
    out = RichTable(title=f"应收应付资源池 AR/AP resource pool — 未清 open at {pool.key_date}")
    for col in ("", "未清项目 open items", "普通项目 ordinary", "特殊总账 special G/L", "备查项 noted items"):
        out.add_column(col, justify="right" if col else "left")
    for name, n, ordinary, special, noted in pool.ledgers:
        out.add_row(name, f"{n:,}", f"{ordinary:,.2f}", f"{special:,.2f}", f"{noted:,.2f}")
    console.print(out)
    for name, n, amount in pool.left_open:
        console.print(f"[yellow]{name}: {n:,} 项离开未清快照但无清账证据 items left the open-items snapshot with no "
                      f"clearing delivered ({amount:,.2f}), kept open — see check left_snapshot_without_clearing[/yellow]",
                      highlight=False)
    out = RichTable(title=f"账龄（到期日口径）aging by due date at {pool.key_date}")
    for col in ("", "账龄段 bucket", "金额 amount"):
        out.add_column(col, justify="right" if col.startswith("金额") else "left")
    for name, bucket, amount in pool.aging:
        out.add_row(name, bucket, f"{amount:,.2f}")
    console.print(out)
    console.print(f"营销-财务对账 ERP vs YX: {pool.recon_rows} company-months, {len(pool.recon)} beyond tolerance")
    for bukrs, month, yx, erp, diff, status in pool.recon:
        console.print(f"  [red]{bukrs} {month}[/red] YX {yx:,.2f} ERP {erp:,.2f} 差异 {diff:,.2f}  {status}",
                      highlight=False)
    if pool.quarantined:
        console.print("隔离区 quarantine: " + "; ".join(f"{t} {reason} ×{n}" for t, reason, n in pool.quarantined))


def _open(db: Path | None, read_only: bool = False):
    from pipelines.db import connect

    path = db or config.default_db()
    try:
        return connect(path, read_only=read_only)
    except (FileNotFoundError, OSError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@app.command()
def build(
    db: DbOption = None,
    select: Annotated[list[str] | None, typer.Option(help="build only these tables, e.g. dwd.dwd_ar_item")] = None,
    tolerance: Annotated[float, typer.Option(help="ERP-YX reconciliation tolerance (CNY)")] = 0.01,
) -> None:
    """Materialise every model in dependency order; print the cleansing reconciliation."""
    from models.loader import ModelError, load_models
    from pipelines.build import build as run_build

    try:
        models = load_models()
    except ModelError as exc:
        err.print(f"[red]模型有误 model error:[/red] {exc}")
        raise typer.Exit(2) from None
    con = _open(db)
    try:
        report = run_build(con, models, progress=_progress, select=set(select) if select else None,
                           recon_tolerance=tolerance)
    finally:
        con.close()
    out = RichTable(title="清洗对账 Cleansing reconciliation: rows in = kept + superseded + quarantined")
    for col in ("ODS 表", "清洗模型 model", "输入 in", "保留 kept", "被替代 superseded", "隔离 quarantined", "平衡"):
        out.add_column(col, justify="right" if col[0] in "输保被隔" else "left")
    for r in report.reconciliations:
        out.add_row(r.ods_table, r.model, f"{r.rows_in:,}", f"{r.kept:,}", f"{r.superseded:,}",
                    f"{r.quarantined:,}", "✓" if r.balanced else "✗")
    console.print(out)
    built = sum(r.status == "built" for r in report.results)
    console.print(f"{built}/{len(report.results)} models built")
    for r in report.failed:
        console.print(f"[red]{r.status}[/red] {r.model}: {r.error}", highlight=False)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def aging(
    ledger: Annotated[str, typer.Option(help="ar (应收) or ap (应付)")] = "ar",
    as_of: Annotated[str, typer.Option("--as-of", help="key date YYYY-MM-DD")] = "",
    basis: Annotated[str, typer.Option(help="due (到期日) or posting (过账日)")] = "due",
    by: Annotated[str, typer.Option(help="company, or customer/vendor/partner")] = "company",
    fmt: Annotated[str, typer.Option("--format", help="table or csv")] = "table",
    drill: Annotated[tuple[str, str] | None, typer.Option(help="BUKRS BUCKET: list the items behind a figure")] = None,
    partner: Annotated[str | None, typer.Option(help="with --drill: only this customer/vendor")] = None,
    db: DbOption = None,
) -> None:
    """Aging at any key date (open ordinary items), or the items behind one figure."""
    from models.pool import LEDGERS, aging_items
    from models.pool import aging as run_aging

    if ledger not in LEDGERS:
        raise typer.BadParameter("--ledger must be ar or ap")
    if basis not in ("due", "posting"):
        raise typer.BadParameter("--basis must be due or posting")
    if by not in ("company", "customer", "vendor", "partner"):
        raise typer.BadParameter("--by must be company, customer, vendor or partner")
    if fmt not in ("table", "csv"):
        raise typer.BadParameter("--format must be table or csv")
    key_date = parse_day(as_of) if as_of else date.today()
    partner_col = LEDGERS[ledger][1]
    con = _open(db, read_only=True)
    try:
        if drill:
            items = aging_items(con, ledger, key_date, basis, drill[0], drill[1], partner)
        else:
            rows = run_aging(con, ledger, key_date, basis, by_partner=by != "company")
    finally:
        con.close()
    if drill:
        header = ["bukrs", partner_col, "gjahr", "belnr", "buzei", "hkont", "blart", "budat", "net_due_date",
                  "days_past_due", "days_since_posting", "bucket", "amount_lc"]
        total = sum((i[-1] for i in items), 0)
        if fmt == "csv":
            print(",".join(header))
            for i in items:
                print(",".join("" if v is None else (f"{v:.2f}" if k == "amount_lc" else str(v))
                               for k, v in zip(header, i, strict=True)))
            return
        out = RichTable(title=f"{'应收' if ledger == 'ar' else '应付'}账龄明细 {drill[0]} {drill[1]} @ {key_date} ({basis})")
        for col in header:
            out.add_column(col, justify="right" if col == "amount_lc" else "left")
        for i in items:
            out.add_row(*["" if v is None else (f"{v:,.2f}" if k == "amount_lc" else str(v))
                          for k, v in zip(header, i, strict=True)])
        console.print(out)
        console.print(f"{len(items)} items, 合计 total {total:,.2f}")
        return
    cols = ["bukrs", *([partner_col] if by != "company" else []), "bucket", "amount_lc"]
    if fmt == "csv":
        print(",".join(cols))
        for r in rows:
            values = [r.bukrs, *([r.partner] if by != "company" else []), r.bucket, f"{r.amount_lc:.2f}"]
            print(",".join(values))
        return
    out = RichTable(title=f"{'应收' if ledger == 'ar' else '应付'}账龄 aging @ {key_date}, basis {basis}")
    for col in [*cols, "items"]:
        out.add_column(col, justify="right" if col in ("amount_lc", "items") else "left")
    for r in rows:
        out.add_row(r.bukrs, *([r.partner or ""] if by != "company" else []), r.bucket, f"{r.amount_lc:,.2f}",
                    str(r.item_count))
    console.print(out)
    console.print(f"合计 total {sum(r.amount_lc for r in rows):,.2f}")


@app.command()
def voucher(
    bukrs: Annotated[str, typer.Argument(help="company code")],
    gjahr: Annotated[str, typer.Argument(help="fiscal year")],
    belnr: Annotated[str, typer.Argument(help="document number")],
    db: DbOption = None,
) -> None:
    """凭证穿透: a document's header and all its lines."""
    from models.pool import voucher as find_voucher

    con = _open(db, read_only=True)
    try:
        v = find_voucher(con, bukrs, gjahr, belnr)
    finally:
        con.close()
    if v.header is None and not v.lines:
        err.print(f"[red]凭证不存在 no document {bukrs}/{gjahr}/{belnr}[/red]")
        raise typer.Exit(1)
    if v.header is None:
        console.print(f"[yellow]凭证抬头缺失 header (BKPF) missing for {bukrs}/{gjahr}/{belnr}[/yellow]")
    else:
        h = v.header
        console.print(f"[bold]凭证 {h['bukrs']}/{h['gjahr']}/{h['belnr']}[/bold]  类型 {h['blart']}  "
                      f"凭证日期 {h['bldat']}  过账日期 {h['budat']}  期间 {h['monat']}  {h['tcode']}  "
                      f"{h['usnam']}  {h['bktxt'] or ''}", highlight=False)
        if v.reversal_partner:
            p = v.reversal_partner
            role = "被冲销 reversed by" if not h["is_reversal"] else "冲销 reverses"
            console.print(f"{role} {p['bukrs']}/{p['gjahr']}/{p['belnr']} ({p['blart']}, {p['budat']})")
    out = RichTable()
    cols = ["buzei", "bschl", "koart", "shkzg", "hkont", "account_name_zh", "kunnr", "lifnr", "umskz",
            "amount_lc", "sgtxt", "zfbdt", "zterm", "augdt", "augbl"]
    for col in cols:
        out.add_column(col, justify="right" if col == "amount_lc" else "left")
    for line in v.lines:
        out.add_row(*["" if line[c] is None else (f"{line[c]:,.2f}" if c == "amount_lc" else str(line[c]))
                      for c in cols])
    console.print(out)
    state = "平衡 balanced" if v.balance == 0 else f"[red]不平衡 unbalanced by {v.balance:,.2f}[/red]"
    console.print(f"{len(v.lines)} lines, {state}")


@app.command()
def recon(
    tolerance: Annotated[float, typer.Option(help="largest difference accepted (CNY)")] = 0.01,
    fmt: Annotated[str, typer.Option("--format", help="table or csv")] = "table",
    db: DbOption = None,
) -> None:
    """营销-财务对账 ERP vs YX receivables per company and month; exits 1 beyond the tolerance."""
    from models.pool import reconciliation

    con = _open(db, read_only=True)
    try:
        rows = reconciliation(con)
    finally:
        con.close()
    over = [r for r in rows if abs(r["difference"]) > tolerance]
    cols = ["bukrs", "bill_month", "yx_billed", "erp_posted", "difference", "yx_bills", "erp_documents", "status"]
    if fmt == "csv":
        print(",".join(cols))
        for r in rows:
            print(",".join(str(r[c]) for c in cols))
    else:
        out = RichTable(title=f"营销-财务应收对账 ERP vs YX (tolerance {tolerance:.2f})")
        for col in cols:
            out.add_column(col, justify="right" if col in cols[2:7] else "left")
        for r in rows:
            style = "red" if abs(r["difference"]) > tolerance else None
            out.add_row(*[f"{r[c]:,.2f}" if c in cols[2:5] else str(r[c]) for c in cols], style=style)
        console.print(out)
        console.print(f"{len(rows)} company-months, {len(over)} beyond tolerance")
    if over:
        raise typer.Exit(1)


@app.command()
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
    import json as _json

    from catalog.register import load_register
    from quality.runner import run_checks
    from quality.sample_defects import defects_caught

    register = load_register()
    con = _open(db)
    try:
        if all_dates:
            dates = [r[0] for r in con.execute("SELECT DISTINCT biz_date FROM meta.batch ORDER BY 1").fetchall()]
        else:
            dates = [parse_day(on) if on else None]
        runs = []
        for i, day in enumerate(dates):
            if day is not None and len(dates) > 1:
                _progress(f"— 业务日期 business date {day}")
            # the metric history covers every date at once: record it on the first run only
            runs.append(run_checks(con, register, biz_date=day, deadline_hours=deadline_hours,
                                   progress=_progress, record=i == 0))
    finally:
        con.close()
    run = runs[-1]
    _print_quality(run)
    if docs:
        from quality.gx_bridge import build_data_docs

        index = build_data_docs(config.quality_dir(), suites={s.name for s, _ in run.results})
        console.print(f"Data Docs: {index}")
    manifest = manifest or config.default_landing() / "generation.json"
    if manifest.exists():
        failed = {f"{s.name}.{r.expectation_id}" for one in runs for s, r in one.results if not r.success}
        out = RichTable(title="样例数据中的故意缺陷 Deliberate defects of the sample and the checks that caught them")
        for col in ("代码", "缺陷 defect", "表 table", "业务日期", "发现于 caught by"):
            out.add_column(col)
        for d, caught in defects_caught(_json.loads(manifest.read_text(encoding="utf-8")), failed):
            out.add_row(d["code"], d["kind"], d["table"], d["biz_date"],
                        ", ".join(caught) if caught else "[yellow]未在本次检查中发现 not caught in this run[/yellow]")
        console.print(out)
    if any(one.failed_errors for one in runs):
        raise typer.Exit(1)


def _print_quality(run) -> None:
    from quality.specs import DIMENSIONS

    out = RichTable(title=f"数据质量 Quality run {run.run_id} — {len(run.results)} checks in {run.seconds:.1f} s")
    out.add_column("维度 dimension")
    out.add_column("得分 score", justify="right")
    for dim, score in run.dimension_scores().items():
        out.add_row(f"{dim} {DIMENSIONS[dim]}", f"{score:.1%}")
    console.print(out)
    failed = run.failed_errors + run.failed_warnings
    if failed:
        out = RichTable(title="未通过的检查 Failing checks (error blocks publication)")
        for col in ("级别", "表 table", "检查 check", "维度", "异常数", "示例 examples", "说明"):
            out.add_column(col)
        for suite, r in failed:
            examples = ", ".join(str(x) for x in r.unexpected_examples[:3]) or (r.exception or "")[:80]
            out.add_row("[red]error[/red]" if r.severity == "error" else "warn", suite.target,
                        f"{suite.name}.{r.expectation_id}", r.dimension,
                        "" if r.unexpected_count is None else str(r.unexpected_count), examples, r.description_zh)
        console.print(out)
    console.print(f"{len(run.failed_errors)} error, {len(run.failed_warnings)} warn checks failing")


@app.command()
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
    try:
        path = run_publish(db, to or config.published_db(db), replace_source=replace_source)
    except PublishRefused as exc:
        err.print(f"[red]未发布 not published:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"已发布 published {path}")


app.add_typer(lineage_commands)  # respool lineage …, respool trace
app.add_typer(quality_commands)  # respool report, respool alert


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":
    main()
