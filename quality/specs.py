"""Quality suites as data: typed, validated specs of Great Expectations checks per table or model.

A suite (one YAML file) names its target (`ods.bseg`, a model or asset), a default relation (the
DuckDB SQL whose rows are validated; `SELECT * FROM <target>` when omitted) and its expectations.
Each expectation names a GX 1.x expectation (`expect_column_values_to_not_be_null`) with its
kwargs, a GB/T 36344 dimension, a severity (`error` blocks, `warn` does not), a Chinese and an
English description and, optionally, its own relation (a cross-table join, per-document sums, one
business-date partition...).

Everything that can be refused before any data is read is refused here, with the suite and the
expectation id named: an unknown or unsupported expectation name, kwargs GX rejects, a bad
dimension or severity, a duplicated id, a relation that is not exactly one SELECT statement.

Expectations fall into three kinds (`expectation_kind`), which decide how the bridge
(`quality.gx_bridge`) evaluates them over a relation fetched in bounded batches:

- ``row``: a verdict per row (not-null, regex, between, in-set, pair and within-record checks);
  batch-additive, so counts are summed over batches and `mostly` is applied to the sums.
- ``schema``: depends only on the column list, which every batch of one query shares; evaluated
  once, on the first batch.
- ``whole``: needs all rows at once (row counts, uniqueness, aggregates, ordering, distinct values,
  column types whose pandas dtype depends on the batch's nulls); evaluated only when the relation
  fits into one batch, otherwise reported as a failed result that says so.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from catalog.yaml_lines import Lines, YamlSyntaxError, read_yaml

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

Dimension = Literal["规范性", "完整性", "准确性", "一致性", "时效性", "可访问性"]
Severity = Literal["error", "warn"]
Kind = Literal["row", "schema", "whole"]

#: GB/T 36344-2018 data-quality dimensions: Chinese name -> English name.
DIMENSIONS: dict[str, str] = {
    "规范性": "conformity",
    "完整性": "completeness",
    "准确性": "accuracy",
    "一致性": "consistency",
    "时效性": "timeliness",
    "可访问性": "accessibility",
}
_DIMENSION_BY_ALIAS = {en: zh for zh, en in DIMENSIONS.items()}

#: Per-row expectations: the verdict on a row depends on that row alone, so they are batch-additive.
ROW_EXPECTATIONS: frozenset[str] = frozenset({
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex",
    "expect_column_values_to_match_regex_list",
    "expect_column_values_to_not_match_regex_list",
    "expect_column_values_to_match_strftime_format",
    "expect_column_values_to_be_dateutil_parseable",
    "expect_column_values_to_be_json_parseable",
    "expect_column_values_to_match_json_schema",
    "expect_column_value_lengths_to_be_between",
    "expect_column_value_lengths_to_equal",
    "expect_column_pair_values_a_to_be_greater_than_b",
    "expect_column_pair_values_to_be_equal",
    "expect_column_pair_values_to_be_in_set",
    "expect_multicolumn_sum_to_equal",
    "expect_multicolumn_values_to_be_equal",
    "expect_select_column_values_to_be_unique_within_record",
})

#: Expectations on the column list only: every batch of one query has the same columns.
SCHEMA_EXPECTATIONS: frozenset[str] = frozenset({
    "expect_column_to_exist",
    "expect_table_columns_to_match_ordered_list",
    "expect_table_columns_to_match_set",
    "expect_table_column_count_to_equal",
    "expect_table_column_count_to_be_between",
})

#: Refused: they need a GX SQL datasource (which does not work on DuckDB) or another GX asset.
#: Express them as a relation instead (a join or a count computed by DuckDB). Expectations whose
#: metrics have no pandas implementation (the LIKE-pattern family) are refused as well.
UNSUPPORTED_EXPECTATIONS: frozenset[str] = frozenset({
    "expect_table_row_count_to_equal_other_table",
    "expect_query_results_to_match_comparison",
    "unexpected_rows_expectation",
})

#: Keys of a GX expectation that the bridge sets itself (or that make no sense here).
RESERVED_KWARGS: frozenset[str] = frozenset({
    "id", "meta", "notes", "severity", "description", "result_format", "catch_exceptions",
    "rendered_content", "windows", "batch_id",
})

_ID = re.compile(r"^[A-Za-z0-9_]+$")          # also a valid Dagster asset-check name
_SUITE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # a file name in GX's stores


class SuiteSpecError(ValueError):
    """A suite file or dict is malformed; the message names the suite and the expectation id."""


def expectation_kind(expectation: str) -> Kind:
    """How the bridge evaluates an expectation over batches (see the module docstring)."""
    if expectation in ROW_EXPECTATIONS:
        return "row"
    if expectation in SCHEMA_EXPECTATIONS:
        return "schema"
    return "whole"


@cache
def _pandas_gaps(expectation: str) -> tuple[str, ...]:
    """Metrics the expectation needs that GX cannot compute on pandas (empty when it can)."""
    from great_expectations.exceptions import MetricProviderError
    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations.registry import get_expectation_impl, get_metric_provider

    impl = get_expectation_impl(expectation)
    metrics = list(getattr(impl, "metric_dependencies", ()) or ())
    if getattr(impl, "map_metric", None):
        metrics.append(f"{impl.map_metric}.unexpected_count")
    engine = PandasExecutionEngine()
    gaps = []
    for metric in metrics:
        try:
            get_metric_provider(metric, engine)
        except MetricProviderError:
            gaps.append(metric)
    return tuple(gaps)


def gx_expectation_class(expectation: str) -> type[Expectation]:
    """The GX class of a snake_case expectation name; `ValueError` when unknown or unsupported."""
    from great_expectations.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.registry import get_expectation_impl

    try:
        impl = get_expectation_impl(expectation)
    except ExpectationNotFoundError:
        raise ValueError(f"unknown Great Expectations expectation {expectation!r}") from None
    if expectation in UNSUPPORTED_EXPECTATIONS:
        raise ValueError(f"{expectation!r} needs a GX SQL datasource, which does not work on DuckDB; "
                         "compute what it compares in a relation and check that instead")
    gaps = _pandas_gaps(expectation)
    if gaps:
        raise ValueError(f"{expectation!r} cannot be evaluated on pandas by GX (no pandas provider for "
                         f"{', '.join(gaps)}); use a regex expectation or compute it in the relation")
    return impl


def _bounds_as_datetimes(kwargs: dict[str, Any], impl: type[Expectation]) -> dict[str, Any]:
    """Date-only bounds (`2026-01-31`, a YAML date) as midnight datetimes.

    GX 1.24 parses a date-only bound into `datetime.date`, and pandas 3 refuses to compare a
    `Timestamp` (DuckDB DATE/TIMESTAMP columns arrive as datetime64) with a `date`, so every such
    expectation would fail with an exception. Midnight is what DuckDB compares a DATE with anyway.
    """
    out = dict(kwargs)
    for key in ("min_value", "max_value"):
        value = out.get(key)
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            value = dt.date.fromisoformat(value.strip())
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime) and key in impl.__fields__:
            out[key] = dt.datetime.combine(value, dt.time())
    return out


def check_relation(sql: str) -> str:
    """The relation SQL without trailing semicolons; `ValueError` unless it is exactly one SELECT.

    Only parsed (by a private in-memory DuckDB), not bound: a missing table is a failure of the
    expectations at validation time, not of the suite.
    """
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise ValueError("relation is empty")
    try:
        with _PARSER_LOCK:
            statements = _parser().extract_statements(text)
    except duckdb.Error as exc:
        raise ValueError(f"relation does not parse: {exc}") from None
    if len(statements) != 1:
        raise ValueError(f"relation must be one SELECT statement, found {len(statements)} statements")
    if statements[0].type != duckdb.StatementType.SELECT:
        hint = " (wrap a PIVOT in SELECT * FROM (...))" if statements[0].type.name == "MULTI" else ""
        raise ValueError(f"relation must be a SELECT statement, not {statements[0].type.name}{hint}")
    return text


def _gx_error_text(exc: Exception) -> str:
    """One line per problem from GX's pydantic-v1 validation errors (`column: field required`)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            return "; ".join(f"{'.'.join(str(p) for p in e['loc'] if p != '__root__') or 'kwargs'}: {e['msg']}"
                             for e in errors())
        except Exception:
            pass
    return " ".join(str(exc).split())


