"""Counting a sandbox's API calls against its vendor's limit, and drawing faults to inject.

Each vendor limits calls per account (a QuickBooks company, a Halo tenant) in a
sliding window: at most `per_window` calls in any `window_s` seconds.
"""

from __future__ import annotations

import math
import random
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from arbridge.sandbox.common.faults import Faults, Settings


def slide(window: deque[float], now: float, seconds: float) -> deque[float]:
    """Drop the calls that have left the window of the last `seconds`; return the window."""
    while window and window[0] <= now - seconds:
        window.popleft()
    return window


class Chaos:
    """The faults switched on, and the seeded generator that picks the calls that fail.

    Not locked: the limiter that holds it draws under its own lock.
    """

    def __init__(self, faults: Settings) -> None:
        self.faults = faults
        self.random = random.Random()  # noqa: S311 - chaos, not secrets

    def configure(self, faults: Settings) -> None:
        self.faults = faults
        self.random = random.Random(faults.seed)  # noqa: S311

    def pick(self) -> str | None:
        """Return the fault to inject into a call, if one is drawn."""
        if self.faults.error_rate and self.random.random() < self.faults.error_rate:
            return self.random.choice(self.faults.error_kinds)
        return None


@dataclass
class Stats:
    requests: int = 0
    throttled: int = 0
    faults: int = 0


class Limiter:
    """Per-account call counting: the sliding window, and the faults to inject."""

    accounts = "accounts"  # what the report calls them ("realms", "tenants")
    stats_class: type[Stats] = Stats

    def __init__(self, now: Callable[[], float], *, per_window: int, window_s: float) -> None:
        self.now = now
        self.per_window = per_window
        self.window_s = window_s
        self.chaos = Chaos(Faults())
        self.window: dict[str, deque[float]] = defaultdict(deque)
        self.stats: dict[str, Stats] = defaultdict(self.stats_class)
        self.lock = threading.Lock()

    @property
    def faults(self) -> Faults:
        return self.chaos.faults

    def configure(self, faults: Faults) -> None:
        with self.lock:
            self.chaos.configure(faults)

    def admit(self, account: str) -> int | None:
        """Count a call and return None, or return the seconds to wait if it is over the limit."""
        with self.lock:
            stats = self.stats[account]
            stats.requests += 1
            now = self.now()
            window = slide(self.window[account], now, self.window_s)
            if len(window) < self.per_window:
                window.append(now)
                return None
            stats.throttled += 1
            return max(1, math.ceil(window[0] + self.window_s - now))

    def draw(self, account: str) -> tuple[float, str | None]:
        """Return the latency to add (seconds) and the fault to inject, if any."""
        with self.lock:
            kind = self.chaos.pick()
            if kind:
                self.stats[account].faults += 1
                if kind == "429":
                    self.stats[account].throttled += 1
            return self.faults.latency_ms / 1000, kind

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {
                self.accounts: {name: asdict(stats) for name, stats in self.stats.items()},
                "faults": self.faults.as_json(),
                "limit": {"requests": self.per_window, "window_seconds": self.window_s},
            }
