"""run_sync against a scripted connector: checkpoints, failures, quarantine, counters.

The scripted connector is the outer edge: it reads QuickBooks-shaped JSON
pages and maps them to canonical changes as a real connector would. The other
test_sync_*.py modules import it from here.
"""

import datetime as dt
import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from arbridge.connectors.base import (
    Capabilities,
    Change,
    ContactRecord,
    ContactScope,
    CreditRecord,
    Cursor,
    CustomerRecord,
    InvoiceLineRecord,
    InvoiceRecord,
    Op,
    PaymentRecord,
    Rejected,
    RetryableError,
)
from arbridge.core.models import Connection
from arbridge.integrations.models import (
    ExceptionItem,
    ExternalRef,
    OutboundCommand,
    SyncCursor,
    SyncRun,
)
from arbridge.integrations.sync import run_sync
from arbridge.ledger.models import Customer, Invoice, InvoiceLine, Payment

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

# -- vendor JSON, shaped like QuickBooks Online's ---------------------------------


def meta(version: str, minutes: int | None) -> dict:
    payload = {"SyncToken": version}
    if minutes is not None:
        updated = T0 + dt.timedelta(minutes=minutes)
        payload["MetaData"] = {"LastUpdatedTime": updated.isoformat()}
    return payload


def customer(id: str, name: str = "Bluebird Dental", version="0", at=None, **extra) -> dict:
    return {"Id": id, "DisplayName": name, **meta(version, at), **extra}


def contact(id: str, customer: str, email: str, billing=True, version="0", at=None) -> dict:
    return {
        "Id": id,
        "CustomerRef": {"value": customer},
        "Email": email,
        "IsBilling": billing,
        **meta(version, at),
    }


def invoice(
    id: str,
    number: str,
    total,
    balance=None,
    customer: str | None = "1",
    version="0",
    at=None,
    lines=None,
    **extra,
) -> dict:
    lines = lines if lines is not None else [("Managed services", total)]
    payload = {
        "Id": id,
        "DocNumber": number,
        "TxnDate": "2026-03-01",
        "DueDate": "2026-03-31",
        "TotalAmt": str(total),
        "Balance": str(total if balance is None else balance),
        "Line": [
            {"Description": d, "Amount": str(a), "SalesItemLineDetail": {"Qty": 1}}
            for d, a in lines
        ],
        **meta(version, at),
        **extra,
    }
    if customer is not None:
        payload["CustomerRef"] = {"value": customer}
    return payload


def payment(id: str, amount, applied: dict, customer="1", version="0", at=None) -> dict:
    return {
        "Id": id,
        "CustomerRef": {"value": customer},
        "TotalAmt": str(amount),
        "TxnDate": "2026-03-05",
        "Line": [
            {"Amount": str(a), "LinkedTxn": [{"TxnId": inv, "TxnType": "Invoice"}]}
            for inv, a in applied.items()
        ],
        **meta(version, at),
    }


def credit(id: str, invoice_id: str, amount, version="0", at=None) -> dict:
    return {
        "Id": id,
        "InvoiceRef": {"value": invoice_id},
        "TotalAmt": str(amount),
        "TxnDate": "2026-03-06",
        **meta(version, at),
    }


def deleted(id: str, version: str = "9", at=None) -> dict:
    return {"Id": id, "status": "Deleted", **meta(version, at)}


# -- the mapping a connector would hold -------------------------------------------


def read_customer(p: dict) -> CustomerRecord:
    return CustomerRecord(
        name=p["DisplayName"], email=p.get("PrimaryEmailAddr", {}).get("Address", "")
    )


def read_contact(p: dict) -> ContactRecord:
    return ContactRecord(
        customer_remote_id=p["CustomerRef"]["value"], email=p["Email"], is_billing=p["IsBilling"]
    )


