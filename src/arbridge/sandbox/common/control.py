"""The sandboxes' own control API (/_sandbox/...): its bodies, and switching faults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from werkzeug.wrappers import Request

from arbridge.sandbox.common.faults import Faults


class Configurable(Protocol):
    def configure(self, faults: Faults) -> None: ...


class Notifying(Protocol):
    delivered: int
    failed: int
    pending: dict[Any, list[Any]]


def body(request: Request) -> dict[str, Any]:
    """Return a control call's JSON object (empty if there is no body); ValueError if not one."""
    data = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def switch_faults(
    limiter: Configurable, request: Request, expire_tokens: Callable[[], Any]
) -> dict[str, Any]:
    """Switch on the faults a POST asks for and return the answer; ValueError if it is wrong.

    `"expire_tokens": true` in the body also expires every access token now,
    through `expire_tokens`, so a test can watch a client refresh.
    """
    settings = body(request)
    faults = Faults.from_json(settings)
    limiter.configure(faults)
    answer = faults.as_json()
    if settings.get("expire_tokens"):
        answer["expired_tokens"] = expire_tokens()
    return answer


def webhook_stats(notifier: Notifying) -> dict[str, int]:
    """Return how the sandbox's webhook deliveries stand, for /_sandbox/stats."""
    return {
        "delivered": notifier.delivered,
        "failed": notifier.failed,
        "pending": sum(len(events) for events in notifier.pending.values()),
    }
