"""The provincial electricity-marketing system (营销系统, YX): accounts, monthly bills, payments, and
the summarised vouchers it posts to ERP.

Every supply unit (供电单位) bills its electricity accounts once a month (RCVBL_YM, RELEASE_DATE on
the 26th-28th) and posts the month's billing total to ERP as one voucher: customer line on
1122010000 with the unit's summary customer (BLART DR), revenue and output VAT credited. At each
month end it posts the month's receipts per unit (BLART DZ, partial payments with REBZG = the
billing voucher); a billing item whose receipts reach its amount is cleared. Refund adjustments
(退补, negative bills) are posted as BLART DG. So per company code and month, the signed sum of
the DR and DG lines on 1122010000 equals the YX billed total (RCVBL_AMT) of its supply units.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from catalog.register import Reference
from sample_data import chart_of_accounts
from sample_data.ledger import Doc, Ledger, Line
from sample_data.masterdata import MasterData
from sample_data.values import amount, ym, ymd

YX_USER = "RFC_YX"  # the interface user the marketing system posts with
HISTORY_MONTHS = 3  # bill months before the first business date's month that the initial load carries
ACCOUNTS_PER_SCALE = 2500
# (category, share, kWh per month low/high, tariff in 1/10000 yuan per kWh)
CATEGORIES = (("居民", 0.62, 60, 600, 5380), ("一般工商业", 0.30, 800, 40_000, 6664),
              ("大工业", 0.08, 60_000, 900_000, 6150))
SEASON = {1: 1.2, 2: 1.15, 7: 1.35, 8: 1.4, 12: 1.1}


@dataclass(frozen=True)
class ElectricityAccount:
    cons_no: str
    org_no: str
    kwh_low: int
    kwh_high: int
    tariff: int


class Bill:
    """One row of A_RCVBL_FLOW: an account's bill of a month and what has been received on it."""

    __slots__ = ("cents", "cons_no", "id", "kwh", "org_no", "pen_billed", "pen_received", "received", "release",
                 "ym")

    def __init__(self, bill_id: str, account: ElectricityAccount, month: str, kwh: int, cents: int,
                 release: date) -> None:
        self.id, self.cons_no, self.org_no, self.ym = bill_id, account.cons_no, account.org_no, month
        self.kwh, self.cents, self.release = kwh, cents, release
        self.received = self.pen_billed = self.pen_received = 0

    @property
    def owed(self) -> int:
        return self.cents - self.received


def bill_record(bill: Bill) -> dict[str, str]:
    flag = "01" if bill.received == 0 else "03" if bill.owed == 0 else "02"
    return {"RCVBL_AMT_ID": bill.id, "CONS_NO": bill.cons_no, "ORG_NO": bill.org_no, "RCVBL_YM": bill.ym,
            "T_PQ": amount(bill.kwh * 100), "RCVBL_AMT": amount(bill.cents), "RCVED_AMT": amount(bill.received),
            "RCVBL_PENALTY": amount(bill.pen_billed), "RCVED_PENALTY": amount(bill.pen_received),
            "OWE_AMT": amount(bill.owed), "SETTLE_FLAG": flag, "RELEASE_DATE": ymd(bill.release)}


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


def erp_lines_estimate(reference: Reference) -> int:
    """BSEG lines the YX vouchers of the history months add, whatever the scale (billing 3 lines a
    unit and month, receipts 1 bank line plus one line per open bill month)."""
    n = HISTORY_MONTHS
    return len(reference.supply_units) * (3 * n + sum(1 + k for k in range(1, n + 1)))


