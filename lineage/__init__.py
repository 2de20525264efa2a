"""Column lineage (数据血缘) and tracing (溯源) derived from the model SQL with sqlglot."""
