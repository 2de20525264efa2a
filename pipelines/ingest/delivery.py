"""Finding complete deliveries in a landing folder and checking them against the contract.

A delivery is one table of one business date: its control file (`.chk`) and the data files
it lists. The rules that need only the control file, the folder and the register live here;
the checks of each data file's content live in `filecheck`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from catalog.contract import (
    CONTROL_FILE_RE,
    DATA_FILE_RE,
    ContractError,
    ControlFile,
    parse_biz_date,
    parse_control,
)
from catalog.register import Register, Table
from pipelines.ingest.filecheck import Refusal, column_diff

_DATE_FOLDER_RE = re.compile(r"^\d{8}$")


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

    def arrived_at(self) -> datetime:
        """When the control file landed (its modification time), in UTC without zone."""
        return datetime.fromtimestamp(self.chk_path.stat().st_mtime, tz=UTC).replace(tzinfo=None)

    def batch_id(self) -> str:
        """Same control file, same id: a delivery seen again is recognised, a re-run is not."""
        return f"{self.system}.{self.table}.{self.biz_date}.{self.chk_md5()[:12]}"


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
                      column_diff(table.column_names, list(control.columns)))
    _check_file_set(delivery, control)
    return table


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


