"""Validate quality suites with Great Expectations 1.x on DuckDB relations, batch by batch.

GX's SQL datasource does not work on DuckDB, so DuckDB computes each relation of a suite (the
default `SELECT * FROM <target>`, or a join, per-document sums, one business-date partition...)
and GX validates it as pandas DataFrames:

- The suite's expectations are grouped by relation; each relation is run once and streamed from
  DuckDB (`fetch_df_chunk`) in batches of exactly `batch_rows` rows (the last one shorter), so a
  large relation is never in pandas whole: one batch plus one DuckDB chunk (about as large) at
  a time.
- Each batch gets ONE GX validation of all the expectations of its relation, through one
  ephemeral GX context per process (pandas datasource, dataframe asset, whole-dataframe batch
  definition) and GX's v1 `Validator` on it (`batch_definition.get_batch(...).validate(...)`
  would load, and fingerprint, every DataFrame twice). Result format BASIC: counts and the first
  unexpected values. Results are matched to specs by `meta.spec_id`: GX returns them grouped by
  column, not in suite order.
- Before GX sees a batch, narrow dtypes are widened to the ones GX vectorises (`_gx_friendly`):
  otherwise GX 1.24 maps a Python function over every DATE or INTEGER value (7 s per million).
- Batch results are merged by expectation kind (`quality.specs.expectation_kind`):
  ``row`` expectations sum element, missing and unexpected counts over batches and apply GX's
  own `mostly` rule to the sums (exactly what GX computes on the whole relation); examples are
  kept in batch order up to `examples`. ``schema`` expectations (column list, column count,
  column exists) are evaluated once, on the first batch: every batch of one query has the same
  columns. ``whole`` expectations (row counts, uniqueness, aggregates such as sums or means,
  ordering, distinct values, column types) are not batch-additive: they are evaluated when the
  relation fits into one batch, and otherwise reported as a failed result whose exception says
  the relation has more than `batch_rows` rows. We never fetch a large relation whole for them:
  compute the aggregate in the relation SQL (a count, a per-document sum, `GROUP BY ... HAVING
  count(*) > 1`) and check the compact result instead.
- A relation whose SQL fails, or an expectation GX cannot evaluate, gives failed results with the
  exception text; the other relations and expectations still run.

With `data_docs`, `validate` also hands the merged results, in GX's own shape, to a
`quality.data_docs.DataDocsStore` the caller owns, which builds GX Data Docs from them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import decimal
import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

from quality.data_docs import DataDocsStore, ValidatedExpectation
from quality.specs import ExpectationSpec, Kind, SuiteSpec

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult
    from great_expectations.expectations import Expectation

#: Rows in one DuckDB vector: `fetch_df_chunk(n)` returns n vectors.
VECTOR_SIZE = 2048

#: GX fingerprints (md5 of `hash_pandas_object`) every DataFrame under 1 GB it loads: about
#: 0.5-0.9 s per million rows, for a hash that only lands in the result's `batch_markers`. False
#: switches it off process-wide (GX's module constant `HASH_THRESHOLD` set to 0) when the bridge
#: creates its context.
FINGERPRINT_BATCHES = False

DATASOURCE = "respool_relations"


@dataclass(frozen=True)
class ExpectationResult:
    """The merged outcome of one expectation of a suite over all batches of its relation.

    `success` is False whenever `exception` is set. Counts are None for expectations that do not
    count rows (table-level checks); `observed_value` is GX's (JSON-serialisable) for those and
    None for row-level ones. `unexpected_percent` is over non-missing rows, as GX reports it.
    """

    suite: str
    expectation_id: str
    expectation_type: str
    column: str | None
    dimension: str
    severity: str
    success: bool
    observed_value: Any
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    unexpected_examples: list[Any]
    description_zh: str
    description_en: str
    exception: str | None
    kind: str = "row"
    batches: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (for Dagster metadata, reports, alerts)."""
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------------------------
# GX context (one per process)


@dataclass
class _Gx:
    batch_definition: BatchDefinition


_GX: _Gx | None = None
_GX_LOCK = threading.Lock()


def _gx() -> _Gx:
    """The process's ephemeral GX context's batch definition, created on first use."""
    global _GX
    with _GX_LOCK:
        if _GX is None:
            import great_expectations as gx
            import great_expectations.execution_engine.pandas_execution_engine as pandas_engine
            from great_expectations.data_context.types.base import ProgressBarsConfig

            if not FINGERPRINT_BATCHES:
                pandas_engine.HASH_THRESHOLD = 0
            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            asset = context.data_sources.add_pandas(DATASOURCE).add_dataframe_asset("relation")
            _GX = _Gx(batch_definition=asset.add_batch_definition_whole_dataframe("batch"))
        return _GX


# ---------------------------------------------------------------------------------------------
# Fetching a relation in bounded batches


