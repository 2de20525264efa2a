"""Quality alerts: the JSON message, the webhook (a real HTTP server on 127.0.0.1), mail (a
minimal SMTP sink on 127.0.0.1), and the Dagster sensor over a run whose `error` check fails."""

from __future__ import annotations

import email
import json
import socketserver
import threading
from collections.abc import Iterator
from datetime import datetime
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from quality.alerts import (
    AlertError,
    FailedCheck,
    build_message,
    deliver,
    post_webhook,
    report_link,
    send_mail,
)

ALERT_ENV = ("RESPOOL_ALERT_WEBHOOK", "RESPOOL_REPORT_URL_BASE", "RESPOOL_SMTP_HOST", "RESPOOL_SMTP_PORT",
             "RESPOOL_ALERT_FROM", "RESPOOL_ALERT_TO")


class Webhook:
    """What the test HTTP server received, and the status it answers with."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        self.requests: list[dict] = []
        self.status = 200

    @property
    def messages(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    state: dict[str, Webhook] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook = state["hook"]
            hook.requests.append({"path": self.path, "content_type": self.headers["Content-Type"],
                                  "idempotency_key": self.headers["Idempotency-Key"],
                                  "body": body.decode("utf-8")})
            self.send_response(hook.status)
            self.end_headers()
            self.wfile.write(b"ok" if hook.status < 300 else b"broken")

        def log_message(self, *args) -> None:  # keep pytest's output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["hook"] = Webhook(server)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state["hook"]
    server.shutdown()
    server.server_close()


class SmtpSink(socketserver.ThreadingTCPServer):
    """Just enough SMTP to accept mail: every message's envelope and bytes are kept."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.mails: list[dict] = []


class _SmtpHandler(socketserver.StreamRequestHandler):
    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        envelope: dict = {"to": []}
        self._reply("220 sink ESMTP")
        while line := self.rfile.readline():
            command = line.decode("ascii", "replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250 sink")
            elif verb == "MAIL":
                envelope = {"from": command[10:].strip("<>"), "to": []}
                self._reply("250 OK")
            elif verb == "RCPT":
                envelope["to"].append(command[8:].strip("<>"))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end with <CRLF>.<CRLF>")
                data = bytearray()
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.server.mails.append({**envelope, "data": bytes(data)})
                self._reply("250 queued")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("250 OK")


