"""Halo's request limit, and the faults a test or the demo switches on.

The limit is per tenant: 450 API requests in any 5 minutes; past it, a 429
whose Retry-After says when the oldest request in the window leaves it.
Reference: https://wiki.mspbots.ai (HaloPSA rate limits; see ../shared/DOMAIN.md, "verify")

Faults apply to /api/ calls only:

    latency_ms    added to every call
    error_rate    the share of calls that fail, drawn from a seeded generator
    error_kinds   how they fail: "429", "500", "503" (answered at once, nothing
                  done) or "timeout" (the call is carried out, then held for
                  timeout_ms and answered 504, as a gateway giving up would)
"""

from __future__ import annotations

import math
import random
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

ERROR_KINDS = ("429", "500", "503", "timeout")
REQUESTS_PER_WINDOW = 450
WINDOW_SECONDS = 300.0


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
class TenantStats:
    requests: int = 0
    throttled: int = 0
    faults: int = 0


class Limiter:
    """Per-tenant request counting: the sliding window, and the faults to inject."""

    def __init__(
        self,
        now: Callable[[], float],
        *,
        per_window: int = REQUESTS_PER_WINDOW,
        window_s: float = WINDOW_SECONDS,
    ) -> None:
        self.now = now
        self.per_window = per_window
        self.window_s = window_s
        self.faults = Faults()
        self.random = random.Random()  # noqa: S311 - chaos, not secrets
        self.window: dict[str, deque[float]] = defaultdict(deque)
        self.stats: dict[str, TenantStats] = defaultdict(TenantStats)
        self.lock = threading.Lock()

    def configure(self, faults: Faults) -> None:
        with self.lock:
            self.faults = faults
            self.random = random.Random(faults.seed)  # noqa: S311

    def admit(self, tenant: str) -> int | None:
        """Count a call and return None, or return the seconds to wait if it is over the limit."""
        with self.lock:
            stats = self.stats[tenant]
            stats.requests += 1
            now = self.now()
            window = self.window[tenant]
            while window and window[0] <= now - self.window_s:
                window.popleft()
            if len(window) < self.per_window:
                window.append(now)
                return None
            stats.throttled += 1
            return max(1, math.ceil(window[0] + self.window_s - now))

    def draw(self, tenant: str) -> tuple[float, str | None]:
        """Return the latency to add (seconds) and the fault to inject, if any."""
        with self.lock:
            faults = self.faults
            kind = None
            if faults.error_rate and self.random.random() < faults.error_rate:
                kind = self.random.choice(faults.error_kinds)
                self.stats[tenant].faults += 1
                if kind == "429":
                    self.stats[tenant].throttled += 1
            return faults.latency_ms / 1000, kind

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {
                "tenants": {name: asdict(stats) for name, stats in self.stats.items()},
                "faults": self.faults.as_json(),
                "limit": {"requests": self.per_window, "window_seconds": self.window_s},
            }
