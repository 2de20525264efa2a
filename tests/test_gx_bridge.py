"""The GX bridge on hand-made DuckDB tables: exact counts, batching, failures, refused specs, Data Docs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from quality.data_docs import DataDocsStore
from quality.gx_bridge import (
    ExpectationResult,
    _batches,
    _gx_friendly,
    validate,
)
from quality.specs import SuiteSpec, SuiteSpecError, expectation_kind, load_suite, suite_from_dict

BALANCE = """
    SELECT bukrs, belnr, gjahr, sum(CASE WHEN shkzg = 'S' THEN dmbtr ELSE -dmbtr END) AS saldo
    FROM ods_bseg GROUP BY ALL ORDER BY belnr
"""
ORPHAN_LINES = "SELECT l.* FROM ods_bseg l ANTI JOIN ods_bkpf h USING (bukrs, belnr, gjahr)"


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute("""
        CREATE TABLE ods_bkpf (bukrs VARCHAR, belnr VARCHAR, gjahr INTEGER, budat DATE, waers VARCHAR);
        INSERT INTO ods_bkpf VALUES
            ('3301', '0000000001', 2026, DATE '2026-01-05', 'CNY'),
            ('3301', '0000000002', 2026, DATE '2026-01-06', 'CNY'),
            ('3301', '0000000003', 2026, DATE '2026-01-07', NULL),   -- no currency
            ('3301', 'ABC0000004', 2026, DATE '2026-01-08', 'CNY'),  -- malformed document number
            ('3302', '0000000005', 2031, DATE '2026-01-09', 'CNY'),  -- fiscal year out of range
            ('3302', '0000000006', 2026, DATE '2026-02-10', 'USD'),  -- foreign currency, posted in Feb
            ('3302', '0000000006', 2026, DATE '2026-01-11', 'CNY'),  -- duplicate key of the previous row
            ('3302', '0000000008', 2026, NULL, NULL);                -- no posting date, no currency
        CREATE TABLE ods_bseg (bukrs VARCHAR, belnr VARCHAR, gjahr INTEGER, buzei INTEGER, shkzg VARCHAR,
                               dmbtr DECIMAL(15, 2));
        INSERT INTO ods_bseg VALUES
            ('3301', '0000000001', 2026, 1, 'S', 100.00), ('3301', '0000000001', 2026, 2, 'H', 100.00),
            ('3301', '0000000002', 2026, 1, 'S', 50.00),  ('3301', '0000000002', 2026, 2, 'H', 40.00),
            ('3301', '0000000003', 2026, 1, 'S', 0.10),   ('3301', '0000000003', 2026, 2, 'S', 0.20),
            ('3301', '0000000003', 2026, 3, 'H', 0.30),
            ('3309', '0000000009', 2026, 1, 'S', 1.00);    -- a line without its header
        CREATE TABLE big AS
            SELECT i, CASE WHEN i % 97 = 0 THEN NULL ELSE 'v' || i END AS s, (i % 13)::INTEGER AS k
            FROM range(5000) t(i);
    """)
    yield c
    c.close()


def exp(id: str, expectation: str, kwargs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": id, "expectation": expectation, "kwargs": kwargs, "dimension": extra.pop("dimension", "完整性"),
            "severity": extra.pop("severity", "error"), "description_zh": f"{id} 说明",
            "description_en": f"{id} description", **extra}


def header_suite() -> SuiteSpec:
    return suite_from_dict({
        "name": "ods.bkpf", "target": "ods_bkpf",
        "expectations": [
            exp("belnr_nn", "expect_column_values_to_not_be_null", {"column": "belnr"}),
            exp("waers_nn", "expect_column_values_to_not_be_null", {"column": "waers"}),
            exp("belnr_fmt", "expect_column_values_to_match_regex", {"column": "belnr", "regex": r"^\d{10}$"},
                dimension="conformity"),
            exp("gjahr_range", "expect_column_values_to_be_between",
                {"column": "gjahr", "min_value": 2020, "max_value": 2026}, dimension="准确性"),
            exp("gjahr_mostly", "expect_column_values_to_be_between",
                {"column": "gjahr", "min_value": 2020, "max_value": 2026, "mostly": 0.75}, severity="warn"),
            exp("waers_set", "expect_column_values_to_be_in_set", {"column": "waers", "value_set": ["CNY"]},
                dimension="规范性"),
            exp("budat_jan", "expect_column_values_to_be_between",
                {"column": "budat", "min_value": "2026-01-01", "max_value": "2026-01-31"},
                dimension="timeliness", severity="warn"),
            exp("key_unique", "expect_compound_columns_to_be_unique", {"column_list": ["bukrs", "belnr", "gjahr"]},
                dimension="一致性"),
            exp("columns", "expect_table_columns_to_match_ordered_list",
                {"column_list": ["bukrs", "belnr", "gjahr", "budat", "waers"]}, dimension="规范性"),
            exp("rows", "expect_table_row_count_to_be_between", {"min_value": 1, "max_value": 100}),
            exp("rows_exact", "expect_table_row_count_to_equal", {"value": 9}, severity="warn"),
            exp("missing_col", "expect_column_values_to_not_be_null", {"column": "nope"}),
            exp("balanced", "expect_column_values_to_be_between", {"column": "saldo", "min_value": 0, "max_value": 0},
                relation=BALANCE, dimension="准确性"),
            exp("no_orphans", "expect_table_row_count_to_equal", {"value": 0}, relation=ORPHAN_LINES,
                dimension="一致性"),
            exp("broken", "expect_column_values_to_not_be_null", {"column": "x"},
                relation="SELECT x FROM ods_missing"),
        ],
    })


def by_id(results: list[ExpectationResult]) -> dict[str, ExpectationResult]:
    return {r.expectation_id: r for r in results}


def test_counts_examples_and_success_one_batch(con: duckdb.DuckDBPyConnection) -> None:
    suite = header_suite()
    results = validate(con, suite)
    assert [r.expectation_id for r in results] == [s.id for s in suite.expectations]  # suite order
    r = by_id(results)

    ok = r["belnr_nn"]
    assert (ok.success, ok.element_count, ok.unexpected_count, ok.unexpected_percent, ok.unexpected_examples) == (
        True, 8, 0, 0.0, [])
    assert (ok.exception, ok.kind, ok.batches, ok.column, ok.dimension) == (None, "row", 1, "belnr", "完整性")

    assert (r["waers_nn"].success, r["waers_nn"].unexpected_count, r["waers_nn"].unexpected_percent) == (False, 2, 25.0)
    assert r["waers_nn"].unexpected_examples == [None, None]  # NaN made JSON-null

    assert (r["belnr_fmt"].unexpected_count, r["belnr_fmt"].unexpected_examples) == (1, ["ABC0000004"])
    assert r["belnr_fmt"].dimension == "规范性"  # English alias normalised
    assert (r["gjahr_range"].success, r["gjahr_range"].unexpected_examples) == (False, [2031])
    assert (r["gjahr_mostly"].success, r["gjahr_mostly"].unexpected_count) == (True, 1)  # 7/8 >= 0.75
    # nulls are missing, not unexpected: 1 of 6 non-null currencies
    assert (r["waers_set"].unexpected_count, r["waers_set"].unexpected_examples) == (1, ["USD"])
    assert r["waers_set"].unexpected_percent == pytest.approx(100 / 6)
    # a date-only bound works on a DATE column (datetime64 in pandas)
    assert (r["budat_jan"].success, r["budat_jan"].unexpected_count) == (False, 1)
    assert r["budat_jan"].unexpected_examples == ["2026-02-10T00:00:00"]
    assert r["budat_jan"].unexpected_percent == pytest.approx(100 / 7)

    dup = r["key_unique"]
    assert (dup.success, dup.unexpected_count, dup.kind) == (False, 2, "whole")
    assert dup.unexpected_examples == [{"bukrs": "3302", "belnr": "0000000006", "gjahr": 2026}] * 2

    assert (r["columns"].success, r["columns"].observed_value) == (True, ["bukrs", "belnr", "gjahr", "budat", "waers"])
    assert (r["rows"].success, r["rows"].observed_value, r["rows"].element_count) == (True, 8, None)
    assert (r["rows_exact"].success, r["rows_exact"].observed_value, r["rows_exact"].severity) == (False, 8, "warn")

    # documents 2 (50 - 40) and 9 (a lone debit) do not balance; 0.10 + 0.20 - 0.30 is exactly 0 in DuckDB
    assert (r["balanced"].success, r["balanced"].element_count, r["balanced"].unexpected_examples) == (
        False, 4, [10.0, 1.0])
    assert (r["no_orphans"].success, r["no_orphans"].observed_value) == (False, 1)
    for result in results:
        json.dumps(result.to_dict(), allow_nan=False)


def test_failures_are_results_not_crashes(con: duckdb.DuckDBPyConnection) -> None:
    r = by_id(validate(con, header_suite()))
    broken = r["broken"]
    assert broken.success is False and broken.batches == 0
    assert "relation failed" in broken.exception and "ods_missing" in broken.exception
    missing = r["missing_col"]
    assert missing.success is False and 'column "nope"' in missing.exception
    assert sum(1 for x in r.values() if x.exception) == 2  # everything else ran normally


def test_batches_give_the_same_row_level_counts(con: duckdb.DuckDBPyConnection) -> None:
    suite = header_suite()
    one = by_id(validate(con, suite, batch_rows=500_000))
    many = by_id(validate(con, suite, batch_rows=3))
    for spec in suite.expectations:
        a, b = one[spec.id], many[spec.id]
        if spec.kind == "row" and spec.id != "broken":
            assert (a.success, a.element_count, a.unexpected_count, a.unexpected_percent, a.unexpected_examples,
                    a.exception) == (b.success, b.element_count, b.unexpected_count, b.unexpected_percent,
                                     b.unexpected_examples, b.exception), spec.id
    assert many["waers_nn"].batches == 3 and many["balanced"].batches == 2  # 8 rows / 3; 4 documents / 3
    # one batch of 3 rows holds 1 bad year (1/3 > 25%): GX fails that batch, the merged 1/8 passes
    assert many["gjahr_mostly"].success is True
    # schema checks run once; whole-relation checks need the relation in one batch
    assert (many["columns"].success, many["columns"].batches) == (True, 1)
    for whole in ("key_unique", "rows", "rows_exact"):
        assert many[whole].success is False
        assert "8 rows, more than batch_rows=3" in many[whole].exception
    assert (many["no_orphans"].observed_value, many["no_orphans"].exception) == (1, None)  # a 1-row relation


def test_batches_across_duckdb_vectors(con: duckdb.DuckDBPyConnection) -> None:
    sizes = [(len(df), last) for df, last in _batches(con, "SELECT * FROM big", 2100)]
    assert sizes == [(2100, False), (2100, False), (800, True)]
    assert [(len(df), last) for df, last in _batches(con, "SELECT * FROM big LIMIT 6", 3)] == [(3, False), (3, True)]
    (empty, last), = list(_batches(con, "SELECT * FROM big WHERE false", 3))
    assert (len(empty), list(empty.columns), last) == (0, ["i", "s", "k"], True)

    suite = suite_from_dict({"name": "big", "target": "big", "expectations": [
        exp("s_nn", "expect_column_values_to_not_be_null", {"column": "s"}),
        exp("s_fmt", "expect_column_values_to_match_regex", {"column": "s", "regex": r"^v\d+$"}),
        exp("k_range", "expect_column_values_to_be_between", {"column": "k", "min_value": 0, "max_value": 11},
            severity="warn"),
    ]})
    nulls, twelves = con.execute("SELECT count(*) FILTER (i % 97 = 0), count(*) FILTER (i % 13 = 12) FROM big").fetchone()
    for batch_rows in (10_000, 2100, 1000):
        r = by_id(validate(con, suite, batch_rows=batch_rows, examples=3))
        assert (r["s_nn"].element_count, r["s_nn"].unexpected_count, r["s_nn"].unexpected_examples) == (
            5000, nulls, [None] * 3)
        assert (r["s_fmt"].success, r["s_fmt"].unexpected_count, r["s_fmt"].unexpected_percent) == (True, 0, 0.0)
        assert (r["k_range"].unexpected_count, r["k_range"].unexpected_examples) == (twelves, [12, 12, 12])
        assert r["k_range"].unexpected_percent == pytest.approx(twelves / 5000 * 100)


def test_whole_relation_checks_alone_stop_after_one_batch(con: duckdb.DuckDBPyConnection) -> None:
    suite = suite_from_dict({"name": "big.rows", "target": "big", "expectations": [
        exp("rows", "expect_table_row_count_to_equal", {"value": 5000}),
        exp("columns", "expect_table_columns_to_match_set", {"column_set": ["k", "s", "i"]}),
    ]})
    r = by_id(validate(con, suite, batch_rows=1000))
    assert r["rows"].success is False and r["rows"].batches == 0
    assert "relation has more rows, more than batch_rows=1000" in r["rows"].exception
    assert (r["columns"].success, r["columns"].batches) == (True, 1)
    assert by_id(validate(con, suite, batch_rows=5000))["rows"].observed_value == 5000


def test_batches_get_dtypes_gx_vectorises(con: duckdb.DuckDBPyConnection) -> None:
    df = con.execute("SELECT 1::INTEGER AS i, NULL::INTEGER AS n, DATE '2026-01-01' AS d, DATE '9999-12-31' AS far, "
                     "1.5::FLOAT AS f").df()
    dtypes = {k: str(v) for k, v in _gx_friendly(df).dtypes.items()}
    assert dtypes == {"i": "int64", "n": "Int32", "d": "datetime64[ns]", "far": "datetime64[us]", "f": "float64"}


def test_empty_relation_and_example_cap(con: duckdb.DuckDBPyConnection) -> None:
    suite = suite_from_dict({"name": "empty", "target": "ods_bkpf", "default_relation": "SELECT * FROM ods_bkpf WHERE false",
                             "expectations": [
                                 exp("nn", "expect_column_values_to_not_be_null", {"column": "waers"}),
                                 exp("none", "expect_table_row_count_to_equal", {"value": 0}),
                             ]})
    r = by_id(validate(con, suite))
    assert (r["nn"].success, r["nn"].element_count, r["nn"].unexpected_count, r["nn"].unexpected_percent) == (
        True, 0, 0, None)
    assert (r["none"].success, r["none"].observed_value) == (True, 0)
    capped = by_id(validate(con, header_suite(), examples=1))
    assert capped["waers_nn"].unexpected_examples == [None] and capped["waers_nn"].unexpected_count == 2


@pytest.mark.parametrize(("change", "message"), [
    ({"dimension": "freshness"}, "dimension"),
    ({"severity": "fatal"}, "severity"),
    ({"expectation": "expect_column_values_to_be_awesome"}, "unknown Great Expectations expectation"),
    ({"kwargs": {"column": "x", "regx": "a"}, "expectation": "expect_column_values_to_match_regex"}, "regx"),
    ({"kwargs": {"column": "x", "meta": {}}}, "set by the bridge"),
    ({"expectation": "expect_column_values_to_match_like_pattern", "kwargs": {"column": "x", "like_pattern": "a%"}},
     "cannot be evaluated on pandas"),
    ({"relation": "DELETE FROM ods_bkpf"}, "SELECT"),
    ({"relation": "SELECT 1; SELECT 2"}, "one SELECT"),
])
def test_bad_specs_are_refused_naming_suite_and_id(change: dict[str, Any], message: str) -> None:
    good = exp("ok_1", "expect_column_values_to_not_be_null", {"column": "x"})
    bad = {**exp("bad_1", "expect_column_values_to_not_be_null", {"column": "x"}), **change}
    with pytest.raises(SuiteSpecError) as err:
        suite_from_dict({"name": "ods.t001", "target": "ods_t001", "expectations": [good, bad]})
    text = str(err.value)
    assert "suite 'ods.t001'" in text and "expectation 'bad_1'" in text and message in text
    assert "ok_1" not in text


@pytest.mark.parametrize(("change", "gx_only"), [
    ({"expectation": "expect_column_values_to_be_awesome"}, True),
    ({"kwargs": {"column": "x", "regx": "a"}, "expectation": "expect_column_values_to_match_regex"}, True),
    ({"dimension": "freshness"}, False),
    ({"relation": "DELETE FROM ods_bkpf"}, False),
])
def test_without_gx_only_the_structure_is_checked(change: dict[str, Any], gx_only: bool) -> None:
    """What the Dagster code location loads: names, ids and structure, GX's verdict left to the check."""
    bad = {"name": "ods.t001", "target": "ods_t001",
           "expectations": [{**exp("bad_1", "expect_column_values_to_not_be_null", {"column": "x"}), **change}]}
    with pytest.raises(SuiteSpecError, match="expectation 'bad_1'"):
        suite_from_dict(bad)
    if gx_only:
        suite = suite_from_dict(bad, gx=False)
        assert [e.id for e in suite.expectations] == ["bad_1"]
    else:
        with pytest.raises(SuiteSpecError, match="expectation 'bad_1'"):
            suite_from_dict(bad, gx=False)


