"""The sandbox's JSON carries the names and types of Intuit's v3 XSDs.

QuickBooks' JSON is its XSD mapped one to one: elements and attributes become
keys, repeatable elements become arrays, a *Ref's text becomes "value". This
reads the XSDs with the standard library (inheritance, groups and the
IntuitObject substitution group included) and checks every key and value the
sandbox answers, recursively. The gateway's lower-case 401/429 faults are not
the accounting service's and are not in the XSD.
"""

import datetime as dt
import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from arbridge.sandbox.qbo.wire import loads

SPECS = Path(__file__).resolve().parents[4] / "shared" / "specs" / "qbo"
XS = "{http://www.w3.org/2001/XMLSchema}"
INTEGERS = {"xs:int", "xs:integer", "xs:long", "xs:short", "xs:positiveInteger"}

pytestmark = pytest.mark.skipif(not SPECS.is_dir(), reason="needs ../shared/specs/qbo")


@dataclass(frozen=True)
class Child:
    type: str
    many: bool


class Schema:
    """The complex and simple types of an XSD and the files it includes."""

    def __init__(self, entry: Path):
        self.complex: dict[str, ET.Element] = {}
        self.simple: dict[str, ET.Element] = {}
        self.groups: dict[str, ET.Element] = {}
        self.substitutes: dict[str, dict[str, str]] = {}  # head -> {element: type}
        self._load(entry, set())

    def _load(self, path: Path, seen: set[Path]) -> None:
        if path in seen:
            return
        seen.add(path)
        root = ET.parse(path).getroot()  # noqa: S314 - Intuit's published schema
        for include in root.findall(f"{XS}include"):
            self._load(path.parent / include.get("schemaLocation"), seen)
        for kind, table in (("complexType", self.complex), ("simpleType", self.simple)):
            for node in root.findall(f"{XS}{kind}"):
                table[node.get("name")] = node
        for group in root.findall(f"{XS}group"):
            self.groups[group.get("name")] = group
        for element in root.findall(f"{XS}element"):
            if element.get("substitutionGroup"):
                members = self.substitutes.setdefault(element.get("substitutionGroup"), {})
                members[element.get("name")] = element.get("type")

    @functools.cache  # noqa: B019 - one schema per test session
    def children(self, type_name: str) -> dict[str, Child]:
        """Return a complex type's elements and attributes, inherited ones included."""
        node = self.complex[type_name]
        found: dict[str, Child] = {}
        scope = node
        extension = node.find(f"{XS}complexContent/{XS}extension")
        if extension is not None:
            found.update(self.children(extension.get("base")))
            scope = extension
        text = node.find(f"{XS}simpleContent/{XS}extension")
        if text is not None:
            found["value"] = Child(text.get("base"), False)
            scope = text
        self._particles(scope, found)
        for attribute in scope.findall(f"{XS}attribute"):
            found[attribute.get("name")] = Child(attribute.get("type"), False)
        return found

    def _particles(self, node: ET.Element, found: dict[str, Child]) -> None:
        for child in node:
            tag = child.tag.removeprefix(XS)
            many = child.get("maxOccurs") not in (None, "0", "1")
            if tag == "element" and child.get("ref"):
                for name, type in self.substitutes.get(child.get("ref"), {}).items():
                    found[name] = Child(type, many)
            elif tag == "element":
                found[child.get("name")] = Child(child.get("type"), many)
            elif tag in ("sequence", "choice", "all"):
                self._particles(child, found)
            elif tag == "group":
                self._particles(self.groups[child.get("ref")], found)

    def simple_type(self, type_name: str) -> tuple[str, set[str]]:
        """Return a simple type's built-in base and its enumeration, if any."""
        if type_name.startswith("xs:"):
            return type_name, set()
        restriction = self.simple[type_name].find(f"{XS}restriction")
        base, _ = self.simple_type(restriction.get("base"))
        return base, {e.get("value") for e in restriction.findall(f"{XS}enumeration")}

    def problems(self, value, type_name: str, path: str = "") -> list[str]:
        """Return every way a JSON value departs from an XSD type."""
        if type_name == "IntuitAnyType":
            return []
        if type_name.startswith("xs:") or type_name in self.simple:
            return self._simple_problems(value, type_name, path)
        if not isinstance(value, dict):
            return [f"{path}: {value!r} is not an object ({type_name})"]
        found = []
        children = self.children(type_name)
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            child = children.get(key)
            if child is None:
                found.append(f"{where} is not in {type_name}")
            elif child.many != isinstance(item, list):
                found.append(f"{where}: {'an array' if child.many else 'one value'} expected")
            else:
                for part in item if child.many else [item]:
                    found += self.problems(part, child.type, where)
        return found

    def _simple_problems(self, value, type_name: str, path: str) -> list[str]:
        base, enumeration = self.simple_type(type_name)
        check = CHECKS.get("xs:int" if base in INTEGERS else base)
        if check is None:
            return [f"{path}: no check for {base}"]
        try:
            conforms = check(value)
        except (TypeError, ValueError):
            conforms = False
        if not conforms:
            return [f"{path}: {value!r} is not {type_name} ({base})"]
        if enumeration and value not in enumeration:
            return [f"{path}: {value!r} is not one of {type_name}"]
        return []