@pytest.fixture
def smtp_sink(monkeypatch) -> Iterator[SmtpSink]:
    sink = SmtpSink()
    thread = threading.Thread(target=sink.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv("RESPOOL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RESPOOL_SMTP_PORT", str(sink.server_address[1]))
    monkeypatch.setenv("RESPOOL_ALERT_FROM", "respool@example.test")
    monkeypatch.setenv("RESPOOL_ALERT_TO", "finance-data@example.test, ops@example.test")
    yield sink
    sink.shutdown()
    sink.server_close()


@pytest.fixture(autouse=True)
def _no_alert_env(monkeypatch, tmp_path) -> None:
    for name in ALERT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RESPOOL_QUALITY_DIR", str(tmp_path / "quality"))


def _failure(**kw) -> FailedCheck:
    values = {"table": "dwd/dwd_ar_item", "check": "dwd_ar_item__net_due_not_before_baseline",
              "dimension": "准确性", "severity": "error", "unexpected_count": 1,
              "examples": [["2026-10-15T00:00:00", "2026-10-20T00:00:00"]] * 8,
              "description_zh": "净到期日不早于付款基准日",
              "description_en": "The net due date is not before the baseline date"}
    return FailedCheck(**{**values, **kw})


# ------------------------------------------------------------------ (a) message and webhook


def test_message_names_each_failing_check_with_a_report_link(tmp_path, monkeypatch):
    quality_dir = tmp_path / "q"
    local = report_link("2026-10-27", quality_dir)
    assert local == str(quality_dir / "reports" / "2026-10-27" / "report.html")
    monkeypatch.setenv("RESPOOL_REPORT_URL_BASE", "https://dq.example.test/quality/")
    link = report_link("2026-10-27", quality_dir)
    assert link == "https://dq.example.test/quality/reports/2026-10-27/report.html"
    message = build_message([_failure()], run_id="r1", run_at=datetime(2026, 10, 27, 22, 30),
                            biz_date="2026-10-27", report=link, source="dagster nightly_job")
    assert message["type"] == "respool.quality_alert"
    assert message["run_id"] == "r1" and message["run_at"] == "2026-10-27T22:30:00+00:00"
    assert message["biz_date"] == "2026-10-27" and message["failed_checks"] == 1
    assert message["report_url"] == link
    (check,) = message["checks"]
    assert check["table"] == "dwd/dwd_ar_item"
    assert check["check"] == "dwd_ar_item__net_due_not_before_baseline"
    assert (check["dimension"], check["dimension_en"], check["severity"]) == ("准确性", "accuracy", "error")
    assert check["unexpected_count"] == 1 and len(check["examples"]) == 5
    assert "数据质量告警" in message["title"] and "2026-10-27" in message["title"]
    assert "dwd_ar_item__net_due_not_before_baseline" in message["text"] and link in message["text"]
    json.dumps(message)  # plain JSON all the way down


def test_post_webhook_sends_the_json(webhook):
    payload = build_message([_failure()], run_id="r1", run_at=None, biz_date=None, report="x", source="t")
    assert post_webhook(webhook.url, payload) == 200
    (request,) = webhook.requests
    assert request["path"] == "/hook" and request["content_type"].startswith("application/json")
    assert json.loads(request["body"]) == payload
    assert request["idempotency_key"] == payload["alert_key"]


def test_alert_keys_are_stable_per_run_and_check_so_receivers_can_drop_duplicates():
    other = _failure(check="dwd_ar_item__amount_not_null", table="dwd/dwd_ar_item")

    def message(run_id: str, failures: list, at: datetime, day: str = "2026-10-27") -> dict:
        return build_message(failures, run_id=run_id, run_at=at, biz_date=day, report="x", source="t")

    first = message("r1", [_failure(), other], datetime(2026, 10, 27, 22, 30))
    resent = message("r1", [other, _failure()], datetime(2026, 10, 27, 23, 59))  # sent again, later
    assert first["alert_key"] == resent["alert_key"] and len(first["alert_key"]) == 32
    assert {c["check"]: c["alert_key"] for c in first["checks"]} == {c["check"]: c["alert_key"] for c in resent["checks"]}
    assert len({c["alert_key"] for c in first["checks"]}) == 2  # one key per check
    # another run, another date, or other failing checks: another alert
    keys = {first["alert_key"], message("r2", [_failure(), other], datetime(2026, 10, 27))["alert_key"],
            message("r1", [_failure(), other], datetime(2026, 10, 27), day="2026-10-28")["alert_key"],
            message("r1", [_failure()], datetime(2026, 10, 27))["alert_key"]}
    assert len(keys) == 4


def test_post_webhook_refuses_a_non_2xx_answer_and_an_unreachable_server(webhook):
    webhook.status = 500
    with pytest.raises(AlertError, match=r"answered HTTP 500 .*broken"):
        post_webhook(webhook.url, {"a": 1})
    port = webhook.server.server_address[1]
    webhook.server.shutdown()
    webhook.server.server_close()
    with pytest.raises(AlertError, match="not reached"):
        post_webhook(f"http://127.0.0.1:{port}/hook", {"a": 1}, timeout=2)


def test_respool_alert_sends_the_failing_error_checks_of_a_date(tmp_path, webhook, monkeypatch):
    from catalog.system_tables import ensure_system_tables
    from pipelines.cli import app
    from pipelines.ingest.db import connect

    db = tmp_path / "d.duckdb"
    con = connect(db)
    ensure_system_tables(con)
    row = ("run1", datetime(2026, 10, 27, 22, 0), "dwd_ar_item", "dwd.dwd_ar_item", "net_due_not_before_baseline",
           "expect_column_pair_values_a_to_be_greater_than_b", None, "准确性", "error", False, "null", 7, 1,
           14.3, '[["2026-10-15T00:00:00", "2026-10-20T00:00:00"]]', None, "净到期日不早于付款基准日", "net due",
           datetime(2026, 10, 27).date())
    con.execute("INSERT INTO meta.quality_result VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                list(row))
    warn = list(row)
    warn[4], warn[8] = "customer_in_dimension", "warn"
    con.execute("INSERT INTO meta.quality_result VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                warn)
    con.close()
    monkeypatch.setenv("RESPOOL_ALERT_WEBHOOK", webhook.url)
    result = CliRunner().invoke(app, ["alert", "--db", str(db)])
    assert result.exit_code == 0, result.output
    (message,) = webhook.messages
    assert [c["check"] for c in message["checks"]] == ["dwd_ar_item.net_due_not_before_baseline"]
    assert message["biz_date"] == "2026-10-27" and message["source"] == "respool check"
    webhook.status = 503
    assert CliRunner().invoke(app, ["alert", "--db", str(db)]).exit_code == 1


# ------------------------------------------------------------------ (c) mail


def test_send_mail_through_smtp(smtp_sink):
    payload = build_message([_failure()], run_id="r1", run_at=None, biz_date="2026-10-27",
                            report="/x/report.html", source="t")
    assert deliver(payload, webhook_url="") == ["mail"]
    (mail,) = smtp_sink.mails
    assert mail["from"] == "respool@example.test"
    assert mail["to"] == ["finance-data@example.test", "ops@example.test"]
    msg = email.message_from_bytes(mail["data"], policy=policy.default)
    assert msg["Subject"].startswith("数据质量告警 Quality alert")
    assert msg["X-Respool-Alert-Key"] == payload["alert_key"]
    body = msg.get_body(("plain",)).get_content()
    assert "dwd_ar_item__net_due_not_before_baseline" in body and "/x/report.html" in body
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "quality_alert.json"
    assert json.loads(attachment.get_content()) == payload


def test_mail_is_off_without_smtp_settings():
    assert send_mail({"title": "t"}) is False


# ------------------------------------------------------------------ (b) the Dagster sensor


def _failing_run(tmp_path: Path, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """The nightly job for 2026-10-27 with an item due before its baseline date (an `error` check)."""
    from catalog.register import load_register
    from pipelines.ingest.db import connect
    from pipelines.ingest.load import ingest
    from pipelines.orchestration.control_assets import PublishResource
    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.resources import RespoolResource
    from tests.pool_scenario import DAY1, deliver_bad_terms_item, deliver_scenario

    register = load_register()
    landing = tmp_path / "landing"
    deliver_scenario(landing, register)
    deliver_bad_terms_item(landing, register)
    db = tmp_path / "d.duckdb"
    con = connect(db)
    assert not ingest(con, [landing], register, only=lambda d: d.biz_date == DAY1).refused
    con.close()
    return defs.resolve_job_def("nightly_job").execute_in_process(
        partition_key="2026-10-27", raise_on_error=False, instance=instance,
        resources={"respool": RespoolResource(db_path=str(db), landing=str(landing)),
                   "publish_target": PublishResource(target=str(tmp_path / "published.duckdb"))})


def _evaluate(instance: dg.DagsterInstance, cursor: str | None):
    from pipelines.orchestration.definitions import defs

    sensor = defs.resolve_sensor_def("quality_alert_sensor")
    assert sensor.minimum_interval_seconds == 60
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    with dg.build_sensor_context(instance=instance, cursor=cursor) as context:
        return sensor(context)


def test_sensor_skips_without_a_channel():
    with dg.DagsterInstance.ephemeral() as instance:
        result = _evaluate(instance, None)
    assert isinstance(result, dg.SkipReason) and "RESPOOL_ALERT_WEBHOOK" in result.skip_message


def test_sensor_posts_each_failing_error_check_once(tmp_path, webhook, smtp_sink, monkeypatch):
    monkeypatch.setenv("RESPOOL_ALERT_WEBHOOK", webhook.url)
    # in memory for speed; the same test on `dg.instance_for_test()` (SQLite on disk, run-sharded
    # event log as `make dagster` runs) passes too, in twice the time
    with dg.DagsterInstance.ephemeral() as instance:
        run = _failing_run(tmp_path, instance)
        failed = {ev.event_specific_data.asset_check_key.name for ev in run.all_events
                  if ev.event_type_value == "ASSET_CHECK_EVALUATION" and not ev.event_specific_data.passed}
        assert "dwd_ar_item__net_due_not_before_baseline" in failed

        # the webhook is down: nothing is marked as sent, the next tick retries
        webhook.status = 502
        down = _evaluate(instance, None)
        assert down.cursor is None and "502" in down.skip_reason.skip_message
        assert len(webhook.requests) == 1 and smtp_sink.mails == []

        webhook.status = 200
        sent = _evaluate(instance, down.cursor)
        assert sent.cursor is not None and sent.skip_reason is None
        assert len(webhook.requests) == 2
        message = webhook.messages[-1]
        assert message["run_id"] == run.run_id and message["biz_date"] == "2026-10-27"
        names = [c["check"] for c in message["checks"]]
        assert names == ["dwd_ar_item__net_due_not_before_baseline"]  # the warn failures are not alerts
        (check,) = message["checks"]
        assert check["table"] == "dwd/dwd_ar_item" and check["severity"] == "error"
        assert (check["dimension"], check["dimension_en"]) == ("准确性", "accuracy")
        assert check["unexpected_count"] == 1
        assert check["examples"] == ["3301/2026/0100000099/001 基准日 baseline 2026-10-20 净到期日 net due 2026-10-15"]
        assert message["report_url"] == str(tmp_path / "quality" / "reports" / "2026-10-27" / "report.html")
        (mail,) = smtp_sink.mails
        mailed = email.message_from_bytes(mail["data"], policy=policy.default)
        assert "dwd_ar_item__net_due_not_before_baseline" in mailed.get_body(("plain",)).get_content()

        again = _evaluate(instance, sent.cursor)
        assert again.cursor == sent.cursor and "no new failing" in again.skip_reason.skip_message
        assert len(webhook.requests) == 2 and len(smtp_sink.mails) == 1
