"""Business days: Monday to Friday; bank holidays are not modelled."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

Day = TypeVar("Day", dt.date, dt.datetime)


def add_business_days(start: Day, days: int) -> Day:
    """Return the date (or moment, same time of day) `days` business days after `start`.

    A start on a weekend counts from the Monday: Saturday + 2 is Tuesday.
    """
    moment = start
    while days > 0:
        moment += dt.timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment
