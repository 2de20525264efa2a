"""What `respool generate`, `respool build` and `respool summary` print, against figures worked out
by hand from the pool scenario (tests/pool_scenario.py)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from tests.pool_scenario import deliver_scenario


def _words(text: str) -> str:
    """Output with runs of blanks and table rules folded, so that rows read as words."""
    for rule in "│┃":
        text = text.replace(rule, " ")
    return " ".join(text.split())


@pytest.fixture(scope="module")
def built(tmp_path_factory, register):
    tmp = tmp_path_factory.mktemp("cli")
    deliver_scenario(tmp / "landing", register)
    db = tmp / "respool.duckdb"
    ingested = CliRunner().invoke(app, ["ingest", "--landing", str(tmp / "landing"), "--db", str(db)])
    assert ingested.exit_code == 0, ingested.output
    result = CliRunner().invoke(app, ["build", "--db", str(db)])
    return db, result, _words(ingested.output)


def test_ingest_prints_what_it_loaded(built):
    _, _, ingested = built
    # 11 tables x 2 dates; rows: T001 1+1, SKAT 2+2, KNA1 2+2, LFA1 1+1, BKPF 7+1, BSEG 16+4,
    # BSID 4+3, BSAD 2+2, BSIK 1+1, BSAK and YX none: 53
    assert "22 deliveries: 22 loaded (53 rows), 0 refused, 0 unchanged, 0 skipped" in ingested


def test_build_prints_the_cleansing_reconciliation_and_the_models_built(built):
    _, result, _ = built
    assert result.exit_code == 0, result.output
    out = _words(result.output)
    # BSEG: 16 + 4 delivered; A's first version and the duplicated bank line superseded; 2 quarantined
    assert "ods.bseg stg.stg_bseg 20 16 2 2 ✓" in out
    assert "ods.bsid stg.stg_ar_item 3 3 0 0 ✓" in out
    assert "ods.bsid_departed stg.stg_ar_item 1 0 1 0 ✓" in out  # A left BSID on day 2, its BSAD is newer
    assert "ods.bsad stg.stg_ar_item 4 4 0 0 ✓" in out
    assert "20/20 models built" in out
    assert "✗" not in out


def test_summary_prints_the_figures_of_the_pool(built):
    db, _, _ = built
    result = CliRunner().invoke(app, ["summary", "--db", str(db)])
    assert result.exit_code == 0, result.output
    out = _words(result.output)
    # system, table, name, batches, rows loaded, rows in ODS, refused, skipped, newest date
    assert "ERP BSEG 会计凭证行项目 2 20 20 0 0 20261027" in out
    assert "ERP BSID 客户未清项 2 7 3 0 0 20261027" in out  # FULL: only day 2's snapshot stays
    # open at 2026-10-27: AR B -200 and C 300 (ordinary), D -500 (special G/L); AP E -800
    assert "应收 AR 3 100.00 -500.00 0.00" in out
    assert "应付 AP 1 -800.00 0.00 0.00" in out
    # due-date aging: B (due 2025-10-15) and C (due 2024-07-16) are both over a year past due
    assert "应收 AR 365+ 100.00" in out and "应付 AP 365+ -800.00" in out
    assert "营销-财务对账 ERP vs YX: 0 company-months, 0 beyond tolerance" in out
    assert "隔离区 quarantine: stg_bseg BAD_DATE:ZFBDT ×1; stg_bseg KEY_MISSING ×1" in out
    assert "尚未发布 not published yet" in out


def test_generate_prints_what_it_wrote(tmp_path):
    out = tmp_path / "landing"
    result = CliRunner().invoke(app, ["generate", "--out", str(out), "--days", "2", "--scale", "0.005",
                                      "--seed", "3"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "generation.json").read_text(encoding="utf-8"))
    assert manifest["biz_dates"] == ["20261026", "20261027"]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["20261026", "20261027", "redelivery"]
    assert (f"generated 2 business dates under {out} ({len(manifest['defects'])} deliberate defects, "
            f"see {out / 'generation.json'})") in _words(result.output)
    assert len(manifest["defects"]) > 0
