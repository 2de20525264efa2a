"""The query guard (serve/guard.py): every refusal kind with its exact reason code, and every path
by which a query reaches a company-bound table, run against a real DuckDB holding three companies.

Confinement is checked against an oracle: the guarded query on the full database must return
exactly what the analyst's own query returns on a database that holds only the caller's companies
(so nothing of another company comes back, and everything of the caller's does). Each corpus query
is also shown to leak without the guard, so every case exercises the rewrite."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import duckdb
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.optimizer.scope import traverse_scope

from models.loader import create_macros, table_macro_files
from serve.guard import REASONS, TABLE_MACROS, GuardedQuery, QueryRefused, _verify, guard

MINE = frozenset({"3301"})
COMPANIES = ("3301", "3302", "3303")
PUBLISHED = ("dim", "dwd", "dws", "ads", "ref")

_ITEM = ("bukrs VARCHAR, {partner} VARCHAR, gjahr INTEGER, belnr VARCHAR, buzei INTEGER, hkont VARCHAR, "
         "blart VARCHAR, budat DATE, net_due_date DATE, augdt DATE, umskz VARCHAR, is_special_gl BOOLEAN, "
         "is_noted_item BOOLEAN, amount_lc DECIMAL(15, 2)")
# bukrs, partner, belnr, budat, net due, augdt, umskz, amount: open, cleared, special G/L, noted items
_ITEMS = [
    ("3301", "K1", "A001", "2026-08-01", "2026-08-31", None, "", 100),
    ("3301", "K2", "A002", "2026-09-15", "2026-10-15", None, "", 200),
    ("3301", "K1", "A003", "2026-07-01", "2026-07-31", "2026-09-01", "", 400),
    ("3301", "K2", "A004", "2026-09-01", "2026-09-30", None, "A", 50),
    ("3301", "K1", "A005", "2026-09-20", "2026-10-20", None, "F", 30),
    ("3302", "K1", "B001", "2026-08-01", "2026-08-31", None, "", 1000),
    ("3302", "K3", "B002", "2024-01-10", "2024-02-09", None, "", 2000),
    ("3302", "K3", "B003", "2026-09-01", "2026-09-30", None, "A", 500),
    ("3302", "K1", "B004", "2026-09-20", "2026-10-20", None, "F", 300),
    ("3303", "K4", "C001", "2025-05-05", "2025-06-04", None, "", 7000),
]
FOREIGN_DOCS = {row[2] for row in _ITEMS if row[0] != "3301"}


def _build(keep: frozenset[str] | None) -> duckdb.DuckDBPyConnection:
    """The published snapshot in small: catalog respool, three companies (or only `keep`'s)."""
    con = duckdb.connect()
    con.execute("ATTACH ':memory:' AS respool; USE respool")
    for schema in ("dim", "dwd", "ods", "stg", "meta", "quarantine"):
        con.execute(f"CREATE SCHEMA {schema}")
    for table, partner, prefix in (("dwd_ar_item", "kunnr", ""), ("dwd_ap_item", "lifnr", "V")):
        con.execute(f"CREATE TABLE dwd.{table} ({_ITEM.format(partner=partner)})")
        con.executemany(
            f"INSERT INTO dwd.{table} VALUES (?, ?, 2026, ?, 1, '1122010000', 'DR', ?, ?, ?, ?, ?, ?, ?)",
            [(b, prefix + p, prefix + doc, budat, due, augdt, umskz, umskz not in ("", "F"), umskz == "F",
              Decimal(amount)) for b, p, doc, budat, due, augdt, umskz, amount in _ITEMS])
    con.execute("CREATE TABLE dim.dim_customer (kunnr VARCHAR, name1 VARCHAR)")
    con.execute("INSERT INTO dim.dim_customer VALUES ('K1', '杭州甲'), ('K2', '杭州乙'), ('K3', '宁波丙'), "
                "('K4', '温州丁'), ('K9', '无往来')")
    con.execute("CREATE TABLE dim.dim_company (bukrs VARCHAR, butxt VARCHAR)")
    con.executemany("INSERT INTO dim.dim_company VALUES (?, ?)", [(c, f"公司{c}") for c in COMPANIES])
    if keep is not None:  # the oracle: only the caller's companies were ever there
        for table in ("dwd.dwd_ar_item", "dwd.dwd_ap_item", "dim.dim_company"):
            con.execute(f"DELETE FROM {table} WHERE NOT list_contains(?::VARCHAR[], bukrs)", [sorted(keep)])
    con.execute("CREATE TABLE ods.bsid (bukrs VARCHAR, belnr VARCHAR); INSERT INTO ods.bsid VALUES ('3302', 'B001')")
    con.execute("CREATE TABLE meta.batch (batch_id INTEGER); INSERT INTO meta.batch VALUES (1)")
    create_macros(con)
    create_macros(con, table_macro_files())  # ar_aging & co., as the project defines them
    return con


_DATABASES: dict[frozenset[str] | None, duckdb.DuckDBPyConnection] = {}


def database(keep: frozenset[str] | None) -> duckdb.DuckDBPyConnection:
    if keep not in _DATABASES:
        _DATABASES[keep] = _build(keep)
    return _DATABASES[keep]


@pytest.fixture(scope="module")
def full() -> Iterator[duckdb.DuckDBPyConnection]:
    yield database(None)
    for con in _DATABASES.values():
        con.close()
    _DATABASES.clear()


def published_schema(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """What the service passes: the published layers' tables and their columns."""
    rows = con.execute(
        "SELECT table_schema || '.' || table_name, list(column_name ORDER BY ordinal_position) "
        "FROM information_schema.columns WHERE table_catalog = 'respool' AND table_schema IN "
        f"({', '.join(repr(s) for s in PUBLISHED)}) GROUP BY ALL").fetchall()
    return {name: columns for name, columns in rows}


@pytest.fixture(scope="module")
def schema(full) -> dict[str, list[str]]:
    return published_schema(full)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return sorted((tuple(row) for row in con.execute(sql).fetchall()), key=repr)


def _cells(rows: list[tuple]) -> set:
    out = set()
    for row in rows:
        for cell in row:
            if isinstance(cell, dict):
                out |= set(cell.values())
            elif isinstance(cell, list):
                out |= set(cell)
            else:
                out.add(cell)
    return out


def _refusal(sql: str, schema, codes=MINE) -> QueryRefused:
    with pytest.raises(QueryRefused) as info:
        guard(sql, schema, codes)
    assert info.value.code in REASONS
    return info.value


# --- refusals -------------------------------------------------------------------------------------

REFUSALS = [
    # (sql, code, fragment of the message)
    ("", "empty", "查询为空"),
    ("  -- 只有注释 only a comment\n /* and another */ ", "empty", "empty"),
    (" ; ; ", "empty", "empty"),
    ("SELEC * FROM dwd.dwd_ar_item", "syntax", "line 1, column 12"),
    ("SELECT bukrs,\n  FROM dwd.dwd_ar_item WHERE", "syntax", "第 2 行"),
    ("SELECT 'unterminated", "syntax", "tokeniz"),
    ("SELECT 1; SELECT 2", "multiple_statements", "2 条语句"),
    ("SELECT * FROM dwd.dwd_ar_item; DROP TABLE dwd.dwd_ar_item", "multiple_statements", "2 "),
    (r"SELECT 'x\'; SELECT * FROM ods.bsid; --' AS s", "multiple_statements", "2 "),
    ("CREATE TABLE dwd.x AS SELECT * FROM dwd.dwd_ar_item", "ddl", "CREATE"),
    ("DROP TABLE dwd.dwd_ar_item", "ddl", "DROP"),
    ("ALTER TABLE dwd.dwd_ar_item ADD COLUMN x INT", "ddl", "ALTER"),
    ("CREATE OR REPLACE MACRO ar_aging(k, b) AS TABLE SELECT * FROM dwd.dwd_ar_item", "ddl", "CREATE"),
    ("COMMENT ON TABLE dwd.dwd_ar_item IS 'x'", "ddl", "COMMENT"),
    ("INSERT INTO dwd.dwd_ar_item SELECT * FROM dwd.dwd_ar_item", "dml", "INSERT"),
    ("UPDATE dwd.dwd_ar_item SET bukrs = '3301'", "dml", "UPDATE"),
    ("DELETE FROM dwd.dwd_ar_item WHERE bukrs <> '3301'", "dml", "DELETE"),
    ("MERGE INTO dwd.dwd_ar_item t USING dwd.dwd_ap_item s ON t.belnr = s.belnr WHEN MATCHED THEN DELETE",
     "dml", "MERGE"),
    ("TRUNCATE dwd.dwd_ar_item", "dml", "TRUNCATE"),
    ("WITH gone AS (DELETE FROM dwd.dwd_ar_item RETURNING *) SELECT * FROM gone", "dml", "DELETE"),
    ("WITH x AS (SELECT 1) INSERT INTO dwd.dwd_ar_item SELECT * FROM x", "dml", "INSERT"),
    ("COPY dwd.dwd_ar_item TO '/tmp/all.csv'", "copy", "COPY"),
    ("COPY (SELECT * FROM dwd.dwd_ar_item) TO '/tmp/all.parquet' (FORMAT parquet)", "copy", "COPY"),
    ("EXPORT DATABASE '/tmp/dump'", "export_import", "EXPORT"),
    ("IMPORT DATABASE '/tmp/dump'", "export_import", "IMPORT"),
    ("ATTACH '/tmp/other.duckdb' AS other", "attach", "ATTACH"),
    ("DETACH respool", "attach", "DETACH"),
    ("INSTALL httpfs", "extension", "INSTALL"),
    ("LOAD httpfs", "extension", "LOAD"),
    ("FORCE INSTALL httpfs", "extension", "INSTALL"),
    ("PRAGMA database_list", "pragma", "PRAGMA"),
    ("SET enable_external_access = true", "set", "SET"),
    ("SET VARIABLE x = 1", "set", "SET"),
    ("RESET memory_limit", "set", "RESET"),
    ("CALL pragma_version()", "call", "CALL"),
    ("CHECKPOINT", "checkpoint", "CHECKPOINT"),
    ("FORCE CHECKPOINT", "checkpoint", "CHECKPOINT"),
    ("USE ods", "use", "USE"),
    ("DESCRIBE dwd.dwd_ar_item", "describe", "DESCRIBE"),
    ("SHOW TABLES", "describe", "SHOW"),
    ("SUMMARIZE dwd.dwd_ar_item", "describe", "SUMMARIZE"),
    ("EXPLAIN SELECT * FROM dwd.dwd_ar_item", "describe", "EXPLAIN"),
    ("SELECT * FROM (DESCRIBE dwd.dwd_ar_item)", "describe", "DESCRIBE"),
    ("SELECT * FROM (SUMMARIZE dwd.dwd_ar_item)", "describe", "SUMMARIZE"),
    ("BEGIN TRANSACTION", "transaction", "BEGIN"),
    ("COMMIT", "transaction", "COMMIT"),
    ("PREPARE p AS SELECT * FROM dwd.dwd_ar_item", "statement", "PREPARE"),
    ("PIVOT dwd.dwd_ar_item ON bukrs USING sum(amount_lc)", "statement", "SELECT * FROM (PIVOT"),
    ("SELECT * INTO dwd.copy FROM dwd.dwd_ar_item", "select_into", "INTO"),
    # tables outside the published layers, system views, other catalogs, unqualified names
    ("SELECT * FROM ods.bsid", "unknown_table", "ods.bsid"),
    ("SELECT * FROM stg.stg_bsid", "unknown_table", "stg.stg_bsid"),
    ("SELECT * FROM meta.batch", "unknown_table", "meta.batch"),
    ("SELECT * FROM quarantine.stg_bsid", "unknown_table", "quarantine.stg_bsid"),
    ("SELECT * FROM information_schema.tables", "unknown_table", "information_schema.tables"),
    ("SELECT * FROM pg_catalog.pg_tables", "unknown_table", "pg_catalog.pg_tables"),
    ("SELECT * FROM main.secrets", "unknown_table", "main.secrets"),
    ("SELECT * FROM temp.main.scratch", "unknown_table", "temp.main.scratch"),
    ("SELECT * FROM system.main.duckdb_settings", "unknown_table", "system.main.duckdb_settings"),
    ("SELECT * FROM duckdb_tables", "unknown_table", "duckdb_tables"),
    ("SELECT * FROM dwd_ar_item", "unknown_table", "dwd_ar_item"),
    ("SELECT * FROM other.dwd.dwd_ar_item", "unknown_table", "other.dwd.dwd_ar_item"),
    ("SELECT * FROM '/etc/passwd'", "unknown_table", "/etc/passwd"),
    ("SELECT * FROM dwd.dwd_ar_item WHERE belnr IN (SELECT belnr FROM ods.bsid)", "unknown_table", "ods.bsid"),
    ("WITH a AS (SELECT * FROM b), b AS (SELECT * FROM dwd.dwd_ar_item) SELECT * FROM a", "unknown_table",
     "): b"),  # a CTE sees only the CTEs defined before it
    ("SELECT * FROM (SHOW TABLES)", "unknown_table", "show"),
    # table functions
    ("SELECT * FROM read_csv('/etc/passwd')", "table_function", "read_csv()"),
    ("SELECT * FROM read_csv_auto('/data/x.csv')", "table_function", "read_csv_auto()"),
    ("SELECT * FROM read_text('/etc/passwd')", "table_function", "read_text()"),
    ("SELECT * FROM read_blob('/etc/passwd')", "table_function", "read_blob()"),
    ("SELECT * FROM read_json_auto('/data/x.json')", "table_function", "read_json_auto()"),
    ("SELECT * FROM read_parquet('/data/x.parquet')", "table_function", "read_parquet()"),
    ("SELECT * FROM parquet_scan('/data/x.parquet')", "table_function", "parquet_scan()"),
    ("SELECT * FROM glob('/data/*')", "table_function", "glob()"),
    ("SELECT * FROM query('SELECT * FROM ods.bsid')", "table_function", "query()"),
    ("SELECT * FROM query_table('ods.bsid')", "table_function", "query_table()"),
    ("SELECT * FROM sniff_csv('/data/x.csv')", "table_function", "sniff_csv()"),
    ("SELECT * FROM duckdb_tables()", "table_function", "duckdb_tables()"),
    ("SELECT * FROM dim.dim_customer c JOIN LATERAL ar_aging(DATE '2026-10-31', 'due') a ON true",
     "table_function", "LATERAL ar_aging()"),
    ("SELECT * FROM ods.ar_aging(DATE '2026-10-31', 'due')", "table_function", "ods.ar_aging()"),
    # table macro arguments
    ("SELECT * FROM ar_aging((SELECT max(budat) FROM dwd.dwd_ar_item), 'due')", "macro_argument", "ar_aging("),
    ("SELECT * FROM ar_aging(current_date, 'due')", "macro_argument", "ar_aging("),
    ("SELECT * FROM ar_aging(DATE '2026-10-31')", "macro_argument", "1 given, 2 expected"),
    # scalar functions that reach outside the query
    ("SELECT getenv('HOME')", "function", "getenv()"),
    ("SELECT current_setting('enable_external_access')", "function", "current_setting()"),
    ("SELECT getvariable('x')", "function", "getvariable()"),
    ("SELECT bukrs FROM dwd.dwd_ar_item WHERE belnr = '/etc/passwd'.read_text()", "function", "read_text()"),
    ("SELECT count(*) FROM dim.dim_customer WHERE (SELECT count(*) FROM duckdb_settings()) > 0",
     "table_function", "duckdb_settings()"),
    ("SELECT duckdb_extensions()", "function", "duckdb_extensions()"),
    ("SELECT nextval('seq')", "function", "nextval()"),
    ("SELECT * FROM unnest((SELECT list(x) FROM pragma_table_info('ods.bsid')))", "table_function",
     "pragma_table_info()"),
    # what the guard cannot confine
    ("SELECT * FROM dwd.dwd_ar_item AT (VERSION => 1)", "unsupported", "AT"),
]


@pytest.mark.parametrize(("sql", "code", "fragment"), REFUSALS, ids=[f"{c}-{i}" for i, (_, c, _) in enumerate(REFUSALS)])
def test_refused(schema, sql, code, fragment):
    refused = _refusal(sql, schema)
    assert refused.code == code, str(refused)
    assert fragment in str(refused)
    zh, en = REASONS[code]
    assert zh in str(refused) and en in str(refused)  # both languages, what and why


def test_every_reason_code_is_exercised():
    exercised = {code for _, code, _ in REFUSALS}
    assert exercised == set(REASONS)


def test_refusal_is_a_value_error_with_the_subject(schema):
    refused = _refusal("SELECT * FROM ods.bsid", schema)
    assert isinstance(refused, ValueError)
    assert refused.subject == "ods.bsid"
    assert str(refused).startswith("查询被拒绝") and "Query refused" in str(refused)


def test_auditor_is_refused_the_same_things(schema):
    assert _refusal("SELECT * FROM ods.bsid", schema, codes=None).code == "unknown_table"
    assert _refusal("SELECT * FROM read_csv('/etc/passwd')", schema, codes=None).code == "table_function"


# --- refusals, word for word ----------------------------------------------------------------------
# REFUSALS checks the code and a fragment; these pin what the analyst reads: subject and detail as
# they are, and the whole message of two refusals. Where the wording is sqlglot's and not the
# analyst's (a node name, an argument key, a position in the rewritten SQL), the comment says so.

EXACT_REFUSALS = [
    # (sql, code, subject, detail)
    ("", "empty", "（空）(empty)", ""),
    ("SELECT 'unterminated", "syntax", "词法错误 tokenizer", "Error tokenizing 'SELECT 'unterminate'"),
    ("SELECT 1,\n 'unterminated", "syntax", "词法错误 tokenizer", "Error tokenizing 'SELECT 1,"),  # first line only
    ("SELECT * FROM dim.dim_customer c, LATERAL 'x'", "syntax", "第 1 行第 45 列 line 1, column 45",
     "Required keyword: 'this' missing for Lateral near \"'x'\""),  # <class '…Lateral'> shortened
    ("SELECT bukrs,\n  FROM dwd.dwd_ar_item WHERE", "syntax", "第 2 行第 28 列 line 2, column 28",
     "Required keyword: 'this' missing for Where near 'WHERE'"),
    # a parse error that carries no position: no "near", subject "?"
    ('SELECT CAST(1 AS "DECIMAL(")', "syntax", "?", "No expression was parsed from 'DECIMAL('"),
    ("SELECT 1; SELECT 2", "multiple_statements", "2 条语句 statements", ""),
    ("ELSE", "multiple_statements", "0 条语句 statements", ""),  # sqlglot parses no statement at all
    ("DROP TABLE dwd.dwd_ar_item", "ddl", "DROP", ""),
    ("UPDATE EXTENSIONS", "extension", "UPDATE", ""),  # not DML: it updates the installed extensions
    ("PIVOT dwd.dwd_ar_item ON bukrs USING sum(amount_lc)", "statement", "PIVOT",
     "写成 SELECT * FROM (PIVOT …) / write SELECT * FROM (PIVOT …)"),
    ("FORCE", "statement", "FORCE", ""),  # sqlglot's fallback Command, keyword unknown
    ("WITH x AS (RESET 'threads') SELECT * FROM x", "set", "RESET", ""),  # a Command inside a CTE
    ("1 + 1", "statement", "ADD", ""),  # an expression, not a statement: sqlglot's node name
    ("(1 + 1)", "statement", "PAREN", ""),
    ("(VALUES (1))", "statement", "VALUES", ""),  # refused although VALUES (1) is accepted
    ("SELECT * INTO dwd.copy FROM dwd.dwd_ar_item", "select_into", "SELECT … INTO", ""),
    ("FROM FROM dim.dim_customer", "unsupported", "FROM Select", ""),  # a query where a table belongs
    ("SELECT * FROM dwd.dwd_ar_item AT (TIMESTAMP => TIMESTAMP '2026-01-01')", "unsupported",
     "dwd.dwd_ar_item AT (TIMESTAMP => CAST('2026-01-01' AS TIMESTAMP))", "table option when"),  # sqlglot's key
    ("SELECT kunnr FROM dim.dim_customer UNION (PIVOT dim.dim_customer ON kunnr USING count(*))", "unsupported",
     "CTE / scope", "Cannot build a scope for set operation operand: (PIVOT dim.dim_customer ON kunnr USING COUNT(*))"),
    ("WITH p AS (SELECT 1 AS x) SELECT * FROM $p", "unsupported", "$p", ""),  # a parameter is not the CTE p
    ("SELECT * FROM ROWS FROM (range(3))", "unsupported", "ROWS FROM (RANGE(0, 3))", ""),
    ("SELECT * FROM dim.dim_customer c, LATERAL Ar_Aging(DATE '2026-10-31', 'due')", "table_function",
     "LATERAL Ar_Aging()", ""),  # the analyst's spelling of the name
    ("SELECT * FROM dim.dim_customer c, LATERAL main.ar_aging(TIMESTAMP '2026-10-31', 'due')", "table_function",
     "LATERAL main.ar_aging(CAST('2026-10-31' AS TIMESTAMP), 'due')", ""),  # in DuckDB's SQL
    ("SELECT * FROM other.ods.ar_aging(DATE '2026-10-31', 'due')", "table_function", "other.ods.ar_aging()", ""),
    ("SELECT * FROM ar_aging(DATE '2026-10-31')", "macro_argument", "ar_aging()", "1 given, 2 expected"),
    ("SELECT * FROM ar_aging(DATE '2026-10-31', ['due'])", "macro_argument", "ar_aging(['due'])", ""),
    # accepted by sqlglot, but the rewritten SQL does not parse again: refused by the second check,
    # with a position in the rewritten SQL ("SELECT LIMIT 100001"), not in the analyst's
    ("SELECT", "unsupported", "rewrite", "Invalid expression / Unexpected token. Line 1, Col: 19."),
    # a LATERAL right after a table inside parentheses: kept (sqlglot writes it back unparseable),
    # never silently dropped from the query
    ("SELECT * FROM (dwd.dwd_ar_item i LATERAL (SELECT i.belnr AS b) l)", "unsupported", "rewrite",
     "Expecting ). Line 1, Col: 84."),
]


@pytest.mark.parametrize(("sql", "code", "subject", "detail"), EXACT_REFUSALS,
                         ids=[f"{c}-{i}" for i, (_, c, _, _) in enumerate(EXACT_REFUSALS)])
def test_refusal_names_exactly_what_and_why(schema, sql, code, subject, detail):
    refused = _refusal(sql, schema)
    assert (refused.code, refused.subject, refused.detail) == (code, subject, detail)


def test_refusal_message_word_for_word(schema):
    assert str(_refusal("SELECT * FROM ods.bsid", schema)) == (
        "查询被拒绝：表不存在或无权访问（请写“模式.表名”，如 dwd.dwd_ar_item）：ods.bsid | "
        "Query refused: unknown or not allowed table (write schema.table, e.g. dwd.dwd_ar_item): ods.bsid")
    assert str(_refusal("SELECT * FROM ar_aging(DATE '2026-10-31')", schema)) == (
        "查询被拒绝：表宏的参数必须是常量且个数正确：ar_aging() — 1 given, 2 expected | "
        "Query refused: table macro arguments must be literals, in the right number: ar_aging() — 1 given, 2 expected")


def test_other_parser_errors_are_syntax_refusals(schema, monkeypatch):
    """Any other sqlglot error while parsing is refused as syntax, never raised as it is."""
    def fail(self, raw_tokens, sql=None):
        raise TokenError("parser gave up\nsecond line")
    monkeypatch.setattr(Dialect.get_or_raise("duckdb").parser_class, "parse", fail)
    refused = _refusal("SELECT 1", schema)
    assert (refused.code, refused.subject, refused.detail) == ("syntax", "?", "parser gave up")


# --- confinement ---------------------------------------------------------------------------------

AGING = "DATE '2026-10-31', 'due'"
EXPECTED_EMPTY = {"except_own_rows"}  # the right answer for the caller is no row
CONFINED = [
    # (id, sql)
    ("direct", "SELECT * FROM dwd.dwd_ar_item"),
    ("from_first", "FROM dwd.dwd_ar_item SELECT bukrs, belnr, amount_lc"),
    ("from_first_bare", "FROM dwd.dwd_ar_item"),
    ("alias", "SELECT a.bukrs, a.belnr FROM dwd.dwd_ar_item AS a"),
    ("alias_columns", "SELECT co, doc FROM dwd.dwd_ar_item AS a(co, partner, year, doc)"),
    ("quoted_case", 'SELECT "BUKRS", "Belnr" FROM "DWD"."Dwd_Ar_Item"'),
    ("catalog", "SELECT bukrs, belnr FROM respool.dwd.dwd_ar_item"),
    ("catalog_quoted", 'SELECT bukrs, belnr FROM "Respool"."DWD"."DWD_AR_ITEM" i'),
    ("qualified_columns", "SELECT dwd.dwd_ar_item.bukrs, respool.dwd.dwd_ar_item.belnr FROM respool.dwd.dwd_ar_item"),
    ("whole_row", "SELECT i FROM dwd.dwd_ar_item i"),
    ("whole_row_qualified", "SELECT dwd.dwd_ar_item FROM dwd.dwd_ar_item"),
    ("whole_row_catalog", "SELECT respool.dwd.dwd_ar_item FROM respool.dwd.dwd_ar_item"),
    ("backslash_string", r"SELECT 'a\' AS s, bukrs FROM dwd.dwd_ar_item --'"),  # no escape: the rest is SQL
    ("comments", "SELECT /* a */ bukrs, -- b\n belnr FROM -- c\n dwd /* d */ . /* e */ dwd_ar_item -- f"),
    ("cte", "WITH x AS (SELECT * FROM dwd.dwd_ar_item) SELECT bukrs, belnr FROM x"),
    ("cte_nested", "WITH a AS (WITH b AS (SELECT * FROM dwd.dwd_ar_item) SELECT * FROM b) "
                   "SELECT bukrs, belnr FROM a"),
    ("cte_chain", "WITH a AS (SELECT * FROM dwd.dwd_ar_item), b AS (SELECT * FROM a WHERE amount_lc > 0) "
                  "SELECT bukrs, belnr FROM b"),
    ("cte_shadows_table_name", "WITH dwd_ar_item AS (SELECT * FROM dwd.dwd_ar_item WHERE amount_lc > 0) "
                               "SELECT bukrs, belnr FROM dwd_ar_item"),
    ("cte_shadow_then_real_table", "WITH dwd_ar_item AS (SELECT kunnr FROM dim.dim_customer) "
                                   "SELECT i.bukrs, i.belnr FROM dwd.dwd_ar_item i JOIN dwd_ar_item c USING (kunnr)"),
    ("cte_case", 'WITH "Items" AS (SELECT * FROM dwd.dwd_ar_item) SELECT bukrs, belnr FROM ITEMS'),
    ("cte_recursive", "WITH RECURSIVE r(n, total) AS (SELECT 1, (SELECT sum(amount_lc) FROM dwd.dwd_ar_item) "
                      "UNION ALL SELECT n + 1, total FROM r WHERE n < 3) SELECT * FROM r"),
    ("derived", "SELECT bukrs, belnr FROM (SELECT * FROM dwd.dwd_ar_item) t"),
    ("in_subquery", "SELECT * FROM dim.dim_customer WHERE kunnr IN (SELECT kunnr FROM dwd.dwd_ar_item)"),
    ("not_in_subquery", "SELECT * FROM dim.dim_customer WHERE kunnr NOT IN (SELECT kunnr FROM dwd.dwd_ar_item)"),
    ("scalar_subquery", "SELECT (SELECT sum(amount_lc) FROM dwd.dwd_ar_item) AS total"),
    ("exists", "SELECT * FROM dim.dim_customer c WHERE EXISTS "
               "(SELECT 1 FROM dwd.dwd_ar_item i WHERE i.kunnr = c.kunnr)"),
    ("inner_join", "SELECT i.bukrs, i.belnr, c.name1 FROM dwd.dwd_ar_item i JOIN dim.dim_customer c USING (kunnr)"),
    ("left_join", "SELECT c.kunnr, i.belnr FROM dim.dim_customer c LEFT JOIN dwd.dwd_ar_item i ON i.kunnr = c.kunnr"),
    ("right_join", "SELECT c.kunnr, i.belnr FROM dwd.dwd_ar_item i RIGHT JOIN dim.dim_customer c "
                   "ON i.kunnr = c.kunnr"),
    ("full_join", "SELECT i.belnr, p.belnr FROM dwd.dwd_ar_item i FULL JOIN dwd.dwd_ap_item p "
                  "ON i.amount_lc = p.amount_lc"),
    ("cross_join", "SELECT i.belnr, c.butxt FROM dwd.dwd_ar_item i CROSS JOIN dim.dim_company c"),
    ("comma_join", "SELECT i.belnr, c.butxt FROM dwd.dwd_ar_item i, dim.dim_company c WHERE c.bukrs = i.bukrs"),
    ("natural_join", "SELECT * FROM dwd.dwd_ar_item NATURAL JOIN dim.dim_company"),
    ("semi_join", "SELECT * FROM dim.dim_customer c SEMI JOIN dwd.dwd_ar_item i ON i.kunnr = c.kunnr"),
    ("anti_join", "SELECT * FROM dim.dim_customer c ANTI JOIN dwd.dwd_ar_item i ON i.kunnr = c.kunnr"),
    ("asof_join", "SELECT i.belnr, p.belnr FROM dwd.dwd_ar_item i ASOF JOIN dwd.dwd_ap_item p "
                  "ON i.bukrs = p.bukrs AND i.budat >= p.budat"),
    ("positional_join", "SELECT i.belnr, p.belnr FROM dwd.dwd_ar_item i POSITIONAL JOIN dwd.dwd_ap_item p"),
    ("parenthesized_join", "SELECT * FROM (dwd.dwd_ar_item JOIN dim.dim_customer USING (kunnr))"),
    ("lateral", "SELECT c.kunnr, l.belnr FROM dim.dim_customer c, "
                "LATERAL (SELECT belnr FROM dwd.dwd_ar_item i WHERE i.kunnr = c.kunnr) l"),
    ("union", "SELECT bukrs, belnr FROM dwd.dwd_ar_item UNION SELECT bukrs, belnr FROM dwd.dwd_ap_item"),
    ("union_all_by_name", "SELECT belnr FROM dwd.dwd_ar_item UNION ALL BY NAME SELECT belnr FROM dwd.dwd_ap_item"),
    ("intersect", "SELECT kunnr FROM dim.dim_customer INTERSECT SELECT kunnr FROM dwd.dwd_ar_item"),
    ("except", "SELECT kunnr FROM dim.dim_customer EXCEPT SELECT kunnr FROM dwd.dwd_ar_item"),
    ("except_own_rows", "SELECT belnr FROM dwd.dwd_ar_item EXCEPT SELECT belnr FROM dwd.dwd_ar_item "
                        "WHERE bukrs = '3301'"),
    ("qualify", "SELECT bukrs, belnr FROM dwd.dwd_ar_item QUALIFY row_number() OVER "
                "(PARTITION BY kunnr ORDER BY amount_lc DESC) = 1"),
    ("window", "SELECT belnr, sum(amount_lc) OVER () AS total FROM dwd.dwd_ar_item"),
    ("group_by_all", "SELECT bukrs, count(*), sum(amount_lc) FROM dwd.dwd_ar_item GROUP BY ALL"),
    ("using_sample_all", "SELECT bukrs, belnr FROM dwd.dwd_ar_item USING SAMPLE 100 PERCENT (bernoulli)"),
    ("tablesample_all", "SELECT bukrs, belnr FROM dwd.dwd_ar_item TABLESAMPLE 100 PERCENT (bernoulli)"),
    ("pivot", "SELECT * FROM dwd.dwd_ar_item PIVOT (sum(amount_lc) FOR kunnr IN ('K1', 'K2', 'K3'))"),
    ("pivot_statement_in_from", "SELECT * FROM (PIVOT dwd.dwd_ar_item ON kunnr IN ('K1', 'K3') USING sum(amount_lc))"),
    ("bukrs_dimension", "SELECT * FROM dim.dim_company"),
    ("values_join", "SELECT v.x, i.belnr FROM (VALUES ('K1'), ('K3')) v(x) JOIN dwd.dwd_ar_item i ON i.kunnr = v.x"),
    ("unnest_subquery", "SELECT * FROM unnest((SELECT list(belnr) FROM dwd.dwd_ar_item))"),
    ("lambda", "SELECT list_transform((SELECT list(belnr ORDER BY belnr) FROM dwd.dwd_ar_item), lambda x: lower(x))"),
    ("limit_subquery", "SELECT kunnr FROM dim.dim_customer ORDER BY kunnr "
                       "LIMIT (SELECT count(*) FROM dwd.dwd_ar_item) // 2"),
    ("macro_ar_aging", f"SELECT * FROM ar_aging({AGING})"),
    ("macro_ap_aging_alias", f"SELECT a.bukrs, a.bucket, a.amount_lc FROM ap_aging({AGING}) AS a"),
    ("macro_special_gl", "SELECT * FROM ar_special_gl(DATE '2026-10-31')"),
    ("macro_noted", "SELECT * FROM ar_noted_items(DATE '2026-10-31') UNION ALL "
                    "SELECT * FROM ap_noted_items(DATE '2026-10-31')"),
    ("macro_in_cte_join", "WITH aged AS (SELECT * FROM ar_aging(DATE '2026-10-31', 'posting')) "
                          "SELECT c.name1, sum(a.amount_lc) FROM aged a JOIN dim.dim_customer c USING (kunnr) "
                          "GROUP BY ALL"),
    ("macro_catalog", "SELECT * FROM respool.main.ap_special_gl(DATE '2026-10-31')"),
]


@pytest.mark.parametrize(("name", "sql"), CONFINED, ids=[name for name, _ in CONFINED])
def test_confined(full, schema, name, sql):
    guarded = guard(sql, schema, MINE)
    got = _rows(full, guarded.sql)
    assert got == _rows(database(MINE), sql)          # exactly the caller's rows come back
    assert bool(got) != (name in EXPECTED_EMPTY), "the caller's own rows must come back"
    assert not _cells(got) & ({"3302", "3303"} | FOREIGN_DOCS | {"V" + d for d in FOREIGN_DOCS})
    assert _rows(full, sql) != got                    # and without the guard the query would leak


@pytest.mark.parametrize("codes", [frozenset({"3302"}), frozenset({"3301", "3303"}), frozenset(), None],
                         ids=["other", "two", "none", "auditor"])
def test_confined_for_other_callers(full, schema, codes):
    for _, sql in CONFINED:
        guarded = guard(sql, schema, codes)
        assert _rows(full, guarded.sql) == _rows(database(codes), sql), sql


def test_shared_reference_data_is_not_filtered(full, schema):
    guarded = guard("SELECT kunnr FROM dim.dim_customer ORDER BY kunnr", schema, MINE)
    assert guarded.sql.startswith("SELECT kunnr FROM dim.dim_customer")
    assert [r[0] for r in full.execute(guarded.sql).fetchall()] == ["K1", "K2", "K3", "K4", "K9"]
    assert guarded.tables == ("dim.dim_customer",)


def test_the_rewrite_keeps_the_query_and_names_what_it_reads(schema):
    guarded = guard("SELECT a.bukrs FROM dwd.dwd_ar_item a JOIN dim.dim_customer c USING (kunnr) "
                    f"WHERE a.belnr IN (SELECT belnr FROM ar_aging({AGING}))", schema, frozenset({"3302", "3301"}))
    assert guarded.sql == (
        "SELECT a.bukrs FROM (SELECT * FROM dwd.dwd_ar_item WHERE bukrs IN ('3301', '3302')) AS a "
        "JOIN dim.dim_customer AS c USING (kunnr) WHERE a.belnr IN (SELECT belnr FROM (SELECT * FROM "
        "AR_AGING(CAST('2026-10-31' AS DATE), 'due') WHERE bukrs IN ('3301', '3302')) AS ar_aging) LIMIT 100001")
    assert guarded.tables == ("ar_aging()", "dim.dim_customer", "dwd.dwd_ar_item")
    assert isinstance(guarded, GuardedQuery)


def test_company_codes_are_quoted_as_literals(full, schema):
    guarded = guard("SELECT bukrs FROM dwd.dwd_ar_item", schema, frozenset({"3301') OR (1=1", "3301"}))
    assert {r[0] for r in full.execute(guarded.sql).fetchall()} == {"3301"}


def test_cte_names_are_the_guards_own(schema):
    guarded = guard("WITH dwd_ar_item AS (SELECT 1 AS x) SELECT x FROM dwd_ar_item", schema, MINE)
    assert "FROM __guard_cte0_dwd_ar_item AS dwd_ar_item" in guarded.sql
    assert guarded.tables == ()


def test_comments_never_reach_the_database(schema):
    guarded = guard("SELECT 1 AS one -- */ ; DROP TABLE dwd.dwd_ar_item\n", schema, MINE)
    assert guarded.sql == "SELECT 1 AS one LIMIT 100001"


def test_range_and_unnest_are_allowed(full, schema):
    assert full.execute(guard("SELECT sum(range) FROM range(4)", schema, MINE).sql).fetchone() == (6,)
    assert full.execute(guard("SELECT count(*) FROM generate_series(1, 3) t(x), unnest([1, 2])",
                              schema, MINE).sql).fetchone() == (6,)


def test_sample_of_rows_stays_within_the_company(full, schema):
    for sql in ("SELECT bukrs FROM dwd.dwd_ar_item USING SAMPLE 3 ROWS",
                "SELECT bukrs FROM dwd.dwd_ar_item TABLESAMPLE 50 PERCENT (bernoulli)"):
        assert {r[0] for r in full.execute(guard(sql, schema, MINE).sql).fetchall()} <= {"3301"}


# the rewritten SQL, word for word: what is wrapped, what is left as the analyst wrote it
REWRITES = [
    # (sql, guarded SQL for MINE)
    # the catalog the analyst wrote stays on the wrapped table
    ("SELECT bukrs FROM respool.dwd.dwd_ar_item",
     "SELECT bukrs FROM (SELECT * FROM respool.dwd.dwd_ar_item WHERE bukrs IN ('3301')) AS dwd_ar_item LIMIT 100001"),
    # a table's sample moves to the wrapper, so it samples the caller's rows
    ("SELECT bukrs FROM dwd.dwd_ar_item TABLESAMPLE 2 ROWS",
     "SELECT bukrs FROM (SELECT * FROM dwd.dwd_ar_item WHERE bukrs IN ('3301')) AS dwd_ar_item "
     "TABLESAMPLE RESERVOIR (2 ROWS) LIMIT 100001"),
    # table qualifiers are lower-cased, column names kept; the wrapped table loses its schema, the
    # shared table keeps it
    ("SELECT DWD.DWD_AR_ITEM.BELNR, Dim.Dim_Customer.Name1 FROM dwd.dwd_ar_item JOIN dim.dim_customer USING (kunnr)",
     "SELECT dwd_ar_item.BELNR, dim.dim_customer.Name1 FROM (SELECT * FROM dwd.dwd_ar_item WHERE bukrs IN ('3301')) "
     "AS dwd_ar_item JOIN dim.dim_customer USING (kunnr) LIMIT 100001"),
    # catalog.schema.table.column: the catalog is lower-cased too
    ("SELECT RESPOOL.DIM.DIM_CUSTOMER.KUNNR FROM respool.dim.dim_customer",
     "SELECT respool.dim.dim_customer.KUNNR FROM respool.dim.dim_customer LIMIT 100001"),
    ("SELECT respool.dwd.dwd_ar_item.belnr FROM respool.dwd.dwd_ar_item",
     "SELECT dwd_ar_item.belnr FROM (SELECT * FROM respool.dwd.dwd_ar_item WHERE bukrs IN ('3301')) AS dwd_ar_item "
     "LIMIT 100001"),
    # references that are the analyst's mistake stay as written, for DuckDB to name in its error:
    # another catalog's table, and an aliased table by its full name
    ("SELECT other.dwd.dwd_ar_item FROM dwd.dwd_ar_item",
     "SELECT other.dwd.dwd_ar_item FROM (SELECT * FROM dwd.dwd_ar_item WHERE bukrs IN ('3301')) AS dwd_ar_item "
     "LIMIT 100001"),
    ("SELECT dwd.dwd_ar_item.belnr FROM dwd.dwd_ar_item AS i",
     "SELECT dwd.dwd_ar_item.belnr FROM (SELECT * FROM dwd.dwd_ar_item WHERE bukrs IN ('3301')) AS i LIMIT 100001"),
]


@pytest.mark.parametrize(("sql", "expected"), REWRITES, ids=[f"rewrite-{i}" for i in range(len(REWRITES))])
def test_rewritten_sql_word_for_word(full, schema, sql, expected):
    guarded = guard(sql, schema, MINE)
    assert guarded.sql == expected
    try:
        callers = _rows(database(MINE), sql)
    except duckdb.Error as error:  # the analyst's own mistake: the guarded SQL fails the same way
        with pytest.raises(duckdb.Error, match=re.escape(str(error).splitlines()[0])):
            full.execute(guarded.sql)
    else:
        got = _rows(full, guarded.sql)
        assert got and set(got) <= set(callers)  # the caller's rows (a sample of them)


def test_table_sample_is_taken_from_the_callers_rows(full, schema):
    rows = full.execute(guard("SELECT bukrs FROM dwd.dwd_ar_item TABLESAMPLE 2 ROWS", schema, MINE).sql).fetchall()
    assert rows == [("3301",), ("3301",)]  # 2 of the caller's 5, not all 5


# --- row cap --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sql", "max_rows", "limit"), [
    ("SELECT * FROM dim.dim_customer", 100_000, "LIMIT 100001"),
    ("SELECT * FROM dim.dim_customer LIMIT 2", 100_000, "LIMIT 2"),
    ("SELECT * FROM dim.dim_customer LIMIT 500000", 100_000, "LIMIT 100001"),
    ("SELECT * FROM dim.dim_customer LIMIT 3 OFFSET 1", 100_000, "LIMIT 3 OFFSET 1"),
    ("SELECT kunnr FROM dim.dim_customer UNION SELECT kunnr FROM dwd.dwd_ar_item ORDER BY 1", 2, "ORDER BY 1 LIMIT 3"),
    ("VALUES (1), (2)", 10, "SELECT * FROM (VALUES (1), (2)) LIMIT 11"),
    ("(SELECT kunnr FROM dim.dim_customer)", 2, ") LIMIT 3"),
    ("SELECT * FROM dim.dim_customer FETCH FIRST 2 ROWS ONLY", 10, "LIMIT 2"),
    ("SELECT * FROM dim.dim_customer LIMIT 50 PERCENT", 1, "AS __guard_capped LIMIT 2"),
    ("SELECT * FROM dim.dim_customer LIMIT (SELECT count(*) FROM dwd.dwd_ar_item)", 2, "LEAST((SELECT"),
])
def test_row_cap(full, schema, sql, max_rows, limit):
    guarded = guard(sql, schema, MINE, max_rows=max_rows)
    assert guarded.truncated_at == max_rows
    assert guarded.sql.endswith(limit) or limit in guarded.sql
    assert len(full.execute(guarded.sql).fetchall()) <= max_rows + 1


