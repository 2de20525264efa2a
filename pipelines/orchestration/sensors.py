"""The sensor that notices new complete deliveries and asks for their ODS partitions."""

import hashlib
from collections import defaultdict
from pathlib import Path

import dagster as dg

from catalog.register import Register
from pipelines.ingest.delivery import Delivery, discover
from pipelines.orchestration.ods_assets import ods_asset_key
from pipelines.orchestration.resources import RespoolResource


def delivery_run_requests(landing_roots: list[Path], register: Register) -> list[dg.RunRequest]:
    """One run per business date with the tables delivered for it, oldest date first.

    The run key is derived from the control files, so a delivery seen before asks for nothing
    and a re-run of a date (different control files) asks again.
    """
    by_date: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in discover(landing_roots, register):
        if register.find(delivery.system, delivery.table) is not None:
            by_date[delivery.biz_date].append(delivery)
    requests = []
    for biz_date in sorted(by_date):
        deliveries = by_date[biz_date]
        fingerprint = hashlib.md5("".join(d.batch_id() for d in deliveries).encode()).hexdigest()[:12]
        tables = sorted({d.table for d in deliveries}, key=lambda c: register.tables.index(register.table(c)))
        requests.append(dg.RunRequest(
            run_key=f"delivery-{biz_date}-{fingerprint}",
            partition_key=f"{biz_date[:4]}-{biz_date[4:6]}-{biz_date[6:]}",
            asset_selection=[ods_asset_key(register.table(c)) for c in tables],
            tags={"respool/biz_date": biz_date, "respool/tables": ",".join(tables)},
        ))
    return requests


def build_delivery_sensor(register: Register, job: object) -> dg.SensorDefinition:
    @dg.sensor(
        name="delivery_sensor",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="发现新的完整交付（.chk 已到）并加载对应业务日期的 ODS 分区 — "
                    "notices new complete deliveries and loads their ODS partitions",
    )
    def delivery_sensor(context: dg.SensorEvaluationContext, respool: RespoolResource) -> dg.SensorResult:
        requests = delivery_run_requests(respool.landing_roots, register)
        return dg.SensorResult(run_requests=requests)

    return delivery_sensor
