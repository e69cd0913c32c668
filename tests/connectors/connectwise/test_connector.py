"""What is particular to ConnectWise: billing contacts, balances, cursors, PDFs, callbacks."""

from decimal import Decimal

import pytest
from pydantic import ValidationError

from arbridge.connectors.base import AuthError, Command, Cursor, Item, Op, PermanentError
from arbridge.connectors.connectwise import ConnectWise, parse_callback
from tests.connectors.connectwise.conftest import connect
from tests.connectors.contract import Replica
from tests.sandbox.connectwise.api import CW

CALLBACK_URL = "https://arbridge.test/callbacks/connectwise"


def test_it_reads_only_billing_contacts(cw: CW, connector):
    company = cw.company("Cedar Law Group")
    cw.contact(company, "Pat", "Partner", "pat@cedar.example")
    billing = cw.contact(company, "Ada", "Payable", "ap@cedar.example", billing=True)

    replica = Replica()
    replica.sync(connector)

    contacts = {id: c.record for (entity, id), c in replica.changes.items() if entity == "contact"}
    assert list(contacts) == [str(billing["id"])]
    assert contacts[str(billing["id"])].email == "ap@cedar.example"
    assert contacts[str(billing["id"])].customer_remote_id == str(company["id"])


def test_a_contact_no_longer_billing_is_taken_back(cw: CW, connector, clock):
    company = cw.company("Cedar Law Group")
    billing = cw.contact(company, "Ada", "Payable", "ap@cedar.example", billing=True)
    replica = Replica()
    replica.sync(connector)

    clock.advance(minutes=5)
    cw.patch(f"/company/contacts/{billing['id']}", defaultBillingFlag=False)
    replica.sync(connector)

    assert replica.is_deleted("contact", str(billing["id"]))


def test_a_payment_made_in_connectwise_lowers_the_balance(cw: CW, connector, clock):
    invoice = cw.invoice(cw.company("Bluebird Dental"), "100.00", invoiceNumber="CW-7300")
    replica = Replica()
    replica.sync(connector)

    clock.advance(minutes=5)
    cw.pay(invoice, "30.00")
    replica.sync(connector)

    record = replica.record("invoice", str(invoice["id"]))
    assert (record.number, record.total, record.balance) == ("CW-7300", 100, Decimal("70.00"))


def test_an_invoice_comes_with_the_products_billed_on_it(cw: CW, sandbox, connector):
    company = cw.company("Bluebird Dental")
    invoices = [cw.invoice(company, "297.00") for _ in range(3)]
    for invoice in invoices:
        cw.product(invoice, "MANAGED-SVC", 6, "45.00", "Managed services, per device")
        cw.product(invoice, "BACKUP-365", 6, "4.50")
    unbilled = cw.post(
        "/procurement/products",
        {"catalogItem": {"identifier": "FW-LICENSE"}, "quantity": 1, "price": Decimal("320.00")},
    )
    before = sandbox.stats["requests"]

    replica = Replica()
    replica.sync(connector)

    record = replica.record("invoice", str(invoices[1]["id"]))
    assert [(line.item, line.description, line.quantity, line.unit_price, line.amount)
            for line in record.lines] == [
        ("MANAGED-SVC", "Managed services, per device", 6, Decimal("45.00"), Decimal("270.00")),
        ("BACKUP-365", "BACKUP-365", 6, Decimal("4.50"), Decimal("27.00")),
    ]  # fmt: skip
    assert sum(line.amount for line in record.lines) == record.total
    assert unbilled["invoice"] is None
    # Companies, contacts, invoices, and one read of every invoice's products: not one per invoice.
    assert sandbox.stats["requests"] - before == 4


def test_a_changed_invoice_comes_again_with_its_products(cw: CW, connector, clock):
    company = cw.company("Bluebird Dental")
    invoice = cw.invoice(company, "45.00")
    cw.product(invoice, "MANAGED-SVC", 1, "45.00")
    replica = Replica()
    replica.sync(connector)

    clock.advance(minutes=5)
    cw.product(invoice, "ONSITE-HR", 2, "125.00")
    cw.patch(f"/finance/invoices/{invoice['id']}", total="295.00")
    replica.sync(connector)

    record = replica.record("invoice", str(invoice["id"]))
    assert [line.item for line in record.lines] == ["MANAGED-SVC", "ONSITE-HR"]
    assert record.total == Decimal("295.00")


def test_an_invoice_a_callback_names_is_read_with_its_products(cw: CW, connector):
    invoice = cw.invoice(cw.company("Bluebird Dental"), "320.00")
    cw.product(invoice, "FW-LICENSE", 1, "320.00")

    [change] = connector.fetch("invoice", [str(invoice["id"])])

    assert [line.amount for line in change.record.lines] == [Decimal("320.00")]


