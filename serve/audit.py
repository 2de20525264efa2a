"""审计日志 The data service's audit log: who asked what of the published snapshot, what ran, and
what came back. It lives outside the snapshot, one JSON object per line, and is only ever appended.

Each record is one `os.write` to a descriptor opened with O_APPEND, followed by `os.fsync`: the
kernel places each write whole at the end of the file, so several processes can append at once,
and a record that `append` returned from survives a crash. A crash during a write can leave a torn
last line; `read` skips it, and the next `append` starts its record on a fresh line (writers take
turns, a thread lock and flock, so that a write in progress is never mistaken for a torn one).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from pathlib import Path

log = logging.getLogger(__name__)

FIELDS = ("time", "user", "org", "role", "endpoint", "method", "status", "sql_submitted", "sql_run",
          "tables", "columns", "rows", "ms", "error")
REQUIRED = ("endpoint", "status")  # time is filled in when absent
# the audit log holds the SQL analysts submitted: readable by its owner and group only
FILE_MODE = 0o640

# the check for a torn tail and the write that follows it happen together: a lock between the
# threads of a process, flock between processes
_lock = threading.Lock()


class AuditError(ValueError):
    """A record that cannot be logged: no endpoint or status, or a time that is not an aware time."""


def _utc_iso(value) -> str:
    """The time as UTC ISO 8601 to the millisecond; a naive time is refused, not guessed."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise AuditError(f"time {value!r} is not an ISO 8601 time") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise AuditError(f"time {value!r} has no time zone")
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def _jsonable(value):
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, datetime | date):
        return value.isoformat()
    # anything else is logged as its text rather than losing the record
    return str(value)


def encode(record: dict) -> bytes:
    """The record as one line of JSON, newline included: the log's fields in their order, then any
    other field the caller added, kept as given."""
    missing = [f for f in REQUIRED if record.get(f) is None]
    if missing:
        raise AuditError(f"audit record lacks {', '.join(missing)}")
    out = {"time": _utc_iso(record.get("time") or datetime.now(UTC))}
    out.update({f: record[f] for f in FIELDS[1:] if f in record})
    out.update({f: v for f, v in record.items() if f not in out})
    # json.dumps escapes newlines inside strings: a record is always exactly one line
    return (json.dumps(out, ensure_ascii=False, default=_jsonable, separators=(",", ":")) + "\n").encode("utf-8")


def append(path: Path | str, record: dict) -> None:
    """Append one record durably; returns once it is on disk."""
    line = encode(record)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock:
        created = not path.exists()
        fd = os.open(path, os.O_APPEND | os.O_CREAT | os.O_WRONLY, FILE_MODE)
        try:
            # another process's write in progress would look like a torn tail: writers take turns
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and _last_byte(path, size) != b"\n":
                # a torn line from a crash: keep it, and start this record on a line of its own
                line = b"\n" + line
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(f"audit log {path}: wrote {written} of {len(line)} bytes (disk full?)")
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            # the new file's directory entry must be durable too
            _fsync_dir(path.parent)


def _last_byte(path: Path, size: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, 1, size - 1)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lines(path: Path) -> Iterable[tuple[int, bytes, bool]]:
    """(line number, bytes, is the last line) of the file, without loading it whole."""
    with path.open("rb") as f:
        previous = None
        for number, raw in enumerate(f, start=1):
            if previous is not None:
                yield (*previous, False)
            previous = (number, raw)
        if previous is not None:
            yield (*previous, True)


def _since(value: date | datetime) -> datetime:
    """A date is the start of that day in UTC, as the log's times are."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time.min, tzinfo=UTC)


def read(path: Path | str, user: str | None = None, since: date | datetime | None = None) -> list[dict]:
    """The records in the order they were appended, optionally of one user and from a day on
    (a date is taken as 00:00 UTC). A torn last line is skipped; a torn line further up — a crash
    before later appends — is skipped with a warning. A missing log has no records."""
    path = Path(path)
    if not path.exists():
        return []
    start = _since(since) if since is not None else None
    records = []
    for number, raw, last in _lines(path):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not an object")
            at = datetime.fromisoformat(record["time"])
        except (ValueError, KeyError, TypeError):
            if not last:
                log.warning("audit log %s line %d is torn or damaged, skipped", path, number)
            continue
        if user is not None and record.get("user") != user:
            continue
        if start is not None and (at if at.tzinfo else at.replace(tzinfo=UTC)) < start:
            continue
        records.append(record)
    return records
