"""The one error the lineage package raises, with the position in the SQL it is about."""

from __future__ import annotations

from sqlglot import exp


class LineageError(ValueError):
    """SQL whose column lineage cannot be derived: a parse error or an unresolvable column.

    `line` and `col` are 1-based and point into the SQL text given to the lineage function
    (None when sqlglot reports no position). `message` is the text without the position, so
    callers can prefix a file name: f"{path}:{err.line}:{err.col}: {err.message}".
    """

    def __init__(self, message: str, line: int | None = None, col: int | None = None) -> None:
        self.message = message
        self.line = line
        self.col = col
        where = f" (line {line}, col {col})" if line is not None else ""
        super().__init__(f"{message}{where}")


def position_of(sql: str, offset: int) -> tuple[int, int]:
    """1-based (line, col) of a 0-based character offset in `sql`."""
    offset = max(0, min(offset, len(sql)))
    line = sql.count("\n", 0, offset) + 1
    col = offset - (sql.rfind("\n", 0, offset) + 1) + 1
    return line, col


def node_position(sql: str, node: exp.Expr) -> tuple[int, int] | tuple[()]:
    """(line, col) of the first token under `node` that sqlglot recorded a position for."""
    for item in node.walk():
        start = item.meta.get("start") if item.meta else None
        if start is not None:
            return position_of(sql, start)
    return ()
