"""A partner's links to external systems, and the records of what passed through them.

Inbound work is recorded as WebhookEvent (the inbox) and SyncRun; outbound work
as OutboundCommand (the outbox). The database, not the job queue, is the record
of owed work: a job that dies is found again by the sweeper.
"""

import datetime as dt

from django.conf import settings
from django.db import models, transaction

from arbridge.core import clock
from arbridge.core.models import Connection, Partner, PartnerOwned
from arbridge.core.money import money_field
from arbridge.integrations import signals


class ExternalRef(PartnerOwned):
    """The link between a local row and its record in one connection."""

    class Entity(models.TextChoices):
        CUSTOMER = "customer"
        CONTACT = "contact"
        INVOICE = "invoice"
        PAYMENT = "payment"
        CREDIT = "credit"
        DEPOSIT = "deposit"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="refs")
    entity = models.CharField(max_length=16, choices=Entity.choices)
    remote_id = models.CharField(max_length=128)
    local_id = models.BigIntegerField()
    remote_version = models.CharField(max_length=64, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "entity", "remote_id"], name="one_ref_per_remote_record"
            )
        ]
        indexes = [models.Index(fields=["entity", "local_id"])]

    def __str__(self) -> str:
        return f"{self.entity} {self.remote_id} -> {self.local_id}"


class SyncCursor(PartnerOwned):
    """How far a connection's stream has been read; advanced with the data it covers."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="cursors")
    stream = models.CharField(max_length=64)
    value = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "stream"], name="one_cursor_per_stream")
        ]


class SyncRun(PartnerOwned):
    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        WEBHOOK = "webhook"
        MANUAL = "manual"
        INITIAL = "initial"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="sync_runs")
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(default=clock.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"Sync {self.pk} of {self.connection} ({self.status})"

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class WebhookEvent(PartnerOwned):
    """A vendor's delivery, its raw body stored once; processed by a job."""

    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSED = "processed"
        FAILED = "failed"

    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_events"
    )
    source = models.CharField(max_length=32, help_text="The connector kind that sent it.")
    dedupe_key = models.CharField(max_length=255)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=clock.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "dedupe_key"], name="one_event_per_key")
        ]
        ordering = ["-id"]

    @classmethod
    def store(
        cls, partner: Partner, source: str, dedupe_key: str, body: bytes, **fields
    ) -> tuple["WebhookEvent", bool]:
        """Store a delivery once; return the event and whether it was new."""
        with transaction.atomic():
            return cls.objects.get_or_create(
                source=source,
                dedupe_key=dedupe_key,
                defaults={"partner": partner, "body": body, **fields},
            )

    def finish(self, status: str, error: str = "") -> None:
        """Record how processing the delivery ended."""
        self.status, self.error, self.processed_at = status, error, clock.now()
        self.save(update_fields=["status", "error", "processed_at"])