_PARSER_LOCK = threading.Lock()


@cache
def _parser() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectationSpec(_Strict):
    """One check: a GX expectation with its kwargs, classified and described."""

    id: str = Field(min_length=1, description="unique within its suite; letters, digits, underscore")
    expectation: str = Field(description="GX snake_case name, e.g. expect_column_values_to_not_be_null")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    dimension: Dimension
    severity: Severity
    description_zh: str = Field(min_length=1)
    description_en: str = Field(min_length=1)
    relation: str | None = Field(default=None, description="DuckDB SQL; None: the suite's default")

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"id {value!r} must use letters, digits and underscores only")
        return value

    @field_validator("dimension", mode="before")
    @classmethod
    def _dimension_alias(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _DIMENSION_BY_ALIAS.get(value.strip().lower(), value.strip())
        return value

    @field_validator("relation")
    @classmethod
    def _relation_sql(cls, value: str | None) -> str | None:
        return None if value is None else check_relation(value)

    @model_validator(mode="after")
    def _gx_accepts(self, info: ValidationInfo) -> ExpectationSpec:
        if not (info.context or {}).get("gx", True):
            return self  # the structure only (see suite_from_dict)
        impl = gx_expectation_class(self.expectation)
        reserved = sorted(RESERVED_KWARGS & self.kwargs.keys())
        if reserved:
            raise ValueError(f"kwargs {reserved} are set by the bridge, not by the suite")
        try:
            impl(**_bounds_as_datetimes(self.kwargs, impl))
        except Exception as exc:  # GX's own (pydantic v1) validation error
            raise ValueError(f"GX refuses the kwargs of {self.expectation}: {_gx_error_text(exc)}") from None
        return self

    @property
    def kind(self) -> Kind:
        """`row`, `schema` or `whole`: see `expectation_kind`."""
        return expectation_kind(self.expectation)

    @property
    def column(self) -> str | None:
        """The checked column for single-column expectations, else None."""
        column = self.kwargs.get("column")
        return column if isinstance(column, str) else None

    @property
    def dimension_en(self) -> str:
        return DIMENSIONS[self.dimension]

    def gx_expectation(self, meta: dict[str, Any] | None = None) -> Expectation:
        """A fresh GX expectation for this spec (GX `severity`: error -> critical, warn -> warning)."""
        impl = gx_expectation_class(self.expectation)
        return impl(**_bounds_as_datetimes(self.kwargs, impl),
                    meta={"spec_id": self.id, "dimension": self.dimension, "severity": self.severity,
                          **(meta or {})},
                    notes=[self.description_zh, self.description_en],
                    severity="critical" if self.severity == "error" else "warning")


class SuiteSpec(_Strict):
    """The checks of one table or asset, with the relation they are validated on by default."""

    name: str = Field(min_length=1, description="letters, digits, _ . - (a file name in GX's stores)")
    target: str = Field(min_length=1, description="the table or asset checked, e.g. ods.bseg")
    default_relation: str | None = Field(default=None, description="DuckDB SQL; None: SELECT * FROM target")
    expectations: list[ExpectationSpec] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not _SUITE_NAME.match(value):
            raise ValueError(f"suite name {value!r} must use letters, digits, '_', '.' and '-' only")
        return value

    @field_validator("default_relation")
    @classmethod
    def _default_sql(cls, value: str | None) -> str | None:
        return None if value is None else check_relation(value)

    @field_validator("expectations", mode="before")
    @classmethod
    def _each_named(cls, value: Any, info: ValidationInfo) -> Any:
        """Validate every expectation here so that each error names the suite and the id."""
        suite = info.data.get("name", "?")
        if not isinstance(value, list):
            raise ValueError(f"suite {suite!r}: expectations must be a list")
        problems: list[str] = []
        places: list[tuple] = []  # where each problem is: ("expectations", n, field ...)
        specs: list[ExpectationSpec] = []
        seen: set[str] = set()
        for n, item in enumerate(value):
            ident = item.id if isinstance(item, ExpectationSpec) else (
                item.get("id") if isinstance(item, dict) else None)
            where = f"suite {suite!r}, expectation {ident if ident is not None else f'#{n + 1}'!r}"
            try:
                spec = item if isinstance(item, ExpectationSpec) else ExpectationSpec.model_validate(
                    item, context=info.context)
            except ValidationError as exc:
                for err in exc.errors():
                    loc = ".".join(str(p) for p in err["loc"])
                    msg = err["msg"].removeprefix("Value error, ")
                    problems.append(f"{where}: {loc + ': ' if loc else ''}{msg}")
                    places.append(("expectations", n, *err["loc"]))
                continue
            if spec.id in seen:
                problems.append(f"{where}: duplicate id")
                places.append(("expectations", n, "id"))
            seen.add(spec.id)
            specs.append(spec)
        if problems:
            raise _ExpectationProblems("; ".join(problems), places)
        return specs

    @property
    def relation(self) -> str:
        """The default relation's SQL."""
        return self.default_relation or f"SELECT * FROM {self.target}"

    def relation_of(self, spec: ExpectationSpec) -> str:
        """The SQL an expectation is validated on."""
        return spec.relation or self.relation

    def by_relation(self) -> dict[str, list[ExpectationSpec]]:
        """The expectations grouped by relation SQL, in suite order (first appearance)."""
        groups: dict[str, list[ExpectationSpec]] = {}
        for spec in self.expectations:
            groups.setdefault(self.relation_of(spec), []).append(spec)
        return groups


class _ExpectationProblems(ValueError):
    """The expectations' problems, with where in the suite each one is (for the file's line)."""

    def __init__(self, message: str, places: list[tuple]) -> None:
        super().__init__(message)
        self.places = places


def suite_from_dict(data: dict[str, Any], source: str | None = None, lines: Lines | None = None,
                    gx: bool = True) -> SuiteSpec:
    """A validated suite; `SuiteSpecError` naming the file (and line, given the file's `lines`), the
    suite and the expectation id otherwise. `gx=False` checks the suite's structure but not each
    expectation against Great Expectations (whose import takes seconds): for a process that only
    needs the suites' names and ids — the Dagster code location — and leaves running them, and GX's
    verdict on them, to the check itself."""
    try:
        return SuiteSpec.model_validate(data, context={"gx": gx})
    except ValidationError as exc:
        name = data.get("name", "?") if isinstance(data, dict) else "?"
        problems = []
        first: tuple = ()
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            loc = ".".join(str(p) for p in err["loc"])
            problems.append(msg if loc == "expectations" and msg.startswith("suite ")
                            else f"suite {name!r}: {loc}: {msg}")
            cause = (err.get("ctx") or {}).get("error")
            place = cause.places[0] if isinstance(cause, _ExpectationProblems) and cause.places else tuple(err["loc"])
            first = first or place
        prefix = f"{(lines or Lines(None)).where(source, first)}: " if source else ""
        raise SuiteSpecError(prefix + "; ".join(problems)) from None


def load_suite(path: str | Path, gx: bool = True) -> SuiteSpec:
    """Read one suite from a YAML file (UTF-8); `gx` as in `suite_from_dict`."""
    path = Path(path)
    try:
        data, lines = read_yaml(path)
    except YamlSyntaxError as exc:
        raise SuiteSpecError(str(exc)) from None
    if not isinstance(data, dict):
        raise SuiteSpecError(f"{path}: a suite file holds one mapping (name, target, expectations)")
    return suite_from_dict(data, source=str(path), lines=lines, gx=gx)
