"""Column lineage (数据血缘) and tracing (溯源) derived from the model SQL with sqlglot.

`lineage.core` resolves one SQL statement (its public API is re-exported here), `lineage.project`
the project's models and their stored lineage, `lineage.render` the exports and drawings.
"""

from lineage.core.column_lineage import Edge, column_edges, column_lineage
from lineage.core.errors import LineageError

__all__ = ["Edge", "LineageError", "column_edges", "column_lineage"]
