"""Zoho Books' API limits per organization, and the faults a test switches on.

# Reference: https://www.zoho.com/books/api/v3/introduction/#api-call-limit

Per organization: 100 requests in any minute, and the plan's daily
allowance (Free 1,000, Standard 2,000, Professional 5,000, Premium, Elite
and Ultimate 10,000), counted here over any 24 hours. Past either, HTTP 429
with code 45 (minute) or 44 (day) and a message naming it (Zoho's codes:
verify). Faults (../common/faults.py) apply to API calls only.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

from arbridge.sandbox.common import limits

DAY = 24 * 3600.0
DAILY = {
    "free": 1_000,
    "standard": 2_000,
    "professional": 5_000,
    "premium": 10_000,
    "elite": 10_000,
    "ultimate": 10_000,
}


@dataclass
class OrgStats(limits.Stats):
    daily_refused: int = 0


@dataclass(frozen=True)
class Refusal:
    problem: str  # "minute" or "day"
    retry_after: int


class Limiter(limits.Limiter):
    accounts = "organizations"
    stats_class = OrgStats

    def __init__(self, now: Callable[[], float], *, per_minute: int = 100) -> None:
        super().__init__(now, per_window=per_minute, window_s=60)
        self.day: dict[str, deque[float]] = defaultdict(deque)

    def enter(self, org_id: str, plan: str) -> Refusal | None:
        """Count a call and return None, or return which limit refuses it."""
        with self.lock:
            stats = self.stats[org_id]
            stats.requests += 1
            now = self.now()
            minute = limits.slide(self.window[org_id], now, self.window_s)
            day = limits.slide(self.day[org_id], now, DAY)
            if len(day) >= DAILY.get(plan, DAILY["premium"]):
                stats.throttled += 1
                stats.daily_refused += 1
                return Refusal("day", max(1, math.ceil(day[0] + DAY - now)))
            if len(minute) >= self.per_window:
                stats.throttled += 1
                return Refusal("minute", max(1, math.ceil(minute[0] + self.window_s - now)))
            minute.append(now)
            day.append(now)
            return None
