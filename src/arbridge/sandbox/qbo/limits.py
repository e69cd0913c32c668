"""Intuit's throttles, and the faults a test or the demo switches on.

Throttles are per company: 500 requests in any 60 seconds and 10 in flight at
once; past either, a 429. Faults (../common/faults.py) apply to API calls
under /v3/ only; latency counts as in flight, and a "timeout" is carried
out, then held for timeout_ms and answered 504, as when a gateway gives up on
a slow backend (a client with a shorter timeout sees its own).
Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/rest-api-features#limits-and-throttles
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from arbridge.sandbox.common import limits


@dataclass
class RealmStats(limits.Stats):
    in_flight: int = 0


class Limiter(limits.Limiter):
    """Per-company request counting: the sliding minute, the in-flight count, the faults."""

    accounts = "realms"
    stats_class = RealmStats

    def __init__(
        self, now: Callable[[], float], *, per_minute: int = 500, concurrent: int = 10
    ) -> None:
        super().__init__(now, per_window=per_minute, window_s=60)
        self.concurrent = concurrent

    def enter(self, realm_id: str) -> str | None:
        """Admit a call and return None, or return why it is throttled."""
        with self.lock:
            stats = self.stats[realm_id]
            stats.requests += 1
            now = self.now()
            window = limits.slide(self.window[realm_id], now, self.window_s)
            if stats.in_flight >= self.concurrent:
                reason = f"More than {self.concurrent} concurrent requests for this company"
            elif len(window) >= self.per_window:
                reason = f"More than {self.per_window} requests a minute for this company"
            else:
                window.append(now)
                stats.in_flight += 1
                return None
            stats.throttled += 1
            return reason

    def leave(self, realm_id: str) -> None:
        with self.lock:
            self.stats[realm_id].in_flight -= 1
