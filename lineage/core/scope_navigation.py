"""Small readers of sqlglot scopes and expressions for the lineage resolver: which scopes a
correlated subquery sees, named windows, recursive CTE column names, star projections."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, ScopeType


def visible_scopes(scope: Scope) -> Iterator[Scope]:
    """The scope, then the enclosing scopes a correlated subquery can see."""
    level: Scope | None = scope
    while level is not None:
        yield level
        if not (level.can_be_correlated or level.scope_type == ScopeType.SET_OPERATION):
            return
        level = level.parent


def recursive_cte_columns(scope: Scope) -> list[str]:
    """Column names of `WITH RECURSIVE r(a, b)` when `scope` is that CTE's base case."""
    parent = scope.expression.parent
    if isinstance(parent, exp.SetOperation) and parent.this is scope.expression and not scope.outer_columns:
        cte = parent.parent
        if isinstance(cte, exp.CTE):
            return list(cte.alias_column_names)
    return []


def named_windows(scope: Scope, name: str) -> list[exp.Window]:
    """The WINDOW clause entry `name` (and the named windows it builds on)."""
    select = scope.expression
    windows = {w.name: w for w in select.args.get("windows") or []} if isinstance(select, exp.Select) else {}
    chain: list[exp.Window] = []
    while name in windows and windows[name] not in chain:
        chain.append(windows[name])
        base = windows[name].args.get("alias")
        name = base.name if base is not None else ""
    return chain


def expressions_of(value: object) -> list[exp.Expr]:
    """An argument of an expression as a list, whether sqlglot stores one node or a list."""
    if isinstance(value, exp.Expr):
        return [value]
    return [v for v in value if isinstance(v, exp.Expr)] if isinstance(value, list) else []


def is_star(projection: exp.Expr) -> bool:
    """`*` or `t.*` (with or without EXCLUDE / REPLACE / RENAME)."""
    return isinstance(projection, exp.Star) or (
        isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
    )


def strip_wrappers(expression: exp.Expr) -> exp.Expr:
    """The expression inside any parentheses and unaliased subquery wrappers."""
    while isinstance(expression, exp.Paren) or (
        isinstance(expression, exp.Subquery) and not expression.alias
    ):
        expression = expression.this
    return expression


def table_name(table: exp.Table) -> str:
    """`schema.table` (or `catalog.schema.table`, or `table`) as written, normalised."""
    return ".".join(part.name for part in table.parts)