ROW_CAPS = [
    # (sql, max_rows, the guarded SQL exactly)
    ("SELECT * FROM dim.dim_customer LIMIT 11", 10, "SELECT * FROM dim.dim_customer LIMIT 11"),  # at the cap
    ("SELECT * FROM dim.dim_customer LIMIT 011", 10, "SELECT * FROM dim.dim_customer LIMIT 011"),  # untouched
    ("SELECT * FROM dim.dim_customer LIMIT 12", 10, "SELECT * FROM dim.dim_customer LIMIT 11"),  # one above
    ("SELECT * FROM dim.dim_customer FETCH FIRST 2 ROWS ONLY", 10, "SELECT * FROM dim.dim_customer LIMIT 2"),
    ("SELECT * FROM dim.dim_customer FETCH FIRST 50 ROWS ONLY", 10, "SELECT * FROM dim.dim_customer LIMIT 11"),
    ("SELECT * FROM dim.dim_customer OFFSET 2 ROWS FETCH NEXT 50 ROWS ONLY", 10,
     "SELECT * FROM dim.dim_customer LIMIT 11 OFFSET 2"),
    ("SELECT * FROM dim.dim_customer LIMIT (SELECT 3)", 10, "SELECT * FROM dim.dim_customer LIMIT LEAST((SELECT 3), 11)"),
    ("SELECT * FROM dim.dim_customer LIMIT 50 PERCENT", 1,
     "SELECT * FROM (SELECT * FROM dim.dim_customer LIMIT 50 PERCENT) AS __guard_capped LIMIT 2"),
]


