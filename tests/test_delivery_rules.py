"""The delivery contract's rules one function at a time, without a database: discovery, the
control-file rules (delivery.py) and the one-pass check of each data file (filecheck.py).

tests/test_refusals.py drives every rule through `ingest`; these call the functions directly, so
the expected values sit next to the bytes they come from (byte offsets, lines, chunk boundaries).
"""

from __future__ import annotations

import calendar
import gzip
import hashlib
import locale
import os
import pickle
import re
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path

import pytest

from catalog.contract import FileEntry, parse_control
from pipelines.ingest.delivery import Delivery, check_control, discover, read_control
from pipelines.ingest.filecheck import (
    CHUNK,
    ReadyFile,
    Refusal,
    _CarriageReturns,
    collect_files,
    column_diff,
    prepare_file,
    start_files,
)
from tests.conftest import bseg_rows, deliver, t001_rows, yx_rows

DAY1, DAY2 = "20261026", "20261027"


def _delivery(landing: Path, code: str, biz_date: str, system: str = "ERP") -> Delivery:
    return Delivery(chk_path=landing / biz_date / f"{system}_{code}_{biz_date}.chk", system=system, table=code,
                    biz_date=biz_date)


def _refusal(call, *args) -> Refusal:
    with pytest.raises(Refusal) as caught:
        call(*args)
    return caught.value


# --- discovery -------------------------------------------------------------------------------

def test_discover_orders_by_date_root_register_order_and_name(tmp_path, register):
    first, rerun = tmp_path / "landing", tmp_path / "landing" / "redelivery"
    deliver(first, register, "BSEG", DAY2, bseg_rows(1))
    deliver(first, register, "T001", DAY2, t001_rows("3300"))
    deliver(first, register, "A_RCVBL_FLOW", DAY1, yx_rows(1))
    deliver(first, register, "BSEG", DAY1, bseg_rows(1))
    deliver(rerun, register, "T001", DAY1, t001_rows("3300"))
    deliver(first, register, "T001", DAY1, t001_rows("3300"))
    (first / DAY1 / "ERP_ZZZ_X.chk").write_text("x")   # off the pattern: after the register's tables
    (first / DAY1 / "ERP_YYY_X.chk").write_text("x")   # two of them: by name
    for ignored in ("2026102", "20261301", "notes"):  # not a business date folder
        deliver(tmp_path / "scratch" / ignored, register, "T001", DAY1, t001_rows("3300"))
        (tmp_path / "scratch" / ignored / DAY1).rename(first / ignored)
    (first / "20261028").write_text("a file named like a date")
    found = [(d.biz_date, d.system, d.table, d.chk_path.parent.parent.name)
             for d in discover([tmp_path / "missing", first, rerun], register)]
    assert found == [
        (DAY1, "ERP", "T001", "landing"), (DAY1, "ERP", "BSEG", "landing"), (DAY1, "YX", "A_RCVBL_FLOW", "landing"),
        (DAY1, "?", "ERP_YYY_X", "landing"), (DAY1, "?", "ERP_ZZZ_X", "landing"),
        (DAY1, "ERP", "T001", "redelivery"),
        (DAY2, "ERP", "T001", "landing"), (DAY2, "ERP", "BSEG", "landing"),
    ]
    assert discover([tmp_path / "missing"], register) == []


def test_batch_id_and_arrival_time(tmp_path, register, shanghai_time):
    deliver(tmp_path, register, "T001", DAY1, t001_rows("3300"))
    delivery = _delivery(tmp_path, "T001", DAY1)
    md5 = hashlib.md5(delivery.chk_path.read_bytes()).hexdigest()
    assert delivery.chk_md5() == md5
    assert delivery.batch_id() == f"ERP.T001.20261026.{md5[:12]}"
    assert delivery.folder == tmp_path / DAY1
    landed = calendar.timegm((2026, 10, 26, 9, 33, 20))  # 17:33:20 in Shanghai
    os.utime(delivery.chk_path, (landed, landed))
    assert delivery.arrived_at() == datetime(2026, 10, 26, 9, 33, 20)  # recorded in UTC


# --- control-file rules (delivery.py) --------------------------------------------------------

