from django.contrib import admin

from arbridge.core.models import ApiKey, AuditEntry, Membership, Partner


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "support_email", "default_currency", "created_at"]
    search_fields = ["name", "slug", "support_email"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "partner", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "partner__name"]
    raw_id_fields = ["user", "partner"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are issued in the dashboard, where the secret is shown once; here they can be
    inspected and revoked. The hash is left out: it identifies a key, and is no use to show."""

    list_display = ["name", "partner", "prefix", "created_by", "created_at", "last_used_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "partner__name"]
    fields = ["partner", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = [
        "partner",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset) -> None:
        for key in queryset:
            key.revoke()
        self.message_user(request, f"Revoked {len(queryset)} key(s).")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log, read-only: entries are written by the actions they record."""

    list_display = ["created_at", "partner", "actor", "action", "target"]
    list_filter = ["action"]
    search_fields = ["action", "target", "partner__name", "actor__username"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
