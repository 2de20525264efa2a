"""A row with one field too many whose last field is empty: DuckDB's read_csv drops that field even
in strict mode, so the file check refuses it (pipelines.ingest.filecheck._EmptyFieldTooMany)."""

from __future__ import annotations

import pytest

from pipelines.ingest.filecheck import Refusal, _EmptyFieldTooMany

HEADER = "A,B,C\r\n"


def _check(*chunks: str, columns: int = 3) -> None:
    check = _EmptyFieldTooMany("f.csv", columns)
    for chunk in chunks:
        check.feed(chunk)
    check.close()


@pytest.mark.parametrize("text", [
    HEADER + "1,2,3\r\n4,5,\r\n",                   # an empty last field is a field
    HEADER + '1,"x,y",\r\n',                        # commas inside quotes are no delimiters
    HEADER + '1,"two\r\nlines,",3\r\n',             # a quoted line break, the line before ending in a comma
    HEADER + "1,2,3\r\n\r\n4,5,6\r\n",               # a blank line carries no record
    HEADER + "1,2\r\n",                             # too few fields: DuckDB's own refusal
    HEADER + "1,2,3,4\r\n",                         # too many, the last not empty: DuckDB's own refusal
    HEADER + "4,5,",                                # no line break at the end
])
def test_rows_with_their_fields_pass(text):
    _check(text)


@pytest.mark.parametrize(("chunks", "line", "fields"), [
    ((HEADER + "1,2,3\r\n4,5,6,\r\n",), 3, 4),
    ((HEADER + "1,2,3\n4,5,6,\n",), 3, 4),                     # LF line ends
    ((HEADER + "1,2,", "3,\r\n"), 2, 4),                       # split across chunks
    ((HEADER + '1,"a,b",3,\r\n',), 2, 4),                      # quotes on the line
    ((HEADER + "1,2,3\r\n4,5,6,",), 3, 4),                     # the last line, no line break
    ((HEADER + "1,2,3,,\r\n",), 2, 5),
])
def test_a_row_with_an_empty_field_too_many_is_refused_with_its_line(chunks, line, fields):
    with pytest.raises(Refusal) as refused:
        _check(*chunks)
    assert str(refused.value) == (f"f.csv: csv: expected RFC 4180 CSV with 3 columns, "
                                  f"found {fields} fields on line {line}, the last one empty")
