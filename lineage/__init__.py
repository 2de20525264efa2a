"""Column lineage (数据血缘) and tracing (溯源) derived from the model SQL with sqlglot."""

from lineage.column_lineage import Edge, column_edges, column_lineage
from lineage.errors import LineageError

__all__ = ["Edge", "LineageError", "column_edges", "column_lineage"]
