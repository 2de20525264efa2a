"""Structural suites for the ODS tables, generated from the register — never written twice.

Each ODS table gets: columns = register, key unique within the checked delivery, required
columns not null, SAP formats (YYYYMMDD dates, digits, amounts, 10-digit numbers), text without
trailing blanks, and the SAP conventions worth flagging (00000000 dates, trailing minus).
The checked rows are one business-date partition: the newest, or the one in the DuckDB variable
`quality_biz_date` that the runner sets.
"""

from __future__ import annotations

from catalog.register import Register, Table

TEN_DIGIT_NUMBERS = {"BELNR", "KUNNR", "LIFNR", "AUGBL", "STBLG"}
BATCH_COLUMNS = ["_batch_id", "_biz_date", "_source_file", "_row_number"]
_FORMAT = {
    "DATS": (r"^[0-9]{8}$", "日期格式 YYYYMMDD", "date in YYYYMMDD"),
    "NUMC": (r"^[0-9]+$", "数字字符", "digits only"),
    "TIMS": (r"^[0-9]{6}$", "时间格式 HHMMSS", "time in HHMMSS"),
    "CURR": (r"^[0-9]+(?:\.[0-9]+)?-?$", "金额格式（小数点，可带尾随负号）", "decimal amount, optional trailing minus"),
    "DEC": (r"^[0-9]+(?:\.[0-9]+)?-?$", "数值格式（小数点，可带尾随负号）", "decimal number, optional trailing minus"),
}


def partition_relation(table: Table) -> str:
    ods = f"ods.{table.ods_name}"
    return (f"SELECT * FROM {ods} WHERE _biz_date = coalesce(getvariable('quality_biz_date'), "
            f"(SELECT max(_biz_date) FROM {ods}))")


def _e(id: str, expectation: str, kwargs: dict, dimension: str, severity: str, zh: str, en: str,
       relation: str | None = None) -> dict:
    spec = {"id": id, "expectation": expectation, "kwargs": kwargs, "dimension": dimension,
            "severity": severity, "description_zh": zh, "description_en": en}
    if relation:
        spec["relation"] = relation
    return spec


def structural_suite(table: Table) -> dict:
    """The suite (as a dict for quality.specs) that the register implies for one ODS table."""
    rel = partition_relation(table)
    code = table.code
    exps = [
        _e("columns_match_register", "expect_table_columns_to_match_ordered_list",
           {"column_list": [*table.column_names, *BATCH_COLUMNS]}, "规范性", "error",
           f"{table.name_zh}的字段及顺序与回流表清单一致", f"{code} columns and their order match the register"),
        _e("key_unique", "expect_column_values_to_be_between", {"column": "copies", "max_value": 1},
           "一致性", "warn", f"{table.name_zh}主键（{', '.join(table.key)}）在同一交付内唯一",
           f"{code} key ({', '.join(table.key)}) is unique within the delivery",
           relation=(f"SELECT concat_ws('|', {', '.join(table.key)}) AS key, count(*) AS copies "
                     f"FROM ({rel}) GROUP BY 1 HAVING count(*) > 1")),
    ]
    for col in table.columns:
        c = col.name
        if col.required:
            exps.append(_e(f"{c}_not_null", "expect_column_values_to_not_be_null", {"column": c}, "完整性",
                           "warn", f"{col.label} 不为空", f"{c} ({col.en}) is never empty"))
            exps.append(_e(f"{c}_mostly_not_null", "expect_column_values_to_not_be_null",
                           {"column": c, "mostly": 0.99}, "完整性", "error",
                           f"{col.label} 空值不超过 1%（超过则阻断）", f"{c} is empty in at most 1% of rows (blocks)"))
        if c in TEN_DIGIT_NUMBERS:
            exps.append(_e(f"{c}_ten_digits", "expect_column_values_to_match_regex",
                           {"column": c, "regex": r"^[0-9]{10}$"}, "规范性", "warn",
                           f"{col.label} 为 10 位带前导零的数字", f"{c} is 10 digits with leading zeros"))
        elif col.type in _FORMAT:
            regex, zh, en = _FORMAT[col.type]
            exps.append(_e(f"{c}_format", "expect_column_values_to_match_regex", {"column": c, "regex": regex},
                           "规范性", "warn", f"{col.label} {zh}", f"{c}: {en}"))
        if col.type == "DATS" and not col.required and c != "AUGDT":
            exps.append(_e(f"{c}_zero_date", "expect_column_values_to_not_be_in_set",
                           {"column": c, "value_set": ["00000000"]}, "规范性", "warn",
                           f"{col.label} 以 00000000 交付（按无日期处理）",
                           f"{c} delivered as 00000000 (read as no date)"))
        if col.type in ("CURR", "DEC"):
            exps.append(_e(f"{c}_trailing_minus", "expect_column_values_to_not_match_regex",
                           {"column": c, "regex": "-$"}, "规范性", "warn",
                           f"{col.label} 带尾随负号（SAP 外部格式，按负数处理）",
                           f"{c} with a trailing minus (SAP external format, read as negative)"))
    texts = [c.name for c in table.columns if c.type == "CHAR"]
    if texts:
        union = " UNION ALL ".join(
            f"SELECT '{c}' AS column_name, {c} AS value, _row_number FROM ({rel}) WHERE {c} LIKE '% '"
            for c in texts)
        exps.append(_e("no_trailing_blanks", "expect_column_values_to_not_match_regex",
                       {"column": "value", "regex": r"\s$"}, "规范性", "warn",
                       f"{table.name_zh}文本字段无尾随空格", f"{code} text fields carry no trailing blanks",
                       relation=union))
    return {"name": f"ods_{table.ods_name}", "target": f"ods.{table.ods_name}", "default_relation": rel,
            "expectations": exps}


def structural_suites(register: Register) -> list[dict]:
    return [structural_suite(t) for t in register.tables]
