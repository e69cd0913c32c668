"""What the dashboard says of a polled connection: last poll, waiting work, last error."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from arbridge.core.models import Connection
from arbridge.integrations import registry
from arbridge.integrations.models import OutboundCommand
from arbridge.polling.models import PollSession

ACTION_NAMES = {
    "create_payment": "payments to record",
    "delete_payment": "payments to delete",
    "create_deposit": "deposits to record",
}


@dataclass(frozen=True)
class PollStatus:
    last_poll: PollSession | None
    last_error: PollSession | None  # the latest session that ended in, or met, an error
    waiting: dict[str, int] = field(default_factory=dict)

    @property
    def waiting_total(self) -> int:
        return sum(self.waiting.values())


def poll_status(connection: Connection) -> PollStatus | None:
    """Return the connection's poll status, or None if its vendor does not poll."""
    if not registry.is_polled(connection.kind):
        return None
    sessions = PollSession.objects.filter(connection=connection)
    last = sessions.order_by("-started_at", "-pk").first()
    pending = OutboundCommand.objects.filter(
        connection=connection,
        status__in=(OutboundCommand.Status.PENDING, OutboundCommand.Status.IN_FLIGHT),
    ).values_list("action", flat=True)
    waiting = Counter(ACTION_NAMES.get(action, action) for action in pending)
    errored = sessions.exclude(error="").order_by("-last_call_at", "-pk").first()
    return PollStatus(last_poll=last, last_error=errored, waiting=dict(waiting))
