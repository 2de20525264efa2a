"""The analysts' pages in a real browser (Debian's Chromium driven by Playwright): the app served by
uvicorn on a free local port over a published snapshot, an analyst of 杭州供电 (ZJ01, company code 3301)
signing in with a token, reading 账龄分析, drilling to the items and a voucher, downloading Excel and using
the SQL console. Screenshots go to test-artefacts/pages/ for people to look at."""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from pipelines.ingest.db import connect
from serve import access, audit
from serve.app import Settings, create_app
from serve.labels import column_labels
from tests.browser import ARTEFACTS, chromium

pytestmark = pytest.mark.slow
KEY_DATE = "2026-10-27"
AR_BY_COMPANY = "SELECT bukrs, count(*) AS n FROM dwd.dwd_ar_item GROUP BY bukrs ORDER BY bukrs"


@pytest.fixture(scope="module")
def site(tmp_path_factory, published_sample):
    """The shared published snapshot, an analyst of ZJ01, and the app on uvicorn in a background thread."""
    tmp = tmp_path_factory.mktemp("pages")
    settings = Settings(snapshot=published_sample, access_db=tmp / "access.db", audit_log=tmp / "audit.jsonl")
    token = access.add_user(settings.access_db, "hz", "ZJ01")
    labels = column_labels()
    app = create_app(settings, labels)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # a free port, held from here on: no race with another process
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    yield {"base": base, "token": token, "settings": settings, "labels": labels, "tmp": tmp}
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    app.state.pool.close()


@pytest.fixture(scope="module")
def browser(site):
    with chromium() as launched:
        yield launched


@pytest.fixture
def context(browser, site):
    ctx = browser.new_context(base_url=site["base"], viewport={"width": 1280, "height": 860}, accept_downloads=True,
                              locale="zh-CN")
    yield ctx
    ctx.close()


def sign_in(context, token: str):
    page = context.new_page()
    page.goto("/")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url("**/aging")
    return page


def api(site, path: str, **params) -> dict:
    response = httpx.get(site["base"] + path, params=params, headers={"Authorization": f"Bearer {site['token']}"})
    assert response.status_code == 200, response.text
    return response.json()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def figures_shown(page) -> dict[tuple, str]:
    found = page.eval_on_selector_all(
        "a.fig", "els => els.map(e => [e.dataset.bukrs, e.dataset.partner || null, e.dataset.bucket, e.textContent])")
    return {(b, p, k): text for b, p, k, text in found}


def amount(text: str) -> float:
    return float(text.replace(",", ""))


def test_a_wrong_token_shows_the_error_and_every_page_needs_sign_in(context):
    page = context.new_page()
    for path in ("/aging", "/items?as_of=2026-10-27&bukrs=3301&bucket=1-30", "/sql", "/recon"):
        page.goto(path)
        assert page.url.endswith("/"), path
    shot(page, "sign-in")
    page.fill("#token", "not-a-token")
    page.click("button[type=submit]")
    assert "令牌无效或已吊销 unknown or revoked token" in page.inner_text(".error")
    assert context.cookies() == []
    shot(page, "sign-in-error")


def test_the_token_becomes_an_httponly_strict_cookie_that_sign_out_clears(context, site):
    page = sign_in(context, site["token"])
    [cookie] = context.cookies()
    assert (cookie["name"], cookie["value"], cookie["httpOnly"], cookie["sameSite"]) == (
        "respool_token", site["token"], True, "Strict")
    assert "respool_token" not in page.evaluate("document.cookie")  # out of scripts' reach
    assert page.locator("a[href='/catalog/']").count() == 0  # no catalog site in these settings
    page.click("text=退出 sign out")
    page.wait_for_url(site["base"] + "/")
    assert context.cookies() == []
    page.goto("/aging")
    assert page.url == site["base"] + "/"


