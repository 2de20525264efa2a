"""The data catalog (catalog/builder.py, glossary.py, search.py, `respool catalog`): descriptions
flowing along lineage, the glossary's links, search ranking and Chinese matching, the stored
catalog and the figures it takes from a real database."""

from __future__ import annotations

import shutil
import textwrap
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from catalog.builder import Catalog, CatalogColumn, CatalogTable, build_catalog, read_catalog, write_catalog
from catalog.glossary import GlossaryError, Term, load_glossary
from catalog.search import COLUMN, DESCRIPTION, NAME, TERM, Searcher, query_words, segment
from lineage.project.resolve import lineage_sources, model_lineage
from models.build import build
from models.loader import load_models, read_models
from pipelines.cli import app
from pipelines.config import landing_roots
from pipelines.ingest.db import connect
from pipelines.ingest.load import ingest
from quality.runner import run_checks
from sample_data.generator import generate

SIDECAR = """\
name_zh: {zh}
description_zh: 测试模型
description_en: A test model
grain: 每行 one row per item
key: [bukrs]
owner: 测试 test
domain: 应收
"""


def _model(root: Path, layer: str, name: str, sql: str, columns: str = "") -> None:
    (root / layer).mkdir(parents=True, exist_ok=True)
    (root / layer / f"{name}.sql").write_text(textwrap.dedent(sql), encoding="utf-8")
    (root / layer / f"{name}.yaml").write_text(SIDECAR.format(zh=name) + columns, encoding="utf-8")


def _catalog_of(root: Path, register) -> Catalog:
    models, problems = read_models(root)
    assert problems == []
    lineage = model_lineage(models, register, lineage_sources(register), problems)
    return build_catalog(register=register, models=models, lineage=lineage, glossary=[])


# ---- descriptions along lineage ---------------------------------------------------------------


def test_direct_copies_inherit_and_transformed_columns_must_be_documented(tmp_path, register):
    _model(tmp_path, "stg", "stg_x", """\
        SELECT BUKRS AS bukrs, KUNNR AS customer, CAST(DMBTR AS DECIMAL(15, 2)) AS amount,
               upper(SGTXT) AS note
        FROM ods.bsid""")
    _model(tmp_path, "dwd", "dwd_x", """\
        SELECT bukrs, customer AS partner, amount * 2 AS doubled, note, amount AS kept
        FROM stg.stg_x""", "columns:\n  doubled: {zh: 双倍金额, en: Twice the amount}\n")
    built = _catalog_of(tmp_path, register)
    stg, dwd = built.table("stg.stg_x"), built.table("dwd.dwd_x")
    # a renamed direct copy of KUNNR inherits the register's text and the SAP field code
    assert (stg.column("customer").zh, stg.column("customer").sap_code) == ("客户编号", "KUNNR")
    assert stg.column("customer").origin == "inherited from ods.bsid.KUNNR"
    # ... and again one layer up, through the stg column
    partner = dwd.column("partner")
    assert (partner.zh, partner.en, partner.sap_code) == ("客户编号", "Customer number", "KUNNR")
    assert partner.origin == "inherited from stg.stg_x.customer"
    # the sidecar's text wins; transformed columns without it are listed as undocumented
    assert (dwd.column("doubled").zh, dwd.column("doubled").origin) == ("双倍金额", "model")
    assert built.undocumented == ["stg.stg_x.amount", "stg.stg_x.note", "dwd.dwd_x.note", "dwd.dwd_x.kept"]
    assert dwd.column("kept").zh is None  # a copy of an undocumented column has nothing to inherit


def test_a_renamed_copy_documented_in_its_sidecar_keeps_the_sap_code_and_sensitivity(tmp_path, register):
    _model(tmp_path, "stg", "stg_k", "SELECT KUNNR AS kunnr, STCD5 AS credit_code, NAME1 AS n FROM ods.kna1",
           "columns:\n  credit_code: {zh: 信用代码, en: Credit code}\n  n: {zh: 名, en: Name}\n")
    entry = _catalog_of(tmp_path, register).table("stg_k")
    code = entry.column("credit_code")
    assert (code.zh, code.sap_code, code.sensitivity) == ("信用代码", "STCD5", "税号 tax identifier")
    assert entry.column("n").sensitivity == "往来方名称 partner name"
    assert entry.column("kunnr").sensitivity is None


