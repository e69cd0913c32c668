"""The Django side of a polled connector's sessions: the Host of connectors/polled.py.

What lasts between the vendor's calls lives here: the session (PollSession,
found by the digest of its ticket), the connection's cursor (SyncCursor),
the owed writes (OutboundCommand, left pending by the outbox for polled
kinds) and the sync run a session's reads are counted in. Changes are
applied by the sync engine, batch and checkpoint in one transaction, as a
pulled sync's are; a write's outcome goes through the outbox's own verbs.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

import httpx
from django.db import transaction
from django.db.models import F

from arbridge.connectors.base import Change, Command, ConnectorError, Cursor, Rejected, RemoteRef
from arbridge.core import clock
from arbridge.core.models import Connection
from arbridge.integrations import outbox, registry, sync
from arbridge.integrations.connect import build_connector, http_client
from arbridge.integrations.models import OutboundCommand, SyncCursor, SyncRun
from arbridge.integrations.tasks import finish_run
from arbridge.polling.models import PollSession, ticket_digest

LIVE = (Connection.Status.CONNECTED, Connection.Status.ERROR)
# Owed writes handed to one session at most; the rest wait for the next.
MAX_OWED = 200
ABANDONED = "The Web Connector went away mid-session; the next poll picked up where it stopped."
# Sessions older than this are forgotten when the connection's next one starts.
KEEP = dt.timedelta(days=30)


class DjangoHost:
    """The sessions of one polled kind, for the calls of one HTTP request."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.connector_class = registry.load(kind)
        self.http: httpx.Client | None = None  # polled connectors call no one; built on demand
        self.sessions: dict[str, PollSession] = {}

    def close_http(self) -> None:
        if self.http is not None:
            self.http.close()

    def session(self, ticket: str) -> PollSession | None:
        if ticket not in self.sessions:
            found = (
                PollSession.objects.select_related("connection", "run")
                .filter(ticket_digest=ticket_digest(ticket), ended_at__isnull=True)
                .first()
            )
            if found is None or found.connection.status not in LIVE:
                return None
            self.sessions[ticket] = found
        return self.sessions[ticket]

    # -- the Host protocol ------------------------------------------------------

    def open(self, username: str, password: str) -> str | None:
        if not username or not password:
            return None
        candidates = Connection.objects.filter(
            kind=self.kind, remote_account=username, status__in=LIVE
        )
        for connection in candidates:
            if self.connector_class.password_matches(password, connection.credentials):
                return self.start(connection)
        return None

    def start(self, connection: Connection) -> str:
        now = clock.now()
        ticket = secrets.token_urlsafe(24)
        with transaction.atomic():
            PollSession.objects.filter(connection=connection, started_at__lt=now - KEEP).delete()
            for stale in PollSession.objects.filter(connection=connection, ended_at__isnull=True):
                stale.ended_at, stale.error = now, stale.error or ABANDONED
                stale.save(update_fields=["ended_at", "error"])
                if stale.run is not None and stale.run.status == SyncRun.Status.RUNNING:
                    finish_run(stale.run, ABANDONED)
            PollSession.objects.create(
                partner_id=connection.partner_id,
                connection=connection,
                ticket_digest=ticket_digest(ticket),
                started_at=now,
                last_call_at=now,
            )
        return ticket

    def connector(self, ticket: str) -> Any | None:
        session = self.session(ticket)
        if session is None:
            return None
        self.http = self.http or http_client()
        return build_connector(session.connection, self.http)

    def state(self, ticket: str) -> dict[str, Any]:
        session = self.session(ticket)
        return dict(session.state) if session else {}

    def save(self, ticket: str, state: dict[str, Any]) -> None:
        if (session := self.session(ticket)) is None:
            return
        session.state, session.last_call_at = state, clock.now()
        PollSession.objects.filter(pk=session.pk).update(
            state=state, last_call_at=session.last_call_at, calls=F("calls") + 1
        )

    def cursors(self, ticket: str) -> list[Cursor]:
        session = self.session(ticket)
        stored = SyncCursor.objects.filter(connection=session.connection).order_by("stream")
        return [Cursor(c.stream, c.value) for c in stored]

    def owed(self, ticket: str) -> Sequence[Command]:
        session = self.session(ticket)
        commands = OutboundCommand.objects.filter(
            outbox.claimable(clock.now()), connection=session.connection
        ).order_by("pk")[:MAX_OWED]
        return [Command(c.action, c.payload, c.idempotency_key) for c in commands]

    def apply(self, ticket: str, items: Sequence[Change | Rejected | Cursor]) -> None:
        session = self.session(ticket)
        changes = [item for item in items if not isinstance(item, Cursor)]
        cursors = [item for item in items if isinstance(item, Cursor)]
        sync.commit(
            self.run(session),
            self.connector_class.capabilities,
            changes,
            cursors[-1] if cursors else None,
        )

    def run(self, session: PollSession) -> SyncRun:
        """Return the sync run the session's reads count in: one owed already, or a new one."""
        if session.run is not None:
            return session.run
        now = clock.now()
        run = (
            SyncRun.objects.filter(connection=session.connection, status=SyncRun.Status.QUEUED)
            .order_by("pk")
            .first()
        ) or SyncRun(
            partner_id=session.partner_id,
            connection=session.connection,
            trigger=SyncRun.Trigger.SCHEDULE,
        )
        run.status, run.started_at, run.heartbeat_at = SyncRun.Status.RUNNING, now, now
        run.attempts += 1
        run.save()
        session.run = run
        PollSession.objects.filter(pk=session.pk).update(run=run)
        return run

    def written(self, ticket: str, key: str, result: RemoteRef | ConnectorError) -> None:
        session = self.session(ticket)
        command = OutboundCommand.objects.filter(
            connection=session.connection, idempotency_key=key
        ).first()
        if command is None:
            return
        now = clock.now()
        # Taken as a delivery job takes it, so the outbox's verbs apply as they do to any.
        OutboundCommand.objects.filter(pk=command.pk).update(
            status=OutboundCommand.Status.IN_FLIGHT,
            attempts=F("attempts") + 1,
            locked_until=now + outbox.lease(),
            updated_at=now,
        )
        command.refresh_from_db()
        if isinstance(result, RemoteRef):
            outbox.succeed(command, result.remote_id, result.remote_version)
            PollSession.objects.filter(pk=session.pk).update(writes=F("writes") + 1)
        elif result.permanent:
            outbox.kill(command, str(result))
        else:
            outbox.retry_later(command, str(result), result.retry_after)

    def failed(self, ticket: str, message: str) -> None:
        if (session := self.session(ticket)) is None:
            return
        session.error = message[:2000]
        PollSession.objects.filter(pk=session.pk).update(error=session.error)

    def close(self, ticket: str) -> None:
        if (session := self.session(ticket)) is None:
            return
        session.ended_at = clock.now()
        PollSession.objects.filter(pk=session.pk).update(ended_at=session.ended_at)
        if session.run is not None:
            session.run.refresh_from_db()
            if session.run.status == SyncRun.Status.RUNNING:
                reads = session.state.get("read") or {}
                read_all = reads.get("entity", "") is None and not reads.get("stopped")
                error = (
                    "" if read_all else session.error or "The session ended before the reads did."
                )
                finish_run(session.run, error)
        del self.sessions[ticket]
