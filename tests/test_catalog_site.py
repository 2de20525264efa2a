"""The data catalog's static site (catalog/site.py): the files, a table's page with its columns and
lineage picture, the glossary and the guide; the browser's search (catalog/site_assets/search.js)
giving the same hits in the same order as catalog/search.py; and a person's way through it in
Debian's Chromium, opened from disk with no server, over a catalog built from a real database.
Screenshots go to test-artefacts/pages/ (as tests/test_pages.py's) for people to look at."""

from __future__ import annotations

import copy
import json
import re
from html import escape
from pathlib import Path

import pytest

from catalog.builder import Catalog, build_catalog
from catalog.guide import render_guide
from catalog.register import load_reference, load_register
from catalog.search import _SPLIT, Searcher, index_json, query_words
from catalog.site import SiteError, column_anchor, markdown_to_html, page_name, write_site
from lineage.project.resolve import project_lineage
from lineage.render.graph import KIND_COLOURS
from pipelines.ingest.db import connect
from tests.browser import ARTEFACTS, chromium

AR_ITEM = "dwd.dwd_ar_item"

QUERIES = [
    "客户 应收 账龄", "客户应收账龄", "应收账龄", "应收", "账龄", "净到期日", "receivable aging", "receivable",
    "BUKRS", "bukrs", "dwd_ar_item", "dwd.dwd_ar_item", "ar", "AR", "税号", "ar账龄", "应收明细", "公司代码",
    "customer", "供应商 未清项", "ＢＵＫＲＳ", "付款基准日", "item", "xyzzy 不存在的词", "qqq", "   ", "",
]


# ---- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lineage():
    return project_lineage()


@pytest.fixture(scope="module")
def guide() -> str:
    return render_guide(load_register(), load_reference())


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """From the files alone: no database, no figures."""
    return build_catalog()


@pytest.fixture(scope="module")
def site(tmp_path_factory, catalog, lineage, guide) -> Path:
    out = tmp_path_factory.mktemp("catalog-site") / "site"
    index = write_site(catalog, lineage, out, guide)
    assert index == out / "index.html"
    return out


@pytest.fixture(scope="module")
def db_catalog(published_sample) -> Catalog:
    """From a real database (the shared generated sample: ingested, built, checked, published),
    so the figures exist: row counts, freshness, quality per dimension, the trend."""
    con = connect(published_sample, read_only=True)
    try:
        return build_catalog(con, source_db=str(published_sample))
    finally:
        con.close()


@pytest.fixture(scope="module")
def db_site(tmp_path_factory, db_catalog, lineage, guide) -> Path:
    out = tmp_path_factory.mktemp("catalog-db-site") / "site"
    write_site(db_catalog, lineage, out, guide)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield tab
    context.close()
    assert not errors, f"errors in the page: {errors}"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def svg_of(html: str) -> str:
    found = re.search(r'<svg class="lineage".*?</svg>', html, re.S)
    assert found, "no lineage picture"
    return found.group(0)


# ---- the files -------------------------------------------------------------------------------------


def test_the_site_has_its_pages_one_per_table_and_the_assets(site, catalog):
    for name in ("index.html", "glossary.html", "guide.html", "search-index.js", "search.js", "site.css"):
        assert (site / name).is_file(), name
    pages = sorted(p.name for p in (site / "tables").iterdir())
    assert pages == sorted(page_name(t.table) for t in catalog.tables)
    index = read(site / "index.html")
    assert '<meta charset="utf-8">' in index
    assert '<script src="search-index.js"></script><script src="search.js"></script>' in index
    assert "fetch(" not in read(site / "search.js")  # file:// pages cannot fetch
    # every table is listed by layer on the search page, linked, Chinese name first
    for t in catalog.tables:
        assert (f'<td class="zh"><a href="tables/{page_name(t.table)}">{escape(t.name_zh)}</a></td>'
                f'<td><code>{t.table}</code></td>') in index
    layers = re.findall(r'<section class="layer" id="layer-(\w+)">', index)
    assert layers == list(dict.fromkeys(t.layer for t in catalog.tables))
    for nav in ('href="index.html"', 'href="glossary.html"', 'href="guide.html"'):
        assert nav in read(site / "guide.html")
    assert 'href="../glossary.html"' in read(site / "tables" / page_name(AR_ITEM))


