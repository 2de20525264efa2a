"""Column lineage of the SQL models (模型字段血缘): each model's output columns and their sources.

`model_lineage(models, register, sources)` resolves every model with the lineage core against
the columns known so far — the ODS tables (from the register, plus the batch columns), the
reference tables and the upstream models' outputs, in dependency order — and returns a
`ModelLineage` (lineage.project.model_graph) to query: upstream / downstream trees, reached
columns, descriptions. `project_lineage(root)` does it for the model files under `root` against
the project's sources (`lineage_sources`).

Columns are named `schema.table.column`, spelled as their table has them: ODS columns as the
register writes them (`ods.bsid.DMBTR`), model columns as DuckDB names them (`dmbtr`).

A model that cannot be loaded (`models.loader.read_models`) or resolved becomes a
`LineageProblem` (file, line, column) and the others still resolve. Its downstream models are
resolved without its columns: references qualified by its alias (or unambiguous) still point at
`its_table.column`, and the model is marked partial (`TableLineage.unknown_inputs`); what cannot
be resolved without those columns (`SELECT *` over it, an ambiguous bare name) makes that model a
problem too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from catalog.ods import BATCH_COLUMN_NAMES, DEPARTED_COLUMN_NAMES
from catalog.reference_data import REF_DDL, REF_DOCS
from catalog.register import Register, load_register
from lineage.core.column_lineage import resolve_targets
from lineage.core.errors import LineageError
from lineage.core.statement import parse_statement
from lineage.project.model_graph import LineageEdge, LineageProblem, ModelLineage, TableLineage, split_column
from models.loader import MODELS_DIR, ColumnDoc, Model, ModelError, read_models

__all__ = [
    "LineageEdge",
    "LineageProblem",
    "ModelLineage",
    "SchemaResolver",
    "TableLineage",
    "columns_from_ddl",
    "lineage_sources",
    "load_problems",
    "model_lineage",
    "project_lineage",
    "source_tables",
    "sql_md5",
]

DIALECT = "duckdb"


def sql_md5(sql: str) -> str:
    """Fingerprint of a model's SQL text: its stored lineage is recomputed when this changes."""
    return hashlib.md5(sql.encode("utf-8")).hexdigest()


def source_tables(
    register: Register,
    batch_columns: Sequence[str] = (),
    reference_tables: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[str]]:
    """Columns of the tables models read but do not build: `ods.<table>` (register columns,
    then the batch columns every ODS table carries), the departed rows of FULL tables
    (`ods.<table>_departed`, with the batch that left them out) and the reference tables."""
    tables = {f"ods.{t.ods_name}": [*t.column_names, *batch_columns] for t in register.tables}
    tables.update({f"ods.{t.departed_name}": [*t.column_names, *batch_columns, *DEPARTED_COLUMN_NAMES]
                   for t in register.tables if t.departed_name and batch_columns})
    tables.update({name: list(columns) for name, columns in (reference_tables or {}).items()})
    return tables


def columns_from_ddl(ddl: str) -> dict[str, list[str]]:
    """`schema.table -> columns` of the CREATE TABLE statements in `ddl` (other statements skipped)."""
    tables: dict[str, list[str]] = {}
    for statement in sqlglot.parse(ddl, read=DIALECT):
        if isinstance(statement, exp.Create) and isinstance(statement.this, exp.Schema):
            table = statement.this.this
            name = ".".join(p.name for p in table.parts)
            tables[name] = [c.name for c in statement.this.expressions if isinstance(c, exp.ColumnDef)]
    return tables


