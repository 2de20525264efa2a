"""The sample delivery generator: business dates of returned tables, as headquarters would deliver them.

`generate()` simulates four years of history and the business dates asked for, writes every table
of the register for every date under `out/<YYYYMMDD>/` (the first date is the initial load),
re-deliveries under `out/redelivery/<YYYYMMDD>/`, and the manifest `out/generation.json`.
The same arguments give byte-identical files: one `random.Random(seed)` drives everything and
nothing depends on time, hashing or set order.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from operator import itemgetter
from pathlib import Path

from catalog.contract import ControlFile, data_file_name
from catalog.register import Table, load_reference, load_register
from sample_data import chart_of_accounts, masterdata
from sample_data.arrival import LATE_AT, LATE_TABLE, SHANGHAI, stamp
from sample_data.business import HISTORY_DAYS, Business
from sample_data.defects import REDELIVERY, DayExtras, DefectPlan
from sample_data.ledger import Ledger, bkpf_record, bseg_record, item_record
from sample_data.marketing import Marketing, bill_record, erp_lines_estimate
from sample_data.values import MANDT, ymd
from sample_data.writer import write_delivery

MANIFEST = "generation.json"
BSEG_LINES_PER_SCALE = 100_000
Records = Callable[[], Iterable[dict[str, str]]]


class _Day:
    """The record sources of one business date, read from the state right after the day."""

    def __init__(self, day: date, ledger: Ledger, yx: Marketing, world: masterdata.MasterData,
                 extras: DayExtras) -> None:
        self.day, self.ledger, self.yx, self.world, self.extras = day, ledger, yx, world, extras

    def sources(self) -> dict[str, Records]:
        return {"T001": self.world.t001_records, "SKAT": lambda: chart_of_accounts.skat_rows(MANDT),
                "KNA1": lambda: self.world.kna1_records(self.day), "LFA1": lambda: self.world.lfa1_records(self.day),
                "BKPF": self.bkpf, "BSEG": self.bseg,
                "BSID": lambda: map(item_record, list(self.ledger.open_d)),
                "BSAD": lambda: map(item_record, self.ledger.cleared_d),
                "BSIK": lambda: map(item_record, list(self.ledger.open_k)),
                "BSAK": lambda: map(item_record, self.ledger.cleared_k),
                "A_RCVBL_FLOW": self.bills}

    def bkpf(self) -> Iterator[dict[str, str]]:
        for doc in self.ledger.new_docs:
            if not doc.headerless:
                yield bkpf_record(doc)
        yield from map(bkpf_record, self.ledger.changed_docs)

    def bseg(self) -> Iterator[dict[str, str]]:
        twice = self.extras.duplicate_lines
        for doc in self.ledger.new_docs:
            for line in doc.lines:
                record = bseg_record(line)
                yield record
                if line in twice:
                    yield record
        yield from map(bseg_record, self.ledger.changed_lines)
        yield from self.extras.extra_bseg

    def bills(self) -> Iterator[dict[str, str]]:
        for bill in self.yx.bills_today:
            record = bill_record(bill)
            record.update(self.extras.bill_overrides.get(bill, {}))
            yield record
            if bill in self.extras.duplicate_bills:
                yield record


def _write(root: Path, table: Table, biz_date: str, records: Iterable[dict[str, str]], rows_per_file: int,
           watch: set[tuple[str, ...]], encoding: str | None = None) -> tuple[ControlFile, dict[tuple, str]]:
    """Write one delivery in register column order; tell in which file each watched key landed."""
    as_row = itemgetter(*table.column_names)
    key_of = itemgetter(*table.key)
    positions: dict[tuple[str, ...], int] = {}

    def rows() -> Iterator[tuple[str, ...]]:
        for n, record in enumerate(records):
            if watch:
                key = key_of(record)
                key = key if isinstance(key, tuple) else (key,)
                if key in watch and key not in positions:
                    positions[key] = n
            yield as_row(record)

    control = write_delivery(root / biz_date, table, biz_date, rows(), rows_per_file, encoding)
    located = {key: data_file_name(table.system, table.code, biz_date, n // rows_per_file + 1, table.compress)
               for key, n in positions.items()}
    return control, located


def generate(out: Path, days: int, scale: float, seed: int, start: date = date(2026, 10, 26),
             rows_per_file: int = 50000, defects: bool = True,
             progress: Callable[[str], None] | None = None) -> dict:
    """Write `days` business dates from `start` under `out`; return the manifest (also in out/generation.json).

    Scale is linear: scale 1 is about 100,000 BSEG lines over seven business dates, most of them in
    the initial load. With `defects` the deliberate defects of sample_data/README.md are injected.
    Deliveries already in `out` for the same dates are replaced; other folders there are left alone.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if scale <= 0:
        raise ValueError("scale must be positive")
    if rows_per_file < 1:
        raise ValueError("rows_per_file must be at least 1")
    out = Path(out)
    say = progress or (lambda _: None)
    register, reference = load_register(), load_reference()
    rng = random.Random(seed)
    dates = [start + timedelta(days=i) for i in range(days)]
    world = masterdata.build(rng, reference, scale, start - timedelta(days=HISTORY_DAYS))
    ledger = Ledger()
    # the YX vouchers are a fixed number of lines; the rest of the business makes up the BSEG budget
    business_scale = max(0.3 * scale, scale - erp_lines_estimate(reference) / BSEG_LINES_PER_SCALE)
    business = Business(rng, ledger, world, business_scale, start)
    yx = Marketing(rng, ledger, world, reference, scale, start)
    plan = DefectPlan(defects, rng, register, dates, ledger, business, yx, world)
    plan.before_history(start)

    say(f"simulating {HISTORY_DAYS} days of history before {start.isoformat()}")
    for back in range(HISTORY_DAYS, 0, -1):
        day = start - timedelta(days=back)
        business.simulate_day(day)
        yx.simulate_day(day)

    counts: dict[str, dict[str, int]] = {t.code: {} for t in register.tables}
    redelivered: dict[str, dict[str, int]] = {}

    def write_day(root: Path, index: int, state: _Day, tables: list[Table], label: str = "") -> None:
        biz = ymd(state.day)
        sources = state.sources()
        root_name = REDELIVERY if label else ""
        for table in tables:
            override = None if label else plan.encoding_override(index, table.code)
            control, located = _write(root, table, biz, sources[table.code](), rows_per_file,
                                      plan.watch(table.code, index, root_name), override)
            prefix = f"{REDELIVERY}/{biz}" if label else biz
            plan.found(table.code, index, root_name, {k: f"{prefix}/{name}" for k, name in located.items()})
            if label:
                redelivered.setdefault(table.code, {})[biz] = control.rows
            else:
                counts[table.code][biz] = control.rows
                plan.after_write(index, table.code, root / biz, control, biz)
            say(f"{label}{biz} {table.system}_{table.code}: {control.rows:,} rows")

    for index, day in enumerate(dates):
        if index:
            ledger.begin_day(index)
            yx.begin_day()
        business.simulate_day(day)
        yx.simulate_day(day)
        state = _Day(day, ledger, yx, world, plan.after_simulation(index, day))
        write_day(out, index, state, list(register.tables))
        single = [t for t in register.tables if plan.redelivers_table(index, t.code)]
        if single and not (index == len(dates) - 1 and plan.redelivers_last_day()):
            write_day(out / REDELIVERY, index, state, single, label="re-delivery ")
        if index == len(dates) - 1 and plan.redelivers_last_day():
            plan.prepare_redelivery(index, day)
            write_day(out / REDELIVERY, index, state, list(register.tables), label="re-delivery ")

    defect_entries, skipped = plan.manifest()
    late = (LATE_TABLE, ymd(dates[-1])) if defects else None
    order = [t.code for t in register.tables]
    for folder in sorted(p for p in out.iterdir() if p.is_dir() and p.name.isdigit()):
        stamp(folder, order, redelivery=False, late=late)
    for folder in sorted((out / REDELIVERY).glob("[0-9]*")) if (out / REDELIVERY).is_dir() else []:
        stamp(folder, order, redelivery=True, late=None)
    if late:
        arrived = datetime.combine(dates[-1] + timedelta(days=1), LATE_AT, SHANGHAI)
        defect_entries.append({
            "id": "n1", "code": "n", "kind": "late_delivery", "table": LATE_TABLE, "biz_date": late[1],
            "day_offset": len(dates) - 1, "file": f"{late[1]}/YX_{LATE_TABLE}_{late[1]}.chk",
            "files": [f"{late[1]}/YX_{LATE_TABLE}_{late[1]}.chk"], "keys": [],
            "rule": "timeliness: a delivery lands by 06:00 Asia/Shanghai the day after its business date",
            "detail": "the marketing system's extract of the last business date landed at 07:50",
            "arrived_at": arrived.isoformat()})
    manifest = {
        "generator": "sample_data.generator",
        "format": 1,
        "arguments": {"days": days, "scale": scale, "seed": seed, "start": start.isoformat(),
                      "rows_per_file": rows_per_file, "defects": defects},
        "biz_dates": [ymd(d) for d in dates],
        "landing_roots": {"main": ".", "redelivery": REDELIVERY},
        "rows": counts,
        "redelivery_rows": redelivered,
        "defects": defect_entries,
        "skipped_defects": skipped,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest
