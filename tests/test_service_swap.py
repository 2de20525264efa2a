"""A snapshot published while the service answers: requests in flight finish on the snapshot they
started on, later ones see the new one, none fails. Two databases whose AR figures differ are
published in turn over one snapshot while four clients ask for the aging."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from decimal import Decimal

import httpx
import pytest
import uvicorn

from models.build import build
from models.loader import load_models
from pipelines.ingest.db import connect
from pipelines.ingest.load import ingest
from pipelines.publish import publish
from quality.runner import run_checks
from serve import access
from serve.app import Settings, create_app
from tests.pool_scenario import deliver_scenario

pytestmark = pytest.mark.slow
AGING = {"as_of": "2026-10-26", "ledger": "ar", "basis": "due"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_sources(tmp_path_factory, register):
    tmp = tmp_path_factory.mktemp("swap")
    deliver_scenario(tmp / "landing", register)
    a = tmp / "a" / "respool.duckdb"
    con = connect(a)
    assert not ingest(con, [tmp / "landing"], register).refused
    assert not build(con, load_models()).failed
    assert not run_checks(con, register).failed_errors
    con.close()
    b = tmp / "b" / "respool.duckdb"
    b.parent.mkdir()
    shutil.copyfile(a, b)
    con = connect(b)
    con.execute("UPDATE dwd.dwd_ar_item SET amount_lc = amount_lc * 2")  # B's figures are A's doubled
    con.close()
    return tmp, a, b


def test_publishing_while_serving_fails_no_request(two_sources):
    tmp, a, b = two_sources
    target = tmp / "published" / "respool.duckdb"
    publish(a, target)
    settings = Settings(snapshot=target, access_db=tmp / "access.db", audit_log=tmp / "audit.jsonl")
    token = access.add_user(settings.access_db, "hz", "ZJ01")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    # the pool scenario at 2026-10-26: 181-365 1,000.00 and 365+ 100.00 (A); B doubles them
    expected = {"a": {"181-365": Decimal("1000.00"), "365+": Decimal("100.00")},
                "b": {"181-365": Decimal("2000.00"), "365+": Decimal("200.00")}}
    answers: list[dict] = []
    failures: list[str] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                          timeout=10) as http:
            while not stop.is_set():
                response = http.get("/api/aging", params=AGING)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text}")
                    continue
                answers.append({bucket: Decimal(str(amount)).quantize(Decimal("0.01"))
                                for _, bucket, amount, _ in response.json()["rows"]})

    clients = [threading.Thread(target=client) for _ in range(4)]
    for c in clients:
        c.start()
    swaps = 0
    try:
        until = time.monotonic() + 4
        while time.monotonic() < until:
            publish(b if swaps % 2 == 0 else a, target, replace_source=True)
            swaps += 1
    finally:
        stop.set()
        for c in clients:
            c.join(timeout=30)
        server.should_exit = True
        thread.join(timeout=30)
    assert failures == []
    assert swaps >= 4 and len(answers) >= 20
    assert all(answer in (expected["a"], expected["b"]) for answer in answers)  # never a mix
    assert expected["a"] in answers and expected["b"] in answers  # both snapshots were served
