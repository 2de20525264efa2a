"""The Dagster code location: ODS assets from the register, the delivery sensor, resources."""

from __future__ import annotations

import dagster as dg

from catalog.register import load_register
from models.loader import load_models
from pipelines.model_assets import build_model_assets
from pipelines.ods_assets import build_ods_assets
from pipelines.resources import RespoolResource
from pipelines.sensors import build_delivery_sensor

register = load_register()
ods_assets = build_ods_assets(register)
models = load_models()
model_assets = build_model_assets(models)
ingest_job = dg.define_asset_job(
    name="ingest_job",
    selection=dg.AssetSelection.groups("ods"),
    description="加载一个业务日期的回流交付 — load one business date's deliveries into ods",
)

build_job = dg.define_asset_job(
    name="build_job",
    selection=dg.AssetSelection.assets(*model_assets),
    description="清洗并构建资源池 — cleanse and build the resource pool (every model)",
)

defs = dg.Definitions(
    assets=[*ods_assets, *model_assets],
    jobs=[ingest_job, build_job],
    sensors=[build_delivery_sensor(register, ingest_job)],
    resources={"respool": RespoolResource()},
)
