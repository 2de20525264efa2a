"""Quality alerts: one JSON message per quality run with its failing `error` checks, posted to a
webhook and, when SMTP is configured, mailed.

The message names, per failing check, the table (asset), the check, its GB/T 36344 dimension,
severity, unexpected count and a few examples, with the run's time and a link to the daily
report (`$RESPOOL_REPORT_URL_BASE` + the report's path under the quality folder, else the local
file path). No dependency beyond the standard library: `urllib` posts, `smtplib` mails.

Mail is off unless `RESPOOL_SMTP_HOST` and `RESPOOL_ALERT_TO` are set (`RESPOOL_SMTP_PORT`,
default 25; `RESPOOL_ALERT_FROM`, default respool@<host name>); a plain relay, no login.
"""

from __future__ import annotations

import hashlib
import json
import os
import smtplib
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

from quality.report import report_relpath
from quality.specs import DIMENSIONS

WEBHOOK_ENV = "RESPOOL_ALERT_WEBHOOK"
REPORT_URL_ENV = "RESPOOL_REPORT_URL_BASE"
SMTP_HOST_ENV, SMTP_PORT_ENV = "RESPOOL_SMTP_HOST", "RESPOOL_SMTP_PORT"
ALERT_FROM_ENV, ALERT_TO_ENV = "RESPOOL_ALERT_FROM", "RESPOOL_ALERT_TO"
MESSAGE_TYPE = "respool.quality_alert"
MAX_CHECKS, MAX_EXAMPLES = 50, 5


class AlertError(RuntimeError):
    """An alert could not be delivered; the message says where and why."""


@dataclass(frozen=True)
class FailedCheck:
    """A failing check as the alert names it."""

    table: str                 # the asset (`dwd/dwd_ar_item`) or target table (`dwd.dwd_ar_item`)
    check: str                 # `dwd_ar_item__net_due_not_before_baseline` or `suite.expectation_id`
    dimension: str             # 一致性 …
    severity: str              # error | warn
    unexpected_count: int | None = None
    examples: list = field(default_factory=list)
    description_zh: str = ""
    description_en: str = ""


def failures_from_results(rows: Sequence[Mapping], severity: str = "error") -> list[FailedCheck]:
    """The failing checks of `severity` among meta.quality_result rows (as dicts)."""
    out = []
    for r in rows:
        if r["success"] or r["severity"] != severity:
            continue
        examples = r.get("examples") or []
        if isinstance(examples, str):  # meta.quality_result keeps them as JSON text
            try:
                examples = json.loads(examples)
            except ValueError:
                examples = [examples]
        out.append(FailedCheck(table=r["target_table"], check=f"{r['suite']}.{r['expectation_id']}",
                               dimension=r["dimension"], severity=r["severity"],
                               unexpected_count=r.get("unexpected_count"),
                               examples=examples if isinstance(examples, list) else [examples],
                               description_zh=r.get("description_zh") or "",
                               description_en=r.get("description_en") or ""))
    return out


def report_link(biz_date: date | str | None, quality_dir: Path) -> str:
    """Where the daily report of `biz_date` is: a URL under $RESPOOL_REPORT_URL_BASE, else a local path."""
    relative = report_relpath(biz_date)
    base = os.environ.get(REPORT_URL_ENV, "").strip()
    if base:
        return f"{base.rstrip('/')}/{relative}"
    return str(quality_dir / relative)


def _iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    return (ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts).astimezone(UTC).isoformat(timespec="seconds")