def test_no_column_of_the_project_is_undocumented(register):
    built = build_catalog(register=register)
    assert built.undocumented == []
    layers = {t.layer for t in built.tables}
    assert layers == {"ods", "ref", "stg", "dim", "dwd", "dws", "ads"}
    # one entry per table: 11 register tables, 6 of them FULL with departed rows, 4 reference tables
    # and every model
    assert len(built.tables) == 11 + 6 + 4 + len(load_models())
    ar = built.table("dwd.dwd_ar_item")
    assert ar.key == ["bukrs", "gjahr", "belnr", "buzei"] and ar.domain == "应收"
    assert ar.upstream == ["ref.noted_item_indicator", "stg.stg_ar_item", "stg.stg_bseg"]
    assert "dwd.dwd_ar_item" in built.table("stg.stg_ar_item").downstream
    assert ar.published and ar.company_scoped
    assert not built.table("stg.stg_ar_item").published
    assert not built.table("dim.dim_customer").company_scoped


# ---- glossary ------------------------------------------------------------------------------------

REQUIRED_TERMS = ["应收账款", "应付账款", "未清项", "已清项", "清账", "账龄", "净到期日", "付款基准日", "会计凭证",
                  "冲销", "特别总账", "预收账款", "预付账款", "电费应收", "供电单位", "公司代码", "机构", "回流"]


def test_the_glossary_has_every_required_term_with_definition_synonyms_and_columns():
    terms = {t.term: t for t in load_glossary()}
    missing = [t for t in REQUIRED_TERMS if t not in terms]
    assert missing == []
    for name in REQUIRED_TERMS:
        term = terms[name]
        assert term.definition.zh and term.definition.en and term.en
        assert any(not s.isascii() for s in term.synonyms), name
        assert any(s.isascii() for s in term.synonyms), name
        assert term.columns, name


def test_every_glossary_column_exists_and_carries_its_term(register):
    built = build_catalog(register=register)
    for term in built.glossary:
        for name in term.columns:
            table, column = name.rsplit(".", 1)
            entry = built.table(table)
            assert entry is not None, f"{term.term}: no table {table}"
            assert entry.column(column) is not None, f"{term.term}: no column {name}"
            assert term.term in entry.column(column).terms
            assert term.term in entry.terms


def test_sap_field_codes_of_a_term_tag_every_column_carrying_that_field(register):
    built = build_catalog(register=register)
    # 公司代码's SAP codes include BUKRS: every column that is BUKRS (by lineage) carries it
    tagged = {f"{t.table}.{c.name}" for t in built.tables for c in t.columns if "公司代码" in c.terms}
    bukrs = {f"{t.table}.{c.name}" for t in built.tables for c in t.columns if c.sap_code == "BUKRS"}
    assert bukrs <= tagged and "dws.dws_ar_aging.bukrs" in bukrs
    # table-level SAP codes: BSID names the open-item table
    assert "应收账款" in built.table("ods.bsid").terms


def test_a_malformed_glossary_names_the_file_term_and_field(tmp_path):
    path = tmp_path / "glossary.yaml"
    path.write_text("terms:\n  - term: 账龄\n    en: Aging\n    domain: 应收\n    definition: {zh: 天数}\n",
                    encoding="utf-8")
    with pytest.raises(GlossaryError, match=r"glossary.yaml:5: term 账龄: field 'definition.en': Field required"):
        load_glossary(path)
    path.write_text("terms:\n  - term: [unclosed\n", encoding="utf-8")
    with pytest.raises(GlossaryError, match=r"glossary.yaml:3: not valid YAML"):
        load_glossary(path)


# ---- search ----------------------------------------------------------------------------------------


def _table(name: str, zh: str, *, layer: str = "dwd", desc: str = "说明", columns=(), terms=()) -> CatalogTable:
    return CatalogTable(table=f"{layer}.{name}", layer=layer, name_zh=zh, name_en=name.replace("_", " "),
                        domain="应收", owner="x", description_zh=desc, description_en="description", grain="g",
                        key=["k"], columns=[CatalogColumn(name=c, position=i, zh=zh_c, en=c)
                                            for i, (c, zh_c) in enumerate(columns, start=1)], terms=list(terms))


