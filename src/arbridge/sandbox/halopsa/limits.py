"""Halo's request limit, and the faults a test or the demo switches on.

The limit is per tenant: 450 API requests in any 5 minutes; past it, a 429
whose Retry-After says when the oldest request in the window leaves it.
Reference: https://wiki.mspbots.ai (HaloPSA rate limits; see ../shared/DOMAIN.md, "verify")

Faults (../common/faults.py) apply to /api/ calls only; a "timeout" is held
for timeout_ms and answered 504, as a gateway giving up would.
"""

from __future__ import annotations

from collections.abc import Callable

from arbridge.sandbox.common import limits

REQUESTS_PER_WINDOW = 450
WINDOW_SECONDS = 300.0


class Limiter(limits.Limiter):
    """Per-tenant request counting: the sliding window, and the faults to inject."""

    accounts = "tenants"

    def __init__(
        self,
        now: Callable[[], float],
        *,
        per_window: int = REQUESTS_PER_WINDOW,
        window_s: float = WINDOW_SECONDS,
    ) -> None:
        super().__init__(now, per_window=per_window, window_s=window_s)