def test_a_good_delivery_passes_every_control_rule(tmp_path, register):
    deliver(tmp_path, register, "BSEG", DAY1, bseg_rows(5), rows_per_file=4)
    delivery = _delivery(tmp_path, "BSEG", DAY1)
    control = read_control(delivery)
    assert [f.name for f in control.files] == ["ERP_BSEG_20261026_001.csv.gz", "ERP_BSEG_20261026_002.csv.gz",
                                               "ERP_BSEG_20261026_003.csv.gz"]
    assert check_control(delivery, control, register) is register.table("BSEG")


def test_parts_listed_out_of_order_and_other_files_in_the_folder_are_accepted(tmp_path, register):
    deliver(tmp_path, register, "T001", DAY1, t001_rows("3300", "3301", "3302"), rows_per_file=1)
    deliver(tmp_path, register, "BSEG", DAY1, bseg_rows(1))       # another table's data files
    (tmp_path / DAY1 / "说明.txt").write_text("not a data file")   # not named like a data file
    (tmp_path / DAY1 / "ERP_T001_20261026_009.csv.bak").write_text("x")
    chk = tmp_path / DAY1 / "ERP_T001_20261026.chk"
    lines = chk.read_text(encoding="utf-8").splitlines()
    chk.write_text("\n".join(lines[:-3] + lines[:-4:-1]) + "\n", encoding="utf-8")  # parts 003, 002, 001
    delivery = _delivery(tmp_path, "T001", DAY1)
    control = read_control(delivery)
    assert [f.name[-7:-4] for f in control.files] == ["003", "002", "001"]
    assert check_control(delivery, control, register) is register.table("T001")


def test_control_file_not_utf8(tmp_path, register):
    deliver(tmp_path, register, "T001", DAY1, t001_rows("3300"))
    delivery = _delivery(tmp_path, "T001", DAY1)
    delivery.chk_path.write_bytes(b"system=ERP\n# \xd7\xdc\n" + delivery.chk_path.read_bytes())
    refusal = _refusal(read_control, delivery)
    assert (refusal.file, refusal.rule, refusal.expected, refusal.found) == (
        "ERP_T001_20261026.chk", "chk_encoding", "UTF-8", "undecodable byte at offset 13")


def test_control_file_off_the_contract(tmp_path, register):
    deliver(tmp_path, register, "T001", DAY1, t001_rows("3300"))
    delivery = _delivery(tmp_path, "T001", DAY1)
    delivery.chk_path.write_text("system=ERP\nsystem=YX\n", encoding="utf-8")
    refusal = _refusal(read_control, delivery)
    assert str(refusal) == ("ERP_T001_20261026.chk: chk_format: expected a control file per the contract, "
                            "found ERP_T001_20261026.chk line 2: key 'system' given twice")


def _checked(tmp_path, register, code="T001", edit=None, rename_chk=None, folder=DAY1):
    """check_control on a good delivery whose control text `edit` changed."""
    rows = {"T001": t001_rows("3300", "3301"), "A_RCVBL_FLOW": yx_rows(2)}[code]
    system = "YX" if code == "A_RCVBL_FLOW" else "ERP"
    deliver(tmp_path, register, code, DAY1, rows, rows_per_file=1)
    chk = tmp_path / DAY1 / f"{system}_{code}_{DAY1}.chk"
    if edit:
        chk.write_text(edit(chk.read_text(encoding="utf-8")), encoding="utf-8")
    if rename_chk:
        chk = chk.rename(chk.with_name(rename_chk))
    if folder != DAY1:
        (tmp_path / DAY1).rename(tmp_path / folder)
        chk = tmp_path / folder / chk.name
    delivery = Delivery(chk_path=chk, system=system, table=code, biz_date=folder)
    return _refusal(check_control, delivery, parse_control(chk.read_text(encoding="utf-8")), register)


