"""统一数据服务 over HTTP: a generated delivery (every company code) published, two analysts of
organisations with disjoint company codes and an auditor; every endpoint scoped, every answer
adding up, errors as JSON with the right status, every request in the audit log."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from catalog.register import load_reference
from pipelines.cli import app as cli
from pipelines.ingest.db import connect
from serve import access, audit
from serve.app import Settings, create_app
from serve.labels import load_docs

pytestmark = pytest.mark.slow
KEY_DATE = "2026-10-27"


@pytest.fixture(scope="module")
def service(tmp_path_factory, published_sample):
    tmp = tmp_path_factory.mktemp("service")
    settings = Settings(snapshot=published_sample, access_db=tmp / "access.db", audit_log=tmp / "audit.jsonl")
    reference = load_reference()
    orgs = {o.code: frozenset(o.company_codes) for o in reference.organisations}
    tokens = {"hz": access.add_user(settings.access_db, "hz", "ZJ01"),          # 3301
              "south": access.add_user(settings.access_db, "south", "ZJ03"),    # 3303, 3311
              "auditor": access.add_user(settings.access_db, "auditor", "ZJ00", role="auditor")}
    client = TestClient(create_app(settings, docs=load_docs()))
    yield {"client": client, "tokens": tokens, "orgs": orgs, "settings": settings}
    client.close()
    app_pool = client.app.state.pool
    app_pool.close()


def _get(service, who: str | None, path: str, **params):
    headers = {"Authorization": f"Bearer {service['tokens'][who]}"} if who else {}
    return service["client"].get(path, params=params, headers=headers)


def _aging(service, who, **params) -> dict:
    response = _get(service, who, "/api/aging", as_of=KEY_DATE, **params)
    assert response.status_code == 200, response.text
    return response.json()


def test_health_needs_no_token_and_names_the_snapshot(service):
    response = service["client"].get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["biz_date"] == "2026-10-27" and body["run_id"]


@pytest.mark.parametrize("ledger", ["ar", "ap"])
def test_each_analyst_sees_only_its_company_codes_and_they_add_up_to_the_auditor(service, ledger):
    by_company = {who: _aging(service, who, ledger=ledger) for who in ("hz", "south", "auditor")}
    assert {r[0] for r in by_company["hz"]["rows"]} == {"3301"}
    assert {r[0] for r in by_company["south"]["rows"]} == {"3303", "3311"}
    everyone = by_company["auditor"]["rows"]
    assert {r[0] for r in everyone} > {"3301", "3303", "3311"}
    for who, codes in (("hz", {"3301"}), ("south", {"3303", "3311"})):
        assert sorted(map(tuple, by_company[who]["rows"])) == sorted(tuple(r) for r in everyone if r[0] in codes)
    # the same figures as `respool aging` on the published snapshot
    csv = CliRunner().invoke(cli, ["aging", "--ledger", ledger, "--as-of", KEY_DATE, "--format", "csv", "--db",
                                   str(service["settings"].snapshot)])
    assert csv.exit_code == 0, csv.output
    cli_rows = [line.split(",") for line in csv.stdout.strip().splitlines()[1:]]
    assert sorted((b, k, Decimal(a)) for b, k, a in cli_rows) == sorted(
        (b, k, Decimal(str(a)).quantize(Decimal("0.01"))) for b, k, a, _ in everyone)


def test_items_sum_to_their_figure_and_other_companies_are_forbidden(service):
    figure = next(r for r in _aging(service, "hz")["rows"] if r[0] == "3301")
    bukrs, bucket, amount, count = figure
    items = _get(service, "hz", "/api/items", as_of=KEY_DATE, bukrs=bukrs, bucket=bucket, page_size=10_000).json()
    assert items["total_items"] == count == len(items["rows"])
    assert round(items["total_amount_lc"], 2) == round(amount, 2)
    assert round(sum(r[-1] for r in items["rows"]), 2) == round(amount, 2)
    assert _get(service, "hz", "/api/items", as_of=KEY_DATE, bukrs="3303", bucket=bucket).status_code == 403


def test_voucher_of_another_organisation_does_not_exist_for_the_caller(service):
    con = connect(service["settings"].snapshot, read_only=True)
    try:
        own = con.execute("SELECT bukrs, gjahr, belnr FROM dwd.dwd_fi_voucher_header WHERE bukrs = '3301' "
                          "ORDER BY belnr LIMIT 1").fetchone()
        other = con.execute("SELECT bukrs, gjahr, belnr FROM dwd.dwd_fi_voucher_header WHERE bukrs = '3303' "
                            "ORDER BY belnr LIMIT 1").fetchone()
    finally:
        con.close()
    mine = _get(service, "hz", "/api/voucher/{}/{}/{}".format(*own))
    assert mine.status_code == 200 and mine.json()["header"]["belnr"] == own[2]
    assert mine.json()["balance"] == 0
    hidden = _get(service, "hz", "/api/voucher/{}/{}/{}".format(*other))
    assert hidden.status_code == 404 and hidden.json()["error"].startswith("凭证不存在")
    assert _get(service, "south", "/api/voucher/{}/{}/{}".format(*other)).status_code == 200


def test_query_is_guarded_and_scoped(service):
    sql = "SELECT bukrs, count(*) AS n FROM dwd.dwd_ar_item GROUP BY bukrs ORDER BY bukrs"
    answers = {}
    for who in ("hz", "south", "auditor"):
        response = service["client"].post("/api/query", json={"sql": sql},
                                          headers={"Authorization": f"Bearer {service['tokens'][who]}"})
        assert response.status_code == 200, response.text
        answers[who] = {b: n for b, n in response.json()["rows"]}
    assert set(answers["hz"]) == {"3301"} and set(answers["south"]) == {"3303", "3311"}
    assert {b: answers["auditor"][b] for b in ("3301", "3303", "3311")} == {**answers["hz"], **answers["south"]}
    refused = service["client"].post("/api/query", json={"sql": "DROP TABLE dwd.dwd_ar_item"},
                                     headers={"Authorization": f"Bearer {service['tokens']['hz']}"})
    assert refused.status_code == 400 and refused.json()["error"] == "查询被拒绝 query refused"


def test_cli_query_gives_the_same_answer_as_http(service):
    sql = "SELECT bukrs, sum(amount_lc) AS amount FROM dwd.dwd_ar_item GROUP BY bukrs ORDER BY bukrs"
    out = CliRunner().invoke(cli, ["query", "--org", "ZJ03", "--format", "csv", "--snapshot",
                                   str(service["settings"].snapshot), sql])
    assert out.exit_code == 0, out.output
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "bukrs,amount"
    http = service["client"].post("/api/query", json={"sql": sql},
                                  headers={"Authorization": f"Bearer {service['tokens']['south']}"}).json()
    assert [(b, Decimal(a)) for b, a in (line.split(",") for line in lines[1:])] == [
        (b, Decimal(str(a)).quantize(Decimal("0.01"))) for b, a in http["rows"]]
    refused = CliRunner().invoke(cli, ["query", "--org", "ZJ03", "--snapshot", str(service["settings"].snapshot),
                                       "DELETE FROM dwd.dwd_ar_item"])
    assert refused.exit_code == 1 and "查询被拒绝 query refused" in refused.output


def test_excel_answer_is_what_finance_opens(service):
    response = _get(service, "south", "/api/aging", as_of=KEY_DATE, format="xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == ["公司代码", "账龄段", "本位币金额（带符号）", "项目数"]
    assert [c.value for c in sheet[2]] == ["bukrs", "bucket", "amount_lc", "item_count"]
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref.startswith("A2:")
    amounts = [row[2] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert amounts and all(isinstance(a, float) for a in amounts)
    assert sheet.cell(row=3, column=3).number_format == "#,##0.00"
    about = dict(book["说明 about"].iter_rows(min_row=2, values_only=True))
    assert about["用户 user"] == "south (ZJ03, analyst)" and about["公司代码 company codes"] == "3303, 3311"
    assert about["快照业务日期 snapshot business date"] == "2026-10-27"


def test_tables_say_what_each_table_and_column_is(service):
    tables = {t["table"]: t for t in _get(service, "hz", "/api/tables").json()["tables"]}
    assert not any(name.split(".")[0] in ("ods", "stg", "meta", "quarantine") for name in tables)
    ar = tables["dwd.dwd_ar_item"]
    assert (ar["name_zh"], ar["scoped_by_company"]) == ("应收明细", True)
    columns = {c["name"]: c for c in ar["columns"]}
    assert (columns["amount_lc"]["zh"], columns["amount_lc"]["en"]) == ("本位币金额（带符号）",
                                                                       "Signed amount in local currency (S +, H -)")
    assert (columns["kunnr"]["zh"], columns["kunnr"]["sap_field"]) == ("客户编号", "KUNNR")
    assert tables["dim.dim_customer"]["scoped_by_company"] is False


def test_errors_are_json_with_their_status(service):
    assert _get(service, None, "/api/aging", as_of=KEY_DATE).status_code == 401
    bad = service["client"].get("/api/aging", params={"as_of": KEY_DATE}, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["error"].startswith("未登录")
    invalid = _get(service, "hz", "/api/aging", as_of="2026-13-01")
    assert invalid.status_code == 422 and invalid.json()["error"] == "参数有误 invalid request"
    assert _get(service, "hz", "/api/recon", month="2026-10").status_code == 422
    assert _get(service, "hz", "/api/recon", bukrs="3302").status_code == 403


def test_every_request_is_audited(service):
    records = audit.read(service["settings"].audit_log)
    assert records, "nothing audited"
    queries = [r for r in records if r["endpoint"] == "/api/query" and r["user"] == "hz" and r["status"] == 200]
    assert queries and all(r["sql_submitted"] and r["sql_run"] and r["tables"] == ["dwd.dwd_ar_item"]
                           for r in queries)
    # SELECT bukrs, count(*) ... GROUP BY bukrs reads bukrs (and the guard's filter reads it too)
    counted = next(r for r in queries if "count(*)" in r["sql_submitted"])
    assert counted["columns"] == ["dwd.dwd_ar_item.bukrs"]
    summed = next(r for r in records if r["endpoint"] == "/api/query" and r["user"] == "south"
                  and "sum(amount_lc)" in r["sql_submitted"])
    assert summed["columns"] == ["dwd.dwd_ar_item.amount_lc", "dwd.dwd_ar_item.bukrs"]
    assert any(r["status"] == 401 and r["user"] is None for r in records)
    assert all(r["ms"] >= 0 for r in records)
    assert date.fromisoformat(records[-1]["time"][:10]) >= date(2026, 1, 1)


def test_a_question_asked_again_is_answered_from_the_snapshots_cache_and_audited_alike(service):
    sql = "SELECT bukrs, hkont, sum(amount_lc) AS amount FROM dwd.dwd_ar_item GROUP BY ALL ORDER BY ALL"
    headers = {"Authorization": f"Bearer {service['tokens']['south']}"}
    first, again = (service["client"].post("/api/query", json={"sql": sql}, headers=headers) for _ in range(2))
    assert first.status_code == again.status_code == 200 and first.content == again.content
    asked = [r for r in audit.read(service["settings"].audit_log)
             if r["endpoint"] == "/api/query" and r.get("sql_submitted") == sql]
    assert [r["cached"] for r in asked] == [False, True]
    said = ("sql_run", "tables", "columns", "rows", "status")
    assert {k: asked[0][k] for k in said} == {k: asked[1][k] for k in said}
    assert asked[1]["rows"] == len(first.json()["rows"]) > 0
    # another organisation asking the same is answered for its own company codes, not from south's answer
    other = service["client"].post("/api/query", json={"sql": sql},
                                   headers={"Authorization": f"Bearer {service['tokens']['hz']}"})
    assert {r[0] for r in other.json()["rows"]} == {"3301"}
    assert {r[0] for r in first.json()["rows"]} == {"3303", "3311"}
