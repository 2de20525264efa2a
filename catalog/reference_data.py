"""The province's reference data (catalog/reference.yaml) as tables in schema `ref`."""

from __future__ import annotations

import duckdb

from catalog.register import Reference

REF_DDL = """
CREATE SCHEMA IF NOT EXISTS ref;
CREATE OR REPLACE TABLE ref.organisation (org_code VARCHAR PRIMARY KEY, org_name_zh VARCHAR, org_name_en VARCHAR);
CREATE OR REPLACE TABLE ref.company_organisation (bukrs VARCHAR PRIMARY KEY, org_code VARCHAR,
                                                  company_name_zh VARCHAR, city VARCHAR);
CREATE OR REPLACE TABLE ref.supply_unit (org_no VARCHAR PRIMARY KEY, bukrs VARCHAR, unit_name_zh VARCHAR);
CREATE OR REPLACE TABLE ref.noted_item_indicator (umskz VARCHAR PRIMARY KEY, name_zh VARCHAR, name_en VARCHAR);
"""

# What the reference tables hold, for the catalog and lineage (columns named like an SAP field,
# bukrs and umskz, take the register's text): table -> (中文名, English, 说明, key, columns)
REF_DOCS: dict[str, dict] = {
    "ref.organisation": {
        "name_zh": "机构", "name_en": "Organisations",
        "description_zh": "省公司下属机构（地市供电公司等）；分析人员按机构授权。",
        "description_en": "The provincial company's organisations (city supply companies ...); analysts are authorised per organisation.",
        "key": ["org_code"],
        "columns": {"org_code": ("机构代码", "Organisation code"), "org_name_zh": ("机构名称", "Organisation name (Chinese)"),
                    "org_name_en": ("机构英文名称", "Organisation name (English)")},
    },
    "ref.company_organisation": {
        "name_zh": "公司代码所属机构", "name_en": "Company codes of each organisation",
        "description_zh": "每个公司代码属于哪个机构，以及公司名称和城市；数据服务据此限定分析人员可见的行。",
        "description_en": "The organisation each company code belongs to, with company name and city; the data service scopes analysts' rows by it.",
        "key": ["bukrs"],
        "columns": {"org_code": ("机构代码", "Organisation code"), "company_name_zh": ("公司名称", "Company name (Chinese)"),
                    "city": ("城市", "City")},
    },
    "ref.supply_unit": {
        "name_zh": "供电单位映射", "name_en": "Supply units",
        "description_zh": "营销系统供电单位（ORG_NO）到 ERP 公司代码的映射，用于电费应收对账。",
        "description_en": "The marketing system's supply units (ORG_NO) mapped to ERP company codes, for the electricity receivable reconciliation.",
        "key": ["org_no"],
        "columns": {"unit_name_zh": ("供电单位名称", "Supply unit name (Chinese)")},
    },
    "ref.noted_item_indicator": {
        "name_zh": "备查项特别总账标识", "name_en": "Noted-item special G/L indicators",
        "description_zh": "属于备查项（如预付款请求 F）的特别总账标识：这些项目不计入任何余额。",
        "description_en": "Special G/L indicators of noted items (such as F, down payment request): such items are in no balance.",
        "key": ["umskz"],
        "columns": {"name_zh": ("中文名称", "Name (Chinese)"), "name_en": ("英文名称", "Name (English)")},
    },
}


def load_reference_tables(con: duckdb.DuckDBPyConnection, reference: Reference) -> None:
    """Replace the `ref` tables with the reference data, in one transaction."""
    con.begin()
    try:
        con.execute(REF_DDL)
        con.executemany("INSERT INTO ref.organisation VALUES (?, ?, ?)",
                        [[o.code, o.name_zh, o.name_en] for o in reference.organisations])
        con.executemany("INSERT INTO ref.company_organisation VALUES (?, ?, ?, ?)",
                        [[c, reference.organisation_of(c).code, spec.name_zh, spec.city]
                         for c, spec in reference.companies.items()])
        con.executemany("INSERT INTO ref.supply_unit VALUES (?, ?, ?)",
                        [[u, spec.bukrs, spec.name_zh] for u, spec in reference.supply_units.items()])
        con.executemany("INSERT INTO ref.noted_item_indicator VALUES (?, ?, ?)",
                        [[k, spec.name_zh, spec.name_en] for k, spec in reference.noted_item_indicators.items()])
        con.commit()
    except BaseException:
        con.rollback()
        raise
