"""Structural suites for the ODS tables, generated from the register — never written twice.

Each ODS table gets: columns = register, key unique within the checked delivery, required
columns not null, SAP formats (YYYYMMDD dates, digits, amounts, 10-digit numbers), text without
trailing blanks, and the SAP conventions worth flagging (00000000 dates, trailing minus).
The checked rows are one business-date partition: the newest, or the one in the DuckDB variable
`quality_biz_date` that the runner sets.

DuckDB evaluates the rules (regexes, blanks) in one pass over the partition and hands Great
Expectations a compact relation: one column per check, NULL where the row passes and the
offending value where it does not, so GX's counts and examples stay exact while it only tests
for NULL. A column `<COLUMN>__<check>` reports on register column <COLUMN>.
"""

from __future__ import annotations

from catalog.ods import ods_columns
from catalog.register import Column, Register, Table

TEN_DIGIT_NUMBERS = {"BELNR", "KUNNR", "LIFNR", "AUGBL", "STBLG"}
_FORMAT = {
    "DATS": (r"[0-9]{8}", "日期格式 YYYYMMDD", "date in YYYYMMDD"),
    "NUMC": (r"[0-9]+", "数字字符", "digits only"),
    "TIMS": (r"[0-9]{6}", "时间格式 HHMMSS", "time in HHMMSS"),
    "CURR": (r"[0-9]+(\.[0-9]+)?-?", "金额格式（小数点，可带尾随负号）", "decimal amount, optional trailing minus"),
    "DEC": (r"[0-9]+(\.[0-9]+)?-?", "数值格式（小数点，可带尾随负号）", "decimal number, optional trailing minus"),
}
_TEN_DIGITS = (r"[0-9]{10}", "为 10 位带前导零的数字", "is 10 digits with leading zeros")


def partition_relation(table: Table) -> str:
    ods = f"ods.{table.ods_name}"
    return (f"SELECT * FROM {ods} WHERE _biz_date = coalesce(getvariable('quality_biz_date'), "
            f"(SELECT max(_biz_date) FROM {ods}))")


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _null_check(id: str, dimension: str, severity: str, zh: str, en: str, mostly: float | None = None) -> dict:
    kwargs: dict = {"column": id}
    if mostly is not None:
        kwargs["mostly"] = mostly
    return {"id": id, "expectation": "expect_column_values_to_be_null", "kwargs": kwargs, "dimension": dimension,
            "severity": severity, "description_zh": zh, "description_en": en}


def _column_checks(col: Column) -> list[tuple[str, str, dict]]:
    """(violation column, its SQL, expectation) for one register column."""
    c = col.name
    row = "_source_file || ':' || _row_number"  # where the empty value was delivered
    out = []
    if col.required:
        missing = f"CASE WHEN {c} IS NULL OR trim({c}) = '' THEN {row} END"
        out.append((f"{c}__not_null", missing, _null_check(
            f"{c}__not_null", "完整性", "warn", f"{col.label} 不为空", f"{c} ({col.en}) is never empty")))
    rule = _TEN_DIGITS if c in TEN_DIGIT_NUMBERS else _FORMAT.get(col.type)
    if rule:
        regex, zh, en = rule
        out.append((f"{c}__format", f"CASE WHEN NOT regexp_full_match({c}, {_sql_str(regex)}) THEN {c} END",
                     _null_check(f"{c}__format", "规范性", "warn", f"{col.label} {zh}", f"{c}: {en}")))
    if col.type == "DATS" and not col.required and c != "AUGDT":
        out.append((f"{c}__zero_date", f"CASE WHEN {c} = '00000000' THEN {c} END", _null_check(
            f"{c}__zero_date", "规范性", "warn", f"{col.label} 以 00000000 交付（按无日期处理）",
            f"{c} delivered as 00000000 (read as no date)")))
    if col.type in ("CURR", "DEC"):
        out.append((f"{c}__trailing_minus", f"CASE WHEN {c} LIKE '%-' THEN {c} END", _null_check(
            f"{c}__trailing_minus", "规范性", "warn", f"{col.label} 带尾随负号（SAP 外部格式，按负数处理）",
            f"{c} with a trailing minus (SAP external format, read as negative)")))
    return out


def structural_suite(table: Table) -> dict:
    """The suite (as a dict for quality.specs) that the register implies for one ODS table."""
    rel = partition_relation(table)
    code = table.code
    checks = [check for col in table.columns for check in _column_checks(col)]
    texts = [c.name for c in table.columns if c.type == "CHAR"]
    if texts:
        blanks = ", ".join(f"CASE WHEN {c} LIKE '% ' THEN '{c}=«' || {c} || '»' END" for c in texts)
        checks.append(("no_trailing_blanks", f"nullif(concat_ws('; ', {blanks}), '')", _null_check(
            "no_trailing_blanks", "规范性", "warn", f"{table.name_zh}文本字段无尾随空格",
            f"{code} text fields carry no trailing blanks")))
    required = [c.name for c in table.columns if c.required]
    if required:
        empty = " OR ".join(f"{c} IS NULL OR trim({c}) = ''" for c in required)
        checks.append(("required_mostly_filled",
                       f"CASE WHEN {empty} THEN _source_file || ':' || _row_number END",
                       _null_check("required_mostly_filled", "完整性", "error",
                                   f"{table.name_zh}必填字段有空值的行不超过 1%（超过则阻断）",
                                   f"{code}: at most 1% of rows lack a required value (blocks)", mostly=0.99)))
    violations = ",\n       ".join(f'{sql} AS "{name}"' for name, sql, _ in checks)
    expectations = [
        {"id": "columns_match_register", "expectation": "expect_table_columns_to_match_ordered_list",
         "kwargs": {"column_list": ods_columns(table)}, "dimension": "规范性",
         "severity": "error", "description_zh": f"{table.name_zh}的字段及顺序与回流表清单一致",
         "description_en": f"{code} columns and their order match the register",
         "relation": f"SELECT * FROM ods.{table.ods_name} LIMIT 0"},
        {"id": "key_unique", "expectation": "expect_column_values_to_be_between",
         "kwargs": {"column": "copies", "max_value": 1}, "dimension": "一致性", "severity": "warn",
         "description_zh": f"{table.name_zh}主键（{', '.join(table.key)}）在同一交付内唯一",
         "description_en": f"{code} key ({', '.join(table.key)}) is unique within the delivery",
         "relation": (f"SELECT concat_ws('|', {', '.join(table.key)}) AS key, count(*) AS copies "
                      f"FROM ({rel}) GROUP BY 1 HAVING count(*) > 1")},
        *(expectation for _, _, expectation in checks),
    ]
    return {"name": f"ods_{table.ods_name}", "target": f"ods.{table.ods_name}",
            "default_relation": f"SELECT {violations}\nFROM ({rel})", "expectations": expectations}


def structural_suites(register: Register) -> list[dict]:
    return [structural_suite(t) for t in register.tables]