@pytest.mark.parametrize(("name", "found"), [
    ("ERP_T001_20261026.CHK.chk", "ERP_T001_20261026.CHK.chk"),
    ("ERP-T001-20261026.chk", "ERP-T001-20261026.chk"),
    ("ERP_T001_2026102.chk", "ERP_T001_2026102.chk"),
])
def test_control_file_name_off_the_pattern(tmp_path, register, name, found):
    refusal = _checked(tmp_path, register, rename_chk=name)
    assert (refusal.file, refusal.rule, refusal.expected, refusal.found) == (
        name, "chk_name", "<SYS>_<TABLE>_<YYYYMMDD>.chk", found)


@pytest.mark.parametrize(("name", "declared"), [
    ("YX_T001_20261026.chk", "ERP/T001/20261026"),       # system
    ("ERP_KNA1_20261026.chk", "ERP/T001/20261026"),      # table
    ("ERP_T001_20261025.chk", "ERP/T001/20261026"),      # business date
])
def test_control_file_name_disagrees_with_its_content(tmp_path, register, name, declared):
    refusal = _checked(tmp_path, register, rename_chk=name)
    named = "/".join(name.removesuffix(".chk").split("_"))
    assert (refusal.file, refusal.rule, refusal.expected, refusal.found) == (
        name, "chk_name", f"system/table/biz_date {named} as in the name", declared)


def test_control_file_in_another_date_folder(tmp_path, register):
    refusal = _checked(tmp_path, register, folder="20261027")
    assert str(refusal) == ("ERP_T001_20261026.chk: biz_date_folder: "
                            "expected folder 20261026, found folder 20261027")


def test_table_not_in_the_register(tmp_path, register):
    refusal = _checked(tmp_path, register, code="A_RCVBL_FLOW", rename_chk="ERP_A_RCVBL_FLOW_20261026.chk",
                       edit=lambda t: t.replace("system=YX", "system=ERP"))
    assert str(refusal) == ("ERP_A_RCVBL_FLOW_20261026.chk: unknown_table: "
                            "expected a table of the register (回流表清单), found ERP.A_RCVBL_FLOW")


def test_mode_differs_from_the_register(tmp_path, register):
    refusal = _checked(tmp_path, register, code="A_RCVBL_FLOW", edit=lambda t: t.replace("INCR", "FULL"))
    assert str(refusal) == "YX_A_RCVBL_FLOW_20261026.chk: mode: expected INCR, found FULL"


def test_columns_in_another_order(tmp_path, register):
    refusal = _checked(tmp_path, register, edit=lambda t: t.replace("BUTXT,ORT01", "ORT01,BUTXT"))
    assert str(refusal) == ("ERP_T001_20261026.chk: columns: expected MANDT,BUKRS,BUTXT,ORT01,LAND1,WAERS,KTOPL, "
                            "found MANDT,BUKRS,ORT01,BUTXT,LAND1,WAERS,KTOPL (same columns in another order)")


@pytest.mark.parametrize("listed", ["ERP_T001_20261026_01.csv", "ERP_T001_20261026_001.csv.zip",
                                    "YX_T001_20261026_001.csv", "ERP_T002_20261026_001.csv",
                                    "ERP_T001_20261027_001.csv"])
def test_listed_file_name_off_the_contract(tmp_path, register, listed):
    refusal = _checked(tmp_path, register, edit=lambda t: t.replace("ERP_T001_20261026_002.csv|", f"{listed}|"))
    assert (refusal.file, refusal.rule, refusal.expected, refusal.found) == (
        listed, "file_name", "ERP_T001_20261026_NNN.csv[.gz]", listed)


@pytest.mark.parametrize(("old", "new", "found"), [
    ("_002.csv|", "_003.csv|", "001,003"),     # a gap
    ("_001.csv|", "_003.csv|", "002,003"),     # not from 001 (003 listed before 002)
    ("_002.csv|", "_001.csv.gz|", "001,001"),  # one part number twice
])
def test_parts_are_numbered_from_001_without_gaps(tmp_path, register, old, new, found):
    refusal = _checked(tmp_path, register, edit=lambda text: text.replace(old, new))
    assert (refusal.file, refusal.rule, refusal.expected, refusal.found) == (
        "ERP_T001_20261026.chk", "file_parts", "parts 001..002", found)


