"""Clients, users, agreements, invoices and payments written through the API, as Halo keeps them."""

from decimal import Decimal

import pytest


def line(text: str, quantity: int, price: str, tax_rate: str = "0") -> dict:
    return {
        "item_shortdescription": text,
        "qty_order": quantity,
        "unit_price": Decimal(price),
        "tax_rate": Decimal(tax_rate),
    }


def test_a_post_creates_a_record_and_a_post_with_its_id_updates_it(halo, clock):
    client = halo.client("Bluebird Dental", "ap@bluebird.example")
    clock.advance(minutes=5)

    updated = halo.post("Client", {"id": client["id"], "main_phonenumber": "555-0100"})

    assert updated["id"] == client["id"]
    assert updated["name"] == "Bluebird Dental"  # fields not named are kept
    assert updated["main_phonenumber"] == "555-0100"
    assert updated["alastupdate"] > client["alastupdate"]
    assert halo.get(f"Client/{client['id']}") == updated


def test_bodies_must_be_arrays(halo):
    response = halo.request("POST", "Client", json={"name": "Bluebird Dental"})

    assert response.status_code == 400


def test_several_records_post_at_once(halo):
    saved = halo.post("Client", {"name": "Bluebird Dental"}, {"name": "Cedar Law"})

    assert [client["name"] for client in saved] == ["Bluebird Dental", "Cedar Law"]
    assert halo.get("Client")["record_count"] == 2


def test_two_clients_cannot_share_a_name(halo):
    halo.client("Bluebird Dental")

    assert halo.send("Client", {"name": "bluebird dental"}).status_code == 400


def test_a_user_belongs_to_a_client_and_is_named_from_its_parts(halo):
    client = halo.client("Bluebird Dental")

    user = halo.post(
        "Users",
        {
            "client_id": client["id"],
            "firstname": "Ava",
            "surname": "Chen",
            "sendaccountsemails": True,
        },
    )

    assert user["name"] == "Ava Chen"
    assert user["client_name"] == "Bluebird Dental"
    assert user["sendaccountsemails"] is True
    assert halo.send("Users", {"name": "Nobody"}).status_code == 400


def test_deleting_a_client_deletes_its_users(halo):
    client = halo.client("Bluebird Dental")
    user = halo.user(client, "Ava Chen", "ava@bluebird.example", billing=True)

    assert halo.delete(f"Client/{client['id']}").status_code == 200

    assert halo.request("GET", f"Client/{client['id']}").status_code == 404
    assert halo.request("GET", f"Users/{user['id']}").status_code == 404


def test_a_client_with_invoices_cannot_be_deleted(halo):
    client = halo.client("Bluebird Dental")
    halo.invoice(client)

    response = halo.delete(f"Client/{client['id']}")

    assert response.status_code == 400
    assert "has invoices" in response.text


def test_an_agreement_takes_its_type_by_name_or_by_id(halo):
    client = halo.client("Bluebird Dental")

    by_name = halo.agreement(client, "Managed Services")
    by_id = halo.post("ClientContract", {"client_id": client["id"], "contracttype": 2})

    assert (by_name["contracttype"], by_name["contracttype_name"]) == (1, "Managed Services")
    assert by_id["contracttype_name"] == "Project"
    bad = halo.send("ClientContract", {"client_id": client["id"], "contracttype": 99})
    assert bad.status_code == 400


def test_an_invoice_adds_up_its_lines_and_tax(halo):
    client = halo.client("Bluebird Dental")
    agreement = halo.agreement(client, "Managed Services")

    invoice = halo.post(
        "Invoice",
        {
            "client_id": client["id"],
            "contract_id": agreement["id"],
            "invoice_date": "2026-03-01",
            "lines": [line("Per device", 12, "45.00"), line("Firewall", 1, "899.00", "8.25")],
        },
    )

    assert [line["net_amount"] for line in invoice["lines"]] == [
        Decimal("540.00"),
        Decimal("899.00"),
    ]
    assert invoice["tax_total"] == Decimal("74.17")
    assert invoice["total"] == Decimal("1513.17")
    assert invoice["amount_remaining"] == Decimal("1513.17")
    assert invoice["client_name"] == "Bluebird Dental"
    assert invoice["contract_ref"] == agreement["ref"]
    assert invoice["invoice_date"] == "2026-03-01T00:00:00"


def test_an_invoice_may_have_no_client(halo):
    invoice = halo.invoice(None)

    assert invoice["client_id"] is None
    assert invoice["client_name"] == ""


def test_an_invoice_cannot_use_another_clients_agreement(halo):
    bluebird, cedar = halo.client("Bluebird Dental"), halo.client("Cedar Law")
    agreement = halo.agreement(cedar, "Project")

    response = halo.send("Invoice", {"client_id": bluebird["id"], "contract_id": agreement["id"]})

    assert response.status_code == 400


def test_updating_an_invoices_lines_replaces_them(halo):
    invoice = halo.invoice(halo.client("Bluebird Dental"), ("Labor", 2, "165.00"))

    updated = halo.post("Invoice", {"id": invoice["id"], "lines": [line("Labor", 3, "165.00")]})

    assert len(updated["lines"]) == 1
    assert updated["total"] == Decimal("495.00")
    assert updated["last_modified"] > invoice["last_modified"]


