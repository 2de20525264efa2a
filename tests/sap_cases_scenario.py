"""Two nights of deliveries built for the SAP edge cases of the pool, through the real contract.

Company 3301, customer C1, vendor V1; every figure the tests expect follows from the rows here.

Night 1 (2026-10-30), all open:
    X  0100000011  AR invoice posted 2026-10-01        1,000.00 S
    Y  0100000012  AR invoice posted 2026-10-05           50.00 S
    N  0100000013  down payment request (noted, UMSKZ F) 5,000.00 S
    D  0100000014  down payment received (UMSKZ A)         800.00 H
    B  0100000015  AR invoice without ZFBDT and BLDAT       1.00 S   -> quarantine NO_BASELINE
    Q  0100000016  AR invoice posted 2023-10-31           200.00 S   (exactly 3 years before 2026-10-31)
    E  0100000017  AR invoice posted 2026-10-30           400.00 S   in BSEG, never in BSID (when `lose_e`)
    Z  5100000011  AP invoice posted 2026-10-02           300.00 H
Night 2 (2026-10-31):
    payment P 1400000011 clears X on 10-31. BSEG re-delivers X's line with AUGDT/AUGBL and carries
    P's lines; BSID no longer has X; BSAD (X and P's customer line) is damaged -> refused.
    Z left BSIK; BSAK carries it without a clearing date -> quarantine NO_CLEARING_DATE; nothing
    else says it was cleared.
With `bseg_late`, night 2's BSEG has no control file yet (late): X has no clearing evidence at all.
"""

from __future__ import annotations

from pathlib import Path

from catalog.register import Register
from tests.conftest import deliver
from tests.pool_scenario import C1, V1, _row, bkpf, bseg, item

NIGHT1, NIGHT2 = "20261030", "20261031"
X, Y, N, D, B, Q, E, Z, P = ("0100000011", "0100000012", "0100000013", "0100000014", "0100000015",
                             "0100000016", "0100000017", "5100000011", "1400000011")
PAID = {"AUGDT": "20261031", "AUGBL": P}


def _master_data(landing: Path, r: Register, day: str) -> None:
    deliver(landing, r, "T001", day, [_row(r, "T001", BUKRS="3301", BUTXT="杭州供电公司", WAERS="CNY", KTOPL="SG01")])
    deliver(landing, r, "SKAT", day, [_row(r, "SKAT", SPRAS="1", KTOPL="SG01", SAKNR="1122020000",
                                           TXT20="应收账款-其他", TXT50="应收账款-其他")])
    deliver(landing, r, "KNA1", day, [_row(r, "KNA1", KUNNR=C1, NAME1="杭州甲公司", KTOKD="Z001")])
    deliver(landing, r, "LFA1", day, [_row(r, "LFA1", LIFNR=V1, NAME1="浙江丙电气", KTOKK="Z002")])
    deliver(landing, r, "A_RCVBL_FLOW", day, [])


def _ar(r: Register, code: str, belnr: str, budat: str, shkzg: str, amount: str, **kw) -> list[str]:
    bschl = "01" if shkzg == "S" else "11"
    return item(r, code, "3301", C1, belnr, budat, "001", kw.pop("BSCHL", bschl), shkzg, amount,
                kw.pop("HKONT", "1122020000"), **kw)


def x_bsid(r):
    return _ar(r, "BSID", X, "20261001", "S", "1000.00", ZFBDT="20261001", ZBD1T="30")


def night1_bsid(r: Register) -> list[list[str]]:
    return [
        x_bsid(r),
        _ar(r, "BSID", Y, "20261005", "S", "50.00", ZFBDT="20261005", ZBD1T="30"),
        _ar(r, "BSID", N, "20261010", "S", "5000.00", BSCHL="09", UMSKZ="F", HKONT="2203010000"),
        _ar(r, "BSID", D, "20261011", "H", "800.00", BSCHL="19", UMSKZ="A", UMSKS="A", HKONT="2203010000"),
        _ar(r, "BSID", B, "20261012", "S", "1.00", BLDAT=""),
        _ar(r, "BSID", Q, "20231031", "S", "200.00", ZFBDT="20231031"),
    ]


