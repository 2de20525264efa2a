"""The models' column lineage as a graph to query: upstream / downstream trees, the columns a
column reaches with the kind of the path, and column descriptions that flow along lineage.

Built by `lineage.project.resolve.model_lineage`. Edge kinds are the core's: direct (a copy, possibly
renamed), transform (feeds an expression), filter (decides which rows exist). A path is as
strong as its weakest edge; when several paths connect two columns the strongest counts.
Queries follow direct and transform edges; `filters=True` follows filter edges too.
"""

from __future__ import annotations

import difflib
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from catalog.ods import batch_column
from catalog.register import Register, Table
from lineage.core.scope_columns import DIRECT, FILTER, STRENGTH
from models.loader import ColumnDoc


def split_column(name: str) -> tuple[str, str]:
    """`dwd.dwd_ar_item.amount_lc` -> (`dwd.dwd_ar_item`, `amount_lc`)."""
    table, _, column = name.rpartition(".")
    return table, column


def weakest(a: str | None, b: str) -> str:
    """The kind of a path made of an `a` path followed by a `b` edge."""
    return b if a is None or STRENGTH[b] < STRENGTH[a] else a


class UnknownColumnError(KeyError):
    """A table or column the lineage does not know; the message says what is known instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class LineageEdge:
    """`target` (a model column) depends on `source` (a column of an upstream table)."""

    target: str
    source: str
    kind: str


@dataclass(frozen=True)
class LineageProblem:
    """A model whose lineage could not be derived, with the position in its file (1-based)."""

    table: str
    path: Path
    line: int | None
    col: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}" + (f":{self.line}" if self.line else "")
        where += f":{self.col}" if self.line and self.col else ""
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class TableLineage:
    """One model: its output columns in order and every edge into them."""

    table: str
    path: Path
    sql_md5: str
    columns: tuple[str, ...]
    edges: tuple[LineageEdge, ...]
    unknown_inputs: tuple[str, ...] = ()  # upstream tables resolved without their columns


@dataclass(frozen=True)
class ColumnDescription:
    """中文描述 and English of a column; `code` is the SAP field code where there is one."""

    zh: str
    en: str
    code: str | None
    origin: str  # "model", "register", or "inherited from <column>"

    @property
    def label(self) -> str:
        """中文描述 (English, CODE)."""
        return f"{self.zh} ({self.en}, {self.code})" if self.code else f"{self.zh} ({self.en})"


@dataclass
class LineageNode:
    """A column in an upstream or downstream tree. A column already expanded elsewhere in the
    tree appears again with `repeated` set and no children."""

    column: str
    kind: str | None  # of the edge to the parent node; None at the root
    path_kind: str | None  # the weakest kind on the path from the root
    hops: int
    children: list[LineageNode] = field(default_factory=list)
    repeated: bool = False

    def walk(self) -> Iterator[LineageNode]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class Reach:
    """A column reached from another: fewest edges between them, and the strongest path kind."""

    column: str
    hops: int
    kind: str


Step = Callable[[str, bool], list[LineageEdge]]


class ModelLineage:
    """Column lineage of all models, plus the source tables' columns and the problems found."""

    def __init__(
        self,
        register: Register,
        sources: Mapping[str, tuple[str, ...]],
        tables: Mapping[str, TableLineage],
        problems: list[LineageProblem],
        docs: Mapping[str, Mapping[str, ColumnDoc]],
        names: Mapping[str, str],
    ) -> None:
        self.register = register
        self.sources = dict(sources)
        self.tables = dict(tables)
        self.problems = problems
        self._docs = docs
        self._names = names
        self._ods: dict[str, Table] = {f"ods.{t.ods_name}": t for t in register.tables}
        self._ods.update({f"ods.{t.departed_name}": t for t in register.tables if t.departed_name})
        self._parents: dict[str, list[LineageEdge]] = defaultdict(list)
        self._children: dict[str, list[LineageEdge]] = defaultdict(list)
        for table in self.tables.values():
            for edge in table.edges:
                self._parents[edge.target].append(edge)
                self._children[edge.source].append(edge)
        self._described: dict[str, ColumnDescription | None] = {}

    # ---- tables and names -------------------------------------------------------------------

    @property
    def edges(self) -> list[LineageEdge]:
        return [edge for table in self.tables.values() for edge in table.edges]

    def table_names(self) -> list[str]:
        """Every table lineage knows: sources, models, and failed models that others read."""
        named = {split_column(e.source)[0] for e in self.edges}
        return sorted(set(self.sources) | set(self.tables) | named)

    def columns_of(self, table: str) -> tuple[str, ...] | None:
        """The table's columns in order; for a model without lineage, those others read."""
        if table in self.tables:
            return self.tables[table].columns
        if table in self.sources:
            return self.sources[table]
        read = sorted({split_column(e.source)[1] for e in self.edges if split_column(e.source)[0] == table})
        return tuple(read) or None

    def problem_for(self, table: str) -> LineageProblem | None:
        return next((p for p in self.problems if p.table == table), None)

    def table_title(self, table: str) -> tuple[str | None, str | None]:
        """(中文名, English name) of a table, where the register or the model metadata has one."""
        if table in self._ods:
            return self._ods[table].name_zh, self._ods[table].name_en
        return self._names.get(table), None

    def resolve(self, name: str) -> str:
        """`schema.table.column` as lineage spells it, from what a user typed (any case; the schema
        may be left out when the table name is unique). Raises UnknownColumnError."""
        table_part, column_part = split_column(name.strip())
        if not table_part or not column_part:
            raise UnknownColumnError(f"'{name}' is not TABLE.COLUMN (e.g. dwd.dwd_ar_item.amount_lc)")
        known = self.table_names()
        matches = [t for t in known if t.lower() == table_part.lower()]
        if not matches and "." not in table_part:
            matches = [t for t in known if t.split(".", 1)[-1].lower() == table_part.lower()]
        if len(matches) != 1:
            hint = difflib.get_close_matches(table_part.lower(), known, n=3, cutoff=0.5)
            what = "ambiguous" if matches else "unknown"
            raise UnknownColumnError(
                f"{what} table '{table_part}'"
                + (f": did you mean {', '.join(hint)}?" if hint else f"; known tables: {', '.join(known)}")
            )
        table = matches[0]
        columns = self.columns_of(table) or ()
        problem = self.problem_for(table)
        found = [c for c in columns if c.lower() == column_part.lower()]
        if not found:
            if problem is not None:
                raise UnknownColumnError(f"{table} has no lineage: {problem}")
            hint = difflib.get_close_matches(column_part, columns, n=3, cutoff=0.5)
            raise UnknownColumnError(
                f"table {table} has no column '{column_part}'"
                + (f": did you mean {', '.join(hint)}?" if hint else f"; its columns: {', '.join(columns)}")
            )
        return f"{table}.{found[0]}"

    # ---- one step -----------------------------------------------------------------------------

    def sources_of(self, column: str, filters: bool = False) -> list[LineageEdge]:
        return [e for e in self._parents.get(column, []) if filters or e.kind != FILTER]

    def targets_of(self, column: str, filters: bool = False) -> list[LineageEdge]:
        return [e for e in self._children.get(column, []) if filters or e.kind != FILTER]

    # ---- transitive -----------------------------------------------------------------------------

    def upstream(self, column: str, filters: bool = False) -> LineageNode:
        """The tree of source columns, down to the ODS and reference columns."""
        return self._tree(column, self.sources_of, lambda e: e.source, filters)

    def downstream(self, column: str, filters: bool = False) -> LineageNode:
        """The tree of model columns that `column` feeds (impact analysis)."""
        return self._tree(column, self.targets_of, lambda e: e.target, filters)

    def upstream_columns(self, column: str, filters: bool = False) -> list[Reach]:
        """Every column `column` comes from, nearest first."""
        return self._reach(column, self.sources_of, lambda e: e.source, filters)

    def downstream_columns(self, column: str, filters: bool = False) -> list[Reach]:
        """Every model column `column` feeds, nearest first."""
        return self._reach(column, self.targets_of, lambda e: e.target, filters)

    def _tree(self, start: str, step: Step, other: Callable[[LineageEdge], str], filters: bool) -> LineageNode:
        root = LineageNode(start, None, None, 0)
        expanded = {start}
        queue = deque([root])  # breadth first: a column is expanded where it is nearest the root
        while queue:
            node = queue.popleft()
            for edge in step(node.column, filters):
                child = LineageNode(other(edge), edge.kind, weakest(node.path_kind, edge.kind), node.hops + 1)
                node.children.append(child)
                if child.column in expanded:
                    child.repeated = bool(step(child.column, filters))
                else:
                    expanded.add(child.column)
                    queue.append(child)
        return root

    def _reach(self, start: str, step: Step, other: Callable[[LineageEdge], str], filters: bool) -> list[Reach]:
        hops = {start: 0}
        queue = deque([start])
        while queue:
            column = queue.popleft()
            for edge in step(column, filters):
                if other(edge) not in hops:
                    hops[other(edge)] = hops[column] + 1
                    queue.append(other(edge))
        best: dict[str, str] = {start: DIRECT}
        changed = True
        while changed:  # strongest path kind: relax until stable (kinds only get stronger)
            changed = False
            for column in hops:
                if column not in best:
                    continue
                for edge in step(column, filters):
                    kind = weakest(best[column], edge.kind)
                    target = other(edge)
                    if target not in best or STRENGTH[kind] > STRENGTH[best[target]]:
                        best[target] = kind
                        changed = True
        reached = [Reach(c, hops[c], best[c]) for c in hops if c != start]
        return sorted(reached, key=lambda r: (r.hops, r.column))

    # ---- descriptions ---------------------------------------------------------------------------

    def description(self, column: str) -> ColumnDescription | None:
        """The model's column docs; else the register's description of the ODS column, or of the
        SAP field with the column's name; else inherited from its one direct upstream column."""
        if column not in self._described:
            self._described[column] = None  # a cycle guard while this one is worked out
            self._described[column] = self._describe(column)
        return self._described[column]

    def _describe(self, column: str) -> ColumnDescription | None:
        table, name = split_column(column)
        docs = self._docs.get(table, {})
        if name in docs:
            return ColumnDescription(docs[name].zh, docs[name].en, None, "model")
        ods = self._ods.get(table)
        if ods is not None and name in ods.column_names:
            spec = ods.column(name)
            return ColumnDescription(spec.zh, spec.en, spec.name, "register")
        sap_field = self.register.fields.get(name.upper())
        if sap_field is not None:
            return ColumnDescription(sap_field.zh, sap_field.en, name.upper(), "register")
        values = self.sources_of(column)
        if len(values) == 1 and values[0].kind == DIRECT:
            inherited = self.description(values[0].source)
            if inherited is not None:
                return replace(inherited, origin=f"inherited from {values[0].source}")
        batch = batch_column(name)  # carried from the ODS load, documented once in catalog.ods
        if batch is not None:
            return ColumnDescription(batch.zh, batch.en, None, "batch column")
        return None
