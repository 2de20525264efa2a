"""pytest plugin for `make mutate` only (mutmut passes it with -p; `make test` never loads it).

mutmut learns which tests cover a function by recording calls in the test process, and a data
file's checks (filecheck.prepare_file) run on the ingest's worker processes, where no call is
recorded: mutants there would count as untested. Under this plugin the same calls run on threads
of the test process. Fast test modules run first, so that a mutant they kill never pays for the
module fixtures that build and check a whole database; within a module the quickest tests run first.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# cheapest first; a module not listed runs last, in collection order
MODULE_ORDER = ["test_guard.py", "test_contract.py", "test_delivery_rules.py", "test_ingest_runs.py", "test_ingest.py", "test_ingest_stops.py", "test_refusals.py",
                "test_publish_small.py", "test_pool_reading.py", "test_pool.py"]


class InProcessPool(ThreadPoolExecutor):
    """ProcessPoolExecutor's signature, threads of this process."""

    def __init__(self, max_workers=None, mp_context=None, **_):
        super().__init__(max_workers=max_workers)


_saved = {}


def pytest_configure(config):
    from pipelines.ingest import load

    _saved["pool"] = load.ProcessPoolExecutor
    load.ProcessPoolExecutor = InProcessPool


def pytest_unconfigure(config):
    from pipelines.ingest import load

    load.ProcessPoolExecutor = _saved.pop("pool", load.ProcessPoolExecutor)


def _durations() -> dict[str, float]:
    """Each test's own time (its call, fixtures not included) from mutmut's clean run, when there is one."""
    stats = Path("mutmut-stats.json")  # the run's working folder is mutants/
    try:
        return json.loads(stats.read_text(encoding="utf-8"))["duration_by_test"]
    except (OSError, ValueError, KeyError):
        return {}


def pytest_collection_modifyitems(session, config, items):
    durations = _durations()

    def rank(item) -> tuple[int, float]:
        name = item.path.name
        module = MODULE_ORDER.index(name) if name in MODULE_ORDER else len(MODULE_ORDER)
        return module, durations.get(item.nodeid, 0.0)

    items.sort(key=rank)  # by module (fixtures are paid once per module), then the quickest tests first
