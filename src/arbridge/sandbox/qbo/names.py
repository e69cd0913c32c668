"""Name lists: Customer, Item, Account and Term.

Names are unique within a list, whatever their case, and name lists are never
deleted: a customer, item, account or term is made inactive (`Active: false`).
Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arbridge.sandbox.qbo.entities import (
    USD,
    Entity,
    flag,
    ref,
    text,
)
from arbridge.sandbox.qbo.wire import decimal, invalid, money, required

if TYPE_CHECKING:
    from arbridge.sandbox.qbo.store import Realm, Record

# -- Customer -----------------------------------------------------------------


def prepare_customer(realm: Realm, doc: dict, id: int | None, now: float) -> dict:
    """Check a customer; QuickBooks builds DisplayName from the name parts if it is absent."""
    for key in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix", "CompanyName"):
        text(doc, key, limit=100)
    if not doc.get("DisplayName"):
        parts = [doc.get(key) for key in ("Title", "GivenName", "MiddleName", "FamilyName")]
        doc["DisplayName"] = " ".join(p for p in parts if p) or doc.get("CompanyName")
    name = text(doc, "DisplayName", needed=True, limit=500)
    realm.check_name("Customer", name, id)
    doc.setdefault("PrintOnCheckName", name[:110])
    doc["FullyQualifiedName"] = name
    flag(doc, "Active")
    for key in ("PrimaryEmailAddr", "PrimaryPhone", "Mobile", "Fax", "WebAddr"):
        if key in doc and not isinstance(doc[key], dict):
            raise invalid(key, doc[key])
    for key in ("BillAddr", "ShipAddr"):
        if key in doc and not isinstance(doc[key], dict):
            raise invalid(key, doc[key])
    if "SalesTermRef" in doc:
        doc["SalesTermRef"] = ref(realm, doc, "SalesTermRef", "Term")
    return doc


def index_customer(doc: dict) -> dict[str, Any]:
    email = (doc.get("PrimaryEmailAddr") or {}).get("Address")
    terms = doc.get("SalesTermRef")
    return {
        "DisplayName": doc["DisplayName"],
        "CompanyName": doc.get("CompanyName"),
        "GivenName": doc.get("GivenName"),
        "FamilyName": doc.get("FamilyName"),
        "PrimaryEmailAddr": email,
        "Active": doc["Active"],
        "SalesTermRef": terms["value"] if terms else None,
        "BillAddr": doc.get("BillAddr"),  # Invoices copy it, and the email.
    }


def customer_balances(realm: Realm, record: Record) -> dict[str, Any]:
    balance = record.fields["Balance"]
    return {"Balance": balance, "BalanceWithJobs": balance}


CUSTOMER = Entity(
    name="Customer",
    writable=frozenset(
        {
            "Title",
            "GivenName",
            "MiddleName",
            "FamilyName",
            "Suffix",
            "CompanyName",
            "DisplayName",
            "PrintOnCheckName",
            "Active",
            "PrimaryPhone",
            "AlternatePhone",
            "Mobile",
            "Fax",
            "PrimaryEmailAddr",
            "WebAddr",
            "BillAddr",
            "ShipAddr",
            "Notes",
            "Taxable",
            "Job",
            "BillWithParent",
            "SalesTermRef",
            "PaymentMethodRef",
            "PreferredDeliveryMethod",
            "CurrencyRef",
            "ResaleNum",
            "AcctNum",
        }
    ),
    computed=frozenset({"FullyQualifiedName", "Balance", "BalanceWithJobs", "V4IDPseudonym"}),
    queryable={
        "DisplayName": "string",
        "CompanyName": "string",
        "GivenName": "string",
        "FamilyName": "string",
        "PrimaryEmailAddr": "string",
        "Active": "boolean",
        "Balance": "decimal",
    },
    prepare=prepare_customer,
    index=index_customer,
    derived=customer_balances,
    balances=("Balance",),
    name_field="DisplayName",
    defaults={
        "Active": True,
        "Taxable": False,
        "Job": False,
        "BillWithParent": False,
        "PreferredDeliveryMethod": "Print",
        "CurrencyRef": USD,
    },
)

# -- Item ---------------------------------------------------------------------

ITEM_TYPES = {"Service", "NonInventory", "Inventory", "Category", "Group", "Other Charge"}


def prepare_item(realm: Realm, doc: dict, id: int | None, now: float) -> dict:
    """Check an item; a service item without an income account books to "Services"."""
    name = text(doc, "Name", needed=True, limit=100)
    realm.check_name("Item", name, id)
    doc["FullyQualifiedName"] = name
    if doc.get("Type") not in ITEM_TYPES:
        raise invalid("Type", doc.get("Type"))
    flag(doc, "Active")
    text(doc, "Description")
    if "UnitPrice" in doc:
        doc["UnitPrice"] = decimal(doc["UnitPrice"], "UnitPrice")
    if "IncomeAccountRef" not in doc and realm.services_account is not None:
        doc["IncomeAccountRef"] = {"value": str(realm.services_account)}
    for key in ("IncomeAccountRef", "ExpenseAccountRef"):
        if key in doc:
            doc[key] = ref(realm, doc, key, "Account")
    return doc


ITEM = Entity(
    name="Item",
    writable=frozenset(
        {
            "Name",
            "Sku",
            "Description",
            "Active",
            "Taxable",
            "UnitPrice",
            "Type",
            "IncomeAccountRef",
            "ExpenseAccountRef",
            "PurchaseDesc",
            "PurchaseCost",
            "TrackQtyOnHand",
        }
    ),
    computed=frozenset({"FullyQualifiedName", "SubItem", "Level"}),
    queryable={"Name": "string", "Type": "string", "Active": "boolean", "Sku": "string"},
    prepare=prepare_item,
    index=lambda doc: {
        "Name": doc["Name"],
        "Type": doc["Type"],
        "Active": doc["Active"],
        "Sku": doc.get("Sku"),
    },
    name_field="Name",
    defaults={"Active": True, "Type": "Service", "Taxable": False, "TrackQtyOnHand": False},
)

# -- Account ------------------------------------------------------------------

CLASSIFICATIONS = {
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Cost of Goods Sold": "Expense",
    "Expense": "Expense",
    "Other Expense": "Expense",
}

DEFAULT_SUBTYPES = {
    "Bank": "Checking",
    "Accounts Receivable": "AccountsReceivable",
    "Other Current Asset": "OtherCurrentAssets",
    "Income": "ServiceFeeIncome",
    "Other Income": "OtherMiscellaneousIncome",
    "Expense": "OtherMiscellaneousServiceCost",
    "Cost of Goods Sold": "SuppliesMaterialsCogs",
    "Equity": "OpeningBalanceEquity",
}


def prepare_account(realm: Realm, doc: dict, id: int | None, now: float) -> dict:
    """Check an account; its classification follows from its type."""
    name = text(doc, "Name", needed=True, limit=100)
    realm.check_name("Account", name, id)
    account_type = text(doc, "AccountType", needed=True)
    if account_type not in CLASSIFICATIONS:
        raise invalid("AccountType", account_type)
    doc["Classification"] = CLASSIFICATIONS[account_type]
    doc.setdefault("AccountSubType", DEFAULT_SUBTYPES.get(account_type, ""))
    doc["FullyQualifiedName"] = name
    doc["SubAccount"] = False
    flag(doc, "Active")
    text(doc, "AcctNum", limit=20)
    return doc


def account_balances(realm: Realm, record: Record) -> dict[str, Any]:
    balance = record.fields["CurrentBalance"]
    return {"CurrentBalance": balance, "CurrentBalanceWithSubAccounts": balance}


ACCOUNT = Entity(
    name="Account",
    writable=frozenset(
        {"Name", "Description", "Active", "AccountType", "AccountSubType", "AcctNum", "CurrencyRef"}
    ),
    computed=frozenset(
        {
            "FullyQualifiedName",
            "Classification",
            "SubAccount",
            "CurrentBalance",
            "CurrentBalanceWithSubAccounts",
        }
    ),
    queryable={
        "Name": "string",
        "AccountType": "string",
        "AccountSubType": "string",
        "Classification": "string",
        "Active": "boolean",
        "CurrentBalance": "decimal",
    },
    prepare=prepare_account,
    index=lambda doc: {
        "Name": doc["Name"],
        "AccountType": doc["AccountType"],
        "AccountSubType": doc["AccountSubType"],
        "Classification": doc["Classification"],
        "Active": doc["Active"],
    },
    derived=account_balances,
    balances=("CurrentBalance",),
    name_field="Name",
    defaults={"Active": True, "CurrencyRef": USD},
)

# -- Term ---------------------------------------------------------------------


def prepare_term(realm: Realm, doc: dict, id: int | None, now: float) -> dict:
    """Check a payment term: due a number of days after the invoice date."""
    name = text(doc, "Name", needed=True, limit=31)
    realm.check_name("Term", name, id)
    flag(doc, "Active")
    if doc.get("Type") not in ("STANDARD", "DATE_DRIVEN"):
        raise invalid("Type", doc.get("Type"))
    for key in ("DueDays", "DiscountDays", "DayOfMonthDue"):
        value = doc.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise invalid(key, value)
    if doc["Type"] == "STANDARD" and "DueDays" not in doc:
        raise required("DueDays")
    if "DiscountPercent" in doc:
        doc["DiscountPercent"] = money(doc["DiscountPercent"], "DiscountPercent")
    return doc


TERM = Entity(
    name="Term",
    writable=frozenset(
        {"Name", "Active", "Type", "DueDays", "DiscountPercent", "DiscountDays", "DayOfMonthDue"}
    ),
    computed=frozenset(),
    queryable={"Name": "string", "Active": "boolean"},
    prepare=prepare_term,
    index=lambda doc: {"Name": doc["Name"], "Active": doc["Active"], "DueDays": doc.get("DueDays")},
    name_field="Name",
    defaults={"Active": True, "Type": "STANDARD"},
)

NAME_LISTS = (CUSTOMER, ITEM, ACCOUNT, TERM)