def test_listed_file_missing_is_named(tmp_path, register):
    deliver(tmp_path, register, "T001", DAY1, t001_rows("3300", "3301"), rows_per_file=1)
    (tmp_path / DAY1 / "ERP_T001_20261026_002.csv").unlink()
    delivery = _delivery(tmp_path, "T001", DAY1)
    refusal = _refusal(check_control, delivery, read_control(delivery), register)
    assert str(refusal) == ("ERP_T001_20261026_002.csv: file_missing: "
                            "expected the file listed in ERP_T001_20261026.chk, found no such file")


def test_a_folder_where_a_listed_file_should_be_is_missing_too(tmp_path, register):
    deliver(tmp_path, register, "T001", DAY1, t001_rows("3300"))
    (tmp_path / DAY1 / "ERP_T001_20261026_001.csv").unlink()
    (tmp_path / DAY1 / "ERP_T001_20261026_001.csv").mkdir()
    delivery = _delivery(tmp_path, "T001", DAY1)
    assert _refusal(check_control, delivery, read_control(delivery), register).rule == "file_missing"


def test_unlisted_data_file_is_named(tmp_path, register):
    deliver(tmp_path, register, "T001", DAY1, t001_rows("3300"))
    (tmp_path / DAY1 / "ERP_T001_20261026_002.csv.gz").write_bytes(b"")
    delivery = _delivery(tmp_path, "T001", DAY1)
    refusal = _refusal(check_control, delivery, read_control(delivery), register)
    assert str(refusal) == ("ERP_T001_20261026_002.csv.gz: file_unlisted: "
                            "expected only the files listed in ERP_T001_20261026.chk, found an extra data file")


# --- one data file (filecheck.py) ------------------------------------------------------------

COLUMNS = ["A", "B"]


def _file(folder: Path, name: str, data: bytes, compress: bool = False, rows: int = 0) -> FileEntry:
    raw = gzip.compress(data, mtime=0) if compress else data
    (folder / name).write_bytes(raw)
    return FileEntry(name=name, rows=rows, bytes=len(raw), md5=hashlib.md5(raw).hexdigest())


@pytest.fixture
def work(tmp_path) -> tuple[Path, Path]:
    folder, workdir = tmp_path / "in", tmp_path / "work"
    folder.mkdir()
    workdir.mkdir()
    return folder, workdir


def test_utf8_file_is_read_where_it_lies(work):
    folder, workdir = work
    entry = _file(folder, "YX_T_20261026_001.csv", "\ufeffA,B\r\n甲,1\r\n".encode())  # with a BOM
    ready = prepare_file(folder, entry, "UTF-8", COLUMNS, workdir)
    assert ready == ReadyFile(entry=entry, source=folder / entry.name, readable=folder / entry.name)
    assert list(workdir.iterdir()) == []


def test_gbk_file_gets_a_utf8_copy(work):
    folder, workdir = work
    text = "A,B\r\n杭州供电公司,1\r\n宁波,2"  # no newline at the end
    entry = _file(folder, "ERP_T_20261026_001.csv.gz", text.encode("gbk"), compress=True)
    ready = prepare_file(folder, entry, "GBK", COLUMNS, workdir)
    assert ready.source == folder / entry.name
    assert ready.readable == workdir / "ERP_T_20261026_001.csv"
    assert ready.readable.read_bytes() == text.encode("utf-8")


def test_the_utf8_copy_does_not_depend_on_the_machines_locale(work):
    folder, workdir = work
    text = "A,B\r\n杭州供电公司,1\r\n"
    entry = _file(folder, "ERP_T_20261026_001.csv", text.encode("gbk"))
    previous = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")  # files opened without an encoding would be ASCII
    try:
        ready = prepare_file(folder, entry, "GBK", COLUMNS, workdir)
    finally:
        locale.setlocale(locale.LC_CTYPE, previous)
    assert ready.readable.read_bytes() == text.encode("utf-8")


