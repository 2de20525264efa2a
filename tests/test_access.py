"""The data service's users, roles and tokens (serve/access.py), its audit log (serve/audit.py) and
`respool access` (pipelines/cli/access.py). Expected company codes are read by hand from
catalog/reference.yaml."""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import fields
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pipelines import config
from pipelines.cli import access as access_cli
from serve import access, audit

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "access" / "access.db"


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "access" / "audit.jsonl"


# ---- users and tokens -----------------------------------------------------------------------------

def test_an_analyst_sees_exactly_its_organisations_company_codes(db):
    # reference.yaml: ZJ03 浙南片区 = 3303 温州 + 3311 丽水; ZJ06 浙中西 = 3307 金华 + 3308 衢州; ZJ00 = 3300
    expected = {"ZJ03": {"3303", "3311"}, "ZJ06": {"3307", "3308"}, "ZJ00": {"3300"}, "ZJ01": {"3301"}}
    for org, codes in expected.items():
        token = access.add_user(db, f"analyst.{org}", org)
        who = access.authenticate(db, token)
        assert who == access.Principal(name=f"analyst.{org}", org=org, role="analyst",
                                       company_codes=frozenset(codes))
        assert isinstance(who.company_codes, frozenset)


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_see_every_organisation(db, role):
    token = access.add_user(db, "li.na", "ZJ00", role=role)
    who = access.authenticate(db, token)
    assert (who.name, who.org, who.role, who.company_codes) == ("li.na", "ZJ00", role, None)


def test_unknown_revoked_and_empty_tokens_authenticate_no_one(db):
    token = access.add_user(db, "wang.fang", "ZJ02")
    assert access.authenticate(db, token).name == "wang.fang"
    assert access.authenticate(db, token + "x") is None
    assert access.authenticate(db, "not-a-token") is None
    assert access.authenticate(db, "") is None
    access.revoke(db, "wang.fang")
    assert access.authenticate(db, token) is None


def test_authenticating_against_a_missing_database_creates_nothing(tmp_path):
    missing = tmp_path / "nowhere" / "access.db"
    assert access.authenticate(missing, "anything") is None
    assert access.list_users(missing) == []
    assert not missing.parent.exists()


def test_a_replaced_database_is_read_afresh(db):
    old = access.add_user(db, "a", "ZJ01")
    assert access.authenticate(db, old) is not None
    for path in db.parent.iterdir():
        path.unlink()
    new = access.add_user(db, "a", "ZJ07")
    assert access.authenticate(db, old) is None
    assert access.authenticate(db, new).company_codes == frozenset({"3309"})


def test_the_database_keeps_the_tokens_hash_and_never_the_token(db):
    tokens = [access.add_user(db, f"user{i}", "ZJ01") for i in range(3)]
    stored = b"".join(p.read_bytes() for p in db.parent.iterdir())  # journal files included, if any
    for token in tokens:
        assert len(token) >= 43  # token_urlsafe(32): 256 random bits
        assert token.encode() not in stored
        assert hashlib.sha256(token.encode()).hexdigest().encode() in stored
    assert len(set(tokens)) == 3


def test_list_shows_users_with_organisation_names_and_never_the_hash(db):
    access.add_user(db, "zhang.wei", "ZJ03")
    access.add_user(db, "chen.jing", "ZJ04", role="auditor")
    access.revoke(db, "zhang.wei")
    users = access.list_users(db)
    assert [f.name for f in fields(access.User)] == ["name", "org", "org_name", "role", "created_at", "revoked_at"]
    assert [(u.name, u.org, u.org_name, u.role, u.active) for u in users] == [
        ("zhang.wei", "ZJ03", "浙南片区（温州、丽水）", "analyst", False),
        ("chen.jing", "ZJ04", "浙北片区（嘉兴、湖州）", "auditor", True),
    ]
    assert all(u.created_at.tzinfo is not None for u in users)
    assert users[0].revoked_at >= users[0].created_at


