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


def _expected(db: Path, run_id: str) -> dict:
    """The figures of the run, by hand from meta.quality_result."""
    con = connect(db, read_only=True)
    try:
        dims = {d: (p, t) for d, p, t in con.execute(
            "SELECT dimension, count(*) FILTER (WHERE success), count(*) FROM meta.quality_result "
            "WHERE run_id = ? GROUP BY dimension", [run_id]).fetchall()}
        total, passed, failed_error, failed_warn = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE success), "
            "count(*) FILTER (WHERE NOT success AND severity = 'error'), "
            "count(*) FILTER (WHERE NOT success AND severity = 'warn') "
            "FROM meta.quality_result WHERE run_id = ?", [run_id]).fetchone()
        failing = con.execute(
            "SELECT suite || '.' || expectation_id, severity, unexpected_count, examples FROM meta.quality_result "
            "WHERE run_id = ? AND NOT success ORDER BY severity = 'warn', target_table", [run_id]).fetchall()
    finally:
        con.close()
    return {"dims": dims, "total": total, "passed": passed, "failed_error": failed_error,
            "failed_warn": failed_warn, "failing": failing}


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end)]


def test_report_shows_the_scores_of_the_run_by_dimension(checked, written):
    expected = _expected(checked["db"], checked["run_id"])
    assert expected["failed_error"] >= 1  # the scenario's item due before its baseline
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


def test_report_lists_the_failing_checks_error_first_with_examples(checked, written):
    expected = _expected(checked["db"], checked["run_id"])
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
    for name in ("trend_pass_rate.png", "trend_failures.png", "trend_row_counts.png"):
        data = (out / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000, name
        assert f"]({name})" in md
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
