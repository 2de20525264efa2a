"""Checking one data file against its control-file entry, in one streaming pass.

The pass measures bytes and md5, gunzips, decodes strictly in the declared encoding (an
undecodable byte is reported by file and offset), compares the header with the register and,
for GBK files, writes a UTF-8 copy for DuckDB. It runs on worker processes, so this module
imports nothing heavy.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import zlib
from collections.abc import Iterator
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass
from pathlib import Path

from catalog.contract import ControlFile, FileEntry

CHUNK = 1 << 20
_PY_CODEC = {"UTF-8": "utf-8", "GBK": "gbk"}


class Refusal(Exception):
    """A delivery broke a rule of the contract: the message names file, rule, expected and found."""

    def __init__(self, file: str, rule: str, expected: object, found: object, detail: str = ""):
        self.file, self.rule, self.expected, self.found, self.detail = file, rule, expected, found, detail
        text = f"{file}: {rule}: expected {expected}, found {found}"
        super().__init__(f"{text} ({detail})" if detail else text)

    def __reduce__(self):  # travels back from the worker processes that check files
        return (Refusal, (self.file, self.rule, self.expected, self.found, self.detail))

    @property
    def reason(self) -> str:
        return str(self)


@dataclass(frozen=True)
class ReadyFile:
    """A verified data file and the path DuckDB reads it from (a UTF-8 copy for GBK files)."""

    entry: FileEntry
    source: Path
    readable: Path


def start_files(folder: Path, control: ControlFile, columns: list[str], workdir: Path,
                pool: Executor | None) -> list[Future[ReadyFile]]:
    """Start checking every data file of a delivery, on the pool's worker processes if given."""
    futures: list[Future[ReadyFile]] = []
    for entry in control.files:
        args = (folder, entry, control.encoding, columns, workdir)
        if pool is not None:
            futures.append(pool.submit(prepare_file, *args))
            continue
        done: Future[ReadyFile] = Future()
        try:
            done.set_result(prepare_file(*args))
        except Refusal as exc:
            done.set_exception(exc)
        futures.append(done)
    return futures


def collect_files(futures: list[Future[ReadyFile]]) -> list[ReadyFile]:
    """Wait for all checks; the first failing file in delivery order is the one reported."""
    wait(futures)
    return [f.result() for f in futures]


def _raw_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


class _Gunzip:
    """Streaming gunzip that also accepts concatenated gzip members."""

    def __init__(self, name: str):
        self.name = name
        self._d = zlib.decompressobj(zlib.MAX_WBITS | 16)

    def feed(self, data: bytes) -> bytes:
        out = []
        while data:
            try:
                out.append(self._d.decompress(data))
            except zlib.error as exc:
                raise Refusal(self.name, "gzip", "a valid gzip stream", f"corrupt data ({exc})") from None
            data = self._d.unused_data
            if data:
                self._d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        return b"".join(out)

    def close(self) -> None:
        if not self._d.eof:
            raise Refusal(self.name, "gzip", "a complete gzip stream", "a truncated stream")


def prepare_file(
    folder: Path, entry: FileEntry, encoding: str, columns: list[str], workdir: Path
) -> ReadyFile:
    """One streaming pass over a data file: bytes, md5, gunzip, decode, header, UTF-8 copy.

    DuckDB reads UTF-8 files (plain or gzip) directly, so only GBK files are written out again.
    """
    source = folder / entry.name
    gz = entry.name.endswith(".gz")
    transcode = encoding != "UTF-8"
    gunzip = _Gunzip(entry.name) if gz else None
    decoder = codecs.getincrementaldecoder(_PY_CODEC[encoding])(errors="strict")
    md5, size, fed, newlines = hashlib.md5(), 0, 0, 0
    header: str | None = None
    head_buf = ""
    target = workdir / (entry.name.removesuffix(".gz")) if transcode else source
    out = target.open("w", encoding="utf-8", newline="") if transcode else None
    problem: Refusal | None = None  # a damaged file is reported by its md5, the root cause
    returns = _CarriageReturns(entry.name)
    extra = _EmptyFieldTooMany(entry.name, len(columns))
    try:
        for raw in _raw_chunks(source):
            md5.update(raw)
            size += len(raw)
            if problem:
                continue
            try:
                data = gunzip.feed(raw) if gunzip else raw
                text = _decode(decoder, data, fed, newlines, entry.name, encoding)
                returns.feed(text)
                extra.feed(text)
            except Refusal as exc:
                problem = exc
                continue
            fed += len(data)
            newlines += text.count("\n")
            if header is None:
                head_buf += text
                if "\n" in head_buf or len(head_buf) > 1 << 16:
                    header = head_buf.split("\n", 1)[0]
            if out:
                out.write(text)
        if not problem:
            try:
                if gunzip:
                    gunzip.close()
                tail = _decode(decoder, b"", fed, newlines, entry.name, encoding, final=True)
                returns.feed(tail)
                returns.close()
                extra.feed(tail)
                extra.close()
            except Refusal as exc:
                problem = exc
            else:
                if out:
                    out.write(tail)
                if header is None:
                    header = (head_buf + tail).split("\n", 1)[0]
    finally:
        if out:
            out.close()
    if size != entry.bytes:
        raise Refusal(entry.name, "bytes", entry.bytes, size)
    if md5.hexdigest() != entry.md5:
        raise Refusal(entry.name, "md5", entry.md5, md5.hexdigest())
    if problem:
        raise problem
    assert header is not None
    try:
        found = next(csv.reader(io.StringIO(header.lstrip("\ufeff").rstrip("\r"))), [])
    except csv.Error as exc:  # e.g. a carriage return inside a header field: not a CSV header at all
        raise Refusal(entry.name, "header", ",".join(columns), f"unreadable header: {exc}") from None
    if found != columns:
        raise Refusal(entry.name, "header", ",".join(columns), ",".join(found) or "(empty file)",
                      column_diff(columns, found))
    return ReadyFile(entry=entry, source=source, readable=target)


