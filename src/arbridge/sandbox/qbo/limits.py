"""Intuit's throttles, and the faults a test or the demo switches on.

Throttles are per company: 500 requests in any 60 seconds and 10 in flight at
once; past either, a 429. Faults apply to API calls under /v3/ only:

    latency_ms    added to every call (while it counts as in flight)
    error_rate    the share of calls that fail, drawn from a seeded generator
    error_kinds   how they fail: "429", "500", "503" (answered at once, nothing
                  done) or "timeout" (the call is carried out, then held for
                  timeout_ms and answered 504, as when a gateway gives up on a
                  slow backend; a client with a shorter timeout sees its own)
Reference: https://developer.intuit.com/app/developer/qbo/docs/learn/rest-api-features#limits-and-throttles
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

ERROR_KINDS = ("429", "500", "503", "timeout")


@dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    error_kinds: list[str] = field(default_factory=lambda: ["500"])
    timeout_ms: int = 5000
    seed: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        """Return faults from the control API's body; raise ValueError if it is wrong."""
        unknown = set(data) - {*cls.__dataclass_fields__, "expire_tokens"}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        faults = cls(
            latency_ms=int(data.get("latency_ms", 0)),
            error_rate=float(data.get("error_rate", 0.0)),
            error_kinds=list(data.get("error_kinds", ["500"])),
            timeout_ms=int(data.get("timeout_ms", 5000)),
            seed=data.get("seed"),
        )
        if not 0 <= faults.error_rate <= 1:
            raise ValueError("error_rate is between 0 and 1")
        if not faults.error_kinds or set(faults.error_kinds) - set(ERROR_KINDS):
            raise ValueError(f"error_kinds are some of {', '.join(ERROR_KINDS)}")
        if faults.latency_ms < 0 or faults.timeout_ms < 0:
            raise ValueError("times are not negative")
        return faults

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RealmStats:
    requests: int = 0
    throttled: int = 0
    faults: int = 0
    in_flight: int = 0


class Limiter:
    """Per-company request counting: the sliding minute, the in-flight count, the faults."""

    def __init__(
        self, now: Callable[[], float], *, per_minute: int = 500, concurrent: int = 10
    ) -> None:
        self.now = now
        self.per_minute = per_minute
        self.concurrent = concurrent
        self.faults = Faults()
        self.random = random.Random()  # Chaos, not secrets.
        self.window: dict[str, deque[float]] = defaultdict(deque)
        self.stats: dict[str, RealmStats] = defaultdict(RealmStats)
        self.lock = threading.Lock()

    def configure(self, faults: Faults) -> None:
        with self.lock:
            self.faults = faults
            self.random = random.Random(faults.seed)

    def enter(self, realm_id: str) -> str | None:
        """Admit a call and return None, or return why it is throttled."""
        with self.lock:
            stats = self.stats[realm_id]
            stats.requests += 1
            now = self.now()
            window = self.window[realm_id]
            while window and window[0] <= now - 60:
                window.popleft()
            if stats.in_flight >= self.concurrent:
                reason = f"More than {self.concurrent} concurrent requests for this company"
            elif len(window) >= self.per_minute:
                reason = f"More than {self.per_minute} requests a minute for this company"
            else:
                window.append(now)
                stats.in_flight += 1
                return None
            stats.throttled += 1
            return reason

    def leave(self, realm_id: str) -> None:
        with self.lock:
            self.stats[realm_id].in_flight -= 1

    def draw(self, realm_id: str) -> tuple[float, str | None]:
        """Return the latency to add (seconds) and the fault to inject, if any."""
        with self.lock:
            faults = self.faults
            kind = None
            if faults.error_rate and self.random.random() < faults.error_rate:
                kind = self.random.choice(faults.error_kinds)
                self.stats[realm_id].faults += 1
            return faults.latency_ms / 1000, kind

    def throttle(self, realm_id: str) -> None:
        """Count a 429 served as an injected fault."""
        with self.lock:
            self.stats[realm_id].throttled += 1

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {
                "realms": {realm: asdict(stats) for realm, stats in self.stats.items()},
                "faults": self.faults.as_json(),
            }