def _term(term: str, *synonyms: str) -> Term:
    return Term(term=term, en=term, domain="应收", definition={"zh": "定义", "en": "definition"},
                synonyms=list(synonyms), sap=[], columns=[])


@pytest.fixture
def toy() -> Catalog:
    tables = [
        _table("by_name", "账龄"),                                         # the query is its name
        _table("by_term", "甲表", terms=["账龄"]),                           # carries the glossary term
        _table("by_column", "乙表", columns=[("bucket", "账龄段")]),          # a column's text
        _table("by_description", "丙表", desc="按账龄汇总"),                  # its description only
        _table("customer_aging", "客户表", layer="dws", columns=[("kunnr", "客户编号"), ("bucket", "账龄段")],
               terms=["应收账款"]),
        _table("nothing", "无关"),
    ]
    return Catalog(tables, [_term("账龄", "aging"), _term("应收账款", "应收", "receivables")], date(2026, 1, 1))


def test_ranking_is_name_then_glossary_term_then_column_then_description(toy):
    hits = Searcher(toy).search("账龄", limit=None)
    keys = [h.document.key for h in hits]
    assert keys[:2] == ["账龄", "dwd.by_name"]  # both exact: the glossary term first
    by_key = {h.document.key: h for h in hits}
    assert by_key["dwd.by_name"].exact and by_key["账龄"].exact
    assert [by_key[k].weakest for k in ("dwd.by_term", "dwd.by_column", "dwd.by_description")] == \
        [TERM, COLUMN, DESCRIPTION]
    order = [k for k in keys if k.startswith("dwd.by_")]
    assert order == ["dwd.by_name", "dwd.by_term", "dwd.by_column", "dwd.by_description"]
    assert "dwd.nothing" not in keys


def test_multi_word_chinese_with_or_without_spaces_needs_every_word(toy):
    searcher = Searcher(toy)
    assert query_words("客户应收账龄", searcher.vocab) == ["客户", "应收", "账龄"]
    spaced = [h.document.key for h in searcher.search("客户 应收 账龄", limit=None)]
    joined = [h.document.key for h in searcher.search("客户应收账龄", limit=None)]
    assert spaced == joined == ["dws.customer_aging"]
    hit = searcher.search("客户应收账龄")[0]
    assert dict(hit.places) == {"客户": NAME, "应收": TERM, "账龄": COLUMN}
    assert searcher.search("客户 余额") == []


def test_segmentation_keeps_unknown_characters_together():
    vocab = {"客户", "应收", "应收账款", "账龄"}
    assert segment("应收账款账龄", vocab) == ["应收账款", "账龄"]  # the longest word first
    assert segment("客户余额账龄", vocab) == ["客户", "余额", "账龄"]
    assert segment("余额", vocab) == ["余额"]


def test_latin_words_match_whole_words_or_their_start(register):
    searcher = Searcher(build_catalog(register=register))
    assert "dwd.dwd_ar_item" in [h.document.key for h in searcher.search("receivable", limit=None)]
    ar = [h.document.key for h in searcher.search("ar", limit=None)]
    assert "dwd.dwd_ar_item" in ar and "dwd.dwd_ap_item" not in ar  # "ar" is not found in "clearing"
    first = searcher.search("DWD_AR_ITEM")[0]
    assert first.document.key == "dwd.dwd_ar_item" and first.exact and first.weakest == NAME


def test_project_search_finds_the_aging_tables_first(register):
    searcher = Searcher(build_catalog(register=register))
    for query in ("客户 应收 账龄", "客户应收账龄", "应收账龄"):
        keys = [h.document.key for h in searcher.search(query, limit=None)]
        assert keys[:2] == ["dws.dws_ar_aging", "dwd.dwd_ar_item"], query
    assert searcher.search("净到期日")[0].document.key == "净到期日"  # the glossary term by its name
    assert searcher.search("应收明细")[0].document.key == "dwd.dwd_ar_item"  # a table by its Chinese name
    taxed = {h.document.key for h in searcher.search("税号", limit=None)}
    assert {"dim.dim_customer", "dim.dim_vendor"} <= taxed  # the sensitivity tag is searchable


