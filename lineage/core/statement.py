"""Parse SQL text and pick the statement whose columns get lineage: a query, INSERT … SELECT
or CREATE TABLE/VIEW … AS SELECT (the last such statement when there are several).

Parse errors become `LineageError`s carrying the 1-based line and column of the offending token.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token

from lineage.core.errors import LineageError, position_of


@dataclass
class Statement:
    """The query producing the rows, and what the statement says about the target's columns."""

    query: exp.Query
    tokens: list[Token]
    target_columns: list[str] | None = None  # INSERT INTO t (a, b) / CREATE TABLE t (a, b) AS
    target_table: exp.Table | None = None  # INSERT INTO t SELECT …: columns by position
    position: tuple[int, int] = (1, 1)  # of the target table name, for errors about its columns


def parse_statement(sql: str, dialect: Dialect) -> Statement:
    """Tokenise and parse `sql`; raise LineageError for unreadable SQL or no usable statement."""
    try:
        tokens = dialect.tokenize(sql)
    except TokenError as err:
        raise _token_error(sql, err) from err
    try:
        statements = dialect.parser().parse(tokens, sql)
    except ParseError as err:
        raise _parse_error(err) from err
    for statement in reversed(statements):
        found = _as_statement(statement, tokens) if statement is not None else None
        if found is not None:
            target = statement.find(exp.Table) if not isinstance(statement, exp.Query) else None
            start = target.this.meta.get("start") if target is not None and target.this.meta else None
            if start is not None:
                found.position = position_of(sql, start)
            return found
    raise LineageError("no SELECT, INSERT … SELECT or CREATE … AS SELECT statement found", 1, 1)


def _as_statement(statement: exp.Expr, tokens: list[Token]) -> Statement | None:
    if isinstance(statement, exp.Query):
        return Statement(_unwrap(statement), tokens)
    if isinstance(statement, exp.Insert):
        query = statement.expression
        if not isinstance(query, exp.Query):  # INSERT … VALUES has no source columns
            return None
        query = _unwrap(query)
        with_ = statement.args.get("with_")
        if with_ is not None and isinstance(query, exp.Query):
            own = query.args.get("with_")
            if own is not None:
                with_.set("expressions", [*with_.expressions, *own.expressions])
            query.set("with_", with_)
        target = statement.this
        if isinstance(target, exp.Schema):
            return Statement(query, tokens, target_columns=[c.name for c in target.expressions])
        by_name = statement.args.get("by_name")
        return Statement(query, tokens, target_table=None if by_name else target)
    if isinstance(statement, exp.Create) and isinstance(statement.expression, exp.Query):
        target = statement.this
        columns = None
        if isinstance(target, exp.Schema) and target.expressions:
            columns = [c.name for c in target.expressions]
        return Statement(_unwrap(statement.expression), tokens, target_columns=columns)
    return None


def _unwrap(query: exp.Expr) -> exp.Query:
    while isinstance(query, exp.Subquery) and not query.alias:
        query = query.this
    assert isinstance(query, exp.Query)
    return query


def _parse_error(err: ParseError) -> LineageError:
    info = err.errors[0] if err.errors else {}
    line, col = info.get("line"), info.get("col")
    highlight = info.get("highlight") or ""
    if isinstance(col, int) and highlight and "\n" not in highlight:
        col = max(1, col - len(highlight) + 1)  # sqlglot points at the token's last character
    description = info.get("description") or str(err)
    near = f" near '{highlight}'" if highlight else ""
    return LineageError(f"cannot parse SQL: {description}{near}", line, col)


def _token_error(sql: str, err: TokenError) -> LineageError:
    start = getattr(err, "start", None)
    end = getattr(err, "end", None)
    offset = end if isinstance(end, int) else len(sql)
    if isinstance(start, int):
        # An unterminated string or quoted name is the usual cause: point at its opening quote.
        context = sql[start:offset]
        for quote in ("'", '"'):
            if context.count(quote) % 2:
                offset = start + context.rfind(quote)
                break
    return LineageError(f"cannot tokenise SQL: {err}", *position_of(sql, offset))
