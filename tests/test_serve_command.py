"""`respool serve` as an operator starts it: its own process, the configured access database, audit
log and catalog site; a user added with `respool access add-user` signs in; SIGTERM stops it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def served(tmp_path, published_sample):
    env = {**os.environ, "RESPOOL_HOME": str(tmp_path), "RESPOOL_ACCESS_DB": str(tmp_path / "access" / "access.db"),
           "RESPOOL_AUDIT_LOG": str(tmp_path / "access" / "audit.jsonl"),
           "RESPOOL_CATALOG_DIR": str(tmp_path / "catalog")}
    added = subprocess.run([sys.executable, "-m", "pipelines.cli", "access", "add-user", "hz", "--org", "ZJ01"],
                           env=env, capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    token = re.search(r"\b[A-Za-z0-9_-]{32,}\b", added.stdout).group(0)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "serve", "--port", str(port),
                             "--snapshot", str(published_sample)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.stdout.read()
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "respool serve did not answer within 60 s"
        time.sleep(0.2)
    yield {"base": base, "token": token, "proc": proc, "home": tmp_path}
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def test_the_service_process_serves_its_configured_access_audit_and_catalog(served):
    base, token, home = served["base"], served["token"], served["home"]
    assert httpx.get(f"{base}/api/tables").status_code == 401
    assert httpx.get(f"{base}/api/tables", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    tables = httpx.get(f"{base}/api/tables", headers={"Authorization": f"Bearer {token}"})
    assert tables.status_code == 200 and tables.json()

    with httpx.Client(base_url=base, follow_redirects=True) as browser:
        assert browser.post("/", data={"token": token}).status_code == 200
        assert "/catalog/" not in browser.get("/aging").text  # no catalog site yet
        (home / "catalog").mkdir()
        (home / "catalog" / "index.html").write_text("<h1>数据目录 测试</h1>", encoding="utf-8")
        assert re.search(r'<a href="/catalog/"[^>]*>数据目录 Catalog</a>', browser.get("/aging").text)
        assert browser.get("/catalog/").text == "<h1>数据目录 测试</h1>"

    records = [json.loads(line) for line in (home / "access" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {(r["endpoint"], r["user"], r["status"]) for r in records} >= {("/api/tables", None, 401),
                                                                          ("/api/tables", "hz", 200)}

    proc = served["proc"]
    proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal: the status says what stopped it
    assert proc.wait(timeout=20) == -signal.SIGTERM
    assert "Finished server process" in proc.stdout.read()
