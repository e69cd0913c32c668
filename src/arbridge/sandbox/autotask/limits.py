"""Autotask's request threshold, and the faults a test or the demo switches on.

Every integration on a database shares 10,000 requests in any hour; as use
nears it Autotask slows each call (about half a second from 50%, a second
from 75%: ../shared/DOMAIN.md, to verify), and past it calls are blocked,
answered 429 here. The added latency is off unless asked for, so tests do
not wait; `stats` says how much was added either way.
Reference: https://www.autotask.net/help/DeveloperHelp/Content/APIs/General/ThreadLimiting.htm

Faults apply to API calls only:

    latency_ms    added to every call
    error_rate    the share of calls that fail, from a seeded generator
    error_kinds   "429", "500", "503" (answered at once, nothing done) or
                  "timeout" (the call is carried out, then answered 504)
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

ERROR_KINDS = ("429", "500", "503", "timeout")
HOUR = dt.timedelta(hours=1)


@dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    error_kinds: list[str] = field(default_factory=lambda: ["500"])
    seed: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        """Return faults from the control API's body; raise ValueError if it is wrong."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        faults = cls(
            latency_ms=int(data.get("latency_ms", 0)),
            error_rate=float(data.get("error_rate", 0.0)),
            error_kinds=list(data.get("error_kinds", ["500"])),
            seed=data.get("seed"),
        )
        if not 0 <= faults.error_rate <= 1:
            raise ValueError("error_rate is between 0 and 1")
        if not faults.error_kinds or set(faults.error_kinds) - set(ERROR_KINDS):
            raise ValueError(f"error_kinds are some of {', '.join(ERROR_KINDS)}")
        return faults

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


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
        self.faults = Faults()
        self.random = random.Random()  # noqa: S311 - chaos, not secrets
        self.window: deque[dt.datetime] = deque()
        self.stats = Stats()
        self.lock = threading.Lock()

    def configure(self, faults: Faults) -> None:
        with self.lock:
            self.faults = faults
            self.random = random.Random(faults.seed)  # noqa: S311

    def admit(self) -> bool:
        """Count a call, slowed as the hour fills up; return False if it is blocked."""
        with self.lock:
            self.stats.requests += 1
            now = self.now()
            while self.window and self.window[0] <= now - HOUR:
                self.window.popleft()
            used = len(self.window) / self.per_hour
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
            if self.faults.error_rate and self.random.random() < self.faults.error_rate:
                self.stats.failed += 1
                return self.random.choice(self.faults.error_kinds)
            return None

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {
                **asdict(self.stats),
                "used_this_hour": len(self.window),
                "limit": {"requests": self.per_hour, "window_seconds": HOUR.total_seconds()},
                "faults": self.faults.as_json(),
            }
