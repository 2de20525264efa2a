"""The serving side of the published snapshot: hardened read-only connections, one database per
published file, swapped without failing a request.

`respool publish` renames a new file over the snapshot. A request takes a cursor on the
generation that is current when it starts and keeps it to the end (the old file stays readable
through its open handle); the next request finds the new file and opens a new generation; an old
generation closes when its last request ends. Each generation is its own in-memory DuckDB that
attaches the file read-only, then locks itself down: no file, network or extension access from
SQL, configuration frozen, bounded memory and threads — the second wall behind the query guard.

A published file never changes, so an answer computed on a generation stays right for as long as
that generation lives: each generation keeps a bounded cache of answers (least recently used
first out, by size), dropped with the generation when the next publication replaces it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

T = TypeVar("T")

CATALOG = "respool"  # the name queries may qualify tables with (respool.dwd.x)


class SnapshotMissing(FileNotFoundError):
    """No published snapshot yet: `respool publish` first."""


class QueryTimeout(TimeoutError):
    """A query ran past its time limit and was interrupted."""


@dataclass(frozen=True)
class Identity:
    inode: int
    mtime_ns: int
    size: int


def _identity(path: Path) -> Identity:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SnapshotMissing(f"没有已发布的快照 no published snapshot at {path}: run `respool publish`") from None
    return Identity(st.st_ino, st.st_mtime_ns, st.st_size)


class AnswerCache:
    """Answers computed on one generation, by key; at most `capacity` bytes (as weighed by the
    caller), the least recently used dropped first. An answer larger than the whole cache is not kept."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = 0
        self._entries: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[bool, object]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            self._entries.move_to_end(key)
            return True, entry[0]

    def put(self, key: Hashable, value: object, weight: int) -> None:
        if weight > self.capacity:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self._entries[key] = (value, weight)
            self.size += weight
            while self.size > self.capacity:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.size -= dropped

    def __len__(self) -> int:
        return len(self._entries)


class _Generation:
    """One published file, attached read-only and locked down; closed when retired and idle."""

    def __init__(self, path: Path, identity: Identity, memory_limit: str, threads: int, cache_bytes: int) -> None:
        self.identity = identity
        self.users = 0
        self.retired = False
        self.answers = AnswerCache(cache_bytes)
        self.con = duckdb.connect(":memory:")
        try:
            escaped = str(path).replace("'", "''")
            self.con.execute(f"ATTACH '{escaped}' AS {CATALOG} (READ_ONLY)")
            self.con.execute(f"USE {CATALOG}")
            self.con.execute("SET enable_external_access = false")
            self.con.execute("SET python_enable_replacements = false")  # no Python variable read as a table
            self.con.execute("SET memory_limit = ?", [memory_limit])
            self.con.execute(f"SET threads = {int(threads)}")
            self.con.execute("SET lock_configuration = true")
        except BaseException:
            self.con.close()
            raise

    def close(self) -> None:
        self.con.close()


class SnapshotPool:
    """Hands out cursors on the current published snapshot; see the module docstring."""

    def __init__(self, path: Path, memory_limit: str = "2GB", threads: int = 2,
                 cache_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = Path(path)
        self._memory_limit, self._threads, self._cache_bytes = memory_limit, threads, cache_bytes
        self._lock = threading.Lock()
        self._current: _Generation | None = None

    def _acquire(self) -> _Generation:
        identity = _identity(self.path)
        with self._lock:
            current = self._current
            if current is None or current.identity != identity:
                fresh = _Generation(self.path, identity, self._memory_limit, self._threads, self._cache_bytes)
                if current is not None:
                    current.retired = True
                    if current.users == 0:
                        current.close()
                self._current = current = fresh
            current.users += 1
            return current

    def _release(self, generation: _Generation) -> None:
        with self._lock:
            generation.users -= 1
            if generation.retired and generation.users == 0:
                generation.close()

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for one request, on the snapshot current when the request started."""
        generation = self._acquire()
        try:
            with _session(generation) as cursor:
                yield cursor
        finally:
            self._release(generation)

    def cached(self, key: Hashable, compute: Callable[[duckdb.DuckDBPyConnection], T],
               weight: Callable[[T], int]) -> tuple[T, bool]:
        """The answer for `key` on the current snapshot, and whether it came from the cache:
        computed once with a cursor on that snapshot (`compute`), then kept with the snapshot,
        weighed by `weight` bytes. An exception from `compute` is raised and nothing is kept."""
        generation = self._acquire()
        try:
            found, value = generation.answers.get(key)
            if found:
                return value, True  # type: ignore[return-value]
            with _session(generation) as cursor:
                value = compute(cursor)
            generation.answers.put(key, value, weight(value))
            return value, False
        finally:
            self._release(generation)

    def close(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.retired = True
                if self._current.users == 0:
                    self._current.close()
                self._current = None


@contextmanager
def _session(generation: _Generation) -> Iterator[duckdb.DuckDBPyConnection]:
    cursor = generation.con.cursor()
    try:
        cursor.execute(f"USE {CATALOG}")  # each cursor is a session of its own
        yield cursor
    finally:
        cursor.close()


@dataclass(frozen=True)
class Result:
    columns: list[str]
    types: list[str]
    rows: list[tuple]
    truncated: bool


def run(cursor: duckdb.DuckDBPyConnection, sql: str, params: list | None = None, max_rows: int = 100_000,
        timeout_s: float = 30.0) -> Result:
    """Run one query with a row cap (one row more is fetched to tell truncation) and a time limit
    (the query is interrupted, and QueryTimeout raised)."""
    timer = threading.Timer(timeout_s, cursor.interrupt)
    timer.start()
    try:
        cursor.execute(sql, params or [])
        rows = cursor.fetchmany(max_rows + 1)
    except duckdb.InterruptException:
        raise QueryTimeout(f"查询超时 query exceeded {timeout_s:g} s and was stopped") from None
    finally:
        timer.cancel()
    columns = [d[0] for d in cursor.description]
    types = [str(d[1]) for d in cursor.description]
    return Result(columns, types, rows[:max_rows], len(rows) > max_rows)


def read_catalog(cursor: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = ("dim", "dwd", "dws", "ads", "ref")
                 ) -> dict[str, list[str]]:
    """`schema.table -> columns` of the snapshot's tables in the given schemas (what analysts may read)."""
    placeholders = ", ".join("?" for _ in schemas)
    rows = cursor.execute(
        f"SELECT table_schema, table_name, column_name FROM information_schema.columns "
        f"WHERE table_catalog = '{CATALOG}' AND table_schema IN ({placeholders}) "
        f"ORDER BY table_schema, table_name, ordinal_position", list(schemas)).fetchall()
    out: dict[str, list[str]] = {}
    for schema, table, column in rows:
        out.setdefault(f"{schema}.{table}", []).append(column.lower())
    return out