def test_aging_shows_the_apis_figures_and_drills_through_items_to_a_balanced_voucher(context, site):
    page = sign_in(context, site["token"])
    expected = api(site, "/api/aging", as_of=KEY_DATE)["rows"]
    assert {r[0] for r in expected} == {"3301"}
    shown = figures_shown(page)
    assert shown == {(b, None, k): f"{a:,.2f}" for b, k, a, _ in expected}
    assert page.locator("#aging-chart a.bar").count() == len(expected)  # one bar per figure, each a link
    assert "3303" not in page.inner_text("#aging")
    shot(page, "aging")

    # the same by customer: each figure the API's, and they add up to the company's
    page.select_option("select[name=by]", "partner")
    page.click("form.filters button")
    page.wait_for_url("**by=partner**")
    by_customer = api(site, "/api/aging", as_of=KEY_DATE, by="customer")["rows"]
    assert figures_shown(page) == {(b, p, k): f"{a:,.2f}" for b, p, k, a, _ in by_customer}
    for b, k, a, _ in expected:
        assert round(sum(r[3] for r in by_customer if (r[0], r[2]) == (b, k)), 2) == round(a, 2)
    page.go_back()

    bukrs, bucket, figure, count = max(expected, key=lambda r: r[3])
    page.click(f'a.fig[data-bukrs="{bukrs}"][data-bucket="{bucket}"]')
    page.wait_for_url("**/items?**")
    assert amount(page.inner_text("#items-total")) == round(figure, 2)
    assert int(page.inner_text("#items-count")) == count
    shot(page, "items")

    # the same items five to a page: every page's rows together are the figure
    page.goto(page.url + "&page_size=5")
    total, rows, pages = 0.0, 0, 0
    while True:
        amounts = page.eval_on_selector_all("#items tbody tr td:last-child", "tds => tds.map(t => t.textContent)")
        assert amount(page.inner_text("#page-total")) == round(sum(map(amount, amounts)), 2)
        total, rows, pages = total + sum(map(amount, amounts)), rows + len(amounts), pages + 1
        if page.locator("a.next").count() == 0:
            break
        page.click("a.next")
    assert (round(total, 2), rows, pages) == (round(figure, 2), count, -(-count // 5))

    link = page.locator("#items tbody a").first
    belnr = link.inner_text()
    link.click()
    page.wait_for_url(f"**/voucher/{bukrs}/*/{belnr}")
    assert belnr in page.inner_text("h1")
    assert page.inner_text("#balance") == "0.00" and page.locator(".ok").count() == 1
    lines = page.eval_on_selector_all("#lines tbody tr", "trs => trs.length")
    assert lines >= 2
    gjahr = page.url.split("/")[-2]
    assert api(site, f"/api/voucher/{bukrs}/{gjahr}/{belnr}")["balance"] == 0
    shot(page, "voucher")


def test_the_aging_table_downloads_as_excel_with_the_same_figures(context, site):
    page = sign_in(context, site["token"])
    with page.expect_download() as download:
        page.click("#xlsx")
    saved = ARTEFACTS / "aging.xlsx"
    download.value.save_as(saved)
    book = load_workbook(saved)
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[2]] == ["bukrs", "bucket", "amount_lc", "item_count"]
    in_excel = {(b, k): (round(a, 2), n) for b, k, a, n in sheet.iter_rows(min_row=3, values_only=True)}
    expected = api(site, "/api/aging", as_of=KEY_DATE)["rows"]
    assert in_excel == {(b, k): (round(a, 2), n) for b, k, a, n in expected}
    about = dict(book["说明 about"].iter_rows(min_row=2, values_only=True))
    assert about["用户 user"] == "hz (ZJ01, analyst)"


def test_the_sql_console_runs_a_scoped_query_downloads_it_and_shows_a_refusal(context, site):
    page = sign_in(context, site["token"])
    page.click("text=SQL 查询 console")
    page.fill("#sql", AR_BY_COMPANY)
    page.click("#run")
    page.wait_for_selector("#result")
    grid = page.eval_on_selector_all("#result tbody tr", "trs => trs.map(t => [...t.cells].map(c => c.textContent))")
    through_api = httpx.post(site["base"] + "/api/query", json={"sql": AR_BY_COMPANY},
                             headers={"Authorization": f"Bearer {site['token']}"}).json()
    assert grid == [[b, str(n)] for b, n in through_api["rows"]] and [r[0] for r in grid] == ["3301"]
    shot(page, "sql")

    with page.expect_download() as download:
        page.click("#sql-xlsx")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert [list(r) for r in book.worksheets[0].iter_rows(min_row=3, values_only=True)] == through_api["rows"]

    page.fill("#sql", "DROP TABLE dwd.dwd_ar_item")
    page.click("#run")
    refusal = page.inner_text(".error")
    assert refusal.startswith("查询被拒绝 query refused") and len(refusal) > len("查询被拒绝 query refused")
    assert page.input_value("#sql") == "DROP TABLE dwd.dwd_ar_item"  # kept for correcting
    shot(page, "sql-refused")
    page.fill("#sql", "SELECT * FROM meta.batch")
    page.click("#run")
    assert "查询被拒绝" in page.inner_text(".error")


def test_another_organisations_figures_and_vouchers_are_refused_as_the_api_refuses_them(context, site):
    con = connect(site["settings"].snapshot, read_only=True)
    try:
        other = con.execute("SELECT bukrs, gjahr, belnr FROM dwd.dwd_fi_voucher_header WHERE bukrs = '3303' "
                            "ORDER BY belnr LIMIT 1").fetchone()
    finally:
        con.close()
    page = sign_in(context, site["token"])
    response = page.goto(f"/items?as_of={KEY_DATE}&bukrs=3303&bucket=1-30")
    assert response.status == 403 and "无权访问该公司代码" in page.inner_text(".error")
    response = page.goto("/voucher/{}/{}/{}".format(*other))
    assert response.status == 404 and "凭证不存在" in page.inner_text(".error")
    response = page.goto("/recon?bukrs=3303")
    assert response.status == 403
    page.goto("/recon")
    codes = page.eval_on_selector_all("#recon tbody tr:not(.total) td:first-child", "tds => tds.map(t => t.textContent)")
    assert codes and set(codes) == {"3301"}
    shot(page, "recon")


def test_the_pages_go_through_the_audit(site):
    with httpx.Client(base_url=site["base"]) as client:  # the browser's requests, without the browser
        assert client.post("/", data={"token": site["token"]}).status_code == 303
        assert client.get("/aging").status_code == 200
        assert client.post("/sql", data={"sql": AR_BY_COMPANY, "action": "run"}).status_code == 200
        assert client.post("/sql", data={"sql": "DROP TABLE dwd.dwd_ar_item"}).status_code == 400
    records = audit.read(site["settings"].audit_log)
    assert {("/", "POST"), ("/aging", "GET"), ("/sql", "POST")} <= {
        (r["endpoint"], r["method"]) for r in records if r["user"] == "hz"}
    sql = [r for r in records if r["endpoint"] == "/sql" and r["method"] == "POST"]
    assert any(r["status"] == 200 and r["sql_submitted"] == AR_BY_COMPANY and r["sql_run"] and r["rows"] == 1
               for r in sql)
    assert any(r["status"] == 400 and r["sql_submitted"].startswith("DROP") and r["error"] for r in sql)
    assert all(site["token"] not in str(r) for r in records)  # the token is never written down


def test_the_catalog_link_shows_only_while_its_site_exists(site):
    catalog = site["tmp"] / "catalog-site"
    settings = Settings(**{k: getattr(site["settings"], k) for k in
                             ("snapshot", "access_db", "audit_log")}, catalog_site=catalog)
    with TestClient(create_app(settings, site["labels"])) as client:
        client.post("/", data={"token": site["token"]})
        assert "/catalog/" not in client.get("/aging").text
        assert client.get("/catalog/").status_code == 404
        catalog.mkdir()
        (catalog / "index.html").write_text("<h1>数据目录</h1>", encoding="utf-8")
        assert re.search(r'<a href="/catalog/"[^>]*>数据目录 Catalog</a>', client.get("/aging").text)
        assert client.get("/catalog/").text == "<h1>数据目录</h1>"
        assert client.get("/catalog/%2e%2e/access.db").status_code == 404
        client.get("/logout")
        assert client.get("/catalog/", follow_redirects=False).status_code == 303
        client.app.state.pool.close()


def test_a_voucher_links_to_its_reversal_partner(tmp_path, register):
    from tests.test_pool_reading import _ledger_database  # a small ledger with a reversed pair in 3301

    settings = Settings(snapshot=_ledger_database(register), access_db=tmp_path / "access.db",
                        audit_log=tmp_path / "audit.jsonl")
    token = access.add_user(settings.access_db, "hz", "ZJ01")
    with TestClient(create_app(settings, {})) as client:
        client.post("/", data={"token": token})
        original = client.get("/voucher/3301/2026/0100000021").text
        assert re.search(r'冲销凭证 reversed by: <a href="/voucher/3301/2026/0100000022" id="reversal">', original)
        reversal = client.get("/voucher/3301/2026/0100000022").text
        assert re.search(r'被冲销凭证 reverses: <a href="/voucher/3301/2026/0100000021" id="reversal">', reversal)
        assert 'id="reversal"' not in client.get("/voucher/3301/2026/0100000031").text  # partner never delivered
        client.app.state.pool.close()
