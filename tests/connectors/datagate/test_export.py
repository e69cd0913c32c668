"""Reading DataGate's invoice export: what a row must say, and how a file is refused whole."""

from decimal import Decimal

import pytest

from arbridge.connectors.base import FILES_READ, Cursor, MalformedRecord, Op
from arbridge.sandbox.datagate.exports import HEADERS
from tests.connectors.datagate.conftest import MAPPING, connector, dropped

HEADER = ",".join(HEADERS)
CUSTOMER = "C1,Bluebird Dental,Dana Ng,ap@bluebird.example,+1 555 0101,USD"


def row(number="INV-1", amount="40.00", total="100.00", due="100.00", status="Sent",
        customer=CUSTOMER, description="Mobile 40GB", date="2026-11-01") -> str:  # fmt: skip
    return (f"{number},{date},2026-12-01,{customer},+1 555 811 1711,Recurring,{description},1,"
            f"{amount},{amount},{total},{due},{status},2026-11-01,2026-11-30")  # fmt: skip


def csv(*rows: str) -> bytes:
    return "\r\n".join((HEADER, *rows)).encode()


def read(data: bytes, **preferences):
    return connector(**preferences).read_file(dropped(data))


def test_an_invoices_rows_are_its_lines_and_its_customer_has_a_billing_contact():
    result = read(csv(row(amount="40.00"), row(amount="60.00", description="SIP trunk")))

    assert result.ok and result.rows == 2
    by_entity = {change.entity: change for change in result.changes}
    invoice = by_entity["invoice"].record
    assert (invoice.total, invoice.balance, invoice.customer_remote_id) == (
        Decimal("100.00"), Decimal("100.00"), "C1",
    )  # fmt: skip
    assert [line.amount for line in invoice.lines] == [Decimal("40.00"), Decimal("60.00")]
    assert invoice.lines[0].item == "+1 555 811 1711 · Recurring"
    assert invoice.memo == "Billing period 2026-11-01 to 2026-11-30"
    assert by_entity["customer"].record.name == "Bluebird Dental"
    contact = by_entity["contact"]
    assert (contact.remote_id, contact.record.email, contact.record.is_billing) == (
        "C1:billing", "ap@bluebird.example", True,
    )  # fmt: skip


def test_every_wrong_row_is_listed_with_its_line_and_nothing_is_read():
    result = read(csv(
        row(amount="40.00"), row(amount="sixty"), row(number="INV-2", date="2026-02-30",
                                                      total="10.00", due="10.00", amount="10.00"),
    ))  # fmt: skip

    assert not result.ok and result.changes == ()
    assert [(e.row, e.column) for e in result.errors] == [
        (3, "Unit Price"), (3, "Amount"), (4, "Invoice Date"),
    ]  # fmt: skip
    assert result.errors[1].message == "“sixty” is not a number."


def test_rows_of_one_invoice_must_agree_and_add_up_to_its_total():
    result = read(csv(row(amount="40.00"), row(amount="50.00", due="90.00")))

    messages = [e.message for e in result.errors]
    assert messages == ["Invoice INV-1 says 100.00 on line 2 and 90.00 here."]

    result = read(csv(row(amount="40.00"), row(amount="50.00")))
    assert [e.message for e in result.errors] == [
        "Invoice INV-1's charges add up to 90.00, but its total is 100.00."
    ]


def test_a_customer_number_with_two_names_is_an_error():
    other = CUSTOMER.replace("Bluebird Dental", "Bluebird Dentistry")
    result = read(csv(row(amount="100.00"), row("INV-2", "5.00", "5.00", "5.00", customer=other)))

    assert [e.row for e in result.errors] == [3]
    assert "Customer C1 is “Bluebird Dental” on line 2" in result.errors[0].message


def test_a_required_column_left_unmapped_or_missing_refuses_the_file():
    mapping = {k: v for k, v in MAPPING.items() if k != "amount"}
    result = connector().read_file(dropped(csv(row()), mapping=mapping))
    assert [e.message for e in result.errors] == ["Choose the file's column for charge amount."]

    renamed = csv(row()).replace(b"Invoice Number", b"Bill Ref", 1)
    result = read(renamed)
    assert result.errors[0].column == "Invoice Number"
    assert "No column “Invoice Number” in this file" in result.errors[0].message


def test_paid_and_void_invoices_owe_nothing_and_void_ones_are_voided():
    result = read(csv(
        row("INV-1", "100.00", due="0.00", status="Paid"),
        row("INV-2", "100.00", due="", status="Void"),
        row("INV-3", "100.00", due="25.00", status="Part Paid"),
    ))  # fmt: skip

    invoices = {c.remote_id: c.record for c in result.changes if c.entity == "invoice"}
    assert [(i.balance, i.voided) for i in invoices.values()] == [
        (Decimal("0.00"), False), (Decimal("0"), True), (Decimal("25.00"), False),
    ]  # fmt: skip


def test_excel_files_with_semicolons_day_first_dates_and_symbols_are_read():
    text = csv(row(amount="$1,200.00", total="$1,200.00", due="(0.00)", date="01/11/2026"))
    text = text.replace(b"2026-12-01", b"01/12/2026").replace(b"2026-11-01", b"01/11/2026")
    text = text.replace(b"2026-11-30", b"30/11/2026").replace(b"Bluebird", "Bl\u00e9bird".encode())
    semicolons = text.decode().replace('"', "").replace(",", ";").replace("$1;200", "$1200")

    result = read(semicolons.encode("cp1252"), date_format="DD/MM/YYYY")

    assert result.ok, result.errors
    invoice = next(c.record for c in result.changes if c.entity == "invoice")
    assert (invoice.issue_date.isoformat(), invoice.due_date.isoformat()) == (
        "2026-11-01", "2026-12-01",
    )  # fmt: skip
    assert invoice.total == Decimal("1200.00")
    assert next(c for c in result.changes if c.entity == "customer").record.name == "Blébird Dental"


def test_a_file_wrong_everywhere_lists_a_thousand_errors_and_counts_the_rest():
    result = read(csv(*(row(number=f"INV-{i}", amount="x") for i in range(1500))))

    assert len(result.errors) == 1001
    assert result.errors[-1].message == "…and 2,000 more errors."  # two cells a row


def test_a_file_is_read_once_and_its_records_carry_its_time_and_hash():
    file = dropped(csv(row(amount="100.00")))
    datagate = connector([file])

    first = list(datagate.pull(None))
    *changes, cursor = first
    assert isinstance(cursor, Cursor) and cursor.value[FILES_READ] == [file.sha256]
    assert {(c.op, c.remote_updated_at, c.remote_version) for c in changes} == {
        (Op.UPSERT, file.received_at, file.sha256[:16])
    }
    assert [type(item) for item in datagate.pull(cursor)] == [Cursor]


def test_a_spreadsheet_instead_of_the_csv_is_refused_saying_so():
    xlsx = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + b"\x00" * 64

    with pytest.raises(MalformedRecord, match="not a CSV file"):
        connector().headers(xlsx)
