"""统一数据服务 The HTTP API analysts query the pool through: bearer tokens, answers scoped to the
caller's company codes, every tabular answer as JSON, CSV or Excel, every request audited.

The app reads only the published snapshot (serve.snapshot), SQL goes through the query guard
(serve.guard), users come from the access database (serve.access) and each request is appended
to the audit log (serve.audit). Errors are JSON `{"error": ..., "detail": ...}`.
"""


import csv
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from lineage import LineageError, column_edges
from serve import access, audit
from serve.excel import Sheet, workbook
from serve.guard import QueryRefused, guard
from serve.labels import Docs
from serve.snapshot import QueryTimeout, SnapshotMissing, SnapshotPool, read_catalog, run

Format = Literal["json", "csv", "xlsx"]
LEDGERS = {"ar": ("kunnr", "应收"), "ap": ("lifnr", "应付")}


@dataclass(frozen=True)
class Settings:
    snapshot: Path
    access_db: Path
    audit_log: Path
    max_rows: int = 100_000
    timeout_s: float = 30.0
    page_size: int = 500
    catalog_site: Path | None = None  # the data catalog's static site, linked from the pages while it exists
    cache_mb: int = 64  # answers kept per published snapshot (JSON and CSV; 0 keeps none)


class QueryBody(BaseModel):
    sql: str = Field(min_length=1, max_length=100_000, description="one read-only query (DuckDB SQL)")


@dataclass(frozen=True)
class _Stored:
    """An answer as sent, kept with its snapshot: the same question on the same snapshot gets the
    same bytes, and the audit the same record of what ran."""

    body: bytes
    status: int
    media_type: str | None
    headers: dict[str, str]
    audit: dict


@dataclass
class Table:
    """One tabular answer and what it is about (for CSV/Excel and the audit)."""

    title: str
    columns: list[str]
    rows: list[tuple]
    truncated: bool = False
    extra: dict | None = None


