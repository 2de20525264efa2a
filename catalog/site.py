"""The data catalog's static site (数据目录网站): plain HTML files that work opened from disk (file://)
with no server, or served as they are (the data service serves them at /catalog/).

`write_site(catalog, lineage, out, guide_markdown)` writes:

- `index.html` — search (检索) and every table by layer. The search runs in the browser: `search.js`
  (a copy of catalog/site_assets/search.js) is a port of catalog/search.py over the same documents
  and vocabulary, which `search-index.js` sets as `window.CATALOG_INDEX` (a script, not a fetch():
  browsers refuse fetch() on file:// pages). `index.html?q=应收账龄` opens with the search run.
- `tables/<schema.table>.html` — one page per table: names, layer, domain, owner, descriptions, grain,
  key, flags, row count, freshness, quality per GB/T 36344 dimension with the failing checks and the
  trend, upstream / downstream tables, glossary terms, the columns, the column lineage as an inline SVG
  picture (upstream tables' columns left, this table's middle, downstream tables' right) and the SQL.
- `glossary.html` — every glossary term with the columns that carry it; `guide.html` — the return
  guide (回流指导手册) rendered from its Markdown.

Everything is written under `out`; files this function wrote before (listed in `.catalog-site.json`)
are removed first, nothing else is. A folder with other content and no such list is refused.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from html import escape
from pathlib import Path
from urllib.parse import quote

from catalog.builder import LAYER_EN, LAYER_ZH_ALL, LAYERS, Catalog, CatalogTable
from catalog.search import PLACE_ZH, index_json
from lineage.project.model_graph import LineageEdge, ModelLineage, split_column
from lineage.render.graph import KIND_COLOURS, KIND_ZH, LAYER_COLOURS
from quality.specs import DIMENSIONS

ASSETS = Path(__file__).with_name("site_assets")
MANIFEST = ".catalog-site.json"
SITE_TITLE = "数据目录 Data catalog"


class SiteError(RuntimeError):
    """The output folder cannot be used for the site."""


def e(value: object) -> str:
    """HTML-escaped text (quotes too: safe inside attributes)."""
    return escape("" if value is None else str(value), quote=True)


def page_name(table: str) -> str:
    """`dwd.dwd_ar_item` -> `dwd.dwd_ar_item.html` (anything unusual in a name becomes `_`)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", table) + ".html"


def term_anchor(term: str) -> str:
    return "term-" + term


def term_href(term: str, prefix: str = "") -> str:
    return f"{prefix}glossary.html#{quote(term_anchor(term))}"


def column_anchor(column: str) -> str:
    return "col-" + re.sub(r"[^a-z0-9_]", "_", column.lower())


def layer_label(layer: str) -> str:
    """明细层 dwd."""
    return f"{LAYER_ZH_ALL.get(layer, layer)} {layer}"


# ---- writing -----------------------------------------------------------------------------------


def write_project_site(catalog: Catalog, out: Path) -> Path:
    """The site of the project's catalog: lineage of the model files, the guide from the register."""
    from catalog.guide import render_guide
    from catalog.register import load_reference, load_register
    from lineage.project.resolve import project_lineage

    register = load_register()
    return write_site(catalog, project_lineage(register=register), out, render_guide(register, load_reference()))


def write_site(catalog: Catalog, lineage: ModelLineage, out: Path, guide_markdown: str) -> Path:
    """Write the static site into `out` (created if missing); returns the path of its index.html."""
    out = Path(out)
    _clear(out)
    files: dict[str, str] = {}
    by_name = {t.table: t for t in catalog.tables}
    has_db = any(t.exists for t in catalog.tables)
    files["index.html"] = _index_page(catalog)
    files["search-index.js"] = _search_index(catalog)
    files["glossary.html"] = _glossary_page(catalog)
    files["guide.html"] = _guide_page(guide_markdown)
    for table in catalog.tables:
        files[f"tables/{page_name(table.table)}"] = _table_page(table, by_name, lineage, has_db)
    for asset in sorted(ASSETS.iterdir()):
        if asset.is_file():
            files[asset.name] = asset.read_text(encoding="utf-8")
    for relative, text in files.items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (out / MANIFEST).write_text(json.dumps(sorted(files), ensure_ascii=False, indent=1), encoding="utf-8")
    return out / "index.html"


def _clear(out: Path) -> None:
    """Remove what an earlier write_site put in `out`, and only that."""
    if out.exists() and not out.is_dir():
        raise SiteError(f"{out} is a file, not a folder for the catalog site")
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST
    if not manifest.is_file():
        if any(out.iterdir()):
            raise SiteError(f"{out} is not empty and holds no catalog site ({MANIFEST} is missing): "
                            f"choose an empty or new folder")
        return
    root = out.resolve()
    written = json.loads(manifest.read_text(encoding="utf-8"))
    for relative in written:
        target = (out / relative).resolve()
        if target.is_relative_to(root) and target != root and target.is_file():
            target.unlink()
    for folder in sorted({(out / r).parent for r in written}, key=lambda p: len(p.parts), reverse=True):
        if folder.resolve() != root and folder.resolve().is_relative_to(root) and folder.is_dir() \
                and not any(folder.iterdir()):
            folder.rmdir()
    manifest.unlink()