def test_the_search_index_is_the_search_modules_own(site, catalog):
    text = read(site / "search-index.js")
    assert text.startswith("window.CATALOG_INDEX = ") and text.rstrip().endswith(";")
    data = json.loads(text.removeprefix("window.CATALOG_INDEX = ").rstrip().rstrip(";"))
    expected = index_json(catalog)
    assert {k: data[k] for k in expected} == expected
    assert data["pages"][AR_ITEM]["href"] == f"tables/{page_name(AR_ITEM)}"
    assert data["pages"]["应收账款"]["href"] == "glossary.html#term-%E5%BA%94%E6%94%B6%E8%B4%A6%E6%AC%BE"
    assert text.isascii()


def test_a_table_page_shows_the_entry_its_columns_and_its_sql(site, catalog):
    entry = catalog.table(AR_ITEM)
    html = read(site / "tables" / page_name(AR_ITEM))
    assert f"<h1>{entry.name_zh} " in html and entry.name_en in html
    for text in (entry.description_zh, entry.description_en, entry.domain, entry.grain, "明细层 dwd"):
        assert escape(text) in html
    assert "已发布 published" in html and "按公司隔离 company-scoped" in html
    for dimension in ("规范性", "完整性", "准确性", "一致性", "时效性", "可访问性"):
        assert dimension not in html  # no database, no quality figures ...
    assert "暂无质量检查结果" in html  # ... and it says so
    rows = re.findall(r'<tr id="col-([a-z0-9_]+)"><td class="num">(\d+)</td><td><code>([^<]+)</code>', html)
    assert [(name, int(pos)) for _, pos, name in rows] == [(c.name, c.position) for c in entry.columns]
    net_due = entry.column("net_due_date")
    row = re.search(r'<tr id="col-net_due_date">.*?</tr>', html).group(0)
    assert "净到期日" in row and escape(net_due.en) in row and "模型说明 model" in row
    assert 'href="../glossary.html#term-%E5%87%80%E5%88%B0%E6%9C%9F%E6%97%A5">净到期日</a>' in row  # its term
    bukrs = re.search(r'<tr id="col-bukrs">.*?</tr>', html).group(0)
    assert "<code>BUKRS</code>" in bukrs and "主键" in bukrs
    for table in entry.upstream + entry.downstream:
        assert f'<a href="{page_name(table)}">{escape(catalog.table(table).name_zh)}</a>' in html
    sql = re.search(r'<pre class="sql"><code>(.*?)</code></pre>', html, re.S).group(1)
    assert sql == escape(entry.sql.strip())
    assert "<" in entry.sql or ">" in entry.sql or "'" in entry.sql  # so the escaping above is exercised
    sensitive = [(t.table, c) for t in catalog.tables for c in t.columns if c.sensitivity]
    assert sensitive
    for table, column in sensitive:
        row = re.search(rf'<tr id="{column_anchor(column.name)}">.*?</tr>', read(site / "tables" / page_name(table)))
        assert f'<span class="sensitive">{escape(column.sensitivity)}</span>' in row.group(0)


