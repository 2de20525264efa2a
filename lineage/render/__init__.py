"""Rendering the project's model lineage: JSON and Graphviz DOT exports (`graph`) and PNG drawings
(`graph_layout`, `graph_png`)."""
