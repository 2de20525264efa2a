"""Materialising the SQL models in dependency order, one transaction per model.

A model that fails (SQL error, unknown table or column) is reported with its file and line;
its previous table stays, and the models downstream of it are skipped, not built on stale
data. Cleansing models route rows that cannot be cleansed to `quarantine.<model>` and the
build reconciles every ODS table: rows in = kept + superseded + quarantined.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from catalog.ods import ensure_departed_tables
from catalog.reference_data import load_reference_tables
from catalog.register import load_reference, load_register
from catalog.system_tables import ensure_system_tables
from lineage.project.store import refresh_lineage
from models.loader import Model, ModelError, macro_files, table_macro_files
from models.loader import create_macros as create_sql_macros

Progress = Callable[[str], None]
_LINE_RE = re.compile(r"LINE (\d+):")

@dataclass(frozen=True)
class ModelResult:
    model: str
    status: str  # built | failed | skipped
    rows: int = 0
    seconds: float = 0.0
    error: str = ""


@dataclass(frozen=True)
class Reconciliation:
    ods_table: str
    model: str
    rows_in: int
    kept: int
    superseded: int
    quarantined: int

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.kept + self.superseded + self.quarantined


@dataclass
class BuildReport:
    results: list[ModelResult] = field(default_factory=list)
    reconciliations: list[Reconciliation] = field(default_factory=list)

    @property
    def failed(self) -> list[ModelResult]:
        return [r for r in self.results if r.status != "built"]


def _error_for(model: Model, exc: duckdb.Error) -> ModelError:
    text = str(exc).strip()
    m = _LINE_RE.search(text)
    first = text.splitlines()[0]
    return ModelError(model.path, first, int(m.group(1)) if m else None)


def create_macros(con: duckdb.DuckDBPyConnection, files: list[Path] | None = None) -> None:
    """(Re)create the shared macros: the cleansing and aging rules live there."""
    for path in files if files is not None else macro_files():
        try:
            create_sql_macros(con, [path])
        except duckdb.Error as exc:
            m = _LINE_RE.search(str(exc))
            raise ModelError(path, str(exc).strip().splitlines()[0], int(m.group(1)) if m else None) from None


def create_table_macros(con: duckdb.DuckDBPyConnection) -> list[Path]:
    """Create the table macros whose tables exist; returns the files still waiting for tables."""
    import sqlglot

    from models.loader import referenced_tables

    existing = {f"{s}.{t}" for s, t in con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
    waiting = []
    for path in table_macro_files():
        needed = set()
        for statement in sqlglot.parse(path.read_text(encoding="utf-8"), read="duckdb"):
            if statement is not None:
                needed |= {t for t in referenced_tables(statement) if "." in t}  # not the macro itself
        if needed <= existing:
            create_macros(con, [path])
        else:
            waiting.append(path)
    return waiting


def _reconcile(con: duckdb.DuckDBPyConnection, model: Model) -> list[Reconciliation]:
    spec = model.meta.quarantine
    assert spec is not None
    out = []
    for source in spec.sources:
        rows_in = con.execute(f"SELECT count(*) FROM ods.{source}").fetchone()[0]
        kept, superseded, quarantined = con.execute(
            f"SELECT count(*) FILTER (WHERE _reject_reason IS NULL AND _is_latest), "
            f"count(*) FILTER (WHERE _reject_reason IS NULL AND NOT _is_latest), "
            f"count(*) FILTER (WHERE _reject_reason IS NOT NULL) "
            f"FROM {model.table} WHERE lower(_ods_table) = lower(?)", [source]).fetchone()
        out.append(Reconciliation(f"ods.{source}", model.table, rows_in, kept, superseded, quarantined))
    return out


def build_model(con: duckdb.DuckDBPyConnection, model: Model) -> tuple[int, list[Reconciliation]]:
    """Materialise one model (and its quarantine) in one transaction."""
    con.begin()
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {model.layer}; CREATE SCHEMA IF NOT EXISTS quarantine")
        # same line numbers as the file: the SELECT starts on the statement's first line
        con.execute(f"CREATE OR REPLACE TABLE {model.table} AS {model.sql}")
        reconciliation: list[Reconciliation] = []
        if model.meta.quarantine:
            con.execute(f"CREATE OR REPLACE TABLE quarantine.{model.name} AS SELECT * FROM {model.table} "
                        f"WHERE _reject_reason IS NOT NULL")
            reconciliation = _reconcile(con, model)
            unbalanced = [r for r in reconciliation if not r.balanced]
            if unbalanced:
                raise ModelError(model.path, f"rows do not reconcile: {unbalanced}")
        rows = con.execute(f"SELECT count(*) FROM {model.table}").fetchone()[0]
        con.commit()
    except duckdb.Error as exc:
        con.rollback()
        raise _error_for(model, exc) from None
    except BaseException:
        con.rollback()
        raise
    return rows, reconciliation


def build(con: duckdb.DuckDBPyConnection, models: list[Model], progress: Progress | None = None,
          select: set[str] | None = None, recon_tolerance: float = 0.01) -> BuildReport:
    """Build the models (all, or the selected tables) in the given dependency order."""
    ensure_system_tables(con)
    ensure_departed_tables(con, load_register())  # a database loaded before they existed
    load_reference_tables(con, load_reference())
    con.execute("SET VARIABLE recon_tolerance = ?", [recon_tolerance])
    create_macros(con)
    report = BuildReport()
    broken: set[str] = set()
    chosen = [m for m in models if select is None or m.table in select]
    for i, model in enumerate(chosen, start=1):
        started = time.perf_counter()
        upstream_broken = sorted(model.depends_on & broken)
        if upstream_broken:
            result = ModelResult(model.table, "skipped", error=f"upstream failed: {', '.join(upstream_broken)}")
            broken.add(model.table)
        else:
            try:
                rows, reconciliation = build_model(con, model)
                result = ModelResult(model.table, "built", rows, time.perf_counter() - started)
                report.reconciliations.extend(reconciliation)
            except ModelError as exc:
                result = ModelResult(model.table, "failed", seconds=time.perf_counter() - started, error=str(exc))
                broken.add(model.table)
        report.results.append(result)
        con.execute("INSERT INTO meta.model_run VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP)",
                    [result.model, result.status, result.rows, result.seconds, result.error or None])
        if progress:
            detail = f"{result.rows:>10,} rows" if result.status == "built" else result.error
            progress(f"[{i}/{len(chosen)}] {model.table:<32} {result.status:<7} {detail}  ({result.seconds:.1f} s)")
    create_table_macros(con)  # they read the tables just built
    refresh_lineage(con, models, load_register())  # meta.column_lineage follows the model files
    if report.reconciliations:
        con.executemany(
            "INSERT INTO meta.cleansing_reconciliation VALUES (?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
            [[r.ods_table, r.model, r.rows_in, r.kept, r.superseded, r.quarantined, r.balanced]
             for r in report.reconciliations])
    return report