def test_a_table_page_draws_its_column_lineage_with_links_to_the_neighbouring_tables(site, catalog, lineage):
    entry = catalog.table(AR_ITEM)
    svg = svg_of(read(site / "tables" / page_name(AR_ITEM)))
    # every neighbouring table is a box whose header opens its page; this table is not linked
    linked = set(re.findall(r'<a href="([^"#]+\.html)" class="table-link">', svg))
    assert linked == {page_name(t) for t in entry.upstream + entry.downstream}
    assert re.findall(r'<g class="box" data-table="([^"]+)">', svg).count(AR_ITEM) == 1
    # every column edge into and out of the table is drawn, coloured by its kind
    drawn = {(m.group(2), m.group(1)) for m in re.finditer(
        r'<path class="edge edge-(\w+)" [^>]*><title>([^<（]+)（', svg)}
    columns = [f"{AR_ITEM}.{c}" for c in lineage.columns_of(AR_ITEM)]
    expected = {(f"{e.source} → {e.target}", e.kind) for c in columns
                for e in lineage.sources_of(c) + lineage.targets_of(c)}
    filters = {(f"{e.source} → {AR_ITEM}", "filter") for c in columns
               for e in lineage.sources_of(c, filters=True) if e.kind == "filter"}
    filters |= {(f"{e.source} → dws.dws_ar_aging", "filter") for c in columns
                for e in lineage.targets_of(c, filters=True) if e.kind == "filter"}
    assert {k for _, k in expected} == {"direct", "transform"} and filters
    assert drawn == expected | filters
    for kind in ("direct", "transform", "filter"):
        assert f'stroke="{KIND_COLOURS[kind]}"' in svg
    # the columns in the middle link to their rows of the columns table; their descriptions show
    for column in entry.columns:
        assert f'<a href="#{column_anchor(column.name)}" class="row-link">' in svg
    assert "净到期日" in svg and "stg.stg_ar_item" in svg


def test_a_table_without_lineage_says_so_and_an_ods_table_has_no_upstream(site, catalog):
    ods = read(site / "tables" / page_name("ods.bsid"))
    assert "无上游表 no upstream tables" in svg_of(ods)
    assert '<a href="stg.stg_ar_item.html" class="table-link">' in svg_of(ods)
    assert '<pre class="sql">' not in ods  # delivered as is: no model SQL


def test_the_glossary_lists_every_term_with_the_columns_that_carry_it(site, catalog):
    html = read(site / "glossary.html")
    for term in catalog.glossary:
        section = re.search(rf'<section class="term" id="term-{re.escape(escape(term.term))}">.*?</section>', html, re.S)
        assert section, term.term
        body = section.group(0)
        for text in (term.term, term.en, term.definition.zh, term.definition.en, *term.synonyms, *term.sap):
            assert escape(text) in body, (term.term, text)
        carrying = [(t.table, c.name) for t in catalog.tables for c in t.columns if term.term in c.terms]
        for table, column in carrying:
            assert f'<a href="tables/{page_name(table)}#{column_anchor(column)}"><code>{table}.{column}</code>' in body
    assert html.count('<section class="term"') == len(catalog.glossary)
    net_due = re.search(r'<section class="term" id="term-净到期日">.*?</section>', html, re.S).group(0)
    assert f'href="tables/{page_name(AR_ITEM)}#col-net_due_date"' in net_due


def test_the_guide_is_the_return_guide_in_html(site, guide):
    html = read(site / "guide.html")
    assert '<h1 id="s1">回流指导手册 Return guide</h1>' in html
    assert "<code>catalog/register.yaml</code>" in html
    assert "<code>&lt;landing&gt;/&lt;业务日期 YYYYMMDD&gt;/</code>" in html  # escaped inside code
    assert "|---|" not in html and "`" not in html
    markdown_tables = re.findall(r"^\|(?:---\|)+$", guide, re.M)
    assert len(markdown_tables) > 10
    assert html.count('<table class="grid">') == len(markdown_tables)
    assert html.count("<li>") >= guide.count("\n- ")
    assert "<td><code>BUKRS</code></td><td>公司代码</td>" in html
    assert '<a href="#s2">交付规则 Delivery rules</a>' in html  # the contents


