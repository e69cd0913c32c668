"""What is particular to Autotask: zones, paging past 500, hourly and daily reads, write-back."""

from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.autotask import Autotask, rate_limit_key
from arbridge.connectors.base import (
    AuthError,
    Change,
    Command,
    Config,
    ContactScope,
    Cursor,
    Frequency,
    Item,
    Op,
    PermanentError,
    RetryableError,
    Runtime,
)
from arbridge.connectors.ratelimit import InProcessLimiter, Limits
from arbridge.sandbox.autotask import Store, create_app
from tests.connectors.autotask.conftest import config, connect
from tests.connectors.conftest import FakeClock
from tests.connectors.contract import Replica

ROOT_URL = "http://autotask.test"


def changes(items) -> dict[tuple[str, str], Change]:
    return {(i.entity, i.remote_id): i for i in items if isinstance(i, Change)}


def pay(invoice_id: int, amount: str, key: str) -> Command:
    payload = {
        "amount": amount,
        "currency": "USD",
        "date": "2026-03-02",
        "allocations": [{"invoice_remote_id": str(invoice_id), "amount": amount}],
    }
    return Command("create_payment", payload, key)


def test_capabilities_say_hourly_invoices_daily_customers_and_no_webhooks():
    caps = Autotask.capabilities

    assert caps.category == "psa"
    assert caps.frequency(Item.INVOICE_DETAILS) == Frequency.HOURLY
    assert caps.frequency(Item.INVOICE_LINES) == Frequency.HOURLY
    assert caps.frequency(Item.CUSTOMERS) == Frequency.DAILY
    assert Frequency.REAL_TIME not in {
        caps.frequency(Item.INVOICE_DETAILS),
        caps.frequency(Item.CUSTOMERS),
        caps.frequency(Item.ARCHIVE_INVOICES),
    }
    assert not caps.native_pdf and not caps.deposits and not caps.archive_on_source_delete
    assert caps.contact_scope == ContactScope.ALL
    assert not hasattr(Autotask, "fetch")  # no webhooks to follow


def test_it_discovers_the_zone_and_names_the_database(sandbox, clock):
    connector = connect(sandbox, clock)

    assert connector.zone.url == "http://autotask.test/zone1/atservicesrest/"
    assert connector.zone.database == str(sandbox.store.database)


def test_a_known_zone_is_not_asked_for_again(sandbox, clock, person):
    person.company("Bluebird Dental")
    known = config(zone_url="http://autotask.test/zone1/atservicesrest/", database="29683354")
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.WSGITransport(app=sandbox).handle_request(request)

    http = httpx.Client(transport=httpx.MockTransport(record))
    list(Autotask(known, http, Runtime(clock=clock)).pull(None))

    assert not any("zoneinformation" in r.url.path.lower() for r in seen)


def test_wrong_credentials_are_an_auth_error(sandbox, clock, person):
    connector = connect(sandbox, clock, settings=config(secret="wrong"))

    with pytest.raises(AuthError):
        list(connector.pull(None))


def test_a_full_read_pages_past_500_records(connector, sandbox, person):
    company = person.company("Bluebird Dental")
    for n in range(1, 1102):
        sandbox.store.create("invoices", {"companyID": company, "invoiceNumber": f"T-{n}",
                                          "invoiceTotal": Decimal("10.00")})  # fmt: skip

    items = list(connector.pull(None))

    invoices = [c for c in changes(items) if c[0] == "invoice"]
    assert len(invoices) == 1101
    # A checkpoint after each page: a run cut short resumes there.
    assert sum(isinstance(i, Cursor) for i in items) >= 3


def test_an_invoice_comes_with_its_billing_items_read_in_bulk(connector, sandbox, person):
    company = person.company("Bluebird Dental")
    invoices = [person.invoice(company, "270.50") for _ in range(3)]
    for invoice in invoices:
        person.billing_item(invoice, "Managed services", "6", "45.00")
        person.billing_item(invoice, "Backup storage overage", "1", "0.50")
    before = sandbox.limiter.report()["requests"]

    replica = Replica()
    replica.sync(connector)

    record = replica.record("invoice", str(invoices[2]["id"]))
    assert [(line.item, line.quantity, line.unit_price, line.amount) for line in record.lines] == [
        ("Managed services", 6, Decimal("45.00"), Decimal("270.00")),
        ("Backup storage overage", 1, Decimal("0.50"), Decimal("0.50")),
    ]
    # Companies, contacts, billing items, invoices: one query each, not one per invoice.
    assert sandbox.limiter.report()["requests"] - before == 4


def test_a_new_invoice_comes_hourly_with_its_billing_items(connector, person, clock):
    company = person.company("Bluebird Dental")
    person.billing_item(person.invoice(company, "45.00"), "Managed services", "1", "45.00")
    replica = Replica()
    replica.sync(connector)

    clock.advance(hours=1)
    added = person.invoice(company, "250.00")
    person.billing_item(added, "On-site support", "2", "125.00")
    hourly = replica.sync(connector)

    [change] = [c for c in hourly if c.entity == "invoice"]
    assert [line.amount for line in change.record.lines] == [Decimal("250.00")]


def test_new_invoices_come_hourly_and_changes_daily(connector, person, clock):
    company = person.company("Bluebird Dental")
    first = person.invoice(company, "100.00")
    replica = Replica()
    replica.sync(connector)

    clock.advance(hours=1)
    added = person.invoice(company, "80.00")
    person.change("invoices", first["id"], invoiceTotal="120.00")
    hourly = replica.sync(connector)

    assert {c.remote_id for c in hourly} == {str(added["id"])}
    assert replica.record("invoice", str(first["id"])).total == Decimal("100.00")

    clock.advance(hours=23)
    replica.sync(connector)

    assert replica.record("invoice", str(first["id"])).total == Decimal("120.00")


