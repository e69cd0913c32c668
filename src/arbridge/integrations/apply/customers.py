"""Apply customers and contacts from a source.

A customer deleted in the source is archived where the connector declares
archive-on-delete and otherwise only marked, for a person to archive. Under a
billing-contacts-only connector, a contact that is not (or stops being) a
billing contact is not kept.
"""

from __future__ import annotations

from arbridge.connectors.base import Change, ContactRecord, ContactScope, CustomerRecord
from arbridge.integrations.apply.batch import (
    CREATED,
    DELETED,
    UNCHANGED,
    UPDATED,
    Batch,
    Invalid,
    Key,
    assign,
    email,
    record_of,
    text,
)
from arbridge.integrations.apply.insert import insert_objects
from arbridge.integrations.models import ExternalRef
from arbridge.ledger.models import Contact, Customer

# -- customers -----------------------------------------------------------------


def customer_values(change: Change) -> dict:
    record = record_of(change, CustomerRecord)
    return {
        "name": text(record.name, "name", 255, required=True),
        "email": email(record.email),
        "phone": text(record.phone, "phone", 50),
        "billing_state": text(record.billing_state, "billing state", 2).upper(),
        "billing_country": text(record.billing_country, "billing country", 2).upper(),
    }


def prefetch_customers(batch: Batch, keys: list[Key]) -> None:
    batch.prefetch(Customer, keys)


def create_customers(batch: Batch, changes: list[Change]) -> list[str | None]:
    """Create customers new to arbridge in one statement; return each change's outcome."""
    outcomes: list[str | None] = []
    created: list[tuple[Change, Customer]] = []
    for change in changes:
        try:
            values = customer_values(change)
        except Invalid as e:
            outcomes.append(batch.quarantine(e.kind, change, str(e)))
            continue
        customer = Customer(
            partner_id=batch.partner_id, created_at=batch.now, updated_at=batch.now, **values
        )
        created.append((change, customer))
        outcomes.append(CREATED)
    insert_objects([customer for _, customer in created])
    batch.link_many("customer", [(change, customer.pk) for change, customer in created])
    return outcomes


def upsert_customer(batch: Batch, change: Change, ref: ExternalRef | None) -> str:
    values = customer_values(change)
    customer = batch.row(Customer, ref)
    if customer is None:
        customer = Customer.objects.create(
            partner_id=batch.partner_id, created_at=batch.now, updated_at=batch.now, **values
        )
        batch.link("customer", change.remote_id, customer.pk, change)
        return CREATED
    # Back in the source after a delete: unmark it (archiving stays a person's call).
    changed = assign(customer, {**values, "source_deleted_at": None})
    if changed:
        customer.updated_at = batch.now
        customer.save(update_fields=[*changed, "updated_at"])
    batch.stamp(ref, change)
    return UPDATED if changed else UNCHANGED


def delete_customer(batch: Batch, change: Change, ref: ExternalRef | None) -> str:
    customer = batch.row(Customer, ref)
    if customer is None or ref.deleted_at is not None:
        return UNCHANGED
    customer.source_deleted_at = batch.now
    customer.save(update_fields=["source_deleted_at"])
    if batch.capabilities.archive_on_source_delete:
        customer.archive()
    batch.stamp(ref, change)
    return DELETED


# -- contacts ------------------------------------------------------------------


def is_kept(batch: Batch, record: ContactRecord) -> bool:
    return record.is_billing or batch.capabilities.contact_scope == ContactScope.ALL


def contact_values(batch: Batch, record: ContactRecord) -> dict:
    values = {
        "name": text(record.name, "name", 255),
        "email": email(record.email),
        "phone": text(record.phone, "phone", 50),
        "is_billing": record.is_billing,
    }
    # Validate before resolving the customer, which may create a placeholder.
    return {**values, "customer_id": batch.customer_id(record.customer_remote_id)}


def create_contacts(batch: Batch, changes: list[Change]) -> list[str | None]:
    """Create contacts new to arbridge in one statement; return each change's outcome."""
    outcomes: list[str | None] = []
    created: list[tuple[Change, Contact]] = []
    for change in changes:
        try:
            record = record_of(change, ContactRecord)
            if not is_kept(batch, record):
                outcomes.append(UNCHANGED)
                continue
            values = contact_values(batch, record)
        except Invalid as e:
            outcomes.append(batch.quarantine(e.kind, change, str(e)))
            continue
        created.append(
            (change, Contact(partner_id=batch.partner_id, updated_at=batch.now, **values))
        )
        outcomes.append(CREATED)
    insert_objects([contact for _, contact in created])
    batch.link_many("contact", [(change, contact.pk) for change, contact in created])
    return outcomes


def upsert_contact(batch: Batch, change: Change, ref: ExternalRef | None) -> str:
    record = record_of(change, ContactRecord)
    contact = batch.row(Contact, ref)
    if not is_kept(batch, record):
        # No longer a billing contact: it goes, as a deleted one would.
        return remove_contact(batch, change, ref, contact)
    values = contact_values(batch, record)
    if contact is None:
        contact = Contact.objects.create(
            partner_id=batch.partner_id, updated_at=batch.now, **values
        )
        batch.link("contact", change.remote_id, contact.pk, change)
        return CREATED
    changed = assign(contact, values)
    if changed:
        contact.updated_at = batch.now
        contact.save(update_fields=[*changed, "updated_at"])
    batch.stamp(ref, change)
    return UPDATED if changed else UNCHANGED


def delete_contact(batch: Batch, change: Change, ref: ExternalRef | None) -> str:
    return remove_contact(batch, change, ref, batch.row(Contact, ref))


def remove_contact(
    batch: Batch, change: Change, ref: ExternalRef | None, contact: Contact | None
) -> str:
    if contact is None:
        return UNCHANGED
    contact.delete()
    batch.stamp(ref, change, deleted=True)
    return DELETED
