"""pytest plugin for `make mutate` only (mutmut passes it with -p; `make test` never loads it).

mutmut learns which tests cover a function by recording calls in the test process, and a data
file's checks (filecheck.prepare_file) run on the ingest's worker processes, where no call is
recorded: mutants there would count as untested. Under this plugin the same calls run on threads
of the test process. Fast test modules run first, so that a mutant they kill never pays for the
module fixtures that build and check a whole database.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

# cheapest first; a module not listed runs last, in collection order
MODULE_ORDER = ["test_guard.py", "test_contract.py", "test_delivery_rules.py", "test_ingest_runs.py", "test_ingest_stops.py", "test_refusals.py", "test_ingest.py",
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


def pytest_collection_modifyitems(session, config, items):
    def rank(item) -> int:
        name = item.path.name
        return MODULE_ORDER.index(name) if name in MODULE_ORDER else len(MODULE_ORDER)

    items.sort(key=rank)  # stable: the order within a module is kept