def _big_gbk(bad_at: int | None = None) -> bytes:
    """Over two CHUNKs of GBK text, whose character 中 (D6 D0) straddles the first chunk boundary;
    `bad_at` puts the undecodable bytes 81 20 there instead of a line's first two bytes."""
    line = "x,中\r\n".encode("gbk")
    assert len(line) == 6
    data = b"A,B\r\n" + line * ((CHUNK - 1 - 5) // 6)
    data += b"y" * (CHUNK - 1 - len(data)) + "中,1\r\n".encode("gbk") + line * 200_000
    assert data[CHUNK - 1:CHUNK + 1] == b"\xd6\xd0"
    if bad_at is not None:
        data = data[:bad_at] + b"\x81\x20" + data[bad_at + 2:]
    return data


def test_a_character_split_between_chunks_is_decoded(work):
    folder, workdir = work
    data = _big_gbk()
    entry = _file(folder, "ERP_T_20261026_001.csv", data)
    ready = prepare_file(folder, entry, "GBK", COLUMNS, workdir)
    assert ready.readable.read_bytes() == data.decode("gbk").encode("utf-8")


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("bad_at", [
    5 + 6 * 10,             # line 12, in the first chunk: the rest of the file is still measured
    CHUNK + 5 + 6 * 1000,   # the first bytes of the 1001st line after the one split between chunks
    CHUNK + 5 + 6 * ((CHUNK - 5) // 6 + 10),  # a line's first bytes in the third chunk
])
def test_undecodable_bytes_are_pinpointed(work, compress, bad_at):
    folder, workdir = work
    data = _big_gbk(bad_at)
    line = data[:bad_at].count(b"\n") + 1
    entry = _file(folder, "ERP_T_20261026_001.csv" + (".gz" if compress else ""), data, compress=compress)
    refusal = _refusal(prepare_file, folder, entry, "GBK", COLUMNS, workdir)
    assert (refusal.file, refusal.rule, refusal.expected, refusal.found) == (
        entry.name, "encoding", "GBK text", f"undecodable bytes 81 20 at byte offset {bad_at}, line {line}")


def test_a_truncated_character_at_the_end_is_undecodable(work):
    folder, workdir = work
    data = "A,B\r\n中,1\r\n".encode("gbk") + b"\xd6"  # first byte of a two-byte character, then the end
    entry = _file(folder, "ERP_T_20261026_001.csv", data)
    refusal = _refusal(prepare_file, folder, entry, "GBK", COLUMNS, workdir)
    assert (refusal.file, refusal.rule, refusal.expected, refusal.found) == (
        "ERP_T_20261026_001.csv", "encoding", "GBK text", f"undecodable bytes d6 at byte offset {len(data) - 1}, line 3")


def test_gzip_members_one_after_another_are_one_file(work):
    folder, workdir = work
    raw = gzip.compress("A,B\r\n甲,1\r\n".encode("gbk"), mtime=0) + gzip.compress("乙,2\r\n".encode("gbk"), mtime=0)
    (folder / "ERP_T_20261026_001.csv.gz").write_bytes(raw)
    entry = FileEntry("ERP_T_20261026_001.csv.gz", 2, len(raw), hashlib.md5(raw).hexdigest())
    ready = prepare_file(folder, entry, "GBK", COLUMNS, workdir)
    assert ready.readable.read_bytes() == "A,B\r\n甲,1\r\n乙,2\r\n".encode()


def test_corrupt_gzip_data_is_refused(work):
    folder, workdir = work
    raw = bytearray(gzip.compress(("A,B\r\n" + "甲,1\r\n" * 50).encode("gbk"), mtime=0))
    raw[12:16] = b"\xff\xff\xff\xff"  # inside the deflate data, checksums of the file still right
    (folder / "ERP_T_20261026_001.csv.gz").write_bytes(bytes(raw))
    entry = FileEntry("ERP_T_20261026_001.csv.gz", 50, len(raw), hashlib.md5(bytes(raw)).hexdigest())
    refusal = _refusal(prepare_file, folder, entry, "GBK", COLUMNS, workdir)
    assert (refusal.file, refusal.rule, refusal.expected) == (entry.name, "gzip", "a valid gzip stream")
    assert refusal.found.startswith("corrupt data (Error -3 while decompressing data: ")


def test_damaged_file_is_reported_by_its_md5_first(work):
    folder, workdir = work
    entry = _file(folder, "ERP_T_20261026_001.csv.gz", "A,B\r\n甲,1\r\n".encode("gbk"), compress=True)
    raw = (folder / entry.name).read_bytes()
    damaged = raw[:10] + bytes([raw[10] ^ 0xFF]) + raw[11:]  # same size: gunzip fails too
    (folder / entry.name).write_bytes(damaged)
    refusal = _refusal(prepare_file, folder, entry, "GBK", COLUMNS, workdir)
    assert (refusal.file, refusal.rule, refusal.expected, refusal.found) == (
        entry.name, "md5", entry.md5, hashlib.md5(damaged).hexdigest())


def test_byte_count_before_md5(work):
    folder, workdir = work
    entry = _file(folder, "ERP_T_20261026_001.csv", b"A,B\r\n")
    (folder / entry.name).write_bytes(b"A,B\r\n1,2\r\n")
    refusal = _refusal(prepare_file, folder, entry, "GBK", COLUMNS, workdir)
    assert (refusal.file, refusal.rule, refusal.expected, refusal.found) == (entry.name, "bytes", 5, 10)


def test_a_header_that_is_no_csv_line_is_refused_as_unreadable(work):
    folder, workdir = work
    entry = _file(folder, "ERP_T_20261026_001.csv", "A,B\rX\r\n甲,1\r\n".encode("gbk"))  # a CR inside the header
    refusal = _refusal(prepare_file, folder, entry, "GBK", COLUMNS, workdir)
    assert (refusal.file, refusal.rule, refusal.expected, refusal.found) == (
        entry.name, "header", "A,B",
        "unreadable header: new-line character seen in unquoted field - do you need to open the file in "
        "universal-newline mode?")


@pytest.mark.parametrize(("header", "found", "detail"), [
    (b"B,A\r\n", "B,A", "same columns in another order"),
    (b"A\r\n", "A", "missing ['B'], unexpected []"),
    (b"A,B,C\n", "A,B,C", "missing [], unexpected ['C']"),
    (b'"A","B "\r\n', "A,B ", "missing ['B'], unexpected ['B ']"),
    (b"", "(empty file)", "missing ['A', 'B'], unexpected []"),
    (b"A,B \r\n", "A,B ", "missing ['B'], unexpected ['B ']"),    # a trailing blank is not the column
    (b"XA,B\r\n", "XA,B", "missing ['A'], unexpected ['XA']"),
    (b'"A\r\nX",B\r\n', "A", "missing ['B'], unexpected []"),  # the header is the first line only
])
def test_header_must_be_the_registers_columns(work, header, found, detail):
    folder, workdir = work
    entry = _file(folder, "ERP_T_20261026_001.csv", header + (b"1,2\r\n" if header else b""))
    refusal = _refusal(prepare_file, folder, entry, "GBK", COLUMNS, workdir)
    assert (refusal.rule, refusal.expected, refusal.found, refusal.detail) == ("header", "A,B", found, detail)
    assert str(refusal) == f"ERP_T_20261026_001.csv: header: expected A,B, found {found} ({detail})"


def test_header_is_the_first_line_of_a_file_over_one_chunk(work):
    folder, workdir = work
    entry = _file(folder, "ERP_T_20261026_001.csv", b'"A\r\nX",B\r\n' + b"1,2\r\n" * (CHUNK // 5 + 10))
    refusal = _refusal(prepare_file, folder, entry, "GBK", COLUMNS, workdir)
    assert (refusal.rule, refusal.found, refusal.detail) == ("header", "A", "missing ['B'], unexpected []")


def test_header_without_a_line_end(work):
    folder, workdir = work
    entry = _file(folder, "ERP_T_20261026_001.csv", b"A,B")
    assert prepare_file(folder, entry, "UTF-8", COLUMNS, workdir).readable == folder / entry.name


def test_refusal_text_and_its_trip_between_processes():
    refusal = Refusal("f.csv", "rows", 4, 3)
    assert str(refusal) == refusal.reason == "f.csv: rows: expected 4, found 3"
    detailed = Refusal("f.chk", "columns", "A,B", "B,A", "same columns in another order")
    back = pickle.loads(pickle.dumps(detailed))
    assert (back.file, back.rule, back.expected, back.found, back.detail) == (
        "f.chk", "columns", "A,B", "B,A", "same columns in another order")
    assert back.reason == "f.chk: columns: expected A,B, found B,A (same columns in another order)"


def test_column_diff():
    assert column_diff(["A", "B", "C"], ["C", "A", "B"]) == "same columns in another order"
    assert column_diff(["A", "B", "C"], ["A", "D", "C", "E"]) == "missing ['B'], unexpected ['D', 'E']"


def test_files_checked_in_this_process_report_the_first_failure_in_delivery_order(work):
    folder, workdir = work
    good = _file(folder, "ERP_T_20261026_001.csv", b"A,B\r\n")
    bad2 = _file(folder, "ERP_T_20261026_002.csv", b"B,A\r\n")
    bad3 = _file(folder, "ERP_T_20261026_003.csv", b"A,B\r\n")
    (folder / bad3.name).write_bytes(b"A,B\r\n\r\n")
    control = parse_control("system=ERP\ntable=T\nbiz_date=20261026\nmode=INCR\nencoding=UTF-8\ncolumns=A,B\n"
                            + "".join(f"file={e.name}|rows=0|bytes={e.bytes}|md5={e.md5}\n"
                                      for e in (good, bad2, bad3)))
    futures = start_files(folder, control, COLUMNS, workdir, pool=None)
    assert [type(f) for f in futures] == [Future] * 3 and all(f.done() for f in futures)
    assert futures[0].result().entry == good
    assert futures[2].exception().rule == "bytes"
    refusal = _refusal(collect_files, futures)
    assert (refusal.file, refusal.rule) == ("ERP_T_20261026_002.csv", "header")
    assert collect_files(futures[:1]) == [ReadyFile(good, folder / good.name, folder / good.name)]


@pytest.mark.parametrize(("encoding", "compress"), [("UTF-8", False), ("GBK", True)])
def test_a_carriage_return_outside_quotes_is_refused_naming_its_line(work, encoding, compress):
    folder, workdir = work
    entry = _file(folder, "ERP_T_20261026_001.csv" + (".gz" if compress else ""),
                  'A,B\r\n甲,"1\r2"\r\n乙,3\r4\r\n'.encode(encoding.lower()), compress=compress)
    with pytest.raises(Refusal) as caught:
        prepare_file(folder, entry, encoding, COLUMNS, workdir)
    refusal = caught.value
    assert (refusal.file, refusal.rule, refusal.expected, refusal.found, refusal.detail) == (
        entry.name, "csv", "RFC 4180 CSV (a field with a line break is quoted)",
        "a carriage return outside quotes on line 3", "")


def test_a_carriage_return_inside_quotes_is_data(work):
    folder, workdir = work
    entry = _file(folder, "YX_T_20261026_001.csv", 'A,B\r\n甲,"1\r2"\r\n乙,"3\r"\r\n'.encode())
    ready = prepare_file(folder, entry, "UTF-8", COLUMNS, workdir)
    assert ready.readable == folder / entry.name


def _carriage_returns(*chunks: str) -> int | None:
    """The line _CarriageReturns refuses for text streamed in these chunks, or None when it accepts it."""
    check = _CarriageReturns("ERP_T_20261026_001.csv")
    try:
        for chunk in chunks:
            check.feed(chunk)
        check.close()
    except Refusal as refusal:
        assert (refusal.file, refusal.rule) == ("ERP_T_20261026_001.csv", "csv")
        found = re.fullmatch(r"a carriage return outside quotes on line (\d+)", refusal.found)
        assert found, refusal.found
        return int(found[1])
    return None


@pytest.mark.parametrize(("chunks", "line"), [
    (["A,B\r\n甲,1\r\n乙,2\r\n"], None),                       # CRLF line ends only
    (["A,B\r\n甲,1\r\n乙,3\r4\r\n"], 3),                       # a lone CR in one chunk
    (['A,B\r\n"x",1\r2\r\n'], 2),                              # two quotes before it: outside again
    (['A,B\r\n"x\r",1\r\n'], None),                             # inside quotes: data
    (['A,B\r\n甲,1\r2\r\n乙,"x\n', 'y"\r\n'], 2),               # a quote opened after it does not count
    (['A,B\r\n甲,"x\n', '"\r\n乙,1\r2\r\n'], 4),                # the quote that closes a field in the next chunk
    (['A,B\r\n甲,"x\n', 'y"\r\n乙,1\r2\r\n'], 4),
    (['A,B\r\n甲,"x\n', 'y\n', 'z"\r\n乙,1\r2\r\n'], 5),            # parity carried over two chunks
    (["A,B\r", "\n甲,1\r2\r\n"], 2),                           # a chunk that starts with the LF of a CRLF
    (["A,B\r\n甲,1\r", "2\r\n"], 2),                           # a CR that ends a chunk, no LF after it
    (["A,B\r\n甲,1\r", "\n乙,2\r\n"], None),                   # … with the LF at the start of the next chunk
    (["A,B\r\n甲,1\r"], 2),                                    # a CR that ends the file
    (['A,B\r\n甲,"1\r'], None),                                # … inside an open quote (DuckDB refuses the quote)
    (["A\rB,C\r\n甲,1\r\n"], None),                            # in the header: its own check names it
])
def test_a_lone_carriage_return_across_chunks(chunks, line):
    assert _carriage_returns(*chunks) == line


@pytest.mark.parametrize(("encoding", "compress"), [("UTF-8", False), ("GBK", True)])
def test_a_nul_byte_is_refused_naming_the_first_line_that_holds_one(work, encoding, compress):
    folder, workdir = work
    text = "A,B\r\n甲,1\r\n乙,2\x00\r\n丙,\x00\r\n"
    entry = _file(folder, "ERP_T_20261026_001.csv" + (".gz" if compress else ""), text.encode(encoding.lower()),
                  compress=compress)
    with pytest.raises(Refusal) as caught:
        prepare_file(folder, entry, encoding, COLUMNS, workdir)
    refusal = caught.value
    assert (refusal.file, refusal.rule, refusal.expected, refusal.found) == (
        entry.name, "encoding", f"{encoding} text", "a NUL byte on line 3")


def test_a_nul_byte_past_the_first_chunk_counts_the_lines_before_it(work):
    folder, workdir = work
    data = _big_gbk()
    at = data.index(b"\r\n", CHUNK + 100) + 2  # the start of a line in the second chunk
    entry = _file(folder, "ERP_T_20261026_001.csv", data[:at] + b"\x00" + data[at + 1:])
    with pytest.raises(Refusal) as caught:
        prepare_file(folder, entry, "GBK", COLUMNS, workdir)
    line = data[:at].count(b"\n") + 1
    assert caught.value.found == f"a NUL byte on line {line}"


def test_a_nul_byte_right_after_a_chunk_that_ends_inside_a_line_break(work):
    folder, workdir = work
    head = b"A,B\r\n"
    filler = b"x," + b"1" * (CHUNK + 1 - len(head) - 4) + b"\r\n"
    data = head + filler + b"y,\x00\r\n"
    assert data[CHUNK - 1:CHUNK + 1] == b"\r\n"  # the second chunk starts with the LF of line 2
    entry = _file(folder, "YX_T_20261026_001.csv", data)
    with pytest.raises(Refusal) as caught:
        prepare_file(folder, entry, "UTF-8", COLUMNS, workdir)
    assert caught.value.found == "a NUL byte on line 3"


def test_a_first_line_that_does_not_end_in_the_first_chunk_is_judged_on_that_chunk(work):
    """The header check holds at most the first chunk of a file whose first line never seems to end
    (a binary file, a file without line breaks): that chunk is reported as the header found."""
    folder, workdir = work
    data = b"A,B" + b",x" * CHUNK + b"\r\n1,2\r\n"  # a first line of 2 MiB
    entry = _file(folder, "YX_T_20261026_001.csv", data)
    with pytest.raises(Refusal) as caught:
        prepare_file(folder, entry, "UTF-8", COLUMNS, workdir)
    assert (caught.value.rule, caught.value.expected) == ("header", "A,B")
    assert caught.value.found == data[:CHUNK].decode()
