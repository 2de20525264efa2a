"""The data service keeps answers with the published snapshot they were computed on: the cache
itself (least recently used out, by size) and the pool that ties it to one snapshot."""

from __future__ import annotations

import os

import duckdb
import pytest

from serve.snapshot import AnswerCache, SnapshotPool


def test_the_least_recently_used_answer_leaves_first_and_size_is_bounded():
    cache = AnswerCache(capacity=10)
    cache.put("a", "A", 4)
    cache.put("b", "B", 4)
    assert cache.get("a") == (True, "A")  # a is now the most recently used
    cache.put("c", "C", 4)  # 12 > 10: b, the least recently used, leaves
    assert cache.get("b") == (False, None)
    assert cache.get("a") == (True, "A") and cache.get("c") == (True, "C")
    assert cache.size == 8 and len(cache) == 2


def test_an_answer_larger_than_the_cache_is_not_kept_and_a_replaced_one_is_reweighed():
    cache = AnswerCache(capacity=10)
    cache.put("a", "A", 6)
    cache.put("huge", "H", 11)
    assert cache.get("huge") == (False, None) and cache.get("a") == (True, "A")
    cache.put("a", "A2", 2)
    assert cache.get("a") == (True, "A2") and cache.size == 2
    empty = AnswerCache(capacity=0)
    empty.put("x", "X", 1)
    assert empty.get("x") == (False, None)


def _snapshot(path, value: int) -> None:
    tmp = path.with_suffix(".new")
    with duckdb.connect(str(tmp)) as con:
        con.execute("CREATE SCHEMA dwd")
        con.execute(f"CREATE TABLE dwd.t AS SELECT {value} AS v")
    os.replace(tmp, path)  # as `respool publish` does: a new file renamed over the old


@pytest.fixture()
def published(tmp_path):
    """A snapshot file and the pool that serves it."""
    path = tmp_path / "respool.duckdb"
    _snapshot(path, 1)
    pool = SnapshotPool(path, cache_bytes=1024)
    yield path, pool
    pool.close()


def test_an_answer_is_computed_once_per_snapshot_and_again_after_a_publication(published):
    path, pool = published
    computed = []

    def compute(cur):
        computed.append(1)
        return cur.execute("SELECT v FROM dwd.t").fetchone()[0]

    assert pool.cached(("v",), compute, weight=lambda _: 8) == (1, False)
    assert pool.cached(("v",), compute, weight=lambda _: 8) == (1, True)
    assert len(computed) == 1
    _snapshot(path, 2)
    assert pool.cached(("v",), compute, weight=lambda _: 8) == (2, False)
    assert len(computed) == 2


def test_a_failed_computation_is_not_kept(published):
    _, pool = published
    attempts = []

    def flaky(cur):
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails")
        return cur.execute("SELECT v FROM dwd.t").fetchone()[0]

    with pytest.raises(RuntimeError, match="first attempt"):
        pool.cached(("v",), flaky, weight=lambda _: 8)
    assert pool.cached(("v",), flaky, weight=lambda _: 8) == (1, False)
    assert pool.cached(("v",), flaky, weight=lambda _: 8) == (1, True)
