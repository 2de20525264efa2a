"""Everyday finance business of the sample world: what is posted on a day and when items get paid.

Customer invoices (FB70), vendor invoices (FB60), payments that clear them (F-28/F-53), credit memos
(FB75/FB65, some with an invoice reference REBZG, some without), reversals (FB08) and down payments
(F-29/F-48, special G/L indicator A). Each invoice gets its payment date when posted; the payment is
posted on that date and clears the invoice together with the credit memos that reference it.

History days (before the first business date) only materialise what an initial load delivers: the
vouchers of items still open at the first business date, and a sample of items cleared in the past.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sample_data import chart_of_accounts
from sample_data.chart_of_accounts import TERMS
from sample_data.ledger import Doc, Ledger, Line
from sample_data.masterdata import MasterData, Partner
from sample_data.values import ymd


@dataclass(frozen=True)
class Service:
    """What a customer is invoiced for."""

    text: str
    revenue: str  # revenue account; empty: an advance paid on the customer's behalf (other receivable)
    vat: int  # VAT rate in percent
    profit_centre: str
    log_mean: float  # ln of a typical net amount in yuan


@dataclass(frozen=True)
class Purchase:
    """What a vendor invoices, by vendor category."""

    items: tuple[tuple[str, str, str], ...]  # (text, debit account, cost centre name or "")
    vat: int
    payable: str
    log_mean: float


SERVICES = (
    Service("技术服务费", "6051020000", 6, "综合能源", 9.6),
    Service("房屋租赁费", "6051010000", 9, "管理", 9.9),
    Service("充电服务费", "6001020000", 13, "综合能源", 8.6),
    Service("高可靠性供电费", "6001030000", 13, "售电", 11.4),
    Service("废旧物资处置款", "6051030000", 13, "管理", 10.2),
    Service("代垫工程款", "", 0, "输配电", 10.4),
)
SERVICE_WEIGHTS = (3, 2, 3, 2, 1, 1)
_STOCK, _CIP = "1403010000", "1604010000"
PURCHASES = {
    "材料": Purchase(tuple((t, _STOCK, "") for t in ("电力电缆", "架空绝缘导线", "智能电能表", "复合绝缘子",
                                                     "电力金具", "配电箱")), 13, "2202010000", 11.8),
    "设备": Purchase(tuple((t, _CIP, "") for t in ("配电变压器", "高压开关柜", "环网柜", "柱上断路器",
                                                   "箱式变电站")), 13, "2202010000", 12.8),
    "工程": Purchase(tuple((t, _CIP, "") for t in ("10kV配网改造工程", "变电站土建工程", "线路迁改工程",
                                                   "业扩配套工程", "农网升级工程")), 9, "2202020000", 13.2),
    "服务": Purchase((("设备检修服务", "5001010000", "运维检修部"), ("检测试验服务", "5001010000", "运维检修部"),
                    ("线路巡视服务", "6401020000", "运维检修部"), ("物业服务", "6602010000", "办公室"),
                    ("信息系统运维服务", "6602010000", "办公室")), 6, "2202030000", 10.4),
    "购电": Purchase((("上网电费", "6401010000", "营销部"),), 13, "2202040000", 17.2),
}
PURCHASE_WEIGHTS = {"材料": 30, "设备": 12, "工程": 20, "服务": 35, "购电": 3}
PROVINCIAL = "3300"  # only the provincial company buys power from the plants

# Volumes per scale 1, per ordinary working day.
CUSTOMER_INVOICES = 106.0
VENDOR_INVOICES = 129.0
NEW_CUSTOMERS = 0.4
HISTORY_DAYS = 1461  # four years, fiscal years back to 2022
P_NEVER_PAID = {"D": 0.02, "K": 0.012}
OLD = 600  # days; an invoice this old that was paid at all was paid before the first business date


def keep_cleared(age: int) -> float:
    """Share of items already cleared at the first business date that the initial load still carries."""
    return 0.2 if age <= 90 else 0.06 if age <= 365 else 0.012


def _old_keep(age: int, koart: str) -> float:
    """Share of the invoices of an old history day that the initial load carries: the never-paid
    ones (an old invoice paid at all was paid before the first business date) and the cleared sample."""
    if age <= OLD:
        return 1.0
    p = P_NEVER_PAID[koart]
    return p + (1 - p) * keep_cleared(age)


def day_factor(day: date) -> float:
    """Less is posted at weekends, more in the last days of a month."""
    if day.weekday() >= 5:
        return 0.25
    month_end = (day + timedelta(days=3)).month != day.month
    return 1.5 if month_end else 1.0


def next_weekday(day: date) -> date:
    return day + timedelta(days=7 - day.weekday()) if day.weekday() >= 5 else day


@dataclass
class Recent:
    """An invoice of the last days, a candidate for a credit memo or a reversal."""

    day: date
    line: Line  # the customer/vendor line
    service: str
    vat: int
    account: str
    kostl: str


class Business:
    def __init__(self, rng: random.Random, ledger: Ledger, world: MasterData, scale: float, start: date) -> None:
        self.rng, self.ledger, self.world, self.scale, self.start = rng, ledger, world, scale, start
        self.pay_on: dict[date, list[Line]] = {}
        self.memos_of: dict[Line, list[Line]] = {}
        self.recent: list[Recent] = []
        self._invoice_no = 1_000_000

    # -- a day -----------------------------------------------------------------------------------
    def simulate_day(self, day: date) -> None:
        rng, factor = self.rng, day_factor(day)
        age = (self.start - day).days  # > 0 on history days
        if age <= 0:
            for _ in range(self._count(NEW_CUSTOMERS * factor)):
                self.world.add_customer(rng, day)
        for _ in range(self._count(CUSTOMER_INVOICES * factor, _old_keep(age, "D"))):
            self._invoice_candidate(day, age, vendor=False)
        for _ in range(self._count(VENDOR_INVOICES * factor, _old_keep(age, "K"))):
            self._invoice_candidate(day, age, vendor=True)
        if age <= 60:
            recent_share = 1.0 if age <= 0 else 0.5  # history carries only part of the invoices to refer to
            for _ in range(self._count(1.2 * factor * recent_share)):
                self.credit_memo(day, vendor=False)
            for _ in range(self._count(0.6 * factor * recent_share)):
                self.credit_memo(day, vendor=True)
            for _ in range(self._count(0.8 * factor * recent_share)):
                self.reversal(day)
        if age <= 180:
            for _ in range(self._count(0.9 * factor)):
                self.down_payment(day, vendor=False)
            for _ in range(self._count(1.1 * factor)):
                self.down_payment(day, vendor=True)
        self.recent = [r for r in self.recent if (day - r.day).days < 10 and r.line.is_open]
        self.pay(day)

    def _count(self, expected: float, keep: float = 1.0) -> int:
        """A whole number of events with expectation `expected` (per scale 1) times `keep`."""
        x = expected * self.scale * keep
        n = int(x)
        return n + (1 if self.rng.random() < x - n else 0)

    # -- invoices --------------------------------------------------------------------------------
    def _invoice_candidate(self, day: date, age: int, vendor: bool) -> None:
        """Draw an invoice; on a history day post it only if an initial load would carry it."""
        rng = self.rng
        if vendor:
            category = rng.choices(list(PURCHASE_WEIGHTS), weights=list(PURCHASE_WEIGHTS.values()))[0]
            partner = self.world.pick_vendor(rng, category)
        else:
            category, partner = "", self.world.pick_customer(rng)
        bldat = day - timedelta(days=rng.choice((0, 0, 1, 2, 3, 5, 7)))
        baseline = bldat if rng.random() < 0.85 else day
        due = baseline + timedelta(days=TERMS[partner.zterm].net_days)
        koart = "K" if vendor else "D"
        if age > OLD:
            never = rng.random() * _old_keep(age, koart) < P_NEVER_PAID[koart]
            pay = None if never else self._pay_date(day, due, koart, allow_never=False)
        else:
            pay = self._pay_date(day, due, koart)
            if age > 0 and pay is not None and pay < self.start and rng.random() >= keep_cleared(age):
                return  # cleared long before the initial load, which does not carry it
        if vendor:
            line = self.vendor_invoice(day, partner, category, bldat, baseline)
        else:
            line = self.customer_invoice(day, partner, bldat, baseline)
        if pay is not None:
            self.pay_on.setdefault(max(pay, day), []).append(line)

    def _pay_date(self, posted: date, due: date, koart: str, allow_never: bool = True) -> date | None:
        rng = self.rng
        if allow_never and rng.random() < P_NEVER_PAID[koart]:
            return None
        r = rng.random()
        if r < 0.25:
            pay = posted + timedelta(days=rng.randint(0, max(0, (due - posted).days)))
        elif r < 0.70:
            pay = due + timedelta(days=rng.randint(0, 20))
        elif r < 0.92:
            pay = due + timedelta(days=rng.randint(21, 90))
        else:
            pay = due + timedelta(days=rng.randint(91, 400))
        return next_weekday(pay)

    def _amount(self, log_mean: float) -> int:
        """Net amount in cents, log-normally spread around exp(log_mean) yuan."""
        yuan = math.exp(self.rng.gauss(log_mean, 0.9))
        return max(10_000, min(round(yuan * 100), 50_000_000_000))

    def _cputm(self) -> int:
        return self.rng.randint(8 * 3600, 19 * 3600)

    def _vat_invoice_no(self) -> str:
        self._invoice_no += self.rng.randint(1, 40)
        return f"{self._invoice_no % 100_000_000:08d}"

    def customer_invoice(self, day: date, customer: Partner | None = None, bldat: date | None = None,
                         baseline: date | None = None, cputm: int | None = None) -> Line:
        """FB70: customer debit on 1122020000 (or 1221010000 for an advance), revenue and output VAT credited."""
        rng, ledger = self.rng, self.ledger
        customer = customer or self.world.pick_customer(rng)
        bldat = bldat or day
        bukrs = customer.bukrs if rng.random() < 0.85 else self.world.pick_company(rng)
        service = rng.choices(SERVICES, weights=SERVICE_WEIGHTS)[0]
        net = self._amount(service.log_mean)
        vat = round(net * service.vat / 100)
        prctr = chart_of_accounts.profit_centre(bukrs, service.profit_centre)
        doc = ledger.document(bukrs, "DR", day, bldat, "FB70", self.world.user(rng, bukrs),
                              self._cputm() if cputm is None else cputm,
                              xblnr=self._vat_invoice_no() if service.vat else "",
                              bktxt=f"{customer.short}{service.text}"[:25])
        terms = TERMS[customer.zterm]
        zfbdt = "" if baseline is None or rng.random() < 0.15 else ymd(baseline)
        contract = f"HT{day.year}{bukrs}{rng.randint(1, 99999):05d}"
        account = chart_of_accounts.AR_OTHER if service.revenue else chart_of_accounts.OTHER_RECEIVABLES
        item = ledger.add(doc, "01", "D", "S", net + vat, account, kunnr=customer.number,
                          sgtxt=f"{service.text}-{customer.short}"[:50], zuonr=contract, zfbdt=zfbdt,
                          zterm=terms.zterm, zbd1t=str(terms.zbd1t), zbd2t=str(terms.zbd2t),
                          zbd3t=str(terms.zbd3t), prctr=prctr)
        if service.revenue:
            ledger.add(doc, "50", "S", "H", net, service.revenue, sgtxt=f"{service.text}{day.month}月",
                       prctr=prctr)
            ledger.add(doc, "50", "S", "H", vat, chart_of_accounts.VAT, sgtxt="销项税额", prctr=prctr)
        else:
            ledger.add(doc, "50", "S", "H", net, chart_of_accounts.BANKS[0], sgtxt=f"代垫{customer.short}工程款"[:50],
                       prctr=prctr)
        ledger.post(doc)
        self.recent.append(Recent(day, item, service.text, service.vat, service.revenue, ""))
        return item

    def vendor_invoice(self, day: date, vendor: Partner, category: str, bldat: date | None = None,
                       baseline: date | None = None) -> Line:
        """FB60: vendor credit on 2202xxxxxx, expense/stock/asset and input VAT debited."""
        rng, ledger = self.rng, self.ledger
        purchase = PURCHASES[category]
        bukrs = PROVINCIAL if category == "购电" else self.world.pick_company(rng)
        item_text, account, centre = rng.choice(purchase.items)
        net = self._amount(purchase.log_mean)
        vat = round(net * purchase.vat / 100)
        prctr = chart_of_accounts.profit_centre(bukrs, "售电" if category == "购电" else "输配电")
        kostl = chart_of_accounts.cost_centre(bukrs, centre) if centre else ""
        doc = ledger.document(bukrs, "KR", day, bldat or day, "FB60", self.world.user(rng, bukrs), self._cputm(),
                              xblnr=self._vat_invoice_no(), bktxt=f"{vendor.short}{item_text}"[:25])
        terms = TERMS[vendor.zterm]
        zfbdt = "" if baseline is None or rng.random() < 0.15 else ymd(baseline)
        order = f"45{rng.randint(0, 99_999_999):08d}" if category in ("材料", "设备") else \
            f"SG-HT-{day.year}-{rng.randint(1, 9999):04d}"
        item = ledger.add(doc, "31", "K", "H", net + vat, purchase.payable, lifnr=vendor.number,
                          sgtxt=f"{item_text}-{vendor.short}"[:50], zuonr=order, zfbdt=zfbdt, zterm=terms.zterm,
                          zbd1t=str(terms.zbd1t), zbd2t=str(terms.zbd2t), zbd3t=str(terms.zbd3t), prctr=prctr)
        ledger.add(doc, "40", "S", "S", net, account, sgtxt=item_text, prctr=prctr, kostl=kostl)
        ledger.add(doc, "40", "S", "S", vat, chart_of_accounts.VAT, sgtxt="进项税额", prctr=prctr)
        ledger.post(doc)
        self.recent.append(Recent(day, item, item_text, purchase.vat, account, kostl))
        return item

    # -- credit memos, reversals, down payments ----------------------------------------------------
    def _pick_recent(self, koart: str, accept: Callable[[Recent], bool]) -> Recent | None:
        candidates = [r for r in self.recent if r.line.koart == koart and r.line.is_open and accept(r)]
        return self.rng.choice(candidates) if candidates else None

    def credit_memo(self, day: date, vendor: bool) -> Line | None:
        """FB75/FB65 on a recent invoice: 70 % reference it in REBZG, the rest leave REBZG blank."""
        rng, ledger = self.rng, self.ledger
        koart = "K" if vendor else "D"
        recent = self._pick_recent(koart, lambda r: bool(r.account) and r.line.doc.stblg == "")
        if recent is None:
            return None
        inv = recent.line
        gross = max(100, round(inv.cents * rng.uniform(0.03, 0.3)))
        net = round(gross * 100 / (100 + recent.vat))
        bukrs = inv.doc.bukrs
        with_reference = rng.random() < 0.7
        doc = ledger.document(bukrs, "KG" if vendor else "DG", day, day, "FB65" if vendor else "FB75",
                              self.world.user(rng, bukrs), self._cputm(), xblnr=self._vat_invoice_no(),
                              bktxt=f"{'红字发票' if vendor else '折让'}{inv.doc.belnr}")
        d_c, g_c = ("S", "H") if vendor else ("H", "S")
        item = ledger.add(doc, "21" if vendor else "11", koart, d_c, gross, inv.hkont, kunnr=inv.kunnr,
                          lifnr=inv.lifnr, sgtxt=f"{recent.service}折让"[:50], zuonr=inv.zuonr, zfbdt=ymd(day),
                          zterm=inv.zterm, zbd1t=inv.zbd1t, zbd2t=inv.zbd2t, zbd3t=inv.zbd3t,
                          rebzg=inv.doc.belnr if with_reference else "", prctr=inv.prctr)
        g_key = "50" if vendor else "40"
        ledger.add(doc, g_key, "S", g_c, net, recent.account, sgtxt=f"{recent.service}折让"[:50], prctr=inv.prctr,
                   kostl=recent.kostl)
        ledger.add(doc, g_key, "S", g_c, gross - net, chart_of_accounts.VAT, sgtxt="进项税额转出" if vendor else "销项税额冲减",
                   prctr=inv.prctr)
        ledger.post(doc)
        if with_reference:
            self.memos_of.setdefault(inv, []).append(item)
        return item

    def reversal(self, day: date) -> Doc | None:
        """FB08 of an invoice of the last days that nothing refers to yet."""
        koart = "D" if self.rng.random() < 0.5 else "K"
        recent = self._pick_recent(koart, lambda r: r.line not in self.memos_of and r.line.doc.stblg == ""
                                   and (day - r.day).days <= 3)
        if recent is None:
            return None
        doc = recent.line.doc
        return self.ledger.reverse(doc, day, self.world.user(self.rng, doc.bukrs), self._cputm())

    def down_payment(self, day: date, vendor: bool) -> Line:
        """F-29 (customer down payment received, 2203010000) or F-48 (made to a vendor, 1123010000)."""
        rng, ledger = self.rng, self.ledger
        if vendor:
            partner = self.world.pick_vendor(rng, rng.choice(("设备", "工程", "材料")))
        else:
            partner = self.world.pick_customer(rng)
        bukrs = partner.bukrs if not vendor else self.world.pick_company(rng)
        cents = self._amount(12.2 if vendor else 11.0)
        bank = chart_of_accounts.BANKS[int(bukrs) % len(chart_of_accounts.BANKS)]
        prctr = chart_of_accounts.profit_centre(bukrs, "输配电")
        if vendor:
            doc = ledger.document(bukrs, "KZ", day, day, "F-48", self.world.user(rng, bukrs), self._cputm(),
                                  bktxt=f"预付{partner.short}"[:25])
            item = ledger.add(doc, "29", "K", "S", cents, chart_of_accounts.PREPAYMENTS, lifnr=partner.number, umskz="A",
                              sgtxt=f"预付{partner.short}合同款"[:50], zfbdt=ymd(day), prctr=prctr)
            ledger.add(doc, "50", "S", "H", cents, bank, sgtxt=f"支付{partner.short}预付款"[:50], prctr=prctr)
        else:
            doc = ledger.document(bukrs, "DZ", day, day, "F-29", self.world.user(rng, bukrs), self._cputm(),
                                  bktxt=f"预收{partner.short}"[:25])
            ledger.add(doc, "40", "S", "S", cents, bank, sgtxt=f"收到{partner.short}预付款"[:50], prctr=prctr)
            item = ledger.add(doc, "19", "D", "H", cents, chart_of_accounts.ADVANCE_RECEIPTS, kunnr=partner.number,
                              umskz="A", sgtxt=f"预收{partner.short}业扩工程款"[:50], zfbdt=ymd(day), prctr=prctr)
        ledger.post(doc)
        return item

    # -- payments --------------------------------------------------------------------------------
    def pay(self, day: date) -> None:
        """Post the payments due today, one per company code, partner and account; each clears its items."""
        due = self.pay_on.pop(day, None)
        if not due:
            return
        groups: dict[tuple[str, str, str, str], list[Line]] = {}
        for line in due:
            if line.is_open:
                groups.setdefault((line.doc.bukrs, line.koart, line.kunnr or line.lifnr, line.hkont), []).append(line)
        for (bukrs, koart, partner, account), items in groups.items():
            memos = [m for inv in items for m in self.memos_of.pop(inv, ()) if m.is_open]
            cleared = items + memos if sum(line.signed for line in items + memos) != 0 else items
            total = abs(sum(line.signed for line in cleared))
            if total == 0:
                continue
            self._payment(day, bukrs, koart, partner, account, cleared, total)

    def _payment(self, day: date, bukrs: str, koart: str, partner: str, account: str, cleared: list[Line],
                 total: int) -> None:
        rng, ledger = self.rng, self.ledger
        bank = chart_of_accounts.BANKS[int(bukrs) % len(chart_of_accounts.BANKS)]
        prctr = cleared[0].prctr
        first = cleared[0]
        text = first.sgtxt.split("-")[-1]
        zuonr = first.zuonr if len(cleared) == 1 else ""
        if koart == "D":
            doc = ledger.document(bukrs, "DZ", day, day, "F-28", self.world.user(rng, bukrs), self._cputm(),
                                  bktxt=f"{text}回款"[:25])
            ledger.add(doc, "40", "S", "S", total, bank, sgtxt=f"收到{text}款项"[:50], prctr=prctr)
            own = ledger.add(doc, "15", "D", "H", total, account, kunnr=partner, sgtxt=f"{text}回款"[:50],
                             zuonr=zuonr, zfbdt=ymd(day), prctr=prctr)
        else:
            doc = ledger.document(bukrs, "KZ", day, day, "F-53", self.world.user(rng, bukrs), self._cputm(),
                                  bktxt=f"支付{text}"[:25])
            own = ledger.add(doc, "25", "K", "S", total, account, lifnr=partner, sgtxt=f"支付{text}款项"[:50],
                             zuonr=zuonr, zfbdt=ymd(day), prctr=prctr)
            ledger.add(doc, "50", "S", "H", total, bank, sgtxt=f"支付{text}款项"[:50], prctr=prctr)
        ledger.post(doc)
        ledger.clear([*cleared, own], doc)