def deliver_sap_cases(landing: Path, r: Register, *, lose_e: bool, bseg_late: bool) -> None:
    for day in (NIGHT1, NIGHT2):
        _master_data(landing, r, day)

    deliver(landing, r, "BKPF", NIGHT1, [
        bkpf(r, "3301", X, "20261001"), bkpf(r, "3301", Y, "20261005"),
        bkpf(r, "3301", N, "20261010", blart="DA"), bkpf(r, "3301", D, "20261011", blart="DZ"),
        bkpf(r, "3301", B, "20261012"), bkpf(r, "3301", Q, "20231031"), bkpf(r, "3301", E, "20261030"),
        bkpf(r, "3301", Z, "20261002", blart="KR"),
    ])
    deliver(landing, r, "BSEG", NIGHT1, [
        bseg(r, "3301", X, "2026", "001", "01", "D", "S", "1000.00", "1122020000", KUNNR=C1,
             ZFBDT="20261001", ZBD1T="30"),
        bseg(r, "3301", X, "2026", "002", "50", "S", "H", "1000.00", "6001010000"),
        bseg(r, "3301", Y, "2026", "001", "01", "D", "S", "50.00", "1122020000", KUNNR=C1,
             ZFBDT="20261005", ZBD1T="30"),
        bseg(r, "3301", Y, "2026", "002", "50", "S", "H", "50.00", "6001010000"),
        bseg(r, "3301", N, "2026", "001", "09", "D", "S", "5000.00", "2203010000", KUNNR=C1, UMSKZ="F"),
        bseg(r, "3301", N, "2026", "002", "50", "S", "H", "5000.00", "2203990000"),
        bseg(r, "3301", D, "2026", "001", "19", "D", "H", "800.00", "2203010000", KUNNR=C1, UMSKZ="A"),
        bseg(r, "3301", D, "2026", "002", "40", "S", "S", "800.00", "1002010000"),
        bseg(r, "3301", B, "2026", "001", "01", "D", "S", "1.00", "1122020000", KUNNR=C1),
        bseg(r, "3301", B, "2026", "002", "50", "S", "H", "1.00", "6001010000"),
        bseg(r, "3301", Q, "2023", "001", "01", "D", "S", "200.00", "1122020000", KUNNR=C1, ZFBDT="20231031"),
        bseg(r, "3301", Q, "2023", "002", "50", "S", "H", "200.00", "6001010000"),
        bseg(r, "3301", E, "2026", "001", "01", "D", "S", "400.00", "1122020000", KUNNR=C1, ZFBDT="20261030"),
        bseg(r, "3301", E, "2026", "002", "50", "S", "H", "400.00", "6001010000"),
        bseg(r, "3301", Z, "2026", "001", "31", "K", "H", "300.00", "2202010000", LIFNR=V1, ZFBDT="20261002"),
        bseg(r, "3301", Z, "2026", "002", "40", "S", "S", "300.00", "6401010000"),
    ])
    e_row = _ar(r, "BSID", E, "20261030", "S", "400.00", ZFBDT="20261030")
    deliver(landing, r, "BSID", NIGHT1, night1_bsid(r) + ([] if lose_e else [e_row]))
    deliver(landing, r, "BSAD", NIGHT1, [])
    z_open = item(r, "BSIK", "3301", V1, Z, "20261002", "001", "31", "H", "300.00", "2202010000",
                  BLART="KR", ZFBDT="20261002")
    deliver(landing, r, "BSIK", NIGHT1, [z_open])
    deliver(landing, r, "BSAK", NIGHT1, [])

    # night 2
    deliver(landing, r, "BKPF", NIGHT2, [bkpf(r, "3301", P, "20261031", blart="DZ")])
    deliver(landing, r, "BSEG", NIGHT2, [
        bseg(r, "3301", X, "2026", "001", "01", "D", "S", "1000.00", "1122020000", KUNNR=C1,
             ZFBDT="20261001", ZBD1T="30", **PAID),
        bseg(r, "3301", P, "2026", "001", "15", "D", "H", "1000.00", "1122020000", KUNNR=C1, **PAID),
        bseg(r, "3301", P, "2026", "002", "40", "S", "S", "1000.00", "1002010000"),
    ])
    if bseg_late:  # the data files are there, the control file is not: still being written
        (landing / NIGHT2 / f"ERP_BSEG_{NIGHT2}.chk").unlink()
    rest = [row for row in night1_bsid(r) if row != x_bsid(r)]
    deliver(landing, r, "BSID", NIGHT2, rest + ([] if lose_e else [e_row]))
    deliver_bsad_night2(landing, r)
    damage(landing / NIGHT2, "BSAD")
    deliver(landing, r, "BSIK", NIGHT2, [])
    deliver(landing, r, "BSAK", NIGHT2, [
        item(r, "BSAK", "3301", V1, Z, "20261002", "001", "31", "H", "300.00", "2202010000",
             BLART="KR", ZFBDT="20261002", AUGDT="00000000", AUGBL="1500000011"),
    ])


def deliver_bsad_night2(landing: Path, r: Register) -> None:
    deliver(landing, r, "BSAD", NIGHT2, [
        _ar(r, "BSAD", X, "20261001", "S", "1000.00", ZFBDT="20261001", ZBD1T="30", **PAID),
        _ar(r, "BSAD", P, "20261031", "H", "1000.00", BSCHL="15", BLART="DZ", **PAID),
    ])


def damage(folder: Path, code: str) -> None:
    """Flip one byte of the table's first data file: its md5 no longer matches the control file."""
    path = next(p for p in sorted(folder.iterdir()) if p.name.startswith(f"ERP_{code}_") and ".csv" in p.name)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