@pytest.mark.parametrize(("sql", "max_rows", "expected"), ROW_CAPS, ids=[f"cap-{i}" for i in range(len(ROW_CAPS))])
def test_row_cap_word_for_word(full, schema, sql, max_rows, expected):
    guarded = guard(sql, schema, MINE, max_rows=max_rows)
    assert guarded.sql == expected
    assert len(full.execute(guarded.sql).fetchall()) <= max_rows + 1


def test_row_cap_tells_truncation(full, schema):
    guarded = guard("SELECT * FROM dim.dim_customer", schema, None, max_rows=3)
    rows = full.execute(guarded.sql).fetchall()
    assert len(rows) == guarded.truncated_at + 1  # one more than the cap: the caller says "truncated"


def test_max_rows_must_be_positive(schema):
    with pytest.raises(ValueError, match=r"^max_rows must be at least 1$"):
        guard("SELECT 1", schema, MINE, max_rows=0)


def test_table_macros_are_the_projects(full):
    created = {r[0] for r in full.execute(
        "SELECT function_name FROM duckdb_functions() WHERE function_type = 'table_macro'").fetchall()}
    assert set(TABLE_MACROS) <= created


# --- the second check: the rewritten SQL, parsed again --------------------------------------------
# The rewrite never hands _verify a bad query, so these give it one by hand: what a broken rewrite
# would produce. None of them may pass.

