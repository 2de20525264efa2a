"""How `respool` shows its results: Rich tables and lines on the console, CSV on stdout.
The commands fetch; these functions only print."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich.table import Table as RichTable

from pipelines.cli.common import console

_LEDGER_ZH = {"ar": "应收", "ap": "应付"}


def _amount(value) -> str:
    return f"{value:,.2f}"


# ---- register -----------------------------------------------------------------------------------

def register(reg) -> None:
    out = RichTable(title="回流表清单 Return-table register")
    for col in ("系统 System", "表 Table", "中文名", "English", "加载 Mode", "主键 Key", "列数", "责任人 Owner"):
        out.add_column(col)
    for t in reg.tables:
        out.add_row(t.system, t.code, t.name_zh, t.name_en, t.mode, ", ".join(t.key), str(len(t.columns)), t.owner)
    console.print(out)


def register_table(t) -> None:
    console.print(f"[bold]{t.label}[/bold]  {t.mode}  {t.encoding}  ods.{t.ods_name}\n{t.purpose}")
    out = RichTable()
    for col in ("#", "字段 Field", "中文描述", "English", "SAP 类型", "主键", "必填"):
        out.add_column(col)
    for i, c in enumerate(t.columns, start=1):
        out.add_row(str(i), c.name, c.zh, c.en, c.sap_type, "✓" if c.in_key else "", "✓" if c.required else "")
    console.print(out)


# ---- pipeline -----------------------------------------------------------------------------------

def ingest_report(report) -> None:
    loaded = [o for o in report.outcomes if o.status == "loaded"]
    console.print(f"{len(report.outcomes)} deliveries: {len(loaded)} loaded ({report.loaded_rows:,} rows), "
                  f"{len(report.refused)} refused, "
                  f"{sum(o.status == 'unchanged' for o in report.outcomes)} unchanged, "
                  f"{sum(o.status == 'skipped' for o in report.outcomes)} skipped")
    for o in report.refused:
        console.print(f"[red]拒收 refused[/red] {o.biz_date} {o.system}.{o.table}: {o.reason}", highlight=False)


def ingest_summary(db: Path, tables, refused) -> None:
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


def pool(summary) -> None:
    out = RichTable(title=f"应收应付资源池 AR/AP resource pool — 未清 open at {summary.key_date}")
    for col in ("", "未清项目 open items", "普通项目 ordinary", "特殊总账 special G/L", "备查项 noted items"):
        out.add_column(col, justify="right" if col else "left")
    for name, n, ordinary, special, noted in summary.ledgers:
        out.add_row(name, f"{n:,}", _amount(ordinary), _amount(special), _amount(noted))
    console.print(out)
    for name, n, amount in summary.left_open:
        console.print(f"[yellow]{name}: {n:,} 项离开未清快照但无清账证据 items left the open-items snapshot with no "
                      f"clearing delivered ({amount:,.2f}), kept open — see check left_snapshot_without_clearing[/yellow]",
                      highlight=False)
    out = RichTable(title=f"账龄（到期日口径）aging by due date at {summary.key_date}")
    for col in ("", "账龄段 bucket", "金额 amount"):
        out.add_column(col, justify="right" if col.startswith("金额") else "left")
    for name, bucket, amount in summary.aging:
        out.add_row(name, bucket, _amount(amount))
    console.print(out)
    console.print(f"营销-财务对账 ERP vs YX: {summary.recon_rows} company-months, {len(summary.recon)} beyond tolerance")
    for bukrs, month, yx, erp, diff, status in summary.recon:
        console.print(f"  [red]{bukrs} {month}[/red] YX {yx:,.2f} ERP {erp:,.2f} 差异 {diff:,.2f}  {status}",
                      highlight=False)
    if summary.quarantined:
        console.print("隔离区 quarantine: " + "; ".join(f"{t} {reason} ×{n}" for t, reason, n in summary.quarantined))


def publication(db: Path, target: Path, made) -> None:
    if made is None:
        state = "尚未发布 not published yet" if not target.exists() else "无来源记录 no provenance recorded"
        console.print(f"已发布快照 published snapshot {target}: {state}", highlight=False)
        return
    other = "" if Path(made.source_db) == db.resolve() else "  [yellow]（来自另一个数据库 from another database）[/yellow]"
    console.print(f"已发布快照 published snapshot {target}: 来源 source {made.source_db}{other}, "
                  f"业务日期 business date {made.biz_date}, 发布于 published {made.published_at:%Y-%m-%d %H:%M:%S} UTC"
                  f" (quality run {made.quality_run_id})", highlight=False)


def build_report(report) -> None:
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


def quality_run(run) -> None:
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


def defects(caught_by) -> None:
    out = RichTable(title="样例数据中的故意缺陷 Deliberate defects of the sample and the checks that caught them")
    for col in ("代码", "缺陷 defect", "表 table", "业务日期", "发现于 caught by"):
        out.add_column(col)
    for d, caught in caught_by:
        out.add_row(d["code"], d["kind"], d["table"], d["biz_date"],
                    ", ".join(caught) if caught else "[yellow]未在本次检查中发现 not caught in this run[/yellow]")
    console.print(out)


# ---- pool ---------------------------------------------------------------------------------------

_ITEM_COLUMNS = ["bukrs", "{partner}", "gjahr", "belnr", "buzei", "hkont", "blart", "budat", "net_due_date",
                 "days_past_due", "days_since_posting", "bucket", "amount_lc"]


def aging_items(items, ledger: str, partner_col: str, drill: tuple[str, str], key_date: date, basis: str,
                fmt: str) -> None:
    header = [c.format(partner=partner_col) for c in _ITEM_COLUMNS]
    if fmt == "csv":
        print(",".join(header))
        for i in items:
            print(",".join("" if v is None else (f"{v:.2f}" if k == "amount_lc" else str(v))
                           for k, v in zip(header, i, strict=True)))
        return
    out = RichTable(title=f"{_LEDGER_ZH[ledger]}账龄明细 {drill[0]} {drill[1]} @ {key_date} ({basis})")
    for col in header:
        out.add_column(col, justify="right" if col == "amount_lc" else "left")
    for i in items:
        out.add_row(*["" if v is None else (_amount(v) if k == "amount_lc" else str(v))
                      for k, v in zip(header, i, strict=True)])
    console.print(out)
    console.print(f"{len(items)} items, 合计 total {sum((i[-1] for i in items), 0):,.2f}")


def aging(rows, ledger: str, partner_col: str, by_partner: bool, key_date: date, basis: str, fmt: str) -> None:
    cols = ["bukrs", *([partner_col] if by_partner else []), "bucket", "amount_lc"]
    if fmt == "csv":
        print(",".join(cols))
        for r in rows:
            print(",".join([r.bukrs, *([r.partner] if by_partner else []), r.bucket, f"{r.amount_lc:.2f}"]))
        return
    out = RichTable(title=f"{_LEDGER_ZH[ledger]}账龄 aging @ {key_date}, basis {basis}")
    for col in [*cols, "items"]:
        out.add_column(col, justify="right" if col in ("amount_lc", "items") else "left")
    for r in rows:
        out.add_row(r.bukrs, *([r.partner or ""] if by_partner else []), r.bucket, _amount(r.amount_lc),
                    str(r.item_count))
    console.print(out)
    console.print(f"合计 total {sum(r.amount_lc for r in rows):,.2f}")


_VOUCHER_COLUMNS = ["buzei", "bschl", "koart", "shkzg", "hkont", "account_name_zh", "kunnr", "lifnr", "umskz",
                    "amount_lc", "sgtxt", "zfbdt", "zterm", "augdt", "augbl"]


def voucher(v, bukrs: str, gjahr: str, belnr: str) -> None:
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
    for col in _VOUCHER_COLUMNS:
        out.add_column(col, justify="right" if col == "amount_lc" else "left")
    for line in v.lines:
        out.add_row(*["" if line[c] is None else (_amount(line[c]) if c == "amount_lc" else str(line[c]))
                      for c in _VOUCHER_COLUMNS])
    console.print(out)
    state = "平衡 balanced" if v.balance == 0 else f"[red]不平衡 unbalanced by {v.balance:,.2f}[/red]"
    console.print(f"{len(v.lines)} lines, {state}")


_RECON_COLUMNS = ["bukrs", "bill_month", "yx_billed", "erp_posted", "difference", "yx_bills", "erp_documents",
                  "status"]


def reconciliation(rows: list[dict], tolerance: float, fmt: str) -> None:
    cols = _RECON_COLUMNS
    if fmt == "csv":
        print(",".join(cols))
        for r in rows:
            print(",".join(str(r[c]) for c in cols))
        return
    out = RichTable(title=f"营销-财务应收对账 ERP vs YX (tolerance {tolerance:.2f})")
    for col in cols:
        out.add_column(col, justify="right" if col in cols[2:7] else "left")
    for r in rows:
        style = "red" if abs(r["difference"]) > tolerance else None
        out.add_row(*[_amount(r[c]) if c in cols[2:5] else str(r[c]) for c in cols], style=style)
    console.print(out)
    over = sum(abs(r["difference"]) > tolerance for r in rows)
    console.print(f"{len(rows)} company-months, {over} beyond tolerance")


# ---- catalog ------------------------------------------------------------------------------------

def catalog_built(built) -> None:
    from catalog.builder import LAYER_ZH_ALL

    per_layer: dict[str, int] = {}
    for t in built.tables:
        per_layer[t.layer] = per_layer.get(t.layer, 0) + 1
    columns = sum(len(t.columns) for t in built.tables)
    layers = "  ".join(f"{LAYER_ZH_ALL.get(layer, layer)} {layer} {n}" for layer, n in per_layer.items())
    console.print(f"数据目录 catalog: {len(built.tables)} 张表 tables, {columns} 个字段 columns, "
                  f"{len(built.glossary)} 个术语 glossary terms  ({layers})")
    if built.undocumented:
        console.print(f"[red]未说明的字段 undocumented columns ({len(built.undocumented)}):[/red] "
                      + ", ".join(built.undocumented))


def catalog_hits(query: str, hits, total: int) -> None:
    from catalog.builder import LAYER_ZH_ALL
    from catalog.search import PLACE_ZH

    if not hits:
        console.print(f"没有找到 nothing found for {query!r}")
        return
    out = RichTable(title=f"检索 Search: {query}  ({total} 条结果 hits)")
    for col in ("#", "层 Layer", "名称 Name", "中文名", "说明 Description", "匹配 Matched"):
        out.add_column(col)
    for i, hit in enumerate(hits, start=1):
        doc = hit.document
        layer = "术语 glossary" if doc.kind == "term" else f"{LAYER_ZH_ALL.get(doc.layer, doc.layer)} {doc.layer}"
        matched = "精确名称 exact name" if hit.exact else \
            "; ".join(f"{word}: {PLACE_ZH[place]}" for word, place in hit.places)
        out.add_row(str(i), layer, doc.key, doc.name_zh, doc.summary, matched)
    console.print(out)


def catalog_entry(t) -> None:
    from catalog.builder import LAYER_ZH_ALL

    flags = [f for f, on in (("已发布 published", t.published), ("按公司代码授权 scoped by company code",
                                                                 t.company_scoped)) if on]
    console.print(f"[bold]{t.name_zh}  {t.table}[/bold]  {t.name_en}")
    console.print(f"层 layer: {LAYER_ZH_ALL.get(t.layer, t.layer)} {t.layer}   业务域 domain: {t.domain}   "
                  f"责任人 owner: {t.owner}   {'  '.join(flags)}")
    console.print(f"{t.description_zh}\n{t.description_en}")
    console.print(f"粒度 grain: {t.grain}\n主键 key: {', '.join(t.key)}")
    rows = "—" if t.row_count is None else f"{t.row_count:,}"
    console.print(f"行数 rows: {rows}   最新业务日期 latest business date: {t.latest_biz_date or '—'}   "
                  f"更新于 refreshed (UTC): {t.refreshed_at or '—'}")
    if t.quality:
        scores = "  ".join(f"{dim} {p}/{n}" for dim, (p, n) in t.quality.items())
        console.print(f"质量 quality ({t.quality_date}): {t.quality_score:.1%}  {scores}")
        for f in t.failing:
            console.print(f"  [red]✗ {f['severity']}[/red] {f['check']}  {f['description_zh']}")
    console.print(f"上游 upstream: {', '.join(t.upstream) or '—'}\n下游 downstream: {', '.join(t.downstream) or '—'}")
    if t.terms:
        console.print(f"术语 glossary terms: {'、'.join(t.terms)}")
    out = RichTable()
    for col in ("#", "字段 Column", "类型 Type", "空 Null", "中文描述", "English", "SAP", "敏感 Sensitivity",
                "来源 Documented by"):
        out.add_column(col)
    for c in t.columns:
        nullable = "" if c.nullable is None else ("✓" if c.nullable else "")
        out.add_row(str(c.position), c.name, c.type or "", nullable, c.zh or "[red]未说明[/red]", c.en or "",
                    c.sap_code or "", c.sensitivity or "", c.origin or "")
    console.print(out)
