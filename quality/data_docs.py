"""Great Expectations Data Docs (static HTML) of the suites validated by `quality.gx_bridge`.

A `DataDocsStore` is owned by whoever builds the docs: `validate(..., data_docs=store)` hands it
each suite's merged results, the store keeps the last validation of each suite in GX's own shape
(suite, `ExpectationSuiteValidationResult`, run id), and `store.build_data_docs(project_dir)`
writes them through a file-backed GX context in `<project_dir>/gx/`: the suites and the merged
results are stored there as JSON (so several processes add to one site) and the site is under
`<project_dir>/gx/uncommitted/data_docs/local_site/` (`data_docs_index`).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quality.specs import ExpectationSpec, SuiteSpec

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult
    from great_expectations.core.run_identifier import RunIdentifier


def data_docs_index(project_dir: str | Path) -> Path:
    """The index.html of the Data Docs site of `project_dir` (the quality folder)."""
    return Path(project_dir) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


@dataclass(frozen=True)
class ValidatedExpectation:
    """One expectation's outcome merged over all batches of its relation, as Data Docs show it."""

    spec: ExpectationSpec
    relation: str
    success: bool
    result: dict[str, Any]  # GX's result dict: counts, unexpected examples, observed value
    exception: str | None


@dataclass(frozen=True)
class _Run:
    gx_suite: ExpectationSuite
    result: ExpectationSuiteValidationResult
    run_id: RunIdentifier
    batch_identifier: str


class DataDocsStore:
    """The last validation of each suite, in GX's own shape, until its Data Docs are built."""

    def __init__(self) -> None:
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def remember(self, suite: SuiteSpec, expectations: Sequence[ValidatedExpectation], started: dt.datetime,
                 datasource: str) -> None:
        """Keep the suite's merged results (one per expectation, in suite order) for `build_data_docs`."""
        import great_expectations as gx
        from great_expectations.core import ExpectationSuite
        from great_expectations.core.expectation_validation_result import (
            ExpectationSuiteValidationResult,
            ExpectationValidationResult,
        )
        from great_expectations.core.run_identifier import RunIdentifier

        exps = [e.spec.gx_expectation(meta={"relation": e.relation}) for e in expectations]
        evrs = []
        for e, exp in zip(expectations, exps, strict=True):
            evrs.append(ExpectationValidationResult(
                success=e.success, expectation_config=exp.configuration, result=e.result,
                exception_info={"raised_exception": e.exception is not None,
                                "exception_message": e.exception,
                                # the renderer shows the traceback and breaks on None
                                "exception_traceback": e.exception}))
        passed = sum(1 for r in evrs if r.success)
        batch_identifier = re.sub(r"[^A-Za-z0-9_.-]", "_", suite.target)
        result = ExpectationSuiteValidationResult(
            success=passed == len(evrs), results=evrs, suite_name=suite.name,
            statistics={"evaluated_expectations": len(evrs), "successful_expectations": passed,
                        "unsuccessful_expectations": len(evrs) - passed,
                        "success_percent": passed / len(evrs) * 100 if evrs else None},
            meta={"great_expectations_version": gx.__version__,
                  "active_batch_definition": {"datasource_name": datasource, "data_connector_name": "fluent",
                                              "data_asset_name": suite.target, "batch_identifiers": {}},
                  "batch_spec": {"relation": suite.relation}, "batch_markers": {}},
            batch_id=f"{datasource}-{batch_identifier}")
        run_id = RunIdentifier(run_name="respool", run_time=started)
        result.meta["run_id"] = run_id
        result.meta["validation_time"] = started
        # Not GX's "meta_properties" suite notes (extra Data Docs columns from expectation meta): in
        # 1.24 the renderer puts them into the expectation's kwargs, which its pydantic model refuses.
        gx_suite = ExpectationSuite(name=suite.name, expectations=exps, meta={"target": suite.target})
        run = _Run(gx_suite=gx_suite, result=result,
                   run_id=run_id, batch_identifier=batch_identifier)
        with self._lock:
            self._runs[suite.name] = run

    def last_validation(self, suite_name: str) -> ExpectationSuiteValidationResult | None:
        """The merged GX result of the last validation of a suite kept here."""
        with self._lock:
            run = self._runs.get(suite_name)
        return run.result if run else None

    def build_data_docs(self, project_dir: str | Path, suites: Iterable[str] | None = None) -> Path:
        """Write GX Data Docs for the last validation of each suite (or of `suites`); path of index.html.

        Uses a file-backed GX context in `<project_dir>/gx/` (created on first use): the suites go
        to `gx/expectations/`, the merged results to `gx/uncommitted/validations/`, and the static
        site, which lists every result stored there so far (by every process), to
        `gx/uncommitted/data_docs/local_site/`. Only the new pages and the index are rendered.
        """
        import great_expectations as gx
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        with self._lock:
            names = list(self._runs) if suites is None else list(suites)
            missing = [n for n in names if n not in self._runs]
            runs = [self._runs[n] for n in names if n in self._runs]
        if missing:
            raise KeyError(f"no validation of suite(s) {missing} in this store")
        project_dir = Path(project_dir)
        project_dir.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(project_dir))
        identifiers: list[Any] = []
        for run in runs:
            context.suites.add_or_update(run.gx_suite)
            suite_id = ExpectationSuiteIdentifier(name=run.result.suite_name)
            key = ValidationResultIdentifier(expectation_suite_identifier=suite_id, run_id=run.run_id,
                                             batch_identifier=run.batch_identifier)
            context.validation_results_store.store_validation_results(run.result, key, suite_id)
            identifiers += [suite_id, key]
        context.build_data_docs(resource_identifiers=identifiers or None)
        return data_docs_index(project_dir)