# JSON values of the XSD's built-in types, as parsed with Decimal for numbers.
CHECKS = {
    "xs:string": lambda value: isinstance(value, str),
    "xs:boolean": lambda value: isinstance(value, bool),
    "xs:int": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "xs:decimal": lambda value: isinstance(value, int | Decimal) and not isinstance(value, bool),
    "xs:date": lambda value: bool(dt.date.fromisoformat(value)) and len(value) == 10,
    "xs:dateTime": lambda value: bool(dt.datetime.fromisoformat(value).tzinfo),
}


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema(SPECS / "IntuitRestServiceDef.xsd")


def test_the_checker_catches_strangers_and_wrong_types(schema):
    invoice = {"Id": "1", "Colour": "red", "TotalAmt": "12.00", "Line": {"Amount": 1}}

    found = schema.problems(invoice, "Invoice")

    assert found == [
        "Colour is not in Invoice",
        "TotalAmt: '12.00' is not xs:decimal (xs:decimal)",
        "Line: an array expected",
    ]
    assert schema.problems({"AccountType": "Piggy Bank"}, "Account")


@pytest.fixture
def books(qbo):
    """One of everything, with as many of the XSD's fields as the sandbox keeps."""
    term = qbo.create(
        "Term", {"Name": "2% 10 Net 30", "DueDays": 30, "DiscountPercent": 2, "DiscountDays": 10}
    )
    bank = qbo.create(
        "Account",
        {
            "Name": "Business Checking",
            "AccountType": "Bank",
            "AcctNum": "1010",
            "Description": "Ops",
        },
    )
    fees = qbo.create("Account", {"Name": "Merchant Fees", "AccountType": "Expense"})
    item = qbo.create(
        "Item",
        {
            "Name": "Managed Services",
            "Sku": "MS-1",
            "UnitPrice": Decimal("45.00"),
            "Description": "Per device",
        },
    )
    address = {
        "Line1": "1 Main St",
        "City": "Austin",
        "CountrySubDivisionCode": "TX",
        "PostalCode": "78701",
        "Country": "USA",
    }
    customer = qbo.create(
        "Customer",
        {
            "GivenName": "Ada",
            "FamilyName": "Lovelace",
            "CompanyName": "Analytical Engines LLC",
            "DisplayName": "Analytical Engines LLC",
            "PrimaryEmailAddr": {"Address": "ap@engines.example"},
            "PrimaryPhone": {"FreeFormNumber": "(512) 555-0100"},
            "BillAddr": address,
            "ShipAddr": address,
            "Notes": "Net 30 by agreement",
            "SalesTermRef": {"value": term["Id"]},
        },
    )
    invoice = qbo.create(
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TxnDate": "2026-02-01",
            "PrivateNote": "February",
            "CustomerMemo": {"value": "Thank you for your business."},
            "Line": [
                {
                    "Description": "Endpoints",
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": item["Id"]},
                        "Qty": 10,
                        "UnitPrice": Decimal("45.00"),
                        "ServiceDate": "2026-01-31",
                        "TaxCodeRef": {"value": "NON"},
                    },
                },
                {
                    "Description": "Covers January",
                    "DetailType": "DescriptionOnly",
                    "DescriptionLineDetail": {},
                },
            ],
        },
    )
    memo = qbo.invoice(customer, "50.00", entity="CreditMemo")
    payment = qbo.pay(
        customer,
        "400.00",
        ("Invoice", invoice, "450.00"),
        ("CreditMemo", memo, "50.00"),
        PaymentRefNum="CHK 1001",
        PrivateNote="Mailed check",
    )
    deposit = qbo.create(
        "Deposit",
        {
            "DepositToAccountRef": {"value": bank["Id"]},
            "Line": [
                {
                    "Amount": Decimal("400.00"),
                    "LinkedTxn": [{"TxnId": payment["Id"], "TxnType": "Payment", "TxnLineId": "0"}],
                },
                {
                    "Amount": Decimal("-11.60"),
                    "Description": "Card fees",
                    "DetailType": "DepositLineDetail",
                    "DepositLineDetail": {
                        "AccountRef": {"value": fees["Id"]},
                        "Entity": {"value": customer["Id"]},
                    },
                },
            ],
        },
    )  # fmt: skip
    gone = qbo.invoice(customer, "1.00")
    qbo.write("Invoice", {"Id": gone["Id"], "SyncToken": "0"}, operation="delete")
    return {
        "Term": term, "Account": bank, "Item": item, "Customer": customer, "Invoice": invoice,
        "CreditMemo": memo, "Payment": payment, "Deposit": deposit,
    }  # fmt: skip


