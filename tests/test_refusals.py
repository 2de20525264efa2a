"""Every kind of damaged delivery is refused with a reason naming the file, the rule, expected
and found; nothing of it is loaded, its files stay, and earlier data is untouched."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from catalog.contract import control_file_name, format_control, parse_control
from pipelines.ingest.load import ingest
from tests.conftest import bseg_rows, deliver, t001_rows, table_fingerprint, yx_rows

DAY1, DAY2 = "20261026", "20261027"


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


def _chk(landing: Path, code: str, biz_date: str, system: str = "ERP") -> Path:
    return landing / biz_date / control_file_name(system, code, biz_date)


def _rewrite_chk(path: Path, **changes) -> None:
    text = path.read_text(encoding="utf-8")
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def _data_files(landing: Path, code: str, biz_date: str) -> list[Path]:
    return sorted((landing / biz_date).glob(f"*_{code}_{biz_date}_*.csv*"))


def _refused_once(con, landing, register, code, rule, file_fragment):
    """Ingest; exactly the damaged delivery is refused with `rule`, naming the file."""
    report = ingest(con, [landing], register)
    refused = [o for o in report.outcomes if o.status == "refused"]
    assert [o.table for o in refused] == [code], report.outcomes
    reason = refused[0].reason
    assert f": {rule}: expected " in reason and ", found " in reason, reason
    assert file_fragment in reason, reason
    row = con.execute("SELECT status, rule, reason FROM meta.batch WHERE table_name = ? AND status = 'refused'",
                      [code]).fetchone()
    assert row == ("refused", rule, reason)
    return reason


@pytest.fixture
def loaded_day1(con, landing, register):
    """Day 1 loaded cleanly: the state a damaged day 2 must not touch."""
    deliver(landing, register, "T001", DAY1, t001_rows("3300", "3301"))
    deliver(landing, register, "BSEG", DAY1, bseg_rows(30), rows_per_file=25)
    deliver(landing, register, "A_RCVBL_FLOW", DAY1, yx_rows(5))
    report = ingest(con, [landing], register)
    assert [o.status for o in report.outcomes] == ["loaded"] * 3
    return {t: table_fingerprint(con, f"ods.{t}") for t in ("t001", "bseg", "a_rcvbl_flow")}


def _assert_untouched(con, before):
    for table, fingerprint in before.items():
        assert table_fingerprint(con, f"ods.{table}") == fingerprint, table


def test_md5_mismatch(con, landing, register, loaded_day1):
    deliver(landing, register, "BSEG", DAY2, bseg_rows(10, 100), rows_per_file=8)
    target = _data_files(landing, "BSEG", DAY2)[1]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other content
    target.write_bytes(bytes(data))
    reason = _refused_once(con, landing, register, "BSEG", "md5", target.name)
    assert target.exists()
    assert "expected " + parse_control(_chk(landing, "BSEG", DAY2).read_text()).files[1].md5 in reason
    _assert_untouched(con, loaded_day1)


def test_byte_count_mismatch(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    target = _data_files(landing, "T001", DAY2)[0]
    size = target.stat().st_size
    target.write_bytes(target.read_bytes() + "800,3399,多余,杭州,CN,CNY,SG01\r\n".encode("gbk"))
    reason = _refused_once(con, landing, register, "T001", "bytes", target.name)
    assert f"expected {size}, found " in reason
    _assert_untouched(con, loaded_day1)


def test_row_count_disagrees_with_chk(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300", "3301", "3302"))
    _rewrite_chk(_chk(landing, "T001", DAY2), **{"|rows=3|": "|rows=4|"})
    reason = _refused_once(con, landing, register, "T001", "rows", "ERP_T001_20261027_001.csv")
    assert "expected 4, found 3" in reason
    _assert_untouched(con, loaded_day1)


def test_row_count_mismatch_in_a_later_part_rolls_back_earlier_parts(con, landing, register, loaded_day1):
    control = deliver(landing, register, "BSEG", DAY2, bseg_rows(20, 100), rows_per_file=15)
    assert len(control.files) == 3
    _rewrite_chk(_chk(landing, "BSEG", DAY2), **{"_003.csv.gz|rows=10|": "_003.csv.gz|rows=11|"})
    _refused_once(con, landing, register, "BSEG", "rows", "ERP_BSEG_20261027_003.csv.gz")
    assert con.execute("SELECT count(*) FROM ods.bseg WHERE _biz_date = '2026-10-27'").fetchone()[0] == 0
    _assert_untouched(con, loaded_day1)


def test_header_differs_from_columns(con, landing, register, loaded_day1):
    rows = t001_rows("3300")
    control = deliver(landing, register, "T001", DAY2, rows)
    target = landing / DAY2 / control.files[0].name
    text = target.read_bytes().decode("gbk").replace("BUTXT,ORT01", "ORT01,BUTXT", 1).encode("gbk")
    target.write_bytes(text)
    _rewrite_chk(_chk(landing, "T001", DAY2), **{control.files[0].md5: hashlib.md5(text).hexdigest()})
    reason = _refused_once(con, landing, register, "T001", "header", target.name)
    assert "same columns in another order" in reason
    _assert_untouched(con, loaded_day1)


def test_chk_columns_differ_from_the_register(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    _rewrite_chk(_chk(landing, "T001", DAY2), **{",KTOPL": ",KTOPL,EXTRA1"})
    reason = _refused_once(con, landing, register, "T001", "columns", "ERP_T001_20261027.chk")
    assert "unexpected ['EXTRA1']" in reason
    _assert_untouched(con, loaded_day1)


def test_file_in_the_wrong_encoding(con, landing, register, loaded_day1):
    # a YX file written in GBK although its control file says UTF-8
    deliver(landing, register, "A_RCVBL_FLOW", DAY2,
            [[*r[:1], "用户名错码", *r[2:]] for r in yx_rows(3)], encoding="GBK")
    chk = _chk(landing, "A_RCVBL_FLOW", DAY2, "YX")
    _rewrite_chk(chk, **{"encoding=GBK": "encoding=UTF-8"})
    reason = _refused_once(con, landing, register, "A_RCVBL_FLOW", "encoding", "YX_A_RCVBL_FLOW_20261027_001.csv")
    assert "undecodable bytes" in reason and "byte offset" in reason and "line 2" in reason
    _assert_untouched(con, loaded_day1)


def test_undecodable_byte_in_a_gbk_file_is_pinpointed(con, landing, register, loaded_day1):
    control = deliver(landing, register, "T001", DAY2, t001_rows("3300", "3301"))
    target = landing / DAY2 / control.files[0].name
    raw = target.read_bytes()
    broken = raw.replace("杭州供电公司".encode("gbk"), b"\x81\x20" + "州供电公司".encode("gbk"), 1)
    target.write_bytes(broken)
    _rewrite_chk(_chk(landing, "T001", DAY2), **{
        control.files[0].md5: hashlib.md5(broken).hexdigest(),
        f"bytes={len(raw)}": f"bytes={len(broken)}"})
    offset = broken.index(b"\x81\x20")
    reason = _refused_once(con, landing, register, "T001", "encoding", target.name)
    assert f"undecodable bytes 81 20 at byte offset {offset}, line 3" in reason


def test_listed_file_missing(con, landing, register, loaded_day1):
    deliver(landing, register, "BSEG", DAY2, bseg_rows(10, 100), rows_per_file=8)
    missing = _data_files(landing, "BSEG", DAY2)[1]
    missing.unlink()
    _refused_once(con, landing, register, "BSEG", "file_missing", missing.name)
    _assert_untouched(con, loaded_day1)


def test_unlisted_data_file(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    extra = landing / DAY2 / "ERP_T001_20261027_002.csv"
    extra.write_bytes(b"x")
    _refused_once(con, landing, register, "T001", "file_unlisted", extra.name)


def test_truncated_gzip_with_matching_checksums(con, landing, register, loaded_day1):
    control = deliver(landing, register, "BSEG", DAY2, bseg_rows(50, 100))
    target = landing / DAY2 / control.files[0].name
    cut = target.read_bytes()[:-30]
    target.write_bytes(cut)
    _rewrite_chk(_chk(landing, "BSEG", DAY2), **{
        control.files[0].md5: hashlib.md5(cut).hexdigest(),
        f"bytes={control.files[0].bytes}": f"bytes={len(cut)}"})
    _refused_once(con, landing, register, "BSEG", "gzip", target.name)
    _assert_untouched(con, loaded_day1)


def test_malformed_control_file(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    chk = _chk(landing, "T001", DAY2)
    chk.write_text(chk.read_text().replace("mode=FULL\n", ""), encoding="utf-8")
    reason = _refused_once(con, landing, register, "T001", "chk_format", chk.name)
    assert "missing mode" in reason


def test_mode_differs_from_the_register(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    _rewrite_chk(_chk(landing, "T001", DAY2), **{"mode=FULL": "mode=INCR"})
    reason = _refused_once(con, landing, register, "T001", "mode", "ERP_T001_20261027.chk")
    assert "expected FULL, found INCR" in reason


def test_table_not_in_the_register(con, landing, register, loaded_day1):
    control = deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    folder = landing / DAY2
    text = format_control(control).replace("table=T001", "table=T999").replace("ERP_T001_", "ERP_T999_")
    (folder / control.files[0].name).rename(folder / control.files[0].name.replace("T001", "T999"))
    (folder / "ERP_T001_20261027.chk").unlink()
    (folder / "ERP_T999_20261027.chk").write_text(text, encoding="utf-8")
    _refused_once(con, landing, register, "T999", "unknown_table", "ERP_T999_20261027.chk")


def test_control_file_content_disagrees_with_its_name(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    _rewrite_chk(_chk(landing, "T001", DAY2), **{"biz_date=20261027": "biz_date=20261028"})
    _refused_once(con, landing, register, "T001", "chk_name", "ERP_T001_20261027.chk")


def test_malformed_csv_row(con, landing, register, loaded_day1):
    rows = t001_rows("3300", "3301")
    rows[1] = [*rows[1], "多出的字段"]
    deliver(landing, register, "T001", DAY2, rows)
    _refused_once(con, landing, register, "T001", "csv", "ERP_T001_20261027_001.csv")
    _assert_untouched(con, loaded_day1)


def test_delivery_without_control_file_is_not_touched(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3303"))
    _chk(landing, "T001", DAY2).unlink()  # still being written
    report = ingest(con, [landing], register)
    assert all(o.biz_date == DAY1 for o in report.outcomes)
    _assert_untouched(con, loaded_day1)


def test_good_deliveries_of_the_same_night_still_load(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300", "3301", "3302"))
    deliver(landing, register, "BSEG", DAY2, bseg_rows(4, 100))
    _rewrite_chk(_chk(landing, "BSEG", DAY2), **{"|rows=8|": "|rows=9|"})
    report = ingest(con, [landing], register)
    status = {(o.table, o.biz_date): o.status for o in report.outcomes}
    assert status[("T001", DAY2)] == "loaded" and status[("BSEG", DAY2)] == "refused"
    assert con.execute("SELECT count(*) FROM ods.t001").fetchone()[0] == 3


def test_refused_delivery_fixed_in_place_loads_on_the_next_run(con, landing, register, loaded_day1):
    control = deliver(landing, register, "T001", DAY2, t001_rows("3300", "3301", "3302"))
    target = landing / DAY2 / control.files[0].name
    good = target.read_bytes()
    target.write_bytes(good[:-5] + b"XXXXX")
    assert ingest(con, [landing], register).refused
    target.write_bytes(good)  # headquarters re-sends the file, same control file
    report = ingest(con, [landing], register)
    assert [(o.table, o.status) for o in report.outcomes if o.biz_date == DAY2] == [("T001", "loaded")]
    assert con.execute("SELECT status FROM meta.batch WHERE table_name = 'T001' AND biz_date = '2026-10-27'"
                       ).fetchall() == [("loaded",)]


def test_gzip_of_the_wrong_file_kind(con, landing, register, loaded_day1, tmp_path):
    # a plain CSV stored under a .gz name: bytes and md5 match, gunzip fails
    control = deliver(landing, register, "BSEG", DAY2, bseg_rows(3, 100))
    target = landing / DAY2 / control.files[0].name
    plain = gzip.decompress(target.read_bytes())
    target.write_bytes(plain)
    _rewrite_chk(_chk(landing, "BSEG", DAY2), **{
        control.files[0].md5: hashlib.md5(plain).hexdigest(),
        f"bytes={control.files[0].bytes}": f"bytes={len(plain)}"})
    _refused_once(con, landing, register, "BSEG", "gzip", target.name)