def _error(status: int, error: str, detail: object = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


def _jsonable(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def create_app(settings: Settings, labels_zh: dict[str, str] | None = None, docs: Docs | None = None) -> FastAPI:
    """The service over one published snapshot; `labels_zh` gives Chinese column headers, `docs` the
    tables' and columns' documentation for /api/tables."""
    pool = SnapshotPool(settings.snapshot, cache_bytes=settings.cache_mb * 1024 * 1024)
    labels = labels_zh if labels_zh is not None else (docs.labels_zh() if docs else {})
    app = FastAPI(title="respool 统一数据服务", version="1",
                  description="应收应付资源池的只读数据服务：按机构限定公司代码。Read-only service over the published "
                              "AR/AP pool, scoped to the caller's company codes.")
    app.state.pool = pool
    app.state.settings = settings

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, dict) else {"error": str(exc.detail)}
        response = _error(exc.status_code, detail.get("error", "error"), detail.get("detail"))
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in exc.errors()]
        return _error(422, "参数有误 invalid request", problems)

    @app.middleware("http")
    async def _audit(request: Request, call_next: Callable) -> Response:
        started = time.perf_counter()
        request.state.audit = {}
        try:
            response = await call_next(request)
            status = response.status_code
        except Exception as exc:  # an unexpected failure is still audited, then answered as 500
            status = 500
            request.state.audit["error"] = f"{type(exc).__name__}: {exc}"
            response = _error(500, "内部错误 internal error", None)
        who: access.Principal | None = getattr(request.state, "principal", None)
        await run_in_threadpool(audit.append, settings.audit_log, {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "user": who.name if who else None, "org": who.org if who else None, "role": who.role if who else None,
            "endpoint": request.url.path, "method": request.method, "query": str(request.url.query) or None,
            "status": status, "ms": round((time.perf_counter() - started) * 1000, 1), **request.state.audit})
        return response

    def principal(request: Request) -> access.Principal:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get("respool_token")
        who = access.authenticate(settings.access_db, token) if token else None
        if who is None:
            raise HTTPException(401, {"error": "未登录或令牌无效 missing, unknown or revoked token"})
        request.state.principal = who
        return who

    Who = Annotated[access.Principal, Depends(principal)]

    def allowed(who: access.Principal, bukrs: str) -> bool:
        return who.company_codes is None or bukrs in who.company_codes

    def answer(table: Table, fmt: Format, request: Request, who: access.Principal) -> Response:
        request.state.audit["rows"] = len(table.rows)
        if fmt == "csv":
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(table.columns)
            writer.writerows([[("" if v is None else v) for v in row] for row in table.rows])
            return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                            headers={"X-Truncated": str(table.truncated).lower()})
        if fmt == "xlsx":
            with pool.cursor() as cur:
                made = _provenance(cur)
            about = [("请求 request", f"{request.method} {request.url.path}?{request.url.query}"),
                     ("用户 user", f"{who.name} ({who.org}, {who.role})"),
                     ("公司代码 company codes", "全部 all" if who.company_codes is None
                      else ", ".join(sorted(who.company_codes))),
                     ("快照业务日期 snapshot business date", made.get("biz_date")),
                     ("快照发布时间 snapshot published (UTC)", made.get("published_at")),
                     ("行数 rows", len(table.rows)), ("已截断 truncated", "是 yes" if table.truncated else "否 no"),
                     ("生成时间 generated (UTC)", datetime.now(UTC).isoformat(timespec="seconds"))]
            if table.extra:
                about += [(k, v if not isinstance(v, list | dict) else json.dumps(v, ensure_ascii=False))
                          for k, v in table.extra.items()]
            data = workbook([Sheet(table.title, table.columns, table.rows, labels)], about)
            return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            headers={"Content-Disposition": "attachment; filename=respool.xlsx"})
        body = {"columns": table.columns, "rows": [[_jsonable(v) for v in row] for row in table.rows],
                "row_count": len(table.rows), "truncated": table.truncated, **(table.extra or {})}
        return JSONResponse(body)

    def remembered(request: Request, key: tuple, fmt: Format, produce: Callable[[object], Response]) -> Response:
        """The answer `produce` makes with a cursor on the current snapshot, made once per snapshot
        and question (`key`, which must hold everything the answer depends on, the caller's company
        codes included where they shape it). A workbook is made afresh: it names who asked and when."""
        if fmt == "xlsx":
            with pool.cursor() as cur:
                return produce(cur)

        def compute(cur: object) -> _Stored:
            before = dict(request.state.audit)
            response = produce(cur)
            said = {k: v for k, v in request.state.audit.items() if k not in before or before[k] != v}
            headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
            return _Stored(bytes(response.body), response.status_code, response.media_type, headers, said)

        stored, hit = pool.cached(key, compute, weight=lambda s: len(s.body) + 1024)
        if hit:
            request.state.audit.update(stored.audit)
        request.state.audit["cached"] = hit
        return Response(stored.body, stored.status, stored.headers, stored.media_type)

    def codes(who: access.Principal) -> tuple[str, ...] | None:
        return None if who.company_codes is None else tuple(sorted(who.company_codes))

    def snapshot_errors(fn: Callable[[], Response]) -> Response:
        try:
            return fn()
        except SnapshotMissing as exc:
            raise HTTPException(404, {"error": "没有已发布的快照 no published snapshot", "detail": str(exc)}) from None

    # ---- endpoints ------------------------------------------------------------------------------

    @app.get("/api/health", summary="快照状态 snapshot state (no token)")
    def health() -> dict:
        try:
            made, _ = pool.cached(("provenance",), _provenance, weight=lambda _: 1024)
        except SnapshotMissing as exc:
            raise HTTPException(503, {"error": "没有已发布的快照 no published snapshot", "detail": str(exc)}) from None
        return {"status": "ok", **made}

    @app.get("/api/tables", summary="可查询的表 tables the caller may query")
    def tables(request: Request, who: Who) -> Response:
        def produce(cur) -> Response:
            catalog = read_catalog(cur)

            def column(table: str, name: str) -> dict:
                doc = docs.columns.get(table, {}).get(name) if docs else None
                return {"name": name, "zh": doc.zh if doc else labels.get(name), "en": doc.en if doc else None,
                        "sap_field": doc.code if doc else None}

            return JSONResponse({"tables": [
                {"table": name, "name_zh": (docs.tables.get(name) or (None, None))[0] if docs else None,
                 "description_en": (docs.tables.get(name) or (None, None))[1] if docs else None,
                 "scoped_by_company": "bukrs" in columns,
                 "columns": [column(name, c) for c in columns]}
                for name, columns in sorted(catalog.items())]})
        return snapshot_errors(lambda: remembered(request, ("tables",), "json", produce))

    @app.get("/api/aging", summary="账龄 aging at a key date")
    def aging(request: Request, who: Who, as_of: date,
              ledger: Literal["ar", "ap"] = "ar", basis: Literal["due", "posting"] = "due",
              by: Literal["company", "customer", "vendor", "partner"] = "company", format: Format = "json") -> Response:
        from models.pool import aging as pool_aging

        def produce(cur) -> Response:
            rows = pool_aging(cur, ledger, as_of, basis, by_partner=by != "company", company_codes=who.company_codes)
            partner = LEDGERS[ledger][0]
            mine = [(r.bukrs, r.partner, r.bucket, r.amount_lc, r.item_count) for r in rows]
            columns = ["bukrs", partner, "bucket", "amount_lc", "item_count"]
            if by == "company":
                columns.remove(partner)
                mine = [(b, k, a, n) for b, _, k, a, n in mine]
            table = Table(f"{LEDGERS[ledger][1]}账龄 {as_of}", columns, mine,
                          extra={"ledger": ledger, "as_of": as_of.isoformat(), "basis": basis})
            return answer(table, format, request, who)
        key = ("aging", ledger, as_of, basis, by == "company", format, codes(who))
        return snapshot_errors(lambda: remembered(request, key, format, produce))

    @app.get("/api/items", summary="账龄明细 the items behind one aging figure")
    def items(request: Request, who: Who, as_of: date, bukrs: str, bucket: str,
              ledger: Literal["ar", "ap"] = "ar", basis: Literal["due", "posting"] = "due",
              partner: str | None = None, page: Annotated[int, Query(ge=1)] = 1,
              page_size: Annotated[int | None, Query(ge=1, le=10_000)] = None, format: Format = "json") -> Response:
        from models.pool import aging_items

        if not allowed(who, bukrs):
            raise HTTPException(403, {"error": "无权访问该公司代码 company code not in your organisation",
                                      "detail": bukrs})
        size = page_size or settings.page_size

        def produce(cur) -> Response:
            found = aging_items(cur, ledger, as_of, basis, bukrs, bucket, partner)
            columns = ["bukrs", LEDGERS[ledger][0], "gjahr", "belnr", "buzei", "hkont", "blart", "budat",
                       "net_due_date", "days_past_due", "days_since_posting", "bucket", "amount_lc"]
            total = sum((r[-1] for r in found), Decimal("0"))
            page_rows = found if format != "json" else found[(page - 1) * size: page * size]
            table = Table(f"明细 {bukrs} {bucket}", columns, list(page_rows), extra={
                "total_items": len(found), "total_amount_lc": float(total), "page": page, "page_size": size})
            return answer(table, format, request, who)
        # one company's items: the same answer for every caller allowed to see that company
        page_key = (page, size) if format == "json" else None
        key = ("items", ledger, as_of, basis, bukrs, bucket, partner, page_key, format)
        return snapshot_errors(lambda: remembered(request, key, format, produce))

    @app.get("/api/voucher/{bukrs}/{gjahr}/{belnr}", summary="凭证穿透 a voucher and all its lines")
    def voucher(request: Request, who: Who, bukrs: str, gjahr: str, belnr: str) -> Response:
        from models.pool import voucher as find_voucher

        not_found = HTTPException(404, {"error": "凭证不存在 no such voucher", "detail": f"{bukrs}/{gjahr}/{belnr}"})
        if not allowed(who, bukrs):
            raise not_found  # another organisation's vouchers do not exist for this caller

        def produce(cur) -> Response:
            v = find_voucher(cur, bukrs, gjahr, belnr)
            if v.header is None and not v.lines:
                raise not_found
            clean = lambda d: {k: _jsonable(x) for k, x in d.items()} if d else None  # noqa: E731
            return JSONResponse({"header": clean(v.header), "lines": [clean(line) for line in v.lines],
                                 "reversal_partner": clean(v.reversal_partner), "balance": float(v.balance)})
        return snapshot_errors(lambda: remembered(request, ("voucher", bukrs, gjahr, belnr), "json", produce))

    @app.get("/api/recon", summary="营销-财务对账 ERP vs YX receivables")
    def recon(request: Request, who: Who, month: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
              bukrs: str | None = None, format: Format = "json") -> Response:
        from models.pool import reconciliation

        if bukrs is not None and not allowed(who, bukrs):
            raise HTTPException(403, {"error": "无权访问该公司代码 company code not in your organisation",
                                      "detail": bukrs})

        def produce(cur) -> Response:
            rows = [r for r in reconciliation(cur) if allowed(who, r["bukrs"])
                    and (month is None or r["bill_month"] == month) and (bukrs is None or r["bukrs"] == bukrs)]
            columns = list(rows[0]) if rows else ["bukrs", "bill_month", "yx_billed", "erp_posted", "difference"]
            table = Table("营销-财务对账", columns, [tuple(r[c] for c in columns) for r in rows])
            return answer(table, format, request, who)
        key = ("recon", month, bukrs, format, codes(who))
        return snapshot_errors(lambda: remembered(request, key, format, produce))

    @app.post("/api/query", summary="只读 SQL read-only SQL through the query guard")
    def query(request: Request, who: Who, body: QueryBody, format: Format = "json") -> Response:
        request.state.audit["sql_submitted"] = body.sql

        def produce(cur) -> Response:
            catalog = read_catalog(cur)
            try:
                guarded = guard(body.sql, catalog, who.company_codes, max_rows=settings.max_rows)
            except QueryRefused as exc:
                request.state.audit["error"] = str(exc)
                raise HTTPException(400, {"error": "查询被拒绝 query refused", "detail": str(exc)}) from None
            request.state.audit.update(sql_run=guarded.sql, tables=list(guarded.tables),
                                       columns=_columns_read(guarded.sql, catalog))
            try:
                result = run(cur, guarded.sql, max_rows=settings.max_rows, timeout_s=settings.timeout_s)
            except QueryTimeout as exc:
                request.state.audit["error"] = str(exc)
                raise HTTPException(408, {"error": "查询超时 query timed out", "detail": str(exc)}) from None
            except Exception as exc:  # a query the guard let through can still fail in DuckDB
                message = str(exc).strip().splitlines()[0]
                request.state.audit["error"] = message
                raise HTTPException(400, {"error": "查询失败 query failed", "detail": message}) from None
            table = Table("查询结果 query", result.columns, result.rows, result.truncated,
                          extra={"sql": body.sql, "tables": list(guarded.tables)})
            return answer(table, format, request, who)
        # the guard confines the query to the caller's company codes: the answer depends on them
        key = ("query", body.sql, format, codes(who))
        return snapshot_errors(lambda: remembered(request, key, format, produce))

    from serve.pages import add_pages  # the analysts' pages, over the endpoints above

    app.state.principal = principal
    add_pages(app, settings, labels)
    return app


def _columns_read(sql: str, catalog: dict[str, list[str]]) -> list[str] | None:
    """The table columns a query reads (its column lineage, filters included), for the audit; None
    when lineage cannot resolve it (the query still runs: the guard decided that)."""
    try:
        return sorted({edge.source for edge in column_edges(sql, catalog) if edge.source})
    except (LineageError, ValueError, KeyError):
        return None


def _provenance(cur) -> dict:
    """Where the snapshot came from (meta.publication, written by `respool publish`)."""
    try:
        row = cur.execute("SELECT biz_date, published_at, quality_run_id, dagster_run_id, publication_id "
                          "FROM meta.publication").fetchone()
    except Exception:  # a snapshot published before provenance was recorded
        row = None
    if row is None:
        return {"biz_date": None, "published_at": None, "run_id": None}
    biz_date, published_at, quality_run_id, dagster_run_id, publication_id = row
    return {"biz_date": _jsonable(biz_date), "published_at": _jsonable(published_at),
            "run_id": dagster_run_id or quality_run_id, "publication_id": publication_id}
