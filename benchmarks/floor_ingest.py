"""The floor for ingestion: the same deliveries loaded by bare DuckDB `read_csv` + `INSERT`.

DuckDB cannot read GBK without its downloadable extension, so the floor reads UTF-8 copies
of the delivered files, made beforehand and stored uncompressed (DuckDB reads a gzip file on
one thread, a plain file on all: the fastest input it could have). It does no checks, no row
numbering and no bookkeeping: one INSERT (after a DELETE for FULL tables) per delivery.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import duckdb

from catalog.contract import parse_control
from catalog.register import load_register
from pipelines.config import landing_roots
from pipelines.ingest.delivery import discover


def utf8_copies(landing: Path, out: Path) -> None:
    """UTF-8 copies of every delivered data file, same names, same compression."""
    register = load_register()
    for d in discover(landing_roots(landing), register):
        target = out / d.chk_path.parent.relative_to(landing)
        target.mkdir(parents=True, exist_ok=True)
        control = parse_control(d.chk_path.read_text(encoding="utf-8"))
        codec = "gbk" if control.encoding == "GBK" else "utf-8"
        for f in control.files:
            raw = (d.folder / f.name).read_bytes()
            try:
                text = (gzip.decompress(raw) if f.name.endswith(".gz") else raw).decode(codec)
            except (OSError, UnicodeDecodeError):
                continue  # damaged on purpose: the floor skips it as ingest refuses it
            (target / f.name.removesuffix(".gz")).write_bytes(text.encode("utf-8"))
        (target / d.chk_path.name).write_bytes(d.chk_path.read_bytes())


def load(copies: Path, db: Path) -> int:
    register = load_register()
    con = duckdb.connect(str(db))
    total = 0
    for d in discover(landing_roots(copies), register):
        table = register.find(d.system, d.table)
        if table is None:
            continue
        control = parse_control(d.chk_path.read_text(encoding="utf-8"))
        names = [f.name.removesuffix(".gz") for f in control.files]
        files = [str(d.folder / n) for n in names if (d.folder / n).exists()]
        if not files:
            continue
        cols = ", ".join(f'"{c}" VARCHAR' for c in table.column_names)
        con.execute(f"CREATE TABLE IF NOT EXISTS {table.ods_name} ({cols})")
        if table.mode == "FULL":
            con.execute(f"DELETE FROM {table.ods_name}")
        try:
            columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in table.column_names) + "}"
            total += con.execute(f"INSERT INTO {table.ods_name} SELECT * FROM read_csv({files!r}, header = true, "
                                 f"columns = {columns}, auto_detect = false)").fetchone()[0]
        except duckdb.Error:
            continue  # a deliberately malformed file
    con.close()
    return total


if __name__ == "__main__":
    print(load(Path(sys.argv[1]), Path(sys.argv[2])))
