"""DataGate's invoice export: one CSV row per charge, read into canonical records.

What is verified and what is assumed about this format is in docs/decisions.md
("DataGate: billing-export files, not its API"). In short: DataGate bills
telecom services (recurring products, usage, taxes and fees) per customer
and exports invoices to the systems an MSP also runs; the export arbridge
reads repeats the invoice's header (number, dates, customer, totals) on each
of its charge rows. Headers differ between exports and versions, so every
column is mapped (`mapping`: column name -> the file's header), starting
from the usual headers below.

A file is read whole, and imported only if every row is right: `read`
returns either every change of the file or every row's errors, never part.

# Reference: https://developer.datagate-i.com (the API, not used: keys on request only)
# Reference: https://datagate-i.zendesk.com/hc/en-us/articles/15813221662105-How-To-Export-Invoices-To-ConnectWise-Agreements
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from operator import itemgetter

from arbridge.connectors.base import (
    Change,
    Column,
    ContactRecord,
    CustomerRecord,
    DroppedFile,
    FileRead,
    InvoiceLineRecord,
    InvoiceRecord,
    MalformedRecord,
    Op,
    RowError,
    guess_mapping,
)

COLUMNS: tuple[Column, ...] = (
    Column("invoice_number", "Invoice number", True, ("Invoice Number", "Invoice No")),
    Column("invoice_date", "Invoice date", True, ("Invoice Date", "InvoiceDate", "Bill Date")),
    Column("due_date", "Due date", False, ("Due Date", "DueDate", "Payment Due")),
    Column("customer_number", "Customer number", True,
           ("Customer Number", "Customer ID", "Account Number", "CustomerNumber"),
           "DataGate's id for the customer: the same customer in every file."),
    Column("customer_name", "Customer name", True, ("Customer Name", "Customer", "CustomerName")),
    Column("contact_name", "Billing contact", False, ("Billing Contact", "Contact Name")),
    Column("contact_email", "Billing email", False, ("Billing Email", "Email", "Invoice Email")),
    Column("contact_phone", "Billing phone", False, ("Billing Phone", "Phone")),
    Column("currency", "Currency", False, ("Currency", "Currency Code"),
           "Left unmapped, every invoice is in the connection's currency."),
    Column("service", "Service", False, ("Service", "Service Number", "Service ID", "Site"),
           "The phone number, mobile or site a charge is for."),
    Column("charge_type", "Charge type", False, ("Charge Type", "Type", "Category")),
    Column("description", "Charge description", True, ("Description", "Charge Description")),
    Column("quantity", "Quantity", False, ("Quantity", "Qty")),
    Column("unit_price", "Unit price", False, ("Unit Price", "Rate", "Sell")),
    Column("amount", "Charge amount", True, ("Amount", "Line Total", "Charge Amount"),
           "The charge's amount, taxes included where the export adds them per row."),
    Column("invoice_total", "Invoice total", False, ("Invoice Total", "Total"),
           "Left unmapped, an invoice's total is the sum of its charges."),
    Column("amount_due", "Amount due", False, ("Amount Due", "Balance", "Balance Due"),
           "What is still owed; a later file with less due lowers the balance."),
    Column("status", "Status", False, ("Status", "Invoice Status"),
           "Void or cancelled invoices are voided in arbridge; paid ones owe nothing."),
    Column("period_start", "Billing period from", False, ("Period Start", "Bill Period Start")),
    Column("period_end", "Billing period to", False, ("Period End", "Bill Period End")),
)  # fmt: skip
BY_NAME = {column.name: column for column in COLUMNS}
REQUIRED = tuple(column.name for column in COLUMNS if column.required)
# What the invoice's rows must agree on: its header, repeated on every charge row.
HEADER = (
    "invoice_date", "due_date", "customer_number", "currency", "invoice_total", "amount_due",
    "status", "period_start", "period_end",
)  # fmt: skip
VOID = {"void", "voided", "cancelled", "canceled", "credited"}
PAID = {"paid", "closed"}
OPEN = {"", "open", "sent", "sent manually", "unpaid", "outstanding", "overdue", "part paid",
        "partially paid", "approved", "finalised", "finalized"}  # fmt: skip
DATE_FORMATS = {"YYYY-MM-DD": "%Y-%m-%d", "DD/MM/YYYY": "%d/%m/%Y", "MM/DD/YYYY": "%m/%d/%Y"}
CURRENCY = re.compile(r"^[A-Z]{3}$")
PLAIN = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")
CENT = Decimal("0.01")
LINE_FIELDS = set(InvoiceLineRecord.model_fields)
MAX_ERRORS = 1000  # a file wrong on every row says so in this many


def decode(data: bytes) -> str:
    """Return the file's text: UTF-8 (with or without a BOM), else Windows-1252 as Excel saves."""
    if b"\0" in data[:4096]:
        # A spreadsheet (.xlsx is a zip) or a PDF: not the CSV export.
        raise MalformedRecord("this is not a CSV file: save the export as CSV and upload that")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, cells) of a CSV file, header first; commas, semicolons or tabs."""
    text = decode(data)
    newline = text.find("\n")
    first = text if newline == -1 else text[:newline]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(lines_of(text), delimiter=delimiter)
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield reader.line_num, cells
    except csv.Error as e:
        raise MalformedRecord(f"line {reader.line_num}: not CSV ({e})") from e


def lines_of(text: str) -> Iterator[str]:
    """Yield the text's lines, newlines kept, without a second copy of a file's text."""
    start = 0
    while (end := text.find("\n", start)) != -1:
        yield text[start : end + 1]
        start = end + 1
    if start < len(text):
        yield text[start:]


def headers(data: bytes) -> list[str]:
    """Return the file's headers (read from its start only); MalformedRecord if it has none."""
    start = data[: 64 * 1024]
    cut = start.rfind(b"\n")
    for _, cells in rows(start[: cut + 1] if cut != -1 else start):
        return [cell.strip() for cell in cells]
    raise MalformedRecord("the file is empty")


def default_mapping(file_headers: list[str]) -> dict[str, str]:
    """Return each column's header in the file, where one of its usual headers is there."""
    return guess_mapping(COLUMNS, file_headers)


@lru_cache(maxsize=4096)
def parse_date(value: str, date_format: str) -> dt.date:
    """Return a date as the export writes it (a time after it ignored); ValueError if none."""
    value = value.strip()[:10]
    if date_format == "YYYY-MM-DD":
        return dt.date.fromisoformat(value)
    return dt.datetime.strptime(value, DATE_FORMATS[date_format]).date()


@dataclass
class Invoice:
    """One invoice as its rows tell it, with the first row it was found on."""

    row: int
    header: dict[str, str]
    customer: str
    lines: list[InvoiceLineRecord] = field(default_factory=list)
    line_sum: Decimal = Decimal(0)


@dataclass
class Reader:
    """Read one file by a mapping, collecting every row's errors."""

    mapping: Mapping[str, str]
    date_format: str = "YYYY-MM-DD"
    currency: str = "USD"
    errors: list[RowError] = field(default_factory=list)
    more: int = 0  # errors past MAX_ERRORS, counted
    broken: set[str] = field(default_factory=set)  # invoices with a row in error
    strings: dict[str, str] = field(default_factory=dict)

    def error(self, row: int, name: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(row, self.mapping.get(name, ""), message))
        else:
            self.more += 1

    def refused(self, count: int) -> FileRead:
        errors = self.errors
        if self.more:
            errors = [*errors, RowError(0, "", f"…and {self.more:,} more errors.")]
        return FileRead(rows=count, errors=tuple(errors))

    def read(self, file: DroppedFile) -> FileRead:
        lines = rows(file.read())
        try:
            _, header_cells = next(lines)
        except StopIteration:
            return FileRead(errors=(RowError(1, "", "The file is empty."),))
        index = self.columns([cell.strip() for cell in header_cells])
        if self.errors:
            return FileRead(errors=tuple(self.errors))
        invoices: dict[str, Invoice] = {}
        customers: dict[str, tuple[int, CustomerRecord, ContactRecord | None]] = {}
        count, names = 0, list(index)
        # Each row's mapped cells at once: the read's most repeated step.
        cells_of, width = itemgetter(*index.values(), 0), max(index.values()) + 1
        for line, cells in lines:
            count += 1
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            values = dict(zip(names, map(str.strip, cells_of(cells)), strict=False))
            self.row(line, values, invoices, customers)
        if count == 0:
            self.error(1, "", "The file has a header but no rows.")
        records = self.invoices(invoices)
        if self.errors:
            return self.refused(count)
        return FileRead(rows=count, changes=tuple(changes(file, customers, records)))

    def columns(self, file_headers: list[str]) -> dict[str, int]:
        """Return each mapped column's position; errors for what is missing."""
        position = {h: i for i, h in reversed(list(enumerate(file_headers)))}
        index = {}
        for name, header in self.mapping.items():
            if name not in BY_NAME or not header:
                continue
            if header not in position:
                what = BY_NAME[name].title.lower()
                message = f"No column “{header}” in this file (mapped to {what})."
                self.errors.append(RowError(1, header, message))
            else:
                index[name] = position[header]
        for name in REQUIRED:
            if not self.mapping.get(name):
                self.errors.append(
                    RowError(1, "", f"Choose the file's column for {BY_NAME[name].title.lower()}.")
                )
        return index

    def row(self, line: int, values: dict[str, str], invoices: dict, customers: dict) -> None:
        """Check one row and add it to its invoice and customer."""
        before = len(self.errors)
        for name in REQUIRED:
            if not values.get(name):
                self.error(line, name, f"{BY_NAME[name].title} is empty.")
        number, customer = values.get("invoice_number", ""), values.get("customer_number", "")
        header = {name: values.get(name, "") for name in HEADER}
        invoice = invoices.get(number)
        if invoice is None or header != invoice.header:
            self.header(line, header)
        quantity = self.number(line, "quantity", values.get("quantity", "")) or Decimal(1)
        unit_price = self.number(line, "unit_price", values.get("unit_price", ""))
        amount = self.money(line, "amount", values.get("amount", ""))
        if len(self.errors) > before or amount is None:
            self.broken.add(number)
            return
        if invoice is None:
            invoice = invoices[number] = Invoice(line, header, customer)
        else:
            for name in HEADER:
                if header[name] != invoice.header[name]:
                    self.broken.add(number)
                    theirs = invoice.header[name] or "nothing"
                    self.error(line, name, f"Invoice {number} says {theirs} on line "
                               f"{invoice.row} and {header[name] or 'nothing'} here.")  # fmt: skip
        # Every value is checked above: constructed, not validated again, as it is 60% of a read.
        item = " · ".join(v for v in (values.get("service"), values.get("charge_type")) if v)
        invoice.lines.append(
            InvoiceLineRecord.model_construct(
                LINE_FIELDS,
                # Charges repeat their words: one string of each, not one a row.
                description=self.strings.setdefault(values["description"], values["description"]),
                item=self.strings.setdefault(item, item),
                quantity=quantity,
                unit_price=unit_price if unit_price is not None else amount,
                amount=amount,
            )
        )
        invoice.line_sum += amount
        self.customer(line, values, customers)

    def header(self, line: int, header: dict[str, str]) -> None:
        """Check the invoice's header values a row carries."""
        for name in ("invoice_date", "due_date", "period_start", "period_end"):
            self.date(line, name, header[name])
        for name in ("invoice_total", "amount_due"):
            self.money(line, name, header[name])
        currency = header["currency"].upper()
        if currency and not CURRENCY.match(currency):
            self.error(line, "currency", f"“{header['currency']}” is not a currency code.")
        if header["status"].lower() not in VOID | PAID | OPEN:
            self.error(line, "status", f"Status “{header['status']}” is not one arbridge knows.")

    def customer(self, line: int, values: dict[str, str], customers: dict) -> None:
        number, name = values["customer_number"], values["customer_name"]
        held = customers.get(number)
        if held is not None:
            if held[1].name != name:
                self.error(line, "customer_name", f"Customer {number} is “{held[1].name}” on "
                           f"line {held[0]} and “{name}” here.")  # fmt: skip
            return
        email, phone = values.get("contact_email", ""), values.get("contact_phone", "")
        if email and "@" not in email:
            self.error(line, "contact_email", f"“{email}” is not an email address.")
        contact = None
        if email or values.get("contact_name"):
            contact = ContactRecord(
                customer_remote_id=number,
                name=values.get("contact_name", ""),
                email=email,
                phone=phone,
                is_billing=True,
            )
        customers[number] = (line, CustomerRecord(name=name, email=email, phone=phone), contact)

    def invoices(self, invoices: dict[str, Invoice]) -> list[InvoiceRecord]:
        """Return the invoices the rows make, checking their totals add up."""
        records = []
        for number, invoice in invoices.items():
            if number in self.broken:
                continue
            header = invoice.header
            total = self.money(invoice.row, "invoice_total", header["invoice_total"])
            if total is None:
                total = invoice.line_sum
            elif total != invoice.line_sum:
                self.error(invoice.row, "invoice_total", f"Invoice {number}'s charges add up to "
                           f"{invoice.line_sum}, but its total is {total}.")  # fmt: skip
            status = header["status"].lower()
            due = self.money(invoice.row, "amount_due", header["amount_due"])
            if due is None:
                due = Decimal(0) if status in PAID | VOID else total
            if total < 0:
                self.error(invoice.row, "invoice_total", f"Invoice {number} totals {total}: "
                           "credit notes are not imported.")  # fmt: skip
                continue
            if not Decimal(0) <= due <= total:
                self.error(invoice.row, "amount_due", f"Invoice {number} has {due} due of a "
                           f"total of {total}.")  # fmt: skip
                continue
            period = " to ".join(p for p in (header["period_start"], header["period_end"]) if p)
            records.append(
                InvoiceRecord(
                    number=number,
                    customer_remote_id=invoice.customer,
                    currency=(header["currency"] or self.currency).upper(),
                    issue_date=self.date(invoice.row, "invoice_date", header["invoice_date"]),
                    due_date=self.date(invoice.row, "due_date", header["due_date"]),
                    memo=f"Billing period {period}" if period else "",
                    total=total,
                    balance=due,
                    voided=status in VOID,
                    lines=tuple(invoice.lines),
                )
            )
        return records

    # -- values -----------------------------------------------------------------------

    def date(self, line: int, name: str, value: str) -> dt.date | None:
        if not value:
            return None
        try:
            return parse_date(value, self.date_format)
        except ValueError:
            self.error(line, name, f"“{value}” is not a date ({self.date_format}).")
            return None

    def money(self, line: int, name: str, value: str) -> Decimal | None:
        amount = self.number(line, name, value)
        if amount is None:
            return None
        cents = amount.quantize(CENT)
        if cents != amount:
            self.error(line, name, f"“{value}” has more than two decimal places.")
            return None
        return cents

    def number(self, line: int, name: str, value: str) -> Decimal | None:
        if not value:
            return None
        try:
            return Decimal(value) if PLAIN.match(value) else self.written(line, name, value)
        except InvalidOperation:
            self.error(line, name, f"“{value}” is not a number.")
            return None

    def written(self, line: int, name: str, value: str) -> Decimal | None:
        """Return a number as a person or a spreadsheet wrote it: $1,200.00, (12.50)."""
        text = value.replace(",", "").replace(" ", "").lstrip("$€£")
        negative = text.startswith("(") and text.endswith(")")
        try:
            amount = Decimal(text.strip("()"))
        except InvalidOperation:
            self.error(line, name, f"“{value}” is not a number.")
            return None
        if not amount.is_finite():
            self.error(line, name, f"“{value}” is not a number.")
            return None
        return -amount if negative else amount


def changes(file: DroppedFile, customers: dict, invoices: list[InvoiceRecord]) -> Iterator[Change]:
    """Yield the file's customers, billing contacts and invoices, versioned by the file."""
    version = file.sha256[:16]
    at = file.received_at

    def change(entity: str, remote_id: str, record) -> Change:
        return Change(entity, remote_id, Op.UPSERT, record, version, at)

    for number, (_, customer, contact) in customers.items():
        yield change("customer", number, customer)
        if contact is not None:
            yield change("contact", f"{number}:billing", contact)
    for invoice in invoices:
        yield change("invoice", invoice.number, invoice)
