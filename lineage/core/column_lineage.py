"""Column lineage of one SQL statement: which source columns each output column comes from.

Public entry points: `column_lineage` (output column -> direct and transform sources) and
`column_edges` (every edge with its kind, including filter edges). Sources are named
`schema.table.column` when the SQL qualifies the table, else `table.column`, with identifiers
normalised as sqlglot does for the dialect (DuckDB: lower case, quoted or not).

Output names: an alias, else the column's name, else the name DuckDB gives the expression
(`(a + b)`, `count_star()`, see `lineage.core.output_names`; for other dialects sqlglot's default
`_col_<position>`); INSERT column lists (or the target
table's columns from `schema`, by position) and CREATE TABLE t (a, b) AS rename them; repeated
names get DuckDB's `_1`, `_2` suffixes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify_tables import qualify_tables
from sqlglot.optimizer.scope import build_scope

from lineage.core.errors import LineageError, node_position
from lineage.core.output_names import duckdb_output_names
from lineage.core.scope_columns import FILTER, STRENGTH, Sources, merge
from lineage.core.scope_resolver import ScopeResolver
from lineage.core.statement import Statement, parse_statement
from lineage.core.table_schema import TableSchema


@dataclass(frozen=True)
class Edge:
    """One lineage edge: output column `target` depends on source column `source`.

    kind: "direct" (plain copy, possibly renamed), "transform" (feeds an expression) or
    "filter" (only decides which rows exist: WHERE, JOIN ON, GROUP BY, HAVING, QUALIFY, …).
    """

    target: str
    source: str
    kind: str


def column_lineage(
    sql: str, schema: Mapping[str, object] | None = None, dialect: str = "duckdb"
) -> dict[str, set[str]]:
    """Map each output column to the source columns its value is derived from.

    Only direct and transform sources count; a literal's set is empty. Raises LineageError.
    """
    return {
        target: {source for source, kind in sources.items() if kind != FILTER}
        for target, sources in resolve_targets(sql, schema, dialect)
    }


def column_edges(sql: str, schema: Mapping[str, object] | None = None, dialect: str = "duckdb") -> list[Edge]:
    """Every (target, source, kind) edge, filter edges included, in output column order."""
    return [
        Edge(target, source, kind)
        for target, sources in resolve_targets(sql, schema, dialect)
        for source, kind in sorted(sources.items(), key=lambda item: (-STRENGTH[item[1]], item[0]))
    ]


def resolve_targets(
    sql: str, schema: Mapping[str, object] | None = None, dialect: str = "duckdb"
) -> list[tuple[str, Sources]]:
    """Output columns in order, each with its sources and their kinds (filters included)."""
    dialect_ = Dialect.get_or_raise(dialect)
    statement = parse_statement(sql, dialect_)
    tables = TableSchema(schema, dialect_)
    query = statement.query
    # DuckDB's names for unaliased expressions; other dialects get sqlglot's `_col_<position>`.
    names = (
        duckdb_output_names(sql, statement.tokens, query.find_all(exp.Select))
        if isinstance(dialect_, DuckDB)
        else {}
    )
    pivot = query.find(exp.Pivot)
    if pivot is not None:
        raise LineageError("PIVOT/UNPIVOT is not supported by lineage", *node_position(sql, pivot))
    try:
        normalize_identifiers(query, dialect=dialect_)
        _name_values_columns(query)
        qualify_tables(query, dialect=dialect_)
        root = build_scope(query)
        if root is None:
            raise LineageError("the statement has no query to take lineage from", 1, 1)
        columns = ScopeResolver(sql, tables, names).resolve(root).complete()
    except SqlglotError as err:
        raise LineageError(f"cannot resolve the query: {err}") from err
    targets = _target_names(statement, [name for name, _ in columns.outputs], tables, dialect_)
    result: list[tuple[str, Sources]] = []
    for target, (_, sources) in zip(targets, columns.outputs, strict=True):
        merged = dict(sources)
        merge(merged, columns.row_filters, FILTER)
        result.append((target, merged))
    return result


def _name_values_columns(query: exp.Expr) -> None:
    """Give VALUES lists without column names DuckDB's names col0, col1, … ."""
    for values in query.find_all(exp.Values):
        if values.alias_column_names or not values.expressions:
            continue
        width = len(values.expressions[0].expressions)
        alias = values.args.get("alias") or exp.TableAlias()
        alias.set("columns", [exp.to_identifier(f"col{i}") for i in range(width)])
        values.set("alias", alias)


def _target_names(
    statement: Statement, outputs: list[str], tables: TableSchema, dialect: Dialect
) -> list[str]:
    names, what = outputs, "the query"
    if statement.target_columns is not None:
        names = [_normalise(n, dialect) for n in statement.target_columns]
        what = "the target column list"
    elif statement.target_table is not None:
        target = normalize_identifiers(statement.target_table.copy(), dialect=dialect)
        known = tables.columns(target)
        if known is not None:
            names, what = known, f"table '{target.sql(dialect=dialect)}'"
    if len(names) != len(outputs):
        raise LineageError(
            f"{what} has {len(names)} columns but the query returns {len(outputs)}",
            *statement.position,
        )
    return _deduplicated(names)


def _normalise(name: str, dialect: Dialect) -> str:
    return dialect.normalize_identifier(exp.to_identifier(name)).name


def _deduplicated(names: list[str]) -> list[str]:
    """DuckDB's CREATE TABLE AS naming of repeated columns: a, a_1, a_2."""
    taken = set(names)
    seen: set[str] = set()
    result: list[str] = []
    for name in names:
        candidate, n = name, 0
        while candidate in seen or (n and candidate in taken):
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate)
        result.append(candidate)
    return result
