"""One Dagster asset per SQL model (group = layer), with dependencies read from the SQL.

Models are not partitioned: each rebuilds its whole table from everything delivered so far.
The reference data (catalog/reference.yaml) is an asset of its own, `ref/reference_data`.
"""

import functools

import dagster as dg

from catalog.builder import CatalogTable, build_catalog
from catalog.reference_data import load_reference_tables
from catalog.register import load_reference, load_register
from lineage.project.model_graph import ModelLineage, split_column
from lineage.project.resolve import lineage_sources, model_lineage
from models.build import build_model, create_macros, create_table_macros
from models.loader import LAYER_ZH, Model
from pipelines.orchestration.ods_assets import DUCKDB_POOL
from pipelines.orchestration.resources import RespoolResource

REFERENCE_KEY = dg.AssetKey(["ref", "reference_data"])


def model_asset_key(table: str) -> dg.AssetKey:
    schema, name = table.split(".", 1)
    return dg.AssetKey([schema, name])


def _dep_key(table: str) -> dg.AssetKey:
    """The asset that writes `table`: ods.<x>_departed is written by the load of ods.<x>."""
    return REFERENCE_KEY if table.startswith("ref.") else model_asset_key(_departed_tables().get(table, table))


@functools.cache
def _departed_tables() -> dict[str, str]:
    return {f"ods.{t.departed_name}": f"ods.{t.ods_name}" for t in load_register().tables if t.departed_name}


def model_column_schema(columns: list[tuple[str, str]], entry: CatalogTable) -> dg.TableSchema:
    """Columns (name, type) described as the data catalog describes them (catalog.builder)."""
    def describe(name: str) -> str | None:
        column = entry.column(name)
        return column.label if column else None

    return dg.TableSchema(columns=[dg.TableColumn(name=name, type=dtype, description=describe(name))
                                   for name, dtype in columns])


def column_lineage(table: str, lineage: ModelLineage) -> dg.TableColumnLineage:
    """`dagster/column_lineage` of a model: each column's direct and transform sources (filter
    edges left out); reference-table columns are named `table.column` on `ref/reference_data`."""
    deps: dict[str, list[dg.TableColumnDep]] = {column: [] for column in lineage.tables[table].columns}
    for edge in lineage.tables[table].edges:
        if edge.kind == "filter":
            continue
        source_table, source_column = split_column(edge.source)
        if source_table.startswith("ref."):
            source_column = f"{source_table.split('.', 1)[1]}.{source_column}"
        dep = dg.TableColumnDep(asset_key=_dep_key(source_table), column_name=source_column)
        if dep not in deps[split_column(edge.target)[1]]:  # ods.x and ods.x_departed are one asset
            deps[split_column(edge.target)[1]].append(dep)
    return dg.TableColumnLineage(deps)


def _build_model_asset(model: Model, lineage: ModelLineage, entry: CatalogTable) -> dg.AssetsDefinition:
    meta = model.meta
    lineage_metadata = (
        {"dagster/column_lineage": column_lineage(model.table, lineage)} if model.table in lineage.tables else {})

    @dg.asset(
        key=model_asset_key(model.table),
        group_name=model.layer,
        deps=sorted({_dep_key(t) for t in model.depends_on}, key=lambda k: k.to_user_string()),
        description=entry.summary,
        pool=DUCKDB_POOL,
        kinds={"duckdb", "sql"},
        tags={"layer": model.layer},
        metadata={
            "dagster/table_name": model.table,
            "中文名 name": meta.name_zh,
            "层 layer": f"{LAYER_ZH.get(model.layer, model.layer)} ({model.layer})",
            "粒度 grain": meta.grain,
            "责任人 owner": meta.owner,
            "业务域 domain": meta.domain,
            "主键 key": ", ".join(meta.key),
            "术语 glossary terms": "、".join(entry.terms),
            "dagster/column_schema": model_column_schema([(c.name, "") for c in entry.columns], entry),
            "sql": dg.MetadataValue.md(f"```sql\n{model.sql}\n```"),
            "源文件 file": str(model.path.relative_to(model.path.parents[2])),
            **lineage_metadata,
        },
    )
    def _asset(context: dg.AssetExecutionContext, respool: RespoolResource) -> dg.MaterializeResult:
        with respool.connect() as con:
            create_macros(con)
            rows, reconciliation = build_model(con, model)
            create_table_macros(con)
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [model.layer, model.name]).fetchall()
        metadata: dict = {
            "dagster/row_count": rows,
            "dagster/column_schema": model_column_schema(columns, entry),
        }
        for r in reconciliation:
            metadata[f"reconciliation {r.ods_table}"] = (
                f"in {r.rows_in} = kept {r.kept} + superseded {r.superseded} + quarantined {r.quarantined}")
        context.log.info(f"{model.table}: {rows} rows")
        return dg.MaterializeResult(metadata=metadata)

    return _asset


@dg.asset(
    key=REFERENCE_KEY,
    group_name="ref",
    description="省公司参考数据 — 机构、公司代码、供电单位映射（catalog/reference.yaml）\n\n"
                "The province's reference data: organisations, company codes, supply units.",
    pool=DUCKDB_POOL,
    kinds={"duckdb", "yaml"},
)
def reference_data(respool: RespoolResource) -> dg.MaterializeResult:
    reference = load_reference()
    with respool.connect() as con:
        load_reference_tables(con, reference)
    return dg.MaterializeResult(metadata={"organisations": len(reference.organisations),
                                          "company_codes": len(reference.companies),
                                          "supply_units": len(reference.supply_units)})


def build_model_assets(models: list[Model]) -> list[dg.AssetsDefinition]:
    register = load_register()
    lineage = model_lineage(models, register, lineage_sources(register))  # at definition time, from the SQL
    # descriptions and column docs as the data catalog has them: the UI and the catalog site agree
    entries = build_catalog(register=register, models=models, lineage=lineage)
    return [reference_data, *(_build_model_asset(m, lineage, entries.table(m.table)) for m in models)]
