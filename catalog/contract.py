"""The delivery contract (交付规范) as code: file naming and the control file (`.chk`).

Both sides use it: the sample generator writes deliveries with it and ingestion reads them.
The contract itself is fixed by headquarters; this module is its one reading in code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

# <SYS>_<TABLE>_<biz_date>_<NNN>.csv(.gz) and <SYS>_<TABLE>_<biz_date>.chk
DATA_FILE_RE = re.compile(
    r"^(?P<system>[A-Z]+)_(?P<table>[A-Z0-9_]+?)_(?P<biz_date>\d{8})_(?P<part>\d{3})\.csv(?P<gz>\.gz)?$"
)
CONTROL_FILE_RE = re.compile(r"^(?P<system>[A-Z]+)_(?P<table>[A-Z0-9_]+?)_(?P<biz_date>\d{8})\.chk$")
BIZ_DATE_RE = re.compile(r"^\d{8}$")
ENCODINGS = ("UTF-8", "GBK")
MODES = ("FULL", "INCR")
_REQUIRED_KEYS = ("system", "table", "biz_date", "mode", "encoding", "columns")


class ContractError(ValueError):
    """A control file or a file name does not follow the contract."""


@dataclass(frozen=True)
class FileEntry:
    """One `file=` line of a control file."""

    name: str
    rows: int
    bytes: int
    md5: str


@dataclass(frozen=True)
class ControlFile:
    system: str
    table: str
    biz_date: str  # YYYYMMDD, as in the contract
    mode: str
    encoding: str
    columns: tuple[str, ...]
    files: tuple[FileEntry, ...] = field(default_factory=tuple)

    @property
    def business_date(self) -> date:
        return parse_biz_date(self.biz_date)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


def parse_biz_date(text: str) -> date:
    if not BIZ_DATE_RE.match(text):
        raise ContractError(f"business date {text!r} is not YYYYMMDD")
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise ContractError(f"business date {text!r} is not a calendar date") from None


def data_file_name(system: str, table: str, biz_date: str, part: int, compressed: bool) -> str:
    return f"{system}_{table}_{biz_date}_{part:03d}.csv" + (".gz" if compressed else "")


def control_file_name(system: str, table: str, biz_date: str) -> str:
    return f"{system}_{table}_{biz_date}.chk"


# more rows or bytes than any file holds (and what the batch log's BIGINT sums can still add up)
MAX_DECLARED = 10**15


def _parse_file_line(value: str, lineno: int, source: str) -> FileEntry:
    name, *attrs = value.split("|")
    parts: dict[str, str] = {}
    for attr in attrs:
        key, sep, val = attr.partition("=")
        if not sep:
            raise ContractError(f"{source} line {lineno}: file attribute {attr!r} is not key=value")
        parts[key.strip()] = val.strip()
    missing = [k for k in ("rows", "bytes", "md5") if k not in parts]
    if missing:
        raise ContractError(f"{source} line {lineno}: file {name!r} lacks {', '.join(missing)}")
    try:
        rows, size = int(parts["rows"]), int(parts["bytes"])
    except ValueError:
        raise ContractError(f"{source} line {lineno}: rows/bytes of {name!r} are not integers") from None
    if rows < 0 or size < 0:
        raise ContractError(f"{source} line {lineno}: rows/bytes of {name!r} are negative")
    if rows > MAX_DECLARED or size > MAX_DECLARED:
        raise ContractError(f"{source} line {lineno}: rows/bytes of {name!r} exceed {MAX_DECLARED:.0e}: "
                            f"no delivery is that large")
    if not re.fullmatch(r"[0-9a-f]{32}", parts["md5"].lower()):
        raise ContractError(f"{source} line {lineno}: md5 of {name!r} is not 32 hex digits")
    return FileEntry(name=name.strip(), rows=rows, bytes=size, md5=parts["md5"].lower())


def parse_control(text: str, source: str = "control file") -> ControlFile:
    """Parse the text of a `.chk` file; a malformed one raises ContractError naming the line."""
    values: dict[str, str] = {}
    files: list[FileEntry] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ContractError(f"{source} line {lineno}: {line!r} is not key=value")
        key, value = key.strip(), value.strip()
        if key == "file":
            files.append(_parse_file_line(value, lineno, source))
        elif key in values:
            raise ContractError(f"{source} line {lineno}: key {key!r} given twice")
        else:
            values[key] = value
    missing = [k for k in _REQUIRED_KEYS if k not in values]
    if missing:
        raise ContractError(f"{source}: missing {', '.join(missing)}")
    if not files:
        raise ContractError(f"{source}: no file= line")
    if values["mode"] not in MODES:
        raise ContractError(f"{source}: mode {values['mode']!r} is not one of {', '.join(MODES)}")
    encoding = values["encoding"].upper()
    if encoding not in ENCODINGS:
        raise ContractError(f"{source}: encoding {values['encoding']!r} is not one of {', '.join(ENCODINGS)}")
    parse_biz_date(values["biz_date"])
    columns = tuple(c.strip() for c in values["columns"].split(","))
    if any(not c for c in columns):
        raise ContractError(f"{source}: columns has an empty name")
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise ContractError(f"{source}: a file is listed twice")
    return ControlFile(
        system=values["system"],
        table=values["table"],
        biz_date=values["biz_date"],
        mode=values["mode"],
        encoding=encoding,
        columns=columns,
        files=tuple(files),
    )


def format_control(control: ControlFile) -> str:
    lines = [
        f"system={control.system}",
        f"table={control.table}",
        f"biz_date={control.biz_date}",
        f"mode={control.mode}",
        f"encoding={control.encoding}",
        f"columns={','.join(control.columns)}",
    ]
    lines += [f"file={f.name}|rows={f.rows}|bytes={f.bytes}|md5={f.md5}" for f in control.files]
    return "\n".join(lines) + "\n"
