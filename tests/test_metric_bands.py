"""Metric bands: today's row count (or amount sum, or null rate) of a table is judged against the
trailing history of the same day type — median ± max(3 × 1.4826 × MAD, 10% of |median|), at least
4 earlier dates, the initial load never counted. Histories below are written by hand."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from catalog.system_tables import ensure_system_tables
from quality.gx_bridge import validate
from quality.metrics import BAND_RELATION, metric_suite
from quality.specs import suite_from_dict

MONDAY = date(2026, 10, 5)


def _working_days(start: date, n: int) -> list[date]:
    days, day = [], start
    while len(days) < n:
        if day.isoweekday() <= 5:
            days.append(day)
        day += timedelta(days=1)
    return days


@pytest.fixture
def con():
    c = duckdb.connect()
    ensure_system_tables(c)
    yield c
    c.close()


def _history(con, values: list[float], weekend_values: tuple[float, ...] = ()) -> list[date]:
    """An initial load (a huge count: years of history), then one working day per value; weekend
    values go to Saturdays before the newest working day."""
    days = _working_days(MONDAY, len(values))
    rows = [("ods.bseg", MONDAY - timedelta(days=7), "row_count", 1_000_000.0)]
    rows += [("ods.bseg", d, "row_count", v) for d, v in zip(days, values, strict=True)]
    saturdays = [MONDAY + timedelta(days=5 - 7 * i) for i in range(len(weekend_values))]
    rows += [("ods.bseg", d, "row_count", v) for d, v in zip(saturdays, weekend_values, strict=True)]
    con.executemany("INSERT INTO meta.quality_metric VALUES (?, ?, ?, ?)", rows)
    return days


def _band(con) -> tuple:
    return con.execute(f"SELECT biz_date, value, lower, upper, in_band FROM ({BAND_RELATION})").fetchone()


def _verdict(con):
    (result,) = validate(con, suite_from_dict(metric_suite(), source="test"))
    return result


def test_a_row_count_out_of_its_band_fails_with_the_band_shown(con):
    # history 100 102 98 101 99: median 100, MAD 1 -> 3 × 1.4826 = 4.45 < 10% of 100: band 90 .. 110
    days = _history(con, [100, 102, 98, 101, 99, 130])
    assert _band(con) == (days[-1].strftime("%Y%m%d"), 130.0, 90.0, 110.0, False)
    result = _verdict(con)
    assert (result.success, result.severity, result.unexpected_count) == (False, "warn", 1)


def test_a_row_count_inside_its_band_passes(con):
    _history(con, [100, 102, 98, 101, 99, 109.5])
    assert _band(con)[2:] == (90.0, 110.0, True)
    assert _verdict(con).success


def test_a_wide_history_widens_the_band_by_its_mad(con):
    # history 100 140 60 120 80: median 100, |deviations| 0 40 40 20 20 -> MAD 20;
    # 3 × 1.4826 × 20 = 88.956 > 10: band 11.044 .. 188.956
    _history(con, [100, 140, 60, 120, 80, 185])
    _, _, lower, upper, in_band = _band(con)
    assert (round(lower, 3), round(upper, 3), in_band) == (11.044, 188.956, True)


def test_weekends_and_the_initial_load_are_not_part_of_a_working_day_band(con):
    # the Saturdays' 10 and 12, and the initial 1,000,000, would drag the median if they counted
    _history(con, [100, 102, 98, 101, 99, 111], weekend_values=(10, 12))
    assert _band(con)[2:] == (90.0, 110.0, False)


def test_fewer_than_four_earlier_dates_judge_nothing(con):
    _history(con, [100, 102, 98, 300])
    assert _band(con) is None
    assert _verdict(con).success  # nothing to judge yet
