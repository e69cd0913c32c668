"""Seeding a tenant with an MSP's billing, through the API or straight into the store."""

from arbridge.sandbox.halopsa import create_app, seed
from tests.sandbox.halopsa.api import Clock, Halo, control


def test_seeding_through_the_api_makes_every_case_arbridge_handles(halo):
    made = seed(halo.http, "sandbox", clients=4, invoices=12)

    assert made == {
        "clients": 4,
        "contacts": 12,
        "agreements": made["agreements"],
        "invoices": 12,
        "payments": 3,
        "credit_notes": 0,
    }
    users = halo.get("Users")["users"]
    billing = [user for user in users if user["sendaccountsemails"]]
    assert sorted(user["client_id"] for user in billing) == [1, 2, 3, 4]
    invoices = halo.get("Invoice")["invoices"]
    assert sum(invoice["client_id"] is None for invoice in invoices) == 1
    assert any(invoice["contract_id"] for invoice in invoices)
    assert any(invoice["amountpaid"] > 0 for invoice in invoices)


def test_the_same_seed_makes_the_same_tenant_either_way(halo):
    seed(halo.http, "sandbox", clients=3, invoices=10, credit_notes=1)
    direct = create_app(clock=Clock(), webhook_interval=None)
    control(direct).post("/_sandbox/seed", json={"clients": 3, "invoices": 10, "credit_notes": 1})

    def totals(sandbox_halo: Halo) -> list:
        return [
            (i["client_id"], i["contract_id"], i["total"], i["amount_remaining"])
            for i in sandbox_halo.get("Invoice")["invoices"]
        ]

    assert totals(Halo(direct)) == totals(halo)


def test_a_bad_seed_request_is_refused(sandbox):
    assert control(sandbox).post("/_sandbox/seed", json={"clientz": 3}).status_code == 400