def test_unknown_organisation_or_role_and_an_active_duplicate_are_refused(db):
    with pytest.raises(access.AccessError, match=r"unknown organisation 'ZJ99'.*ZJ00"):
        access.add_user(db, "a", "ZJ99")
    with pytest.raises(access.AccessError, match=r"unknown role 'root'.*analyst, auditor, admin"):
        access.add_user(db, "a", "ZJ01", role="root")
    with pytest.raises(access.AccessError, match="empty"):
        access.add_user(db, "  ", "ZJ01")
    first = access.add_user(db, "a", "ZJ01")
    with pytest.raises(access.AccessError, match=r"'a' already exists.*revoke it first"):
        access.add_user(db, "a", "ZJ02")
    with pytest.raises(access.AccessError, match="no active user 'nobody'"):
        access.revoke(db, "nobody")
    # a re-issue is revoke then add: the old token stops working, the new one works
    access.revoke(db, "a")
    with pytest.raises(access.AccessError, match="no active user 'a'"):
        access.revoke(db, "a")
    second = access.add_user(db, "a", "ZJ02")
    assert access.authenticate(db, first) is None
    assert access.authenticate(db, second).company_codes == frozenset({"3302"})
    assert [(u.org, u.active) for u in access.list_users(db)] == [("ZJ01", False), ("ZJ02", True)]


def test_authentication_takes_well_under_a_millisecond(db):
    for i in range(50):
        access.add_user(db, f"user{i}", "ZJ05")
    token = access.add_user(db, "timed", "ZJ05")
    access.authenticate(db, token)  # the reference data is parsed once, then cached
    timings = []
    for _ in range(200):
        start = time.perf_counter()
        assert access.authenticate(db, token) is not None
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.001


# ---- audit log ------------------------------------------------------------------------------------

def _record(user: str, when: str, **extra) -> dict:
    return {"time": when, "user": user, "org": "ZJ01", "role": "analyst", "endpoint": "/query",
            "method": "POST", "status": 200, **extra}


def test_records_read_back_as_appended(log_path):
    audit.append(log_path, {"endpoint": "/query", "status": 200, "user": "zhang.wei", "org": "ZJ03",
                            "role": "analyst", "method": "POST", "sql_submitted": "select *\nfrom dwd.dwd_ar_item",
                            "sql_run": "SELECT * FROM dwd.dwd_ar_item WHERE bukrs IN ('3303', '3311')",
                            "tables": {"dwd.dwd_ar_item"}, "columns": ("bukrs", "wrbtr"), "rows": 12,
                            "ms": 3.5, "error": None})
    audit.append(log_path, {"endpoint": "/tables", "status": 401, "error": "unknown token"})
    first, second = audit.read(log_path)
    assert len(log_path.read_bytes().splitlines()) == 2  # the newline in the SQL stays inside its line
    assert first["sql_submitted"] == "select *\nfrom dwd.dwd_ar_item"
    assert (first["tables"], first["columns"], first["rows"], first["ms"]) == (["dwd.dwd_ar_item"],
                                                                             ["bukrs", "wrbtr"], 12, 3.5)
    assert second == {"time": second["time"], "endpoint": "/tables", "status": 401, "error": "unknown token"}
    stamp = datetime.fromisoformat(second["time"])
    assert stamp.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60


def test_a_record_needs_endpoint_status_and_an_aware_time(log_path):
    with pytest.raises(audit.AuditError, match="lacks status"):
        audit.append(log_path, {"endpoint": "/query"})
    with pytest.raises(audit.AuditError, match="lacks endpoint"):
        audit.append(log_path, {"status": 200})
    with pytest.raises(audit.AuditError, match="no time zone"):
        audit.append(log_path, {"endpoint": "/query", "status": 200, "time": datetime(2026, 10, 27, 8)})
    with pytest.raises(audit.AuditError, match="no time zone"):
        audit.append(log_path, {"endpoint": "/query", "status": 200, "time": "2026-10-27T08:00:00"})
    with pytest.raises(audit.AuditError, match="not an ISO 8601 time"):
        audit.append(log_path, {"endpoint": "/query", "status": 200, "time": "yesterday"})
    assert not log_path.exists()
    assert audit.read(log_path) == []


def test_times_are_kept_in_utc_and_other_fields_as_given(log_path):
    audit.append(log_path, {"time": "2026-10-27T08:00:00.123Z", "endpoint": "/query", "status": 200,
                            "query": "fmt=csv", "client": Path("/x")})
    audit.append(log_path, {"time": "2026-10-27T16:00:00+08:00", "endpoint": "/query", "status": 200})
    first, second = audit.read(log_path)
    assert first == {"time": "2026-10-27T08:00:00.123+00:00", "endpoint": "/query", "status": 200,
                     "query": "fmt=csv", "client": "/x"}
    assert second["time"] == "2026-10-27T08:00:00.000+00:00"


