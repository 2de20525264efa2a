"""溯源 end to end: a defect injected into one delivered column fails a real quality check, and
tracing the pool column it feeds points back at that ODS column."""

from __future__ import annotations

from datetime import date

from lineage.project.resolve import project_lineage
from models.build import build
from models.loader import load_models
from pipelines.ingest.db import connect
from pipelines.ingest.load import ingest
from quality.runner import run_checks
from tests.pool_scenario import deliver_scenario


def test_bad_amount_in_ods_bseg_is_traced_from_the_voucher_amount(tmp_path, register):
    landing = tmp_path / "landing"
    deliver_scenario(landing, register)
    # the defect: a BSEG amount delivered with a thousands separator on day 2
    chk = landing / "20261027" / "ERP_BSEG_20261027.chk"
    from tests.conftest import deliver
    from tests.pool_scenario import C1, bseg

    rows = [
        bseg(register, "3301", "0100000001", "2025", "001", "01", "D", "S", "1000.00", "1122020000", KUNNR=C1,
             ZFBDT="20251001", ZBD1T="30", AUGDT="20261027", AUGBL="1400000001"),
        bseg(register, "3301", "1400000001", "2026", "001", "15", "D", "H", "1,000.00", "1122020000", KUNNR=C1,
             AUGDT="20261027", AUGBL="1400000001"),
        bseg(register, "3301", "1400000001", "2026", "002", "40", "S", "S", "1000.00", "1002010000"),
    ]
    chk.unlink()
    deliver(landing, register, "BSEG", "20261027", rows)
    con = connect(tmp_path / "t.duckdb")
    assert not ingest(con, [landing], register).refused
    assert not build(con, load_models()).failed
    run = run_checks(con, register, biz_date=date(2026, 10, 27))
    failed = {(s.name, r.expectation_id) for s, r in run.results if not r.success}
    assert ("ods_bseg", "DMBTR__format") in failed

    from lineage.project.trace import trace

    hits = trace(con, "dwd.dwd_fi_voucher_item.amount_lc", project_lineage())
    con.close()
    ods_hits = [h for h in hits if h.expectation_id == "DMBTR__format"]
    assert ods_hits and ods_hits[0].table == "ods.bseg" and ods_hits[0].column == "DMBTR"
    assert ods_hits[0].examples == ["1,000.00"]
    # nearest first: the checks on the voucher table itself come before the ODS column
    assert hits.index(ods_hits[0]) > 0 and all(h.hops <= ods_hits[0].hops for h in hits[:hits.index(ods_hits[0])])
