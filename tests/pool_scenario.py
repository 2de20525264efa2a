"""A small hand-made ledger, delivered through the real contract and ingest, for the pool tests.

Every figure the tests expect is computed by hand from the rows below.
"""

from __future__ import annotations

from pathlib import Path

from catalog.register import Register
from tests.conftest import deliver

DAY1, DAY2 = "20261026", "20261027"


def _row(register: Register, code: str, **values: str) -> list[str]:
    table = register.table(code)
    unknown = set(values) - set(table.column_names)
    assert not unknown, unknown
    base = {"MANDT": "800"} if "MANDT" in table.column_names else {}
    return [{**base, **values}.get(c, "") for c in table.column_names]


def bkpf(register, bukrs, belnr, budat, blart="DR", bldat=None, **kw) -> list[str]:
    values = {"BUKRS": bukrs, "BELNR": belnr, "GJAHR": budat[:4], "BLART": blart, "BLDAT": bldat or budat,
              "BUDAT": budat, "MONAT": budat[4:6], "CPUDT": budat, "CPUTM": "100000", "USNAM": "TEST",
              "TCODE": "FB70", "WAERS": "CNY", "KURSF": "1.00000"}
    return _row(register, "BKPF", **{**values, **kw})


def bseg(register, bukrs, belnr, gjahr, buzei, bschl, koart, shkzg, amount, hkont, **kw) -> list[str]:
    return _row(register, "BSEG", BUKRS=bukrs, BELNR=belnr, GJAHR=gjahr, BUZEI=buzei, BSCHL=bschl, KOART=koart,
                SHKZG=shkzg, DMBTR=amount, WRBTR=amount, HKONT=hkont, AUGDT=kw.pop("AUGDT", "00000000"), **kw)


def item(register, code, bukrs, partner, belnr, budat, buzei, bschl, shkzg, amount, hkont, **kw) -> list[str]:
    partner_col = "KUNNR" if code in ("BSID", "BSAD") else "LIFNR"
    return _row(register, code, BUKRS=bukrs, **{partner_col: partner}, GJAHR=budat[:4], BELNR=belnr,
                BUZEI=buzei, BUDAT=budat, BLDAT=kw.pop("BLDAT", budat), WAERS="CNY", BLART=kw.pop("BLART", "DR"),
                BSCHL=bschl, SHKZG=shkzg, DMBTR=amount, WRBTR=amount, HKONT=hkont,
                AUGDT=kw.pop("AUGDT", "00000000"), **kw)


C1, C2, V1 = "0000100001", "0000100002", "0000200001"


