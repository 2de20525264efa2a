"""Names DuckDB gives to unaliased, non-column projections such as `a + b` or `count(*)`.

DuckDB names such a column after its own rendering of the parsed expression: `(a + b)`,
`count_star()`, `CAST(x AS DECIMAL(18, 2))`. That rendering is reproduced exactly by letting
DuckDB parse the projection's original text and print it back (json_serialize_sql /
json_deserialize_sql); nothing is bound, so no tables are needed. The parser is an in-memory
DuckDB connection holding no data, opened once per process because opening one costs ~25 ms.
When the text cannot be located or DuckDB cannot read it, the name is sqlglot's default
`_col_<position>`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

if TYPE_CHECKING:
    import duckdb

_OPEN = {TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE}
_CLOSE = {TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE}
_LIST_END = {
    TokenType.FROM,
    TokenType.WHERE,
    TokenType.GROUP_BY,
    TokenType.HAVING,
    TokenType.QUALIFY,
    TokenType.WINDOW,
    TokenType.ORDER_BY,
    TokenType.LIMIT,
    TokenType.OFFSET,
    TokenType.FETCH,
    TokenType.UNION,
    TokenType.EXCEPT,
    TokenType.INTERSECT,
    TokenType.INTO,
    TokenType.SEMICOLON,
}
_SELECT_PREFIX = {TokenType.DISTINCT, TokenType.ALL}


def needs_duckdb_name(projection: exp.Expr) -> bool:
    """True for projections whose output name DuckDB derives from the expression text."""
    core = projection
    while isinstance(core, exp.Paren):
        core = core.this
    return not isinstance(core, (exp.Alias, exp.Column, exp.Star, exp.Dot))


def column_name_of(projection: exp.Expr) -> str:
    """Output name of a (possibly parenthesised) column projection: its last name part."""
    core = projection
    while isinstance(core, exp.Paren):
        core = core.this
    return core.alias_or_name


class _ProjectionText:
    """Finds the original text of each projection of a SELECT from the statement's tokens."""

    def __init__(self, sql: str, tokens: list[Token]) -> None:
        self._sql = sql
        self._tokens = tokens
        self._index_by_start = {tok.start: i for i, tok in enumerate(tokens)}

    def texts(self, select: exp.Select) -> list[str] | None:
        anchor = self._anchor(select)
        if anchor is None:
            return None
        spans = self._split_after(self._select_keyword(anchor))
        if spans is None or len(spans) != len(select.expressions):
            return None
        return [self._sql[self._tokens[a].start : self._tokens[b].end + 1] for a, b in spans]

    def _anchor(self, select: exp.Select) -> int | None:
        # Any identifier or literal of a projection that carries its position will do.
        for projection in select.expressions:
            for node in projection.walk(prune=lambda n: isinstance(n, exp.Query)):
                start = node.meta.get("start") if node.meta else None
                if start is not None and start in self._index_by_start:
                    return self._index_by_start[start]
        return None

    def _select_keyword(self, index: int) -> int | None:
        depth = lowest = 0
        for i in range(index, -1, -1):
            kind = self._tokens[i].token_type
            if kind in _CLOSE:
                depth += 1
            elif kind in _OPEN:
                depth -= 1
                lowest = min(lowest, depth)
            elif kind == TokenType.SELECT and depth == lowest:
                return i
        return None

    def _split_after(self, select_index: int | None) -> list[tuple[int, int]] | None:
        if select_index is None:
            return None
        i = select_index + 1
        tokens = self._tokens
        while i < len(tokens) and tokens[i].token_type in _SELECT_PREFIX:
            i += 1
            if i < len(tokens) and tokens[i].token_type == TokenType.ON:
                i = self._skip_group(i + 1)
        spans: list[tuple[int, int]] = []
        start, depth = i, 0
        while i < len(tokens):
            kind = tokens[i].token_type
            if kind in _OPEN:
                depth += 1
            elif kind in _CLOSE:
                depth -= 1
                if depth < 0:
                    break
            elif depth == 0 and (kind in _LIST_END or kind == TokenType.COMMA):
                if kind != TokenType.COMMA:
                    break
                spans.append((start, i - 1))
                start = i + 1
            i += 1
        if start <= i - 1:
            spans.append((start, i - 1))
        return spans

    def _skip_group(self, i: int) -> int:
        depth = 0
        while i < len(self._tokens):
            kind = self._tokens[i].token_type
            depth += kind in _OPEN
            depth -= kind in _CLOSE
            i += 1
            if depth == 0:
                break
        return i


@functools.cache
def _parser() -> tuple[duckdb.DuckDBPyConnection, threading.Lock]:
    import duckdb

    return duckdb.connect(":memory:"), threading.Lock()


@functools.lru_cache(maxsize=4096)
def _duckdb_rendering(text: str) -> str | None:
    connection, lock = _parser()
    with lock:
        try:
            row = connection.execute(
                "SELECT json_deserialize_sql(json_serialize_sql(?))", ["SELECT " + text]
            ).fetchone()
        except Exception:  # any DuckDB failure means "no DuckDB name"
            return None
    rendered = row[0] if row else None
    if not isinstance(rendered, str) or not rendered.startswith("SELECT "):
        return None
    return rendered[len("SELECT ") :]


def duckdb_output_names(sql: str, tokens: list[Token], selects: Iterable[exp.Select]) -> dict[int, str]:
    """Map id(projection) -> output name for every unaliased non-column projection."""
    finder = _ProjectionText(sql, tokens)
    names: dict[int, str] = {}
    for select in selects:
        pending = [(i, p) for i, p in enumerate(select.expressions) if needs_duckdb_name(p)]
        if not pending:
            continue
        texts = finder.texts(select)
        for i, projection in pending:
            text = texts[i] if texts else projection.sql(dialect="duckdb")
            names[id(projection)] = _duckdb_rendering(text) or f"_col_{i}"
    return names
