"""Finding the SQL models, their metadata, and their dependencies (read from the SQL by sqlglot).

A model is one SELECT in `models/<layer>/<name>.sql` with `<name>.yaml` beside it; it is
materialised as table `<layer>.<name>`. Scalar macros shared by the models (the cleansing and
aging rules) live in `models/macros/*.sql` and are created before the models are built; table
macros over the built tables (aging at any key date) live in `models/table_macros/*.sql`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import sqlglot
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlglot import exp

MODELS_DIR = Path(__file__).parent
LAYERS = ("stg", "dim", "dwd", "dws", "ads")  # build and display order; `ods` is the source
LAYER_ZH = {"ods": "贴源层", "stg": "清洗层", "dim": "维度层", "dwd": "明细层", "dws": "汇总层", "ads": "应用层",
            "quarantine": "隔离区"}
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class ModelError(ValueError):
    """A model cannot be loaded or built; the message names the file and, where known, the line.

    `path`, `line`, `col` (1-based, None when unknown) and `message` (the text without them)
    are kept apart for callers that report the problem in their own form."""

    def __init__(self, path: Path, message: str, line: int | None = None, col: int | None = None):
        self.path, self.line, self.col, self.message = path, line, col, message
        where = f"{path}" + (f":{line}" if line else "") + (f":{col}" if line and col else "")
        super().__init__(f"{where}: {message}")


class ColumnDoc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class QuarantineSpec(BaseModel):
    """A cleansing model: rows with a reason in `_reject_reason` go to `quarantine.<model>`.

    The model keeps every delivered row of its ODS sources (named in `_ods_table`) and flags
    the version of each key that wins in `_is_latest`, so the build can reconcile
    rows in = kept + superseded + quarantined per ODS table.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    sources: list[str] = Field(min_length=1)  # ODS tables cleansed here, e.g. [bsid, bsad]


class ModelMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name_zh: str = Field(min_length=1)
    description_zh: str = Field(min_length=1)
    description_en: str = Field(min_length=1)
    grain: str = Field(min_length=1)
    key: list[str] = Field(min_length=1)  # the columns the grain names: unique together
    owner: str = Field(min_length=1)
    domain: str = Field(min_length=1)  # 业务域, as the register names them (应收, 应付, 总账, 主数据 …)
    columns: dict[str, ColumnDoc] = Field(default_factory=dict)
    quarantine: QuarantineSpec | None = None


@dataclass(frozen=True)
class Model:
    layer: str
    name: str
    path: Path
    sql: str
    meta: ModelMeta
    depends_on: frozenset[str] = field(default_factory=frozenset)  # "<schema>.<table>"

    @property
    def table(self) -> str:
        return f"{self.layer}.{self.name}"


def parse_sql(path: Path, sql: str) -> exp.Expression:
    """Parse a model's SQL; a syntax error names the file, line and column."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        raise ModelError(path, f"SQL syntax error: {first.get('description', exc)}",
                         first.get("line"), first.get("col")) from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise ModelError(path, "a model is exactly one SELECT statement")
    return statements[0]


def referenced_tables(tree: exp.Expression) -> set[str]:
    """Schema-qualified tables the query reads (CTE names and table functions excluded)."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    tables = set()
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue  # table function or macro call
        name = table.name.lower()
        if not table.db and name in ctes:
            continue
        tables.add(f"{table.db.lower()}.{name}" if table.db else name)
    return tables


def load_model(path: Path) -> Model:
    layer, name = path.parent.name, path.stem
    if layer not in LAYERS:
        raise ModelError(path, f"layer {layer!r} is not one of {', '.join(LAYERS)}")
    if not _NAME_RE.match(name) or not name.startswith(f"{layer}_"):
        raise ModelError(path, f"model name {name!r} must be snake_case and start with '{layer}_'")
    sql = path.read_text(encoding="utf-8")
    tree = parse_sql(path, sql)
    meta_path = path.with_suffix(".yaml")
    if not meta_path.exists():
        raise ModelError(meta_path, "metadata file is missing (description, grain, owner, columns)")
    try:
        meta = ModelMeta.model_validate(yaml.safe_load(meta_path.read_text(encoding="utf-8")) or {})
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ModelError(meta_path, f"not valid YAML: {getattr(exc, 'problem', exc)}",
                         mark.line + 1 if mark else None, mark.column + 1 if mark else None) from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ModelError(meta_path, problems) from None
    unqualified = sorted(t for t in referenced_tables(tree) if "." not in t)
    if unqualified:
        raise ModelError(path, f"tables must be schema-qualified (ods.x, dwd.y): {unqualified}")
    return Model(layer=layer, name=name, path=path, sql=sql, meta=meta,
                 depends_on=frozenset(referenced_tables(tree)))


def model_files(root: Path = MODELS_DIR) -> list[Path]:
    """The model SQL files under root, layer by layer in build order, by name within a layer."""
    return [p for layer in LAYERS for p in sorted((root / layer).glob("*.sql"))]


def load_models(root: Path = MODELS_DIR) -> list[Model]:
    """Every model under root, in dependency order (upstream first); the first problem is raised."""
    ordered, cycles = _dependency_order([load_model(p) for p in model_files(root)])
    if cycles:
        raise ModelError(root, f"models depend on each other in a cycle: {' → '.join(cycles[0])}")
    return ordered


def read_models(root: Path = MODELS_DIR) -> tuple[list[Model], list[ModelError]]:
    """The models under root that load, in dependency order, and a problem for each that does not.

    Unlike `load_models`, one broken model does not stop the others: a problem is the
    `ModelError` (file, line, col, message) of a model that cannot be loaded, or of each model
    caught in a dependency cycle.
    """
    models: list[Model] = []
    problems: list[ModelError] = []
    for path in model_files(root):
        try:
            models.append(load_model(path))
        except ModelError as err:
            problems.append(err)
    ordered, cycles = _dependency_order(models)
    by_table = {m.table: m for m in models}
    problems += [ModelError(by_table[table].path, "models depend on each other in a cycle")
                 for cycle in cycles for table in dict.fromkeys(cycle)]
    return ordered, problems


def _dependency_order(models: list[Model]) -> tuple[list[Model], list[list[str]]]:
    """Upstream first, and each dependency cycle found (tables, the first repeated at the end);
    the models of a cycle are left out so that the others still get an order."""
    by_table = {m.table: m for m in models}
    graph = {m.table: {d for d in m.depends_on if d in by_table} for m in models}
    cycles: list[list[str]] = []
    while True:
        try:
            order = list(TopologicalSorter(graph).static_order())
            return [by_table[t] for t in order], cycles
        except CycleError as exc:
            cycles.append(list(exc.args[1]))
            for table in exc.args[1]:
                graph.pop(table, None)
            graph = {t: deps & set(graph) for t, deps in graph.items()}


def macro_files(root: Path = MODELS_DIR) -> list[Path]:
    """Scalar macros (cleansing and aging rules), created before the models are built."""
    return sorted((root / "macros").glob("*.sql"))


def table_macro_files(root: Path = MODELS_DIR) -> list[Path]:
    """Table macros over the built tables (aging at any key date), created after the build."""
    return sorted((root / "table_macros").glob("*.sql"))


def create_macros(con, files: list[Path] | None = None) -> None:
    """(Re)create the scalar macros (cleansing and aging rules) on a DuckDB connection."""
    for path in files if files is not None else macro_files():
        con.execute(path.read_text(encoding="utf-8"))
