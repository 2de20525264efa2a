"""统一数据服务的网页 The analysts' pages, served by the API's own app: sign-in, 账龄分析 aging (table and
bar chart), 明细 items, 凭证 voucher, 营销-财务对账 reconciliation, SQL 控制台 console.

Server-rendered HTML, Chinese first with English beside; nothing is loaded from anywhere else (the
CSS, the chart's SVG and the few lines of JS are inline). The pages read no rows of their own: each
one calls the API's endpoint function with the caller the API's `principal` found (from the
`respool_token` cookie), so scoping, the query guard and the audit record are the API's. (The one
direct use of the snapshot orders the bucket labels shown by its aging_bucket_order macro.)
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from serve import access
from serve.app import QueryBody, Settings

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")  # dates and timestamps stay on one line
COOKIE = "respool_token"  # the cookie serve.app's principal() reads when there is no bearer header
Ledger = Literal["ar", "ap"]
Basis = Literal["due", "posting"]
LEDGER_ZH = {"ar": "应收 receivable", "ap": "应付 payable"}
BASIS_ZH = {"due": "到期日 due date", "posting": "过账日 posting date"}
PARTNER = {"ar": "kunnr", "ap": "lifnr"}
PARTNER_ZH = {"ar": "客户 customer", "ap": "供应商 vendor"}
SQL_SHOWN = 1000  # rows the console shows; the xlsx download carries every row the API returns
COLOURS = ("#1d4e89", "#e07b39", "#3a9d5d", "#b8405e", "#7b5ea7", "#2a9d9d", "#c9a227", "#5c6b7a")
# pages may run inline CSS and JS but load and send nothing elsewhere
CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;
 margin:0;color:#1f2933;background:#f5f7fa;font-size:15px}
header{background:#1d4e89;color:#fff;padding:.55rem 1.5rem;display:flex;gap:1.4rem;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;padding-bottom:2px}
header a.on{border-bottom:2px solid #fff;font-weight:bold}
header .brand{font-weight:bold;margin-right:.6rem}
header .who{margin-left:auto;font-size:.85rem;opacity:.92}
main{padding:1rem 1.5rem 2rem;max-width:1500px}
h1{font-size:1.35rem;margin:.3rem 0 .9rem}
h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
small,.en{color:#6b7785;font-weight:normal}
table{border-collapse:collapse;background:#fff;font-size:.9rem;margin-bottom:.6rem}
th,td{border:1px solid #d9e2ec;padding:.3rem .55rem}
th{background:#e8f0fa;text-align:left;vertical-align:bottom;white-space:nowrap}
th small{display:block}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.date{white-space:nowrap}
.scroll{overflow-x:auto;max-width:100%}
tr.total td{font-weight:bold;background:#f0f4f8}
a{color:#1d4e89}
form.filters{display:flex;gap:1rem;flex-wrap:wrap;align-items:flex-end;margin-bottom:1rem}
form.filters label{display:flex;flex-direction:column;font-size:.85rem;gap:.2rem}
input,select,button,textarea{font:inherit}
button{background:#1d4e89;color:#fff;border:0;padding:.35rem 1rem;border-radius:3px;cursor:pointer}
button.secondary{background:#fff;color:#1d4e89;border:1px solid #1d4e89}
.error{background:#fde8e8;border:1px solid #e0a3a3;color:#8a1c1c;padding:.6rem .9rem;margin:.8rem 0;max-width:60rem}
.note{color:#52606d;font-size:.88rem;margin:.4rem 0}
.ok{color:#1e7b34;font-weight:bold}.bad{color:#b42318;font-weight:bold}
.links{margin:.5rem 0 1rem;display:flex;gap:1.2rem}
.signin{max-width:34rem;margin:4rem auto;background:#fff;padding:1.5rem 2rem;border:1px solid #d9e2ec}
.signin input{width:100%;box-sizing:border-box;padding:.4rem;margin:.4rem 0 .8rem;font-family:monospace}
.console{display:grid;grid-template-columns:1fr 18rem;gap:1.2rem;align-items:start}
textarea{width:100%;box-sizing:border-box;font-family:"Noto Sans Mono CJK SC",monospace;font-size:.9rem;padding:.5rem}
.tables{background:#fff;border:1px solid #d9e2ec;padding:.5rem .8rem;font-size:.85rem;max-height:24rem;overflow:auto}
.tables a{display:block;cursor:pointer}
dl.header{display:grid;grid-template-columns:max-content 1fr max-content 1fr;gap:.25rem 1rem;background:#fff;
 border:1px solid #d9e2ec;padding:.8rem 1rem;max-width:70rem}
dl.header dt{color:#52606d}dl.header dt small{margin-left:.35rem}dl.header dd{margin:0}
svg text{font-family:inherit}
"""