def test_markdown_subset():
    html, headings = markdown_to_html(
        "# A <b>\n\ntext `x|y` and **bold**\nmore\n\n- one\n- two `<t>`\n\n1. first\n2. second\n\n"
        "| a | b |\n|---|:--:|\n| `p|q` | c \\| d |\n| 1 | 2 |\n")
    assert headings == [(1, "s1", "A <b>")]
    assert '<h1 id="s1">A &lt;b&gt;</h1>' in html
    assert "<p>text <code>x|y</code> and <strong>bold</strong> more</p>" in html
    assert "<ul><li>one</li><li>two <code>&lt;t&gt;</code></li></ul>" in html
    assert "<ol><li>first</li><li>second</li></ol>" in html
    assert ("<thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td><code>p|q</code></td><td>c | d</td></tr>"
            "<tr><td>1</td><td>2</td></tr></tbody>") in html


def test_every_text_is_escaped(tmp_path, catalog, lineage):
    odd = copy.deepcopy(catalog)
    entry = odd.table(AR_ITEM)
    entry.name_zh = "应收<script>alert(1)</script>"
    entry.description_en = 'items & "quotes" <b>'
    entry.columns[0].zh = "公司<i>代码"
    write_site(odd, lineage, tmp_path / "site", "# 手册 <x>\n\n| a |\n|---|\n| <tr> |\n")
    for path in (tmp_path / "site").rglob("*.html"):
        html = read(path)
        assert "<script>alert" not in html and "<i>代码" not in html and "<x>" not in html, path
    page = read(tmp_path / "site" / "tables" / page_name(AR_ITEM))
    assert "<h1>应收&lt;script&gt;alert(1)&lt;/script&gt; " in page
    assert "items &amp; &quot;quotes&quot; &lt;b&gt;" in page
    assert '<td class="zh">公司&lt;i&gt;代码</td>' in page
    assert "应收&lt;script&gt;alert(1)" in svg_of(read(tmp_path / "site" / "tables" / page_name("dws.dws_ar_aging")))
    assert "应收&lt;script&gt;" in read(tmp_path / "site" / "index.html")
    guide = read(tmp_path / "site" / "guide.html")
    assert "手册 &lt;x&gt;</h1>" in guide and "<td>&lt;tr&gt;</td>" in guide


def test_rewriting_removes_only_what_it_wrote(tmp_path, catalog, lineage, guide):
    out = tmp_path / "site"
    write_site(catalog, lineage, out, guide)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    smaller = copy.deepcopy(catalog)
    smaller.tables = [t for t in smaller.tables if t.table != "ods.bsid"]
    write_site(smaller, lineage, out, guide)
    assert not (out / "tables" / page_name("ods.bsid")).exists()  # gone with its table
    assert (out / "tables" / page_name(AR_ITEM)).exists()
    assert read(out / "notes.txt") == "mine"  # not ours: kept
    foreign = tmp_path / "elsewhere"
    foreign.mkdir()
    (foreign / "index.html").write_text("someone else's", encoding="utf-8")
    with pytest.raises(SiteError, match="not empty"):
        write_site(catalog, lineage, foreign, guide)
    assert read(foreign / "index.html") == "someone else's"


