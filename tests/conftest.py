"""Shared fixtures: the register, a fresh database, and small hand-made deliveries."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from catalog.contract import ControlFile
from catalog.register import Register, load_register
from pipelines.ingest.db import connect

# fixtures shared by several test modules
pytest_plugins = ["tests.service_scenario"]


@pytest.fixture(scope="session")
def register() -> Register:
    return load_register()


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    c = connect(tmp_path / "test.duckdb")
    yield c
    c.close()


def t001_rows(*codes: str) -> list[list[str]]:
    names = {"3300": "省电力公司本部", "3301": "杭州供电公司", "3302": "宁波供电公司", "3303": "温州供电公司"}
    return [["800", c, names.get(c, f"公司{c}"), "杭州", "CN", "CNY", "SG01"] for c in codes]


def bseg_rows(n: int, belnr_start: int = 1) -> list[list[str]]:
    """n balanced two-line vouchers: a customer invoice line and its revenue line."""
    rows = []
    for i in range(n):
        belnr = f"{belnr_start + i:010d}"
        amount = f"{(i + 1) * 100}.00"
        common = ["800", "3301", belnr, "2026"]
        rows.append([*common, "001", "01", "D", "", "S", amount, amount, "电费收入 ", "A1", "1122010000",
                     f"{i + 1:010d}", "", "20261026", "Z030", "30", "0", "0", "", "00000000", "", "P3301", ""])
        rows.append([*common, "002", "50", "S", "", "H", amount, amount, "收入", "", "6001010000",
                     "", "", "", "", "0", "0", "0", "", "00000000", "", "P3301", "K100"])
    return rows


def yx_rows(n: int) -> list[list[str]]:
    return [[f"R{i:08d}", f"33{i:08d}", "3340101", "202610", "1200.00", "100.00", "1100.00",
             "0.00", "0.00", "1000.00", "02", "20261005"] for i in range(n)]


def deliver(root: Path, register: Register, code: str, biz_date: str, rows: list[list[str]],
            **kwargs) -> ControlFile:
    from sample_data.writer import write_delivery

    return write_delivery(root / biz_date, register.table(code), biz_date, rows, **kwargs)


def table_fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Order-independent hash of a table's content."""
    rows = con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
    return hashlib.md5(repr(rows).encode()).hexdigest()


def database_fingerprint(con: duckdb.DuckDBPyConnection, except_batches: list[str] | tuple[str, ...] = ()
                         ) -> dict[str, str]:
    """Order-independent fingerprints of every ods table and of the meta.batch / meta.batch_file rows,
    leaving out the rows of `except_batches` (a refusal's own record)."""
    tables = [r[0] for r in con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema = 'ods' ORDER BY 1").fetchall()]
    prints = {t: table_fingerprint(con, t) for t in tables}
    for meta in ("meta.batch", "meta.batch_file"):
        rows = con.execute(f"SELECT * FROM {meta} WHERE NOT list_contains(?::VARCHAR[], batch_id) ORDER BY ALL",
                           [list(except_batches)]).fetchall()
        prints[meta] = hashlib.md5(repr(rows).encode()).hexdigest()
    return prints


@pytest.fixture
def shanghai_time(monkeypatch):
    """The machine's local time in Asia/Shanghai (UTC+8), as on the province's servers."""
    import time

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def child_pids(pid: int) -> set[int]:
    """Every process whose parent is `pid`, from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def process_alive(pid: int) -> bool:
    """Whether `pid` is a running process (a zombie is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
