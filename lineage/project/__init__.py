"""The project's model lineage: every model resolved in dependency order against the ODS and
reference tables (`resolve`), the graph to query (`model_graph`), its copy in meta.column_lineage
(`store`) and tracing failed quality checks upstream (`trace`)."""
