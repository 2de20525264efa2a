"""Every kind of damaged delivery is refused with a reason naming the file, the rule, expected
and found; nothing of it is loaded, its files stay, and earlier data is untouched: every ods
table and every meta.batch / meta.batch_file row but the refusal's own record is as it was."""

from __future__ import annotations

import ast
import gzip
import hashlib
import shutil
from pathlib import Path

import pytest

from catalog.contract import control_file_name, format_control, parse_control
from pipelines.ingest.delivery import discover
from pipelines.ingest.load import ingest, ingest_delivery
from tests.conftest import bseg_rows, database_fingerprint, deliver, t001_rows, yx_rows

DAY1, DAY2 = "20261026", "20261027"
T001_COLUMNS = "MANDT,BUKRS,BUTXT,ORT01,LAND1,WAERS,KTOPL"  # the register's T001, written out by hand


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


def _refused_once(con, landing, register, code, rule, file_name):
    """Ingest; exactly the damaged delivery is refused with `rule`, its reason starting with the file."""
    report = ingest(con, [landing], register)
    refused = [o for o in report.outcomes if o.status == "refused"]
    assert [o.table for o in refused] == [code], report.outcomes
    reason = refused[0].reason
    assert reason.startswith(f"{file_name}: {rule}: expected "), reason
    assert ", found " in reason, reason
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
    batches = {r[0] for r in con.execute("SELECT batch_id FROM meta.batch").fetchall()}
    return database_fingerprint(con), batches


def _assert_untouched(con, before, refusals: int = 1):
    """Every ods table and meta.batch / meta.batch_file as before, but for the refusal's own record,
    which is the only row meta.batch gained."""
    fingerprint, batches = before
    new = dict(con.execute("SELECT batch_id, status FROM meta.batch").fetchall())
    for batch in batches:
        new.pop(batch, None)
    assert sorted(new.values()) == ["refused"] * refusals, new
    assert database_fingerprint(con, except_batches=list(new)) == fingerprint


def test_md5_mismatch(con, landing, register, loaded_day1):
    deliver(landing, register, "BSEG", DAY2, bseg_rows(10, 100), rows_per_file=8)
    target = _data_files(landing, "BSEG", DAY2)[1]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other content
    target.write_bytes(bytes(data))
    reason = _refused_once(con, landing, register, "BSEG", "md5", target.name)
    assert target.exists()
    listed = parse_control(_chk(landing, "BSEG", DAY2).read_text()).files[1].md5
    assert reason == f"{target.name}: md5: expected {listed}, found {hashlib.md5(bytes(data)).hexdigest()}"
    _assert_untouched(con, loaded_day1)


