"""Outbound webhook deliveries: queues flushed on a timer or on demand, in order.

Each sandbox's Notifier keeps a queue per destination (a company, a webhook,
an account), flushed `interval` seconds after the first item arrives (None:
only when asked, as tests and the control route do). One flush runs at a
time, so each queue's deliveries keep their order. A subclass says how a
queue is sent (`send`), posting with `post`; what failed goes back to the
front of its queue with `requeue`, for the next flush.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Hashable
from typing import Any

import httpx


class Deliveries:
    def __init__(self, *, interval: float | None, http: httpx.Client | None) -> None:
        self.interval = interval
        self.http = http or httpx.Client(timeout=5.0)
        self.pending: dict[Hashable, list[Any]] = defaultdict(list)
        self.delivered = 0
        self.failed = 0
        self.lock = threading.Lock()
        self.sending = threading.Lock()
        self.timer: threading.Timer | None = None

    def queue(self, key: Hashable, item: Any) -> None:
        with self.lock:
            self.pending[key].append(item)
            self._schedule(self.interval)

    def requeue(self, key: Hashable, items: list[Any], retry: int | None = None) -> None:
        """Put items back first in their queue; `retry` backs the timer off 2**retry intervals."""
        with self.lock:
            self.pending[key][:0] = items
            if retry is not None and self.interval is not None:
                self._schedule(self.interval * 2**retry)

    def _schedule(self, delay: float | None) -> None:
        if delay is not None and self.timer is None:
            self.timer = threading.Timer(delay, self.flush)
            self.timer.daemon = True
            self.timer.start()

    def flush(self) -> int:
        """Send everything pending now; return how many deliveries went."""
        with self.sending:
            with self.lock:
                queues, self.pending = self.pending, defaultdict(list)
                self.timer = None
            return sum(self.send(key, items) for key, items in queues.items())

    def send(self, key: Hashable, items: list[Any]) -> int:
        """Deliver one queue; return how many deliveries went."""
        raise NotImplementedError

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> bool:
        """POST one delivery; return whether the receiver took it (2xx)."""
        try:
            ok = self.http.post(url, content=body, headers=headers).is_success
        except httpx.HTTPError:
            ok = False
        with self.lock:
            if ok:
                self.delivered += 1
            else:
                self.failed += 1
        return ok

    def close(self) -> None:
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
