"""Writing one delivery exactly as the contract says: numbered CSV parts, then the `.chk` last."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from catalog.contract import ControlFile, FileEntry, control_file_name, data_file_name, format_control
from catalog.register import Table

_PY_CODEC = {"UTF-8": "utf-8", "GBK": "gbk"}


class _Sink(io.RawIOBase):
    """Counts and hashes the bytes on their way to the file."""

    def __init__(self, fh):
        self.fh, self.md5, self.size = fh, hashlib.md5(), 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.md5.update(b)
        self.size += len(b)
        return self.fh.write(b)


def _batches(rows: Iterable[Sequence[str]], size: int) -> Iterator[list[Sequence[str]]]:
    batch: list[Sequence[str]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_part(path: Path, header: list[str], rows: Iterable[Sequence[str]], codec: str, compress: bool) -> FileEntry:
    count = 0
    with path.open("wb") as fh:
        sink = _Sink(fh)
        raw = gzip.GzipFile(filename="", mode="wb", fileobj=sink, mtime=0) if compress else sink
        text = io.TextIOWrapper(raw, encoding=codec, newline="", write_through=True)
        writer = csv.writer(text, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
        text.flush()
        text.detach()
        if compress:
            raw.close()
    return FileEntry(name=path.name, rows=count, bytes=sink.size, md5=sink.md5.hexdigest())


def write_delivery(folder: Path, table: Table, biz_date: str, rows: Iterable[Sequence[str]],
                   rows_per_file: int = 50000, encoding: str | None = None) -> ControlFile:
    """Write a table's delivery of one business date; the control file is written last."""
    folder.mkdir(parents=True, exist_ok=True)
    encoding = encoding or table.encoding
    entries: list[FileEntry] = []
    for part, batch in enumerate(_batches(rows, rows_per_file), start=1):
        name = data_file_name(table.system, table.code, biz_date, part, table.compress)
        entries.append(_write_part(folder / name, table.column_names, batch, _PY_CODEC[encoding], table.compress))
    if not entries:
        name = data_file_name(table.system, table.code, biz_date, 1, table.compress)
        entries.append(_write_part(folder / name, table.column_names, [], _PY_CODEC[encoding], table.compress))
    control = ControlFile(system=table.system, table=table.code, biz_date=biz_date, mode=table.mode,
                          encoding=encoding, columns=tuple(table.column_names), files=tuple(entries))
    (folder / control_file_name(table.system, table.code, biz_date)).write_text(
        format_control(control), encoding="utf-8")
    return control
