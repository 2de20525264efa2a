"""One Dagster asset per register table (group `ods`), partitioned by business date.

Materialising a partition verifies and loads that table's delivery of that date; a refused
delivery is recorded in meta.batch and fails the materialisation with the reason.
"""


import dagster as dg

from catalog.ods import ods_row_count
from catalog.register import Register, Table
from pipelines import config
from pipelines.ingest.load import ingest
from pipelines.orchestration.resources import RespoolResource

DUCKDB_POOL = "duckdb"


def business_date_partitions() -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=config.first_biz_date(), timezone="Asia/Shanghai")


def ods_asset_key(table: Table) -> dg.AssetKey:
    return dg.AssetKey(["ods", table.ods_name])


def column_schema(table: Table) -> dg.TableSchema:
    columns = [
        dg.TableColumn(
            name=c.name,
            type=f"VARCHAR ← {c.sap_type}",
            description=f"{c.zh} ({c.en}, {c.name})" + ("；主键 key" if c.in_key else ""),
            constraints=dg.TableColumnConstraints(nullable=not c.required, unique=False),
        )
        for c in table.columns
    ]
    columns += [
        dg.TableColumn("_batch_id", "VARCHAR", description="批次号 batch id (meta.batch)"),
        dg.TableColumn("_biz_date", "DATE", description="业务日期 business date of the delivery"),
        dg.TableColumn("_source_file", "VARCHAR", description="来源文件 data file the row came from"),
        dg.TableColumn("_row_number", "BIGINT", description="文件内行号 data row number in that file"),
    ]
    return dg.TableSchema(columns=columns)


def _build_ods_asset(table: Table, register: Register,
                     partitions: dg.DailyPartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=ods_asset_key(table),
        group_name="ods",
        description=(f"{table.name_zh}（{table.name_en}，{table.system}.{table.code}）—— {table.purpose}\n\n"
                     f"加载方式 {table.mode}；主键 {', '.join(table.key)}；责任人 {table.owner}。"),
        partitions_def=partitions,
        pool=DUCKDB_POOL,
        kinds={"duckdb"},
        owners=[],
        tags={"system": table.system, "mode": table.mode.lower()},
        metadata={
            "dagster/column_schema": column_schema(table),
            "dagster/table_name": f"ods.{table.ods_name}",
            "中文名 name": table.name_zh,
            "系统 system": f"{table.system_name_zh} ({table.system})",
            "加载方式 load mode": table.mode,
            "主键 primary key": ", ".join(table.key),
            "责任人 owner": table.owner,
        },
    )
    def _asset(context: dg.AssetExecutionContext, respool: RespoolResource) -> dg.MaterializeResult:
        biz_date = context.partition_key.replace("-", "")
        with respool.connect() as con:
            report = ingest(con, respool.landing_roots, register, progress=context.log.info,
                            only=lambda d: d.table == table.code and d.biz_date == biz_date)
            rows_in_ods = ods_row_count(con, table)
        if not report.outcomes:
            raise dg.Failure(
                description=f"{table.system}.{table.code} 业务日期 {biz_date}: 无完整交付 no complete delivery "
                            f"(no {table.system}_{table.code}_{biz_date}.chk under {respool.landing})")
        if report.refused:
            raise dg.Failure(
                description="拒收 refused: " + "; ".join(o.reason for o in report.refused),
                metadata={"reasons": "\n".join(o.reason for o in report.refused)},
            )
        latest = report.outcomes[-1]
        return dg.MaterializeResult(metadata={
            "dagster/row_count": rows_in_ods,
            "rows_loaded": sum(o.rows for o in report.outcomes if o.status == "loaded"),
            "batch_id": latest.batch_id,
            "status": ", ".join(f"{o.batch_id}: {o.status}" for o in report.outcomes),
        })

    return _asset


def build_ods_assets(register: Register) -> list[dg.AssetsDefinition]:
    partitions = business_date_partitions()
    return [_build_ods_asset(t, register, partitions) for t in register.tables]
