"""The 回流指导手册 (return guide), generated from the register: never written by hand."""

from __future__ import annotations

from catalog.contract import control_file_name, data_file_name
from catalog.register import Reference, Register, Table

_MODE_ZH = {
    "FULL": "全量（FULL）：每日完整快照，替换该表此前的全部内容",
    "INCR": "增量（INCR）：当日新增或变更的行，按主键更新（upsert），同一业务日期重发时替换该日先前所载",
}


def _table_section(table: Table, n: int) -> list[str]:
    sample_date = "20261026"
    data = data_file_name(table.system, table.code, sample_date, 1, table.compress)
    chk = control_file_name(table.system, table.code, sample_date)
    lines = [
        f"## {n}. {table.name_zh}（{table.name_en}，{table.system}.{table.code}）",
        "",
        f"- 用途 Purpose：{table.purpose}",
        f"- 来源系统 Source：{table.system_name_zh}（{table.system}）",
        f"- 业务域 Domain：{table.domain}　责任人 Owner：{table.owner}",
        f"- 加载方式 Load mode：{_MODE_ZH[table.mode]}",
        f"- 主键 Primary key：{', '.join(table.key)}",
        f"- 字符集 Encoding：{table.encoding}；压缩 Compression：{'gzip（.csv.gz）' if table.compress else '无（.csv）'}",
        f"- 文件命名 File naming：`{data}`（可拆分为 _001、_002 …），控制文件 `{chk}` 最后写出",
        f"- ODS 表 ODS table：`ods.{table.ods_name}`",
        "",
        "| # | 字段 Field | 中文描述 | English | SAP 类型 | 主键 | 必填 |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, col in enumerate(table.columns, start=1):
        lines.append(
            f"| {i} | `{col.name}` | {col.zh} | {col.en} | {col.sap_type} | "
            f"{'✓' if col.in_key else ''} | {'✓' if col.required else ''} |"
        )
    lines.append("")
    return lines


def render_guide(register: Register, reference: Reference) -> str:
    """The guide as Markdown: per table its purpose, columns, keys, mode, naming, control rules."""
    out = [
        "# 回流指导手册 Return guide",
        "",
        "由回流表清单（`catalog/register.yaml`）自动生成，请勿手工修改。"
        " Generated from the return-table register; do not edit by hand.",
        "",
        "## 交付规则 Delivery rules",
        "",
        "- 目录 Folder：`<landing>/<业务日期 YYYYMMDD>/`，每个业务日期一个目录。",
        "- 数据文件 Data file：`<系统>_<表>_<业务日期>_<NNN>.csv[.gz]`；RFC 4180 CSV，逗号分隔，"
        "首行为表头，表头须与本手册所列字段及顺序完全一致。",
        "- 控制文件 Control file：`<系统>_<表>_<业务日期>.chk`，UTF-8，每行 `key=value`，"
        "必须含 `system`、`table`、`biz_date`、`mode`、`encoding`、`columns`，以及每个数据文件一行 "
        "`file=<文件名>|rows=<数据行数>|bytes=<字节数>|md5=<MD5>`（字节数与 MD5 按存储文件计，压缩文件按压缩后计）。",
        "- 控制文件必须最后写出；没有控制文件的数据文件视为仍在写入，不予加载。",
        "- 同一业务日期可以重发；内容相同的重发不改变数据库，内容不同的重发替换该表该日期先前所载。",
        "- 以下任一不符即整批拒收（文件原地保留，拒收原因写入 `meta.batch`）："
        "控制文件格式、文件名、表不在清单中、加载方式、字段列表、文件缺失或多出、字节数、MD5、"
        "字符集无法解码、表头、行数、CSV 格式。",
        "- 取值格式 Values：日期 `YYYYMMDD`（`00000000` 或空表示无日期）；时间 `HHMMSS`；金额为小数点 `.` 的十进制数，"
        "可带尾随负号（`1234.50-`）；BSEG/BSID/BSAD/BSIK/BSAK 金额无符号，由 `SHKZG` 表示借（S，+）贷（H，−）；"
        "凭证号、客户号、供应商号为 10 位带前导零的文本。",
        "",
        "## 表清单 Tables",
        "",
        "| # | 系统 | 表 | 中文名 | 加载方式 | 主键 | 责任人 |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, t in enumerate(register.tables, start=1):
        out.append(f"| {i} | {t.system} | {t.code} | {t.name_zh} | {t.mode} | {', '.join(t.key)} | {t.owner} |")
    out.append("")
    for i, t in enumerate(register.tables, start=1):
        out += _table_section(t, i)
    out += [
        "## 省公司参考数据 Reference data",
        "",
        "| 机构 Organisation | 名称 | 公司代码 Company codes |",
        "|---|---|---|",
    ]
    for org in reference.organisations:
        codes = "、".join(f"{c} {reference.companies[c].name_zh}" for c in org.company_codes)
        out.append(f"| {org.code} | {org.name_zh}（{org.name_en}） | {codes} |")
    out += ["", "| 供电单位 ORG_NO | 名称 | 公司代码 BUKRS |", "|---|---|---|"]
    for unit, spec in reference.supply_units.items():
        out.append(f"| {unit} | {spec.name_zh} | {spec.bukrs} |")
    out.append("")
    return "\n".join(out)