# ---- HTML in small functions: every value goes through html.escape ----------------------------------

def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


def _num(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _href(path: str, **params: object) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{path}?{query}" if query else path


def _a(href: str, text: str, **attrs: object) -> str:
    extra = "".join(f' {k.rstrip("_").replace("_", "-")}="{_e(v)}"' for k, v in attrs.items() if v is not None)
    return f'<a href="{_e(href)}"{extra}>{_e(text)}</a>'


def _label(column: str, labels: dict[str, str]) -> str:
    zh = labels.get(column.lower())
    return f"{_e(zh)}<small>{_e(column)}</small>" if zh else _e(column)


def _grid(columns: Sequence[str], rows: Iterable[Sequence[object]], labels: dict[str, str],
          links: dict[str, Callable[[Sequence[object]], str]] | None = None, table_id: str | None = None) -> str:
    """A table of values; `links` turns a column's cells into links (column -> href of the row)."""
    links = links or {}
    head = "".join(f"<th>{_label(c, labels)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for column, value in zip(columns, row, strict=True):
            text = _a(links[column](row), _fmt(value)) if column in links and value is not None else _e(_fmt(value))
            kind = ' class="num"' if _num(value) else ' class="date"' if _DATE.match(str(value)) else ""
            cells.append(f"<td{kind}>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    ident = f' id="{_e(table_id)}"' if table_id else ""
    return f'<div class="scroll"><table{ident}><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _select(name: str, options: dict[str, str], chosen: str) -> str:
    items = "".join(f'<option value="{_e(k)}"{" selected" if k == chosen else ""}>{_e(v)}</option>'
                    for k, v in options.items())
    return f'<select name="{_e(name)}">{items}</select>'


def _error(error: object, detail: object = None) -> str:
    more = f"<div>{_e(detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False))}</div>" \
        if detail not in (None, "") else ""
    return f'<div class="error" role="alert"><b>{_e(error)}</b>{more}</div>'


def _document(title: str, body: str, status: int = 200) -> HTMLResponse:
    page = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)} · respool</title><style>{CSS}</style></head><body>{body}</body></html>")
    return HTMLResponse(page, status_code=status, headers={
        "Cache-Control": "no-store", "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin"})


def _compact(value: float) -> str:
    if abs(value) >= 1e8:
        return f"{value / 1e8:,.2f}亿"
    if abs(value) >= 1e4:
        return f"{value / 1e4:,.1f}万"
    return f"{value:,.0f}"


def _chart(series: dict[str, dict[str, float]], buckets: Sequence[str],
           href: Callable[[str, str], str]) -> str:
    """Bars per bucket, one bar per company code, drawn from zero (payables are negative); each bar
    links to the items behind it."""
    companies = list(series)
    if not companies or not buckets:
        return ""
    bar = 40 if len(companies) == 1 else 22 if len(companies) <= 3 else 12 if len(companies) <= 8 else 7
    group = max(70, len(companies) * bar + 24)
    left, top, plot_h, bottom = 80, 40, 220, 46
    legend = 64  # px per company code in the legend
    width = max(left + group * len(buckets) + 20, left + legend * len(companies))
    height = top + plot_h + bottom
    values = [v for amounts in series.values() for v in amounts.values()]
    lo, hi = min(0.0, *values), max(0.0, *values)
    hi = hi if hi > lo else lo + 1

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    parts = [f'<svg id="aging-chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>账龄分布 aging by bucket</title>']
    for tick in sorted({lo, 0.0, hi}):  # the range's ends and the zero line
        ty = y(tick)
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{ty:.1f}" y2="{ty:.1f}" '
                     f'stroke="{"#52606d" if tick == 0 else "#d9e2ec"}"/>'
                     f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="11" fill="#52606d">'
                     f"{_e(_compact(tick))}</text>")
    for g, bucket in enumerate(buckets):
        x0 = left + g * group + (group - len(companies) * bar) / 2
        for i, bukrs in enumerate(companies):
            if bucket not in series[bukrs]:
                continue
            v = series[bukrs][bucket]
            y1, y0 = sorted((y(v), y(0.0)))
            parts.append(f'<a href="{_e(href(bukrs, bucket))}" class="bar">'
                         f'<rect x="{x0 + i * bar:.1f}" y="{y1:.1f}" width="{bar - 2}" height="{max(y0 - y1, 1):.1f}" '
                         f'fill="{COLOURS[i % len(COLOURS)]}"><title>{_e(bukrs)} {_e(bucket)}: {_e(_fmt(v))}</title>'
                         f"</rect></a>")
            if len(companies) <= 2:  # few bars: their values fit above (below) them
                ty = y1 - 4 if v >= 0 else y0 + 13
                parts.append(f'<text x="{x0 + i * bar + (bar - 2) / 2:.1f}" y="{ty:.1f}" text-anchor="middle" '
                             f'font-size="11" fill="#52606d">{_e(_compact(v))}</text>')
        parts.append(f'<text x="{left + g * group + group / 2:.1f}" y="{top + plot_h + 20}" text-anchor="middle" '
                     f'font-size="13">{_e(bucket)}</text>')
    for i, bukrs in enumerate(companies):  # legend
        lx = left + i * legend
        parts.append(f'<rect x="{lx}" y="6" width="12" height="12" fill="{COLOURS[i % len(COLOURS)]}"/>'
                     f'<text x="{lx + 16}" y="17" font-size="12">{_e(bukrs)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ---- the pages ---------------------------------------------------------------------------------------

def add_pages(app: FastAPI, settings: Settings, labels: dict[str, str]) -> None:
    """Adds the pages to the API's app. Call after the API's routes exist and `app.state.principal`
    is the API's principal function. `settings.catalog_site`, the data catalog's static site, is
    linked and served at /catalog/ only while the folder exists."""
    api = {route.name: route.endpoint for route in app.routes if isinstance(route, APIRoute)}
    principal: Callable[[Request], access.Principal] = app.state.principal
    site = settings.catalog_site
    router = APIRouter(include_in_schema=False)

    def signed_in(request: Request) -> access.Principal | None:
        try:
            return principal(request)  # the API's own: bearer header, else the cookie; sets the audit's user
        except HTTPException:
            return None

    def call(name: str, request: Request, who: access.Principal, **params: object) -> dict:
        """An API endpoint's JSON answer for this caller (its HTTPException propagates)."""
        return json.loads(api[name](request=request, who=who, format="json", **params).body)

    def layout(who: access.Principal, active: str, title: str, body: str, status: int = 200) -> HTMLResponse:
        nav = [("/aging", "账龄分析 Aging"), ("/recon", "营销-财务对账 Reconciliation"), ("/sql", "SQL 查询 console")]
        if site is not None and Path(site).is_dir():
            nav.append(("/catalog/", "数据目录 Catalog"))
        links = "".join(_a(href, text, class_="on" if href == active else None) for href, text in nav)
        try:
            snapshot = api["health"]().get("biz_date")
        except HTTPException:
            snapshot = None
        codes = "全部 all" if who.company_codes is None else ", ".join(sorted(who.company_codes))
        who_html = (f'<span class="who">{_e(who.name)} · {_e(who.org)} · {_e(who.role)} · 公司代码 {_e(codes)} · '
                    f"快照 snapshot {_e(snapshot or '—')} · {_a('/logout', '退出 sign out')}</span>")
        return _document(title, f'<header><span class="brand">respool 统一数据服务</span>{links}{who_html}</header>'
                                f"<main>{body}</main>", status)

    def page(request: Request, active: str, render: Callable[[access.Principal], HTMLResponse | Response]) -> Response:
        """A signed-in page: back to sign-in without a valid token; the API's refusals shown as pages."""
        who = signed_in(request)
        if who is None:
            response = RedirectResponse("/", status_code=303)
            response.delete_cookie(COOKIE, path="/")
            return response
        try:
            return render(who)
        except HTTPException as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"error": str(exc.detail)}
            return layout(who, active, "错误 error", _error(detail.get("error"), detail.get("detail")), exc.status_code)

    def bucket_order(buckets: set[str]) -> list[str]:
        """The buckets in the pool's own order (the snapshot's aging_bucket_order macro): labels only, no rows."""
        with app.state.pool.cursor() as cur:
            return [b for (b,) in cur.execute("SELECT b FROM unnest(?::VARCHAR[]) AS t(b) "
                                              "ORDER BY aging_bucket_order(b) NULLS LAST, b", [sorted(buckets)]).fetchall()]

    def default_key_date() -> date:
        made = api["health"]()
        return date.fromisoformat(made["biz_date"]) if made.get("biz_date") else date.today()

    # -- sign-in ------------------------------------------------------------------------------------------

    def sign_in_form(error: str | None = None, status: int = 200) -> HTMLResponse:
        body = (f'<form class="signin" method="post" action="/"><h1>respool 统一数据服务 <span class="en">sign in</span></h1>'
                f'<p class="note">粘贴管理员发给您的令牌。Paste the token your administrator issued '
                f"(<code>respool access add-user</code>).</p>{_error(error) if error else ''}"
                f'<label for="token">令牌 token</label><input id="token" name="token" type="password" '
                f'autocomplete="off" required autofocus><button type="submit">登录 sign in</button></form>')
        return _document("登录 sign in", f"<main>{body}</main>", status)

    @router.get("/")
    def sign_in_page(request: Request) -> Response:
        if signed_in(request) is not None:
            return RedirectResponse("/aging", status_code=303)
        return sign_in_form()

    @router.post("/")
    async def sign_in(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0].strip()
        who = await run_in_threadpool(access.authenticate, settings.access_db, token) if token else None
        if who is None:
            return sign_in_form("令牌无效或已吊销 unknown or revoked token", 401)
        request.state.principal = who  # the audit record names who signed in
        response = RedirectResponse("/aging", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
        return response

    @router.get("/logout")
    def sign_out() -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    # -- 账龄分析 aging --------------------------------------------------------------------------------------

    @router.get("/aging")
    def aging_page(request: Request, as_of: date | None = None, ledger: Ledger = "ar", basis: Basis = "due",
                   by: Literal["company", "partner"] = "company") -> Response:
        def render(who: access.Principal) -> HTMLResponse:
            key_date = as_of or default_key_date()
            params = {"as_of": key_date.isoformat(), "ledger": ledger, "basis": basis}
            data = call("aging", request, who, as_of=key_date, ledger=ledger, basis=basis, by=by)
            partner = PARTNER[ledger] if by == "partner" else None
            figures: dict[tuple[str, str | None], dict[str, tuple[float, int]]] = {}
            series: dict[str, dict[str, float]] = {}
            for row in data["rows"]:
                bukrs, party, bucket, amount, count = row if partner else (row[0], None, *row[1:])
                figures.setdefault((bukrs, party), {})[bucket] = (amount, count)
                series.setdefault(bukrs, {})
                series[bukrs][bucket] = series[bukrs].get(bucket, 0.0) + amount

            buckets = bucket_order({bucket for cells in figures.values() for bucket in cells})

            def items_href(bukrs: str, bucket: str, party: str | None = None) -> str:
                return _href("/items", **params, bukrs=bukrs, bucket=bucket, partner=party)

            head = "".join(f"<th>{_label(c, labels)}</th>" for c in ["bukrs", *([partner] if partner else [])])
            head += "".join(f'<th class="num">{_e(b)}</th>' for b in buckets)
            rows = []
            for (bukrs, party), cells in figures.items():
                tds = f"<td>{_e(bukrs)}</td>" + (f"<td>{_e(party)}</td>" if partner else "")
                for bucket in buckets:
                    if bucket not in cells:
                        tds += '<td class="num"></td>'
                        continue
                    amount, count = cells[bucket]
                    link = _a(items_href(bukrs, bucket, party), _fmt(amount), class_="fig", data_bukrs=bukrs,
                              data_partner=party, data_bucket=bucket, title=f"{count} 笔 items")
                    tds += f'<td class="num">{link}</td>'
                rows.append(f"<tr>{tds}</tr>")
            table = (f'<table id="aging"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
                     if rows else '<p class="note">没有未清项 no open items.</p>')
            form = (f'<form class="filters" method="get" action="/aging">'
                    f'<label>账簿 ledger{_select("ledger", LEDGER_ZH, ledger)}</label>'
                    f'<label>基准日 key date<input type="date" name="as_of" value="{_e(key_date)}" required></label>'
                    f'<label>账龄口径 basis{_select("basis", BASIS_ZH, basis)}</label>'
                    f'<label>分组 grouping{_select("by", {"company": "公司 company", "partner": PARTNER_ZH[ledger]}, by)}'
                    f'</label><button type="submit">查询 show</button></form>')
            xlsx = _href("/api/aging", **params, by=by, format="xlsx")
            unit = "逾期天数 days past due" if basis == "due" else "过账年限 years since posting"
            body = (f'<h1>{_e(LEDGER_ZH[ledger].split()[0])}账龄分析 <span class="en">{_e(ledger.upper())} aging</span></h1>'
                    f"{form}<p class=\"note\">基准日 key date {_e(key_date)} · 账龄段 buckets: {_e(unit)} · "
                    f"本位币金额（带符号） amounts in local currency, signed · 点击金额查看明细 click a figure for its items"
                    f'</p><div class="links">{_a(xlsx, "下载 Excel download xlsx", id="xlsx", download="")}</div>'
                    f"{table}{_chart(series, buckets, items_href)}")
            return layout(who, "/aging", "账龄分析 aging", body)
        return page(request, "/aging", render)

    # -- 明细 items -----------------------------------------------------------------------------------------

    @router.get("/items")
    def items_page(request: Request, as_of: date, bukrs: str, bucket: str, ledger: Ledger = "ar",
                   basis: Basis = "due", partner: str | None = None, page_no: Annotated[int, Query(alias="page", ge=1)] = 1,
                   page_size: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
        def render(who: access.Principal) -> HTMLResponse:
            params = {"as_of": as_of.isoformat(), "ledger": ledger, "basis": basis, "bukrs": bukrs, "bucket": bucket,
                      "partner": partner}
            data = call("items", request, who, as_of=as_of, bukrs=bukrs, bucket=bucket, ledger=ledger, basis=basis,
                        partner=partner, page=page_no, page_size=page_size)
            # company code and bucket are the page's title, not columns (the Excel download keeps them)
            shown = [i for i, c in enumerate(data["columns"]) if c not in ("bukrs", "bucket")]
            columns = [data["columns"][i] for i in shown]
            rows = [[row[i] for i in shown] for row in data["rows"]]
            pages = max(1, -(-data["total_items"] // page_size))
            at = {c: i for i, c in enumerate(columns)}
            voucher = lambda r: f"/voucher/{bukrs}/{r[at['gjahr']]}/{r[at['belnr']]}"  # noqa: E731
            nav = []
            if page_no > 1:
                nav.append(_a(_href("/items", **params, page=page_no - 1, page_size=page_size), "上一页 previous",
                              class_="prev"))
            if page_no < pages:
                nav.append(_a(_href("/items", **params, page=page_no + 1, page_size=page_size), "下一页 next",
                              class_="next"))
            back = _href("/aging", as_of=params["as_of"], ledger=ledger, basis=basis,
                         by="partner" if partner else None)
            who_for = f" · {PARTNER_ZH[ledger]} {partner}" if partner else ""
            body = (f'<h1>明细 <span class="en">items</span> · {_e(LEDGER_ZH[ledger])} · {_e(bukrs)}{_e(who_for)} · '
                    f"{_e(bucket)}</h1>"
                    f'<p class="note">基准日 key date {_e(as_of)} · 口径 basis {_e(BASIS_ZH[basis])}</p>'
                    f'<p>共 <b id="items-count">{data["total_items"]}</b> 笔 items · 合计 total '
                    f'<b id="items-total">{_e(_fmt(data["total_amount_lc"]))}</b> · 本页小计 page subtotal '
                    f'<span id="page-total">{_e(_fmt(sum(r[-1] for r in rows)))}</span> · '
                    f'第 <span id="page-no">{page_no}</span> / {pages} 页 page</p>'
                    f'<div class="links">{_a(back, "← 返回账龄 back to aging")}'
                    f'{_a(_href("/api/items", **params, format="xlsx"), "下载 Excel download xlsx", download="")}'
                    f"{''.join(nav)}</div>{_grid(columns, rows, labels, {'belnr': voucher}, 'items')}")
            return layout(who, "/aging", "明细 items", body)
        return page(request, "/aging", render)

    # -- 凭证 voucher ---------------------------------------------------------------------------------------

    @router.get("/voucher/{bukrs}/{gjahr}/{belnr}")
    def voucher_page(request: Request, bukrs: str, gjahr: str, belnr: str) -> Response:
        def render(who: access.Principal) -> HTMLResponse:
            data = json.loads(api["voucher"](request=request, who=who, bukrs=bukrs, gjahr=gjahr, belnr=belnr).body)
            header = data["header"] or {}
            fields = "".join(f"<dt>{_label(k, labels)}</dt><dd>{_e(_fmt(v))}</dd>" for k, v in header.items()
                             if not k.startswith("_"))
            lines = data["lines"]
            # columns empty on every line (no vendor on a customer invoice …) are left out
            columns = [c for c in (lines[0] if lines else []) if any(line[c] not in (None, "") for line in lines)]
            balance = data["balance"]
            verdict = ('<span class="ok">✓ 借贷平衡 balanced</span>' if round(balance, 2) == 0
                       else '<span class="bad">✗ 借贷不平 does not balance</span>')
            partner = data["reversal_partner"]
            reversal = ""
            if partner:
                what = "被冲销凭证 reverses" if header.get("is_reversal") else "冲销凭证 reversed by"
                key = (partner["bukrs"], partner["gjahr"], partner["belnr"])
                link = _a("/voucher/{}/{}/{}".format(*key), " ".join(key), id="reversal")
                reversal = f"<p>{_e(what)}: {link} · {_e(partner.get('blart'))} · {_e(partner.get('budat'))}</p>"
            body = (f'<h1>凭证 <span class="en">voucher</span> {_e(header.get("bukrs", bukrs))} '
                    f'{_e(header.get("gjahr", gjahr))} {_e(header.get("belnr", belnr))}</h1>'
                    f'<dl class="header">{fields}</dl>{reversal}'
                    f'<h2>行项目 <span class="en">lines</span> ({len(lines)})</h2>'
                    f'<p>借贷差额 balance <b id="balance">{_e(_fmt(float(balance)))}</b> {verdict}</p>'
                    f"{_grid(columns, [[line[c] for c in columns] for line in lines], labels, table_id='lines')}")
            return layout(who, "/aging", "凭证 voucher", body)
        return page(request, "/aging", render)

    # -- 营销-财务对账 reconciliation ------------------------------------------------------------------------

    @router.get("/recon")
    def recon_page(request: Request, month: Annotated[str | None, Query(pattern=r"^(\d{6})?$")] = None,
                   bukrs: str | None = None) -> Response:
        def render(who: access.Principal) -> HTMLResponse:
            data = call("recon", request, who, month=month or None, bukrs=bukrs or None)
            columns, rows = data["columns"], data["rows"]
            total = ""
            if rows:
                sums = [f'<td class="num">{_e(_fmt(sum((r[i] or 0.0 for r in rows), 0.0)))}</td>'
                        if c in ("yx_billed", "erp_posted", "difference") else "<td></td>" for i, c in enumerate(columns)]
                sums[0] = "<td>合计 total</td>"
                total = f'<tr class="total">{"".join(sums)}</tr>'
            grid = _grid(columns, rows, labels, table_id="recon").replace("</tbody>", f"{total}</tbody>")
            diff = columns.index("difference") if "difference" in columns else None
            off = sum(1 for r in rows if diff is not None and round(r[diff] or 0, 2) != 0)
            form = (f'<form class="filters" method="get" action="/recon">'
                    f'<label>应收年月 bill month<input name="month" value="{_e(month)}" placeholder="202610" '
                    f'pattern="\\d{{6}}" size="8"></label>'
                    f'<label>公司代码 company code<input name="bukrs" value="{_e(bukrs)}" size="6"></label>'
                    f'<button type="submit">查询 show</button></form>')
            xlsx = _href("/api/recon", month=month or None, bukrs=bukrs or None, format="xlsx")
            body = (f'<h1>营销-财务对账 <span class="en">YX billing vs ERP receivables</span></h1>{form}'
                    f'<p class="note">营销应收电费与 ERP 应收电费科目 1122010000 入账按公司、月份比对。'
                    f"YX billed vs ERP postings to 1122010000, per company code and month · "
                    f'差异不为零 rows with a difference: <b id="recon-off">{off}</b></p>'
                    f'<div class="links">{_a(xlsx, "下载 Excel download xlsx", download="")}</div>'
                    + (grid if rows else '<p class="note">没有数据 no rows.</p>'))
            return layout(who, "/recon", "营销-财务对账 reconciliation", body)
        return page(request, "/recon", render)

    # -- SQL 控制台 console ----------------------------------------------------------------------------------

    def console(request: Request, who: access.Principal, sql: str, outcome: str = "", status: int = 200) -> HTMLResponse:
        catalog = json.loads(api["tables"](request=request, who=who).body)["tables"]
        tables = "".join(f'<a data-table="{_e(t["table"])}" title="{_e(", ".join(c["name"] for c in t["columns"]))}">'
                         f'{_e(t["table"])}</a>' for t in catalog)
        body = (f'<h1>SQL 查询 <span class="en">console</span></h1>'
                f'<p class="note">一条只读查询（DuckDB SQL），结果限于您机构的公司代码。One read-only query, scoped to '
                f"your organisation's company codes; at most {SQL_SHOWN} rows shown here, the Excel download "
                f"carries them all. Ctrl+Enter 运行 runs.</p>"
                f'<div class="console"><form method="post" action="/sql" id="sql-form">'
                f'<textarea name="sql" id="sql" rows="9" spellcheck="false">{_e(sql)}</textarea>'
                f'<div class="links"><button type="submit" name="action" value="run" id="run">运行 run</button>'
                f'<button type="submit" name="action" value="xlsx" id="sql-xlsx" class="secondary">下载 Excel '
                f"download xlsx</button></div></form>"
                f'<div class="tables"><b>可查询的表 tables</b>{tables}</div></div>{outcome}'
                "<script>"
                "document.querySelectorAll('.tables a').forEach(a=>a.addEventListener('click',()=>{"
                "document.getElementById('sql').value='SELECT * FROM '+a.dataset.table+' LIMIT 100';}));"
                "document.getElementById('sql').addEventListener('keydown',e=>{"
                "if(e.key==='Enter'&&(e.ctrlKey||e.metaKey)){document.getElementById('run').click();}});"
                "</script>")
        return layout(who, "/sql", "SQL 查询 console", body, status)

    @router.get("/sql")
    def sql_page(request: Request) -> Response:
        def render(who: access.Principal) -> HTMLResponse:
            example = (f"SELECT bukrs, bucket, sum(amount_lc) AS amount_lc, count(*) AS items\n"
                       f"FROM ar_aging(DATE '{default_key_date()}', 'due')\nGROUP BY ALL\nORDER BY ALL")
            return console(request, who, example)
        return page(request, "/sql", render)

    @router.post("/sql")
    async def sql_run(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        sql, action = (form.get("sql") or [""])[0], (form.get("action") or ["run"])[0]

        def render(who: access.Principal) -> Response:
            try:
                body = QueryBody(sql=sql)
            except ValidationError:
                return console(request, who, sql, _error("请输入一条查询 enter one query (at most 100,000 characters)"), 422)
            try:
                answer = api["query"](request=request, who=who, body=body, format="xlsx" if action == "xlsx" else "json")
            except HTTPException as exc:  # refused by the guard, failed or timed out: the API's message
                detail = exc.detail if isinstance(exc.detail, dict) else {"error": str(exc.detail)}
                return console(request, who, sql, _error(detail.get("error"), detail.get("detail")), exc.status_code)
            if action == "xlsx":
                return answer
            data = json.loads(answer.body)
            shown = data["rows"][:SQL_SHOWN]
            note = (f'<p class="note"><span id="row-count">{data["row_count"]}</span> 行 rows'
                    + (f" · 显示前 {SQL_SHOWN} 行 first {SQL_SHOWN} shown" if len(shown) < data["row_count"] else "")
                    + (" · 已截断 truncated at the service's row cap" if data["truncated"] else "") + "</p>")
            return console(request, who, sql, note + _grid(data["columns"], shown, labels, table_id="result"))
        return await run_in_threadpool(page, request, "/sql", render)

    # -- 数据目录 the catalog site, when there is one --------------------------------------------------------

    @router.get("/catalog")
    def catalog_root() -> Response:
        return RedirectResponse("/catalog/", status_code=308)

    @router.get("/catalog/{path:path}")
    def catalog_file(request: Request, path: str) -> Response:
        def render(who: access.Principal) -> Response:
            not_found = HTTPException(404, {"error": "没有该页面 no such page", "detail": f"/catalog/{path}"})
            if site is None or not Path(site).is_dir():
                raise not_found
            root = Path(site).resolve()
            target = (root / path).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_relative_to(root) or not target.is_file():
                raise not_found
            return FileResponse(target, headers={"Cache-Control": "no-store"})
        return page(request, "/catalog/", render)

    app.include_router(router)
