"""`meta.column_lineage` and `meta.lineage_problem`: the models' column lineage kept in the database.

`refresh_lineage(con, models, register)` recomputes a model's rows only when its SQL changed
(`sql_md5`), when it had no rows (new, or failed before), or when an upstream table's columns
changed (a `SELECT *` over it would expand differently); the other models keep their rows and
their `computed_at`. A model that fails keeps its last good rows — their `sql_md5` shows they
are of an earlier SQL — as the build keeps its last good table, and its downstream models are
resolved against those columns. Rows of models that no longer exist are removed.
`meta.lineage_problem` holds the problems of the latest refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import duckdb

from catalog.ods import BATCH_COLUMN_NAMES
from catalog.register import Register
from catalog.system_tables import ensure_system_tables
from lineage.core.errors import LineageError
from lineage.project.model_graph import LineageProblem, TableLineage, split_column
from lineage.project.resolve import SchemaResolver, load_problems, source_tables, sql_md5
from models.loader import Model, ModelError


@dataclass
class RefreshReport:
    """Which models were recomputed, which kept their rows, which were dropped, and the problems."""

    recomputed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: list[LineageProblem] = field(default_factory=list)


def database_sources(con: duckdb.DuckDBPyConnection, register: Register) -> dict[str, list[str]]:
    """Columns of the `ods` and `ref` tables as the database has them (batch columns included);
    register tables not created yet get the register's columns and the batch columns."""
    rows = con.execute(
        "SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns "
        "WHERE table_schema IN ('ods', 'ref') ORDER BY table_schema, table_name, ordinal_position"
    ).fetchall()
    tables = source_tables(register, BATCH_COLUMN_NAMES)
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(table, []).append(column)
    tables.update(found)
    return tables


def refresh_lineage(
    con: duckdb.DuckDBPyConnection,
    models: Sequence[Model],
    register: Register,
    sources: Mapping[str, Sequence[str]] | None = None,
    problems: Iterable[ModelError] = (),
) -> RefreshReport:
    """Bring meta.column_lineage up to date with `models` (in dependency order), in one transaction.

    `sources`: ODS and reference columns; default `database_sources(con, register)`.
    `problems`: models that could not be loaded (`models.loader.read_models`), stored as well.
    """
    ensure_system_tables(con)
    resolver = SchemaResolver(sources if sources is not None else database_sources(con, register))
    stored = _stored_columns(con)
    report = RefreshReport(problems=load_problems(problems))
    changed: set[str] = set()  # tables whose columns are not what they were when last stored
    for problem in report.problems:  # not loadable: downstream sees its last stored columns
        if problem.table in stored:
            resolver.add(problem.table, stored[problem.table][1])
        else:
            changed.add(problem.table)
    fresh: list[TableLineage] = []
    for model in models:
        md5 = sql_md5(model.sql)
        previous = stored.get(model.table)
        if previous is not None and previous[0] == md5 and not (model.depends_on & changed):
            resolver.add(model.table, previous[1])
            report.kept.append(model.table)
            continue
        try:
            lineage = resolver.resolve(model)
        except LineageError as err:
            report.problems.append(resolver.problem(model, err))
            if previous is not None:  # like the build, which keeps the last good table
                resolver.add(model.table, previous[1])
            else:
                changed.add(model.table)
            continue
        resolver.add(model.table, lineage.columns)
        if previous is None or previous[1] != list(lineage.columns):
            changed.add(model.table)
        fresh.append(lineage)
        report.recomputed.append(model.table)
    current = {m.table for m in models} | {p.table for p in report.problems}
    report.removed = sorted(t for t in stored if t not in current)
    _write(con, fresh, report.removed, report.problems, models)
    return report


def _stored_columns(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, list[str]]]:
    """model -> (sql_md5, output columns in order) as stored."""
    rows = con.execute(
        "SELECT model, any_value(sql_md5), list(column_name ORDER BY position) FROM "
        "(SELECT DISTINCT model, column_name, position, sql_md5 FROM meta.column_lineage) GROUP BY model"
    ).fetchall()
    return {model: (md5, list(columns)) for model, md5, columns in rows}


def _write(
    con: duckdb.DuckDBPyConnection,
    fresh: list[TableLineage],
    dropped: list[str],
    problems: list[LineageProblem],
    models: Sequence[Model],
) -> None:
    md5_of = {m.table: sql_md5(m.sql) for m in models}
    for problem in problems:  # a model that did not load: the md5 of its file, if it is the SQL
        if problem.table not in md5_of and problem.path.suffix == ".sql" and problem.path.exists():
            md5_of[problem.table] = sql_md5(problem.path.read_text(encoding="utf-8"))
    rows: list[list[object]] = []
    for lineage in fresh:
        by_target: dict[str, list[tuple[str, str, str]]] = {c: [] for c in lineage.columns}
        for edge in lineage.edges:
            source_table, source_column = split_column(edge.source)
            by_target[split_column(edge.target)[1]].append((source_table, source_column, edge.kind))
        for position, column in enumerate(lineage.columns, start=1):
            for source_table, source_column, kind in by_target[column] or [(None, None, None)]:
                rows.append([lineage.table, column, position, source_table, source_column, kind, lineage.sql_md5])
    con.begin()
    try:
        for table in {lin.table for lin in fresh} | set(dropped):
            con.execute("DELETE FROM meta.column_lineage WHERE model = ?", [table])
        if rows:
            con.executemany(
                "INSERT INTO meta.column_lineage VALUES (?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)", rows
            )
        con.execute("DELETE FROM meta.lineage_problem")
        if problems:
            con.executemany(
                "INSERT INTO meta.lineage_problem VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
                [[p.table, str(p.path), p.line, p.col, p.message, md5_of.get(p.table)] for p in problems],
            )
        con.commit()
    except BaseException:
        con.rollback()
        raise