def read_invoice(p: dict) -> InvoiceRecord:
    return InvoiceRecord(
        number=p["DocNumber"],
        customer_remote_id=p.get("CustomerRef", {}).get("value"),
        currency=p.get("CurrencyRef", {}).get("value", "USD"),
        issue_date=p["TxnDate"],
        due_date=p.get("DueDate"),
        memo=p.get("PrivateNote", ""),
        total=Decimal(p["TotalAmt"]),
        balance=Decimal(p["Balance"]),
        voided=p.get("PrivateNote", "").startswith("Voided"),
        lines=tuple(
            InvoiceLineRecord(description=line["Description"], amount=Decimal(line["Amount"]))
            for line in p["Line"]
        ),
    )


def read_payment(p: dict) -> PaymentRecord:
    return PaymentRecord(
        customer_remote_id=p["CustomerRef"]["value"],
        amount=Decimal(p["TotalAmt"]),
        date=p["TxnDate"],
        method="check",
        allocations=[
            {"invoice_remote_id": line["LinkedTxn"][0]["TxnId"], "amount": Decimal(line["Amount"])}
            for line in p["Line"]
        ],
    )


def read_credit(p: dict) -> CreditRecord:
    return CreditRecord(
        invoice_remote_id=p["InvoiceRef"]["value"], amount=Decimal(p["TotalAmt"]), date=p["TxnDate"]
    )


READERS = {
    "customer": read_customer,
    "contact": read_contact,
    "invoice": read_invoice,
    "payment": read_payment,
    "credit": read_credit,
}


def to_change(entity: str, payload: dict | str) -> Change | Rejected:
    """Map one vendor record, as JSON text or parsed, to a canonical change."""
    raw = payload
    if isinstance(payload, str):
        payload = json.loads(payload)
    updated = payload.get("MetaData", {}).get("LastUpdatedTime")
    common = {
        "entity": entity,
        "remote_id": str(payload["Id"]),
        "remote_version": payload.get("SyncToken", ""),
        "remote_updated_at": dt.datetime.fromisoformat(updated) if updated else None,
        "raw": raw,
    }
    if payload.get("status") == "Deleted":
        return Change(op=Op.DELETE, **common)
    try:
        record = READERS[entity](payload)
    except (KeyError, ValidationError) as e:
        return Rejected(entity, common["remote_id"], f"unreadable {entity}: {e!r}", raw=raw)
    return Change(op=Op.UPSERT, record=record, **common)


FAIL = object()  # in a script: the vendor stops answering here


class QBOLike:
    """A connector replaying scripted pages of vendor JSON, one checkpoint per page."""

    kind = "scripted_qbo"
    capabilities = Capabilities(
        category="accounting",
        frequencies={},
        archive_on_source_delete=True,
        contact_scope=ContactScope.ALL,
    )

    def __init__(self, *pages: list, stream: str = "cdc") -> None:
        self.pages = pages
        self.stream = stream
        self.cursors: list[Cursor | None] = []

    def pull(self, cursor):
        self.cursors.append(cursor)
        start = cursor.value["page"] if cursor else 0
        for number, page in enumerate(self.pages[start:], start + 1):
            for entry in page:
                if entry is FAIL:
                    raise RetryableError("the vendor stopped answering", status=503)
                yield to_change(*entry)
            yield Cursor(self.stream, {"page": number})

    def push(self, command):
        raise AssertionError("the sync engine must never write to a source")


class HaloLike(QBOLike):
    """A PSA: deletes are left for a person; only billing contacts sync."""

    kind = "scripted_halo"
    capabilities = Capabilities(
        category="psa",
        frequencies={},
        archive_on_source_delete=False,
        contact_scope=ContactScope.BILLING,
    )


SCRIPTED = {
    "scripted_qbo": "tests.integrations.test_sync_run.QBOLike",
    "scripted_halo": "tests.integrations.test_sync_run.HaloLike",
}


@pytest.fixture
def scripted(settings) -> None:
    settings.EXTRA_CONNECTORS = {**settings.EXTRA_CONNECTORS, **SCRIPTED}


