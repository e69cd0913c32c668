"""Counting business days: weekends skipped, the time of day kept."""

import datetime as dt

import pytest

from arbridge.sandbox.processor.days import add_business_days


@pytest.mark.parametrize(
    ("start", "days", "end"),
    [
        ("2026-03-02", 2, "2026-03-04"),  # Monday -> Wednesday
        ("2026-03-05", 2, "2026-03-09"),  # Thursday -> Monday
        ("2026-03-06", 1, "2026-03-09"),  # Friday -> Monday
        ("2026-03-07", 1, "2026-03-09"),  # Saturday -> Monday
        ("2026-03-08", 2, "2026-03-10"),  # Sunday -> Tuesday
        ("2026-03-06", 5, "2026-03-13"),  # a week
        ("2026-03-02", 0, "2026-03-02"),
    ],
)
def test_weekends_are_skipped(start, days, end):
    assert add_business_days(dt.date.fromisoformat(start), days) == dt.date.fromisoformat(end)


def test_a_moment_keeps_its_time_of_day():
    friday = dt.datetime(2026, 3, 6, 16, 30, tzinfo=dt.UTC)

    assert add_business_days(friday, 2) == dt.datetime(2026, 3, 10, 16, 30, tzinfo=dt.UTC)
