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