def test_suite_level_refusals_and_yaml(tmp_path: Path) -> None:
    twice = exp("same", "expect_column_values_to_not_be_null", {"column": "x"})
    with pytest.raises(SuiteSpecError, match=r"suite 'ods.t001', expectation 'same': duplicate id"):
        suite_from_dict({"name": "ods.t001", "target": "t", "expectations": [twice, twice]})
    with pytest.raises(SuiteSpecError, match="suite 'ods t001'"):
        suite_from_dict({"name": "ods t001", "target": "t", "expectations": [twice]})
    path = tmp_path / "bkpf.yaml"
    path.write_text("""
name: ods.bkpf
target: ods.bkpf
expectations:
  - id: belnr_not_null
    expectation: expect_column_values_to_not_be_null
    kwargs: {column: belnr}
    dimension: Completeness
    severity: error
    description_zh: 凭证号不为空
    description_en: document number is present
  - id: budat_in_2026
    expectation: expect_column_values_to_be_between
    kwargs: {column: budat, min_value: 2026-01-01, max_value: 2026-12-31}
    dimension: 时效性
    severity: warn
    description_zh: 过账日期在 2026 年
    description_en: posted in 2026
    relation: SELECT * FROM ods.bkpf WHERE gjahr = 2026;
""", encoding="utf-8")
    suite = load_suite(path)
    assert suite.relation == "SELECT * FROM ods.bkpf"
    assert [s.dimension for s in suite.expectations] == ["完整性", "时效性"]
    assert suite.expectations[1].relation == "SELECT * FROM ods.bkpf WHERE gjahr = 2026"
    assert len(suite.by_relation()) == 2
    text = path.read_text(encoding="utf-8")
    line = text[:text.index("severity: warn")].count("\n") + 1
    path.write_text(text.replace("severity: warn", "severity: minor"), encoding="utf-8")
    with pytest.raises(SuiteSpecError,
                       match=rf"bkpf.yaml:{line}: suite 'ods.bkpf', expectation 'budat_in_2026': severity"):
        load_suite(path)
    assert [expectation_kind(n) for n in ("expect_column_values_to_be_in_set", "expect_table_columns_to_match_set",
                                          "expect_column_sum_to_be_between")] == ["row", "schema", "whole"]


def test_data_docs(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    suite = header_suite()
    data_docs = DataDocsStore()
    validate(con, suite, data_docs=data_docs)
    gx_result = data_docs.last_validation("ods.bkpf")
    assert gx_result is not None and gx_result.success is False
    severities = {r.expectation_config.meta["spec_id"]: r.expectation_config.severity.value for r in gx_result.results}
    assert (severities["waers_nn"], severities["rows_exact"]) == ("critical", "warning")
    index = data_docs.build_data_docs(tmp_path, ["ods.bkpf"])
    assert index == tmp_path / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert index.is_file() and "ods.bkpf" in index.read_text(encoding="utf-8")
    # GX turns the dots of a suite name into folders
    pages = list((index.parent / "validations" / "ods" / "bkpf").rglob("*.html"))
    assert len(pages) == 1 and "ABC0000004" in pages[0].read_text(encoding="utf-8")
    assert (tmp_path / "gx" / "expectations" / "ods" / "bkpf.json").is_file()
    # the file context does not take over the bridge's own (ephemeral) one
    assert by_id(validate(con, suite))["waers_nn"].unexpected_count == 2