# ---- the frame of every page --------------------------------------------------------------------

ACTIVE = ' class="active"'
NAV = (("index.html", "检索", "Search"), ("glossary.html", "术语表", "Glossary"),
       ("guide.html", "回流指导手册", "Guide"))


def _page(title: str, body: str, *, depth: int = 0, active: str | None = None, scripts: tuple[str, ...] = (),
          built: str | None = None) -> str:
    prefix = "../" * depth
    nav = "".join(
        f'<a href="{prefix}{href}"{ACTIVE if href == active else ""}>{e(zh)} '
        f'<span class="en">{e(en)}</span></a>' for href, zh, en in NAV)
    script_tags = "".join(f'<script src="{prefix}{e(s)}"></script>' for s in scripts)
    footer = f'<footer>{e(built)}</footer>' if built else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)} · {e(SITE_TITLE)}</title>\n"
        f'<link rel="stylesheet" href="{prefix}site.css">\n</head>\n<body>\n'
        f'<header class="top"><a class="brand" href="{prefix}index.html">数据目录 '
        f'<span class="en">Data catalog</span></a><nav>{nav}</nav></header>\n'
        f'<main>\n{body}\n</main>\n{footer}\n{script_tags}\n</body>\n</html>\n'
    )


def _built_line(catalog: Catalog) -> str:
    source = catalog.source_db or "仅模型与清单文件 files only (no database)"
    return f"目录生成于 built {catalog.built_at:%Y-%m-%d %H:%M} UTC · 数据来源 source: {source}"


def _yes_no(value: bool | None) -> str:
    if value is None:
        return "—"
    return "是 yes" if value else "否 no"


def _table_link(table: str, by_name: dict[str, CatalogTable], prefix: str = "") -> str:
    entry = by_name.get(table)
    if entry is None:
        return f"<code>{e(table)}</code>"
    return (f'<a href="{prefix}{e(page_name(table))}">{e(entry.name_zh)}</a> '
            f'<code>{e(table)}</code>')


# ---- index.html: search and the tables by layer -------------------------------------------------


def _index_page(catalog: Catalog) -> str:
    parts = [
        '<h1>数据目录 <span class="en">Data catalog</span></h1>',
        '<form id="search-form" class="search" action="index.html" method="get" role="search">'
        '<input id="q" name="q" type="search" autocomplete="off" '
        'placeholder="检索表、字段、术语、SAP 字段…  Search tables, columns, glossary terms, SAP codes" '
        'aria-label="检索 Search">'
        '<button type="submit">检索 Search</button></form>',
        '<p class="hint">中文可连写或以空格分隔（如 <a href="index.html?q=客户应收账龄">客户应收账龄</a>、'
        '<a href="index.html?q=净到期日">净到期日</a>）；英文按词首匹配（如 '
        '<a href="index.html?q=receivable%20aging">receivable aging</a>、'
        '<a href="index.html?q=BUKRS">BUKRS</a>）。 Chinese with or without spaces; English words match '
        'from their start.</p>',
        '<p id="search-status" class="status" aria-live="polite"></p>',
        '<ol id="results" class="hits"></ol>',
        '<h2>全部表 <span class="en">All tables, by layer</span></h2>',
    ]
    by_layer: dict[str, list[CatalogTable]] = defaultdict(list)
    for table in catalog.tables:
        by_layer[table.layer].append(table)
    toc = " · ".join(f'<a href="#layer-{e(layer)}">{e(layer_label(layer))}（{len(by_layer[layer])}）</a>'
                     for layer in LAYERS if by_layer.get(layer))
    parts.append(f'<p class="toc">{toc}</p>')
    for layer in LAYERS:
        tables = by_layer.get(layer)
        if not tables:
            continue
        rows = "".join(
            f'<tr><td class="zh"><a href="tables/{e(page_name(t.table))}">{e(t.name_zh)}</a></td>'
            f'<td><code>{e(t.table)}</code></td><td class="en">{e(t.name_en)}</td>'
            f'<td class="num">{_count(t.row_count)}</td></tr>' for t in tables)
        parts.append(
            f'<section class="layer" id="layer-{e(layer)}">'
            f'<h3><span class="badge layer-{e(layer)}">{e(layer_label(layer))}</span> '
            f'<span class="en">{e(LAYER_EN.get(layer, ""))}</span></h3>'
            '<table class="listing"><colgroup><col class="c-zh"><col class="c-table"><col><col class="c-rows">'
            f'</colgroup><thead><tr><th>中文名</th><th>表名 Table</th><th>English</th>'
            f'<th class="num">行数 Rows</th></tr></thead><tbody>{rows}</tbody></table></section>')
    return _page("检索 Search", "\n".join(parts), active="index.html",
                 scripts=("search-index.js", "search.js"), built=_built_line(catalog))


