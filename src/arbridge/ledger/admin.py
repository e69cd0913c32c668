"""The ledger in the admin: read-mostly, since money moves only through the ledger's methods.

Every page shows its rows; none adds, edits or deletes them, which would step
around the invariants in ledger/models.py. The one change offered is archiving
customers and invoices, through their own archive() methods.
"""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from arbridge.ledger.models import (
    Contact,
    Credit,
    Customer,
    Deposit,
    DepositLine,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
)


class ReadOnly:
    """Offer no add, change or delete; the view permission still shows every field."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    pass


class ReadOnlyInline(ReadOnly, admin.TabularInline):
    extra = 0


class ArchiveAdmin(ReadOnlyAdmin):
    """Read-only, with an action that archives the selected rows."""

    actions = ["archive"]

    def has_archive_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Archive selected (nothing is deleted in any source)")
    def archive(self, request: HttpRequest, queryset: QuerySet) -> None:
        for row in queryset:
            row.archive()
        self.message_user(request, f"Archived {len(queryset)}.")

    archive.allowed_permissions = ("archive",)


class ContactInline(ReadOnlyInline):
    model = Contact
    fields = ["name", "email", "phone", "is_billing"]


@admin.register(Customer)
class CustomerAdmin(ArchiveAdmin):
    list_display = ["name", "partner", "email", "is_unknown", "archived", "updated_at"]
    list_filter = ["partner", "archived"]
    search_fields = ["name", "email"]
    inlines = [ContactInline]

    @admin.display(boolean=True, description="Unknown")
    def is_unknown(self, customer: Customer) -> bool:
        return customer.is_unknown


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "customer", "partner", "email", "is_billing"]
    list_filter = ["partner", "is_billing"]
    search_fields = ["name", "email", "customer__name"]


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ["position", "item", "description", "quantity", "unit_price", "amount"]


class InvoiceAllocationInline(ReadOnlyInline):
    model = PaymentAllocation
    fields = ["payment", "amount"]
    verbose_name_plural = "payments applied"


class CreditInline(ReadOnlyInline):
    model = Credit
    fields = ["amount", "date", "reference", "connection"]


@admin.register(Invoice)
class InvoiceAdmin(ArchiveAdmin):
    list_display = [
        "number",
        "partner",
        "customer",
        "total",
        "balance",
        "currency",
        "status",
        "due_date",
        "archived",
    ]
    list_filter = ["partner", "status", "currency", "archived", "connection"]
    search_fields = ["number", "customer__name"]
    date_hierarchy = "issue_date"
    list_select_related = ["partner", "customer"]
    inlines = [InvoiceLineInline, InvoiceAllocationInline, CreditInline]


class PaymentAllocationInline(ReadOnlyInline):
    model = PaymentAllocation
    fields = ["invoice", "amount"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "partner",
        "customer",
        "amount",
        "currency",
        "method",
        "status",
        "origin",
        "date",
    ]
    list_filter = ["partner", "status", "origin", "method", "currency"]
    search_fields = ["reference", "processor_reference", "customer__name"]
    date_hierarchy = "date"
    list_select_related = ["partner", "customer"]
    inlines = [PaymentAllocationInline]


@admin.register(PaymentAllocation)
class PaymentAllocationAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "partner", "payment", "invoice", "amount"]
    list_filter = ["partner", "payment__status"]
    search_fields = ["invoice__number", "payment__reference"]


@admin.register(Credit)
class CreditAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "partner", "invoice", "amount", "currency", "date"]
    list_filter = ["partner", "currency"]
    search_fields = ["reference", "invoice__number"]


class DepositLineInline(ReadOnlyInline):
    model = DepositLine
    fields = ["kind", "payment", "amount", "description"]


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "partner", "amount", "currency", "date", "is_balanced"]
    list_filter = ["partner", "currency"]
    search_fields = ["processor_reference"]
    date_hierarchy = "date"
    inlines = [DepositLineInline]

    @admin.display(boolean=True, description="Lines add up")
    def is_balanced(self, deposit: Deposit) -> bool:
        return deposit.is_balanced()
