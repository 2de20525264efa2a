"""质量日报: the report of a checked business date, against figures computed by hand in SQL."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.ingest.db import connect
from quality.specs import DIMENSIONS
from tests.png_facts import png_facts, rgb

DAY1, DAY2 = date(2026, 10, 26), date(2026, 10, 27)
ERROR_CHECK = "dwd_ar_item.net_due_not_before_baseline"


@pytest.fixture(scope="module")
def checked(tmp_path_factory, register) -> dict:
    """The pool scenario with one item due before its baseline date (an `error` check) on DAY2,
    ingested, built and checked for both dates."""
    from models.build import build
    from models.loader import load_models
    from pipelines.ingest.load import ingest
    from quality.runner import run_checks
    from tests.pool_scenario import deliver_bad_terms_item, deliver_scenario

    root = tmp_path_factory.mktemp("report")
    landing = root / "landing"
    deliver_scenario(landing, register)
    deliver_bad_terms_item(landing, register)
    db = root / "respool.duckdb"
    con = connect(db)
    assert not ingest(con, [landing], register).refused
    assert not build(con, load_models()).failed
    runs = {day: run_checks(con, register, biz_date=day) for day in (DAY1, DAY2)}
    con.close()
    quality_dir = root / "quality"
    docs = quality_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    docs.parent.mkdir(parents=True)
    docs.write_text("<html>Data Docs</html>", encoding="utf-8")
    return {"db": db, "quality_dir": quality_dir, "run_id": runs[DAY2].run_id}


@pytest.fixture(scope="module")
def written(checked, tmp_path_factory) -> dict:
    """`respool report` with the default date (the newest checked) and the default folder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("RESPOOL_QUALITY_DIR", str(checked["quality_dir"]))
    try:
        result = CliRunner().invoke(app, ["report", "--db", str(checked["db"])])
    finally:
        mp.undo()
    assert result.exit_code == 0, result.output
    out = checked["quality_dir"] / "reports" / DAY2.isoformat()
    html = (out / "report.html").read_text(encoding="utf-8")
    return {"out": out, "html": html, "text": html.replace("<wbr>", ""),
            "md": (out / "report.md").read_text(encoding="utf-8")}


# The checks that fail on DAY2 of the scenario, worked out from its rows (tests/pool_scenario.py):
# check -> (severity, dimension, unexpected count)
FAILING_ON_DAY2 = {
    # P's bank line is delivered twice in day 2's BSEG
    "cleansing.no_superseded_duplicates_within_a_delivery": ("warn", "一致性", 1),
    "ods_bseg.key_unique": ("warn", "一致性", 1),
    # BSEG rows with an empty BELNR and with ZFBDT 20261331 are quarantined (day 1)
    "cleansing.nothing_quarantined": ("warn", "准确性", 2),
    # the test writes all 11 deliveries of 2026-10-27 now, long after 06:00 on 2026-10-28
    "delivery.latest_delivery_on_time": ("warn", "时效性", 11),
    # 0100000099 is in BSID, not in BSEG
    "dwd_ar_item.item_in_bseg_same_amount": ("warn", "一致性", 1),
    # day 2's BSID (re-written) no longer has 0100000002 and 0100000004, and no BSAD clears them
    "dwd_ar_item.left_snapshot_without_clearing": ("warn", "完整性", 2),
    # 0100000099: ZBD1T -5 puts its net due date before its baseline
    ERROR_CHECK: ("error", "准确性", 1),
    "ods_bsid.ZBD1T__format": ("warn", "规范性", 1),
    # KNA1 NAME1 "杭州甲公司 "
    "ods_kna1.no_trailing_blanks": ("warn", "规范性", 1),
}


def _expected(db: Path, run_id: str, register) -> dict:
    """The figures of the run: every declared check, less the failures worked out by hand; the
    examples shown are the stored ones (the report's input)."""
    from quality.runner import load_suites

    declared = [e.dimension for suite in load_suites(register) for e in suite.expectations]
    failed_dims = [dim for _, dim, _ in FAILING_ON_DAY2.values()]
    dims = {d: (declared.count(d) - failed_dims.count(d), declared.count(d)) for d in set(declared)}
    con = connect(db, read_only=True)
    try:
        failing = con.execute(
            "SELECT suite || '.' || expectation_id, severity, unexpected_count, examples FROM meta.quality_result "
            "WHERE run_id = ? AND NOT success ORDER BY severity = 'warn', target_table", [run_id]).fetchall()
    finally:
        con.close()
    assert {c: (sev, n) for c, sev, n, _ in failing} == {c: (sev, n) for c, (sev, _, n) in FAILING_ON_DAY2.items()}
    severities = [sev for sev, _, _ in FAILING_ON_DAY2.values()]
    return {"dims": dims, "total": len(declared), "passed": len(declared) - len(FAILING_ON_DAY2),
            "failed_error": severities.count("error"), "failed_warn": severities.count("warn"),
            "failing": failing}


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end)]


