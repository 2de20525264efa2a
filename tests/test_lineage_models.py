"""Column lineage of the real models, its store, exports, tracing and the Dagster metadata.

Every expected edge, column set and position below is written by hand from the model SQL.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from typer.testing import CliRunner

from catalog.system_tables import ensure_system_tables
from lineage.project.model_graph import LineageProblem, UnknownColumnError
from lineage.project.resolve import lineage_sources, model_lineage, project_lineage
from lineage.project.store import refresh_lineage
from lineage.project.trace import trace
from lineage.render.graph import LAYER_COLOURS, lineage_graph, to_dot, to_json, write_png
from models.build import build
from models.loader import MODELS_DIR, load_models, read_models
from pipelines.cli import app
from pipelines.ingest.db import connect
from pipelines.ingest.load import ingest
from tests.png_facts import png_facts, rgb
from tests.pool_scenario import deliver_scenario

AR_ITEM = "dwd.dwd_ar_item"
VOUCHER_ITEM = "dwd.dwd_fi_voucher_item"


@pytest.fixture(scope="module")
def lineage():
    return project_lineage()


@pytest.fixture
def models_copy(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    shutil.copytree(MODELS_DIR, root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _ods(lineage, column: str) -> set[str]:
    return {r.column for r in lineage.upstream_columns(column) if r.column.startswith("ods.")}


# ---- lineage of the real models -----------------------------------------------------------------

def test_every_model_resolves(lineage):
    assert lineage.problems == []
    assert set(lineage.tables) == {m.table for m in load_models()}
    assert lineage.tables[AR_ITEM].columns[:5] == ("bukrs", "gjahr", "belnr", "buzei", "kunnr")


def test_defaults_need_no_pipeline_and_match_it(lineage, register):
    plain = model_lineage(load_models(), register)  # register + batch columns, no reference tables
    assert plain.problems == []
    assert {t: v.edges for t, v in plain.tables.items()} == {t: v.edges for t, v in lineage.tables.items()}


def test_amount_lc_of_ar_items_comes_from_dmbtr_and_shkzg_of_bsid_and_bsad(lineage):
    column = f"{AR_ITEM}.amount_lc"
    line_key = ("mandt", "bukrs", "gjahr", "belnr", "buzei")
    assert {(e.source, e.kind) for e in lineage.sources_of(column, filters=True)} == {
        ("stg.stg_ar_item.dmbtr", "transform"),  # signed_amount(dmbtr, shkzg)
        ("stg.stg_ar_item.shkzg", "transform"),
        ("stg.stg_ar_item._is_latest", "filter"),  # WHERE _is_latest in the item CTE
        # the join to the item's newest BSEG line (its clearing evidence) and that line's filter
        *{(f"stg.stg_ar_item.{c}", "filter") for c in line_key},
        *{(f"stg.stg_bseg.{c}", "filter") for c in (*line_key, "_is_latest", "koart")},
    }
    assert _ods(lineage, column) == {f"ods.{t}.{c}" for t in ("bsid", "bsid_departed", "bsad")
                                     for c in ("DMBTR", "SHKZG")}
    reached = {r.column: (r.hops, r.kind) for r in lineage.upstream_columns(column)}
    assert reached["stg.stg_ar_item.dmbtr"] == (1, "transform")
    assert reached["ods.bsid.DMBTR"] == (2, "transform")  # sap_amount(DMBTR)
    tree = lineage.upstream(column)
    assert [(c.column, [g.column for g in c.children]) for c in tree.children] == [
        ("stg.stg_ar_item.dmbtr", ["ods.bsid.DMBTR", "ods.bsid_departed.DMBTR", "ods.bsad.DMBTR"]),
        ("stg.stg_ar_item.shkzg", ["ods.bsid.SHKZG", "ods.bsid_departed.SHKZG", "ods.bsad.SHKZG"]),
    ]


def test_net_due_date_depends_on_the_terms_the_dates_and_the_credit_memo_rule(lineage):
    codes = {"ZFBDT", "BLDAT", "ZBD1T", "ZBD2T", "ZBD3T", "SHKZG", "REBZG"}
    assert _ods(lineage, f"{AR_ITEM}.net_due_date") == {f"ods.{t}.{c}" for t in ("bsid", "bsid_departed", "bsad")
                                                                 for c in codes}
    # baseline_date = coalesce(zfbdt, bldat): a transform
    assert {e.source for e in lineage.sources_of(f"{AR_ITEM}.baseline_date")} == {
        "stg.stg_ar_item.zfbdt", "stg.stg_ar_item.bldat"}


def test_downstream_of_bseg_dmbtr_is_the_impact_of_a_change(lineage):
    reached = {r.column: (r.hops, r.kind) for r in lineage.downstream_columns("ods.bseg.DMBTR")}
    assert reached == {
        "stg.stg_bseg.dmbtr": (1, "transform"),
        "stg.stg_bseg._reject_reason": (1, "transform"),  # BAD_AMOUNT:DMBTR
        "stg.stg_bseg._is_latest": (1, "transform"),  # via the reject reason, same SELECT
        f"{VOUCHER_ITEM}.dmbtr": (2, "transform"),  # a copy of a transform
        f"{VOUCHER_ITEM}.amount_lc": (2, "transform"),
        "ads.ads_ar_recon_yx.erp_posted": (3, "transform"),  # sum(amount_lc)
        "ads.ads_ar_recon_yx.difference": (3, "transform"),
        "ads.ads_ar_recon_yx.status": (3, "transform"),
    }


def test_filter_edges_are_followed_only_when_asked(lineage):
    # the voucher item joins its header ON bukrs: BSEG's BUKRS decides rows of amount_lc
    assert f"{VOUCHER_ITEM}.amount_lc" not in {r.column for r in lineage.downstream_columns("ods.bseg.BUKRS")}
    with_filters = {r.column: r.kind for r in lineage.downstream_columns("ods.bseg.BUKRS", filters=True)}
    assert with_filters[f"{VOUCHER_ITEM}.amount_lc"] == "filter"
    assert with_filters[f"{VOUCHER_ITEM}.bukrs"] == "transform"  # sap_code(BUKRS), then a copy


def test_descriptions_flow_from_docs_register_and_single_direct_parent(lineage):
    amount = lineage.description(f"{AR_ITEM}.amount_lc")
    assert (amount.zh, amount.origin) == ("本位币金额（带符号）", "model")
    assert lineage.description("ods.bsid.DMBTR").label == "本位币金额 (Amount in local currency, DMBTR)"
    assert lineage.description("stg.stg_ar_item.dmbtr").label == "本位币金额 (Amount in local currency, DMBTR)"
    inherited = lineage.description(f"{VOUCHER_ITEM}._biz_date")  # not documented in the dwd model
    assert inherited.zh == "业务日期"
    assert inherited.origin == "inherited from stg.stg_bseg._biz_date"


def test_names_resolve_in_any_case_and_unknown_ones_say_what_exists(lineage):
    assert lineage.resolve("bseg.dmbtr") == "ods.bseg.DMBTR"
    assert lineage.resolve("DWD.DWD_AR_ITEM.Amount_LC") == f"{AR_ITEM}.amount_lc"
    unknown_table = re.escape("unknown table 'dwd.dwd_ar_itm': did you mean dwd.dwd_ar_item")
    with pytest.raises(UnknownColumnError, match=unknown_table):
        lineage.resolve("dwd.dwd_ar_itm.amount_lc")
    with pytest.raises(UnknownColumnError, match="has no column 'amount': did you mean amount_lc"):
        lineage.resolve(f"{AR_ITEM}.amount")


# ---- problems -------------------------------------------------------------------------------------

def test_a_model_with_a_syntax_error_is_reported_and_the_others_resolve(models_copy, lineage):
    broken = models_copy / "stg" / "stg_bkpf.sql"
    # line 11 is `        sap_code(BELNR) AS belnr,`: the second AS makes `belnr` (col 31) unexpected
    _edit(broken, "sap_code(BELNR) AS belnr,", "sap_code(BELNR) AS AS belnr,")
    partial = project_lineage(models_copy)
    assert [(p.table, p.path, p.line, p.col) for p in partial.problems] == [("stg.stg_bkpf", broken, 11, 31)]
    assert "cannot parse SQL" in partial.problems[0].message
    assert str(partial.problems[0]).startswith(f"{broken}:11:31: ")
    # not downstream of it: exactly as before
    for table in ("stg.stg_bseg", AR_ITEM, "dws.dws_ar_aging"):
        assert partial.tables[table].edges == lineage.tables[table].edges
    # downstream: resolved without its columns (SELECT * over it, qualified references)
    header = partial.tables["dwd.dwd_fi_voucher_header"]
    assert header.unknown_inputs == ("stg.stg_bkpf",)
    assert {r.column for r in partial.upstream_columns("dwd.dwd_fi_voucher_header.budat")} == {"stg.stg_bkpf.budat"}
    assert "ads.ads_ar_recon_yx" in partial.tables
    with pytest.raises(UnknownColumnError, match=r"stg\.stg_bkpf has no lineage: .*stg_bkpf\.sql:11:31"):
        partial.resolve("stg.stg_bkpf.mandt")


def test_an_unknown_column_is_reported_where_it_is_written(models_copy):
    broken = models_copy / "dwd" / "dwd_ar_item.sql"
    # line 67 is `    signed_amount(dmbtr, shkzg) AS amount_lc,`: dmbtrx starts at col 19
    _edit(broken, "signed_amount(dmbtr, shkzg)", "signed_amount(dmbtrx, shkzg)")
    assert broken.read_text().splitlines()[66] == "    signed_amount(dmbtrx, shkzg) AS amount_lc,"
    partial = project_lineage(models_copy)
    assert partial.problems == [
        LineageProblem(AR_ITEM, broken, 67, 19, "unknown column 'dmbtrx' (not in 'dated')")]
    # dws_ar_aging reads dwd_ar_item through `i.*`: it resolves against the unknown table
    assert partial.tables["dws.dws_ar_aging"].unknown_inputs == (AR_ITEM,)


# ---- meta.column_lineage ------------------------------------------------------------------------

def _stamps(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    return dict(con.execute("SELECT model, max(computed_at) FROM meta.column_lineage GROUP BY model").fetchall())


def _refresh(con, root: Path, register):
    models, problems = read_models(root)
    return refresh_lineage(con, models, register, lineage_sources(register), problems)


def test_refresh_recomputes_only_what_changed(tmp_path, models_copy, register):
    con = duckdb.connect(str(tmp_path / "lineage.duckdb"))
    first = _refresh(con, models_copy, register)
    assert len(first.recomputed) == 20 and not first.kept and not first.problems
    rows = con.execute("SELECT position, source_table, source_column, kind FROM meta.column_lineage "
                       "WHERE model = ? AND column_name = 'amount_lc' ORDER BY source_column", [AR_ITEM]).fetchall()
    assert [r for r in rows if r[1] == "stg.stg_ar_item" and r[2] in ("_is_latest", "dmbtr", "shkzg")] == [
        (15, "stg.stg_ar_item", "_is_latest", "filter"), (15, "stg.stg_ar_item", "dmbtr", "transform"),
        (15, "stg.stg_ar_item", "shkzg", "transform")]
    literal = con.execute("SELECT source_table, kind FROM meta.column_lineage WHERE model = 'stg.stg_bseg' "
                          "AND column_name = '_ods_table'").fetchall()  # 'BSEG' AS _ods_table
    assert literal == [(None, None)]
    before = _stamps(con)
    assert _refresh(con, models_copy, register).recomputed == []

    # same columns, another expression: only this model
    _edit(models_copy / "dwd" / "dwd_ar_item.sql", "signed_amount(wrbtr, shkzg) AS amount_dc", "wrbtr AS amount_dc")
    third = _refresh(con, models_copy, register)
    assert third.recomputed == [AR_ITEM]
    after = _stamps(con)
    assert after[AR_ITEM] > before[AR_ITEM]
    assert {t: s for t, s in after.items() if t != AR_ITEM} == {t: s for t, s in before.items() if t != AR_ITEM}
    assert con.execute("SELECT source_column, kind FROM meta.column_lineage WHERE model = ? AND "
                       "column_name = 'amount_dc' AND kind <> 'filter'", [AR_ITEM]).fetchall() == [("wrbtr", "direct")]

    # a new column in stg_t001: dim_company, which reads it, is recomputed as well
    _edit(models_copy / "stg" / "stg_t001.sql", "sap_code(KTOPL) AS ktopl,", "sap_code(KTOPL) AS ktopl, 1 AS x,")
    assert _refresh(con, models_copy, register).recomputed == ["stg.stg_t001", "dim.dim_company"]

    # a broken model keeps its last good rows; the problem is stored with its position
    _edit(models_copy / "stg" / "stg_bkpf.sql", "sap_code(BELNR) AS belnr,", "sap_code(BELNR) AS AS belnr,")
    broken = _refresh(con, models_copy, register)
    assert broken.recomputed == [] and "stg.stg_bkpf" not in broken.removed
    assert con.execute("SELECT model, line, col FROM meta.lineage_problem").fetchall() == [("stg.stg_bkpf", 11, 31)]
    assert con.execute("SELECT count(*) FROM meta.column_lineage WHERE model = 'stg.stg_bkpf'").fetchone()[0] > 0
    con.close()


# ---- exports ----------------------------------------------------------------------------------------

AMOUNT_LC_EDGES = {
    ("stg.stg_ar_item.dmbtr", f"{AR_ITEM}.amount_lc", "transform"),
    ("stg.stg_ar_item.shkzg", f"{AR_ITEM}.amount_lc", "transform"),
    ("ods.bsid.DMBTR", "stg.stg_ar_item.dmbtr", "transform"),
    ("ods.bsid_departed.DMBTR", "stg.stg_ar_item.dmbtr", "transform"),
    ("ods.bsad.DMBTR", "stg.stg_ar_item.dmbtr", "transform"),
    ("ods.bsid.SHKZG", "stg.stg_ar_item.shkzg", "transform"),
    ("ods.bsid_departed.SHKZG", "stg.stg_ar_item.shkzg", "transform"),
    ("ods.bsad.SHKZG", "stg.stg_ar_item.shkzg", "transform"),
}


def test_json_and_dot_carry_the_edges(lineage):
    graph = lineage_graph(lineage, f"{AR_ITEM}.amount_lc", "upstream")
    data = json.loads(to_json(graph, lineage))
    assert {(e["source"], e["target"], e["kind"]) for e in data["edges"]} == AMOUNT_LC_EDGES
    bsid = next(t for t in data["tables"] if t["table"] == "ods.bsid")
    assert bsid["name_zh"] == "客户未清项"
    assert bsid["columns"][0] == {"name": "SHKZG", "column": "ods.bsid.SHKZG", "zh": "借贷标识",
                                  "en": "Debit/credit indicator", "code": "SHKZG"}
    dot = to_dot(graph, lineage)
    assert dot.startswith("digraph lineage {") and "rankdir=LR" in dot
    assert '"ods.bsid":"c_DMBTR":e -> "stg.stg_ar_item":"c_dmbtr":w [color="#ea580c", tooltip="transform"];' in dot
    assert dot.count(" -> ") == 8
    assert 'subgraph cluster_0' in dot and "ods 贴源层" in dot


def test_png_is_written_with_or_without_a_cjk_font(tmp_path, lineage):
    graph = lineage_graph(lineage, "dws.dws_ar_aging.bucket", "upstream")
    assert len(graph.columns) == 38  # 30, and the 8 columns of ods.bsid_departed the bucket reads
    pictures = {}
    for font in (None, "auto"):
        drawing = write_png(graph, lineage, tmp_path / f"{font}.png", font=font)
        pictures[font] = png_facts(drawing.path)
        size, colours = pictures[font]
        assert size[0] > 1000 and size[1] > 1000
        # one band per layer the bucket reads from, in the layer's own colour
        for layer in ("ods", "stg", "dwd", "dws"):
            assert colours[rgb(LAYER_COLOURS[layer])] > 1000, (font, layer)
    assert write_png(graph, lineage, tmp_path / "ascii.png", font=None).font is None
    assert pictures[None] != pictures["auto"]  # Chinese labels are drawn with the CJK font, not as boxes


def test_filter_edges_are_dashed_in_dot(lineage):
    graph = lineage_graph(lineage, f"{AR_ITEM}.amount_lc", "upstream", filters=True)
    assert '"stg.stg_ar_item":"c__is_latest":e -> "dwd.dwd_ar_item":"c_amount_lc":w [color="#6b7280", ' \
           'tooltip="filter", style=dashed];' in to_dot(graph, lineage)


# ---- CLI -------------------------------------------------------------------------------------------

def test_cli_upstream_tree_and_unknown_column():
    runner = CliRunner()
    result = runner.invoke(app, ["lineage", "upstream", f"{AR_ITEM}.amount_lc"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{AR_ITEM}.amount_lc  本位币金额（带符号） (Signed amount in local currency (S +, H -))"
    assert lines[2] == "│   ├── [transform 计算] ods.bsid.DMBTR  本位币金额 (Amount in local currency, DMBTR)"
    bad = runner.invoke(app, ["lineage", "downstream", "ods.bseg.NOPE"])
    assert bad.exit_code == 2
    assert "table ods.bseg has no column 'NOPE'" in bad.output


def test_cli_downstream_json(tmp_path):
    out = tmp_path / "impact.json"
    result = CliRunner().invoke(app, ["lineage", "downstream", "ods.bseg.DMBTR", "--format", "json",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    targets = {e["target"] for e in json.loads(out.read_text(encoding="utf-8"))["edges"]}
    assert {f"{VOUCHER_ITEM}.amount_lc", "ads.ads_ar_recon_yx.erp_posted"} <= targets


# ---- trace -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pool_db(tmp_path_factory, register):
    tmp = tmp_path_factory.mktemp("trace")
    deliver_scenario(tmp / "landing", register)
    db = tmp / "pool.duckdb"
    con = connect(db)
    assert not ingest(con, [tmp / "landing"], register).refused
    assert not build(con, load_models()).failed
    ensure_system_tables(con)
    yield con, db
    con.close()


def _result(con, target_table, column, expectation, success, severity="error", dimension="准确性",
            unexpected=None, examples=None, suite="s1"):
    con.execute(
        "INSERT INTO meta.quality_result (run_id, run_at, suite, target_table, expectation_id, expectation_type, "
        "column_name, dimension, severity, success, unexpected_count, examples) "
        "VALUES ('r1', TIMESTAMP '2026-10-27 06:00:00', ?, ?, ?, 'x', ?, ?, ?, ?, ?, ?)",
        [suite, target_table, expectation, column, dimension, severity, success, unexpected,
         json.dumps(examples) if examples is not None else None])


def test_trace_finds_a_defect_injected_into_an_ods_column(pool_db, lineage):
    con, db = pool_db
    _result(con, "ods.bseg", "DMBTR", "bseg_dmbtr_is_amount", False, unexpected=2, examples=["12x.50", "--3"])
    _result(con, "ods.bseg", None, "bseg_row_count", False, severity="warn", dimension="完整性")
    _result(con, "ods.bseg", "KOSTL", "bseg_kostl_known", False)  # not upstream of amount_lc
    _result(con, "stg.stg_bseg", "dmbtr", "stg_dmbtr_not_null", True)  # passed
    _result(con, VOUCHER_ITEM, "amount_lc", "item_amount_nonzero", False, severity="warn", unexpected=1)
    _result(con, VOUCHER_ITEM, "balance", "voucher_balances", False)  # a computed value: about the table
    _result(con, VOUCHER_ITEM, "kostl", "item_kostl_known", False)  # another column of the table
    hits = trace(con, f"{VOUCHER_ITEM}.amount_lc", lineage)
    assert [(h.where, h.hops, h.expectation_id, h.severity) for h in hits] == [
        (VOUCHER_ITEM, 0, "voucher_balances", "error"),
        (f"{VOUCHER_ITEM}.amount_lc", 0, "item_amount_nonzero", "warn"),
        ("ods.bseg.DMBTR", 2, "bseg_dmbtr_is_amount", "error"),
        ("ods.bseg", 2, "bseg_row_count", "warn"),
    ]
    dmbtr = hits[2]
    assert (dmbtr.dimension, dmbtr.unexpected_count, dmbtr.examples, dmbtr.kind) == (
        "准确性", 2, ["12x.50", "--3"], "transform")
    # with filter edges, BSEG's key columns and the header's count too; KOSTL still does not
    assert "ods.bseg.KOSTL" not in {h.where for h in trace(con, f"{VOUCHER_ITEM}.amount_lc", lineage, True)}

    # the CLI opens the file read-only, as a second process would: give it a copy
    con.execute("CHECKPOINT")
    copy = db.with_name("trace-copy.duckdb")
    shutil.copy(db, copy)
    result = CliRunner().invoke(app, ["trace", f"{VOUCHER_ITEM}.amount_lc", "--db", str(copy)])
    assert result.exit_code == 0, result.output
    assert "[2 hops, transform] ods.bseg.DMBTR  bseg_dmbtr_is_amount  准确性 error  unexpected 2" in result.output


def test_refresh_after_a_build_takes_the_source_columns_from_the_database(pool_db, register):
    con, _ = pool_db
    # models.build.build has refreshed it already; unchanged models are kept as they are
    report = refresh_lineage(con, load_models(), register)
    assert len(report.kept) == 20 and report.recomputed == [] and not report.problems
    assert con.execute("SELECT kind FROM meta.column_lineage WHERE model = 'stg.stg_bseg' AND column_name = 'dmbtr' "
                       "AND source_table = 'ods.bseg' AND source_column = 'DMBTR'").fetchall() == [("transform",)]


# ---- Dagster ----------------------------------------------------------------------------------------

def test_model_assets_carry_column_lineage():
    from pipelines.orchestration.definitions import model_assets

    def lineage_of(*key: str) -> dg.TableColumnLineage:
        asset = next(a for a in model_assets if a.key == dg.AssetKey(list(key)))
        return next(iter(asset.specs)).metadata["dagster/column_lineage"]

    # Dagster's column lineage is one hop: dwd_ar_item reads stg_ar_item, which reads bsid
    assert lineage_of("dwd", "dwd_ar_item").deps_by_column["amount_lc"] == [
        dg.TableColumnDep(asset_key=dg.AssetKey(["stg", "stg_ar_item"]), column_name="dmbtr"),
        dg.TableColumnDep(asset_key=dg.AssetKey(["stg", "stg_ar_item"]), column_name="shkzg"),
    ]
    assert dg.TableColumnDep(asset_key=dg.AssetKey(["ods", "bsid"]), column_name="DMBTR") in (
        lineage_of("stg", "stg_ar_item").deps_by_column["dmbtr"])
    assert dg.TableColumnDep(asset_key=dg.AssetKey(["ref", "reference_data"]), column_name="supply_unit.bukrs") in (
        lineage_of("ads", "ads_ar_recon_yx").deps_by_column["bukrs"])