class _CarriageReturns:
    """A carriage return that ends no line (no line feed after it) outside quotes: RFC 4180 quotes
    a field with a line break, and DuckDB would load the CR into the field's value. Only a chunk
    with such a CR is searched; quotes are counted as the text streams by (parity: inside or not)."""

    _LONE = re.compile(r"\r(?!\n)")

    def __init__(self, name: str) -> None:
        self.name, self.quotes, self.line = name, 0, 1
        self.pending: tuple[int, int] | None = None  # (quote parity, line) of a CR ending the last chunk

    def feed(self, text: str) -> None:
        if self.pending is not None:
            parity, line = self.pending
            self.pending = None
            if text and not text.startswith("\n") and parity == 0:
                self._refuse(line)
        crs = text.count("\r")
        if crs and crs != text.count("\r\n"):
            for match in self._LONE.finditer(text):
                at = match.start()
                parity = (self.quotes + text.count('"', 0, at)) % 2
                line = self.line + text.count("\n", 0, at)
                if at == len(text) - 1:
                    self.pending = (parity, line)
                elif parity == 0:
                    self._refuse(line)
        self.quotes += text.count('"')
        self.line += text.count("\n")

    def close(self) -> None:
        if self.pending is not None and self.pending[0] == 0:
            self._refuse(self.pending[1])

    def _refuse(self, line: int) -> None:
        if line == 1:
            return  # the header: its own check names what is wrong with it
        raise Refusal(self.name, "csv", "RFC 4180 CSV (a field with a line break is quoted)",
                      f"a carriage return outside quotes on line {line}")


class _EmptyFieldTooMany:
    """A row with more fields than the header whose last field is empty (`…,K100,\r\n` under a
    header that ends at K100): DuckDB's read_csv drops that field even in strict mode and loads the
    row, so it is refused here. DuckDB refuses every other wrong field count itself.

    Complete lines are looked at as the text streams by. A stretch whose commas number exactly
    (columns - 1) per line needs no further look: a line with a field too many there would need
    one with a field too few, which DuckDB refuses. Otherwise each line ending in a comma outside
    quotes has its fields counted (quote parity carried along, as `_CarriageReturns` does). Not
    counted: the last line of a record with a quoted line break in it (the record may have begun in
    an earlier chunk), where DuckDB's leniency remains."""

    _ENDS_IN_COMMA = re.compile(r"(?m)^[^\n]*,\r?$")

    def __init__(self, name: str, columns: int) -> None:
        self.name, self.columns = name, columns
        self.quotes, self.line, self.rest = 0, 1, ""

    def feed(self, text: str) -> None:
        end = text.rfind("\n") + 1  # the complete lines: the rest waits for its line break
        if not end:
            self.rest += text
            return
        lines = text.count("\n", 0, end)
        if self.rest.count(",") + text.count(",", 0, end) != (self.columns - 1) * lines:
            self._search(self.rest + text[:end])
        self.quotes += self.rest.count('"') + text.count('"', 0, end)
        self.line += lines
        self.rest = text[end:]

    def close(self) -> None:
        """The last line, when the file does not end with a line break."""
        if self.rest.count(",") != self.columns - 1:
            self._search(self.rest)

    def _search(self, whole: str) -> None:
        parity, counted = self.quotes % 2, 0
        for match in self._ENDS_IN_COMMA.finditer(whole):
            parity = (parity + whole.count('"', counted, match.start())) % 2
            counted = match.start()
            if parity:  # the line starts inside a quoted field: part of a record, not one
                continue
            line = match.group(0).rstrip("\r")
            fields = line.count(",") + 1 if '"' not in line else _fields(line)
            if fields is not None and fields > self.columns:
                number = self.line + whole.count("\n", 0, match.start())
                raise Refusal(self.name, "csv", f"RFC 4180 CSV with {self.columns} columns",
                              f"{fields} fields on line {number}, the last one empty")


def _fields(line: str) -> int | None:
    """The fields of one line holding quotes; None when it is no whole record by itself."""
    try:
        rows = list(csv.reader([line], strict=True))
    except csv.Error:
        return None
    return len(rows[0]) if len(rows) == 1 else None


def _decode(decoder: codecs.IncrementalDecoder, data: bytes, fed: int, newlines: int, name: str,
            encoding: str, final: bool = False) -> str:
    """Decode strictly; an undecodable byte is reported with its offset in the (unzipped) file."""
    pending = len(decoder.getstate()[0])
    try:
        text = decoder.decode(data, final=final)
    except UnicodeDecodeError as exc:
        buffered = exc.object
        offset = fed - pending + exc.start
        line = newlines + 1 + buffered[: exc.start].count(b"\n")
        bad = buffered[exc.start : exc.start + 2].hex(" ")
        raise Refusal(name, "encoding", f"{encoding} text",
                      f"undecodable bytes {bad} at byte offset {offset}, line {line}") from None
    if "\x00" in text:  # no text holds NUL: a file zero-filled by a crash or a broken transfer
        at = text.index("\x00")
        raise Refusal(name, "encoding", f"{encoding} text",
                      f"a NUL byte on line {newlines + 1 + text.count(chr(10), 0, at)}")
    return text


def column_diff(expected: list[str], found: list[str]) -> str:
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    if missing or extra:
        return f"missing {missing}, unexpected {extra}"
    return "same columns in another order"


def warm_up() -> None:
    """Runs once on each worker so that process start-up overlaps other work."""
