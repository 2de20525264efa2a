"""Chinese headers for the columns analysts see: from the model and register documentation
(through column lineage, where undocumented copies inherit their source's text), plus the
columns that the table macros and the API compute."""

from __future__ import annotations

from lineage.project.resolve import project_lineage

# computed by the aging macros and the API, documented nowhere else
COMPUTED = {
    "key_date": "基准日", "basis": "账龄口径", "bucket": "账龄段", "days_past_due": "逾期天数",
    "days_since_posting": "过账后天数", "item_count": "项目数", "partner": "往来方",
}


def column_labels() -> dict[str, str]:
    """column name (lower case) -> 中文名, first documentation found wins."""
    lineage = project_lineage()
    labels = dict(COMPUTED)
    for table in lineage.table_names():
        for column in lineage.columns_of(table) or ():
            described = lineage.description(f"{table}.{column}")
            if described is not None:
                labels.setdefault(column.lower(), described.zh)
    return labels