# ---- in the browser -------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_browser_search_gives_the_same_hits_in_the_same_order_as_python(page, site, catalog):
    page.goto((site / "index.html").as_uri())
    searcher = Searcher(catalog)
    vocab = set(searcher.vocab)
    shown = page.evaluate("qs => qs.map(q => [window.catalogSearch(q), window.catalogQueryWords(q)])", QUERIES)
    for query, (keys, words) in zip(QUERIES, shown, strict=True):
        assert words == query_words(query, vocab), query
        assert keys == [h.document.key for h in searcher.search(query, limit=None)], query
    found = dict(zip(QUERIES, (keys for keys, _ in shown), strict=True))
    assert found["应收账龄"][:2] == ["dws.dws_ar_aging", "dwd.dwd_ar_item"]
    assert found["客户 应收 账龄"] == found["客户应收账龄"] != []
    assert "dwd.dwd_ar_item" in found["ar"] and found["dwd_ar_item"][0] == AR_ITEM
    assert found["ＢＵＫＲＳ"] == found["BUKRS"] != [] and found["xyzzy 不存在的词"] == [] == found[""]
    assert any(len(keys) > 10 for keys in found.values())  # long rankings compared, not only short ones
    # the separators: Python's \s is not JS's, so the port spells it out; compare every BMP character
    js = page.evaluate("() => { const out = []; for (let c = 0; c < 0x10000; c++) {"
                       " if (c < 0xd800 || c > 0xdfff) { if (window.catalogIsSeparator(String.fromCharCode(c)))"
                       " out.push(c); } } return out; }")
    assert js == [c for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF and _SPLIT.fullmatch(chr(c))]
    # ?q= opens with the search run
    page.goto((site / "index.html").as_uri() + "?q=" + "客户应收账龄")
    assert page.input_value("#q") == "客户应收账龄"
    keys = page.locator("#results li.hit").evaluate_all("items => items.map(i => i.dataset.key)")
    assert keys == found["客户应收账龄"]


@pytest.mark.slow
def test_a_person_searches_opens_a_table_and_follows_its_lineage_upstream(page, db_site, db_catalog):
    entry = db_catalog.table(AR_ITEM)
    assert entry.exists and entry.row_count and entry.quality and entry.trend  # figures from the database

    page.goto((db_site / "index.html").as_uri())
    page.fill("#q", "应收账龄")
    hits = page.locator("#results li.hit")
    hits.first.wait_for()
    keys = hits.evaluate_all("items => items.map(i => i.dataset.key)")
    assert keys[:2] == ["dws.dws_ar_aging", AR_ITEM]
    first = hits.nth(1)
    assert first.locator(".badge").inner_text() == "明细层 dwd"
    assert first.locator(".zh").inner_text() == "应收明细"
    assert first.locator("code").inner_text() == AR_ITEM
    assert "找到" in page.inner_text("#search-status")
    page.screenshot(path=str(ARTEFACTS / "catalog_search.png"), full_page=True)

    first.locator("a.hit-title").click()
    page.wait_for_url(re.compile(re.escape(page_name(AR_ITEM)) + "$"))
    assert page.locator("h1").inner_text().startswith("应收明细")
    columns = page.locator("table.columns tbody tr")
    assert columns.count() == len(entry.columns)
    row = page.locator("#col-net_due_date")
    assert row.is_visible() and "净到期日" in row.inner_text() and "net_due_date" in row.inner_text()
    assert f"{entry.row_count:,}" in page.locator("table.facts").inner_text()
    score = page.locator("#quality-score")
    assert score.is_visible()
    assert score.inner_text() == f"{100 * entry.quality_score:.1f}%"
    quality = page.locator("table.quality").inner_text()
    for dimension, (passed, total) in entry.quality.items():
        assert dimension in quality and f"{passed} / {total}" in quality
    assert page.locator("svg.trend rect.fill").count() == len(entry.trend)
    svg = page.locator("svg.lineage")
    assert svg.is_visible()
    box = svg.bounding_box()
    assert box["width"] > 600 and box["height"] > 400
    upstream = svg.locator('a.table-link[href="stg.stg_ar_item.html"]')
    assert upstream.is_visible()
    page.screenshot(path=str(ARTEFACTS / "catalog_dwd_ar_item.png"), full_page=True)

    upstream.click()
    page.wait_for_url(re.compile(r"stg\.stg_ar_item\.html$"))
    assert page.locator("h1").inner_text().startswith(db_catalog.table("stg.stg_ar_item").name_zh)
    # ... where dwd_ar_item is now the downstream neighbour, linked back
    assert page.locator(f'svg.lineage a.table-link[href="{page_name(AR_ITEM)}"]').is_visible()
    page.screenshot(path=str(ARTEFACTS / "catalog_upstream.png"), full_page=True)