def test_payments_reduce_what_remains_and_deleting_one_restores_it(halo):
    invoice = halo.invoice(halo.client("Bluebird Dental"), ("Labor", 2, "165.00"))

    payment = halo.pay(invoice, "100.00", thirdpartyid="ACH 1234")
    after = halo.get(f"Invoice/{invoice['id']}")

    assert payment["client_name"] == "Bluebird Dental"
    assert after["amountpaid"] == Decimal("100.00")
    assert after["amount_remaining"] == Decimal("230.00")
    assert after["paymentstatus"] == 1
    assert [p["thirdpartyid"] for p in after["payments"]] == ["ACH 1234"]
    assert after["last_modified"] > invoice["last_modified"]

    assert halo.delete(f"InvoicePayment/{payment['id']}").status_code == 200
    assert halo.get(f"Invoice/{invoice['id']}")["amount_remaining"] == Decimal("330.00")


def test_a_payment_cannot_exceed_what_is_outstanding(halo):
    invoice = halo.invoice(halo.client("Bluebird Dental"), ("Labor", 1, "165.00"))
    halo.pay(invoice, "100.00")

    response = halo.send(
        "InvoicePayment", {"invoice_id": invoice["id"], "amount": Decimal("65.01")}
    )

    assert response.status_code == 400
    assert "more than the 65.00 outstanding" in response.text


def test_paying_in_full_marks_the_invoice_paid(halo):
    invoice = halo.invoice(halo.client("Bluebird Dental"), ("Labor", 1, "165.00"))

    halo.pay(invoice, "165.00")

    paid = halo.get(f"Invoice/{invoice['id']}")
    assert (paid["amount_remaining"], paid["paymentstatus"]) == (Decimal("0.00"), 2)


def test_a_credit_note_reduces_the_invoice_it_credits(halo):
    invoice = halo.invoice(halo.client("Bluebird Dental"), ("Labor", 2, "165.00"))

    credit = halo.credit(invoice, "30.00")

    credited = halo.get(f"Invoice/{invoice['id']}")
    assert credited["credit_used"] == Decimal("30.00")
    assert credited["amount_remaining"] == Decimal("300.00")
    assert halo.delete(f"Invoice/{credit['id']}").status_code == 200
    assert halo.get(f"Invoice/{invoice['id']}")["amount_remaining"] == Decimal("330.00")


def test_a_credit_note_moved_to_another_invoice_credits_that_one_instead(halo):
    client = halo.client("Bluebird Dental")
    first, second = (halo.invoice(client, ("Labor", 2, "165.00")) for _ in range(2))
    credit = halo.credit(first, "30.00")

    halo.post("Invoice", {"id": credit["id"], "creditlinkedtoinvoiceid": second["id"]})

    assert halo.get(f"Invoice/{first['id']}")["amount_remaining"] == Decimal("330.00")
    assert halo.get(f"Invoice/{second['id']}")["amount_remaining"] == Decimal("300.00")
    assert halo.delete(f"Invoice/{first['id']}").status_code == 200  # no credit note left on it


def test_voiding_leaves_the_invoice_owing_nothing(halo):
    invoice = halo.invoice(halo.client("Bluebird Dental"))

    voided = halo.post(f"Invoice/{invoice['id']}/void")

    assert voided["voided"] is True
    assert voided["amount_remaining"] == Decimal("0.00")
    assert (
        halo.send("InvoicePayment", {"invoice_id": invoice["id"], "amount": 1}).status_code == 400
    )


def test_an_invoice_with_payments_can_be_neither_voided_nor_deleted(halo):
    invoice = halo.invoice(halo.client("Bluebird Dental"))
    halo.pay(invoice, "10.00")

    assert halo.request("POST", f"Invoice/{invoice['id']}/void").status_code == 400
    assert halo.delete(f"Invoice/{invoice['id']}").status_code == 400


@pytest.mark.parametrize("path", ["Client/999", "Users/999", "Invoice/999", "InvoicePayment/999"])
def test_a_record_that_does_not_exist_is_404(halo, path):
    assert halo.request("GET", path).status_code == 404
    assert halo.delete(path).status_code == 404


def test_paths_are_case_insensitive(halo):
    halo.client("Bluebird Dental")

    assert halo.get("client")["record_count"] == halo.get("CLIENT")["record_count"] == 1


def test_renaming_a_client_renames_it_wherever_it_is_shown(halo):
    client = halo.client("Bluebird Dental")
    user = halo.user(client, "Ava Chen", "ava@bluebird.example", billing=True)
    invoice = halo.invoice(client)

    halo.post("Client", {"id": client["id"], "name": "Bluebird Dental Group"})

    assert halo.get(f"Users/{user['id']}")["client_name"] == "Bluebird Dental Group"
    assert halo.get(f"Invoice/{invoice['id']}")["client_name"] == "Bluebird Dental Group"