@pytest.fixture
def qbo(partner, scripted) -> Connection:
    return Connection.objects.create(
        partner=partner, kind="scripted_qbo", status=Connection.Status.CONNECTED
    )


@pytest.fixture
def halo(partner, scripted) -> Connection:
    return Connection.objects.create(
        partner=partner, kind="scripted_halo", role="secondary", status=Connection.Status.CONNECTED
    )


def start_run(connection: Connection) -> SyncRun:
    return SyncRun.objects.create(
        partner_id=connection.partner_id, connection=connection, status=SyncRun.Status.RUNNING
    )


def sync(connection: Connection, connector) -> SyncRun:
    run = start_run(connection)
    run_sync(run, connector)
    run.refresh_from_db()
    return run


# -- tests ---------------------------------------------------------------------------


def test_it_syncs_everything_on_the_first_run(qbo):
    connector = QBOLike(
        [("customer", customer("1")), ("customer", customer("2", "Harbor Legal"))],
        [
            ("invoice", invoice("10", "1001", 150, lines=[("Monitoring", 100), ("Backup", 50)])),
            ("invoice", invoice("11", "1002", 80, customer="2")),
            ("payment", payment("20", 30, {"11": 30}, customer="2")),
        ],
    )

    run = sync(qbo, connector)

    assert connector.cursors == [None]
    assert (run.created, run.updated, run.unchanged, run.errors) == (5, 0, 0, 0)
    assert run.heartbeat_at is not None
    first = Invoice.objects.get(number="1001")
    assert first.customer.name == "Bluebird Dental"
    assert (first.total, first.balance, first.status) == (150, 150, Invoice.Status.OPEN)
    assert list(first.lines.values_list("description", "amount")) == [
        ("Monitoring", Decimal("100.00")),
        ("Backup", Decimal("50.00")),
    ]
    second = Invoice.objects.get(number="1002")
    assert (second.balance, second.status) == (50, Invoice.Status.PARTIALLY_PAID)
    assert SyncCursor.objects.get(connection=qbo).value == {"page": 2}


def test_it_never_writes_to_the_source(qbo):
    sync(qbo, QBOLike([("customer", customer("1")), ("invoice", invoice("10", "1001", 150))]))

    assert Invoice.objects.count() == 1
    assert not OutboundCommand.objects.exists()


def test_it_resumes_from_the_stored_cursor(qbo):
    pages = ([("customer", customer("1"))], [("invoice", invoice("10", "1001", 150))])
    sync(qbo, QBOLike(*pages))

    later = QBOLike(*pages, [("invoice", invoice("11", "1002", 90))])
    run = sync(qbo, later)

    assert later.cursors == [Cursor("cdc", {"page": 2})]
    assert run.created == 1
    assert Invoice.objects.count() == 2


def test_replaying_a_run_changes_nothing(qbo):
    pages = (
        [("customer", customer("1"))],
        [("invoice", invoice("10", "1001", 150)), ("payment", payment("20", 50, {"10": 50}))],
    )
    sync(qbo, QBOLike(*pages))
    SyncCursor.objects.all().delete()  # a full re-read

    run = sync(qbo, QBOLike(*pages))

    assert (run.created, run.updated, run.unchanged) == (0, 0, 3)
    assert Customer.objects.filter(unknown_for=None).count() == 1
    assert Invoice.objects.get().balance == 100
    assert Payment.objects.count() == 1
    assert InvoiceLine.objects.count() == 1


def test_a_failure_mid_batch_keeps_the_last_checkpoint_and_no_partial_batch(qbo):
    connector = QBOLike(
        [("customer", customer("1")), ("invoice", invoice("10", "1001", 150))],
        [("invoice", invoice("11", "1002", 90)), FAIL, ("invoice", invoice("12", "1003", 40))],
    )
    run = start_run(qbo)

    with pytest.raises(RetryableError):
        run_sync(run, connector)

    assert list(Invoice.objects.values_list("number", flat=True)) == ["1001"]
    assert SyncCursor.objects.get(connection=qbo).value == {"page": 1}
    run.refresh_from_db()
    assert run.created == 2

    # The vendor answers again: the next run starts at the second page.
    retry = QBOLike(
        *connector.pages[:1], [entry for entry in connector.pages[1] if entry is not FAIL]
    )
    sync(qbo, retry)
    assert retry.cursors == [Cursor("cdc", {"page": 1})]
    assert sorted(Invoice.objects.values_list("number", flat=True)) == ["1001", "1002", "1003"]


