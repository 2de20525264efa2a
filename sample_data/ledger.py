"""The sample ledger: accounting documents and their bookkeeping as SAP does it.

Numbering per company code, fiscal year and number range; open items; clearing (AUGDT/AUGBL on
the cleared lines and on the clearing line); reversal (STBLG/STJAH both ways, mirrored lines);
and the rows each object gives in BKPF, BSEG and the open/cleared item tables.
Amounts are kept as unsigned integer cents with SHKZG carrying the sign, as in BSEG.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sample_data.values import CURRENCY, MANDT, NO_DATE, amount, hhmmss, ymd

# Number range (first two digits of BELNR) per document type.
RANGES = {"SA": "10", "AB": "11", "DZ": "14", "KZ": "15", "DG": "17", "DR": "18", "KR": "51", "KG": "52"}
# Posting key of the reversing line: debit and credit swapped.
MIRROR = {"01": "11", "11": "01", "21": "31", "31": "21", "40": "50", "50": "40", "09": "19", "19": "09",
          "29": "39", "39": "29", "15": "05", "05": "15", "25": "35", "35": "25"}


class Doc:
    """A BKPF header with its BSEG lines."""

    __slots__ = ("awkey", "awtyp", "belnr", "bktxt", "blart", "bldat", "budat", "bukrs", "cpudt", "cputm",
                 "day", "gjahr", "headerless", "kursf", "lines", "stblg", "stjah", "tcode", "usnam", "xblnr")

    def __init__(self, bukrs: str, belnr: str, blart: str, budat: date, bldat: date, tcode: str, usnam: str,
                 cputm: int, xblnr: str, bktxt: str, awtyp: str, awkey: str, day: int) -> None:
        self.bukrs, self.belnr, self.gjahr, self.blart = bukrs, belnr, str(budat.year), blart
        self.budat, self.bldat, self.cpudt, self.cputm = budat, bldat, budat, cputm
        self.tcode, self.usnam, self.xblnr, self.bktxt = tcode, usnam, xblnr, bktxt
        self.awtyp, self.awkey, self.day = awtyp, awkey, day
        self.kursf, self.stblg, self.stjah = "1.00000", "", ""
        self.headerless = False  # an orphan: its lines are delivered, its header never
        self.lines: list[Line] = []

    def balance(self) -> int:
        return sum(line.signed for line in self.lines)


class Line:
    """A BSEG line item."""

    __slots__ = ("augbl", "augdt", "bschl", "buzei", "cents", "doc", "hkont", "koart", "kostl", "kunnr", "lifnr",
                 "prctr", "rebzg", "sgtxt", "shkzg", "umskz", "zbd1t", "zbd2t", "zbd3t", "zfbdt", "zterm", "zuonr")

    def __init__(self, doc: Doc, buzei: int, bschl: str, koart: str, shkzg: str, cents: int, hkont: str) -> None:
        self.doc, self.buzei, self.bschl, self.koart, self.shkzg = doc, buzei, bschl, koart, shkzg
        self.cents, self.hkont = cents, hkont
        self.kunnr = self.lifnr = self.umskz = self.sgtxt = self.zuonr = self.zfbdt = self.zterm = ""
        self.zbd1t = self.zbd2t = self.zbd3t = "0"
        self.rebzg = self.augbl = self.prctr = self.kostl = ""
        self.augdt = NO_DATE

    @property
    def signed(self) -> int:
        return self.cents if self.shkzg == "S" else -self.cents

    @property
    def is_open(self) -> bool:
        return not self.augbl


class Ledger:
    """Documents posted so far, the open customer and vendor items, and what changed today."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, str, str], int] = {}
        # insertion-ordered dicts used as ordered sets, so iteration never depends on hashing
        self.open_d: dict[Line, None] = {}
        self.open_k: dict[Line, None] = {}
        self.begin_day(0)

    def begin_day(self, index: int) -> None:
        """Start collecting the postings and changes that the delivery of day `index` carries."""
        self.day = index
        self.new_docs: list[Doc] = []
        self.changed_docs: dict[Doc, None] = {}
        self.changed_lines: dict[Line, None] = {}
        self.cleared_d: list[Line] = []
        self.cleared_k: list[Line] = []

    def number(self, bukrs: str, gjahr: str, blart: str) -> str:
        prefix = RANGES[blart]
        key = (bukrs, gjahr, prefix)
        n = self._next.get(key, 0) + 1
        self._next[key] = n
        return f"{prefix}{n:08d}"

    def document(self, bukrs: str, blart: str, budat: date, bldat: date, tcode: str, usnam: str, cputm: int,
                 xblnr: str = "", bktxt: str = "", awtyp: str = "BKPF", awkey: str | None = None) -> Doc:
        belnr = self.number(bukrs, str(budat.year), blart)
        if awkey is None:
            awkey = f"{belnr}{bukrs}{budat.year}"
        return Doc(bukrs, belnr, blart, budat, bldat, tcode, usnam, cputm, xblnr, bktxt, awtyp, awkey, self.day)

    @staticmethod
    def add(doc: Doc, bschl: str, koart: str, shkzg: str, cents: int, hkont: str, **fields: str) -> Line:
        """Append a line; `fields` sets the optional BSEG fields by their lower-case names."""
        line = Line(doc, len(doc.lines) + 1, bschl, koart, shkzg, cents, hkont)
        for name, value in fields.items():
            setattr(line, name, value)
        doc.lines.append(line)
        return line

    def post(self, doc: Doc) -> Doc:
        self.new_docs.append(doc)
        for line in doc.lines:
            if line.is_open:
                if line.koart == "D":
                    self.open_d[line] = None
                elif line.koart == "K":
                    self.open_k[line] = None
        return doc

    def clear(self, lines: Iterable[Line], clearing: Doc) -> None:
        """Clear the items with document `clearing` on its posting date."""
        augdt = ymd(clearing.budat)
        for line in lines:
            line.augdt, line.augbl = augdt, clearing.belnr
            if line.koart == "D":
                self.open_d.pop(line, None)
                self.cleared_d.append(line)
            else:
                self.open_k.pop(line, None)
                self.cleared_k.append(line)
            if line.doc.day < self.day:
                self.changed_lines[line] = None  # an earlier delivery carried it open: re-deliver it

    def reverse(self, original: Doc, budat: date, usnam: str, cputm: int) -> Doc:
        """FB08: a mirrored document; both stay, both point at each other, their items clear each other."""
        rev = self.document(original.bukrs, "AB", budat, budat, "FB08", usnam, cputm, xblnr=original.xblnr,
                            bktxt=f"冲销凭证{original.belnr}")
        for line in original.lines:
            mirrored = self.add(rev, MIRROR[line.bschl], line.koart, "H" if line.shkzg == "S" else "S", line.cents,
                                line.hkont, kunnr=line.kunnr, lifnr=line.lifnr, umskz=line.umskz,
                                sgtxt=f"冲销:{line.sgtxt}"[:50], zuonr=line.zuonr, prctr=line.prctr,
                                kostl=line.kostl)
            if line.koart in "DK":
                mirrored.zfbdt, mirrored.zterm, mirrored.rebzg = ymd(budat), "0001", original.belnr
        original.stblg, original.stjah = rev.belnr, rev.gjahr
        rev.stblg, rev.stjah = original.belnr, original.gjahr
        self.post(rev)
        if original.day < self.day:
            self.changed_docs[original] = None
        self.clear([line for line in (*original.lines, *rev.lines) if line.koart in "DK"], rev)
        return rev


