from django.contrib import admin

from arbridge.polling.models import PollSession


@admin.register(PollSession)
class PollSessionAdmin(admin.ModelAdmin):
    list_display = (
        "connection",
        "partner",
        "started_at",
        "last_call_at",
        "ended_at",
        "calls",
        "writes",
    )
    list_filter = ("ended_at",)
    readonly_fields = [f.name for f in PollSession._meta.fields]
    search_fields = ("error",)