def test_report_shows_the_scores_of_the_run_by_dimension(checked, written, register):
    expected = _expected(checked["db"], checked["run_id"], register)
    assert expected["failed_error"] == 1  # the scenario's item due before its baseline
    html, md = written["html"], written["md"]
    assert f"业务日期 business date <b>{DAY2}</b>" in html
    for dim, en in DIMENSIONS.items():
        p, t = expected["dims"].get(dim, (0, 0))
        pct = f"{p / t:.1%}" if t else "—"
        assert re.search(rf"<td>{dim} <span class='en'>{en}</span></td><td class='num'>{p}/{t}</td>"
                         rf"<td class='num'>{re.escape(pct)}</td>", html), dim
        assert f"| {dim} {en} | {p}/{t} | {pct} |" in md
    overall = f"{expected['passed'] / expected['total']:.1%}"
    assert f"<div class='n'>{expected['total']}</div><div class='l'>检查数 checks run" in html
    assert f"<div class='n'>{expected['passed']}</div><div class='l'>通过 passed" in html
    assert f"<div class='n'>{expected['failed_error']}</div>" in html
    assert f"<div class='n'>{overall}</div><div class='l'>综合得分 overall score" in html
    assert f"- 检查数 checks run: **{expected['total']}**" in md
    assert f"**错误 error {expected['failed_error']}**, 警告 warn {expected['failed_warn']}" in md
    assert f"- 综合得分 overall score: **{overall}**" in md
    assert "阻断发布" in html and "publication is blocked" in md


def test_report_lists_the_failing_checks_error_first_with_examples(checked, written, register):
    expected = _expected(checked["db"], checked["run_id"], register)
    failing = _section(written["text"], "未通过的检查", "趋势")
    md = _section(written["md"], "## 未通过的检查", "## 趋势")
    ids = [check for check, *_ in expected["failing"]]
    assert ERROR_CHECK in ids
    positions = [failing.index(f"<code>{check}</code>") for check in ids]
    errors = [pos for pos, (_, sev, *_) in zip(positions, expected["failing"], strict=True) if sev == "error"]
    warns = [pos for pos, (_, sev, *_) in zip(positions, expected["failing"], strict=True) if sev == "warn"]
    assert max(errors) < min(warns)
    for check, _, count, examples in expected["failing"]:
        assert f"`{check}`" in md
        row = failing[failing.index(f"<code>{check}</code>"):]
        if count is not None:
            assert f"<td class='num'>{count:,}" in row[:row.index("</tr>")]
        md_line = next(line for line in md.splitlines() if f"`{check}`" in line)
        for example in json.loads(examples)[:5]:
            for part in example if isinstance(example, list) else [example]:
                text = part.removesuffix("T00:00:00") if isinstance(part, str) else json.dumps(part)
                assert text in row[:row.index("</tr>")], (check, text)
                assert text in md_line, (check, text)
    error_line = next(line for line in md.splitlines() if f"`{ERROR_CHECK}`" in line)
    assert error_line.startswith("| ❌ error | `dwd.dwd_ar_item` |")
    assert "净到期日不早于基准日" in failing and "the net due date is not before the baseline" in failing


def test_report_embeds_the_trend_plots_and_links_the_data_docs(written):
    out, html, md = written["out"], written["html"], written["md"]
    # the figure sizes the plots are drawn at (inches x 110 dpi); 11 ODS tables -> 3 rows of panels
    sizes = {"trend_pass_rate.png": (1100, 462), "trend_failures.png": (1100, 396),
             "trend_row_counts.png": (1100, 693)}
    for name, size in sizes.items():
        shape, colours = png_facts(out / name)
        assert shape == size, name
        assert colours[rgb("#ffffff")] < 0.97 * size[0] * size[1], name  # something is drawn
        assert f"]({name})" in md
    # both dates have failing error and warn checks: the stacked bars show both colours
    _, bars = png_facts(out / "trend_failures.png")
    assert bars[rgb("#c0392b")] > 500 and bars[rgb("#e6a23c")] > 500
    assert html.count("<img src='data:image/png;base64,") == 3
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "href='../../gx/uncommitted/data_docs/local_site/index.html'" in html
    assert "[Great Expectations Data Docs](../../gx/uncommitted/data_docs/local_site/index.html)" in md


def test_report_of_an_older_date_and_without_data_docs(checked, tmp_path):
    from quality.report import write_report

    con = connect(checked["db"], read_only=True)
    try:
        files = write_report(con, DAY1, tmp_path / "r", docs_index=tmp_path / "missing" / "index.html")
        with pytest.raises(LookupError, match="no quality results for business date 2026-10-25"):
            write_report(con, date(2026, 10, 25), tmp_path / "none")
    finally:
        con.close()
    html = files.html.read_text(encoding="utf-8")
    assert f"<b>{DAY1}</b>" in html and "GX Data Docs 尚未生成 not built yet" in html