_ALLOWED = {"dwd.dwd_ar_item": frozenset({"bukrs", "belnr", "kunnr"}), "dim.dim_customer": frozenset({"kunnr"})}
_MINE_ONLY = sqlglot.parse_one("bukrs IN ('3301')", read="duckdb")  # the filter the rewrite writes for MINE
UNVERIFIED = [
    # (rewritten SQL, company filter or None for the auditor, subject, detail)
    ("SELECT 1; SELECT 2", None, "rewrite", "not a single query after rewriting"),
    ("DROP TABLE dwd.dwd_ar_item", None, "rewrite", "not a single query after rewriting"),
    ("SELECT * FROM dwd_ar_item", None, "dwd_ar_item", "unresolved reference after rewriting"),
    ("WITH x AS (SELECT 1) SELECT * FROM x", None, "x", "unresolved reference after rewriting"),  # not renamed
    ("SELECT * FROM __guard_cte0_x", None, "__guard_cte0_x", "unresolved reference after rewriting"),  # no such CTE
    ("SELECT * FROM foo([1])", None, "FOO([1])", "table function after rewriting"),
    ("SELECT * FROM ods.bsid AT (TIMESTAMP => TIMESTAMP '2026-01-01')", None,
     "ods.bsid AT (TIMESTAMP => CAST('2026-01-01' AS TIMESTAMP))", "unknown table after rewriting"),
    ("SELECT * FROM other.dim.dim_customer", None, "other.dim.dim_customer", "unknown table after rewriting"),
    # company-bound tables anywhere but alone in FROM of their filter subquery
    ("SELECT * FROM dwd.dwd_ar_item AT (TIMESTAMP => TIMESTAMP '2026-01-01')", _MINE_ONLY,
     "dwd.dwd_ar_item AT (TIMESTAMP => CAST('2026-01-01' AS TIMESTAMP))", "not confined after rewriting"),
    ("SELECT * FROM dwd.dwd_ar_item WHERE bukrs IN ('3301')", _MINE_ONLY,  # the filter, but not wrapped
     "dwd.dwd_ar_item", "not confined after rewriting"),
    ("SELECT * FROM (SELECT * FROM dwd.dwd_ar_item WHERE bukrs IN ('3302')) AS d", _MINE_ONLY,  # another filter
     "dwd.dwd_ar_item", "not confined after rewriting"),
    ("SELECT * FROM (SELECT * FROM dwd.dwd_ar_item JOIN dim.dim_customer USING (kunnr) WHERE bukrs IN ('3301')) AS d",
     _MINE_ONLY, "dwd.dwd_ar_item", "not confined after rewriting"),  # a join inside the filter subquery
    ("SELECT * FROM (SELECT * FROM dim.dim_customer JOIN dwd.dwd_ar_item USING (kunnr) "
     "WHERE bukrs IN ('3301')) AS d", _MINE_ONLY, "dwd.dwd_ar_item", "not confined after rewriting"),  # in the join
    ("SELECT * FROM (SELECT * INTO dwd.dwd_ar_item FROM dim.dim_customer WHERE bukrs IN ('3301')) AS s",
     _MINE_ONLY, "dwd.dwd_ar_item", "not confined after rewriting"),  # under the filter select, not in FROM
    # an unchecked source first (a CTE, a generator, a shared table) does not end the check
    ("WITH __guard_cte0_x AS (SELECT 1) SELECT * FROM __guard_cte0_x, dwd.dwd_ar_item", _MINE_ONLY,
     "dwd.dwd_ar_item", "not confined after rewriting"),
    ("SELECT * FROM range(3), dwd.dwd_ar_item", _MINE_ONLY, "dwd.dwd_ar_item", "not confined after rewriting"),
    ("SELECT * FROM dim.dim_customer, dwd.dwd_ar_item", _MINE_ONLY, "dwd.dwd_ar_item", "not confined after rewriting"),
]


