"""The Dagster code location: assets from the register, materialised in-process; the sensor."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from pipelines.orchestration.dagster_home import write_instance_config
from pipelines.orchestration.definitions import defs, ods_assets, register
from pipelines.orchestration.resources import RespoolResource
from pipelines.orchestration.sensors import delivery_run_requests
from tests.conftest import bseg_rows, deliver, t001_rows


def test_one_asset_per_register_table_with_chinese_description_and_schema():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {f"ods/{t.ods_name}" for t in register.tables} <= keys
    bseg = next(a for a in ods_assets if a.key == dg.AssetKey(["ods", "bseg"]))
    spec = next(iter(bseg.specs))
    assert spec.description.startswith("会计凭证行项目（Accounting document line items，ERP.BSEG）")
    assert spec.group_name == "ods"
    schema = spec.metadata["dagster/column_schema"]
    assert [c.name for c in schema.columns][:5] == ["MANDT", "BUKRS", "BELNR", "GJAHR", "BUZEI"]
    dmbtr = next(c for c in schema.columns if c.name == "DMBTR")
    assert dmbtr.description == "本位币金额 (Amount in local currency, DMBTR)"
    assert bseg.partitions_def.timezone == "Asia/Shanghai"
    assert bseg.op.pool == "duckdb"


def test_materialise_ods_partition_in_process(tmp_path):
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", "20261026", t001_rows("3300", "3301"))
    deliver(landing, register, "BSEG", "20261026", bseg_rows(3))
    resource = RespoolResource(db_path=str(tmp_path / "d.duckdb"), landing=str(landing))
    selected = [a for a in ods_assets if a.key.path[-1] in ("t001", "bseg")]
    result = dg.materialize(selected, partition_key="2026-10-26", resources={"respool": resource})
    assert result.success
    counts = {e.asset_key.path[-1]: e.materialization.metadata["dagster/row_count"].value
              for e in result.get_asset_materialization_events()}
    assert counts == {"t001": 2, "bseg": 6}


def test_refused_delivery_fails_the_materialisation_with_its_reason(tmp_path):
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", "20261026", t001_rows("3300"))
    chk = landing / "20261026" / "ERP_T001_20261026.chk"
    chk.write_text(chk.read_text().replace("|rows=1|", "|rows=2|"), encoding="utf-8")
    resource = RespoolResource(db_path=str(tmp_path / "d.duckdb"), landing=str(landing))
    t001 = [a for a in ods_assets if a.key.path[-1] == "t001"]
    result = dg.materialize(t001, partition_key="2026-10-26", resources={"respool": resource},
                            raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "ERP_T001_20261026_001.csv: rows: expected 2, found 1" in failure.event_specific_data.error.message


def test_missing_delivery_fails_clearly(tmp_path):
    resource = RespoolResource(db_path=str(tmp_path / "d.duckdb"), landing=str(tmp_path / "empty"))
    t001 = [a for a in ods_assets if a.key.path[-1] == "t001"]
    result = dg.materialize(t001, partition_key="2026-10-26", resources={"respool": resource},
                            raise_on_error=False)
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "无完整交付 no complete delivery" in failure.event_specific_data.error.message


def test_sensor_asks_for_one_run_per_date_and_only_once(tmp_path):
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", "20261026", t001_rows("3300"))
    deliver(landing, register, "BSEG", "20261026", bseg_rows(1))
    deliver(landing, register, "T001", "20261027", t001_rows("3300"))
    requests = delivery_run_requests([landing], register)
    assert [(r.partition_key, [k.path[-1] for k in r.asset_selection]) for r in requests] == [
        ("2026-10-26", ["t001", "bseg"]), ("2026-10-27", ["t001"])]
    assert requests == delivery_run_requests([landing], register)  # same run keys: Dagster skips them
    deliver(landing, register, "T001", "20261027", t001_rows("3300", "3301"))  # a re-run of that date
    assert delivery_run_requests([landing], register)[1].run_key != requests[1].run_key


def test_sensor_evaluates_through_dagster(tmp_path):
    landing = tmp_path / "landing"
    deliver(landing, register, "T001", "20261026", t001_rows("3300"))
    sensor = defs.resolve_sensor_def("delivery_sensor")
    resource = RespoolResource(db_path=str(tmp_path / "d.duckdb"), landing=str(landing))
    with dg.build_sensor_context(resources={"respool": resource}) as context:
        result = sensor(context)
    assert [r.partition_key for r in result.run_requests] == ["2026-10-26"]


def test_instance_config_serialises_duckdb_writers(tmp_path):
    path = write_instance_config(tmp_path / "home")
    text = path.read_text()
    assert "default_limit: 1" in text and "max_concurrent_runs: 1" in text
    import yaml

    config = yaml.safe_load(text)
    assert config["concurrency"]["pools"]["default_limit"] == 1
    # a dead run must not hold the one-run queue: the daemon checks run workers through our launcher
    assert config["run_launcher"] == {"module": "pipelines.orchestration.launcher", "class": "RespoolRunLauncher"}
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_monitoring"]["free_slots_after_run_end_seconds"] <= 10
    with dg.DagsterInstance.from_config(str(path.parent)) as instance:
        assert type(instance.run_launcher).__name__ == "RespoolRunLauncher"
        assert instance.run_launcher.supports_check_run_worker_health
        assert instance.run_coordinator.dequeue_interval_seconds == 1
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1


def test_model_assets_follow_the_sql_dependencies():
    from pipelines.orchestration.definitions import model_assets

    graph = defs.resolve_asset_graph()
    parents = {p.to_user_string() for p in graph.get(dg.AssetKey(["dwd", "dwd_fi_voucher_item"])).parent_keys}
    assert parents == {"dwd/dwd_fi_voucher_header", "stg/stg_bseg"}
    assert {p.to_user_string() for p in graph.get(dg.AssetKey(["stg", "stg_ar_item"])).parent_keys} == {
        "ods/bsid", "ods/bsad"}
    groups = {next(iter(a.specs)).group_name for a in model_assets}
    assert groups == {"ref", "stg", "dim", "dwd", "dws", "ads"}


def test_materialise_the_pool_in_process(tmp_path):
    from pipelines.ingest.db import connect
    from pipelines.ingest.load import ingest
    from pipelines.orchestration.definitions import model_assets
    from tests.pool_scenario import deliver_scenario

    landing = tmp_path / "landing"
    deliver_scenario(landing, register)
    db = tmp_path / "d.duckdb"
    con = connect(db)
    assert not ingest(con, [landing], register).refused
    con.close()
    resource = RespoolResource(db_path=str(db), landing=str(landing))
    result = dg.materialize(model_assets, resources={"respool": resource})
    assert result.success
    meta = {e.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()}
    assert meta["dwd/dwd_ar_item"]["dagster/row_count"].value == 7
    assert meta["stg/stg_bseg"]["reconciliation ods.bseg"].value == (
        "in 20 = kept 16 + superseded 2 + quarantined 2")
    schema = meta["dwd/dwd_ar_item"]["dagster/column_schema"].value
    net_due = next(c for c in schema.columns if c.name == "net_due_date")
    assert net_due.description == "净到期日（Net due date by the contract's rule）"  # as the catalog says it
    bukrs = next(c for c in schema.columns if c.name == "bukrs")
    assert bukrs.description == "公司代码（Company code，BUKRS）"  # inherited along lineage, with the SAP code
    con = connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM ar_aging(DATE '2026-10-26', 'due')").fetchone()[0] == 3
    con.close()


def _scenario_db(tmp_path, bad_terms=False):
    from pipelines.ingest.db import connect
    from pipelines.ingest.load import ingest
    from tests.pool_scenario import DAY1, deliver_bad_terms_item, deliver_scenario

    landing = tmp_path / "landing"
    deliver_scenario(landing, register)
    if bad_terms:
        deliver_bad_terms_item(landing, register)
    db = tmp_path / "d.duckdb"
    con = connect(db)
    only_day1 = ingest(con, [landing], register, only=lambda d: d.biz_date == DAY1)
    assert not only_day1.refused
    con.close()
    return landing, db


def _run_nightly(landing, db, published):
    from pipelines.orchestration.control_assets import PublishResource

    job = defs.resolve_job_def("nightly_job")
    return job.execute_in_process(
        partition_key="2026-10-27", raise_on_error=False,
        resources={"respool": RespoolResource(db_path=str(db), landing=str(landing)),
                   "publish_target": PublishResource(target=str(published))})


def test_nightly_job_ingests_builds_checks_and_publishes(tmp_path):
    landing, db = _scenario_db(tmp_path)
    published = tmp_path / "published" / "respool.duckdb"
    result = _run_nightly(landing, db, published)
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"ods/bseg", "dwd/dwd_ar_item", "meta/delivery_log", "published/respool_snapshot"} <= materialized
    checks = {ev.event_specific_data.asset_check_key.name: ev.event_specific_data.passed
              for ev in result.all_events if ev.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert checks["dwd_fi_voucher_item__voucher_balances"] is True
    assert checks["cleansing__nothing_quarantined"] is False  # the scenario quarantines two BSEG rows
    assert published.exists()
    from pipelines.ingest.db import connect

    con = connect(published, read_only=True)
    assert con.execute("SELECT count(*) FROM dwd.dwd_ar_item").fetchone()[0] == 7
    con.close()


def test_failing_error_check_blocks_downstream_and_publication(tmp_path):
    # an item whose terms push the net due date before its baseline date: an `error` check
    landing, db = _scenario_db(tmp_path, bad_terms=True)
    published = tmp_path / "published" / "respool.duckdb"
    result = _run_nightly(landing, db, published)
    evaluations = [ev.event_specific_data for ev in result.all_events
                   if ev.event_type_value == "ASSET_CHECK_EVALUATION"]
    failed = {e.asset_check_key.name for e in evaluations if not e.passed}
    assert "dwd_ar_item__net_due_not_before_baseline" in failed
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "dwd/dwd_ar_item" in materialized
    assert "published/respool_snapshot" not in materialized
    assert not published.exists()


def test_nightly_schedule_runs_the_previous_business_date_at_0630_shanghai():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    schedule = defs.get_schedule_def("nightly_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.job_name) == (
        "30 6 * * *", "Asia/Shanghai", "nightly_job")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    with dg.instance_for_test() as instance:
        for tick, business_date in ((datetime(2026, 10, 28, 6, 30), "2026-10-27"),   # deliveries due by 06:00
                                    (datetime(2026, 11, 1, 6, 30), "2026-10-31")):   # across a month end
            context = dg.build_schedule_context(
                instance=instance, scheduled_execution_time=tick.replace(tzinfo=ZoneInfo("Asia/Shanghai")),
                repository_def=defs.get_repository_def())
            requests = schedule.evaluate_tick(context).run_requests
            assert [r.partition_key for r in requests] == [business_date]


def test_loading_the_code_location_spares_great_expectations():
    """The webserver, the daemon and every run load the code location: GX (seconds to import) waits
    for the first check step."""
    code = ("import sys, pipelines.orchestration.definitions as d; "
            "assert d.quality_checks; print('great_expectations' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