def test_reading_filters_by_user_and_day(log_path):
    audit.append(log_path, _record("a", "2026-10-26T23:59:59+00:00"))
    audit.append(log_path, _record("b", "2026-10-27T00:00:00+00:00"))
    audit.append(log_path, _record("a", datetime(2026, 10, 28, 9, 30, tzinfo=UTC)))
    assert [r["user"] for r in audit.read(log_path)] == ["a", "b", "a"]
    assert [r["time"][:10] for r in audit.read(log_path, user="a")] == ["2026-10-26", "2026-10-28"]
    assert [r["user"] for r in audit.read(log_path, since=date(2026, 10, 27))] == ["b", "a"]
    assert [r["time"] for r in audit.read(log_path, user="a", since=date(2026, 10, 27))] == [
        "2026-10-28T09:30:00.000+00:00"]
    assert audit.read(log_path, user="nobody") == []


def test_a_torn_last_line_is_skipped_and_the_next_record_starts_a_line(log_path):
    audit.append(log_path, _record("a", "2026-10-27T01:00:00+00:00"))
    with log_path.open("ab") as f:  # a crash in the middle of a write
        f.write(audit.encode(_record("b", "2026-10-27T02:00:00+00:00"))[:30])
    assert [r["user"] for r in audit.read(log_path)] == ["a"]
    audit.append(log_path, _record("c", "2026-10-27T03:00:00+00:00"))
    assert [r["user"] for r in audit.read(log_path)] == ["a", "c"]


def test_four_threads_appending_at_once_give_intact_lines(log_path):
    def worker(t: int) -> None:
        for i in range(50):
            audit.append(log_path, {"endpoint": "/query", "status": 200, "user": f"t{t}", "rows": i,
                                    "sql_submitted": f"SELECT {'x' * 500} -- {t}/{i}"})

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    lines = log_path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    parsed = [json.loads(line) for line in lines[:-1]]
    assert len(parsed) == 200
    assert sorted((r["user"], r["rows"]) for r in parsed) == sorted((f"t{t}", i) for t in range(4) for i in range(50))
    for t in range(4):  # each thread's records in its own order
        assert [r["rows"] for r in parsed if r["user"] == f"t{t}"] == list(range(50))


def test_two_processes_appending_at_once_give_intact_lines(log_path):
    script = ("import sys; from serve import audit\n"
              "for i in range(50): audit.append(sys.argv[1], {'endpoint': '/query', 'status': 200, "
              "'user': sys.argv[2], 'rows': i, 'sql_submitted': 'SELECT ' + 'y' * 2000})")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(log_path), f"p{n}"], cwd=ROOT) for n in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    records = audit.read(log_path)
    assert len(log_path.read_bytes().splitlines()) == len(records) == 100
    assert sorted((r["user"], r["rows"]) for r in records) == sorted((f"p{n}", i) for n in range(2) for i in range(50))


def test_the_log_is_only_ever_appended(log_path):
    audit.append(log_path, _record("a", "2026-10-27T01:00:00+00:00"))
    before = log_path.read_bytes()
    for i in range(5):
        audit.append(log_path, _record(f"u{i}", "2026-10-27T02:00:00+00:00"))
        after = log_path.read_bytes()
        assert after.startswith(before) and len(after) > len(before)
        before = after
    assert oct(log_path.stat().st_mode & 0o777) == oct(audit.FILE_MODE & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---- respool access -------------------------------------------------------------------------------

app = typer.Typer()
app.add_typer(access_cli.commands, name="access")


def _run(*args: str):
    return CliRunner().invoke(app, ["access", *args])


def _words(text: str) -> str:
    for rule in "│┃":
        text = text.replace(rule, " ")
    return " ".join(text.split())


def _ok(*args: str) -> str:
    """The command's output, folded to words, after asserting it succeeded."""
    result = _run(*args)
    assert result.exit_code == 0, result.output
    return _words(result.stdout)


def test_add_user_prints_the_token_once(db):
    result = _run("add-user", "zhang.wei", "--org", "ZJ03", "--access-db", str(db))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    tokens = [line for line in lines if access.authenticate(db, line.strip())]
    assert len(tokens) == 1
    assert access.authenticate(db, tokens[0]).company_codes == frozenset({"3303", "3311"})
    assert "added zhang.wei — ZJ03, analyst" in result.stdout
    assert "The token is not stored" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--org", "ZJ99"], "unknown organisation 'ZJ99'"),
    (["--org", "ZJ01", "--role", "root"], "unknown role 'root'"),
])
def test_add_user_refuses_bad_input_with_exit_2(db, args, message):
    result = _run("add-user", "x", *args, "--access-db", str(db))
    assert result.exit_code == 2
    assert message in _words(result.stderr)
    assert access.list_users(db) == []