def test_the_cursor_never_passes_the_start_of_the_sync(cw: CW, connector):
    company = cw.company("Bluebird Dental")
    replica = Replica()
    replica.sync(connector)

    # Written in the same second as the sync read: the next pull must still see it.
    late = cw.invoice(company, "55.00")
    replica.sync(connector)

    assert replica.record("invoice", str(late["id"])).total == Decimal("55.00")
    assert replica.cursor.value["invoices"]["since"] == "2026-03-02T16:59:00Z"


def test_a_full_read_checkpoints_each_page_and_resumes(cw: CW, sandbox, connector):
    company = cw.company("Bluebird Dental")
    invoices = [cw.invoice(company, f"{n}.00") for n in range(1, 6)]
    connector.page_size = 2

    pulled = iter(connector.pull(None))
    read = []
    for item in pulled:
        if isinstance(item, Cursor) and item.value.get("invoices", {}).get("page") == 2:
            break
        read.append(item)
    resumed = list(connect(sandbox).pull(item))

    ids = [c.remote_id for c in read + resumed if getattr(c, "entity", "") == "invoice"]
    assert ids == [str(invoice["id"]) for invoice in invoices]


def test_wrong_keys_are_an_auth_error(sandbox):
    with pytest.raises(AuthError):
        list(connect(sandbox, private_key="guess").pull(None))


def test_it_fetches_the_native_pdf(cw: CW, connector):
    invoice = cw.invoice(cw.company("Bluebird Dental"), "10.00")

    assert connector.pdf(str(invoice["id"])).startswith(b"%PDF-")


def test_a_reversed_payment_is_removed(cw: CW, connector):
    invoice = cw.invoice(cw.company("Bluebird Dental"), "100.00")
    allocation = {"invoice_remote_id": str(invoice["id"]), "amount": "100.00"}
    payload = {"amount": "100.00", "date": "2026-03-02", "allocations": [allocation]}
    written = connector.push(Command("create_payment", payload, "payment:7:1"))
    assert Decimal(str(cw.get(f"/finance/invoices/{invoice['id']}")["balance"])) == 0

    delete = Command("delete_payment", {"remote_id": written.remote_id}, "payment:7:1:delete")
    connector.push(delete)
    connector.push(delete)  # a retry finds it gone, which is done

    assert cw.get(f"/finance/invoices/{invoice['id']}/payments") == []
    assert Decimal(str(cw.get(f"/finance/invoices/{invoice['id']}")["balance"])) == 100


def test_it_registers_its_callbacks_once(cw: CW, connector):
    first = connector.register_callbacks(CALLBACK_URL)
    again = connector.register_callbacks(CALLBACK_URL)

    assert first == again
    assert sorted(row["type"] for row in cw.get("/system/callbacks")) == [
        "company", "contact", "invoice"]  # fmt: skip

    connector.unregister_callbacks(CALLBACK_URL)
    assert cw.get("/system/callbacks") == []


def test_with_callbacks_off_it_registers_none(cw: CW, sandbox):
    assert connect(sandbox, callbacks=False).register_callbacks(CALLBACK_URL) == []
    assert cw.get("/system/callbacks") == []


def test_a_callback_signed_otherwise_is_refused(sandbox, connector):
    sandbox.http, sandbox.deliver_callbacks = None, False
    connector.register_callbacks(CALLBACK_URL)
    CW(sandbox).company("Bluebird Dental")
    [(_, body)] = sandbox.pending

    assert connector.verify_callback({"x-content-signature": "forged"}, body) is False
    assert connector.verify_callback({}, body) is False
    assert parse_callback(body)[0].entity == "customer"


def test_a_callback_naming_a_key_elsewhere_is_refused(connector):
    body = b'{"Type": "invoice", "ID": 1, "Metadata": {"key_url": "https://evil.test/key"}}'

    assert connector.verify_callback({"x-content-signature": "x"}, body) is False


def test_unknown_preferences_are_refused(sandbox):
    with pytest.raises(ValidationError):
        connect(sandbox, poll_every="1m")


def test_it_declares_what_it_syncs():
    capabilities = ConnectWise.capabilities

    assert capabilities.category == "psa"
    assert capabilities.native_pdf and not capabilities.deposits
    assert not capabilities.archive_on_source_delete
    assert capabilities.frequency(Item.PAYMENTS).value == "real_time"
    assert capabilities.frequency(Item.INVOICE_LINES).value == "real_time"


def test_an_unknown_entity_cannot_be_fetched(connector):
    with pytest.raises(PermanentError):
        list(connector.fetch("deposit", ["1"]))


def test_a_removed_invoice_fetched_is_a_delete(cw: CW, connector):
    invoice = cw.invoice(cw.company("Bluebird Dental"), "10.00")
    cw.delete(f"/finance/invoices/{invoice['id']}")

    [change] = connector.fetch("invoice", [str(invoice["id"])])

    assert change.op == Op.DELETE
