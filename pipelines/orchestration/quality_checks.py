"""Quality suites as Dagster asset checks: one check per expectation on the suite's asset;
`error` expectations are blocking, so a failing load never flows downstream."""

import json
from datetime import datetime

import dagster as dg

from catalog.register import Register
from pipelines.orchestration.ods_assets import DUCKDB_POOL
from pipelines.orchestration.resources import RespoolResource
from quality.gx_bridge import ExpectationResult
from quality.runner import run_checks
from quality.specs import DIMENSIONS, SuiteSpec

# suites whose target is not itself an asset attach to the asset that stands for it
ASSET_OF_TARGET = {
    "meta.batch": dg.AssetKey(["meta", "delivery_log"]),
    "meta.quality_metric": dg.AssetKey(["meta", "delivery_log"]),
    "quarantine": dg.AssetKey(["quarantine", "quarantine_log"]),
    "published": dg.AssetKey(["published", "respool_snapshot"]),
}


def suite_asset_key(suite: SuiteSpec) -> dg.AssetKey:
    return ASSET_OF_TARGET.get(suite.target) or dg.AssetKey(suite.target.split(".", 1))


def check_name(suite: SuiteSpec, expectation_id: str) -> str:
    return f"{suite.name}__{expectation_id}"


def _result(suite: SuiteSpec, r: ExpectationResult) -> dg.AssetCheckResult:
    metadata = {
        "维度 dimension": f"{r.dimension} {DIMENSIONS[r.dimension]}",
        "说明": r.description_zh,
        "description": r.description_en,
        "expectation": r.expectation_type,
        "unexpected_count": r.unexpected_count if r.unexpected_count is not None else -1,
        "element_count": r.element_count if r.element_count is not None else -1,
        "examples": json.dumps(r.unexpected_examples, ensure_ascii=False, default=str),
    }
    if r.observed_value is not None:
        metadata["observed_value"] = json.dumps(r.observed_value, ensure_ascii=False, default=str)
    if r.exception:
        metadata["exception"] = r.exception[:2000]
    return dg.AssetCheckResult(
        asset_key=suite_asset_key(suite),
        check_name=check_name(suite, r.expectation_id),
        passed=r.success,
        severity=dg.AssetCheckSeverity.ERROR if r.severity == "error" else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=r.description_zh,
    )


def _build_suite_check(suite: SuiteSpec, register: Register) -> dg.AssetChecksDefinition:
    key = suite_asset_key(suite)
    specs = [dg.AssetCheckSpec(name=check_name(suite, e.id), asset=key, blocking=e.severity == "error",
                               description=f"[{e.dimension}·{e.severity}] {e.description_zh} — {e.description_en}")
             for e in suite.expectations]

    @dg.multi_asset_check(specs=specs, name=f"quality_{suite.name}", pool=DUCKDB_POOL,
                          description=f"质量检查套件 {suite.name}（{suite.target}）")
    def _check(context: dg.AssetCheckExecutionContext, respool: RespoolResource):
        partition = context.run.tags.get("dagster/partition")
        biz_date = datetime.strptime(partition, "%Y-%m-%d").date() if partition else None
        with respool.connect() as con:
            run = run_checks(con, register, suites=[suite], biz_date=biz_date, record=False)
        for s, r in run.results:
            yield _result(s, r)

    return _check


def build_quality_checks(suites: list[SuiteSpec], register: Register,
                         asset_keys: set[dg.AssetKey]) -> list[dg.AssetChecksDefinition]:
    """A multi-asset check per suite whose asset exists in the code location."""
    return [_build_suite_check(s, register) for s in suites if suite_asset_key(s) in asset_keys]
