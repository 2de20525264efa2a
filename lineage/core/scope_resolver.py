"""Resolve every scope of a query (CTE, derived table, subquery, set-operation branch) to its
output columns and the source columns each one comes from, with the edge kind.

Works on sqlglot's scope tree (`build_scope`) after identifiers are normalised and tables
aliased (`normalize_identifiers`, `qualify_tables`). Columns are resolved here rather than by
`qualify_columns`, which refuses correlated subqueries and alias references whenever a table's
columns are unknown, and which does not tell a plain copy from an expression.
Kinds and the per-scope result are in `lineage.core.scope_columns`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, walk_in_scope

from lineage.core.errors import LineageError, node_position
from lineage.core.output_names import column_name_of
from lineage.core.scope_columns import DIRECT, FILTER, TRANSFORM, ScopeColumns, Sources, merge
from lineage.core.scope_navigation import (
    expressions_of,
    is_star,
    named_windows,
    recursive_cte_columns,
    strip_wrappers,
    table_name,
    visible_scopes,
)
from lineage.core.table_schema import TableSchema

_ROW_CLAUSES = ("where", "group", "having", "qualify", "order")


@dataclass
class _Source:
    """One FROM/JOIN item of a scope, as its columns are seen from that scope."""

    alias: str
    node: exp.Expr | None
    source: exp.Table | Scope
    columns: list[str] | None  # output names in order; None when unknown
    inner_names: dict[str, str] = field(default_factory=dict)  # alias column -> source column


@dataclass
class _Context:
    """What column resolution in one scope needs: its sources, USING columns, outputs so far."""

    sources: list[_Source]
    by_alias: dict[str, _Source]
    using: dict[str, tuple[list[str], str]] = field(default_factory=dict)  # name -> (aliases, side)
    outputs: list[tuple[str, Sources]] = field(default_factory=list)


class ScopeResolver:
    """Computes `ScopeColumns` for the scopes of one statement, each scope once."""

    def __init__(self, sql: str, schema: TableSchema, names: dict[int, str]) -> None:
        self._sql = sql
        self._schema = schema
        self._names = names
        self._done: dict[int, ScopeColumns] = {}
        self._in_progress: set[int] = set()
        self._contexts: dict[int, _Context] = {}
        self._subqueries: dict[int, Scope] = {}
        self._traversed: dict[int, Scope] = {}  # id(expression) -> its scope in the tree
        self._traversed_ids: set[int] = set()

    def resolve(self, root: Scope) -> ScopeColumns:
        for scope in root.traverse():
            self._traversed.setdefault(id(scope.expression), scope)
            self._traversed_ids.add(id(scope))
            for sub in scope.subquery_scopes:
                self._subqueries[id(sub.expression)] = sub
        return self.columns(root)

    # ---- scopes -------------------------------------------------------------------------

    def columns(self, scope: Scope) -> ScopeColumns:
        if id(scope) not in self._traversed_ids:
            # sqlglot gives a recursive CTE's self-reference a bare, untraversed copy of the
            # base case; use the traversed one, which knows its tables.
            scope = self._traversed.get(id(scope.expression), scope)
        key = id(scope)
        if key in self._done:
            return self._done[key]
        if key in self._in_progress:  # recursive CTE: its own reference adds nothing new
            return ScopeColumns([])
        self._in_progress.add(key)
        try:
            result = self._compute(scope)
        finally:
            self._in_progress.discard(key)
        self._done[key] = result
        return result

    def _compute(self, scope: Scope) -> ScopeColumns:
        expression = scope.expression
        if isinstance(expression, exp.SetOperation):
            result = self._set_operation(scope)
        elif isinstance(expression, exp.Select):
            result = self._select(scope)
        elif isinstance(expression, exp.Values):
            width = len(expression.expressions[0].expressions) if expression.expressions else 0
            result = ScopeColumns([(f"col{i}", {}) for i in range(width)])
        elif isinstance(expression, exp.Unnest):
            sources: Sources = {}
            for arg in expression.expressions:
                self._collect(arg, scope, sources, TRANSFORM, "select")
            result = ScopeColumns([("unnest", sources)])
        else:  # LATERAL (subquery), parenthesised query: the one inner scope
            inner = [s for s in scope.sources.values() if isinstance(s, Scope)]
            inner = [s for s in inner if s.parent is scope] or inner[-1:]
            result = self.columns(inner[0]) if inner else ScopeColumns([])
        if scope.outer_columns:
            renamed = list(result.complete().outputs)
            for i, name in enumerate(scope.outer_columns[: len(renamed)]):
                renamed[i] = (name, renamed[i][1])
            result = ScopeColumns(renamed, result.row_filters)
        return result

    def _set_operation(self, scope: Scope) -> ScopeColumns:
        left, right = (self.columns(s).complete() for s in scope.set_operation_scopes)
        expression = scope.expression
        is_except = isinstance(expression, exp.Except)
        if expression.args.get("by_name"):
            names = [n for n, _ in left.outputs]
            names += [n for n, _ in right.outputs if n not in names]
            pairs = [(n, left.find(n) or {}, right.find(n) or {}) for n in names]
        else:
            if len(left.outputs) != len(right.outputs):
                raise self._error(
                    f"{expression.key.upper()} branches have {len(left.outputs)} and "
                    f"{len(right.outputs)} columns",
                    expression,
                )
            pairs = [(n, ls, rs) for (n, ls), (_, rs) in zip(left.outputs, right.outputs, strict=True)]
        outputs: list[tuple[str, Sources]] = []
        row_filters: Sources = {}
        merge(row_filters, left.row_filters, FILTER)
        merge(row_filters, right.row_filters, FILTER)
        for name, left_sources, right_sources in pairs:
            sources = dict(left_sources)
            # EXCEPT's right branch only removes rows: its values never reach the output.
            merge(row_filters if is_except else sources, right_sources, FILTER if is_except else DIRECT)
            outputs.append((name, sources))
        result = ScopeColumns(outputs, row_filters)
        order = expression.args.get("order")
        if order:
            for column in order.find_all(exp.Column):
                merge(row_filters, result.find(column.name) or {}, FILTER)
        return result

    def _select(self, scope: Scope) -> ScopeColumns:
        select = scope.expression
        context = self._context(scope)
        outputs = context.outputs = []
        aggregates: list[bool] = []
        unknown: list[tuple[_Source, exp.Expr]] = []
        for position, projection in enumerate(select.expressions):
            if is_star(projection):
                expanded = self._expand_star(projection, scope, context, unknown)
                outputs.extend(expanded)
                aggregates.extend(False for _ in expanded)
                continue
            if isinstance(projection, exp.Columns):
                raise self._error("COLUMNS(...) projections are not supported by lineage", projection)
            name = self._output_name(projection, position)
            outputs.append((name, self._value_sources(projection.unalias(), scope)))
            aggregates.append(projection.find(exp.AggFunc) is not None)
        result = ScopeColumns(outputs, self._row_filters(scope, context, aggregates, not unknown))
        if unknown:
            star_source, star = unknown[0]
            inner = star_source.source
            # A star over a CTE/subquery that is itself `SELECT * FROM unknown_table`: name that table.
            result.unexpanded = (self.columns(inner).unexpanded if isinstance(inner, Scope) else None) or (
                self._error(
                    "cannot expand '*': the columns of "
                    + ", ".join(f"'{_describe(s)}'" for s, _ in unknown)
                    + " are unknown; add them to the schema",
                    star,
                )
            )
            if len(unknown) == 1:
                result.open_lookup = lambda name: self._source_column(star_source, name, star)
        return result

    def _output_name(self, projection: exp.Expr, position: int) -> str:
        if isinstance(projection, exp.Alias):
            return projection.alias
        if id(projection) in self._names:
            return self._names[id(projection)]
        return column_name_of(projection) or f"_col_{position}"

    # ---- context --------------------------------------------------------------------------

    def _context(self, scope: Scope) -> _Context:
        key = id(scope)
        if key in self._contexts:
            return self._contexts[key]
        if isinstance(scope.expression, exp.Select):
            items = [(alias, node, src) for alias, (node, src) in scope.selected_sources.items()]
        else:
            items = [
                (alias, None, src)
                for alias, src in scope.sources.items()
                if alias and alias not in scope.cte_sources
            ]
        sources = [self._source(alias, node, src) for alias, node, src in items]
        context = _Context(sources, {s.alias: s for s in sources})
        self._contexts[key] = context
        if isinstance(scope.expression, exp.Select):
            self._collect_using(scope.expression, context)
        return context

    def _source(self, alias: str, node: exp.Expr | None, source: exp.Table | Scope) -> _Source:
        if isinstance(source, Scope):
            child = self.columns(source)
            columns: list[str] | None = [n for n, _ in child.outputs]
            recursive = recursive_cte_columns(source)
            if recursive:
                columns = recursive + columns[len(recursive) :]
            if child.unexpanded is not None:
                columns = None
        elif isinstance(source.this, exp.Identifier):
            columns = self._schema.columns(source)
        else:  # table function such as read_csv(...): no columns, no lineage
            columns = None
        # FROM t AS x(p, q): p and q rename t's first columns (known only with t's columns)
        renames = node.alias_column_names if isinstance(node, exp.Table) else []
        inner_names: dict[str, str] = {}
        if renames and columns is not None:
            inner_names = {new: (columns[i] if i < len(columns) else new) for i, new in enumerate(renames)}
            columns = list(renames) + columns[len(renames) :]
        return _Source(alias, node, source, columns, inner_names)

    def _collect_using(self, select: exp.Select, context: _Context) -> None:
        """Record the columns of USING (…) and NATURAL joins with the sources they join."""
        seen: list[_Source] = []
        for source in context.sources:
            join = source.node.parent if source.node is not None else None
            if isinstance(join, exp.Join) and seen:
                names = [i.name for i in join.args.get("using") or []]
                if join.method == "NATURAL" and source.columns is not None:
                    names = [n for n in source.columns if any(n in (s.columns or []) for s in seen)]
                for name in names:
                    left = next((s for s in seen if s.columns and name in s.columns), None)
                    left = left or next((s for s in seen if s.columns is None), seen[-1])
                    aliases, side = context.using.get(name, ([left.alias], ""))
                    context.using[name] = ([*aliases, source.alias], join.side or side)
            seen.append(source)

    # ---- projections ----------------------------------------------------------------------

    def _value_sources(self, expression: exp.Expr, scope: Scope) -> Sources:
        """Sources of one projected value: a copy keeps its kinds, anything else transforms."""
        core = strip_wrappers(expression)
        if isinstance(core, exp.Column) and not isinstance(core.this, exp.Star):
            return dict(self._column(core, scope, "select"))
        sources: Sources = {}
        if isinstance(core, (exp.Select, exp.SetOperation)) and id(core) in self._subqueries:
            sub = self.columns(self._subqueries[id(core)])
            for _, sub_sources in sub.outputs[:1]:
                merge(sources, sub_sources)
            merge(sources, sub.row_filters, FILTER)
            return sources
        self._collect(expression, scope, sources, TRANSFORM, "select")
        return sources

    def _expand_star(
        self,
        projection: exp.Expr,
        scope: Scope,
        context: _Context,
        unknown: list[tuple[_Source, exp.Expr]],
    ) -> list[tuple[str, Sources]]:
        """Columns of `*` / `t.*`; sources whose columns are unknown go to `unknown`."""
        star = projection.this if isinstance(projection, exp.Column) else projection
        qualifier = projection.table if isinstance(projection, exp.Column) else ""
        if qualifier:
            chosen = [self._find_source(scope, qualifier)]
            if chosen[0] is None:
                raise self._error(f"unknown table or alias '{qualifier}' in '{qualifier}.*'", projection)
        else:
            chosen = context.sources
        excluded = {c.name for c in star.args.get("except_") or []}
        replaced = {a.alias: a.this for a in star.args.get("replace") or []}
        renamed = {a.this.name: a.alias for a in star.args.get("rename") or []}
        outputs: list[tuple[str, Sources]] = []
        emitted_using: set[str] = set()
        for source in chosen:
            assert source is not None
            if source.columns is None:
                unknown.append((source, projection))
                continue
            for name in source.columns:
                if name in excluded:
                    continue
                if not qualifier and name in context.using:
                    if name in emitted_using:
                        continue
                    emitted_using.add(name)
                    sources = self._using_sources(name, scope, context)
                elif name in replaced:
                    sources = self._value_sources(replaced[name], scope)
                else:
                    sources = self._source_column(source, name, projection)
                outputs.append((renamed.get(name, name), dict(sources)))
        return outputs

    # ---- rows -----------------------------------------------------------------------------

    def _row_filters(
        self, scope: Scope, context: _Context, aggregates: list[bool], positions_known: bool
    ) -> Sources:
        """Sources that decide which rows of this SELECT exist (its own and its inputs')."""
        select = scope.expression
        filters: Sources = {}
        for key in _ROW_CLAUSES:
            clause = select.args.get(key)
            if clause is not None:
                self._collect(clause, scope, filters, FILTER, key)
        distinct = select.args.get("distinct")
        if distinct is not None and distinct.args.get("on") is not None:
            self._collect(distinct.args["on"], scope, filters, FILTER, "order")
        for join in select.args.get("joins") or []:
            if join.args.get("on") is not None:
                self._collect(join.args["on"], scope, filters, FILTER, "join")
        for name, (aliases, _) in context.using.items():
            for alias in aliases:
                merge(filters, self._source_column(context.by_alias[alias], name, select), FILTER)
        for source in scope.sources.values():
            # Rows of every derived table / CTE read here (and semi/anti-joined ones) depend on
            # that scope's own filters.
            if isinstance(source, Scope) and any(s.source is source for s in context.sources):
                merge(filters, self.columns(source).row_filters, FILTER)
        for alias in scope.semi_or_anti_join_tables:
            semi = scope.sources.get(alias)
            if isinstance(semi, Scope):
                merge(filters, self.columns(semi).row_filters, FILTER)
        if positions_known:
            self._positional_filters(select, context.outputs, aggregates, filters)
        return filters

    def _positional_filters(
        self,
        select: exp.Select,
        outputs: list[tuple[str, Sources]],
        aggregates: list[bool],
        filters: Sources,
    ) -> None:
        """GROUP BY 1 / ORDER BY 2 / GROUP BY ALL / ORDER BY ALL name outputs, not columns."""
        group = select.args.get("group")
        order = select.args.get("order")
        picked: list[int] = []
        if group is not None and group.args.get("all"):
            picked += [i for i, is_aggregate in enumerate(aggregates) if not is_aggregate]
        items = list(group.expressions if group is not None else [])
        items += [o.this for o in (order.expressions if order is not None else [])]
        for item in items:
            if isinstance(item, exp.Literal) and item.is_int:
                picked.append(int(item.name) - 1)
            elif isinstance(item, exp.Var) and item.name.upper() == "ALL":
                picked += range(len(outputs))
        for i in picked:
            if 0 <= i < len(outputs):
                merge(filters, outputs[i][1], FILTER)

    # ---- columns --------------------------------------------------------------------------

    def _collect(self, node: exp.Expr, scope: Scope, into: Sources, cap: str, clause: str) -> None:
        """Add the sources of every column and subquery under `node` (within `scope`)."""
        for item in walk_in_scope(node):
            if isinstance(item, exp.Column):
                if not isinstance(item.this, exp.Star):
                    merge(into, self._column(item, scope, clause), cap)
            elif item is not node and isinstance(item, (exp.Select, exp.SetOperation)):
                sub_scope = self._subqueries.get(id(item))
                if sub_scope is not None:
                    sub = self.columns(sub_scope)
                    for _, sub_sources in sub.outputs:
                        merge(into, sub_sources, cap)
                    merge(into, sub.row_filters, FILTER)
            elif isinstance(item, exp.Window) and item.args.get("alias") is not None:
                # OVER w / OVER (w ORDER BY …): the named window's columns feed the value too
                for named in named_windows(scope, item.args["alias"].name):
                    for key in ("partition_by", "order"):
                        for part in expressions_of(named.args.get(key)):
                            self._collect(part, scope, into, cap, clause)
            elif isinstance(item, exp.Columns):
                raise self._error("COLUMNS(...) is not supported by lineage", item)

    def _column(self, column: exp.Column, scope: Scope, clause: str) -> Sources:
        """Sources of one column reference; `clause` says where it appears."""
        name = column.name
        qualifier = column.table
        if not qualifier:
            return self._unqualified(name, scope, clause, column)
        source = self._find_source(scope, qualifier)
        if source is not None:
            return self._source_column(source, name, column)
        # `s.field` where `s` is a struct column (or `t.s.field` with `t` a source)
        owner = self._find_source(scope, column.args["db"].name) if column.args.get("db") else None
        if owner is not None:
            struct = self._source_column(owner, qualifier, column)
        else:
            struct = self._struct_column(qualifier, scope)
        if struct is None:
            raise self._error(f"unknown table or alias '{qualifier}' in column '{column.sql()}'", column)
        sources: Sources = {}
        merge(sources, struct, TRANSFORM)
        return sources

    def _struct_column(self, name: str, scope: Scope) -> Sources | None:
        """Sources of column `name` when exactly one source with known columns has it."""
        holders = [
            source
            for level in visible_scopes(scope)
            for source in self._context(level).sources
            if source.columns is not None and name in source.columns
        ]
        return self._source_column(holders[0], name, scope.expression) if len(holders) == 1 else None

    def _find_source(self, scope: Scope, alias: str) -> _Source | None:
        """The source a qualifier names, in this scope or one a correlated subquery sees."""
        for level in visible_scopes(scope):
            context = self._context(level)
            if alias in context.by_alias:
                return context.by_alias[alias]
            hidden = level.sources.get(alias)  # e.g. the right side of a SEMI/ANTI join
            if hidden is not None and alias not in level.cte_sources:
                return self._source(alias, None, hidden)
        return None

    def _unqualified(self, name: str, scope: Scope, clause: str, node: exp.Expr) -> Sources:
        """Resolve a bare column name as DuckDB does, as far as the known columns allow.

        Per visible scope: ORDER BY prefers an output alias; USING columns; the one source
        with known columns that has it (two: ambiguous); an output alias of this SELECT
        (DuckDB allows them in WHERE, GROUP BY, HAVING, QUALIFY and later projections); the
        one source whose columns are unknown (two: unresolvable). Then the enclosing scope.
        """
        for depth, level in enumerate(visible_scopes(scope)):
            context = self._context(level)
            own = depth == 0
            if own and clause == "order" and (alias := _find_output(context, name)) is not None:
                return alias
            if name in context.using:
                return self._using_sources(name, level, context)
            known = [s for s in context.sources if s.columns is not None and name in s.columns]
            if len(known) > 1:
                raise self._error(
                    f"ambiguous column '{name}': it exists in "
                    + ", ".join(f"'{_describe(s)}'" for s in known)
                    + "; qualify it with a table alias",
                    node,
                )
            if known:
                return self._source_column(known[0], name, node)
            if own and clause != "join" and (alias := _find_output(context, name)) is not None:
                return alias
            unknown = [s for s in context.sources if s.columns is None]
            if len(unknown) > 1:
                raise self._error(
                    f"cannot resolve column '{name}': any of "
                    + ", ".join(f"'{_describe(s)}'" for s in unknown)
                    + " could hold it (no schema for them); qualify it or add them to the schema",
                    node,
                )
            if unknown:
                return self._source_column(unknown[0], name, node)
        where = ", ".join(f"'{_describe(s)}'" for s in self._context(scope).sources)
        raise self._error(f"unknown column '{name}'" + (f" (not in {where})" if where else ""), node)

    def _using_sources(self, name: str, scope: Scope, context: _Context) -> Sources:
        """A USING/NATURAL join column: the left side's (right for RIGHT JOIN, both for FULL)."""
        aliases, side = context.using[name]
        if side == "FULL":  # the value is COALESCE(left, right)
            sources: Sources = {}
            for alias in aliases:
                merge(
                    sources, self._source_column(context.by_alias[alias], name, scope.expression), TRANSFORM
                )
            return sources
        alias = aliases[-1] if side == "RIGHT" else aliases[0]
        return self._source_column(context.by_alias[alias], name, scope.expression)

    def _source_column(self, source: _Source, name: str, node: exp.Expr) -> Sources:
        """Sources of column `name` of one FROM/JOIN item; unknown names raise."""
        inner = source.inner_names.get(name, name)
        if isinstance(source.source, Scope):
            scope_columns = self.columns(source.source)
            recursive = recursive_cte_columns(source.source)
            if inner in recursive:  # the base case of WITH RECURSIVE r(n) AS (…), by position
                index = recursive.index(inner)
                outputs = scope_columns.outputs
                return dict(outputs[index][1]) if index < len(outputs) else {}
            sources = scope_columns.find(inner)
            if sources is None:
                raise self._error(
                    f"unknown column '{name}' in '{source.alias}' "
                    f"(its columns: {', '.join(source.columns or []) or 'none'})",
                    node,
                )
            return sources
        table = source.source
        if not isinstance(table.this, exp.Identifier):
            return {}
        if source.columns is not None and name not in source.columns:
            raise self._error(
                f"unknown column '{name}' in table '{table_name(table)}'"
                + (f" (alias '{source.alias}')" if source.alias != table.name else ""),
                node,
            )
        return {f"{table_name(table)}.{inner}": DIRECT}

    def _error(self, message: str, node: exp.Expr) -> LineageError:
        return LineageError(message, *node_position(self._sql, node))


def _find_output(context: _Context, name: str) -> Sources | None:
    for output, sources in context.outputs:
        if output == name:
            return sources
    return None


def _describe(source: _Source) -> str:
    if isinstance(source.source, exp.Table):
        if isinstance(source.source.this, exp.Identifier):
            return table_name(source.source)
        return source.source.this.sql(dialect="duckdb")  # a table function: read_csv(…)
    return source.alias