def deliver_scenario(landing: Path, register: Register) -> None:
    r = register
    # master data, both days (FULL)
    for day in (DAY1, DAY2):
        deliver(landing, r, "T001", day, [_row(r, "T001", BUKRS="3301", BUTXT="杭州供电公司", WAERS="CNY",
                                                KTOPL="SG01")])
        deliver(landing, r, "SKAT", day, [
            _row(r, "SKAT", SPRAS="1", KTOPL="SG01", SAKNR="1122020000", TXT20="应收账款-其他", TXT50="应收账款-其他"),
            _row(r, "SKAT", SPRAS="E", KTOPL="SG01", SAKNR="1122020000", TXT20="AR other", TXT50="AR other"),
        ])
        deliver(landing, r, "KNA1", day, [_row(r, "KNA1", KUNNR=C1, NAME1="杭州甲公司 ", KTOKD="Z001"),
                                          _row(r, "KNA1", KUNNR=C2, NAME1="杭州乙公司", KTOKD="Z001")])
        deliver(landing, r, "LFA1", day, [_row(r, "LFA1", LIFNR=V1, NAME1="浙江丙电气", KTOKK="Z002")])
        deliver(landing, r, "A_RCVBL_FLOW", day, [])

    # day 1: A invoice (due +30), B credit memo without reference, C three-level terms,
    # D down payment (special G/L A), E vendor invoice, F invoice and G its reversal
    deliver(landing, r, "BKPF", DAY1, [
        bkpf(r, "3301", "0100000001", "20251001", bldat="20250930"),
        bkpf(r, "3301", "0100000002", "20251015", blart="DG"),
        bkpf(r, "3301", "0100000003", "20240601"),
        bkpf(r, "3301", "0100000004", "20260901", blart="DZ"),
        bkpf(r, "3301", "5100000001", "20230301", blart="KR"),
        bkpf(r, "3301", "0100000006", "20260801", STBLG="0100000007", STJAH="2026"),
        bkpf(r, "3301", "0100000007", "20260802", blart="AB", STBLG="0100000006", STJAH="2026",
             CPUTM="110000"),
    ])
    deliver(landing, r, "BSEG", DAY1, [
        bseg(r, "3301", "0100000001", "2025", "001", "01", "D", "S", "1000.00", "1122020000", KUNNR=C1,
             ZFBDT="20251001", ZBD1T="30"),
        bseg(r, "3301", "0100000001", "2025", "002", "50", "S", "H", "1000.00", "6001010000"),
        bseg(r, "3301", "0100000002", "2025", "001", "11", "D", "H", "200.00", "1122020000", KUNNR=C1,
             ZFBDT="20251015", ZBD1T="30"),
        bseg(r, "3301", "0100000002", "2025", "002", "40", "S", "S", "200.00", "6001010000"),
        bseg(r, "3301", "0100000003", "2024", "001", "01", "D", "S", "300.00", "1122020000", KUNNR=C2,
             ZFBDT="", ZBD1T="10", ZBD2T="20", ZBD3T="45"),
        bseg(r, "3301", "0100000003", "2024", "002", "50", "S", "H", "300.00", "6001010000"),
        bseg(r, "3301", "0100000004", "2026", "001", "19", "D", "H", "500.00", "2203010000", KUNNR=C2,
             UMSKZ="A"),
        bseg(r, "3301", "0100000004", "2026", "002", "40", "S", "S", "500.00", "1002010000"),
        bseg(r, "3301", "5100000001", "2023", "001", "31", "K", "H", "800.00", "2202010000", LIFNR=V1,
             ZFBDT="20230301", ZBD1T="60"),
        bseg(r, "3301", "5100000001", "2023", "002", "40", "S", "S", "800.00", "6401010000"),
        bseg(r, "3301", "0100000006", "2026", "001", "01", "D", "S", "70.00", "1122020000", KUNNR=C2,
             AUGDT="20260802", AUGBL="0100000007"),
        bseg(r, "3301", "0100000006", "2026", "002", "50", "S", "H", "70.00", "6001010000"),
        bseg(r, "3301", "0100000007", "2026", "001", "12", "D", "H", "70.00", "1122020000", KUNNR=C2,
             REBZG="0100000006", AUGDT="20260802", AUGBL="0100000007"),
        bseg(r, "3301", "0100000007", "2026", "002", "40", "S", "S", "70.00", "6001010000"),
        # cannot be cleansed: key missing, impossible date
        bseg(r, "3301", "", "2026", "001", "40", "S", "S", "1.00", "6001010000"),
        bseg(r, "3301", "0100000009", "2026", "001", "40", "S", "S", "1.00", "6001010000", ZFBDT="20261331"),
    ])
    deliver(landing, r, "BSID", DAY1, [
        item(r, "BSID", "3301", C1, "0100000001", "20251001", "001", "01", "S", "1000.00", "1122020000",
             BLDAT="20250930", ZFBDT="20251001", ZBD1T="30"),
        item(r, "BSID", "3301", C1, "0100000002", "20251015", "001", "11", "H", "200.00", "1122020000",
             BLART="DG", ZFBDT="20251015", ZBD1T="30"),
        item(r, "BSID", "3301", C2, "0100000003", "20240601", "001", "01", "S", "300.00", "1122020000",
             ZBD1T="10", ZBD2T="20", ZBD3T="45"),
        item(r, "BSID", "3301", C2, "0100000004", "20260901", "001", "19", "H", "500.00", "2203010000",
             BLART="DZ", UMSKZ="A"),
    ])
    deliver(landing, r, "BSAD", DAY1, [
        item(r, "BSAD", "3301", C2, "0100000006", "20260801", "001", "01", "S", "70.00", "1122020000",
             AUGDT="20260802", AUGBL="0100000007"),
        item(r, "BSAD", "3301", C2, "0100000007", "20260802", "001", "12", "H", "70.00", "1122020000",
             BLART="AB", REBZG="0100000006", AUGDT="20260802", AUGBL="0100000007"),
    ])
    deliver(landing, r, "BSIK", DAY1, [
        item(r, "BSIK", "3301", V1, "5100000001", "20230301", "001", "31", "H", "800.00", "2202010000",
             BLART="KR", ZFBDT="20230301", ZBD1T="60"),
    ])
    deliver(landing, r, "BSAK", DAY1, [])

    # day 2: payment P clears A on 2026-10-27; A's line re-delivered cleared; P's bank line twice
    deliver(landing, r, "BKPF", DAY2, [bkpf(r, "3301", "1400000001", "20261027", blart="DZ")])
    paid = {"AUGDT": "20261027", "AUGBL": "1400000001"}
    deliver(landing, r, "BSEG", DAY2, [
        bseg(r, "3301", "0100000001", "2025", "001", "01", "D", "S", "1000.00", "1122020000", KUNNR=C1,
             ZFBDT="20251001", ZBD1T="30", **paid),
        bseg(r, "3301", "1400000001", "2026", "001", "15", "D", "H", "1000.00", "1122020000", KUNNR=C1, **paid),
        bseg(r, "3301", "1400000001", "2026", "002", "40", "S", "S", "1000.00", "1002010000"),
        bseg(r, "3301", "1400000001", "2026", "002", "40", "S", "S", "1000.00", "1002010000"),
    ])
    deliver(landing, r, "BSID", DAY2, [
        item(r, "BSID", "3301", C1, "0100000002", "20251015", "001", "11", "H", "200.00", "1122020000",
             BLART="DG", ZFBDT="20251015", ZBD1T="30"),
        item(r, "BSID", "3301", C2, "0100000003", "20240601", "001", "01", "S", "300.00", "1122020000",
             ZBD1T="10", ZBD2T="20", ZBD3T="45"),
        item(r, "BSID", "3301", C2, "0100000004", "20260901", "001", "19", "H", "500.00", "2203010000",
             BLART="DZ", UMSKZ="A"),
    ])
    deliver(landing, r, "BSAD", DAY2, [
        item(r, "BSAD", "3301", C1, "0100000001", "20251001", "001", "01", "S", "1000.00", "1122020000",
             BLDAT="20250930", ZFBDT="20251001", ZBD1T="30", **paid),
        item(r, "BSAD", "3301", C1, "1400000001", "20261027", "001", "15", "H", "1000.00", "1122020000",
             BLART="DZ", **paid),
    ])
    deliver(landing, r, "BSIK", DAY2, [
        item(r, "BSIK", "3301", V1, "5100000001", "20230301", "001", "31", "H", "800.00", "2202010000",
             BLART="KR", ZFBDT="20230301", ZBD1T="60"),
    ])
    deliver(landing, r, "BSAK", DAY2, [])


def deliver_bad_terms_item(landing: Path, register: Register) -> None:
    """Day 2's BSID again, plus an item whose terms (ZBD1T -5) put its net due date before its
    baseline date: the `error` check dwd_ar_item.net_due_not_before_baseline fails on it."""
    (landing / DAY2 / "ERP_BSID_20261027.chk").unlink()
    deliver(landing, register, "BSID", DAY2, [
        item(register, "BSID", "3301", C2, "0100000003", "20240601", "001", "01", "S", "300.00", "1122020000",
             ZBD1T="10", ZBD2T="20", ZBD3T="45"),
        item(register, "BSID", "3301", C1, "0100000099", "20261020", "001", "01", "S", "10.00", "1122020000",
             ZFBDT="20261020", ZBD1T="-5"),
    ])