@pytest.mark.parametrize(("sql", "condition", "subject", "detail"), UNVERIFIED,
                         ids=[f"unverified-{i}" for i in range(len(UNVERIFIED))])
def test_second_check_refuses_a_bad_rewrite(sql, condition, subject, detail):
    with pytest.raises(QueryRefused) as info:
        _verify(sql, Dialect.get_or_raise("duckdb"), _ALLOWED, condition, "respool")
    refused = info.value
    assert (refused.code, refused.subject, refused.detail) == ("unsupported", subject, detail)


def test_second_check_passes_a_good_rewrite():
    _verify("SELECT * FROM (SELECT * FROM dwd.dwd_ar_item WHERE bukrs IN ('3301')) AS d JOIN dim.dim_customer "
            "USING (kunnr)", Dialect.get_or_raise("duckdb"), _ALLOWED, _MINE_ONLY, "respool")


def test_guard_runs_the_second_check_with_the_callers_filter(schema, monkeypatch):
    monkeypatch.setattr("serve.guard._confine", lambda table, name, condition: None)  # a rewrite that wraps nothing
    refused = _refusal("SELECT belnr FROM dwd.dwd_ar_item", schema)
    assert (refused.subject, refused.detail) == ("dwd.dwd_ar_item", "not confined after rewriting")
    assert guard("SELECT belnr FROM dwd.dwd_ar_item", schema, None).tables == ("dwd.dwd_ar_item",)  # auditor


