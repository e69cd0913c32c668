"""Xero's rate limits per organisation and app, and the faults a test switches on.

# Reference: https://developer.xero.com/documentation/guides/oauth2/limits/

Per organisation and app: 5 calls at once, 60 in any minute, 5,000 in any 24
hours; per app, 10,000 a minute across organisations. Past one, a 429 with
Retry-After (seconds) and X-Rate-Limit-Problem naming it: "concurrent",
"minute", "day" or "appminute". Every answer carries X-DayLimit-Remaining,
X-MinLimit-Remaining and X-AppMinLimit-Remaining. Faults (../common/faults.py)
apply to API calls only.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

from arbridge.sandbox.common import limits

DAY = 24 * 3600.0


@dataclass
class TenantStats(limits.Stats):
    in_flight: int = 0
    daily_refused: int = 0


@dataclass(frozen=True)
class Refusal:
    problem: str  # X-Rate-Limit-Problem
    retry_after: int


class Limiter(limits.Limiter):
    """Per-organisation counting: the minute, the day, the calls in flight, the app's minute."""

    accounts = "tenants"
    stats_class = TenantStats

    def __init__(
        self,
        now: Callable[[], float],
        *,
        per_minute: int = 60,
        per_day: int = 5_000,
        concurrent: int = 5,
        app_per_minute: int = 10_000,
    ) -> None:
        super().__init__(now, per_window=per_minute, window_s=60)
        self.per_day = per_day
        self.concurrent = concurrent
        self.app_per_minute = app_per_minute
        self.day: dict[str, deque[float]] = defaultdict(deque)
        self.app: deque[float] = deque()

    def enter(self, tenant_id: str) -> Refusal | None:
        """Admit a call and return None, or return which limit refuses it."""
        with self.lock:
            stats = self.stats[tenant_id]
            stats.requests += 1
            now = self.now()
            minute = limits.slide(self.window[tenant_id], now, self.window_s)
            day = limits.slide(self.day[tenant_id], now, DAY)
            app = limits.slide(self.app, now, self.window_s)
            refusal = None
            if stats.in_flight >= self.concurrent:
                refusal = Refusal("concurrent", 1)
            elif len(day) >= self.per_day:
                refusal = Refusal("day", max(1, math.ceil(day[0] + DAY - now)))
                stats.daily_refused += 1
            elif len(minute) >= self.per_window:
                refusal = Refusal("minute", max(1, math.ceil(minute[0] + self.window_s - now)))
            elif len(app) >= self.app_per_minute:
                refusal = Refusal("appminute", max(1, math.ceil(app[0] + self.window_s - now)))
            if refusal is not None:
                stats.throttled += 1
                return refusal
            minute.append(now)
            day.append(now)
            app.append(now)
            stats.in_flight += 1
            return None

    def remaining(self, tenant_id: str) -> dict[str, str]:
        with self.lock:
            return {
                "X-DayLimit-Remaining": str(max(0, self.per_day - len(self.day[tenant_id]))),
                "X-MinLimit-Remaining": str(max(0, self.per_window - len(self.window[tenant_id]))),
                "X-AppMinLimit-Remaining": str(max(0, self.app_per_minute - len(self.app))),
            }

    def leave(self, tenant_id: str) -> None:
        with self.lock:
            self.stats[tenant_id].in_flight -= 1
