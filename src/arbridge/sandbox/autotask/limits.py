"""Autotask's request threshold, and the faults a test or the demo switches on.

Every integration on a database shares 10,000 requests in any hour; as use
nears it Autotask slows each call (about half a second from 50%, a second
from 75%: ../shared/DOMAIN.md, to verify), and past it calls are blocked,
answered 429 here. The added latency is off unless asked for, so tests do
not wait; `stats` says how much was added either way.
Reference: https://www.autotask.net/help/DeveloperHelp/Content/APIs/General/ThreadLimiting.htm

Faults (../common/faults.py) apply to API calls only; a "timeout" is carried
out, then answered 504 at once, so there is no timeout_ms.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from arbridge.sandbox.common.faults import Settings
from arbridge.sandbox.common.limits import Chaos, slide

HOUR = dt.timedelta(hours=1)


@dataclass
class Faults(Settings):
    latency_ms: int = 0
    error_rate: float = 0.0
    error_kinds: list[str] = field(default_factory=lambda: ["500"])
    seed: int | None = None


@dataclass
class Stats:
    requests: int = 0
    blocked: int = 0
    failed: int = 0
    added_latency_s: float = 0.0


class Limiter:
    """The database's sliding hour of requests, and the faults to inject."""

    def __init__(
        self, now: Callable[[], dt.datetime], *, per_hour: int, added_latency: bool = False
    ) -> None:
        self.now = now
        self.per_hour = per_hour
        self.added_latency = added_latency
        self.sleep: Callable[[float], None] = time.sleep
        self.chaos = Chaos(Faults())
        self.window: deque[float] = deque()
        self.stats = Stats()
        self.lock = threading.Lock()

    @property
    def faults(self) -> Faults:
        return self.chaos.faults

    def configure(self, faults: Faults) -> None:
        with self.lock:
            self.chaos.configure(faults)

    def admit(self) -> bool:
        """Count a call, slowed as the hour fills up; return False if it is blocked."""
        with self.lock:
            self.stats.requests += 1
            now = self.now().timestamp()
            used = len(slide(self.window, now, HOUR.total_seconds())) / self.per_hour
            if used >= 1:
                self.stats.blocked += 1
                return False
            self.window.append(now)
            delay = 1.0 if used >= 0.75 else 0.5 if used >= 0.5 else 0.0
            delay += self.faults.latency_ms / 1000
            self.stats.added_latency_s += delay
        if delay and (self.added_latency or self.faults.latency_ms):
            self.sleep(delay)
        return True

    def draw(self) -> str | None:
        """Return the fault to inject into this call, if any."""
        with self.lock:
            kind = self.chaos.pick()
            if kind:
                self.stats.failed += 1
            return kind

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {
                **asdict(self.stats),
                "used_this_hour": len(self.window),
                "limit": {"requests": self.per_hour, "window_seconds": HOUR.total_seconds()},
                "faults": self.faults.as_json(),
            }