class SchemaResolver:
    """Resolves models one at a time against the columns known so far, in dependency order."""

    def __init__(self, sources: Mapping[str, Sequence[str]]) -> None:
        self.schema: dict[str, list[str]] = {}
        self._spelling: dict[str, tuple[str, dict[str, str]]] = {}  # lower table -> (table, lower col -> col)
        for table, columns in sources.items():
            self.add(table, columns)

    def add(self, table: str, columns: Sequence[str]) -> None:
        """Make `table`'s columns known to the models resolved after it."""
        self.schema[table] = list(columns)
        self._spelling[table.lower()] = (table, {c.lower(): c for c in columns})

    def knows(self, table: str) -> bool:
        return table.lower() in self._spelling

    def spelled(self, column: str) -> str:
        """`ods.bsid.dmbtr` (as the core normalises it) -> `ods.bsid.DMBTR` (as the table has it)."""
        table, name = split_column(column)
        known = self._spelling.get(table.lower())
        if known is None:
            return column
        return f"{known[0]}.{known[1].get(name.lower(), name)}"

    def resolve(self, model: Model) -> TableLineage:
        """The model's columns and edges; raises LineageError. Does not add the model's table."""
        targets = resolve_targets(model.sql, self.schema, DIALECT)
        edges: list[LineageEdge] = []
        for target, sources in targets:
            for source, kind in sources.items():
                edges.append(LineageEdge(f"{model.table}.{target}", self.spelled(source), kind))
        unknown = tuple(sorted(t for t in model.depends_on if not self.knows(t)))
        return TableLineage(
            table=model.table,
            path=model.path,
            sql_md5=sql_md5(model.sql),
            columns=tuple(name for name, _ in targets),
            edges=tuple(edges),
            unknown_inputs=unknown,
        )

    def problem(self, model: Model, error: LineageError) -> LineageProblem:
        unknown = sorted(t for t in model.depends_on if not self.knows(t))
        note = f" (upstream without lineage: {', '.join(unknown)})" if unknown else ""
        return LineageProblem(model.table, model.path, error.line, error.col, error.message + note)


def model_lineage(
    models: Sequence[Model],
    register: Register,
    sources: Mapping[str, Sequence[str]] | None = None,
    problems: Iterable[ModelError] = (),
) -> ModelLineage:
    """Lineage of every model, in the given (dependency) order.

    `sources`: columns of the ODS and reference tables (see `source_tables`); default: the
    register's ODS columns with the batch columns, and no reference tables (the models qualify
    their columns, so they still resolve, unchecked). `problems`: models that could not even be loaded
    (`models.loader.read_models`), reported along with the ones that fail here.
    """
    resolver = SchemaResolver(sources if sources is not None else source_tables(register, BATCH_COLUMN_NAMES))
    source_columns = {t: tuple(c) for t, c in resolver.schema.items()}
    found = load_problems(problems)
    tables: dict[str, TableLineage] = {}
    for model in models:
        try:
            lineage = resolver.resolve(model)
        except LineageError as err:
            found.append(resolver.problem(model, err))
            continue
        tables[model.table] = lineage
        resolver.add(model.table, lineage.columns)
    docs = {table: {c: ColumnDoc(zh=zh, en=en) for c, (zh, en) in ref["columns"].items()}
            for table, ref in REF_DOCS.items()}
    docs.update({m.table: dict(m.meta.columns) for m in models})
    names = {table: ref["name_zh"] for table, ref in REF_DOCS.items()}
    names.update({m.table: m.meta.name_zh for m in models})
    return ModelLineage(register, source_columns, tables, found, docs, names)


def lineage_sources(register: Register) -> dict[str, list[str]]:
    """ODS columns (register + batch columns) and reference tables, as the pipeline creates them."""
    return source_tables(register, BATCH_COLUMN_NAMES, columns_from_ddl(REF_DDL))


def project_lineage(root: Path = MODELS_DIR, register: Register | None = None) -> ModelLineage:
    """Lineage of the model files under `root`, problems included."""
    register = register or load_register()
    models, problems = read_models(root)
    return model_lineage(models, register, lineage_sources(register), problems)


def load_problems(errors: Iterable[ModelError]) -> list[LineageProblem]:
    """The loader's problems (`models.loader.read_models`) as lineage problems."""
    return [_load_problem(err) for err in errors]


def _load_problem(err: ModelError) -> LineageProblem:
    path = Path(err.path)
    table = f"{path.parent.name}.{path.stem}"
    if path.suffix == ".sql" and path.exists():
        try:  # the core points at the offending token's first character
            parse_statement(path.read_text(encoding="utf-8"), Dialect.get_or_raise(DIALECT))
        except LineageError as parsed:
            return LineageProblem(table, path, parsed.line, parsed.col, parsed.message)
    return LineageProblem(table, path, err.line, err.col, err.message)