def test_a_malformed_record_is_quarantined_verbatim_and_the_run_goes_on(qbo):
    broken = '{"Id": "11", "DocNumber": "1002",  "TxnDate": "2026-03-01", "Line": []}'
    connector = QBOLike(
        [
            ("customer", customer("1")),
            ("invoice", broken),
            ("invoice", invoice("12", "1003", 40)),
        ]
    )

    run = sync(qbo, connector)

    assert (run.created, run.errors) == (2, 1)
    item = ExceptionItem.objects.get()
    assert item.kind == ExceptionItem.Kind.MALFORMED_RECORD
    assert item.raw_payload == broken
    assert "TotalAmt" in item.reason
    assert (item.entity, item.remote_id, item.sync_run_id) == ("invoice", "11", run.pk)
    assert item.connection == qbo and item.partner_id == qbo.partner_id
    assert list(Invoice.objects.values_list("number", flat=True)) == ["1003"]


def test_a_later_good_version_resolves_the_quarantined_record(qbo):
    first = [("customer", customer("1")), ("invoice", '{"Id": "11"}')]
    sync(qbo, QBOLike(first))
    assert ExceptionItem.objects.get().status == ExceptionItem.Status.OPEN

    sync(qbo, QBOLike(first, [("invoice", invoice("11", "1002", 90, version="1"))]))

    item = ExceptionItem.objects.get()
    assert item.status == ExceptionItem.Status.RESOLVED
    assert item.resolved_at is not None
    assert Invoice.objects.get().number == "1002"


def test_the_same_bad_record_twice_is_one_exception(qbo):
    for _ in range(2):
        SyncCursor.objects.all().delete()
        run = sync(qbo, QBOLike([("invoice", '{"Id": "11"}')]))

    item = ExceptionItem.objects.get()
    assert item.sync_run_id == run.pk


def test_each_stored_stream_is_resumed(qbo):
    class TwoStreams(QBOLike):
        def pull(self, cursor):
            self.cursors.append(cursor)
            if cursor is None:
                yield Cursor("customers", {"page": 0})
                yield Cursor("invoices", {"page": 0})
            yield to_change("customer", customer("1"))
            yield Cursor("customers", {"page": 1})

    connector = TwoStreams()
    sync(qbo, connector)
    sync(qbo, connector)

    assert connector.cursors == [
        None,
        Cursor("customers", {"page": 1}),
        Cursor("invoices", {"page": 0}),
    ]
    assert dict(SyncCursor.objects.values_list("stream", "value")) == {
        "customers": {"page": 1},
        "invoices": {"page": 0},
    }


def test_it_keeps_each_partners_records_apart(qbo, other_partner, scripted):
    theirs = Connection.objects.create(partner=other_partner, kind="scripted_qbo")

    sync(qbo, QBOLike([("customer", customer("1")), ("invoice", invoice("10", "1001", 150))]))
    sync(
        theirs,
        QBOLike(
            [("customer", customer("1", "Other Clinic")), ("invoice", invoice("10", "1001", 9))]
        ),
    )

    ours = Invoice.objects.for_partner(qbo.partner).get()
    other = Invoice.objects.for_partner(other_partner).get()
    assert (ours.total, ours.customer.name) == (150, "Bluebird Dental")
    assert (other.total, other.customer.name) == (9, "Other Clinic")
    assert other.customer.partner_id == other_partner.pk
    refs = ExternalRef.objects.for_partner(other_partner).filter(entity="invoice")
    assert list(refs.values_list("local_id", flat=True)) == [other.pk]
