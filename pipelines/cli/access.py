"""`respool access add-user|list|revoke|audit`: the data service's users and roles (访问控制) and
its audit log (审计日志)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from rich.table import Table as RichTable
from rich.text import Text

from pipelines import config
from pipelines.cli.common import console, err, parse_day

commands = typer.Typer(no_args_is_help=True, help="访问控制 users, roles and the audit log of the data service")

AccessDbOption = Annotated[Path | None, typer.Option(
    "--access-db", help="users database (default $RESPOOL_ACCESS_DB, else data/access/access.db)",
    show_default=False)]
AuditLogOption = Annotated[Path | None, typer.Option(
    "--audit-log", help="audit log (default $RESPOOL_AUDIT_LOG, else data/access/audit.jsonl)",
    show_default=False)]


def _refuse(message: str) -> NoReturn:
    err.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(2)


def _when(value: datetime | str | None) -> str:
    """A UTC time to the second, as the tables show it."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime("%Y-%m-%d %H:%M:%S")


@commands.command("add-user")
def add_user(
    name: Annotated[str, typer.Argument(help="user name, e.g. zhang.wei")],
    org: Annotated[str, typer.Option("--org", help="organisation (机构) code of catalog/reference.yaml, e.g. ZJ01")],
    role: Annotated[str, typer.Option("--role", help="analyst (its organisation's company codes) | auditor | "
                                                    "admin (every organisation)")] = "analyst",
    access_db: AccessDbOption = None,
) -> None:
    """Add a user and print its token, once: only the token's hash is kept."""
    from serve import access

    try:
        token = access.add_user(access_db or config.default_access_db(), name, org, role)
    except access.AccessError as exc:
        _refuse(str(exc))
    console.print(f"用户已添加 added {escape(name.strip())} — {escape(org)}, {escape(role)}", highlight=False)
    console.print(token, highlight=False, soft_wrap=True)
    console.print("令牌不保存 The token is not stored (only its hash): hand it over now. A lost token cannot be "
                  "shown again; `respool access revoke` and `add-user` issue a new one.", highlight=False)


@commands.command("list")
def list_users(access_db: AccessDbOption = None) -> None:
    """List the users, revoked ones included."""
    from serve import access

    db = access_db or config.default_access_db()
    users = access.list_users(db)
    if not users:
        console.print(f"no users in {db}", highlight=False)
        return
    out = RichTable(title=f"数据服务用户 Data-service users — {db}")
    for col in ("用户 User", "机构 Org", "机构名称", "角色 Role", "创建 Created (UTC)", "撤销 Revoked (UTC)"):
        out.add_column(col)
    for u in users:
        out.add_row(Text(u.name), u.org, Text(u.org_name), u.role, _when(u.created_at),
                    _when(u.revoked_at) if u.revoked_at else Text("active", style="green"))
    console.print(out)
    active = sum(u.active for u in users)
    console.print(f"{len(users)} users: {active} active, {len(users) - active} revoked", highlight=False)


@commands.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="user name")],
    access_db: AccessDbOption = None,
) -> None:
    """Revoke a user: its token stops working at once."""
    from serve import access

    try:
        access.revoke(access_db or config.default_access_db(), name)
    except access.AccessError as exc:
        _refuse(str(exc))
    console.print(f"已撤销 revoked {escape(name.strip())}: its token no longer works", highlight=False)


@commands.command("audit")
def audit(
    user: Annotated[str | None, typer.Option("--user", help="only this user's requests")] = None,
    since: Annotated[str | None, typer.Option("--since", help="from this day on, YYYY-MM-DD (UTC)")] = None,
    sql: Annotated[bool, typer.Option("--sql", help="also show the SQL submitted and the SQL run")] = False,
    audit_log: AuditLogOption = None,
) -> None:
    """Show the audit log of the data service."""
    from serve import audit as audit_log_module

    try:
        day = parse_day(since) if since else None
    except typer.BadParameter as exc:
        _refuse(f"--since: {exc.message}")
    path = audit_log or config.default_audit_log()
    records = audit_log_module.read(path, user=user, since=day)
    if not records:
        console.print(f"no audit records in {path}", highlight=False)
        return
    out = RichTable(title=f"审计日志 Audit log — {path}")
    columns = ["时间 Time (UTC)", "用户 User", "机构 Org", "角色 Role", "请求 Request", "状态 Status",
               "行数 Rows", "毫秒 ms", "表 Tables", "错误 Error"]
    if sql:
        columns += ["提交 SQL submitted", "执行 SQL run"]
    for col in columns:
        out.add_column(col, justify="right" if col[:2] in ("状态", "行数", "毫秒") else "left",
                       overflow="fold")
    for r in records:
        request = " ".join(str(r[k]) for k in ("method", "endpoint") if r.get(k) is not None)
        cells = [_when(r.get("time")), r.get("user"), r.get("org"), r.get("role"), request, r.get("status"),
                 f"{r['rows']:,}" if isinstance(r.get("rows"), int) else r.get("rows"),
                 f"{r['ms']:,.0f}" if isinstance(r.get("ms"), int | float) else r.get("ms"),
                 ", ".join(r["tables"]) if isinstance(r.get("tables"), list) else r.get("tables"),
                 r.get("error")]
        if sql:
            cells += [r.get("sql_submitted"), r.get("sql_run")]
        # Text, not markup: names, SQL and errors come from the callers
        out.add_row(*(Text("" if c is None else str(c)) for c in cells))
    console.print(out)
    console.print(f"{len(records)} records", highlight=False)