class OutboundCommand(PartnerOwned):
    """One write owed to one connection (the outbox).

    pending -> in_flight -> done; a retryable failure goes back to pending with
    a later next_attempt_at; a permanent one, or too many attempts, is dead and
    raises an ExceptionItem a person can retry.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        IN_FLIGHT = "in_flight", "In flight"
        DONE = "done"
        FAILED = "failed"
        DEAD = "dead"

    MAX_ATTEMPTS = 8

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="outbound_commands"
    )
    action = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=128, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=clock.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    remote_id = models.CharField(max_length=128, blank=True)
    # The batch request (its request id) the command went or goes out in, kept
    # while its outcome is unknown, so that a resend is the same request; and
    # when that batch goes out (outbox.py).
    batch_key = models.CharField(max_length=50, blank=True, db_index=True)
    batched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["connection", "batched_at"]),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.action} -> {self.connection} ({self.status})"

    @classmethod
    def enqueue(
        cls, connection: Connection, action: str, payload: dict, idempotency_key: str
    ) -> "OutboundCommand":
        """Record a command owed, once per key; call inside the business transaction.

        Its delivery is enqueued when the transaction commits.
        """
        command, created = cls.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "partner_id": connection.partner_id,
                "connection": connection,
                "action": action,
                "payload": payload,
            },
        )
        if created:
            signals.on_commit(signals.delivery_due, command_id=command.pk, eta=None)
        return command


class ExceptionItem(PartnerOwned):
    """Something a person must look at and resolve (shown as an "exception")."""

    class Kind(models.TextChoices):
        MALFORMED_RECORD = "malformed_record", "Malformed record"
        WRITE_FAILED = "write_failed", "Write-back failed"
        SYNC_FAILED = "sync_failed", "Sync failed"
        CONFLICT = "conflict"
        DUPLICATE_NUMBER = "duplicate_number", "Duplicate invoice number"
        UNMATCHED = "unmatched", "Unmatched money"
        OTHER = "other"

    class Status(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"

    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.CASCADE, related_name="exceptions"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    title = models.CharField(max_length=255)
    reason = models.TextField(blank=True)
    raw_payload = models.TextField(blank=True, help_text="The record as received, verbatim.")
    entity = models.CharField(max_length=16, blank=True)
    remote_id = models.CharField(max_length=128, blank=True)
    local_id = models.BigIntegerField(null=True, blank=True)
    command = models.ForeignKey(
        OutboundCommand, null=True, blank=True, on_delete=models.SET_NULL, related_name="exceptions"
    )
    sync_run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="exceptions"
    )
    created_at = models.DateTimeField(default=clock.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["partner", "status", "id"])]
        verbose_name = "exception"

    def __str__(self) -> str:
        return self.title

    def resolve(self, user=None) -> bool:
        """Mark it resolved; return False if it already was (by anyone, even just now)."""
        now = clock.now()
        resolved = ExceptionItem.objects.filter(pk=self.pk, status=self.Status.OPEN).update(
            status=self.Status.RESOLVED, resolved_at=now, resolved_by=user
        )
        if resolved:
            self.status, self.resolved_at, self.resolved_by = self.Status.RESOLVED, now, user
        return bool(resolved)

    @property
    def can_retry(self) -> bool:
        return self.command_id is not None or self.connection_id is not None


class IntegrationPreferences(PartnerOwned):
    """A partner's preferences that span connections: external payments and the Sync Tool.

    One row per partner (`for_partner_of`). External payments sync is off by
    default; turned on, it mirrors QuickBooks Online payments recorded from
    `external_payments_since` on, so switching it on never replays the past.
    """

    class Mode(models.TextChoices):
        DISABLED = "disabled", "Disabled"
        ALL = "all", "All Invoices"
        SYNCED_ONLY = "synced_only", "Synced Invoices Only"

    external_payments = models.BooleanField("Enable external payments sync", default=False)
    external_payments_since = models.DateTimeField(null=True, blank=True)
    # When the last complete reconcile pass began (external_payments.reconcile).
    external_payments_reconciled_at = models.DateTimeField(null=True, blank=True)
    # The sync mode applies only once the Sync Tool is in use; until then every invoice syncs.
    sync_tool_in_use = models.BooleanField(default=False)
    sync_mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.ALL)
    sync_tool_item_id = models.CharField(max_length=32, blank=True)
    sync_tool_income_account_id = models.CharField(max_length=32, blank=True)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner"], name="one_preferences_per_partner")
        ]
        verbose_name_plural = "integration preferences"

    @classmethod
    def for_partner_of(cls, partner_id: int) -> "IntegrationPreferences":
        preferences, _ = cls.objects.get_or_create(partner_id=partner_id)
        return preferences

    @property
    def effective_mode(self) -> str:
        """Return the sync mode in force: every invoice while the Sync Tool is not in use."""
        return self.sync_mode if self.sync_tool_in_use else self.Mode.ALL


class SyncedInvoice(PartnerOwned):
    """An invoice a person copied from a PSA into QuickBooks Online with the Sync Tool."""

    invoice = models.OneToOneField(
        "ledger.Invoice", on_delete=models.CASCADE, related_name="synced_with_tool"
    )
    source = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    source_remote_id = models.CharField(max_length=128)
    command = models.ForeignKey(
        OutboundCommand, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    synced_at = models.DateTimeField(default=clock.now)
    synced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"Invoice {self.invoice_id} synced with the Sync Tool"


class MirroredPayment(PartnerOwned):
    """One QuickBooks Online payment's part on one invoice, and its ConnectWise counterpart.

    At most one row per (payment, invoice, target): redeliveries find it. A
    skipped row says why and is looked at again when something changes. An
    edit replaces the ConnectWise payment under the next `revision`, so each
    write has a key of its own.
    """

    class State(models.TextChoices):
        OWED = "owed", "Being written"
        MIRRORED = "mirrored", "Mirrored"
        LINKED = "linked", "Linked to a payment entered in ConnectWise"
        REMOVING = "removing", "Being removed"
        REMOVED = "removed", "Removed"
        SKIPPED = "skipped"

    class Reason(models.TextChoices):
        MODE = "mode", "Sync mode is Disabled"
        NOT_SYNCED_WITH_TOOL = "not_synced", "Invoice not synced with the Sync Tool"
        INVOICES_DIFFER = "differ", "Invoices differ"
        NOT_IN_TARGET = "missing", "Invoice not in ConnectWise"
        DISCONNECTED = "disconnected", "Integration disconnected"
        FAILED = "failed", "Could not write to ConnectWise"

    payment = models.ForeignKey("ledger.Payment", on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey("ledger.Invoice", on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    source_remote_id = models.CharField(max_length=128)
    amount = money_field()
    date = models.DateField()
    state = models.CharField(max_length=10, choices=State.choices)
    reason = models.CharField(max_length=12, choices=Reason.choices, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    target_invoice_id = models.CharField(max_length=128, blank=True)
    # "invoice id/payment id" in ConnectWise, once written or linked.
    remote_id = models.CharField(max_length=128, blank=True)
    revision = models.PositiveIntegerField(default=0)
    command = models.ForeignKey(
        OutboundCommand, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "invoice", "target"], name="one_mirror_per_payment_line"
            )
        ]
        indexes = [models.Index(fields=["partner", "state", "id"])]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.amount} of payment {self.payment_id} on invoice {self.invoice_id}"