def test_deletions_are_found_by_the_daily_read(connector, person, clock):
    company = person.company("Bluebird Dental")
    gone = person.invoice(company, "100.00")
    replica = Replica()
    replica.sync(connector)

    person.delete("invoices", gone["id"])
    clock.advance(days=1)
    replica.sync(connector)

    assert replica.is_deleted("invoice", str(gone["id"]))
    # The engine leaves it for a person: Autotask declares no archive on delete.
    assert not Autotask.capabilities.archive_on_source_delete


def test_contacts_mark_the_primary_one_as_billing(connector, person):
    company = person.company("Bluebird Dental")
    person.create("Contacts", companyID=company, firstName="Ada", lastName="Ng",
                  emailAddress="ada@bluebird.example", primaryContact=True)  # fmt: skip
    person.create("Contacts", companyID=company, firstName="Bo", primaryContact=False)
    person.create("Contacts", companyID=company, firstName="Old", isActive=0)

    read = changes(connector.pull(None))

    contacts = sorted((c.record.name, c.record.is_billing) for k, c in read.items()
                      if k[0] == "contact")  # fmt: skip
    assert contacts == [("Ada Ng", True), ("Bo", False)]


def test_a_paying_payment_sets_the_paid_date_and_notes_it(connector, person):
    company = person.company("Bluebird Dental")
    invoice = person.invoice(company, "100.00")

    part = connector.push(pay(invoice["id"], "40.00", "autotask-payment-1-7"))
    after_part = person.get("Invoices", invoice["id"])
    connector.push(pay(invoice["id"], "60.00", "autotask-payment-2-7"))
    paid = person.get("Invoices", invoice["id"])

    assert part.remote_id == f"{invoice['id']}:autotask-payment-1-7"
    assert after_part["paidDate"] is None
    assert paid["paidDate"] == "2026-03-02T00:00:00Z"
    assert paid["comments"].splitlines() == [
        "arbridge payment autotask-payment-1-7: 40.00 USD on 2026-03-02",
        "arbridge payment autotask-payment-2-7: 60.00 USD on 2026-03-02",
    ]


def test_a_payment_taken_back_unpays_the_invoice(connector, person):
    company = person.company("Bluebird Dental")
    invoice = person.invoice(company, "100.00", comments="PO 7781")
    written = connector.push(pay(invoice["id"], "100.00", "autotask-payment-1-7"))

    delete = Command("delete_payment", {"remote_id": written.remote_id}, "d-1")
    connector.push(delete)
    connector.push(delete)

    after = person.get("Invoices", invoice["id"])
    assert after["paidDate"] is None
    assert after["comments"] == "PO 7781"


def test_a_voided_invoice_refuses_a_payment(connector, person):
    company = person.company("Bluebird Dental")
    invoice = person.invoice(company, "100.00", isVoided=True)

    with pytest.raises(PermanentError):
        connector.push(pay(invoice["id"], "100.00", "autotask-payment-1-7"))


def test_a_voided_invoice_is_read_as_voided_with_nothing_due(connector, person):
    company = person.company("Bluebird Dental")
    invoice = person.invoice(company, "100.00", isVoided=True)

    record = changes(connector.pull(None))["invoice", str(invoice["id"])].record

    assert record.voided and record.balance == Decimal("0.00")


def test_the_rate_limit_key_names_the_database():
    settings = Config(base_url=ROOT_URL, credentials={"database": "29683354"})

    assert rate_limit_key(settings) == "autotask:29683354"
    assert rate_limit_key(settings.model_copy(update={"remote_account": "7"})) == "autotask:7"
    with pytest.raises(PermanentError):
        rate_limit_key(Config(base_url=ROOT_URL))


def test_two_integrations_on_one_database_share_its_hourly_budget(clock, person, sandbox):
    person.company("Bluebird Dental")
    ticks = FakeClock()
    # A budget of 4 stands in for the 10,000: the same code counts either.
    limiter = InProcessLimiter(
        Limits(per_window=4, window_s=3600.0),
        max_wait=60.0, clock=ticks, sleep=ticks.sleep,
    )  # fmt: skip
    first = connect(sandbox, clock, limiter=limiter)
    second = connect(sandbox, clock, limiter=limiter)

    first.client.get("Companies", 1)
    first.client.get("Companies", 1)
    second.client.get("Companies", 1)
    second.client.get("Companies", 1)
    with pytest.raises(RetryableError) as spent:
        first.client.get("Companies", 1)

    assert first.client.limiter_key == second.client.limiter_key == "autotask:29683354"
    assert spent.value.retry_after == pytest.approx(3600.0)
    ticks.advance(3600)
    assert second.client.get("Companies", 1)["companyName"] == "Bluebird Dental"


def test_a_database_over_its_threshold_is_retried_later(clock, person):
    sandbox = create_app(Store(clock=clock), requests_per_hour=1)
    connector = connect(sandbox, clock)

    with pytest.raises(RetryableError):
        list(connector.pull(None))


def test_a_full_read_only_deletes_what_it_gave(connector, person, clock):
    company = person.company("Bluebird Dental")
    person.invoice(company, "100.00")

    items = list(connector.pull(None))

    assert all(i.op == Op.UPSERT for i in items if isinstance(i, Change))