# sqlglot's scopes are trusted only as far as they agree: faults injected into traverse_scope

def _with_scopes(monkeypatch, change) -> None:
    real = traverse_scope
    monkeypatch.setattr("serve.guard.traverse_scope", lambda root: change(real(root)))


def test_a_table_two_scopes_resolve_differently_is_refused(schema, monkeypatch):
    # the same table listed again in a scope that sees no CTE
    _with_scopes(monkeypatch, lambda scopes: [*scopes, *(SimpleNamespace(tables=s.tables, cte_sources={})
                                                         for s in scopes)])
    refused = _refusal("WITH x AS (SELECT 1 AS one) SELECT one FROM x", schema)
    assert (refused.code, refused.subject, refused.detail) == ("unsupported", "x", "ambiguous CTE reference")


def test_a_table_two_scopes_resolve_alike_is_accepted(schema, monkeypatch):
    _with_scopes(monkeypatch, lambda scopes: [*scopes, *scopes])
    guarded = guard("WITH x AS (SELECT 1 AS one) SELECT one FROM x", schema, MINE)
    assert guarded.sql == "WITH __guard_cte0_x AS (SELECT 1 AS one) SELECT one FROM __guard_cte0_x AS x LIMIT 100001"


def test_a_name_resolved_to_another_cte_is_taken_for_a_table(schema, monkeypatch):
    def a_is_b(scopes):
        for scope in scopes:
            if {"a", "b"} <= set(scope.cte_sources):
                scope.cte_sources = {**scope.cte_sources, "a": scope.cte_sources["b"]}
        return scopes
    _with_scopes(monkeypatch, a_is_b)
    refused = _refusal("WITH a AS (SELECT 1 AS x), b AS (SELECT 2 AS x) SELECT x FROM a", schema)
    assert (refused.code, refused.subject) == ("unknown_table", "a")


