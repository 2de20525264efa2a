"""The chart of accounts `SG01`, payment terms and the profit/cost centres the sample postings use."""

from __future__ import annotations

from dataclasses import dataclass

CHART = "SG01"


@dataclass(frozen=True)
class Account:
    saknr: str
    zh_short: str  # TXT20, at most 20 characters
    zh_long: str  # TXT50
    en_short: str
    en_long: str


ACCOUNTS: tuple[Account, ...] = (
    Account("1002010000", "银行存款-工商银行", "银行存款-中国工商银行基本户", "Bank ICBC", "Bank deposits - ICBC"),
    Account("1002020000", "银行存款-建设银行", "银行存款-中国建设银行一般户", "Bank CCB", "Bank deposits - CCB"),
    Account("1002030000", "银行存款-农业银行", "银行存款-中国农业银行电费归集户", "Bank ABC",
            "Bank deposits - ABC (electricity fee collection)"),
    Account("1002040000", "银行存款-中国银行", "银行存款-中国银行一般户", "Bank BOC", "Bank deposits - BOC"),
    Account("1122010000", "应收账款-电费", "应收账款-应收电费", "A/R electricity", "Accounts receivable - electricity fees"),
    Account("1122020000", "应收账款-其他", "应收账款-其他应收款项", "A/R other", "Accounts receivable - other"),
    Account("1123010000", "预付账款", "预付账款-预付供应商款项", "Prepayments", "Prepayments to vendors"),
    Account("1221010000", "其他应收款", "其他应收款-代垫款项", "Other receivables", "Other receivables - advances"),
    Account("1403010000", "原材料", "原材料-电网物资", "Raw materials", "Raw materials - grid materials"),
    Account("1604010000", "在建工程", "在建工程-电网基建工程", "Constr. in progress", "Construction in progress"),
    Account("2202010000", "应付账款-材料款", "应付账款-应付物资材料款", "A/P materials", "Accounts payable - materials"),
    Account("2202020000", "应付账款-工程款", "应付账款-应付工程款", "A/P construction",
            "Accounts payable - construction"),
    Account("2202030000", "应付账款-服务款", "应付账款-应付服务费", "A/P services", "Accounts payable - services"),
    Account("2202040000", "应付账款-购电款", "应付账款-应付购电费", "A/P purchased power",
            "Accounts payable - purchased power"),
    Account("2203010000", "预收账款", "预收账款-预收客户款项", "Advance receipts", "Advance receipts from customers"),
    Account("2221010000", "应交税费-增值税", "应交税费-应交增值税", "VAT payable", "Taxes payable - VAT"),
    Account("5001010000", "生产成本-检修费", "生产成本-设备检修费", "Prod. cost maint.", "Production cost - maintenance"),
    Account("6001010000", "主营业务收入-售电", "主营业务收入-售电收入", "Revenue electricity",
            "Operating revenue - electricity sales"),
    Account("6001020000", "主营业务收入-充电", "主营业务收入-充换电服务收入", "Revenue EV charging",
            "Operating revenue - EV charging services"),
    Account("6001030000", "主营业务收入-高可靠", "主营业务收入-高可靠性供电费", "Revenue high-reliab.",
            "Operating revenue - high-reliability supply fees"),
    Account("6051010000", "其他业务收入-租赁", "其他业务收入-租赁收入", "Other rev. rental", "Other revenue - rental"),
    Account("6051020000", "其他业务收入-技术服务", "其他业务收入-技术服务收入", "Other rev. services",
            "Other revenue - technical services"),
    Account("6051030000", "其他业务收入-物资销售", "其他业务收入-废旧物资销售收入", "Other rev. scrap",
            "Other revenue - sale of scrap materials"),
    Account("6401010000", "主营业务成本-购电", "主营业务成本-购电成本", "COGS purchased power",
            "Cost of sales - purchased power"),
    Account("6401020000", "主营业务成本-运维", "主营业务成本-运行维护费", "COGS O&M", "Cost of sales - operation and maintenance"),
    Account("6602010000", "管理费用-办公费", "管理费用-办公费", "Admin office", "Administrative expenses - office"),
)

BANKS = ("1002010000", "1002020000", "1002040000")
BANK_ELECTRICITY = "1002030000"  # the collection account the marketing system's receipts arrive on
AR_ELECTRICITY = "1122010000"
AR_OTHER = "1122020000"
OTHER_RECEIVABLES = "1221010000"
PREPAYMENTS = "1123010000"
ADVANCE_RECEIPTS = "2203010000"
VAT = "2221010000"
REVENUE_ELECTRICITY = "6001010000"
ELECTRICITY_VAT_RATE = 13


@dataclass(frozen=True)
class PaymentTerms:
    zterm: str
    zbd1t: int
    zbd2t: int
    zbd3t: int
    text: str

    @property
    def net_days(self) -> int:
        """Days from baseline to net due date, the contract's rule: ZBD3T, else ZBD2T, else ZBD1T."""
        return self.zbd3t or self.zbd2t or self.zbd1t


TERMS: dict[str, PaymentTerms] = {
    t.zterm: t
    for t in (
        PaymentTerms("0001", 0, 0, 0, "立即付款"),
        PaymentTerms("Z030", 30, 0, 0, "30天净付"),
        PaymentTerms("Z060", 60, 0, 0, "60天净付"),
        PaymentTerms("Z090", 90, 0, 0, "90天净付"),
        PaymentTerms("Z180", 180, 0, 0, "180天净付"),
        PaymentTerms("Z3LV", 10, 20, 45, "10天2%，20天1%，45天净付"),
    )
}

# Profit centres (利润中心) per company code: PRCTR = P + BUKRS + number.
PROFIT_CENTRES = {"售电": "001", "输配电": "002", "综合能源": "003", "管理": "009"}
# Cost centres (成本中心) per company code: KOSTL = C + BUKRS + department number.
COST_CENTRES = {"办公室": "0101", "财务部": "0201", "运维检修部": "0301", "营销部": "0401", "物资部": "0501"}


def profit_centre(bukrs: str, name: str) -> str:
    return f"P{bukrs}{PROFIT_CENTRES[name]}"


def cost_centre(bukrs: str, name: str) -> str:
    return f"C{bukrs}{COST_CENTRES[name]}"


def skat_rows(mandt: str) -> list[dict[str, str]]:
    """SKAT: one row per account and language (`1` Chinese, `E` English), sorted like SAP's key."""
    rows = []
    for spras, short, long in (("1", "zh_short", "zh_long"), ("E", "en_short", "en_long")):
        for acc in ACCOUNTS:
            rows.append({"MANDT": mandt, "SPRAS": spras, "KTOPL": CHART, "SAKNR": acc.saknr,
                         "TXT20": getattr(acc, short), "TXT50": getattr(acc, long)})
    return rows
