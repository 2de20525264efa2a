"""Values in SAP external format, as the headquarters extract writes them (delivery contract §3)."""

from __future__ import annotations

from datetime import date

MANDT = "800"
CURRENCY = "CNY"
NO_DATE = "00000000"

_YMD_CACHE: dict[date, str] = {}


def ymd(day: date) -> str:
    """`YYYYMMDD`; cached because the same few thousand dates are formatted millions of times."""
    text = _YMD_CACHE.get(day)
    if text is None:
        text = _YMD_CACHE[day] = f"{day.year:04d}{day.month:02d}{day.day:02d}"
    return text


def amount(cents: int) -> str:
    """`1234.50`; a negative amount gets SAP's trailing minus, `1234.50-`."""
    if cents < 0:
        cents = -cents
        return f"{cents // 100}.{cents % 100:02d}-"
    return f"{cents // 100}.{cents % 100:02d}"


def hhmmss(seconds: int) -> str:
    """Seconds after midnight as `HHMMSS`."""
    return f"{seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}"


def ym(day: date) -> str:
    """Bill month `YYYYMM`."""
    return f"{day.year:04d}{day.month:02d}"
