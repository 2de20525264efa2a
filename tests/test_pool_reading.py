"""Reading the pool (models/pool.py) on a small ledger of its own: aging by company and by partner,
the items behind a figure, vouchers with their reversal partner, the ERP-YX reconciliation.

Every expected figure is worked out by hand below from the rows delivered (key date 2026-10-31).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from models.build import build
from models.loader import load_models
from models.pool import AgingRow, aging, aging_items, reconciliation, voucher
from pipelines.ingest.db import connect
from pipelines.ingest.delivery import discover
from pipelines.ingest.load import ingest_delivery
from tests.conftest import deliver
from tests.pool_scenario import _row, bkpf, bseg, item

DAY = "20261031"
KEY = date(2026, 10, 31)
C1, C2, V1 = "0000100001", "0000100002", "0000200001"
X, Y, W, V, Z = "0100000041", "0100000042", "0100000043", "0100000044", "0100000045"


def _open(r, bukrs, kunnr, belnr, budat, amount, shkzg="S", bschl="01", days="0"):
    return item(r, "BSID", bukrs, kunnr, belnr, budat, "001", bschl, shkzg, amount, "1122020000",
                ZFBDT=budat, ZBD1T=days)


def _yx(r, bill: str, org_no: str, month: str, amount: str) -> list[str]:
    return _row(r, "A_RCVBL_FLOW", RCVBL_AMT_ID=bill, CONS_NO="33" + bill[1:], ORG_NO=org_no, RCVBL_YM=month,
                T_PQ="100", RCVBL_AMT=amount, RCVED_AMT="0.00", RCVBL_PENALTY="0.00", RCVED_PENALTY="0.00",
                OWE_AMT=amount, SETTLE_FLAG="01", RELEASE_DATE="20261005")


_BUILT: dict[str, Path] = {}


def _ledger_database(register) -> Path:
    """The ledger below, delivered, ingested and built once per process into a folder of its own;
    each module fixture opens a copy. (`make mutate` runs every mutant in a process forked from the
    one that ran the tests first: the copy spares each mutant the build, which models/pool.py, the
    module these tests read through, has no part in.)

    Open AR items (due = posting date + ZBD1T days; days past due at 2026-10-31):
        X 3302 C1 2026-10-01  100.00            30 days  1-30
        Y 3301 C2 2026-09-01  200.00            60 days  31-60
        W 3301 C1 2026-09-15  300.00            46 days  31-60
        V 3301 C2 2026-09-05  -20.00 (credit)   56 days  31-60
        Z 3301 C1 2026-10-20   50.00 +30 days   due 2026-11-19: 未到期
    Open AP item: 3301 V1 2023-03-01 -800.00 +60 days, due 2023-04-30: 365+ (posted 3年以上).
    Vouchers: 0100000011 invoice 1000.00 and 0100000012 credit memo 50.00 to 1122010000 (ERP billing
    2026-10 for 3301: 950.00); 0100000021 and its reversal 0100000022; 0100000031 whose reversal
    0100000039 was never delivered, with one line of 75.00 only.
    YX bills: 3301 (3340101, 3340102) 2026-10 600.00 + 349.50; 3301 2026-09 10.00; 3302 (33402) 0.75.
    """
    if "db" in _BUILT:
        return _BUILT["db"]
    folder = Path(tempfile.mkdtemp(prefix="respool-pool-reading-"))
    atexit.register(shutil.rmtree, folder, True)
    r = register
    landing = folder / "landing"
    for table in r.tables:
        if table.code not in ("BKPF", "BSEG", "BSID", "BSIK", "SKAT", "A_RCVBL_FLOW"):
            deliver(landing, r, table.code, DAY, [])
    deliver(landing, r, "SKAT", DAY, [_row(r, "SKAT", SPRAS="1", KTOPL="SG01", SAKNR="1122010000",
                                           TXT20="应收账款-电费", TXT50="应收账款-电费")])
    deliver(landing, r, "BSID", DAY, [
        _open(r, "3302", C1, X, "20261001", "100.00"),
        _open(r, "3301", C2, Y, "20260901", "200.00"),
        _open(r, "3301", C1, W, "20260915", "300.00"),
        _open(r, "3301", C2, V, "20260905", "20.00", shkzg="H", bschl="11"),
        _open(r, "3301", C1, Z, "20261020", "50.00", days="30"),
    ])
    deliver(landing, r, "BSIK", DAY, [
        item(r, "BSIK", "3301", V1, "5100000001", "20230301", "001", "31", "H", "800.00", "2202010000",
             BLART="KR", ZFBDT="20230301", ZBD1T="60")])
    deliver(landing, r, "BKPF", DAY, [
        bkpf(r, "3301", "0100000011", "20261028"),
        bkpf(r, "3301", "0100000012", "20261028", blart="DG"),
        bkpf(r, "3301", "0100000021", "20261010", STBLG="0100000022", STJAH="2026"),
        bkpf(r, "3301", "0100000022", "20261011", blart="AB", STBLG="0100000021", STJAH="2026"),
        bkpf(r, "3301", "0100000031", "20261012", STBLG="0100000039", STJAH="2026"),
    ])
    deliver(landing, r, "BSEG", DAY, [
        bseg(r, "3301", "0100000011", "2026", "002", "50", "S", "H", "1000.00", "6001010000"),
        bseg(r, "3301", "0100000011", "2026", "001", "01", "D", "S", "1000.00", "1122010000", KUNNR=C1),
        bseg(r, "3301", "0100000012", "2026", "001", "11", "D", "H", "50.00", "1122010000", KUNNR=C1),
        bseg(r, "3301", "0100000012", "2026", "002", "40", "S", "S", "50.00", "6001010000"),
        bseg(r, "3301", "0100000021", "2026", "001", "01", "D", "S", "70.00", "1122020000", KUNNR=C2),
        bseg(r, "3301", "0100000021", "2026", "002", "50", "S", "H", "70.00", "6001010000"),
        bseg(r, "3301", "0100000022", "2026", "001", "12", "D", "H", "70.00", "1122020000", KUNNR=C2),
        bseg(r, "3301", "0100000022", "2026", "002", "40", "S", "S", "70.00", "6001010000"),
        bseg(r, "3301", "0100000031", "2026", "001", "40", "S", "S", "75.00", "6001010000"),
    ])
    deliver(landing, r, "A_RCVBL_FLOW", DAY, [
        _yx(r, "R00000001", "3340101", "202610", "600.00"), _yx(r, "R00000002", "3340102", "202610", "349.50"),
        _yx(r, "R00000003", "33402", "202610", "0.75"), _yx(r, "R00000004", "3340101", "202609", "10.00")])
    db = folder / "reading.duckdb"
    with connect(db) as c:
        for delivery in discover([landing], r):
            assert ingest_delivery(c, delivery, r, folder).status == "loaded"
        assert not build(c, load_models()).failed
    _BUILT["db"] = db
    return db


@pytest.fixture(scope="module")
def con(tmp_path_factory, register):
    copy = tmp_path_factory.mktemp("reading") / "reading.duckdb"
    shutil.copyfile(_ledger_database(register), copy)
    c = connect(copy)
    yield c
    c.close()


def test_aging_by_company(con):
    assert aging(con, "ar", KEY, "due") == [
        AgingRow("3301", None, "未到期", Decimal("50.00"), 1),
        AgingRow("3301", None, "31-60", Decimal("480.00"), 3),   # 200 + 300 - 20
        AgingRow("3302", None, "1-30", Decimal("100.00"), 1),
    ]


def test_aging_by_partner(con):
    assert aging(con, "ar", KEY, "due", by_partner=True) == [
        AgingRow("3301", C1, "未到期", Decimal("50.00"), 1),
        AgingRow("3301", C1, "31-60", Decimal("300.00"), 1),
        AgingRow("3301", C2, "31-60", Decimal("180.00"), 2),
        AgingRow("3302", C1, "1-30", Decimal("100.00"), 1),
    ]


def test_aging_of_some_company_codes_only(con):
    assert aging(con, "ar", KEY, "due", by_partner=True, company_codes={"3302"}) == [
        AgingRow("3302", C1, "1-30", Decimal("100.00"), 1)]
    assert aging(con, "ar", KEY, "due", company_codes=["3302", "3301"]) == aging(con, "ar", KEY, "due")
    assert aging(con, "ar", KEY, "due", company_codes={"3399"}) == []
    assert aging(con, "ar", KEY, "due", company_codes=set()) == []  # an organisation without companies sees none


def test_aging_on_the_posting_basis_and_of_payables(con):
    assert aging(con, "ar", KEY, "posting") == [AgingRow("3301", None, "1年以内", Decimal("530.00"), 4),
                                                AgingRow("3302", None, "1年以内", Decimal("100.00"), 1)]
    assert aging(con, "ap", KEY, "due") == [AgingRow("3301", None, "365+", Decimal("-800.00"), 1)]
    assert aging(con, "ap", KEY, "posting", by_partner=True) == [
        AgingRow("3301", V1, "3年以上", Decimal("-800.00"), 1)]


def test_items_behind_a_figure_oldest_first(con):
    items = aging_items(con, "ar", KEY, "due", "3301", "31-60")
    assert [i[3] for i in items] == [Y, V, W]  # posted 09-01, 09-05, 09-15
    assert items[0] == ("3301", C2, "2026", Y, "001", "1122020000", "DR", date(2026, 9, 1), date(2026, 9, 1),
                        60, 60, "31-60", Decimal("200.00"))
    assert sum(i[-1] for i in items) == Decimal("480.00")
    assert [i[3] for i in aging_items(con, "ar", KEY, "due", "3301", "31-60", partner=C2)] == [Y, V]
    assert aging_items(con, "ar", KEY, "due", "3301", "31-60", partner=C1)[0][1:4] == (C1, "2026", W)
    assert aging_items(con, "ar", KEY, "due", "3302", "31-60") == []
    (ap,) = aging_items(con, "ap", KEY, "posting", "3301", "3年以上")
    assert ap[1:4] == (V1, "2023", "5100000001") and ap[-1] == Decimal("-800.00")


@pytest.mark.parametrize(("call", "message"), [
    (lambda c: aging(c, "gl", KEY, "due"), "ledger must be one of ar, ap, not 'gl'"),
    (lambda c: aging(c, "ar", KEY, "entry"), "basis must be one of due, posting, not 'entry'"),
    (lambda c: aging_items(c, "gl", KEY, "due", "3301", "1-30"), "ledger must be one of ar, ap, not 'gl'"),
    (lambda c: aging_items(c, "ar", KEY, "entry", "3301", "1-30"), "basis must be one of due, posting, not 'entry'"),
])
def test_unknown_ledger_or_basis(con, call, message):
    with pytest.raises(ValueError) as raised:
        call(con)
    assert str(raised.value) == message


def test_voucher_lines_in_order_with_account_names(con):
    v = voucher(con, "3301", "2026", "100000011")  # leading zeros added
    assert (v.header["belnr"], v.header["blart"], v.header["budat"]) == ("0100000011", "DR", date(2026, 10, 28))
    assert "_batch_id" not in v.header and "_biz_date" not in v.header
    # the names the data service shows as column headers, in this order
    assert [list(line) for line in v.lines] == [
        ["buzei", "bschl", "koart", "shkzg", "hkont", "account_name_zh", "kunnr", "lifnr", "umskz", "amount_lc",
         "amount_dc", "sgtxt", "zuonr", "prctr", "kostl", "zfbdt", "zterm", "rebzg", "augdt", "augbl"]] * 2
    assert [(line["buzei"], line["hkont"], line["account_name_zh"], line["kunnr"], line["amount_lc"])
            for line in v.lines] == [("001", "1122010000", "应收账款-电费", C1, Decimal("1000.00")),
                                     ("002", "6001010000", None, None, Decimal("-1000.00"))]
    assert v.balance == Decimal("0.00")
    assert v.reversal_partner is None  # not reversed


def test_voucher_and_its_reversal_partner(con):
    original = voucher(con, "3301", "2026", "0100000021")
    assert original.reversal_partner == {"bukrs": "3301", "belnr": "0100000022", "gjahr": "2026", "blart": "AB",
                                         "budat": date(2026, 10, 11), "is_reversal": True}
    assert voucher(con, "3301", "2026", "0100000022").reversal_partner["belnr"] == "0100000021"


def test_voucher_whose_partner_was_never_delivered(con):
    v = voucher(con, "3301", "2026", "0100000031")
    assert v.header["stblg"] == "0100000039"
    assert v.reversal_partner is None
    assert v.balance == Decimal("75.00")  # its one line


def test_voucher_that_does_not_exist(con):
    v = voucher(con, "3301", "2025", "0100000011")  # another fiscal year
    assert (v.header, v.lines, v.reversal_partner, v.balance) == (None, [], None, Decimal("0"))


def test_reconciliation_by_company_and_month(con):
    rows = [(r["bukrs"], r["bill_month"], r["yx_billed"], r["erp_posted"], r["difference"], r["yx_bills"],
             r["erp_documents"]) for r in reconciliation(con)]
    assert rows == [
        ("3301", "202609", Decimal("10.00"), Decimal("0.00"), Decimal("-10.00"), 1, 0),
        ("3301", "202610", Decimal("949.50"), Decimal("950.00"), Decimal("0.50"), 2, 2),
        ("3302", "202610", Decimal("0.75"), Decimal("0.00"), Decimal("-0.75"), 1, 0),
    ]
