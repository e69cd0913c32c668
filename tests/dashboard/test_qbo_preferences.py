"""A QuickBooks Online connection's preferences: where payments and deposits are recorded."""

import pytest
from django.urls import reverse

from arbridge.core.models import Connection
from arbridge.integrations.registry import validate_preferences

# The QuickBooks sandbox on loopback HTTP, and Acme's connection to a company in it.
pytest_plugins = ["tests.integrations.qbo.fixtures"]

NOTE = "We recommend selecting the same bank account that is connected to arbridge for payouts."


@pytest.fixture
def accounts(company) -> dict:
    return {
        "bank": company.account("Business Checking", "Bank", "Checking"),
        "savings": company.account("Reserve Savings", "Bank", "Savings"),
        "fees": company.account("Merchant Fees", "Expense", "BankCharges"),
        "surcharges": company.account("Card Surcharges", "Income"),
    }


def url(connection: Connection) -> str:
    return reverse("dashboard:preferences", args=[connection.pk])


def options(body: str, name: str) -> list[str]:
    """Return the labels of a select's options."""
    start = body.index(f'name="{name}"')
    select = body[start : body.index("</select>", start)]
    return [part.split("</option>")[0].split(">", 1)[1] for part in select.split("<option")[1:]]


def test_create_deposits_is_off_by_default():
    assert validate_preferences("qbo", {}) == {
        "deposit_account_id": None,
        "create_deposits": False,
        "fee_account_id": None,
        "surcharge_income_account_id": None,
    }


def test_the_dropdowns_offer_the_companys_accounts_of_each_kind(client, alice, qbo, accounts):
    client.force_login(alice)

    response = client.get(url(qbo))

    body = response.content.decode()
    assert response.status_code == 200
    assert options(body, "deposit_account_id") == ["—", "Business Checking", "Reserve Savings"]
    assert options(body, "fee_account_id") == ["—", "Merchant Fees"]
    assert "Card Surcharges" in options(body, "surcharge_income_account_id")
    assert NOTE in body
    assert 'name="create_deposits"' in body
    assert 'name="create_deposits" checked' not in body


def test_preferences_are_saved(client, alice, qbo, accounts):
    client.force_login(alice)

    response = client.post(
        url(qbo),
        {
            "deposit_account_id": accounts["bank"]["Id"],
            "create_deposits": "on",
            "fee_account_id": accounts["fees"]["Id"],
            "surcharge_income_account_id": "",
        },
    )

    assert response.status_code == 302
    qbo.refresh_from_db()
    assert qbo.preferences == {
        "deposit_account_id": accounts["bank"]["Id"],
        "create_deposits": True,
        "fee_account_id": accounts["fees"]["Id"],
        "surcharge_income_account_id": None,
    }


def test_creating_deposits_needs_a_bank_account_and_a_fee_account(client, alice, qbo, accounts):
    client.force_login(alice)

    response = client.post(url(qbo), {"create_deposits": "on"})

    body = response.content.decode()
    assert response.status_code == 400
    assert "Choose the bank account deposits go to." in body
    assert "Choose the account processing fees go to." in body
    qbo.refresh_from_db()
    assert not qbo.preferences.get("create_deposits")


def test_an_account_that_is_not_the_companys_is_refused(client, alice, qbo, accounts):
    client.force_login(alice)

    response = client.post(url(qbo), {"deposit_account_id": accounts["fees"]["Id"]})

    assert response.status_code == 400
    qbo.refresh_from_db()
    assert qbo.preferences == {}


def test_an_unconnected_company_cannot_be_asked_for_its_accounts(client, alice, qbo):
    qbo.status = Connection.Status.DISCONNECTED
    qbo.save()
    client.force_login(alice)

    response = client.get(url(qbo))

    assert "Connect QuickBooks Online to choose its accounts." in response.content.decode()


def test_preferences_are_for_owners_and_admins(client, bob, qbo):
    client.force_login(bob)

    assert client.get(url(qbo)).status_code == 403


def test_another_partners_connection_is_not_found(client, charlie, qbo):
    client.force_login(charlie)

    assert client.get(url(qbo)).status_code == 404
    assert client.post(url(qbo), {"create_deposits": "on"}).status_code == 404
