"""Finding complete deliveries in a landing folder and checking them against the contract.

A delivery is one table of one business date: its control file (`.chk`) and the data files
it lists. `verify` checks it against the control file and the register and makes every file
readable by DuckDB; GBK files are transcoded to UTF-8 in one streaming pass, which also
measures bytes and md5 and pinpoints an undecodable byte by file and offset.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from catalog.contract import (
    CONTROL_FILE_RE,
    DATA_FILE_RE,
    ContractError,
    ControlFile,
    FileEntry,
    parse_biz_date,
    parse_control,
)
from catalog.register import Register, Table

CHUNK = 1 << 20
_PY_CODEC = {"UTF-8": "utf-8", "GBK": "gbk"}
_DATE_FOLDER_RE = re.compile(r"^\d{8}$")


class Refusal(Exception):
    """A delivery broke a rule of the contract: the message names file, rule, expected and found."""

    def __init__(self, file: str, rule: str, expected: object, found: object, detail: str = ""):
        self.file, self.rule, self.expected, self.found = file, rule, expected, found
        text = f"{file}: {rule}: expected {expected}, found {found}"
        super().__init__(f"{text} ({detail})" if detail else text)

    @property
    def reason(self) -> str:
        return str(self)


@dataclass(frozen=True)
class Delivery:
    """A complete delivery: a `.chk` in a business-date folder of a landing root."""

    chk_path: Path
    system: str
    table: str
    biz_date: str

    @property
    def folder(self) -> Path:
        return self.chk_path.parent

    def chk_bytes(self) -> bytes:
        return self.chk_path.read_bytes()

    def chk_md5(self) -> str:
        return hashlib.md5(self.chk_bytes()).hexdigest()

    def batch_id(self) -> str:
        """Same control file, same id: a delivery seen again is recognised, a re-run is not."""
        return f"{self.system}.{self.table}.{self.biz_date}.{self.chk_md5()[:12]}"


@dataclass(frozen=True)
class ReadyFile:
    """A verified data file and the path DuckDB reads it from (a UTF-8 copy for GBK files)."""

    entry: FileEntry
    source: Path
    readable: Path


def discover(landings: list[Path], register: Register) -> list[Delivery]:
    """Complete deliveries under the landing roots, oldest business date first.

    Within a date, tables come in register order (master data before documents); the same
    date in a later landing root (a re-delivery) comes after the earlier one.
    """
    order = {t.code: i for i, t in enumerate(register.tables)}
    found: list[tuple[str, int, int, str, Delivery]] = []
    for rank, root in enumerate(landings):
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and _is_business_date(p.name)):
            for chk in sorted(folder.glob("*.chk")):
                m = CONTROL_FILE_RE.match(chk.name)
                system, table = (m["system"], m["table"]) if m else ("?", chk.stem)
                delivery = Delivery(chk_path=chk, system=system, table=table, biz_date=folder.name)
                found.append((folder.name, rank, order.get(table, len(order)), chk.name, delivery))
    return [d for *_, d in sorted(found, key=lambda x: x[:4])]


def _is_business_date(name: str) -> bool:
    if not _DATE_FOLDER_RE.match(name):
        return False
    try:
        parse_biz_date(name)
    except ContractError:
        return False
    return True


def read_control(delivery: Delivery) -> ControlFile:
    chk = delivery.chk_path
    try:
        text = delivery.chk_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refusal(chk.name, "chk_encoding", "UTF-8", f"undecodable byte at offset {exc.start}") from None
    try:
        return parse_control(text, source=chk.name)
    except ContractError as exc:
        raise Refusal(chk.name, "chk_format", "a control file per the contract", str(exc)) from None


def check_control(delivery: Delivery, control: ControlFile, register: Register) -> Table:
    """Rules that need only the control file, its name, its folder and the register."""
    chk = delivery.chk_path.name
    m = CONTROL_FILE_RE.match(chk)
    if not m:
        raise Refusal(chk, "chk_name", "<SYS>_<TABLE>_<YYYYMMDD>.chk", chk)
    named = (m["system"], m["table"], m["biz_date"])
    declared = (control.system, control.table, control.biz_date)
    if named != declared:
        raise Refusal(chk, "chk_name", f"system/table/biz_date {'/'.join(named)} as in the name",
                      "/".join(declared))
    if control.biz_date != delivery.biz_date:
        raise Refusal(chk, "biz_date_folder", f"folder {control.biz_date}", f"folder {delivery.biz_date}")
    table = register.find(control.system, control.table)
    if table is None:
        raise Refusal(chk, "unknown_table", "a table of the register (回流表清单)",
                      f"{control.system}.{control.table}")
    if control.mode != table.mode:
        raise Refusal(chk, "mode", table.mode, control.mode)
    if list(control.columns) != table.column_names:
        raise Refusal(chk, "columns", ",".join(table.column_names), ",".join(control.columns),
                      _column_diff(table.column_names, list(control.columns)))
    _check_file_set(delivery, control)
    return table


def _column_diff(expected: list[str], found: list[str]) -> str:
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    if missing or extra:
        return f"missing {missing}, unexpected {extra}"
    return "same columns in another order"


def _check_file_set(delivery: Delivery, control: ControlFile) -> None:
    chk = delivery.chk_path.name
    parts = []
    for entry in control.files:
        m = DATA_FILE_RE.match(entry.name)
        if not m or (m["system"], m["table"], m["biz_date"]) != (control.system, control.table,
                                                                 control.biz_date):
            raise Refusal(entry.name, "file_name",
                          f"{control.system}_{control.table}_{control.biz_date}_NNN.csv[.gz]", entry.name)
        parts.append(int(m["part"]))
    if sorted(parts) != list(range(1, len(parts) + 1)):
        raise Refusal(chk, "file_parts", f"parts 001..{len(parts):03d}",
                      ",".join(f"{p:03d}" for p in sorted(parts)))
    listed = {e.name for e in control.files}
    for entry in control.files:
        if not (delivery.folder / entry.name).is_file():
            raise Refusal(entry.name, "file_missing", "the file listed in " + chk, "no such file")
    for path in sorted(delivery.folder.iterdir()):
        m = DATA_FILE_RE.match(path.name)
        if m and (m["system"], m["table"]) == (control.system, control.table) and path.name not in listed:
            raise Refusal(path.name, "file_unlisted", f"only the files listed in {chk}", "an extra data file")


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
    try:
        for raw in _raw_chunks(source):
            md5.update(raw)
            size += len(raw)
            if problem:
                continue
            try:
                data = gunzip.feed(raw) if gunzip else raw
                text = _decode(decoder, data, fed, newlines, entry.name, encoding)
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
    found = next(csv.reader(io.StringIO(header.lstrip("\ufeff").rstrip("\r"))), [])
    if found != columns:
        raise Refusal(entry.name, "header", ",".join(columns), ",".join(found) or "(empty file)",
                      _column_diff(columns, found))
    return ReadyFile(entry=entry, source=source, readable=target)


def _decode(decoder: codecs.IncrementalDecoder, data: bytes, fed: int, newlines: int, name: str,
            encoding: str, final: bool = False) -> str:
    """Decode strictly; an undecodable byte is reported with its offset in the (unzipped) file."""
    pending = len(decoder.getstate()[0])
    try:
        return decoder.decode(data, final=final)
    except UnicodeDecodeError as exc:
        buffered = exc.object
        offset = fed - pending + exc.start
        line = newlines + 1 + buffered[: exc.start].count(b"\n")
        bad = buffered[exc.start : exc.start + 2].hex(" ")
        raise Refusal(name, "encoding", f"{encoding} text",
                      f"undecodable bytes {bad} at byte offset {offset}, line {line}") from None