ENTITIES = ["Invoice", "Customer", "Payment", "Deposit", "CreditMemo", "Account", "Term", "Item"]


@pytest.mark.parametrize("entity", ENTITIES)
def test_a_read_entity_conforms(schema, qbo, books, entity):
    response = loads(qbo.get(f"{entity.lower()}/{books[entity]['Id']}").content)

    assert set(response) == {entity, "time"}
    assert schema.problems(response, "IntuitResponse") == []
    assert {"Id", "SyncToken", "MetaData", "domain", "sparse"} <= set(response[entity])


@pytest.mark.parametrize("entity", ENTITIES)
def test_a_query_conforms(schema, qbo, books, entity):
    response = loads(qbo.get("query", query=f"SELECT * FROM {entity}").content)  # noqa: S608

    assert response["QueryResponse"][entity]
    assert schema.problems(response, "IntuitResponse") == []


def test_change_data_capture_conforms(schema, qbo, books):
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()

    response = loads(qbo.get("cdc", entities=",".join(ENTITIES), changedSince=since).content)

    queries = response["CDCResponse"][0]["QueryResponse"]
    assert {status.get("status") for q in queries for status in q.get("Invoice", [])} == {
        None,
        "Deleted",
    }
    assert schema.problems(response, "IntuitResponse") == []


def test_faults_and_deletes_conform(schema, qbo, books):
    stale = loads(qbo.post("customer", {"Id": books["Customer"]["Id"], "SyncToken": "9"}).content)
    refused = loads(qbo.get("query", query="SELECT * FROM Nothing").content)
    invoice = qbo.invoice(books["Customer"], "5.00")
    deleted = loads(
        qbo.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete").content
    )

    for response in (stale, refused, deleted):
        assert schema.problems(response, "IntuitResponse") == []
    assert stale["Fault"]["Error"][0]["code"] == "5010"