# ---- a real database -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, register):
    tmp = tmp_path_factory.mktemp("catalog")
    landing = tmp / "landing"
    generate(landing, days=2, scale=0.02, seed=5)
    db = tmp / "respool.duckdb"
    con = connect(db)
    ingest(con, landing_roots(landing), register)
    build(con, load_models())
    run_checks(con, register, biz_date=date(2026, 10, 27))
    built = build_catalog(con, register=register, source_db=str(db))
    write_catalog(con, built)
    yield db, con, built
    con.close()


def test_figures_come_from_the_database(loaded):
    _, con, built = loaded
    for entry in built.tables:
        if entry.exists:
            assert entry.row_count == con.execute(f"SELECT count(*) FROM {entry.table}").fetchone()[0]
    bseg = built.table("ods.bseg")
    batches = con.execute("SELECT max(biz_date), max(recorded_at) FROM meta.batch "
                          "WHERE table_name = 'BSEG' AND status = 'loaded'").fetchone()
    assert (bseg.latest_biz_date, bseg.refreshed_at) == batches
    ar = built.table("dwd.dwd_ar_item")
    assert ar.latest_biz_date == date(2026, 10, 27)
    assert ar.refreshed_at == con.execute("SELECT max(built_at) FROM meta.model_run "
                                          "WHERE model = 'dwd.dwd_ar_item'").fetchone()[0]
    assert ar.refreshed_at is not None
    assert ar.column("amount_lc").type.startswith("DECIMAL(")
    assert ar.column("net_due_date").type == "DATE"
    assert built.undocumented == []
    assert {t.layer for t in built.tables if t.exists} >= {"ods", "ref", "stg", "dim", "dwd", "dws", "ads"}


def test_quality_scores_per_dimension_are_those_of_the_checked_date(loaded):
    _, con, built = loaded
    expected = dict(((t, d), (p, n)) for t, d, p, n in con.execute(
        "SELECT target_table, dimension, count(*) FILTER (WHERE success), count(*) FROM meta.quality_result "
        "WHERE checked_biz_date = DATE '2026-10-27' GROUP BY ALL").fetchall())
    checked = {t for t, _ in expected}
    assert "dwd.dwd_ar_item" in checked
    for entry in built.tables:
        got = {(entry.table, d): tuple(v) for d, v in entry.quality.items()}
        assert got == {k: v for k, v in expected.items() if k[0] == entry.table}, entry.table
        if entry.table in checked:
            assert entry.quality_date == date(2026, 10, 27)
            failing = con.execute("SELECT count(*) FROM meta.quality_result WHERE target_table = ? "
                                  "AND checked_biz_date = DATE '2026-10-27' AND NOT success",
                                  [entry.table]).fetchone()[0]
            assert len(entry.failing) == failing
            assert entry.trend[-1]["biz_date"] == date(2026, 10, 27)


def test_the_stored_catalog_reads_back_the_same(loaded):
    _, con, built = loaded
    again = read_catalog(con)
    assert again.to_json() == built.to_json()


def test_cli_search_and_show_read_the_stored_catalog(loaded, tmp_path):
    original, con, _ = loaded
    con.execute("CHECKPOINT")
    db = tmp_path / "copy.duckdb"  # the CLI opens its own connection: not the fixture's file
    shutil.copy(original, db)
    runner = CliRunner()
    result = runner.invoke(app, ["catalog", "search", "客户", "应收", "账龄", "--db", str(db)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "dws.dws_ar_aging" in line or "dwd.dwd_ar_item" in line]
    assert "dws.dws_ar_aging" in lines[0] and "dwd.dwd_ar_item" in lines[1]
    shown = runner.invoke(app, ["catalog", "show", "dwd_ar_item", "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    assert "应收明细" in shown.output and "净到期日" in shown.output and "DECIMAL" in shown.output
    missing = runner.invoke(app, ["catalog", "show", "dwd_ar_itme", "--db", str(db)])
    assert missing.exit_code == 2 and "dwd_ar_item" in missing.output
    nothing = runner.invoke(app, ["catalog", "search", "不存在的词", "--db", str(db)])
    assert nothing.exit_code == 1 and "没有找到" in nothing.output