class Marketing:
    def __init__(self, rng: random.Random, ledger: Ledger, world: MasterData, reference: Reference,
                 scale: float, start: date) -> None:
        self.rng, self.ledger, self.world = rng, ledger, world
        units = list(reference.supply_units.items())
        self.unit_name = {org: unit.name_zh for org, unit in units}
        self.unit_bukrs = {org: unit.bukrs for org, unit in units}
        self.release_day = {org: 26 + i % 3 for i, (org, _) in enumerate(units)}
        self.first_month = _month_index(start) - HISTORY_MONTHS
        self.accounts: dict[str, list[ElectricityAccount]] = {org: [] for org, _ in units}
        weights = [3 if len(org) == 5 else 2 for org, _ in units]  # a city's 营销部 serves more accounts
        n_accounts = max(3 * len(units), round(ACCOUNTS_PER_SCALE * scale))
        orgs = [org for org, _ in units]
        for i in range(n_accounts):
            # three accounts in every unit first, so even the smallest scale bills every unit
            org = orgs[i % len(orgs)] if i < 3 * len(orgs) else rng.choices(orgs, weights=weights)[0]
            category = rng.choices(CATEGORIES, weights=[c[1] for c in CATEGORIES])[0]
            bukrs = self.unit_bukrs[org]
            self.accounts[org].append(ElectricityAccount(f"{bukrs}{i + 1:06d}", org, category[2], category[3],
                                                         category[4]))
        self.pay_on: dict[date, list[tuple[Bill, int, int]]] = {}
        self.receipts: dict[tuple[str, str], int] = {}
        self.billing_line: dict[tuple[str, str], Line] = {}
        self.credits: dict[tuple[str, str], list[Line]] = {}
        self.posting_difference: tuple[str, str, int] | None = None  # (ORG_NO, bill month, cents)
        self._serial = 0
        self.begin_day()

    def begin_day(self) -> None:
        self.bills_today: dict[Bill, None] = {}  # created or changed today, in order

    def records(self) -> Iterator[dict[str, str]]:
        return (bill_record(b) for b in self.bills_today)

    # -- a day -----------------------------------------------------------------------------------
    def simulate_day(self, day: date) -> None:
        if _month_index(day) < self.first_month:
            return
        for org, release_day in self.release_day.items():
            if day.day == release_day:
                self._bill_unit(org, day)
        for bill, cents, penalty in self.pay_on.pop(day, ()):
            cents = min(cents, bill.owed)  # a bill paid early in full gets nothing more
            if cents > 0:
                self._receive(bill, cents, penalty)
        if _is_month_end(day):
            self._post_receipts(day)

    def _bill_unit(self, org: str, day: date) -> None:
        rng, month = self.rng, ym(day)
        season = SEASON.get(day.month, 1.0)
        total = 0
        for account in self.accounts[org]:
            kwh = round(rng.uniform(account.kwh_low, account.kwh_high) * season * rng.uniform(0.85, 1.15))
            cents = (kwh * account.tariff + 50) // 100
            bill = self._new_bill(account, month, kwh, cents, day)
            total += cents
            self._schedule(bill, day)
        if self.posting_difference and self.posting_difference[:2] == (org, month):
            total += self.posting_difference[2]
        self._post_billing(org, month, day, total)

    def _new_bill(self, account: ElectricityAccount, month: str, kwh: int, cents: int, day: date) -> Bill:
        self._serial += 1
        bill = Bill(f"{month}{self._serial:010d}", account, month, kwh, cents, day)
        self.bills_today[bill] = None
        return bill

    def _schedule(self, bill: Bill, day: date) -> None:
        """Most pay within 20 days; some late with a penalty, some in two parts, a few not for months."""
        rng = self.rng
        r = rng.random()
        if r < 0.80:
            plan = [(bill.cents, rng.randint(1, 20))]
        elif r < 0.90:
            plan = [(bill.cents, rng.randint(21, 60))]
        elif r < 0.96:
            part = round(bill.cents * rng.uniform(0.3, 0.7))
            plan = [(part, rng.randint(3, 25)), (bill.cents - part, rng.randint(35, 100))]
        else:
            plan = [(bill.cents, rng.randint(120, 420))]
        for cents, delay in plan:
            penalty = round(cents * 0.001 * (delay - 30)) if delay > 30 else 0  # 0.1 % a day after 30 days
            self.pay_on.setdefault(day + timedelta(days=delay), []).append((bill, cents, penalty))

    def _receive(self, bill: Bill, cents: int, penalty: int) -> None:
        bill.received += cents
        bill.pen_billed += penalty
        bill.pen_received += penalty
        key = (bill.org_no, bill.ym)
        self.receipts[key] = self.receipts.get(key, 0) + cents
        self.bills_today[bill] = None

    # -- ERP vouchers ----------------------------------------------------------------------------
    def _document(self, org: str, blart: str, day: date, text: str, month: str) -> Doc:
        bukrs = self.unit_bukrs[org]
        return self.ledger.document(bukrs, blart, day, day, "FB01", YX_USER, self.rng.randint(3600, 3 * 3600),
                                    xblnr=f"YX{org}{month}", bktxt=f"营销电费{text}{month}", awtyp="YXDF",
                                    awkey=f"{org}{month}{blart}")

    def _post_billing(self, org: str, month: str, day: date, total: int) -> None:
        ledger, bukrs = self.ledger, self.unit_bukrs[org]
        customer = self.world.summary[org]
        prctr = chart_of_accounts.profit_centre(bukrs, "售电")
        net = round(total * 100 / (100 + chart_of_accounts.ELECTRICITY_VAT_RATE))
        doc = self._document(org, "DR", day, "发行", month)
        line = ledger.add(doc, "01", "D", "S", total, chart_of_accounts.AR_ELECTRICITY, kunnr=customer.number,
                          sgtxt=f"{month}电费发行-{self.unit_name[org]}", zuonr=f"{org}{month}", zfbdt=ymd(day),
                          zterm="Z030", zbd1t="30", prctr=prctr)
        ledger.add(doc, "50", "S", "H", net, chart_of_accounts.REVENUE_ELECTRICITY, sgtxt=f"{month}售电收入", prctr=prctr)
        ledger.add(doc, "50", "S", "H", total - net, chart_of_accounts.VAT, sgtxt="销项税额", prctr=prctr)
        ledger.post(doc)
        self.billing_line[(org, month)] = line
        self.credits[(org, month)] = []

    def _post_receipts(self, day: date) -> None:
        """Month end: per unit one voucher, bank debited, one partial payment per bill month."""
        ledger = self.ledger
        by_unit: dict[str, list[tuple[str, int]]] = {}
        for (org, month), cents in self.receipts.items():
            if cents:
                by_unit.setdefault(org, []).append((month, cents))
        self.receipts = {}
        for org in self.unit_name:
            if org not in by_unit:
                continue
            months = sorted(by_unit[org])
            bukrs, customer = self.unit_bukrs[org], self.world.summary[org]
            prctr = chart_of_accounts.profit_centre(bukrs, "售电")
            doc = self._document(org, "DZ", day, "实收", ym(day))
            ledger.add(doc, "40", "S", "S", sum(c for _, c in months), chart_of_accounts.BANK_ELECTRICITY,
                       sgtxt=f"{ym(day)}电费实收-{self.unit_name[org]}", prctr=prctr)
            received = []
            for month, cents in months:
                billing = self.billing_line[(org, month)]
                line = ledger.add(doc, "15", "D", "H", cents, chart_of_accounts.AR_ELECTRICITY, kunnr=customer.number,
                                  sgtxt=f"{month}电费实收", zuonr=f"{org}{month}", zfbdt=ymd(day),
                                  rebzg=billing.doc.belnr, prctr=prctr)
                self.credits[(org, month)].append(line)
                received.append(month)
            ledger.post(doc)
            for month in received:
                self._clear_if_settled(org, month, doc)

    def _clear_if_settled(self, org: str, month: str, clearing: Doc) -> None:
        billing = self.billing_line[(org, month)]
        credits = [c for c in self.credits[(org, month)] if c.is_open]
        if billing.is_open and sum(c.cents for c in credits) == billing.cents:
            self.ledger.clear([billing, *credits], clearing)

    # -- used by the deliberate defects ------------------------------------------------------------
    def refunds(self, day: date, count: int) -> tuple[list[Bill], list[Doc]]:
        """退补: negative bills (energy billed twice, refunded) and their ERP DG vouchers, one per unit."""
        rng, month = self.rng, ym(day)
        by_unit: dict[str, list[Bill]] = {}
        orgs = list(self.accounts)
        for _ in range(count):
            org = rng.choice(orgs)
            account = rng.choice(self.accounts[org])
            kwh = -rng.randint(40, 400)
            bill = self._new_bill(account, month, kwh, -((-kwh * account.tariff + 50) // 100), day)
            by_unit.setdefault(org, []).append(bill)
        docs = []
        for org, bills in by_unit.items():
            total = -sum(b.cents for b in bills)
            bukrs, customer = self.unit_bukrs[org], self.world.summary[org]
            prctr = chart_of_accounts.profit_centre(bukrs, "售电")
            net = round(total * 100 / (100 + chart_of_accounts.ELECTRICITY_VAT_RATE))
            billing = self.billing_line.get((org, month))
            doc = self._document(org, "DG", day, "退补", month)
            line = self.ledger.add(doc, "11", "D", "H", total, chart_of_accounts.AR_ELECTRICITY, kunnr=customer.number,
                                   sgtxt=f"{month}电费退补-{self.unit_name[org]}", zuonr=f"{org}{month}",
                                   zfbdt=ymd(day), rebzg=billing.doc.belnr if billing else "", prctr=prctr)
            self.ledger.add(doc, "40", "S", "S", net, chart_of_accounts.REVENUE_ELECTRICITY, sgtxt=f"{month}售电收入退补",
                            prctr=prctr)
            self.ledger.add(doc, "40", "S", "S", total - net, chart_of_accounts.VAT, sgtxt="销项税额冲减", prctr=prctr)
            self.ledger.post(doc)
            if billing:
                self.credits[(org, month)].append(line)
            docs.append(doc)
        return [b for bills in by_unit.values() for b in bills], docs

    def pay_now(self, day: date, count: int) -> list[Bill]:
        """Receive `count` open bills in full today (so a day surely re-delivers some bills)."""
        chosen: dict[Bill, None] = {}
        for plans in self.pay_on.values():
            for bill, _, _ in plans:
                if len(chosen) < count and bill.owed > 0 and bill not in self.bills_today:
                    chosen[bill] = None
        for bill in chosen:
            self._receive(bill, bill.owed, 0)
        return list(chosen)
