"""The seed helper fills the sandbox through its API."""

from arbridge.sandbox.connectwise import seed
from tests.sandbox.connectwise.api import CW


def test_it_seeds_companies_billing_contacts_and_invoices(sandbox, cw: CW):
    made = seed(sandbox, companies=3, invoices_per_company=2)

    assert len(cw.get("/company/companies")) == 3
    assert len(cw.get("/company/contacts", conditions="defaultBillingFlag = true")) == 3
    assert [row["id"] for row in cw.get("/finance/invoices")] == made["invoices"]
