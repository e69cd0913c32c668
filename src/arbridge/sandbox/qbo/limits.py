"""Intuit's throttles, and the faults a test or the demo switches on.

Throttles are per company: 500 requests in any 60 seconds and 10 in flight at
once; past either, a 429. A batch request counts as one of the 500, and
besides at most 40 batch requests in any 60 seconds per company and app, and
120 per company whatever the app. Faults (../common/faults.py) apply to API calls
under /v3/ only; latency counts as in flight, and a "timeout" is carried
out, then held for timeout_ms and answered 504, as when a gateway gives up on
a slow backend (a client with a shorter timeout sees its own).
Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/rest-api-features#limits-and-throttles
Batch limits: https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
("Throttled at 40 Batch requests per minute, per realm ID and app. 120 Batch
requests per minute per realm ID."); batches count toward the 500:
https://developer.intuit.com/hub/blog/2016/08/08/idg-concurrent-api-use-changes-coming-soon
"""

from __future__ import annotations

from collections import defaultdict, deque
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
        self,
        now: Callable[[], float],
        *,
        per_minute: int = 500,
        concurrent: int = 10,
        batches_per_minute: int = 40,
        batches_per_realm_minute: int = 120,
    ) -> None:
        super().__init__(now, per_window=per_minute, window_s=60)
        self.concurrent = concurrent
        self.batches_per_minute = batches_per_minute
        self.batches_per_realm_minute = batches_per_realm_minute
        # Send times of batch requests, by (realm, app) and by (realm, "").
        self.batches: dict[tuple[str, str], deque[float]] = defaultdict(deque)

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

    def enter_batch(self, realm_id: str, app: str) -> str | None:
        """Admit a batch request already admitted by `enter` and return None, or say why not."""
        with self.lock:
            now = self.now()
            by_app = limits.slide(self.batches[realm_id, app], now, self.window_s)
            by_realm = limits.slide(self.batches[realm_id, ""], now, self.window_s)
            if len(by_app) >= self.batches_per_minute:
                reason = (
                    f"More than {self.batches_per_minute} batches a minute for this company and app"
                )
            elif len(by_realm) >= self.batches_per_realm_minute:
                reason = (
                    f"More than {self.batches_per_realm_minute} batches a minute for this company"
                )
            else:
                by_app.append(now)
                by_realm.append(now)
                return None
            self.stats[realm_id].throttled += 1
            return reason

    def leave(self, realm_id: str) -> None:
        with self.lock:
            self.stats[realm_id].in_flight -= 1