def test_byte_count_mismatch(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    target = _data_files(landing, "T001", DAY2)[0]
    size = target.stat().st_size
    extra = "800,3399,多余,杭州,CN,CNY,SG01\r\n".encode("gbk")  # 24 ASCII bytes and 4 two-byte characters
    assert len(extra) == 32
    target.write_bytes(target.read_bytes() + extra)
    reason = _refused_once(con, landing, register, "T001", "bytes", target.name)
    assert reason == f"ERP_T001_20261027_001.csv: bytes: expected {size}, found {size + 32}"
    _assert_untouched(con, loaded_day1)


def test_row_count_disagrees_with_chk(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300", "3301", "3302"))
    _rewrite_chk(_chk(landing, "T001", DAY2), **{"|rows=3|": "|rows=4|"})
    reason = _refused_once(con, landing, register, "T001", "rows", "ERP_T001_20261027_001.csv")
    assert reason == "ERP_T001_20261027_001.csv: rows: expected 4, found 3"
    _assert_untouched(con, loaded_day1)


def test_row_count_mismatch_in_a_later_part_rolls_back_earlier_parts(con, landing, register, loaded_day1):
    control = deliver(landing, register, "BSEG", DAY2, bseg_rows(20, 100), rows_per_file=15)
    assert len(control.files) == 3
    _rewrite_chk(_chk(landing, "BSEG", DAY2), **{"_003.csv.gz|rows=10|": "_003.csv.gz|rows=11|"})
    reason = _refused_once(con, landing, register, "BSEG", "rows", "ERP_BSEG_20261027_003.csv.gz")
    assert reason == "ERP_BSEG_20261027_003.csv.gz: rows: expected 11, found 10"
    assert con.execute("SELECT count(*) FROM ods.bseg WHERE _biz_date = '2026-10-27'").fetchone()[0] == 0
    _assert_untouched(con, loaded_day1)


def _replace_header(landing: Path, control, header: bytes, drop_rows: bool = False) -> Path:
    """Give the delivery's only (GBK, uncompressed) file another header line; the .chk follows."""
    target = landing / DAY2 / control.files[0].name
    raw = target.read_bytes()
    body = b"" if drop_rows else raw[raw.index(b"\r\n") + 2:]
    data = header + body
    target.write_bytes(data)
    _rewrite_chk(_chk(landing, "T001", DAY2), **{
        control.files[0].md5: hashlib.md5(data).hexdigest(),
        f"bytes={len(raw)}": f"bytes={len(data)}",
        **({f"rows={control.files[0].rows}": "rows=0"} if drop_rows else {})})
    return target


def test_header_differs_from_columns(con, landing, register, loaded_day1):
    control = deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    target = _replace_header(landing, control, b"MANDT,BUKRS,ORT01,BUTXT,LAND1,WAERS,KTOPL\r\n")
    reason = _refused_once(con, landing, register, "T001", "header", target.name)
    assert reason == (f"ERP_T001_20261027_001.csv: header: expected {T001_COLUMNS}, "
                      f"found MANDT,BUKRS,ORT01,BUTXT,LAND1,WAERS,KTOPL (same columns in another order)")
    _assert_untouched(con, loaded_day1)


def test_header_with_other_column_names(con, landing, register, loaded_day1):
    control = deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    target = _replace_header(landing, control, b"MANDT,BUKRS,BUTXT,ORT01,LAND1,WAERS,KTOPX\r\n")
    reason = _refused_once(con, landing, register, "T001", "header", target.name)
    assert reason == (f"ERP_T001_20261027_001.csv: header: expected {T001_COLUMNS}, "
                      f"found MANDT,BUKRS,BUTXT,ORT01,LAND1,WAERS,KTOPX (missing ['KTOPL'], unexpected ['KTOPX'])")
    _assert_untouched(con, loaded_day1)


def test_empty_data_file_has_no_header(con, landing, register, loaded_day1):
    control = deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    target = _replace_header(landing, control, b"", drop_rows=True)
    assert target.stat().st_size == 0
    reason = _refused_once(con, landing, register, "T001", "header", target.name)
    assert reason == (f"ERP_T001_20261027_001.csv: header: expected {T001_COLUMNS}, found (empty file) "
                      f"(missing ['MANDT', 'BUKRS', 'BUTXT', 'ORT01', 'LAND1', 'WAERS', 'KTOPL'], unexpected [])")
    _assert_untouched(con, loaded_day1)


def test_chk_columns_differ_from_the_register(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    _rewrite_chk(_chk(landing, "T001", DAY2), **{",KTOPL": ",KTOPL,EXTRA1"})
    reason = _refused_once(con, landing, register, "T001", "columns", "ERP_T001_20261027.chk")
    assert reason == (f"ERP_T001_20261027.chk: columns: expected {T001_COLUMNS}, found {T001_COLUMNS},EXTRA1 "
                      f"(missing [], unexpected ['EXTRA1'])")
    _assert_untouched(con, loaded_day1)


def test_file_in_the_wrong_encoding(con, landing, register, loaded_day1):
    # a YX file written in GBK although its control file says UTF-8
    deliver(landing, register, "A_RCVBL_FLOW", DAY2,
            [[*r[:1], "用户名错码", *r[2:]] for r in yx_rows(3)], encoding="GBK")
    chk = _chk(landing, "A_RCVBL_FLOW", DAY2, "YX")
    _rewrite_chk(chk, **{"encoding=GBK": "encoding=UTF-8"})
    raw = _data_files(landing, "A_RCVBL_FLOW", DAY2)[0].read_bytes()
    offset = raw.index(b"\xd3\xc3")  # 用 in GBK: D3 C3, not a UTF-8 sequence; the first on line 2
    reason = _refused_once(con, landing, register, "A_RCVBL_FLOW", "encoding", "YX_A_RCVBL_FLOW_20261027_001.csv")
    assert reason == (f"YX_A_RCVBL_FLOW_20261027_001.csv: encoding: expected UTF-8 text, "
                      f"found undecodable bytes d3 c3 at byte offset {offset}, line 2")
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
    assert reason == (f"{target.name}: encoding: expected GBK text, "
                      f"found undecodable bytes 81 20 at byte offset {offset}, line 3")
    _assert_untouched(con, loaded_day1)


def test_listed_file_missing(con, landing, register, loaded_day1):
    deliver(landing, register, "BSEG", DAY2, bseg_rows(10, 100), rows_per_file=8)
    missing = _data_files(landing, "BSEG", DAY2)[1]
    missing.unlink()
    reason = _refused_once(con, landing, register, "BSEG", "file_missing", missing.name)
    assert reason == ("ERP_BSEG_20261027_002.csv.gz: file_missing: "
                      "expected the file listed in ERP_BSEG_20261027.chk, found no such file")
    _assert_untouched(con, loaded_day1)


def test_unlisted_data_file(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    extra = landing / DAY2 / "ERP_T001_20261027_002.csv"
    extra.write_bytes(b"x")
    reason = _refused_once(con, landing, register, "T001", "file_unlisted", extra.name)
    assert reason == ("ERP_T001_20261027_002.csv: file_unlisted: "
                      "expected only the files listed in ERP_T001_20261027.chk, found an extra data file")
    _assert_untouched(con, loaded_day1)


def test_truncated_gzip_with_matching_checksums(con, landing, register, loaded_day1):
    control = deliver(landing, register, "BSEG", DAY2, bseg_rows(50, 100))
    target = landing / DAY2 / control.files[0].name
    cut = target.read_bytes()[:-30]
    target.write_bytes(cut)
    _rewrite_chk(_chk(landing, "BSEG", DAY2), **{
        control.files[0].md5: hashlib.md5(cut).hexdigest(),
        f"bytes={control.files[0].bytes}": f"bytes={len(cut)}"})
    reason = _refused_once(con, landing, register, "BSEG", "gzip", target.name)
    assert reason == "ERP_BSEG_20261027_001.csv.gz: gzip: expected a complete gzip stream, found a truncated stream"
    _assert_untouched(con, loaded_day1)


def test_malformed_control_file(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    chk = _chk(landing, "T001", DAY2)
    chk.write_text(chk.read_text().replace("mode=FULL\n", ""), encoding="utf-8")
    reason = _refused_once(con, landing, register, "T001", "chk_format", chk.name)
    assert reason == ("ERP_T001_20261027.chk: chk_format: expected a control file per the contract, "
                      "found ERP_T001_20261027.chk: missing mode")
    _assert_untouched(con, loaded_day1)


def test_control_file_that_is_not_utf8(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    chk = _chk(landing, "T001", DAY2)
    # a comment line saved in GBK: 总 is D7 DC, and DC cannot follow D7 in UTF-8, at offset 2
    chk.write_bytes(b"# " + "总部".encode("gbk") + b"\n" + chk.read_bytes())
    reason = _refused_once(con, landing, register, "T001", "chk_encoding", chk.name)
    assert reason == "ERP_T001_20261027.chk: chk_encoding: expected UTF-8, found undecodable byte at offset 2"
    _assert_untouched(con, loaded_day1)


def test_mode_differs_from_the_register(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    _rewrite_chk(_chk(landing, "T001", DAY2), **{"mode=FULL": "mode=INCR"})
    reason = _refused_once(con, landing, register, "T001", "mode", "ERP_T001_20261027.chk")
    assert reason == "ERP_T001_20261027.chk: mode: expected FULL, found INCR"
    _assert_untouched(con, loaded_day1)


def test_table_not_in_the_register(con, landing, register, loaded_day1):
    control = deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    folder = landing / DAY2
    text = format_control(control).replace("table=T001", "table=T999").replace("ERP_T001_", "ERP_T999_")
    (folder / control.files[0].name).rename(folder / control.files[0].name.replace("T001", "T999"))
    (folder / "ERP_T001_20261027.chk").unlink()
    (folder / "ERP_T999_20261027.chk").write_text(text, encoding="utf-8")
    reason = _refused_once(con, landing, register, "T999", "unknown_table", "ERP_T999_20261027.chk")
    assert reason == ("ERP_T999_20261027.chk: unknown_table: "
                      "expected a table of the register (回流表清单), found ERP.T999")
    _assert_untouched(con, loaded_day1)


def test_control_file_content_disagrees_with_its_name(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    _rewrite_chk(_chk(landing, "T001", DAY2), **{"biz_date=20261027": "biz_date=20261028"})
    reason = _refused_once(con, landing, register, "T001", "chk_name", "ERP_T001_20261027.chk")
    assert reason == ("ERP_T001_20261027.chk: chk_name: "
                      "expected system/table/biz_date ERP/T001/20261027 as in the name, found ERP/T001/20261028")
    _assert_untouched(con, loaded_day1)


def test_control_file_name_off_the_pattern(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    chk = _chk(landing, "T001", DAY2)
    chk.rename(chk.with_name("erp_t001_20261027.chk"))  # the system and table must be upper case
    reason = _refused_once(con, landing, register, "erp_t001_20261027", "chk_name", "erp_t001_20261027.chk")
    assert reason == ("erp_t001_20261027.chk: chk_name: "
                      "expected <SYS>_<TABLE>_<YYYYMMDD>.chk, found erp_t001_20261027.chk")
    _assert_untouched(con, loaded_day1)


def test_control_file_in_another_date_folder(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    shutil.move(landing / DAY2, landing / "20261028")  # the whole delivery, in the next day's folder
    report = ingest(con, [landing], register)
    refused = [(o.table, o.biz_date, o.reason) for o in report.outcomes if o.status == "refused"]
    assert refused == [("T001", "20261028", "ERP_T001_20261027.chk: biz_date_folder: "
                                            "expected folder 20261027, found folder 20261028")]
    assert con.execute("SELECT rule, strftime(biz_date, '%Y%m%d') FROM meta.batch WHERE status = 'refused'"
                       ).fetchall() == [("biz_date_folder", "20261028")]
    _assert_untouched(con, loaded_day1)


@pytest.mark.parametrize("name", [
    "ERP_T001_20261027_1.csv",    # part not three digits
    "ERP_T001_20261027_001.txt",  # not .csv / .csv.gz
    "YX_T001_20261027_001.csv",   # another system
    "ERP_KNA1_20261027_001.csv",  # another table
    "ERP_T001_20261026_001.csv",  # another business date
])
def test_listed_file_name_off_the_contract(con, landing, register, loaded_day1, name):
    control = deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    folder = landing / DAY2
    (folder / control.files[0].name).rename(folder / name)
    _rewrite_chk(_chk(landing, "T001", DAY2), **{control.files[0].name: name})
    reason = _refused_once(con, landing, register, "T001", "file_name", name)
    assert reason == f"{name}: file_name: expected ERP_T001_20261027_NNN.csv[.gz], found {name}"
    _assert_untouched(con, loaded_day1)


@pytest.mark.parametrize(("renames", "found"), [
    ({"_002.csv": "_003.csv"}, "001,003"),      # a gap
    ({"_001.csv": "_003.csv"}, "002,003"),      # not from 001 (listed 003 before 002)
    ({"_002.csv": "_001.csv.gz"}, "001,001"),   # one part number twice
])
def test_file_parts_numbered_from_001_without_gaps(con, landing, register, loaded_day1, renames, found):
    control = deliver(landing, register, "T001", DAY2, t001_rows("3300", "3301"), rows_per_file=1)
    assert [f.name for f in control.files] == ["ERP_T001_20261027_001.csv", "ERP_T001_20261027_002.csv"]
    folder = landing / DAY2
    (old, new), = renames.items()
    (folder / f"ERP_T001_20261027{old}").rename(folder / f"ERP_T001_20261027{new}")
    _rewrite_chk(_chk(landing, "T001", DAY2), **{f"ERP_T001_20261027{old}|": f"ERP_T001_20261027{new}|"})
    reason = _refused_once(con, landing, register, "T001", "file_parts", "ERP_T001_20261027.chk")
    assert reason == f"ERP_T001_20261027.chk: file_parts: expected parts 001..002, found {found}"
    _assert_untouched(con, loaded_day1)


def test_malformed_csv_row(con, landing, register, loaded_day1):
    rows = t001_rows("3300", "3301")
    rows[1] = [*rows[1], "多出的字段"]
    deliver(landing, register, "T001", DAY2, rows)
    reason = _refused_once(con, landing, register, "T001", "csv", "ERP_T001_20261027_001.csv")
    # DuckDB's message, its line counted with the header: the second row is line 3
    assert reason.startswith("ERP_T001_20261027_001.csv: csv: expected RFC 4180 CSV with 7 columns, "
                             "found Invalid Input Error: CSV Error on Line: 3"), reason
    assert "respool-" not in reason  # the temporary UTF-8 copy is not what the reason names
    _assert_untouched(con, loaded_day1)


def test_malformed_csv_row_in_a_later_part_names_that_part(con, landing, register, loaded_day1):
    rows = bseg_rows(10, 100)
    rows[-1] = [*rows[-1], "多出的字段"]  # the 20th row: the last of part 003 (rows 17-20)
    control = deliver(landing, register, "BSEG", DAY2, rows, rows_per_file=8)
    assert len(control.files) == 3
    reason = _refused_once(con, landing, register, "BSEG", "csv", "ERP_BSEG_20261027_003.csv.gz")
    _assert_untouched(con, loaded_day1)
    assert "Line: 5" in reason and "Expected Number of Columns: 26 Found: 27" in reason
    # DuckDB's advice and the temporary copy's path are not the operator's business
    assert "Possible fixes" not in reason and "respool-" not in reason and "/" not in reason


def test_carriage_return_inside_the_header_is_refused(con, landing, register, loaded_day1):
    control = deliver(landing, register, "T001", DAY2, t001_rows("3300"))
    target = landing / DAY2 / control.files[0].name
    raw = target.read_bytes()
    broken = raw.replace(b"BUTXT", b"BU\rTXT", 1)
    target.write_bytes(broken)
    _rewrite_chk(_chk(landing, "T001", DAY2), **{
        control.files[0].md5: hashlib.md5(broken).hexdigest(), f"bytes={len(raw)}": f"bytes={len(broken)}"})
    reason = _refused_once(con, landing, register, "T001", "header", target.name)
    columns = ",".join(register.table("T001").column_names)
    assert reason.startswith(f"{target.name}: header: expected {columns}, found unreadable header: ")
    _assert_untouched(con, loaded_day1)


def test_a_header_longer_than_a_read_chunk_is_read_whole(con, landing, register, loaded_day1, monkeypatch):
    from pipelines.ingest import filecheck

    monkeypatch.setattr(filecheck, "CHUNK", 7)  # the header arrives in many pieces
    deliver(landing, register, "BSEG", DAY2, bseg_rows(3, 500))
    (delivery,) = [d for d in discover([landing], register) if d.biz_date == DAY2]
    outcome = ingest_delivery(con, delivery, register, landing.parent)  # in this process: CHUNK applies
    assert (outcome.status, outcome.rows) == ("loaded", 6), outcome.reason


def test_delivery_without_control_file_is_not_touched(con, landing, register, loaded_day1):
    deliver(landing, register, "T001", DAY2, t001_rows("3303"))
    _chk(landing, "T001", DAY2).unlink()  # still being written
    report = ingest(con, [landing], register)
    assert all(o.biz_date == DAY1 for o in report.outcomes)
    _assert_untouched(con, loaded_day1, refusals=0)


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
    reason = _refused_once(con, landing, register, "BSEG", "gzip", target.name)
    assert reason == ("ERP_BSEG_20261027_001.csv.gz: gzip: expected a valid gzip stream, "
                      "found corrupt data (Error -3 while decompressing data: incorrect header check)")
    _assert_untouched(con, loaded_day1)


# every rule a delivery can be refused by, each with its test(s) above
RULES_TESTED = {
    "chk_encoding": ["test_control_file_that_is_not_utf8"],
    "chk_format": ["test_malformed_control_file"],
    "chk_name": ["test_control_file_content_disagrees_with_its_name", "test_control_file_name_off_the_pattern"],
    "biz_date_folder": ["test_control_file_in_another_date_folder"],
    "unknown_table": ["test_table_not_in_the_register"],
    "mode": ["test_mode_differs_from_the_register"],
    "columns": ["test_chk_columns_differ_from_the_register"],
    "file_name": ["test_listed_file_name_off_the_contract"],
    "file_parts": ["test_file_parts_numbered_from_001_without_gaps"],
    "file_missing": ["test_listed_file_missing"],
    "file_unlisted": ["test_unlisted_data_file"],
    "bytes": ["test_byte_count_mismatch"],
    "md5": ["test_md5_mismatch"],
    "gzip": ["test_truncated_gzip_with_matching_checksums", "test_gzip_of_the_wrong_file_kind"],
    "encoding": ["test_file_in_the_wrong_encoding", "test_undecodable_byte_in_a_gbk_file_is_pinpointed"],
    "header": ["test_header_differs_from_columns", "test_header_with_other_column_names",
               "test_empty_data_file_has_no_header"],
    "csv": ["test_malformed_csv_row"],
    "rows": ["test_row_count_disagrees_with_chk", "test_row_count_mismatch_in_a_later_part_rolls_back_earlier_parts"],
}


def _rules_in_code() -> set[str]:
    """The rule names of every `Refusal(file, rule, …)` in the ingest modules (lower-case identifiers)."""
    from pipelines.ingest import delivery, filecheck, load

    rules = set()
    for module in (delivery, filecheck, load):
        for node in ast.walk(ast.parse(Path(module.__file__).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Refusal" and len(node.args) > 1:
                rule = node.args[1]
                if isinstance(rule, ast.Constant) and isinstance(rule.value, str) and rule.value.isidentifier() \
                        and rule.value.islower():
                    rules.add(rule.value)
    return rules


def test_every_refusal_rule_has_a_test():
    assert _rules_in_code() == set(RULES_TESTED)
    defined = {name for name in globals() if name.startswith("test_")}
    assert {t for tests in RULES_TESTED.values() for t in tests} <= defined
