"""What analysts read about the columns and tables they see: Chinese first, English beside, the
SAP field code where there is one — from the model and register documentation (through column
lineage, where undocumented copies inherit their source's text), plus the columns that the table
macros and the API compute."""

from __future__ import annotations

from dataclasses import dataclass, field

from lineage.project.resolve import project_lineage
from models.loader import load_models

# computed by the aging macros and the API, documented nowhere else
COMPUTED = {
    "key_date": ("基准日", "Key date"), "basis": ("账龄口径", "Aging basis: due or posting date"),
    "bucket": ("账龄段", "Aging bucket"), "days_past_due": ("逾期天数", "Days past the net due date"),
    "days_since_posting": ("过账后天数", "Days since posting"), "item_count": ("项目数", "Number of items"),
    "partner": ("往来方", "Customer or vendor"),
}


@dataclass(frozen=True)
class ColumnDoc:
    zh: str
    en: str
    code: str | None = None


@dataclass
class Docs:
    columns: dict[str, dict[str, ColumnDoc]] = field(default_factory=dict)  # table -> column -> doc
    tables: dict[str, tuple[str, str]] = field(default_factory=dict)        # table -> (中文名, English)

    def labels_zh(self) -> dict[str, str]:
        """column name -> 中文名 (first documentation found wins), for Excel headers."""
        labels = {name: zh for name, (zh, _) in COMPUTED.items()}
        for columns in self.columns.values():
            for name, doc in columns.items():
                labels.setdefault(name, doc.zh)
        return labels


def load_docs() -> Docs:
    lineage = project_lineage()
    docs = Docs()
    for model in load_models():
        docs.tables[model.table] = (model.meta.name_zh, model.meta.description_en)
    for table in lineage.table_names():
        found = {}
        for column in lineage.columns_of(table) or ():
            described = lineage.description(f"{table}.{column}")
            if described is not None:
                found[column.lower()] = ColumnDoc(described.zh, described.en, described.code)
        docs.columns[table] = found
    return docs


def column_labels() -> dict[str, str]:
    """column name (lower case) -> 中文名."""
    return load_docs().labels_zh()
