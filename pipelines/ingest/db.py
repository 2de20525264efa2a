"""Opening the DuckDB file and creating the system's own tables (`meta`).

Opening fails with one of three errors a scheduler and an operator can tell apart:
`DatabaseMissing` (no file: nothing to read, run `respool ingest` first), `DatabaseLocked`
(another process writes it: try again later, exit code 75) and `DatabaseDamaged` (the file is not
a readable DuckDB database: restore it).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from catalog.system_tables import ensure_system_tables

_LOCK = re.compile(r"Could not set lock on file .*?Conflicting lock is held in (?P<exe>.+?)(?: \(PID (?P<pid>\d+)\))?"
                   r"(?:\. See also|$)", re.MULTILINE)
_DAMAGED = ("not a valid DuckDB database", "Corrupt database", "checksum", "Could not read enough bytes",
            "Serialization Error")


class DatabaseMissing(FileNotFoundError):
    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"no database at {path} — run respool ingest first")


class DatabaseLocked(RuntimeError):
    """Another process holds the file's write lock: the caller should try again later."""

    def __init__(self, path: Path, pid: int | None, command: str) -> None:
        self.path, self.pid, self.command = path, pid, command
        holder = f"process {pid} ({command})" if pid else command or "another process"
        super().__init__(f"database {path} is in use by {holder} — try again later")


class DatabaseDamaged(RuntimeError):
    """The file exists but DuckDB cannot read it as a database."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path, self.detail = path, detail
        super().__init__(f"database {path} is damaged and cannot be opened ({detail}) — "
                         f"restore it from a backup (respool restore)")


def process_command(pid: int) -> str:
    """The command line of a running process, as `ps` shows it; empty when it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)


def open_error(path: Path, exc: duckdb.Error) -> Exception:
    """DuckDB's error on opening `path` as one of ours, or `exc` itself when it is neither."""
    message = str(exc).strip()
    lock = _LOCK.search(message)
    if lock:
        pid = int(lock["pid"]) if lock["pid"] else None
        return DatabaseLocked(path, pid, (process_command(pid) if pid else "") or lock["exe"])
    if any(marker in message for marker in _DAMAGED):
        return DatabaseDamaged(path, message.splitlines()[0])
    return exc


def connect(db_path: Path | str, read_only: bool = False, create: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the database file, creating its folder and the meta tables when writing.

    `create=False`: a missing file is `DatabaseMissing` instead of a new empty database (every
    command but ingest). Raises `DatabaseLocked` and `DatabaseDamaged` as described above.
    """
    path = Path(db_path)
    if (read_only or not create) and not path.exists():
        raise DatabaseMissing(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise open_error(path, exc) from None
    if not read_only:
        try:
            ensure_system_tables(con)
        except BaseException:
            con.close()
            raise
    return con
