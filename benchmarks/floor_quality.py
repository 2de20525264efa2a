"""The floor for the quality suites: the same checks written as plain DuckDB SQL.

Each expectation becomes a count of its unexpected rows over its relation; the expectations of
one relation share one query, as the GX bridge shares one fetch. Used by `make bench` and, on
the small sample, by a test that the two agree.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb

from quality.specs import ExpectationSpec, SuiteSpec


def _lit(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def unexpected_condition(spec: ExpectationSpec) -> str | None:
    """SQL that is true for an unexpected row (None for column-list checks)."""
    k = spec.kwargs
    col = f'"{k["column"]}"' if "column" in k else None
    match spec.expectation:
        case "expect_column_values_to_not_be_null":
            return f"{col} IS NULL"
        case "expect_column_values_to_be_null":
            return f"{col} IS NOT NULL"
        case "expect_column_values_to_be_between":
            parts = []
            if k.get("min_value") is not None:
                parts.append(f"{col} < {_lit(k['min_value'])}")
            if k.get("max_value") is not None:
                parts.append(f"{col} > {_lit(k['max_value'])}")
            return f"{col} IS NOT NULL AND ({' OR '.join(parts)})"
        case "expect_column_values_to_be_in_set":
            return f"{col} IS NOT NULL AND {col} NOT IN ({', '.join(_lit(v) for v in k['value_set'])})"
        case "expect_column_values_to_not_be_in_set":
            return f"{col} IN ({', '.join(_lit(v) for v in k['value_set'])})"
        case "expect_column_values_to_match_regex":
            return f"{col} IS NOT NULL AND NOT regexp_matches({col}::VARCHAR, {_lit(k['regex'])})"
        case "expect_column_values_to_not_match_regex":
            return f"{col} IS NOT NULL AND regexp_matches({col}::VARCHAR, {_lit(k['regex'])})"
        case "expect_column_pair_values_a_to_be_greater_than_b":
            a, b = f'"{k["column_A"]}"', f'"{k["column_B"]}"'
            op = "<" if k.get("or_equal") else "<="
            return f"{a} IS NOT NULL AND {b} IS NOT NULL AND {a} {op} {b}"
        case "expect_column_pair_values_to_be_equal":
            a, b = f'"{k["column_A"]}"', f'"{k["column_B"]}"'
            return f"{a} IS NOT NULL AND {b} IS NOT NULL AND {a} <> {b}"
        case "expect_table_columns_to_match_ordered_list":
            return None
    raise ValueError(f"no SQL floor for {spec.expectation}")


def run_suite(con: duckdb.DuckDBPyConnection, suite: SuiteSpec) -> dict[str, int | bool]:
    """Unexpected count per expectation id (column-list checks: True when they pass)."""
    out: dict[str, int | bool] = {}
    for relation, specs in suite.by_relation().items():
        counted = [(s, unexpected_condition(s)) for s in specs]
        aggregates = [f"count(*) FILTER (WHERE {cond})" for _, cond in counted if cond]
        if aggregates:
            values = con.execute(f"SELECT {', '.join(aggregates)} FROM ({relation})").fetchone()
            for (spec, _), value in zip([c for c in counted if c[1]], values, strict=True):
                out[spec.id] = value
        for spec, cond in counted:
            if cond is None:
                columns = [r[0] for r in con.execute(f"DESCRIBE ({relation})").fetchall()]
                out[spec.id] = columns == spec.kwargs["column_list"]
    return out


def main(db: Path, mode: str) -> None:
    """Time the checks after the suites are loaded: `floor` as SQL, `ours` through the GX bridge."""
    from catalog.register import load_register
    from models.loader import create_macros
    from quality.metrics import record_metrics
    from quality.runner import load_suites, run_checks

    register = load_register()
    suites = load_suites(register)
    con = duckdb.connect(str(db))
    create_macros(con)
    started = time.perf_counter()
    if mode == "floor":
        record_metrics(con, register)  # the metric history is part of the run, as in `respool check`
        checks = sum(len(run_suite(con, s)) for s in suites)
    else:
        checks = len(run_checks(con, register, suites=suites).results)
    print(f"{mode}: {checks} checks in {time.perf_counter() - started:.2f} s")
    con.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "floor")
