"""The quality alert sensor: failing `error` asset checks of finished runs, one message per run.

Non-blocking check failures never fail a run, so a run-failure sensor does not see them; this
sensor reads the event log instead. Its cursor is the storage id of the last run-end event
(success, failure or cancellation) it handled: `instance.fetch_run_status_changes` gives the
run-end events after it in storage order, and `instance.get_records_for_run(run_id,
of_type=ASSET_CHECK_EVALUATION)` the check evaluations of each of those runs. Waiting for the
run's end means one complete message per run, and a storage-id cursor over run-end events is
monotonic on every event-log storage (the default SQLite one mirrors run-status events into its
index shard). The per-check `get_asset_check_execution_history` pages backwards by an id given
when the check is *planned*, so a cursor over it could skip checks evaluated late in a run.

A webhook or mail failure stops the tick before that run: the cursor stays and the next tick
retries it. Runs without failing error checks just advance the cursor.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg

from pipelines import config
from quality.alerts import (
    WEBHOOK_ENV,
    AlertError,
    FailedCheck,
    build_message,
    channels_configured,
    deliver,
    report_link,
)
from quality.specs import DIMENSIONS

RUN_END_EVENTS = (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE,
                  dg.DagsterEventType.RUN_CANCELED)
RUNS_PER_TICK = 20  # a tick must finish well inside the sensor timeout, 10 s per webhook at worst
_DIMENSION_ZH = {en: zh for zh, en in DIMENSIONS.items()}


def _text(metadata: dict, key: str) -> str:
    value = metadata.get(key)
    return "" if value is None else str(getattr(value, "value", value))


def _failed_check(evaluation: dg.AssetCheckEvaluation) -> FailedCheck:
    """The alert's view of a failed evaluation; the metadata is what `pipelines.orchestration.quality_checks` writes."""
    meta = dict(evaluation.metadata or {})
    dimension = _text(meta, "维度 dimension").split(" ")[0]
    unexpected = meta.get("unexpected_count")
    unexpected = getattr(unexpected, "value", unexpected)
    try:
        examples = json.loads(_text(meta, "examples") or "[]")
    except ValueError:
        examples = [_text(meta, "examples")]
    return FailedCheck(
        table=evaluation.asset_key.to_user_string(),
        check=evaluation.check_name,
        dimension=_DIMENSION_ZH.get(dimension, dimension),
        severity="error",
        unexpected_count=unexpected if isinstance(unexpected, int) and unexpected >= 0 else None,
        examples=examples if isinstance(examples, list) else [examples],
        description_zh=_text(meta, "说明") or (evaluation.description or ""),
        description_en=_text(meta, "description"),
    )


def failed_error_checks(instance: dg.DagsterInstance, run_id: str) -> list[FailedCheck]:
    """The failed ERROR-severity asset check evaluations of one run, in the order they happened."""
    connection = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    failures = []
    for record in connection.records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if isinstance(evaluation, dg.AssetCheckEvaluation) and not evaluation.passed \
                and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            failures.append(_failed_check(evaluation))
    return failures


def finished_runs(instance: dg.DagsterInstance, after_storage_id: int | None,
                  limit: int = RUNS_PER_TICK) -> list[tuple[int, str]]:
    """(storage id, run id) of the run-end events after the cursor, oldest first, at most `limit`."""
    events = []
    for event_type in RUN_END_EVENTS:
        result = instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(event_type=event_type, after_storage_id=after_storage_id),
            limit=limit, ascending=True)
        events += [(r.storage_id, r.run_id) for r in result.records]
    # the first `limit` of the union are among the first `limit` of each event type
    return sorted(events)[:limit]


def run_message(instance: dg.DagsterInstance, run_id: str, failures: list[FailedCheck]) -> dict:
    """The alert for one run: its business date (partition), start time and report link."""
    record = instance.get_run_record_by_id(run_id)
    run = record.dagster_run if record else None
    partition = run.tags.get("dagster/partition") if run else None
    started = record.start_time if record and record.start_time else None
    return build_message(
        failures, run_id=run_id, biz_date=partition,
        run_at=datetime.fromtimestamp(started, UTC) if started else None,
        report=report_link(partition, config.quality_dir()),
        source=f"dagster {run.job_name}" if run else "dagster")


def build_quality_alert_sensor(webhook_url: str | None = None) -> dg.SensorDefinition:
    """The sensor; `webhook_url` overrides $RESPOOL_ALERT_WEBHOOK (read at every tick)."""

    @dg.sensor(
        name="quality_alert_sensor",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="质量告警：运行结束后，把未通过的错误级检查发到 webhook / 邮件 — posts the failing "
                    f"error checks of each finished run to ${WEBHOOK_ENV} (and mails when SMTP is set)",
    )
    def quality_alert_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        if not channels_configured(webhook_url):
            context.log.info(f"质量告警未配置 no alert channel: set {WEBHOOK_ENV} (or RESPOOL_SMTP_HOST "
                             "and RESPOOL_ALERT_TO)")
            return dg.SkipReason(f"{WEBHOOK_ENV} not set")
        cursor = int(context.cursor) if context.cursor else None
        sent, problem = 0, None
        for storage_id, run_id in finished_runs(context.instance, cursor):
            failures = failed_error_checks(context.instance, run_id)
            if failures:
                try:
                    channels = deliver(run_message(context.instance, run_id, failures), webhook_url)
                except AlertError as exc:
                    problem = f"告警发送失败 alert for run {run_id} not delivered, retried next tick: {exc}"
                    context.log.error(problem)
                    break
                context.log.info(f"run {run_id}: {len(failures)} failing error check(s) sent via "
                                 f"{', '.join(channels)}")
                sent += 1
            cursor = storage_id
        new_cursor = None if cursor is None else str(cursor)
        if problem or not sent:
            return dg.SensorResult(skip_reason=problem or "no new failing error checks", cursor=new_cursor)
        return dg.SensorResult(cursor=new_cursor)

    return quality_alert_sensor
