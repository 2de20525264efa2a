"""Control files and file names as the delivery contract defines them."""

from __future__ import annotations

import pytest

from catalog.contract import (
    CONTROL_FILE_RE,
    DATA_FILE_RE,
    ContractError,
    ControlFile,
    FileEntry,
    format_control,
    parse_control,
)

EXAMPLE = """\
# written by the headquarters extract
system=ERP
table=BSEG
biz_date=20250331
mode=INCR
encoding=GBK

columns=MANDT,BUKRS,BELNR,GJAHR,BUZEI
file=ERP_BSEG_20250331_001.csv.gz|rows=60000|bytes=1834512|md5=9e107d9d372bb6826bd81d3542a419d6
file=ERP_BSEG_20250331_002.csv.gz|rows=41234|bytes=1266001|md5=E4D909C290D0FB1CA068FFADDF22CBD0
"""


def test_parse_the_contract_example():
    c = parse_control(EXAMPLE)
    assert (c.system, c.table, c.biz_date, c.mode, c.encoding) == ("ERP", "BSEG", "20250331", "INCR", "GBK")
    assert c.columns == ("MANDT", "BUKRS", "BELNR", "GJAHR", "BUZEI")
    assert c.files[1] == FileEntry("ERP_BSEG_20250331_002.csv.gz", 41234, 1266001, "e4d909c290d0fb1ca068ffaddf22cbd0")
    assert c.rows == 101234
    assert str(c.business_date) == "2025-03-31"


def test_format_and_parse_round_trip():
    c = parse_control(EXAMPLE)
    assert parse_control(format_control(c)) == c


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (EXAMPLE.replace("mode=INCR\n", ""), "missing mode"),
        (EXAMPLE.replace("mode=INCR", "mode=DELTA"), "mode 'DELTA'"),
        (EXAMPLE.replace("encoding=GBK", "encoding=BIG5"), "encoding 'BIG5'"),
        (EXAMPLE.replace("biz_date=20250331", "biz_date=20250231"), "not a calendar date"),
        (EXAMPLE.replace("|md5=9e107d9d372bb6826bd81d3542a419d6", ""), "lacks md5"),
        (EXAMPLE.replace("rows=60000", "rows=six"), "not integers"),
        (EXAMPLE.replace("9e107d9d372bb6826bd81d3542a419d6", "xyz"), "not 32 hex digits"),
        (EXAMPLE + "table=BSID\n", "key 'table' given twice"),
        (EXAMPLE + "garbage line\n", "line 11: 'garbage line' is not key=value"),
        ("\n".join(line for line in EXAMPLE.splitlines() if not line.startswith("file=")), "no file= line"),
        (EXAMPLE.replace("columns=MANDT,BUKRS", "columns=MANDT,,BUKRS"), "empty name"),
    ],
)
def test_malformed_control_files_are_refused_with_the_line(text, message):
    with pytest.raises(ContractError, match=message):
        parse_control(text, source="x.chk")


def test_file_name_patterns():
    m = DATA_FILE_RE.match("YX_A_RCVBL_FLOW_20261026_002.csv")
    assert m and (m["system"], m["table"], m["biz_date"], m["part"], m["gz"]) == (
        "YX", "A_RCVBL_FLOW", "20261026", "002", None)
    assert DATA_FILE_RE.match("ERP_BSEG_20261026_001.csv.gz")["gz"] == ".gz"
    assert not DATA_FILE_RE.match("ERP_BSEG_20261026_1.csv")
    assert not DATA_FILE_RE.match("ERP_BSEG_20261026_001.txt")
    m = CONTROL_FILE_RE.match("YX_A_RCVBL_FLOW_20261026.chk")
    assert m and m["table"] == "A_RCVBL_FLOW"


def test_control_file_dataclass_totals():
    c = ControlFile("YX", "A_RCVBL_FLOW", "20261026", "INCR", "UTF-8", ("A",),
                    (FileEntry("f1", 3, 10, "0" * 32), FileEntry("f2", 4, 10, "0" * 32)))
    assert c.rows == 7
