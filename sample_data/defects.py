"""The deliberate defects of a sample delivery, injected where ingestion and the checks must catch them.

Each defect lands on a day offset that exists in any run of three or more business dates (0: the
initial load, 1, 2, and the last day); with fewer days the ones that do not fit are listed as
skipped. Every defect is recorded for the manifest with the file(s) and key(s) it affects and the
rule that should catch it. sample_data/README.md describes them for people.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from catalog.contract import ControlFile, FileEntry
from catalog.register import Register
from sample_data import chart_of_accounts
from sample_data.business import Business
from sample_data.ledger import Doc, Ledger, Line, bkpf_record, bseg_record, item_record
from sample_data.marketing import Bill, Marketing, bill_record
from sample_data.masterdata import MasterData
from sample_data.values import MANDT, NO_DATE, amount, ym, ymd
from sample_data.writer import write_control

REDELIVERY = "redelivery"  # the second landing root, ingested after the first
RECONCILIATION_DIFFERENCE = 528_000  # cents: ERP posts 5,280.00 more than YX billed
LATE_VOUCHER_TIME = 23 * 3600 + 55 * 60 + 12

RULES = {
    "redelivery": "contract §1: a business date delivered again replaces what its earlier delivery loaded "
                  "(INCR: upsert by key; FULL: the snapshot); loading it twice equals loading it once",
    "duplicate_rows": "uniqueness: primary key unique within a delivery; exact duplicate rows are collapsed "
                      "(or quarantined) before the upsert",
    "zero_date": "cleansing: 00000000 (and empty) means no date; it becomes NULL, never 0000-00-00",
    "trailing_minus": "cleansing: SAP trailing-minus amounts (123.40-) are negative numbers",
    "trailing_blanks": "cleansing: text is right-trimmed in dwd (ods keeps the value as delivered)",
    "orphan_line": "referential integrity: every BSEG line has its BKPF header",
    "unbalanced_voucher": "consistency: the signed DMBTR of a document's BSEG lines sums to 0",
    "open_item_without_line": "referential integrity: every BSID/BSIK open item has its BSEG line",
    "md5_mismatch": "contract §2: bytes and md5 of each data file equal the .chk; the delivery is refused",
    "row_count_mismatch": "contract §2: data rows of each file equal the .chk; the delivery is refused",
    "wrong_encoding": "contract §2: a data file decodes in the .chk's encoding; the delivery is refused "
                      "and the correct re-delivery under redelivery/ is loaded",
    "unparseable_value": "validity: a date or amount that does not parse; the row is quarantined",
    "empty_key": "completeness: a key field is empty; the row is quarantined",
    "reconciliation_difference": "reconciliation: ERP 1122010000 (YX vouchers, BLART DR/DG) vs YX RCVBL_AMT per "
                                 "company code and month; exactly this difference is reported",
}


@dataclass
class Defect:
    id: str
    code: str  # the letter in sample_data/README.md (a..m)
    kind: str
    table: str
    day: int
    detail: str
    facts: dict[str, object] = field(default_factory=dict)
    keys: list[dict[str, object]] = field(default_factory=list)  # {"table": code, "key": {column: value}}
    files: list[str] = field(default_factory=list)


@dataclass
class DayExtras:
    """Rows a day's files carry beyond the state of the ledger and the marketing system."""

    duplicate_lines: dict[Line, None] = field(default_factory=dict)
    extra_bseg: list[dict[str, str]] = field(default_factory=list)
    duplicate_bills: dict[Bill, None] = field(default_factory=dict)
    bill_overrides: dict[Bill, dict[str, str]] = field(default_factory=dict)


# code -> (kind, the day offset it needs: 0, 1, 2 or -1 for the last day)
PLACES = (("a", "redelivery", -1), ("b", "duplicate_rows", 2), ("c", "zero_date", 0), ("d", "trailing_minus", 1),
          ("d", "trailing_minus", 2), ("e", "trailing_blanks", 0), ("e", "trailing_blanks", 1),
          ("f", "orphan_line", 1), ("g", "unbalanced_voucher", 1), ("h", "open_item_without_line", 1),
          ("i", "md5_mismatch", 1), ("j", "row_count_mismatch", 1), ("k", "wrong_encoding", 1),
          ("l", "unparseable_value", 2), ("l", "empty_key", 2), ("m", "reconciliation_difference", 0))


