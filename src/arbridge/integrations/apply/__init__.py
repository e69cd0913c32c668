"""How each kind of record from a source is applied to the ledger.

One Applier per entity: `upsert` and `delete` apply one change (the batch's
caches make them cheap), and `create_many`, where there is one, creates the
records new to arbridge in a few statements, as an initial sync needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from arbridge.connectors.base import Change
from arbridge.integrations.apply import customers, invoices, payments
from arbridge.integrations.apply.batch import Batch, Key
from arbridge.integrations.models import ExternalRef


@dataclass(frozen=True)
class Applier:
    upsert: Callable[[Batch, Change, ExternalRef | None], str]
    delete: Callable[[Batch, Change, ExternalRef | None], str]
    create_many: Callable[[Batch, list[Change]], list[str | None]] | None = None
    prefetch: Callable[[Batch, list[Key]], None] | None = None


# In the order a batch applies them: a record comes after those it names.
APPLIERS: dict[str, Applier] = {
    "customer": Applier(
        customers.upsert_customer,
        customers.delete_customer,
        customers.create_customers,
        customers.prefetch_customers,
    ),
    "contact": Applier(
        customers.upsert_contact, customers.delete_contact, customers.create_contacts
    ),
    "invoice": Applier(
        invoices.upsert_invoice,
        invoices.delete_invoice,
        invoices.create_invoices,
        invoices.prefetch_invoices,
    ),
    "credit": Applier(payments.upsert_credit, payments.delete_credit),
    "payment": Applier(payments.upsert_payment, payments.delete_payment, payments.create_payments),
}
