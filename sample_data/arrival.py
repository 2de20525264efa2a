"""When each delivery lands: file modification times as a nightly extract would leave them.

Headquarters' extracts land between 01:30 and 04:30 Asia/Shanghai the night after the business
date; a re-run lands the next morning. One delivery can be made late on purpose (after the 06:00
deadline the timeliness check watches).
"""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

SHANGHAI = timezone(timedelta(hours=8))  # no daylight saving in China
LATE_TABLE = "A_RCVBL_FLOW"
LATE_AT = time(7, 50)


def landing_time(biz_date: str, table_index: int, redelivery: bool) -> datetime:
    day = datetime.strptime(biz_date, "%Y%m%d").date() + timedelta(days=1)
    at = time(10, 0) if redelivery else time(1, 30)
    return datetime.combine(day, at, SHANGHAI) + timedelta(minutes=7 * table_index)


def stamp(folder: Path, table_order: list[str], redelivery: bool, late: tuple[str, str] | None) -> None:
    """Set every file of every delivery in a date folder to its landing time (the .chk last)."""
    biz_date = folder.name
    for path in sorted(folder.iterdir()):
        parts = path.name.split("_")
        table = next((t for t in table_order if path.name.startswith(f"{parts[0]}_{t}_{biz_date}")), None)
        if table is None:
            continue
        when = landing_time(biz_date, table_order.index(table), redelivery)
        if late == (table, biz_date) and not redelivery:
            when = datetime.combine(when.date(), LATE_AT, SHANGHAI)
        when += timedelta(seconds=30) if path.suffix == ".chk" else timedelta(0)
        os.utime(path, (when.timestamp(), when.timestamp()))