def build_message(failures: Sequence[FailedCheck], *, run_id: str, run_at: datetime | None,
                  biz_date: date | str | None, report: str, source: str) -> dict:
    """The JSON message of one quality run (or batch) with failing checks; naive times are UTC."""
    shown = list(failures)[:MAX_CHECKS]
    day = biz_date.isoformat() if isinstance(biz_date, date) else biz_date
    title = (f"数据质量告警 Quality alert: {len(failures)} 项错误级检查未通过 error check(s) failed"
             + (f" — 业务日期 business date {day}" if day else ""))
    checks = [{
        **{k: v for k, v in asdict(f).items() if k != "examples"},
        "dimension_en": DIMENSIONS.get(f.dimension, ""),
        "alert_key": alert_key(run_id, day, f.table, f.check),
        "examples": f.examples[:MAX_EXAMPLES],
    } for f in shown]
    lines = [title] + [
        f"- [{c['severity']}] {c['table']} {c['check']} ({c['dimension']} {c['dimension_en']}): "
        f"{'' if c['unexpected_count'] is None else c['unexpected_count']} 异常 unexpected"
        + (f", 例 e.g. {json.dumps(c['examples'][:3], ensure_ascii=False, default=str)}" if c["examples"] else "")
        for c in checks]
    if len(failures) > len(shown):
        lines.append(f"… 另有 {len(failures) - len(shown)} 项 more")
    lines.append(f"报告 report: {report}")
    return {
        "type": MESSAGE_TYPE,
        # the same run and checks give the same key however often the message is sent: a receiver
        # drops what at-least-once delivery sends twice (also the webhook's Idempotency-Key header)
        "alert_key": alert_key(run_id, day, *sorted(f"{f.table}/{f.check}" for f in failures)),
        "title": title,
        "source": source,
        "run_id": run_id,
        "run_at": _iso(run_at),
        "biz_date": day,
        "failed_checks": len(failures),
        "checks": checks,
        "report_url": report,
        "text": "\n".join(lines),
    }


def alert_key(*parts: object) -> str:
    """A stable key of the parts (run id, business date, checks): sha256, 32 hex digits."""
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8")).hexdigest()[:32]


def post_webhook(url: str, payload: Mapping, timeout: float = 10) -> int:
    """POST the payload as JSON; the HTTP status, or `AlertError` on a non-2xx answer or no answer."""
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "User-Agent": "respool-quality-alert",
                                              **({"Idempotency-Key": payload["alert_key"]}
                                                 if payload.get("alert_key") else {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
            answer = response.read(500)
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace") if exc.fp else ""
        raise AlertError(f"webhook {url} answered HTTP {exc.code} {exc.reason}: {detail}".rstrip(": ")) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AlertError(f"webhook {url} not reached: {reason}") from None
    if not 200 <= status < 300:
        raise AlertError(f"webhook {url} answered HTTP {status}: {answer.decode('utf-8', 'replace')}")
    return status


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]


def smtp_settings() -> SmtpSettings | None:
    """SMTP from the environment; None (mail off) unless host and recipients are set."""
    host = os.environ.get(SMTP_HOST_ENV, "").strip()
    recipients = tuple(a.strip() for a in os.environ.get(ALERT_TO_ENV, "").replace(";", ",").split(",")
                       if a.strip())
    if not host or not recipients:
        return None
    port = int(os.environ.get(SMTP_PORT_ENV, "").strip() or 25)
    sender = os.environ.get(ALERT_FROM_ENV, "").strip() or f"respool@{socket.gethostname()}"
    return SmtpSettings(host, port, sender, recipients)


def send_mail(payload: Mapping, settings: SmtpSettings | None = None, timeout: float = 10) -> bool:
    """Mail the alert (text body, the JSON attached); False when mail is off, `AlertError` on failure."""
    settings = settings or smtp_settings()
    if settings is None:
        return False
    msg = EmailMessage()
    msg["Subject"] = payload.get("title", "respool quality alert")
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.recipients)
    if payload.get("alert_key"):
        msg["X-Respool-Alert-Key"] = payload["alert_key"]
    msg.set_content(payload.get("text") or json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    msg.add_attachment(json.dumps(payload, ensure_ascii=False, indent=2, default=str).encode("utf-8"),
                       maintype="application", subtype="json", filename="quality_alert.json")
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=timeout) as smtp:
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise AlertError(f"mail via {settings.host}:{settings.port} failed: {exc}") from None
    return True


def deliver(payload: Mapping, webhook_url: str | None = None, timeout: float = 10) -> list[str]:
    """Post to the webhook (argument, else $RESPOOL_ALERT_WEBHOOK) and mail if configured; the
    channels used. `AlertError` when a configured channel fails."""
    used = []
    url = webhook_url if webhook_url is not None else os.environ.get(WEBHOOK_ENV, "").strip()
    if url:
        post_webhook(url, payload, timeout)
        used.append("webhook")
    if send_mail(payload, timeout=timeout):
        used.append("mail")
    return used


def channels_configured(webhook_url: str | None = None) -> bool:
    """Whether any alert channel is set up (webhook or SMTP)."""
    url = webhook_url if webhook_url is not None else os.environ.get(WEBHOOK_ENV, "").strip()
    return bool(url) or smtp_settings() is not None