def bkpf_record(doc: Doc) -> dict[str, str]:
    return {"MANDT": MANDT, "BUKRS": doc.bukrs, "BELNR": doc.belnr, "GJAHR": doc.gjahr, "BLART": doc.blart,
            "BLDAT": ymd(doc.bldat), "BUDAT": ymd(doc.budat), "MONAT": f"{doc.budat.month:02d}",
            "CPUDT": ymd(doc.cpudt), "CPUTM": hhmmss(doc.cputm), "USNAM": doc.usnam, "TCODE": doc.tcode,
            "XBLNR": doc.xblnr, "BKTXT": doc.bktxt, "WAERS": CURRENCY, "KURSF": doc.kursf, "STBLG": doc.stblg,
            "STJAH": doc.stjah, "AWTYP": doc.awtyp, "AWKEY": doc.awkey}


def bseg_record(line: Line) -> dict[str, str]:
    doc = line.doc
    value = amount(line.cents)
    return {"MANDT": MANDT, "BUKRS": doc.bukrs, "BELNR": doc.belnr, "GJAHR": doc.gjahr,
            "BUZEI": f"{line.buzei:03d}", "BSCHL": line.bschl, "KOART": line.koart, "UMSKZ": line.umskz,
            "SHKZG": line.shkzg, "DMBTR": value, "WRBTR": value, "SGTXT": line.sgtxt, "ZUONR": line.zuonr,
            "HKONT": line.hkont, "KUNNR": line.kunnr, "LIFNR": line.lifnr, "ZFBDT": line.zfbdt,
            "ZTERM": line.zterm, "ZBD1T": line.zbd1t, "ZBD2T": line.zbd2t, "ZBD3T": line.zbd3t,
            "REBZG": line.rebzg, "AUGDT": line.augdt, "AUGBL": line.augbl, "PRCTR": line.prctr,
            "KOSTL": line.kostl}


def item_record(line: Line) -> dict[str, str]:
    """The line as BSID/BSAD (customer) or BSIK/BSAK (vendor) carry it: BSEG fields plus header fields."""
    doc = line.doc
    value = amount(line.cents)
    return {"MANDT": MANDT, "BUKRS": doc.bukrs, "KUNNR": line.kunnr, "LIFNR": line.lifnr,
            "UMSKS": "A" if line.umskz == "A" else "", "UMSKZ": line.umskz, "AUGDT": line.augdt,
            "AUGBL": line.augbl, "ZUONR": line.zuonr, "GJAHR": doc.gjahr, "BELNR": doc.belnr,
            "BUZEI": f"{line.buzei:03d}", "BUDAT": ymd(doc.budat), "BLDAT": ymd(doc.bldat), "WAERS": CURRENCY,
            "XBLNR": doc.xblnr, "BLART": doc.blart, "BSCHL": line.bschl, "SHKZG": line.shkzg, "DMBTR": value,
            "WRBTR": value, "SGTXT": line.sgtxt, "HKONT": line.hkont, "ZFBDT": line.zfbdt, "ZTERM": line.zterm,
            "ZBD1T": line.zbd1t, "ZBD2T": line.zbd2t, "ZBD3T": line.zbd3t, "REBZG": line.rebzg,
            "PRCTR": line.prctr}