# --- property: nested shapes ---------------------------------------------------------------------

def _case(draw, name: str) -> str:
    style = draw(st.sampled_from(["lower", "upper", "title", "mixed"]))
    text = {"lower": name, "upper": name.upper(), "title": name.title()}.get(style) or "".join(
        c.upper() if i % 2 else c for i, c in enumerate(name))
    return f'"{text}"' if draw(st.booleans()) else text


SEPARATORS = [" ", "  ", "\n", " /* 注释 */ ", " -- c\n", "/**/", "\t"]


def _sep(draw) -> str:
    return draw(st.sampled_from(SEPARATORS))


def _table(draw, schema_name: str, table: str) -> str:
    catalog = draw(st.sampled_from(["", "respool"]))
    parts = [_case(draw, p) for p in ((catalog,) if catalog else ()) + (schema_name, table)]
    return draw(st.sampled_from([".", " . ", "/**/./**/"])).join(parts) if draw(st.booleans()) else ".".join(parts)


COLS = "bukrs, kunnr, amount_lc"
CTE_NAMES = ["dwd_ar_item", "dim_customer", "ar_aging", "x", "items"]


@st.composite
def leaf(draw, ctes: tuple[str, ...]) -> str:
    s = _sep(draw)
    options = ["ar", "ap", "macro", "customer", "company_join", "from_first"] + (["cte"] * 3 if ctes else [])
    kind = draw(st.sampled_from(options))
    if kind == "cte":
        return f"SELECT{s}{COLS}{s}FROM{s}{_case(draw, draw(st.sampled_from(ctes)))}"
    if kind == "ar":
        alias = draw(st.sampled_from(["", " AS i", " i", ' "I"']))
        return f"SELECT{s}{COLS}{s}FROM{s}{_table(draw, 'dwd', 'dwd_ar_item')}{alias}"
    if kind == "ap":
        return f"SELECT bukrs,{s}lifnr AS kunnr, amount_lc FROM{s}{_table(draw, 'dwd', 'dwd_ap_item')}"
    if kind == "macro":
        name = draw(st.sampled_from(["ar_aging", "ar_special_gl", "ar_noted_items"]))
        args = f"DATE '2026-10-31'{', ' + repr(draw(st.sampled_from(['due', 'posting']))) if name == 'ar_aging' else ''}"
        return f"SELECT {COLS} FROM{s}{_case(draw, name)}({args})"
    if kind == "customer":
        return f"SELECT 'shared' AS bukrs, kunnr, 0 AS amount_lc FROM{s}{_table(draw, 'dim', 'dim_customer')}"
    if kind == "company_join":
        return (f"SELECT c.bukrs, i.kunnr, i.amount_lc FROM {_table(draw, 'dwd', 'dwd_ar_item')} i{s}JOIN "
                f"{_table(draw, 'dim', 'dim_company')} c ON c.bukrs = i.bukrs")
    return f"FROM{s}{_table(draw, 'dwd', 'dwd_ar_item')}{s}SELECT {COLS}"


