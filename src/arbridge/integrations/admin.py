from django.contrib import admin
from django.db.models import QuerySet

from arbridge.core.models import Connection
from arbridge.integrations import outbox
from arbridge.integrations.models import (
    ExceptionItem,
    ExternalRef,
    OutboundCommand,
    SyncCursor,
    SyncRun,
    WebhookEvent,
)
from arbridge.integrations.tasks import request_sync, retry_exception


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    """Credentials are set by the dashboard's connect flow; here only their names show."""

    list_display = ["__str__", "partner", "kind", "role", "status", "last_synced_at"]
    list_filter = ["kind", "status", "role"]
    search_fields = ["name", "kind", "remote_account", "partner__name"]
    exclude = ["credentials"]
    readonly_fields = ["credential_names", "last_synced_at", "created_at"]
    raw_id_fields = ["partner"]
    actions = ["sync_now"]

    @admin.display(description="Credentials")
    def credential_names(self, obj: Connection) -> str:
        return ", ".join(f"{name}: ••••" for name in sorted(obj.credentials)) or "none"

    @admin.action(description="Sync selected connections now")
    def sync_now(self, request, queryset: QuerySet[Connection]) -> None:
        for connection in queryset:
            request_sync(connection, SyncRun.Trigger.MANUAL)
        self.message_user(request, f"Requested a sync of {len(queryset)} connection(s).")


@admin.register(ExternalRef)
class ExternalRefAdmin(admin.ModelAdmin):
    list_display = ["entity", "remote_id", "local_id", "connection", "partner", "updated_at"]
    list_filter = ["entity"]
    search_fields = ["remote_id"]
    raw_id_fields = ["partner", "connection"]


@admin.register(SyncCursor)
class SyncCursorAdmin(admin.ModelAdmin):
    list_display = ["connection", "stream", "partner", "updated_at"]
    raw_id_fields = ["partner", "connection"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    """Runs are written by the sync job; read-only here."""

    list_display = [
        "pk",
        "connection",
        "partner",
        "trigger",
        "status",
        "created",
        "updated",
        "errors",
        "attempts",
        "queued_at",
        "finished_at",
    ]
    list_filter = ["status", "trigger"]
    date_hierarchy = "queued_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["pk", "source", "connection", "partner", "status", "received_at"]
    list_filter = ["source", "status"]
    search_fields = ["dedupe_key"]
    exclude = ["body"]
    readonly_fields = ["body_size"]

    @admin.display(description="Body")
    def body_size(self, obj: WebhookEvent) -> str:
        return f"{len(obj.body or b'')} bytes"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OutboundCommand)
class OutboundCommandAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "action",
        "connection",
        "partner",
        "status",
        "attempts",
        "next_attempt_at",
        "remote_id",
    ]
    list_filter = ["status", "action"]
    search_fields = ["idempotency_key", "remote_id"]
    actions = ["deliver_again"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Deliver selected dead commands again")
    def deliver_again(self, request, queryset: QuerySet[OutboundCommand]) -> None:
        revived = sum(outbox.requeue(command) for command in queryset)
        self.message_user(request, f"Queued {revived} command(s) for delivery.")


@admin.register(ExceptionItem)
class ExceptionItemAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "partner", "connection", "status", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["title", "reason", "remote_id"]
    raw_id_fields = ["partner", "connection", "command", "sync_run", "resolved_by"]
    actions = ["resolve", "retry"]

    @admin.action(description="Resolve selected exceptions")
    def resolve(self, request, queryset: QuerySet[ExceptionItem]) -> None:
        resolved = sum(item.resolve(request.user) for item in queryset)
        self.message_user(request, f"Resolved {resolved} exception(s).")

    @admin.action(description="Retry selected exceptions")
    def retry(self, request, queryset: QuerySet[ExceptionItem]) -> None:
        retried = sum(
            retry_exception(item, request.user) is not None for item in queryset if item.can_retry
        )
        self.message_user(request, f"Retried {retried} exception(s).")