def _batches(con: duckdb.DuckDBPyConnection, sql: str, batch_rows: int) -> Iterator[tuple[pd.DataFrame, bool]]:
    """(batch, is_last) over the relation's rows: batches of exactly `batch_rows` rows but the last.

    Streams from DuckDB in chunks of whole vectors (at least `batch_rows` rows), so a relation that
    fits into one batch arrives as one chunk with DuckDB's own pandas dtypes. An empty relation is
    one empty batch (with its columns). At most one batch plus one chunk is held at a time.
    """
    vectors = max(1, -(-batch_rows // VECTOR_SIZE))
    con.execute(sql)
    buf = con.fetch_df_chunk(vectors)
    exhausted = False
    while True:
        while len(buf) <= batch_rows and not exhausted:
            chunk = con.fetch_df_chunk(vectors)
            if len(chunk) == 0:
                exhausted = True
            else:
                buf = chunk if len(buf) == 0 else pd.concat([buf, chunk], ignore_index=True)
        if len(buf) <= batch_rows:
            yield buf.reset_index(drop=True), True
            return
        yield buf.iloc[:batch_rows].reset_index(drop=True), False
        buf = buf.iloc[batch_rows:]


def _gx_friendly(df: pd.DataFrame) -> pd.DataFrame:
    """The batch with the dtypes GX 1.24 vectorises instead of mapping a Python function per row.

    GX's pandas `column_values.between` (and others) take the vectorised path only for
    `dtype in [int, float]` (int64, float64) and `datetime64[ns]`. DuckDB gives pandas 3
    int8/16/32 (nullable Int* when the batch has NULLs), float32 and datetime64[us]: the row-by-
    row path costs ~7 s per million DATE values (and it cannot compare a Timestamp with a date).
    Widened: numpy ints -> int64, nullable Int* without NULLs -> int64, float32 -> float64,
    datetime64[s/ms/us] -> [ns] unless out of range (SAP's 9999-12-31 stays [us]). Values are
    unchanged; only dtype-sensitive expectations (`expect_column_values_to_be_of_type`) see it.
    """
    changes: dict[str, pd.Series] = {}
    for name, dtype in df.dtypes.items():
        column = df[name]
        if not isinstance(name, str) or isinstance(column, pd.DataFrame):
            continue  # duplicate column names: leave the frame as DuckDB gave it
        try:
            if isinstance(dtype, np.dtype) and dtype.kind in "iu" and dtype != np.int64 and dtype != np.uint64:
                changes[name] = column.astype(np.int64)
            elif (isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "iu"
                  and dtype.name != "UInt64" and not column.hasnans):
                changes[name] = column.astype(np.int64)
            elif isinstance(dtype, np.dtype) and dtype == np.float32:
                changes[name] = column.astype(np.float64)
            elif isinstance(dtype, np.dtype) and dtype.kind == "M" and dtype != np.dtype("datetime64[ns]"):
                changes[name] = column.astype("datetime64[ns]")
            elif isinstance(dtype, pd.DatetimeTZDtype) and dtype.unit != "ns":
                changes[name] = column.dt.as_unit("ns")
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
            continue
    return df.assign(**changes) if changes else df


# ---------------------------------------------------------------------------------------------
# JSON and GX result helpers


def _jsonable(value: Any) -> Any:
    """Plain JSON types: NaN/NA/NaT -> None, numpy scalars -> Python, dates -> ISO strings."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isnan(f):
            return None
        return f if math.isfinite(f) else ("Infinity" if f > 0 else "-Infinity")
    if isinstance(value, decimal.Decimal):
        return _jsonable(float(value)) if value.is_finite() else None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray, pd.Series)):
        return [_jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [_jsonable(r) for r in value.to_dict(orient="records")]
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _exception_text(info: Any) -> str | None:
    """The message of a GX `exception_info`: flat, or keyed by metric id as graph validation gives it."""
    if not info:
        return None
    if isinstance(info, dict) and "raised_exception" in info:
        if not info.get("raised_exception"):
            return None
        return info.get("exception_message") or "Great Expectations raised an exception"
    if isinstance(info, dict):
        messages = [v.get("exception_message") or "Great Expectations raised an exception"
                    for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
        return "; ".join(dict.fromkeys(messages)) or None
    return str(info)


_COUNT_KEYS = ("element_count", "unexpected_count", "unexpected_percent", "missing_count", "missing_percent",
               "unexpected_percent_total", "unexpected_percent_nonmissing", "partial_unexpected_list",
               "partial_unexpected_counts", "partial_unexpected_index_list", "observed_value")


@dataclass
class _Acc:
    """Accumulates one expectation's batch results."""

    spec: ExpectationSpec
    kind: Kind
    relation: str
    mostly: float = 1.0
    batches: int = 0
    gx_success: bool = True
    element_count: int | None = None
    unexpected_count: int | None = None
    missing_count: int | None = None
    unexpected_percent: float | None = None
    observed: Any = None
    examples: list[Any] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    exception: str | None = None

    def fail(self, text: str) -> None:
        if self.exception is None:
            self.exception = text

    def add(self, evr: ExpectationValidationResult, examples: int) -> None:
        self.batches += 1
        text = _exception_text(evr.exception_info)
        if text:
            self.fail(text)
            return
        res = evr.result or {}
        self.gx_success = self.gx_success and bool(evr.success)
        if res.get("element_count") is not None:
            self.element_count = (self.element_count or 0) + int(res["element_count"])
        if res.get("unexpected_count") is not None:
            self.unexpected_count = (self.unexpected_count or 0) + int(res["unexpected_count"])
        if res.get("missing_count") is not None:
            self.missing_count = (self.missing_count or 0) + int(res["missing_count"])
        if res.get("unexpected_percent") is not None:
            self.unexpected_percent = float(res["unexpected_percent"])
        room = examples - len(self.examples)
        if room > 0 and res.get("partial_unexpected_list"):
            self.examples.extend(_jsonable(list(res["partial_unexpected_list"][:room])))
        if "observed_value" in res:
            self.observed = _jsonable(res["observed_value"])
        self.details.update({k: _jsonable(v) for k, v in res.items() if k not in _COUNT_KEYS})

    def final(self) -> tuple[bool, float | None]:
        """(success, unexpected_percent) over all batches."""
        if self.exception is not None or self.batches == 0:
            return False, self.unexpected_percent
        if self.kind != "row":
            return self.gx_success, self.unexpected_percent
        element = self.element_count or 0
        nonmissing = element - (self.missing_count or 0)
        unexpected = self.unexpected_count or 0
        if element == 0 or nonmissing == 0:
            return True, None  # vacuously true, as GX has it
        return (nonmissing - unexpected) / nonmissing >= self.mostly, unexpected / nonmissing * 100

    def result(self, suite: str) -> ExpectationResult:
        success, percent = self.final()
        spec = self.spec
        return ExpectationResult(
            suite=suite, expectation_id=spec.id, expectation_type=spec.expectation, column=spec.column,
            dimension=spec.dimension, severity=spec.severity, success=success,
            observed_value=self.observed, element_count=self.element_count,
            unexpected_count=self.unexpected_count, unexpected_percent=percent,
            unexpected_examples=list(self.examples), description_zh=spec.description_zh,
            description_en=spec.description_en, exception=self.exception, kind=self.kind,
            batches=self.batches)

    def gx_result(self) -> dict[str, Any]:
        """The merged result in GX's shape, for Data Docs."""
        _, percent = self.final()
        out: dict[str, Any] = dict(self.details)
        if self.observed is not None:
            out["observed_value"] = self.observed
        if self.element_count is not None:
            out["element_count"] = self.element_count
        if self.unexpected_count is not None:
            out["unexpected_count"] = self.unexpected_count
            out["unexpected_percent"] = percent
            out["partial_unexpected_list"] = list(self.examples)
        if self.missing_count is not None and self.element_count:
            out["missing_count"] = self.missing_count
            out["missing_percent"] = self.missing_count / self.element_count * 100
        return out

    def validated(self) -> ValidatedExpectation:
        """The merged outcome as Data Docs show it."""
        success, _ = self.final()
        return ValidatedExpectation(spec=self.spec, relation=self.relation, success=success,
                                    result=self.gx_result(), exception=self.exception)


# ---------------------------------------------------------------------------------------------
# Validation


@contextlib.contextmanager
def _configurations_cached() -> Iterator[None]:
    """GX 1.24 rebuilds an expectation's configuration (a pydantic round trip) on every access,
    ~80 times per expectation and batch: half of a validation's time. The expectations do not
    change while one batch is validated, so the first configuration of each is reused meanwhile."""
    from great_expectations.expectations.expectation import Expectation

    original = Expectation.configuration
    cache: dict[int, tuple[Expectation, Any]] = {}  # holding the object keeps its id unique

    def configuration(self: Expectation) -> Any:
        hit = cache.get(id(self))
        if hit is None or hit[0] is not self:
            hit = cache[id(self)] = (self, original.fget(self))
        return hit[1]

    Expectation.configuration = property(configuration)  # type: ignore[method-assign]
    try:
        yield
    finally:
        Expectation.configuration = original  # type: ignore[method-assign]


def _run_gx(df: pd.DataFrame, suite: ExpectationSuite, expectations: Sequence[Expectation],
            result_format: dict[str, Any]) -> dict[str, ExpectationValidationResult | str]:
    """One GX validation of a batch: spec id -> GX result, or the exception text.

    If GX fails for the suite as a whole, each expectation is retried alone so that only the
    culprit fails.
    """
    from great_expectations.validator.v1_validator import Validator

    bd = _gx().batch_definition
    out: dict[str, ExpectationValidationResult | str] = {}
    try:
        validator = Validator(bd, result_format=result_format, batch_parameters={"dataframe": df})
        with _configurations_cached():
            results = validator.validate_expectation_suite(suite).results
        for evr in results:
            out[evr.expectation_config.meta["spec_id"]] = evr
        return out
    except Exception:
        pass
    for exp in expectations:
        try:
            validator = Validator(bd, result_format=result_format, batch_parameters={"dataframe": df})
            out[exp.meta["spec_id"]] = validator.validate_expectation(exp)
        except Exception as exc:
            out[exp.meta["spec_id"]] = f"{type(exc).__name__}: {exc}"
    return out


def _validate_relation(con: duckdb.DuckDBPyConnection, suite_name: str, sql: str, accs: list[_Acc],
                       batch_rows: int, examples: int) -> None:
    from great_expectations.core import ExpectationSuite

    # BASIC has the counts and the first `examples` unexpected values; SUMMARY adds value counts and
    # row indexes we do not use, for ~40% more time per batch
    result_format = {"result_format": "BASIC", "partial_unexpected_count": max(examples, 1)}
    exps = {a.spec.id: a.spec.gx_expectation() for a in accs}
    for a in accs:
        mostly = getattr(exps[a.spec.id], "mostly", None)
        a.mostly = 1.0 if mostly is None else float(mostly)
    groups: dict[str, list[_Acc]] = {k: [a for a in accs if a.kind == k] for k in ("row", "schema", "whole")}
    suites: dict[tuple[bool, bool], tuple[ExpectationSuite, list[_Acc]]] = {}

    def suite_for(first: bool, single: bool) -> tuple[ExpectationSuite, list[_Acc]]:
        key = (first, single)
        if key not in suites:
            todo = groups["row"] + (groups["schema"] if first else []) + (groups["whole"] if single else [])
            gx_suite = ExpectationSuite(name=suite_name, expectations=[exps[a.spec.id] for a in todo])
            suites[key] = (gx_suite, todo)
        return suites[key]

    total = count = 0
    batches = _batches(con, sql, batch_rows)
    while True:
        try:
            df, last = next(batches)
        except StopIteration:
            break
        except Exception as exc:  # the relation's SQL (parse, bind, run time) or the fetch failed
            text = f"relation failed: {type(exc).__name__}: {exc}"
            for a in accs:
                a.fail(text)
            return
        first = count == 0
        count += 1
        total += len(df)
        gx_suite, todo = suite_for(first, first and last)
        if todo:
            results = _run_gx(_gx_friendly(df), gx_suite, [exps[a.spec.id] for a in todo], result_format)
            for a in todo:
                r = results.get(a.spec.id)
                if r is None:
                    a.fail("Great Expectations returned no result for this expectation")
                elif isinstance(r, str):
                    a.fail(r)
                else:
                    a.add(r, examples)
        del df
        if not last and not groups["row"]:  # nothing left to evaluate on the following batches
            total = -1
            break
    batches.close()
    if count > 1 or total < 0:
        size = f"{total} rows" if total >= 0 else "more rows"
        for a in groups["whole"]:
            a.fail(f"relation has {size}, more than batch_rows={batch_rows}: {a.spec.expectation} "
                   "is not batch-additive and needs the whole relation in one batch; compute the "
                   "aggregate in the relation SQL (compact relation) or raise batch_rows")


def validate(con: duckdb.DuckDBPyConnection, suite: SuiteSpec, batch_rows: int = 500_000,
             examples: int = 5, data_docs: DataDocsStore | None = None) -> list[ExpectationResult]:
    """Validate a suite on its relations in `con`; one result per expectation, in suite order.

    `con` runs each relation in turn (so it sees the caller's temp tables and views); do not use it
    from another thread meanwhile. Never raises for a failing relation or expectation: those are
    failed results carrying the exception text. The merged GX results are kept in `data_docs`,
    when given, for its `build_data_docs`.
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    if examples < 0:
        raise ValueError("examples must be >= 0")
    started = dt.datetime.now(dt.UTC)
    accs = {s.id: _Acc(spec=s, kind=s.kind, relation=suite.relation_of(s)) for s in suite.expectations}
    for sql, specs in suite.by_relation().items():
        _validate_relation(con, suite.name, sql, [accs[s.id] for s in specs], batch_rows, examples)
    results = [accs[s.id].result(suite.name) for s in suite.expectations]
    if data_docs is not None:
        try:
            data_docs.remember(suite, [accs[s.id].validated() for s in suite.expectations], started, DATASOURCE)
        except Exception:  # Data Docs bookkeeping must never fail a validation
            pass
    return results

