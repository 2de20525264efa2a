"""Master data of the sample world: company codes, customers (incl. the YX summary customers), vendors, users.

Names are realistic Chinese company names of Zhejiang; everything is GBK-encodable because ERP
extracts are GBK. Unified social credit codes carry valid GB 32100 / GB 11714 check characters.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate

from catalog.register import Reference
from sample_data.chart_of_accounts import CHART
from sample_data.values import CURRENCY, MANDT, ymd

DIVISION = {"杭州": "330100", "宁波": "330200", "温州": "330300", "嘉兴": "330400", "湖州": "330500",
            "绍兴": "330600", "金华": "330700", "衢州": "330800", "舟山": "330900", "台州": "331000",
            "丽水": "331100"}
COUNTIES = {"杭州": ("萧山", "余杭", "富阳", "临安", "桐庐", "建德", "淳安"),
            "宁波": ("鄞州", "慈溪", "余姚", "奉化", "宁海", "象山", "北仑"),
            "温州": ("瑞安", "乐清", "永嘉", "苍南", "平阳", "龙湾"),
            "嘉兴": ("海宁", "桐乡", "平湖", "嘉善", "海盐"),
            "湖州": ("长兴", "德清", "安吉", "南浔"),
            "绍兴": ("诸暨", "上虞", "嵊州", "新昌", "柯桥"),
            "金华": ("义乌", "东阳", "永康", "兰溪", "浦江", "武义"),
            "衢州": ("江山", "龙游", "常山", "开化"),
            "舟山": ("定海", "普陀", "岱山"),
            "台州": ("温岭", "临海", "玉环", "黄岩", "路桥", "天台"),
            "丽水": ("龙泉", "青田", "缙云", "遂昌", "松阳")}
BRANDS = ("恒达", "华鑫", "宏远", "金诚", "中天", "永盛", "瑞丰", "新安", "东方", "天成", "博远", "嘉禾", "同辉",
          "鼎盛", "信达", "联众", "众和", "泰和", "明辉", "汇丰", "万通", "九洲", "海天", "长江", "锦程", "正泰",
          "德力", "佳美", "隆兴", "富春", "钱塘", "之江", "四明", "雁荡", "兰亭", "双龙", "仙都", "南湖", "太湖",
          "天目", "星辰", "凯达", "宝源", "诚信", "振华", "荣盛", "伟业", "盛世", "远大", "国信", "丰源", "百川",
          "金鹰", "银河", "大通", "立信", "卓越", "华东", "江南", "新世纪", "利民", "安泰", "和润", "中恒", "华泰",
          "天马", "金桥", "越秀", "开元", "浙星", "东海", "宁兴", "润达", "恒通", "永恒", "亿联", "世纪", "精工")
INDUSTRIES = ("纺织", "机械制造", "化纤", "五金制品", "电子科技", "新材料", "食品", "建材", "物流", "置业",
              "医药", "汽车零部件", "印染", "塑业", "光伏科技", "数据科技", "房地产开发", "商贸", "酒店管理",
              "水泥", "服饰", "家具", "不锈钢", "轴承", "泵业", "阀门", "模具", "包装", "造纸", "化工",
              "陶瓷", "电器", "照明", "智能装备", "生物科技", "冷链物流", "农业开发", "旅游开发", "文化传媒",
              "通信技术")
INSTITUTIONS = ("第一人民医院", "中心医院", "中医院", "职业技术学院", "实验中学", "体育中心", "图书馆")
STATE_OWNED = ("自来水有限公司", "公共交通集团有限公司", "城市建设投资集团有限公司", "轨道交通集团有限公司",
               "污水处理有限公司", "水务集团有限公司", "交通投资集团有限公司")
NUMERALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四", "十五")
VENDOR_WORDS = {
    "材料": ("电缆", "线缆", "电力金具", "绝缘子", "电能表", "电力器材", "铁塔", "水泥电杆"),
    "设备": ("电气", "变压器", "开关", "电力设备", "输变电设备", "智能电气", "成套设备"),
    "工程": ("电力建设", "电力工程", "输变电工程", "建设工程", "送变电工程", "电力安装"),
    "服务": ("电力科技", "信息技术", "物业管理", "检测技术", "电力设计", "后勤服务"),
}
POWER_PLANTS = ("浙江北仑发电有限公司", "浙江嘉兴发电有限责任公司", "浙江台州发电有限公司", "浙江乌沙山发电有限公司",
                "浙江滩坑水电有限公司", "浙江天荒坪抽水蓄能有限责任公司", "浙江三门核电有限公司",
                "浙江华光风力发电有限公司", "浙江正泰光伏电力有限公司", "浙江长兴发电有限公司",
                "浙江兰溪发电有限责任公司", "浙江舟山海上风电有限公司")
VENDOR_GROUPS = {"材料": "Z001", "设备": "Z001", "工程": "Z002", "服务": "Z003", "购电": "Z004"}
VENDOR_TERMS = {"材料": ("Z060", "Z090", "Z3LV", "Z030"), "设备": ("Z090", "Z060", "Z3LV"),
                "工程": ("Z090", "Z180", "Z060"), "服务": ("Z030", "0001", "Z060"), "购电": ("Z030",)}
CUSTOMER_TERMS = ("Z030", "Z030", "Z030", "Z060", "0001", "Z3LV", "Z090")
USERS = ("ZHANGWEI", "WANGFANG", "LINA", "LIUYANG", "CHENJING", "YANGLI", "HUANGMIN", "ZHAOLEI", "WUXIA",
         "ZHOUJIE", "XUJING", "SUNHAO", "MAYAN", "ZHUQIANG", "HULIN", "GUOPING", "HEYING", "GAOFENG",
         "LUOMING", "ZHENGHUA", "LIANGYU", "XIEDAN", "SONGTAO", "TANGWEN", "HANXUE", "FENGYI", "DENGKAI",
         "CAOLEI", "PENGYU", "ZENGLI", "XIAOMING", "TIANJING", "DONGHAO", "YUANJIE", "PANTING", "JIANGFAN")
# Share of postings per company code (provincial company and city companies by size).
COMPANY_WEIGHT = {"3300": 12, "3301": 14, "3302": 12, "3303": 10, "3304": 7, "3305": 5, "3306": 8, "3307": 9,
                  "3308": 4, "3309": 3, "3310": 8, "3311": 4}
FIRST_CUSTOMER, FIRST_SUMMARY_CUSTOMER, FIRST_VENDOR = 1_000_001, 9_000_001, 2_000_001

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def social_credit_code(rng: random.Random, kind: str, division: str) -> str:
    """A unified social credit code (统一社会信用代码) with valid check characters."""
    body = "".join(rng.choice("0123456789") for _ in range(2)) + "".join(rng.choice(_ORG_CHARS[:10] + "ABCDEFGH")
                                                                         for _ in range(6))
    check = 11 - sum(_ORG_CHARS.index(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    org = body + ("X" if check == 10 else "0" if check == 11 else str(check))
    head = kind + division + org
    check18 = (31 - sum(_USCC_CHARS.index(c) * w for c, w in zip(head, _USCC_WEIGHTS, strict=True)) % 31) % 31
    return head + _USCC_CHARS[check18]


@dataclass
class Partner:
    """A customer (KNA1) or vendor (LFA1) with what the postings need to know about it."""

    number: str
    name: str
    short: str  # for item texts
    city: str
    stcd5: str
    group: str
    created: date
    bukrs: str  # home company code
    zterm: str
    kind: str
    erdat: str = ""
    loevm: str = ""
    org_no: str = ""  # summary customers: the YX supply unit

    def __post_init__(self) -> None:
        self.erdat = self.erdat or ymd(self.created)


@dataclass
class MasterData:
    companies: dict[str, tuple[str, str]]  # BUKRS -> (name, city)
    customers: list[Partner]
    summary: dict[str, Partner]  # ORG_NO -> summary customer
    vendors: dict[str, list[Partner]]  # category -> vendors
    users: dict[str, list[str]]
    company_codes: list[str] = field(default_factory=list)
    company_cum: list[float] = field(default_factory=list)
    _customer_cum: list[float] = field(default_factory=list)
    _names: set[str] = field(default_factory=set)

    # -- choosing ------------------------------------------------------------------------------
    def pick_company(self, rng: random.Random) -> str:
        return rng.choices(self.company_codes, cum_weights=self.company_cum)[0]

    def pick_customer(self, rng: random.Random) -> Partner:
        """A customer, the big ones more often; marked-for-deletion customers post nothing new."""
        while True:
            customer = rng.choices(self.customers, cum_weights=self._customer_cum)[0]
            if not customer.loevm:
                return customer

    def pick_vendor(self, rng: random.Random, category: str) -> Partner:
        return rng.choice(self.vendors[category])

    def user(self, rng: random.Random, bukrs: str) -> str:
        return rng.choice(self.users[bukrs])

    # -- growing -------------------------------------------------------------------------------
    def add_customer(self, rng: random.Random, created: date) -> Partner:
        number = f"{FIRST_CUSTOMER + len(self.customers):010d}"
        customer = _new_customer(rng, number, created, self)
        self.customers.append(customer)
        weight = min(rng.paretovariate(1.3), 40.0)
        self._customer_cum.append((self._customer_cum[-1] if self._customer_cum else 0.0) + weight)
        return customer

    # -- SAP tables ----------------------------------------------------------------------------
    def t001_records(self) -> Iterator[dict[str, str]]:
        for bukrs, (name, city) in self.companies.items():
            yield {"MANDT": MANDT, "BUKRS": bukrs, "BUTXT": name, "ORT01": city, "LAND1": "CN",
                   "WAERS": CURRENCY, "KTOPL": CHART}

    def kna1_records(self, day: date) -> Iterator[dict[str, str]]:
        for c in [*self.customers, *self.summary.values()]:
            if c.created <= day:
                yield {"MANDT": MANDT, "KUNNR": c.number, "NAME1": c.name, "ORT01": c.city, "LAND1": "CN",
                       "STCD5": c.stcd5, "KTOKD": c.group, "ERDAT": c.erdat, "LOEVM": c.loevm}

    def lfa1_records(self, day: date) -> Iterator[dict[str, str]]:
        vendors = sorted((v for group in self.vendors.values() for v in group), key=lambda v: v.number)
        for v in vendors:
            if v.created <= day:
                yield {"MANDT": MANDT, "LIFNR": v.number, "NAME1": v.name, "ORT01": v.city, "LAND1": "CN",
                       "STCD5": v.stcd5, "KTOKK": v.group, "ERDAT": v.erdat, "LOEVM": v.loevm}


def _unique(taken: set[str], make: Callable[[], tuple[str, str]], tries: int = 1000) -> tuple[str, str] | None:
    """A name not given yet (None when `tries` draws found none)."""
    for _ in range(tries):
        name, short = make()
        if name not in taken and len(name) <= 35:
            taken.add(name)
            return name, short
    return None


def _new_customer(rng: random.Random, number: str, created: date, world: MasterData) -> Partner:
    bukrs = world.pick_company(rng)
    city = world.companies[bukrs][1]
    places = (f"{city}市", *COUNTIES[city])

    def institution() -> tuple[str, str]:
        inst = rng.choice(INSTITUTIONS) if rng.random() < 0.6 else f"第{rng.choice(NUMERALS)}中学"
        name = f"{rng.choice(places)}{inst}"
        return name, name[:8]

    def state_owned() -> tuple[str, str]:
        name = f"{rng.choice(places)}{rng.choice(STATE_OWNED)}"
        return name, name[:6]

    def enterprise() -> tuple[str, str]:
        brand, trade = rng.choice(BRANDS), rng.choice(INDUSTRIES)
        place = rng.choice((city, *COUNTIES[city], "浙江"))
        suffix = rng.choice(("有限公司", "有限公司", "有限公司", "股份有限公司", "集团有限公司"))
        return f"{place}{brand}{trade}{suffix}", f"{brand}{trade}"

    r = rng.random()
    # public bodies and state-owned utilities are few per city: once all are taken, an enterprise instead
    named = None
    if r < 0.05:
        named, kind, group, uscc_kind = _unique(world._names, institution, 20), "事业单位", "Z002", "12"
    elif r < 0.09:
        named, kind, group, uscc_kind = _unique(world._names, state_owned, 20), "国有企业", "Z001", "91"
    if named is None:
        named, kind, group, uscc_kind = _unique(world._names, enterprise), "企业", "Z001", "91"
    if named is None:
        raise RuntimeError("ran out of distinct company names")
    name, short = named
    return Partner(number=number, name=name, short=short, city=f"{city}市",
                   stcd5=social_credit_code(rng, uscc_kind, DIVISION[city]), group=group, created=created,
                   bukrs=bukrs, zterm=rng.choice(CUSTOMER_TERMS), kind=kind,
                   loevm="X" if rng.random() < 0.02 else "")


def _new_vendor(rng: random.Random, number: str, category: str, created: date, world: MasterData,
                plant: str = "") -> Partner:
    bukrs = world.pick_company(rng)
    city = world.companies[bukrs][1]
    if plant:
        name, short = plant, plant.removeprefix("浙江")[:6]
        world._names.add(name)
    else:
        def make() -> tuple[str, str]:
            brand, word = rng.choice(BRANDS), rng.choice(VENDOR_WORDS[category])
            place = rng.choice((city, *COUNTIES[city], "浙江", "浙江"))
            suffix = rng.choice(("有限公司", "股份有限公司", "集团有限公司"))
            return f"{place}{brand}{word}{suffix}", f"{brand}{word}"

        named = _unique(world._names, make)
        if named is None:
            raise RuntimeError("ran out of distinct vendor names")
        name, short = named
    return Partner(number=number, name=name, short=short, city=f"{city}市",
                   stcd5=social_credit_code(rng, "91", DIVISION[city]), group=VENDOR_GROUPS[category],
                   created=created, bukrs=bukrs, zterm=rng.choice(VENDOR_TERMS[category]), kind=category)


def build(rng: random.Random, reference: Reference, scale: float, history_start: date) -> MasterData:
    """Company codes from the reference data, customers and vendors in proportion to `scale`."""
    companies = {code: (spec.name_zh, spec.city) for code, spec in sorted(reference.companies.items())}
    codes = list(companies)
    pool = list(USERS)
    rng.shuffle(pool)
    users = {code: [pool[(3 * i + k) % len(pool)] for k in range(3)] for i, code in enumerate(codes)}
    world = MasterData(companies=companies, customers=[], summary={}, vendors={}, users=users,
                       company_codes=codes,
                       company_cum=list(accumulate(COMPANY_WEIGHT.get(c, 5) for c in codes)))
    span = (history_start - date(2005, 1, 1)).days - 30

    def created() -> date:
        return date(2005, 1, 1) + timedelta(days=rng.randrange(span))

    for _ in range(max(40, round(800 * scale))):
        world.add_customer(rng, created())
    for i, (org_no, unit) in enumerate(reference.supply_units.items()):
        city = companies[unit.bukrs][1]
        world.summary[org_no] = Partner(
            number=f"{FIRST_SUMMARY_CUSTOMER + i:010d}", name=f"电费汇总客户-{unit.name_zh}", short=unit.name_zh,
            city=f"{city}市", stcd5="", group="Z009", created=date(2016, 1, 1), bukrs=unit.bukrs, zterm="Z030",
            kind="电费汇总", org_no=org_no)
    counts = {"材料": 0.30, "设备": 0.15, "工程": 0.25, "服务": 0.30}
    n_vendors = max(40, round(600 * scale))
    serial = FIRST_VENDOR
    for category, share in counts.items():
        world.vendors[category] = []
        for _ in range(max(4, round(n_vendors * share))):
            world.vendors[category].append(_new_vendor(rng, f"{serial:010d}", category, created(), world))
            serial += 1
    world.vendors["购电"] = []
    for plant in POWER_PLANTS:
        world.vendors["购电"].append(_new_vendor(rng, f"{serial:010d}", "购电", created(), world, plant))
        serial += 1
    return world
