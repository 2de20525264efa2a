"""The lineage core: the column lineage of one SQL statement (any schema, any dialect), with the
position in the SQL of whatever cannot be resolved. Its public names are re-exported by `lineage`."""
