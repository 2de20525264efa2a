"""Writing one delivery exactly as the contract says: numbered CSV parts, then the `.chk` last.

Rows stream through: each part is encoded and (optionally) gzip-compressed as it is written, and
its byte count and md5 are taken on the way to disk. Gzip output has no name and mtime 0, so the
same rows always give the same bytes.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from catalog.contract import (
    CONTROL_FILE_RE,
    DATA_FILE_RE,
    ControlFile,
    FileEntry,
    control_file_name,
    data_file_name,
    format_control,
    parse_biz_date,
)
from catalog.register import Table

_PY_CODEC = {"UTF-8": "utf-8", "GBK": "gbk"}
_FLUSH_ROWS = 2000  # rows buffered as text before they are encoded and written
GZIP_LEVEL = 6  # level 9 is twice as slow for a few percent


class _Sink:
    """Counts and hashes the bytes on their way to the file."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh, self.md5, self.size = fh, hashlib.md5(), 0

    def write(self, data: bytes) -> int:
        self.md5.update(data)
        self.size += len(data)
        return self.fh.write(data)

    def flush(self) -> None:
        self.fh.flush()


class _Part:
    """One data file being written."""

    def __init__(self, path: Path, header: Sequence[str], codec: str, compress: bool) -> None:
        self.path, self.rows = path, 0
        self._fh = path.open("wb")
        self._sink = _Sink(self._fh)
        self._out: gzip.GzipFile | _Sink = (
            gzip.GzipFile(filename="", mode="wb", fileobj=self._sink, compresslevel=GZIP_LEVEL, mtime=0)
            if compress else self._sink
        )
        self._encoder = codecs.getincrementalencoder(codec)("strict")
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        self._csv.writerow(header)

    def write(self, row: Sequence[str]) -> None:
        self._csv.writerow(row)
        self.rows += 1
        if self.rows % _FLUSH_ROWS == 0:
            self._flush()

    def _flush(self, final: bool = False) -> None:
        text = self._text.getvalue()
        self._text.seek(0)
        self._text.truncate()
        try:
            data = self._encoder.encode(text, final)
        except UnicodeEncodeError as exc:
            bad = exc.object[max(0, exc.start - 20):exc.end + 20]
            raise ValueError(f"{self.path.name}: {exc.object[exc.start:exc.end]!r} cannot be written in "
                             f"{exc.encoding} (near {bad!r})") from None
        if data:
            self._out.write(data)

    def close(self) -> FileEntry:
        self._flush(final=True)
        if self._out is not self._sink:
            self._out.close()
        self._fh.close()
        return FileEntry(name=self.path.name, rows=self.rows, bytes=self._sink.size, md5=self._sink.md5.hexdigest())


def _remove_previous(folder: Path, table: Table, biz_date: str) -> None:
    """A delivery written again replaces the earlier one: control file first, then its data files."""
    chk = folder / control_file_name(table.system, table.code, biz_date)
    chk.unlink(missing_ok=True)
    for path in folder.iterdir():
        m = DATA_FILE_RE.match(path.name)
        if m and (m["system"], m["table"], m["biz_date"]) == (table.system, table.code, biz_date):
            path.unlink()


def write_delivery(folder: Path, table: Table, biz_date: str, rows: Iterable[Sequence[str]],
                   rows_per_file: int = 50000, encoding: str | None = None) -> ControlFile:
    """Write a table's delivery of one business date; the control file is written last.

    Rows are sequences of strings in register column order, written as given (tests build
    malformed deliveries with it). `encoding` overrides the table's encoding; the control file
    states the encoding actually used.
    """
    if rows_per_file < 1:
        raise ValueError("rows_per_file must be at least 1")
    parse_biz_date(biz_date)
    folder.mkdir(parents=True, exist_ok=True)
    _remove_previous(folder, table, biz_date)
    encoding = encoding or table.encoding
    codec = _PY_CODEC.get(encoding.upper(), encoding)
    header = table.column_names
    entries: list[FileEntry] = []
    part: _Part | None = None
    for row in rows:
        if part is None or part.rows == rows_per_file:
            if part is not None:
                entries.append(part.close())
            name = data_file_name(table.system, table.code, biz_date, len(entries) + 1, table.compress)
            part = _Part(folder / name, header, codec, table.compress)
        part.write(row)
    if part is None:  # no rows: still one file, with the header only
        part = _Part(folder / data_file_name(table.system, table.code, biz_date, 1, table.compress), header,
                     codec, table.compress)
    entries.append(part.close())
    control = ControlFile(system=table.system, table=table.code, biz_date=biz_date, mode=table.mode,
                          encoding=encoding, columns=tuple(header), files=tuple(entries))
    write_control(folder, control)
    return control


def write_control(folder: Path, control: ControlFile) -> Path:
    """Write (or rewrite) a `.chk` atomically: readers see the old one or the new one, never half."""
    path = folder / control_file_name(control.system, control.table, control.biz_date)
    assert CONTROL_FILE_RE.match(path.name)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(format_control(control).encode("utf-8"))
    os.replace(tmp, path)
    return path