def _count(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


def _search_index(catalog: Catalog) -> str:
    """`window.CATALOG_INDEX`: catalog.search's index plus what a hit shows (labels, links)."""
    data = index_json(catalog)
    pages = {t.table: {"href": f"tables/{page_name(t.table)}", "en": t.name_en} for t in catalog.tables}
    pages.update({g.term: {"href": term_href(g.term), "en": g.en} for g in catalog.glossary})
    data["pages"] = pages
    data["layer_names"] = {**{layer: layer_label(layer) for layer in LAYERS}, "glossary": "术语 glossary"}
    data["place_names"] = {str(place): label for place, label in PLACE_ZH.items()}
    # ASCII only: the file reads the same whatever encoding a browser assumes for it
    return "window.CATALOG_INDEX = " + json.dumps(data, ensure_ascii=True, separators=(",", ":")) + ";\n"


# ---- one page per table ---------------------------------------------------------------------------


def _table_page(t: CatalogTable, by_name: dict[str, CatalogTable], lineage: ModelLineage, has_db: bool) -> str:
    parts = [
        f'<p class="crumbs"><a href="../index.html">数据目录</a> › '
        f'<a href="../index.html#layer-{e(t.layer)}">{e(layer_label(t.layer))}</a> › <code>{e(t.table)}</code></p>',
        f'<h1>{e(t.name_zh)} <span class="en">{e(t.name_en)}</span></h1>',
        f'<p class="subtitle"><span class="badge layer-{e(t.layer)}">{e(layer_label(t.layer))}</span> '
        f'<code class="table-name">{e(t.table)}</code>'
        + (' <span class="flag">已发布 published</span>' if t.published else "")
        + (' <span class="flag">按公司隔离 company-scoped</span>' if t.company_scoped else "")
        + (' <span class="flag muted">数据库中无此表 not in the database</span>' if has_db and not t.exists else "")
        + "</p>",
        f'<div class="description"><p>{e(t.description_zh)}</p><p class="en">{e(t.description_en)}</p></div>',
        _facts(t, by_name),
        _quality(t, has_db),
        _columns(t, by_name),
        '<h2 id="lineage">字段血缘 <span class="en">Column lineage</span></h2>',
        _lineage_svg(t, by_name, lineage),
    ]
    if t.sql:
        parts.append('<h2 id="sql">模型 SQL <span class="en">Model SQL</span></h2>'
                     + (f'<p class="muted"><code>{e(t.path)}</code></p>' if t.path else "")
                     + f'<pre class="sql"><code>{e(t.sql.strip())}</code></pre>')
    return _page(f"{t.name_zh} {t.table}", "\n".join(parts), depth=1)


def _facts(t: CatalogTable, by_name: dict[str, CatalogTable]) -> str:
    rows = [
        ("层", "Layer", f'{e(layer_label(t.layer))} <span class="en">{e(LAYER_EN.get(t.layer, ""))}</span>'),
        ("业务域", "Domain", e(t.domain)),
        ("责任人", "Owner", e(t.owner)),
        ("粒度", "Grain", e(t.grain)),
        ("主键", "Key", ", ".join(f"<code>{e(k)}</code>" for k in t.key) or "—"),
        ("已发布", "Published", _yes_no(t.published) + ('（分析人员经数据服务查询 analysts query it through the data '
                                                        'service）' if t.published else "")),
        ("按公司隔离", "Company-scoped", _yes_no(t.company_scoped) + ("（含 <code>bukrs</code>，按公司代码授权 "
                                                                 "rows filtered by company code）"
                                                                 if t.company_scoped else "")),
        ("行数", "Row count", _count(t.row_count)),
        ("最新业务日期", "Latest business date loaded", e(t.latest_biz_date) if t.latest_biz_date else "—"),
        ("刷新时间", "Refreshed at (UTC)",
         e(t.refreshed_at.strftime("%Y-%m-%d %H:%M:%S")) if t.refreshed_at else "—"),
    ]
    body = "".join(f'<tr><th>{zh} <span class="en">{en}</span></th><td>{value}</td></tr>'
                   for zh, en, value in rows)
    return f'<table class="facts">{body}{_neighbours(t, by_name)}</table>'


def _neighbours(t: CatalogTable, by_name: dict[str, CatalogTable]) -> str:
    def links(tables: list[str]) -> str:
        if not tables:
            return '<span class="muted">无 none</span>'
        return "<ul class=\"inline\">" + "".join(f"<li>{_table_link(x, by_name)}</li>" for x in tables) + "</ul>"

    terms = ("<ul class=\"inline\">" + "".join(f'<li><a class="term" href="{e(term_href(x, "../"))}">{e(x)}</a></li>'
                                               for x in t.terms) + "</ul>") if t.terms else \
        '<span class="muted">无 none</span>'
    return (
        f'<tr><th>上游表 <span class="en">Upstream</span></th><td>{links(t.upstream)}</td></tr>'
        f'<tr><th>下游表 <span class="en">Downstream</span></th><td>{links(t.downstream)}</td></tr>'
        f'<tr><th>业务术语 <span class="en">Glossary terms</span></th><td>{terms}</td></tr>'
    )


def _percent(passed: int, total: int) -> str:
    return f"{100 * passed / total:.1f}%" if total else "—"


def _quality(t: CatalogTable, has_db: bool) -> str:
    out = ['<h2 id="quality">数据质量 <span class="en">Data quality (GB/T 36344)</span></h2>']
    if not t.quality:
        out.append('<p class="muted">暂无质量检查结果 no quality results'
                   + ("（目录未连接数据库生成 the catalog was built without a database）" if not has_db else
                      "（该表没有质量检查 no checks run on this table）") + "</p>")
        if t.trend:
            out.append(_trend_svg(t))
        return "\n".join(out)
    passed = sum(p for p, _ in t.quality.values())
    total = sum(n for _, n in t.quality.values())
    score = t.quality_score
    out.append(f'<p class="score-line">质量得分 <span class="en">Score</span> '
               f'<span class="score {_score_class(score)}" id="quality-score">{_percent(passed, total)}</span>'
               f'　通过 passed {passed} / {total} 项检查 checks · 业务日期 business date '
               f'{e(t.quality_date) if t.quality_date else "—"}</p>')
    rows = []
    for zh, en in DIMENSIONS.items():
        p, n = t.quality.get(zh, (0, 0))
        share = p / n if n else None
        bar = (f'<span class="bar"><span class="fill {_score_class(share)}" style="width:{100 * share:.0f}%">'
               f'</span></span>') if n else ""
        rows.append(f'<tr><th>{e(zh)} <span class="en">{e(en)}</span></th>'
                    f'<td class="num">{f"{p} / {n}" if n else "无检查 no checks"}</td>'
                    f'<td class="num">{_percent(p, n)}</td><td class="barcell">{bar}</td></tr>')
    for dim, (p, n) in t.quality.items():  # a dimension the standard list does not have
        if dim not in DIMENSIONS:
            rows.append(f'<tr><th>{e(dim)}</th><td class="num">{p} / {n}</td><td class="num">{_percent(p, n)}</td>'
                        f'<td></td></tr>')
    out.append('<table class="quality"><thead><tr><th>维度 <span class="en">Dimension</span></th>'
               '<th class="num">通过 / 检查 <span class="en">passed / checks</span></th>'
               '<th class="num">得分 <span class="en">Score</span></th><th></th></tr></thead>'
               f'<tbody>{"".join(rows)}</tbody></table>')
    if t.failing:
        items = "".join(
            f'<tr><td><code>{e(f["check"])}</code></td>'
            f'<td><span class="sev sev-{e(f["severity"])}">{"错误 error" if f["severity"] == "error" else "警告 warn"}'
            f'</span></td><td>{e(f["dimension"])}</td>'
            f'<td>{e(f["description_zh"])}<div class="en">{e(f["description_en"])}</div></td></tr>'
            for f in t.failing)
        out.append('<h3>未通过的检查 <span class="en">Failing checks (latest)</span></h3>'
                   '<table class="grid failing"><thead><tr><th>检查 Check</th><th>级别 Severity</th>'
                   f'<th>维度 Dimension</th><th>说明 Description</th></tr></thead><tbody>{items}</tbody></table>')
    else:
        out.append('<p class="ok">最新一次检查全部通过 all checks passed on the latest date</p>')
    if t.trend:
        out.append(_trend_svg(t))
    return "\n".join(out)


def _score_class(share: float | None) -> str:
    if share is None:
        return ""
    return "good" if share >= 0.999 else "fair" if share >= 0.9 else "poor"


def _trend_svg(t: CatalogTable) -> str:
    """Pass rate per business date, oldest left, as bars."""
    points = t.trend
    slot, chart_h, top, left = 40, 120, 22, 44
    width = left + slot * len(points) + 10
    height = top + chart_h + 40
    body = [f'<text x="{left - 6}" y="{top + 4}" class="axis" text-anchor="end">100%</text>',
            f'<text x="{left - 6}" y="{top + chart_h / 2 + 4}" class="axis" text-anchor="end">50%</text>',
            f'<text x="{left - 6}" y="{top + chart_h + 4}" class="axis" text-anchor="end">0%</text>',
            f'<line x1="{left}" y1="{top}" x2="{width - 10}" y2="{top}" class="gridline"/>',
            f'<line x1="{left}" y1="{top + chart_h / 2}" x2="{width - 10}" y2="{top + chart_h / 2}" class="gridline"/>',
            f'<line x1="{left}" y1="{top + chart_h}" x2="{width - 10}" y2="{top + chart_h}" class="axisline"/>']
    for i, point in enumerate(points):
        passed, total = int(point["passed"]), int(point["total"])
        share = passed / total if total else 0.0
        h = chart_h * share
        x = left + i * slot + 8
        day = str(point["biz_date"])
        body.append(
            f'<g class="trend-bar"><title>{e(day)}: {passed} / {total} 通过 passed</title>'
            f'<rect x="{x}" y="{top + chart_h - h:.1f}" width="{slot - 16}" height="{h:.1f}" '
            f'class="fill {_score_class(share)}"/>'
            f'<text x="{x + (slot - 16) / 2}" y="{top + chart_h - h - 4:.1f}" class="val" text-anchor="middle">'
            f'{100 * share:.0f}</text>'
            f'<text x="{x + (slot - 16) / 2}" y="{top + chart_h + 16}" class="axis" text-anchor="middle">'
            f'{e(day[5:])}</text></g>')
    return ('<h3>质量趋势 <span class="en">Pass rate per business date (%)</span></h3>'
            f'<div class="svgwrap inline"><svg class="trend" xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="质量趋势 quality trend">'
            + "".join(body) + "</svg></div>")


_ORIGIN_ZH = {"model": "模型说明 model", "register": "回流表清单 register", "batch column": "批次字段 batch column",
              "reference": "参考数据 reference"}


def _origin(origin: str | None, by_name: dict[str, CatalogTable]) -> str:
    if not origin:
        return '<span class="muted">无描述 undocumented</span>'
    if origin.startswith("inherited from "):
        source = origin.removeprefix("inherited from ")
        table, column = split_column(source)
        link = (f'<a href="{e(page_name(table))}#{e(column_anchor(column))}"><code>{e(source)}</code></a>'
                if table in by_name else f"<code>{e(source)}</code>")
        return f"继承自 inherited from {link}"
    return e(_ORIGIN_ZH.get(origin, origin))


def _sensitive(value: str | None) -> str:
    return f'<span class="sensitive">{e(value)}</span>' if value else ""


def _columns(t: CatalogTable, by_name: dict[str, CatalogTable]) -> str:
    head = ("<tr><th>#</th><th>字段 <span class=\"en\">Column</span></th><th>类型 <span class=\"en\">Type</span></th>"
            "<th>可空 <span class=\"en\">Nullable</span></th><th>中文描述</th><th>English</th>"
            "<th>SAP 字段 <span class=\"en\">field</span></th><th>敏感 <span class=\"en\">Sensitivity</span></th>"
            "<th>描述来源 <span class=\"en\">Origin</span></th><th>术语 <span class=\"en\">Terms</span></th></tr>")
    rows = []
    for c in t.columns:
        terms = "、".join(f'<a href="{e(term_href(x, "../"))}">{e(x)}</a>' for x in c.terms)
        key = ' <span class="pk" title="主键 key">主键</span>' if c.name.lower() in {k.lower() for k in t.key} else ""
        rows.append(
            f'<tr id="{e(column_anchor(c.name))}"><td class="num">{c.position}</td>'
            f'<td><code>{e(c.name)}</code>{key}</td><td><code>{e(c.type) if c.type else "—"}</code></td>'
            f'<td>{_yes_no(c.nullable)}</td><td class="zh">{e(c.zh) if c.zh else "—"}</td>'
            f'<td class="en">{e(c.en) if c.en else "—"}</td>'
            f'<td>{f"<code>{e(c.sap_code)}</code>" if c.sap_code else ""}</td>'
            f'<td>{_sensitive(c.sensitivity)}</td>'
            f'<td class="origin">{_origin(c.origin, by_name)}</td><td class="terms">{terms}</td></tr>')
    return (f'<h2 id="columns">字段 <span class="en">Columns</span>（{len(t.columns)}）</h2>'
            f'<div class="tablewrap"><table class="grid columns"><thead>{head}</thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


# ---- the column lineage picture ----------------------------------------------------------------------

ROW_H = 20
HEAD_H = 38
BOX_GAP = 14
COL_GAP = 120
FONT = 12
PAD = 8
MAX_DESC = 14  # characters of a column's Chinese description shown in a row (the rest in its tooltip)
TOP = 34  # room for the column titles


def text_width(text: str, size: float = FONT) -> float:
    """Rough rendered width: CJK and full-width characters one em, others 0.6 em."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else 0.6 * size for ch in text)


def _short(text: str | None, limit: int = MAX_DESC) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Box:
    def __init__(self, table: str, rows: list[str]) -> None:
        self.table = table
        self.rows = rows
        self.x = 0.0
        self.y = 0.0
        self.width = 0.0

    @property
    def height(self) -> float:
        return HEAD_H + ROW_H * len(self.rows)

    def row_y(self, column: str) -> float:
        return self.y + HEAD_H + ROW_H * (self.rows.index(column) + 0.5)


def _lineage_svg(t: CatalogTable, by_name: dict[str, CatalogTable], lineage: ModelLineage) -> str:
    """This table's columns in the middle; the columns of the tables it reads on the left and of
    the tables reading it on the right. Column edges are coloured by kind; a filter edge (it decides
    which rows exist, so it concerns every column) runs to the other table's header."""
    columns = list(lineage.columns_of(t.table) or ())
    if not columns:
        why = lineage.problem_for(t.table)
        return ('<p class="muted">无字段血缘 no column lineage for this table'
                + (f"：<code>{e(why)}</code>" if why else "") + "</p>")
    full = [f"{t.table}.{c}" for c in columns]
    up = [edge for c in full for edge in lineage.sources_of(c, filters=True)]
    down = [edge for c in full for edge in lineage.targets_of(c, filters=True)]
    middle = _Box(t.table, columns)
    index = {c: i for i, c in enumerate(full)}

    def side(edges: list[LineageEdge], other: Callable[[LineageEdge], str],
             mine: Callable[[LineageEdge], str], upstream: bool) -> list[_Box]:
        """The neighbouring tables' boxes; rows and boxes ordered by where their edges land in the
        middle box (a filter edge lands on its header), to keep edges from crossing."""
        near: dict[str, list[float]] = defaultdict(list)
        tables: dict[str, list[str]] = defaultdict(list)
        for edge in edges:
            if edge.kind == "filter" and not upstream:
                # a filter edge decides which rows the downstream table has: it runs to its header
                tables.setdefault(split_column(other(edge))[0], [])  # its box, maybe without rows
                continue
            near[other(edge)].append(-1.0 if edge.kind == "filter" else index[mine(edge)])
        spot = {column: sum(places) / len(places) for column, places in near.items()}
        for column in near:
            tables[split_column(column)[0]].append(split_column(column)[1])
        boxes = []
        for table, names in tables.items():
            order = lineage.columns_of(table) or ()
            names.sort(key=lambda c: (spot[f"{table}.{c}"], order.index(c) if c in order else len(order), c))
            boxes.append(_Box(table, names))
        boxes.sort(key=lambda b: (sum(spot[f"{b.table}.{c}"] for c in b.rows) / len(b.rows) if b.rows else -1.0,
                                  b.table))
        return boxes

    left = side(up, lambda edge: edge.source, lambda edge: edge.target, True)
    right = side(down, lambda edge: edge.target, lambda edge: edge.source, False)

    def width_of(box: _Box) -> float:
        name_zh = by_name[box.table].name_zh if box.table in by_name else (lineage.table_title(box.table)[0] or "")
        head = max(text_width(name_zh, FONT + 1), text_width(box.table, FONT - 1))
        rows = max((text_width(c) + 8 + text_width(_short(_describe(lineage, box.table, c))) for c in box.rows),
                   default=0)
        return max(head, rows) + 2 * PAD

    def column_width(boxes: list[_Box]) -> float:
        return max((width_of(b) for b in boxes), default=170.0)

    x = 10.0
    x_left, w_left = x, column_width(left)
    x_mid = x_left + w_left + COL_GAP
    w_mid = width_of(middle)
    x_right = x_mid + w_mid + COL_GAP
    w_right = column_width(right)
    width = x_right + w_right + 10

    def stack(boxes: list[_Box]) -> float:
        return sum(b.height for b in boxes) + BOX_GAP * max(len(boxes) - 1, 0)

    tallest = max(middle.height, stack(left), stack(right))
    for boxes, bx, bw in ((left, x_left, w_left), ([middle], x_mid, w_mid), (right, x_right, w_right)):
        y = TOP + max(0.0, (middle.height - stack(boxes)) / 2)  # level with this table, from the top
        for b in boxes:
            b.x, b.y, b.width = bx, y, bw
            y += b.height + BOX_GAP
    height = TOP + tallest + 16

    at_left = {f"{b.table}.{c}": b for b in left for c in b.rows}
    paths: list[str] = []
    seen: set[tuple[str, str]] = set()
    for edge in up:
        box = at_left[edge.source]
        x1, y1 = box.x + box.width, box.row_y(split_column(edge.source)[1])
        if edge.kind == "filter":
            if (edge.source, "filter") in seen:
                continue
            seen.add((edge.source, "filter"))
            x2, y2 = middle.x, middle.y + HEAD_H / 2
            what = f"{edge.source} → {t.table}"
        else:
            x2, y2 = middle.x, middle.row_y(split_column(edge.target)[1])
            what = f"{edge.source} → {edge.target}"
        paths.append(_edge(x1, y1, x2, y2, edge.kind, what))
    for edge in down:
        target_table = split_column(edge.target)[0]
        box = next(b for b in right if b.table == target_table)
        x1, y1 = middle.x + middle.width, middle.row_y(split_column(edge.source)[1])
        if edge.kind == "filter":
            if (edge.source, target_table) in seen:
                continue
            seen.add((edge.source, target_table))
            x2, y2 = box.x, box.y + HEAD_H / 2
            what = f"{edge.source} → {target_table}"
        else:
            x2, y2 = box.x, box.row_y(split_column(edge.target)[1])
            what = f"{edge.source} → {edge.target}"
        paths.append(_edge(x1, y1, x2, y2, edge.kind, what))

    parts = [_markers(), _column_title(x_left, w_left, "上游表 Upstream"),
             _column_title(x_mid, w_mid, "本表 This table"),
             _column_title(x_right, w_right, "下游表 Downstream"),
             '<g class="edges">', *paths, "</g>"]
    parts += [_box_svg(b, by_name, lineage, link=True) for b in left]
    parts.append(_box_svg(middle, by_name, lineage, link=False))
    parts += [_box_svg(b, by_name, lineage, link=True) for b in right]
    if not left:
        parts.append(f'<text x="{x_left + 4}" y="{middle.y + 20:.1f}" class="none">无上游表 no upstream tables</text>')
    if not right:
        parts.append(f'<text x="{x_right + 4}" y="{middle.y + 20:.1f}" class="none">无下游表 no downstream tables</text>')
    summary = (f'<p class="muted">{len(left)} 张上游表 upstream tables · {len(right)} 张下游表 downstream tables · '
               "点击表头打开该表 click a table's header to open it; 悬停连线查看字段 hover an edge for its columns.</p>")
    return (summary + _legend() + f'<div class="svgwrap"><svg class="lineage" xmlns="http://www.w3.org/2000/svg" '
            f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
            f'aria-label="字段血缘 column lineage of {e(t.table)}">' + "".join(parts) + "</svg></div>")


def _describe(lineage: ModelLineage, table: str, column: str) -> str:
    doc = lineage.description(f"{table}.{column}")
    return doc.zh if doc else ""


def _edge(x1: float, y1: float, x2: float, y2: float, kind: str, what: str) -> str:
    bend = (x2 - x1) / 2
    dash = ' stroke-dasharray="5 3"' if kind == "filter" else ""
    return (f'<path class="edge edge-{e(kind)}" d="M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},'
            f'{y2:.1f} {x2:.1f},{y2:.1f}" stroke="{KIND_COLOURS.get(kind, "#6b7280")}"{dash} '
            f'marker-end="url(#arrow-{e(kind)})"><title>{e(what)}（{e(KIND_ZH.get(kind, kind))} {e(kind)}）</title>'
            "</path>")


def _markers() -> str:
    return "<defs>" + "".join(
        f'<marker id="arrow-{kind}" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" '
        f'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="{colour}"/></marker>'
        for kind, colour in KIND_COLOURS.items()) + "</defs>"


LEGEND = {"direct": "直接 direct：取值复制 a copy", "transform": "计算 transform：参与表达式 feeds an expression",
          "filter": "过滤 filter：决定哪些行存在，连到表头 decides which rows exist (drawn to the header)"}


def _legend() -> str:
    """The edge kinds, as an HTML line above the picture."""
    items = []
    for kind, colour in KIND_COLOURS.items():
        dash = ' stroke-dasharray="5 3"' if kind == "filter" else ""
        items.append(f'<span class="kind"><svg width="30" height="10" aria-hidden="true"><line x1="0" y1="5" x2="30" '
                     f'y2="5" stroke="{colour}" stroke-width="2.5"{dash}/></svg> {e(LEGEND[kind])}</span>')
    return f'<p class="legend">{"".join(items)}</p>'


def _column_title(x: float, width: float, text: str) -> str:
    return f'<text x="{x + width / 2:.1f}" y="{TOP - 12}" text-anchor="middle" class="coltitle">{e(text)}</text>'


def _box_svg(box: _Box, by_name: dict[str, CatalogTable], lineage: ModelLineage, link: bool) -> str:
    entry = by_name.get(box.table)
    name_zh = entry.name_zh if entry else (lineage.table_title(box.table)[0] or "")
    layer = box.table.split(".", 1)[0]
    colour = LAYER_COLOURS.get(layer, "#f3f4f6")
    head = (f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" height="{HEAD_H}" fill="{colour}" '
            f'class="head"/>'
            f'<text x="{box.x + PAD:.1f}" y="{box.y + 16:.1f}" class="tzh">{e(name_zh)}</text>'
            f'<text x="{box.x + PAD:.1f}" y="{box.y + 31:.1f}" class="tname">{e(box.table)}</text>')
    target = page_name(box.table)
    if link and entry is not None:
        head = (f'<a href="{e(target)}" class="table-link"><title>打开 open {e(box.table)} {e(name_zh)}</title>'
                f"{head}</a>")
    rows = []
    for i, column in enumerate(box.rows):
        y = box.y + HEAD_H + ROW_H * i
        zh = _describe(lineage, box.table, column)
        row = (f'<rect x="{box.x:.1f}" y="{y:.1f}" width="{box.width:.1f}" height="{ROW_H}" class="row"/>'
               f'<text x="{box.x + PAD:.1f}" y="{y + 14:.1f}" class="cname">{e(column)}'
               f'<tspan dx="8" class="czh">{e(_short(zh))}</tspan></text>')
        title = f"<title>{e(box.table)}.{e(column)} {e(zh)}</title>"
        if entry is not None:
            href = (f"#{column_anchor(column)}" if not link else f"{target}#{column_anchor(column)}")
            row = f'<a href="{e(href)}" class="row-link">{title}{row}</a>'
        else:
            row = f"<g>{title}{row}</g>"
        rows.append(row)
    outline = (f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" height="{box.height:.1f}" '
               f'class="outline{" focus" if not link else ""}"/>')
    return f'<g class="box" data-table="{e(box.table)}">{head}{"".join(rows)}{outline}</g>'


# ---- glossary.html ------------------------------------------------------------------------------------


def _glossary_page(catalog: Catalog) -> str:
    carried: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for table in catalog.tables:
        for column in table.columns:
            for term in column.terms:
                carried[term].append((table.table, column.name))
    known = {(t.table, c.name.lower()) for t in catalog.tables for c in t.columns}
    by_name = {t.table: t for t in catalog.tables}
    toc = " · ".join(f'<a href="#{e(term_anchor(g.term))}">{e(g.term)}</a>' for g in catalog.glossary)
    parts = ['<h1>业务术语表 <span class="en">Business glossary</span></h1>',
             f'<p class="muted">{len(catalog.glossary)} 个术语 terms · 来源 source: '
             '<code>catalog/glossary.yaml</code></p>', f'<p class="toc">{toc}</p>']
    for g in catalog.glossary:
        columns = list(dict.fromkeys(carried.get(g.term, [])))
        named = [split_column(c) for c in g.columns]
        columns += [(tb, col) for tb, col in named if (tb, col.lower()) not in known]
        items = []
        for table, column in columns:
            entry = by_name.get(table)
            doc = entry.column(column) if entry else None
            label = f"<code>{e(table)}.{e(column)}</code>" + (f" {e(doc.zh)}" if doc and doc.zh else "")
            items.append(f'<li><a href="tables/{e(page_name(table))}#{e(column_anchor(column))}">{label}</a></li>'
                         if entry else f"<li>{label}</li>")
        synonyms = "、".join(e(s) for s in g.synonyms) or "—"
        sap = " ".join(f"<code>{e(s)}</code>" for s in g.sap) or "—"
        parts.append(
            f'<section class="term" id="{e(term_anchor(g.term))}">'
            f'<h2>{e(g.term)} <span class="en">{e(g.en)}</span> <span class="badge">{e(g.domain)}</span></h2>'
            f'<p>{e(g.definition.zh)}</p><p class="en">{e(g.definition.en)}</p>'
            f'<table class="facts"><tr><th>同义词 <span class="en">Synonyms</span></th><td>{synonyms}</td></tr>'
            f'<tr><th>SAP 字段 <span class="en">SAP codes</span></th><td>{sap}</td></tr>'
            f'<tr><th>承载字段 <span class="en">Columns</span>（{len(columns)}）</th>'
            f'<td>{_list(items, "cols")}</td></tr></table>'
            "</section>")
    return _page("术语表 Glossary", "\n".join(parts), active="glossary.html", built=_built_line(catalog))


def _list(items: list[str], css: str) -> str:
    return f'<ul class="{css}">' + "".join(items) + "</ul>" if items else "—"


# ---- guide.html: the Markdown subset the guide uses ------------------------------------------------------


def _guide_page(markdown: str) -> str:
    body, headings = markdown_to_html(markdown)
    toc = "".join(f'<li class="h{level}"><a href="#{e(anchor)}">{e(text)}</a></li>'
                  for level, anchor, text in headings if level == 2)
    nav = f'<nav class="guide-toc"><h2>目录 <span class="en">Contents</span></h2><ul>{toc}</ul></nav>' if toc else ""
    title = re.match(r"<h1[^>]*>.*?</h1>\n(?:<p>.*?</p>\n)?", body)  # the contents go below the title
    at = title.end() if title else 0
    return _page("回流指导手册 Guide", f'<div class="guide">{body[:at]}{nav}{body[at:]}</div>', active="guide.html")


def markdown_to_html(markdown: str) -> tuple[str, list[tuple[int, str, str]]]:
    """Headings, paragraphs, `-` / `1.` lists, pipe tables and inline `code` / **bold** to HTML;
    returns the HTML and the headings (level, anchor, text)."""
    lines = markdown.splitlines()
    out: list[str] = []
    headings: list[tuple[int, str, str]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        heading = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", stripped)
        if heading:
            level, text = len(heading.group(1)), heading.group(2)
            anchor = f"s{len(headings) + 1}"
            headings.append((level, anchor, text))
            out.append(f'<h{level} id="{anchor}">{_inline(text)}</h{level}>')
            i += 1
            continue
        if stripped.startswith("|") and i + 1 < len(lines) and re.match(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?$",
                                                                           lines[i + 1].strip()):
            head = _cells(stripped)
            i += 2
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_cells(lines[i].strip()))
                i += 1
            out.append('<div class="tablewrap"><table class="grid"><thead><tr>'
                       + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows)
                       + "</tbody></table></div>")
            continue
        bullet = re.match(r"^([-*+]|\d+[.)])\s+", stripped)
        if bullet:
            ordered = bullet.group(1)[0].isdigit()
            items: list[str] = []
            while i < len(lines):
                item = re.match(r"^([-*+]|\d+[.)])\s+(.*)$", lines[i].strip())
                if item:
                    items.append(item.group(2))
                elif lines[i].strip() and items and lines[i].startswith((" ", "\t")):
                    items[-1] += " " + lines[i].strip()  # a continuation line
                else:
                    break
                i += 1
            tag = "ol" if ordered else "ul"
            out.append(f"<{tag}>" + "".join(f"<li>{_inline(x)}</li>" for x in items) + f"</{tag}>")
            continue
        paragraph = [stripped]
        i += 1
        while i < len(lines) and lines[i].strip() and not re.match(r"^(#{1,6}\s|\||[-*+]\s|\d+[.)]\s)",
                                                                     lines[i].strip()):
            paragraph.append(lines[i].strip())
            i += 1
        out.append(f"<p>{_inline(' '.join(paragraph))}</p>")
    return "\n".join(out), headings


def _cells(row: str) -> list[str]:
    """A pipe-table row's cells; a `|` inside `code` or escaped as `\\|` does not split."""
    cells, current, in_code, i = [], "", False, 0
    body = row.strip()
    body = body[1:] if body.startswith("|") else body
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            current += "|"
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            cells.append(current.strip())
            current = ""
        else:
            current += ch
        i += 1
    if current.strip():
        cells.append(current.strip())
    return cells


def _inline(text: str) -> str:
    """Escape, then `code` and **bold**."""
    out = []
    for n, piece in enumerate(re.split(r"(`[^`]*`)", text)):
        if n % 2:
            out.append(f"<code>{e(piece[1:-1])}</code>")
        else:
            out.append(re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", e(piece)))
    return "".join(out)
