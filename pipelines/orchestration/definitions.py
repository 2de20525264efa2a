"""The Dagster code location: ODS assets from the register, one asset per SQL model, quality
suites as asset checks, the delivery sensor, the nightly schedule, resources."""

from __future__ import annotations

import dagster as dg

from catalog.register import load_register
from models.loader import load_models
from pipelines.orchestration.alert_sensor import build_quality_alert_sensor
from pipelines.orchestration.control_assets import (
    BackupResource,
    PublishResource,
    build_control_assets,
    nightly_backup,
)
from pipelines.orchestration.model_assets import build_model_assets, model_asset_key
from pipelines.orchestration.ods_assets import build_ods_assets
from pipelines.orchestration.quality_checks import build_quality_checks
from pipelines.orchestration.resources import RespoolResource
from pipelines.orchestration.sensors import build_delivery_sensor
from quality.runner import load_suites

register = load_register()
ods_assets = build_ods_assets(register)
models = load_models()
model_assets = build_model_assets(models)
control_assets = build_control_assets(
    register,
    ods_keys=[a.key for a in ods_assets],
    stg_keys=[model_asset_key(m.table) for m in models if m.meta.quarantine],
    pool_keys=[model_asset_key(m.table) for m in models],
)
all_assets = [*ods_assets, *model_assets, *control_assets, nightly_backup]
# the checks' names and ids only: every process that loads the code location (webserver, daemon, each
# run) is spared importing Great Expectations; a check step validates its suite when it runs it
quality_checks = build_quality_checks(load_suites(register, gx=False), register,
                                      {k for a in all_assets for k in a.keys})

ingest_job = dg.define_asset_job(
    name="ingest_job",
    selection=dg.AssetSelection.groups("ods") - dg.AssetSelection.assets(dg.AssetKey(["meta", "delivery_log"])),
    description="加载一个业务日期的回流交付 — load one business date's deliveries into ods",
)
build_job = dg.define_asset_job(
    name="build_job",
    selection=dg.AssetSelection.assets(*model_assets),
    description="清洗并构建资源池 — cleanse and build the resource pool (every model)",
)
nightly_job = dg.define_asset_job(
    name="nightly_job",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(nightly_backup),
    description="每晚：加载 → 清洗构建 → 质量检查 → 发布 — nightly: ingest → build → checks → publish "
                "(blocking checks stop what is downstream of them, publication included)",
)
# deliveries land by 06:00 Asia/Shanghai the day after their business date
nightly_schedule = dg.build_schedule_from_partitioned_job(
    nightly_job, hour_of_day=6, minute_of_hour=30, name="nightly_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

backup_job = dg.define_asset_job(
    name="backup_job", selection=dg.AssetSelection.assets(nightly_backup),
    description="备份数据库、访问库与审计日志，只保留最新 N 份 — back up the database, access database and audit log",
)
# after the nightly run (06:30), whatever its checks said
backup_schedule = dg.ScheduleDefinition(job=backup_job, cron_schedule="30 8 * * *", execution_timezone="Asia/Shanghai",
                                        name="backup_schedule", default_status=dg.DefaultScheduleStatus.RUNNING)

defs = dg.Definitions(
    assets=all_assets,
    # every step that opens the DuckDB file runs one at a time anyway (pool `duckdb`): a process per
    # step would only add its start-up (importing Dagster and Great Expectations, ~5 s) to each step
    executor=dg.in_process_executor,
    asset_checks=quality_checks,
    jobs=[ingest_job, build_job, nightly_job, backup_job],
    schedules=[nightly_schedule, backup_schedule],
    sensors=[build_delivery_sensor(register, ingest_job), build_quality_alert_sensor()],
    resources={"respool": RespoolResource(), "publish_target": PublishResource(), "backups": BackupResource()},
)