@st.composite
def query(draw, depth: int, ctes: tuple[str, ...] = ()) -> str:
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(leaf(ctes))
    s = _sep(draw)
    shape = draw(st.sampled_from(["derived", "with", "setop", "join", "in", "exists", "scalar", "lateral",
                                  "qualify", "aggregate", "from_first"]))
    q1 = draw(query(depth - 1, ctes))
    if shape == "with":
        names = draw(st.lists(st.sampled_from(CTE_NAMES), min_size=1, max_size=2, unique=True))
        defs, visible = [], ctes
        for name in names:
            defs.append(f"{_case(draw, name)} AS ({draw(query(depth - 1, visible))})")
            visible = (*visible, name)
        body = draw(query(depth - 1, visible))
        if body.lstrip().upper().startswith("WITH"):
            body = f"SELECT {COLS} FROM ({body}) AS m"
        return f"WITH{s}{', '.join(defs)}{s}{body}"
    q2 = draw(query(depth - 1, ctes))
    if shape == "derived":
        return f"SELECT {COLS} FROM{s}({q1}){s}AS {_case(draw, 'd')}"
    if shape == "setop":
        op = draw(st.sampled_from(["UNION", "UNION ALL", "INTERSECT", "EXCEPT", "INTERSECT ALL", "EXCEPT ALL"]))
        return f"({q1}){s}{op}{s}({q2})"
    if shape == "join":
        kind = draw(st.sampled_from(["JOIN", "LEFT JOIN", "SEMI JOIN", "ANTI JOIN", "INNER JOIN"]))
        return f"SELECT l.bukrs, l.kunnr, l.amount_lc FROM ({q1}) AS l{s}{kind}{s}({q2}) AS r ON l.kunnr = r.kunnr"
    if shape == "in":
        negate = draw(st.sampled_from(["", "NOT "]))
        return f"SELECT {COLS} FROM ({q1}) AS w WHERE kunnr {negate}IN{s}(SELECT kunnr FROM ({q2}) AS v)"
    if shape == "exists":
        negate = draw(st.sampled_from(["", "NOT "]))
        return (f"SELECT {COLS} FROM ({q1}) AS w WHERE {negate}EXISTS{s}"
                f"(SELECT 1 FROM ({q2}) AS v WHERE v.kunnr = w.kunnr)")
    if shape == "scalar":
        return (f"SELECT bukrs, kunnr, (SELECT sum(amount_lc) FROM ({q2}) AS v WHERE v.kunnr = w.kunnr) "
                f"AS amount_lc FROM ({q1}) AS w")
    if shape == "lateral":
        return (f"SELECT w.bukrs, w.kunnr, v.amount_lc FROM ({q1}) AS w,{s}LATERAL (SELECT u.amount_lc FROM "
                f"({q2}) AS u WHERE u.kunnr = w.kunnr) AS v")
    if shape == "qualify":
        return (f"SELECT {COLS} FROM ({q1}) AS w QUALIFY row_number() OVER "
                f"(PARTITION BY kunnr ORDER BY amount_lc, bukrs) = 1")
    if shape == "aggregate":
        return f"SELECT bukrs, kunnr, sum(amount_lc) AS amount_lc FROM ({q1}) AS w GROUP BY bukrs, kunnr"
    return f"FROM ({q1}) AS w{s}SELECT {COLS}"


CALLERS = st.sampled_from([MINE, frozenset({"3302"}), frozenset({"3301", "3303"}), frozenset(), None])


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(sql=query(3), codes=CALLERS)
def test_nested_shapes_are_confined(full, schema, sql, codes):
    guarded = guard(sql, schema, codes)
    assert _rows(full, guarded.sql) == _rows(database(codes), sql)