def test_add_user_refuses_an_active_duplicate(db):
    assert _run("add-user", "x", "--org", "ZJ01", "--access-db", str(db)).exit_code == 0
    result = _run("add-user", "x", "--org", "ZJ01", "--access-db", str(db))
    assert result.exit_code == 2
    assert "'x' already exists" in _words(result.stderr)


def test_list_and_revoke(db):
    assert "no users in" in _run("list", "--access-db", str(db)).stdout
    token = access.add_user(db, "zhang.wei", "ZJ03")
    access.add_user(db, "[bold]li", "ZJ00", role="admin")  # names are shown as text, not markup
    result = _run("revoke", "zhang.wei", "--access-db", str(db))
    assert result.exit_code == 0, result.output
    assert "revoked zhang.wei" in result.stdout
    assert access.authenticate(db, token) is None
    out = _ok("list", "--access-db", str(db))
    assert "zhang.wei ZJ03 浙南片区（温州、丽水） analyst" in out
    assert "[bold]li ZJ00 省公司本部 admin" in out and "active" in out
    assert "2 users: 1 active, 1 revoked" in out
    assert token not in out
    result = _run("revoke", "zhang.wei", "--access-db", str(db))
    assert result.exit_code == 2
    assert "no active user 'zhang.wei'" in result.stderr


def test_audit_shows_the_log_filtered(log_path):
    assert "no audit records" in _run("audit", "--audit-log", str(log_path)).stdout
    audit.append(log_path, _record("a", "2026-10-26T08:00:00+00:00", rows=1234, ms=12.4,
                                   tables=["dwd.dwd_ar_item"], sql_submitted="SELECT [x] FROM t"))
    audit.append(log_path, _record("b", "2026-10-27T08:00:00+00:00", status=403, error="table not allowed"))
    out = _ok("audit", "--audit-log", str(log_path))
    assert "2026-10-26 08:00:00 a ZJ01 analyst POST /query 200 1,234 12 dwd.dwd_ar_item" in out
    assert "2026-10-27 08:00:00 b ZJ01 analyst POST /query 403" in out and "table not allowed" in out
    assert "2 records" in out
    out = _words(_run("audit", "--user", "a", "--sql", "--audit-log", str(log_path)).stdout)
    assert "1 records" in out and "SELECT [x] FROM t" in out
    out = _words(_run("audit", "--since", "2026-10-27", "--audit-log", str(log_path)).stdout)
    assert "1 records" in out and " b " in out
    result = _run("audit", "--since", "yesterday", "--audit-log", str(log_path))
    assert result.exit_code == 2
    assert "'yesterday' is not a date" in result.stderr


def test_default_paths_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("RESPOOL_ACCESS_DB", raising=False)
    monkeypatch.delenv("RESPOOL_AUDIT_LOG", raising=False)
    monkeypatch.setenv("RESPOOL_HOME", str(tmp_path))
    assert config.default_access_db() == tmp_path / "data" / "access" / "access.db"
    assert config.default_audit_log() == tmp_path / "data" / "access" / "audit.jsonl"
    assert _run("add-user", "a", "--org", "ZJ01").exit_code == 0
    assert [u.name for u in access.list_users(tmp_path / "data" / "access" / "access.db")] == ["a"]
    monkeypatch.setenv("RESPOOL_ACCESS_DB", str(tmp_path / "elsewhere.db"))
    monkeypatch.setenv("RESPOOL_AUDIT_LOG", str(tmp_path / "elsewhere.jsonl"))
    assert config.default_access_db() == tmp_path / "elsewhere.db"
    assert config.default_audit_log() == tmp_path / "elsewhere.jsonl"
    assert "no users in" in _run("list").stdout