class DefectPlan:
    def __init__(self, enabled: bool, rng: random.Random, register: Register, dates: list[date], ledger: Ledger,
                 business: Business, marketing: Marketing, world: MasterData) -> None:
        self.enabled, self.rng, self.register, self.dates = enabled, rng, register, dates
        self.ledger, self.business, self.marketing, self.world = ledger, business, marketing, world
        self.last = len(dates) - 1
        self.defects: list[Defect] = []
        self.skipped: list[dict[str, object]] = []
        self._watch: dict[tuple[str, int, str], dict[tuple[str, ...], list[Defect]]] = {}
        self._used: dict[Line, None] = {}
        self._correction: tuple[Line, str] | None = None
        if enabled:
            for code, kind, day in PLACES:
                if day > self.last:
                    self.skipped.append({"code": code, "kind": kind, "day_offset": day,
                                         "reason": f"needs at least {day + 1} business dates"})

    def _fits(self, day: int) -> bool:
        return self.enabled and day <= self.last

    # -- bookkeeping for the manifest ------------------------------------------------------------
    def _add(self, code: str, kind: str, table: str, day: int, detail: str, **facts: object) -> Defect:
        n = sum(1 for d in self.defects if d.code == code) + 1
        defect = Defect(f"{code}{n}", code, kind, table, day, detail, dict(facts))
        self.defects.append(defect)
        return defect

    def _locate(self, defect: Defect, table: str, days: range | list[int], record: dict[str, str],
                root: str = "") -> None:
        columns = self.register.table(table).key
        key = tuple(record[c] for c in columns)
        entry = {"table": table, "key": dict(zip(columns, key, strict=True))}
        if entry not in defect.keys:
            defect.keys.append(entry)
        for day in days:
            self._watch.setdefault((table, day, root), {}).setdefault(key, []).append(defect)

    def watch(self, table: str, day: int, root: str = "") -> set[tuple[str, ...]]:
        return set(self._watch.get((table, day, root), {}))

    def found(self, table: str, day: int, root: str, located: dict[tuple[str, ...], str]) -> None:
        """The generator tells in which file each watched key landed."""
        for key, path in located.items():
            for defect in self._watch[(table, day, root)][key]:
                if path not in defect.files:
                    defect.files.append(path)

    def manifest(self) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        entries = []
        for d in sorted(self.defects, key=lambda d: (d.day, d.code, d.id)):
            entries.append({"id": d.id, "code": d.code, "kind": d.kind, "table": d.table,
                            "biz_date": ymd(self.dates[d.day]), "day_offset": d.day,
                            "file": d.files[0] if d.files else None, "files": d.files, "keys": d.keys,
                            "rule": RULES[d.kind], "detail": d.detail, **d.facts})
        return entries, self.skipped

    # -- hosts: lines of the day the defects can be placed on ----------------------------------------
    def _customer_items(self, day: date, n: int) -> list[Line]:
        """`n` open customer invoice items posted today (FB70 with revenue), posting more if needed."""
        found = [doc.lines[0] for doc in self.ledger.new_docs
                 if doc.blart == "DR" and doc.tcode == "FB70" and len(doc.lines) == 3 and not doc.stblg
                 and doc.lines[0].is_open and doc.lines[0] not in self._used]
        while len(found) < n:
            line = self.business.customer_invoice(day)
            if len(line.doc.lines) == 3:
                found.append(line)
        chosen = found[:n]
        for line in chosen:
            self._used[line] = None
        return chosen

    def _vendor_doc(self, day: date) -> Doc:
        for doc in self.ledger.new_docs:
            if doc.tcode == "FB60" and not doc.stblg and doc.lines[0] not in self._used:
                break
        else:
            category = "服务"
            doc = self.business.vendor_invoice(day, self.world.pick_vendor(self.rng, category), category).doc
        self._used[doc.lines[0]] = None
        return doc

    # -- before the history is simulated -----------------------------------------------------------
    def before_history(self, start: date) -> None:
        if not self._fits(0):
            return
        prev = date(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1)
        org = self.rng.choice(list(self.marketing.unit_name))
        self.marketing.posting_difference = (org, ym(prev), RECONCILIATION_DIFFERENCE)

    # -- after a day is simulated, before its files are written --------------------------------------
    def after_simulation(self, index: int, day: date) -> DayExtras:
        extras = DayExtras()
        if not self.enabled:
            return extras
        if index == 0:
            self._day0(day)
        if index == 1:
            self._day1(day)
        if index == 2:
            self._day2(day, extras)
        if index == self.last:
            self._last_day_original(day)
        return extras

    def _day0(self, day: date) -> None:
        # m: the YX billing voucher of one unit and month posted with a difference
        org, month, diff = self.marketing.posting_difference or ("", "", 0)
        line = self.marketing.billing_line[(org, month)]
        unit = self.marketing.unit_name[org]
        m = self._add("m", "reconciliation_difference", "BSEG", 0,
                      f"the ERP billing voucher of supply unit {org} ({unit}) for {month} posts {amount(diff)} "
                      "more on 1122010000 than YX billed", org_no=org, bukrs=line.doc.bukrs, bill_month=month,
                      yx_billed=amount(line.cents - diff), erp_posted=amount(line.cents), difference=amount(diff))
        self._locate(m, "BKPF", [0], bkpf_record(line.doc))
        self._locate(m, "BSEG", [0], bseg_record(line))
        # c: 00000000 instead of an empty baseline date on some invoice items
        candidates = [line for doc in self.ledger.new_docs if doc.tcode in ("FB70", "FB60")
                      for line in doc.lines if line.koart in "DK" and line.zfbdt == ""]
        lines = self.rng.sample(candidates, min(5, len(candidates)))
        c = self._add("c", "zero_date", "BSEG", 0, "ZFBDT written 00000000 (no baseline date: due from BLDAT); "
                      "the open ones carry it into BSID/BSIK too", value=NO_DATE)
        for line in lines:
            line.zfbdt = NO_DATE
            self._locate(c, "BSEG", [0], bseg_record(line))
            if line.is_open:
                self._locate(c, "BSID" if line.koart == "D" else "BSIK", [0], item_record(line))
        everyone = range(self.last + 1)
        customers = self.rng.sample([p for p in self.world.customers if not p.loevm], 5)
        c2 = self._add("c", "zero_date", "KNA1", 0, "ERDAT 00000000 (creation date unknown), in every KNA1 snapshot",
                       value=NO_DATE)
        for p in customers[:3]:
            p.erdat = NO_DATE
            self._locate(c2, "KNA1", everyone, {"MANDT": MANDT, "KUNNR": p.number})
        # e: trailing blanks in customer names
        e = self._add("e", "trailing_blanks", "KNA1", 0, "NAME1 with trailing blanks, in every KNA1 snapshot")
        for p in customers[3:]:
            p.name += "  "
            self._locate(e, "KNA1", everyone, {"MANDT": MANDT, "KUNNR": p.number})

    def _day1(self, day: date) -> None:
        items = self._customer_items(day, 3)
        # d: KURSF with SAP's trailing minus (indirect quotation)
        doc = items[0].doc
        doc.kursf = "1.00000-"
        d = self._add("d", "trailing_minus", "BKPF", 1, "KURSF 1.00000- (indirect quotation)", value=doc.kursf)
        self._locate(d, "BKPF", [1], bkpf_record(doc))
        # e: trailing blanks in SGTXT (revenue lines) and in ZUONR (open items, so BSID too)
        e2 = self._add("e", "trailing_blanks", "BSEG", 1, "SGTXT with trailing blanks")
        for item in items[:2]:
            item.doc.lines[1].sgtxt += "   "
            self._locate(e2, "BSEG", [1], bseg_record(item.doc.lines[1]))
        e3 = self._add("e", "trailing_blanks", "BSEG", 1,
                       "ZUONR with trailing blanks on open customer items; BSID copies it into its key")
        for item in items[1:3]:
            item.zuonr += "  "
            self._locate(e3, "BSEG", [1], bseg_record(item))
            self._locate(e3, "BSID", [1], item_record(item))
        # f: a BSEG line whose header is never delivered
        bukrs = items[0].doc.bukrs
        orphan = self.ledger.document(bukrs, "SA", day, day, "FB50", self.world.user(self.rng, bukrs), 40_000,
                                      bktxt="办公费报销")
        self.ledger.add(orphan, "40", "S", "S", 128_000, "6602010000", sgtxt="办公用品",
                        prctr=chart_of_accounts.profit_centre(bukrs, "管理"), kostl=chart_of_accounts.cost_centre(bukrs, "办公室"))
        orphan.headerless = True
        self.ledger.post(orphan)
        f = self._add("f", "orphan_line", "BSEG", 1, "a BSEG line whose BKPF header is in no delivery",
                      document={"BUKRS": bukrs, "BELNR": orphan.belnr, "GJAHR": orphan.gjahr})
        self._locate(f, "BSEG", [1], bseg_record(orphan.lines[0]))
        # g: a vendor invoice whose input VAT line is one cent too high
        doc = self._vendor_doc(day)
        doc.lines[2].cents += 1
        g = self._add("g", "unbalanced_voucher", "BSEG", 1, "the input VAT line is 0.01 too high",
                      document={"BUKRS": doc.bukrs, "BELNR": doc.belnr, "GJAHR": doc.gjahr},
                      imbalance=amount(doc.balance()))
        self._locate(g, "BSEG", [1], bseg_record(doc.lines[2]))
        # h: an open item in BSID that has no BSEG line (and no BKPF header)
        customer = self.world.pick_customer(self.rng)
        ghost = self.ledger.document(customer.bukrs, "DR", day, day, "FB70",
                                     self.world.user(self.rng, customer.bukrs), 41_000, xblnr="09999999")
        item = self.ledger.add(ghost, "01", "D", "S", 3_456_700, chart_of_accounts.AR_OTHER, kunnr=customer.number,
                               sgtxt=f"技术服务费-{customer.short}"[:50], zfbdt=ymd(day), zterm="Z030", zbd1t="30",
                               prctr=chart_of_accounts.profit_centre(customer.bukrs, "综合能源"))
        self.ledger.open_d[item] = None  # open, but never posted: no BKPF, no BSEG
        h = self._add("h", "open_item_without_line", "BSID", 1,
                      "an open customer item in every BSID snapshot from this day on, with no BSEG line")
        self._locate(h, "BSID", range(1, self.last + 1), item_record(item))
        self._locate(h, "BSID", [self.last], item_record(item), REDELIVERY)

    def _day2(self, day: date, extras: DayExtras) -> None:
        # b: BSEG rows repeated verbatim; the document goes first so the repeats share a file
        doc = self._vendor_doc(day)
        self.ledger.new_docs.remove(doc)
        self.ledger.new_docs.insert(0, doc)
        b = self._add("b", "duplicate_rows", "BSEG", 2, "each of these rows appears twice, adjacent, in the file")
        for line in doc.lines:
            extras.duplicate_lines[line] = None
            self._locate(b, "BSEG", [2], bseg_record(line))
        # d: refunds with negative amounts (trailing minus), and their ERP DG vouchers
        refunds, docs = self.marketing.refunds(day, 2)
        d = self._add("d", "trailing_minus", "A_RCVBL_FLOW", 2,
                      "refund bills (退补): T_PQ, RCVBL_AMT and OWE_AMT negative, written with a trailing minus; "
                      "posted to ERP as DG vouchers",
                      erp_documents=[{"BUKRS": doc.bukrs, "BELNR": doc.belnr, "GJAHR": doc.gjahr} for doc in docs])
        for bill in refunds:
            self._locate(d, "A_RCVBL_FLOW", [2], bill_record(bill))
        # b and l on YX: a repeated row and an amount that does not parse
        regular = [bill for bill in self.marketing.bills_today if bill.cents > 0]
        if len(regular) < 2:
            regular += self.marketing.pay_now(day, 2 - len(regular))
        dup = regular[0]
        # the unparseable amount goes on a bill with a payment, the largest one of the day
        bad = max(regular[1:], key=lambda bill: bill.received)
        extras.duplicate_bills[dup] = None
        b2 = self._add("b", "duplicate_rows", "A_RCVBL_FLOW", 2, "the row appears twice, adjacent, in the file")
        self._locate(b2, "A_RCVBL_FLOW", [2], bill_record(dup))
        shown = f"{bad.received / 100:,.2f}" if bad.received >= 100_000 else f"{amount(bad.received)}元"
        extras.bill_overrides[bad] = {"RCVED_AMT": shown}
        l3 = self._add("l", "unparseable_value", "A_RCVBL_FLOW", 2, "RCVED_AMT is not a plain decimal",
                       column="RCVED_AMT", value=shown)
        self._locate(l3, "A_RCVBL_FLOW", [2], bill_record(bad))
        # l: an impossible date and an empty key
        item = self._customer_items(day, 1)[0]
        item.zfbdt = f"{day.year}1331"
        l1 = self._add("l", "unparseable_value", "BSEG", 2, "ZFBDT is not a calendar date; BSID copies it",
                       column="ZFBDT", value=item.zfbdt)
        self._locate(l1, "BSEG", [2], bseg_record(item))
        self._locate(l1, "BSID", [2], item_record(item))
        broken = dict(bseg_record(item.doc.lines[1]), BELNR="")
        extras.extra_bseg.append(broken)
        l2 = self._add("l", "empty_key", "BSEG", 2, "a BSEG row with an empty BELNR (a copy of a revenue line "
                       "that lost its document number)", column="BELNR")
        self._locate(l2, "BSEG", [2], broken)

    # -- the re-delivered last day ---------------------------------------------------------------
    def _last_day_original(self, day: date) -> None:
        item = self._customer_items(day, 1)[0]
        correct = item.sgtxt
        item.sgtxt = correct.split("-")[0] + "-"  # the first run cut the customer's name off the text
        self._correction = (item, correct)

    def redelivers_last_day(self) -> bool:
        return self.enabled

    def prepare_redelivery(self, index: int, day: date) -> None:
        """The headquarters re-run: the text corrected and one late voucher added; the rest the same."""
        assert self._correction is not None
        item, correct = self._correction
        wrong = item.sgtxt
        item.sgtxt = correct
        late = self.business.customer_invoice(day, cputm=LATE_VOUCHER_TIME)
        a = self._add("a", "redelivery", "*", index,
                      f"every table of {ymd(day)} delivered again under {REDELIVERY}/{ymd(day)}/: one BSEG "
                      "SGTXT corrected (BSID follows), one late customer invoice added (BKPF, BSEG, BSID); "
                      "everything else byte-identical",
                      folder=f"{REDELIVERY}/{ymd(day)}/", sgtxt_before=wrong, sgtxt_after=correct,
                      late_voucher={"BUKRS": late.doc.bukrs, "BELNR": late.doc.belnr, "GJAHR": late.doc.gjahr})
        self._locate(a, "BSEG", [index], bseg_record(item), REDELIVERY)
        self._locate(a, "BKPF", [index], bkpf_record(late.doc), REDELIVERY)
        for line in late.doc.lines:
            self._locate(a, "BSEG", [index], bseg_record(line), REDELIVERY)
        self._locate(a, "BSID", [index], item_record(late), REDELIVERY)

    # -- file-level defects ----------------------------------------------------------------------
    def encoding_override(self, index: int, table: str) -> str | None:
        if self._fits(1) and index == 1 and table == "A_RCVBL_FLOW":
            # the content is ASCII, identical in GBK and UTF-8: only UTF-16 makes the wrong encoding visible
            return "UTF-16"
        return None

    def after_write(self, index: int, table: str, folder: Path, control: ControlFile, relative: str) -> None:
        if not self._fits(1) or index != 1:
            return
        first = control.files[0]
        path = folder / first.name
        if table == "BSIK":
            data = bytearray(path.read_bytes())
            offset = len(data) // 2
            data[offset] ^= 0xFF
            path.write_bytes(bytes(data))
            i = self._add("i", "md5_mismatch", "BSIK", 1, "one byte of the gzip data file altered after the .chk "
                          "was written (a FULL table: the next day's snapshot supersedes it)",
                          byte_offset=offset, md5_in_chk=first.md5, md5_of_file=hashlib.md5(data).hexdigest())
            i.files.append(f"{relative}/{first.name}")
        elif table == "KNA1":
            claimed = first.rows - 1 if first.rows else 1
            files = (FileEntry(first.name, claimed, first.bytes, first.md5), *control.files[1:])
            write_control(folder, replace(control, files=files))
            j = self._add("j", "row_count_mismatch", "KNA1", 1, "the .chk claims fewer rows than the file has",
                          rows_in_file=first.rows, rows_in_chk=claimed)
            j.files.append(f"{relative}/{first.name}")
        elif table == "A_RCVBL_FLOW":
            write_control(folder, replace(control, encoding="UTF-8"))
            k = self._add("k", "wrong_encoding", "A_RCVBL_FLOW", 1,
                          "the data file is UTF-16 (with BOM) although its .chk says UTF-8; a correct "
                          f"re-delivery of the table and day is under {REDELIVERY}/",
                          encoding_written="UTF-16", encoding_in_chk="UTF-8",
                          redelivery=f"{REDELIVERY}/{relative}/")
            k.files.extend(f"{relative}/{f.name}" for f in control.files)

    def redelivers_table(self, index: int, table: str) -> bool:
        """A single table delivered again, correctly, under the second landing root."""
        return self._fits(1) and index == 1 and table == "A_RCVBL_FLOW"
